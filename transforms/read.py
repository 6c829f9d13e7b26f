"""Read step: input spec -> PageRecords (encoded bytes), spread over workers.

    spec --Create--> ExpandInput (SourceItems) --Reshuffle--> ReadItems (PageRecords) [--Reshuffle-->]

The listing runs inside the pipeline (one element: the spec), so a million-file input does not
bloat the job graph. The reshuffle after listing fans the small SourceItems out to all workers;
an optional second reshuffle after reading spreads pages of multi-page shards (tar / parquet).
Reader failures stay PageRecords with ``.error`` set; the decode step turns them into error rows.
"""
from __future__ import annotations

import re
from typing import Optional

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.elements import error_row

NAMESPACE = "docexit"


def expand_spec(spec, label_root=None):
    from docexit.readers import expand_input

    return expand_input(spec, label_root=label_root)


class ReadItemFn(beam.DoFn):
    """SourceItem -> PageRecords. read_item never raises; a reader bug becomes an error record."""

    def __init__(self):
        self.pages = Metrics.counter(NAMESPACE, "pages_read")
        self.read_errors = Metrics.counter(NAMESPACE, "read_errors")

    def process(self, item):
        from docexit.readers import read_item
        from docexit.records import PageRecord

        try:
            for record in read_item(item):
                self.pages.inc()
                if record.error:
                    self.read_errors.inc()
                yield record
        except Exception as exc:  # defensive: the contract says read_item never raises
            self.pages.inc()
            self.read_errors.inc()
            yield PageRecord(uri=getattr(item, "uri", str(item)), image_bytes=None,
                             label_gold=getattr(item, "label", None),
                             error=f"read: {type(exc).__name__}: {exc}")


class ReadPages(beam.PTransform):
    """PBegin -> PCollection[PageRecord] (error records included: every page read is one element).

    ``expand_on_launcher``: list the input here, while the pipeline is built (local runs: a bad
    --input fails at once with the reader's own message, and nothing is listed twice). Otherwise
    the listing is the pipeline's first step, on a worker (remote runs: the job graph stays small).
    """

    def __init__(self, spec: str, label_root: Optional[str] = None, reshuffle_pages: bool = False,
                 expand_on_launcher: bool = False):
        super().__init__()
        self.spec = spec
        self.label_root = label_root
        self.reshuffle_pages = reshuffle_pages
        self.expand_on_launcher = expand_on_launcher

    def expand(self, pbegin):
        if self.expand_on_launcher:
            items = pbegin | "SourceItems" >> beam.Create(expand_spec(self.spec, self.label_root), reshuffle=False)
        else:
            items = (pbegin
                     | "Spec" >> beam.Create([self.spec], reshuffle=False)
                     | "ExpandInput" >> beam.FlatMap(expand_spec, self.label_root))
        records = (
            items
            | "FanOutItems" >> beam.Reshuffle()
            | "ReadItems" >> beam.ParDo(ReadItemFn())
        )
        if self.reshuffle_pages:
            records = records | "FanOutPages" >> beam.Reshuffle()
        return records


_READ_TYPES = (
    (re.compile(r"^file not found"), "not_found"),
    (re.compile(r"^cannot read"), "io_error"),
    (re.compile(r"^label file"), "label_file"),
    (re.compile(r"^tar sample .* has no image"), "no_image"),
    (re.compile(r"^tar"), "tar"),
    (re.compile(r"^parquet"), "parquet"),
    (re.compile(r"^row has no image bytes"), "no_image"),
    (re.compile(r"^unknown source kind"), "unknown_source"),
)


def read_error_row(record) -> dict:
    """Error row for a PageRecord whose reader failed (``error="<stage>: <reason>"``)."""
    text = str(record.error)
    stage, _, reason = text.partition(":")
    reason = reason.strip() if _ else text
    error_type = "read_error"
    for pattern, name in _READ_TYPES:
        if pattern.search(reason):
            error_type = name
            break
    return error_row(record.doc_id, record.uri, record.page, "read", error_type, text)
