"""Decode step: PageRecord (bytes) -> Page (grayscale PIL image), or an error row.

One page per element; the doc_id is the reader's stable id (sha1 of source URI + page). Reader
failures, empty/truncated/undecodable/oversized images become error rows here (stage ``read`` or
``decode``); nothing raises out of this step.
"""
from __future__ import annotations

import time
import warnings
from typing import Optional

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.elements import ERRORS_TAG, Page, error_row, exception_row
from transforms.read import NAMESPACE, read_error_row


def _valid_carried(words, boxes) -> Optional[str]:
    """None when carried OCR is usable, else why not."""
    if words is None and boxes is None:
        return "absent"
    if not isinstance(words, (list, tuple)) or not isinstance(boxes, (list, tuple)):
        return "words/boxes are not lists"
    if len(words) != len(boxes):
        return f"{len(words)} words but {len(boxes)} boxes"
    for b in boxes:
        if not isinstance(b, (list, tuple)) or len(b) != 4:
            return f"bad box {b!r}"
    return None


class DecodeFn(beam.DoFn):
    def __init__(self, max_pixels: Optional[int] = None):
        self.max_pixels = max_pixels
        self.decoded = Metrics.counter(NAMESPACE, "pages_decoded")
        self.errors = Metrics.counter(NAMESPACE, "decode_errors")
        self.carried = Metrics.counter(NAMESPACE, "ocr_carried")
        self.decode_ms = Metrics.distribution(NAMESPACE, "decode_ms")

    def process(self, record):
        from PIL import Image

        from docexit.images import DEFAULT_MAX_PIXELS, ImageDecodeError, content_hash, decode_image

        if getattr(record, "error", None):
            self.errors.inc()
            yield beam.pvalue.TaggedOutput(ERRORS_TAG, read_error_row(record))
            return
        data = record.image_bytes
        if not data:
            self.errors.inc()
            yield beam.pvalue.TaggedOutput(ERRORS_TAG, error_row(
                record.doc_id, record.uri, record.page, "decode", "empty", "empty: 0 bytes"))
            return
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                # PIL warns on big headers before our max_pixels check turns them into "too_large"
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                decoded = decode_image(data, max_pixels=self.max_pixels or DEFAULT_MAX_PIXELS)
        except ImageDecodeError as exc:
            self.errors.inc()
            yield beam.pvalue.TaggedOutput(ERRORS_TAG, error_row(
                record.doc_id, record.uri, record.page, "decode", exc.reason, str(exc)))
            return
        except Exception as exc:  # a decoder bug: still one error row, never a crash
            self.errors.inc()
            yield beam.pvalue.TaggedOutput(ERRORS_TAG, exception_row(record, "decode", exc))
            return
        ms = (time.perf_counter() - t0) * 1000.0
        page = Page(doc_id=record.doc_id, uri=record.uri, page=int(record.page or 0), image=decoded.image,
                    image_hash=content_hash(data), label_gold=record.label_gold, decode_ms=ms,
                    note=record.note)
        page.add_note(decoded.note)
        why = _valid_carried(record.words, record.boxes)
        if why is None:
            page.words = [str(w) for w in record.words]
            page.boxes = [[int(v) for v in b] for b in record.boxes]
            page.ocr_source = "carried"
            self.carried.inc()
        elif why != "absent":
            page.add_note(f"carried OCR ignored: {why}")
        self.decoded.inc()
        self.decode_ms.update(int(ms))
        yield page


class DecodePages(beam.PTransform):
    """PageRecords -> (pages, errors) via ``.with_outputs``; returns a DoOutputsTuple."""

    def __init__(self, max_pixels: Optional[int] = None):
        super().__init__()
        self.max_pixels = max_pixels

    def expand(self, records):
        return records | "Decode" >> beam.ParDo(DecodeFn(self.max_pixels)).with_outputs(ERRORS_TAG, main="pages")
