"""OCR step: pages without words -> pages with words + boxes (0-1000 grid), or error rows.

    pages --BatchElements(1..--ocr_batch_size)--> OcrFn (carried OCR passes through; cache; engine.read_many)

One engine per worker (per DoFn instance), built when the first page needs it, so runs whose
pages all carry OCR never load it. Batches go through ``engine.read_many`` (the easyocr engine
batches recognition across pages); when a batch raises, each page is retried alone, so only a
page that fails on its own becomes an error row. With ``--ocr_cache`` results are looked up /
stored by image content hash + engine settings.
"""
from __future__ import annotations

import logging
import time
from typing import Optional

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.elements import ERRORS_TAG, exception_row
from transforms.read import NAMESPACE

log = logging.getLogger(__name__)


class OcrFn(beam.DoFn):
    """A batch (list) of pages -> the pages with words, or error rows. Also takes single pages."""

    def __init__(self, engine: str = "easyocr", cache_root: Optional[str] = None,
                 max_words: Optional[int] = None, threads: Optional[int] = None):
        self.engine_name = engine
        self.cache_root = cache_root
        self.max_words = max_words
        self.threads = threads
        self._engine = None
        self._engine_error: Optional[BaseException] = None
        self._cache = None
        self._key = None
        self._loaded = False
        self.ran = Metrics.counter(NAMESPACE, "ocr_pages")
        self.cache_hits = Metrics.counter(NAMESPACE, "ocr_cache_hits")
        self.carried = Metrics.counter(NAMESPACE, "ocr_passthrough")
        self.errors = Metrics.counter(NAMESPACE, "ocr_errors")
        self.failed_batches = Metrics.counter(NAMESPACE, "ocr_failed_batches")
        self.ocr_ms = Metrics.distribution(NAMESPACE, "ocr_ms")

    def setup(self):
        from docexit.ocr import OcrCache

        self._loaded = False
        if self.cache_root:
            try:
                self._cache = OcrCache(self.cache_root)
            except Exception as exc:
                log.warning("docexit: OCR cache %s unusable (%s); running without it", self.cache_root, exc)

    def _ensure_engine(self) -> None:
        """Build the engine on the first page that needs OCR."""
        if self._loaded:
            return
        self._loaded = True
        from docexit.ocr import make_engine

        t0 = time.perf_counter()
        try:
            self._engine = make_engine(self.engine_name, max_words=self.max_words, threads=self.threads or None)
            self._key = self._engine.cache_key()
            log.info("docexit: OCR engine %s ready in %.1fs", self.engine_name, time.perf_counter() - t0)
        except Exception as exc:
            # Engine construction failed (missing weights, unknown name): every page that needs
            # OCR becomes an error row naming the cause; pages with carried OCR still go through.
            log.error("docexit: OCR engine %r failed to load: %s: %s", self.engine_name, type(exc).__name__, exc)
            self._engine_error = exc

    def _set(self, page, result, source: str, ms: float) -> None:
        page.words, page.boxes = list(result.words), [list(b) for b in result.boxes]
        page.ocr_source, page.ocr_ms = source, float(ms)

    def process(self, batch):
        pages = batch if isinstance(batch, (list, tuple)) else [batch]
        todo = []
        for page in pages:
            if page.words is not None:
                self.carried.inc()
                yield page
            else:
                todo.append(page)
        if not todo:
            return
        self._ensure_engine()
        if self._engine is None:
            exc = self._engine_error or RuntimeError("OCR engine not loaded")
            for page in todo:
                self.errors.inc()
                yield beam.pvalue.TaggedOutput(ERRORS_TAG, exception_row(page, "ocr", exc, "engine_unavailable"))
            return
        misses = []
        for page in todo:
            hit = None
            if self._cache is not None and page.image_hash:
                try:
                    hit = self._cache.get(page.image_hash, self._key)
                except Exception:
                    hit = None
            if hit is not None:
                self.cache_hits.inc()
                self._set(page, hit, "cache", 0.0)
                yield page
            else:
                misses.append(page)
        if not misses:
            return
        t0 = time.perf_counter()
        try:
            results = self._engine.read_many([p.image for p in misses])
            if len(results) != len(misses):
                raise RuntimeError(f"OCR returned {len(results)} results for {len(misses)} pages")
            share = (time.perf_counter() - t0) * 1000.0 / len(misses)
            outcomes = [(p, r, r.ocr_ms or share) for p, r in zip(misses, results)]
        except Exception as batch_exc:
            if len(misses) == 1:
                outcomes = [(misses[0], batch_exc, 0.0)]
            else:  # retry alone: only a page that fails on its own becomes an error row
                self.failed_batches.inc()
                log.warning("docexit: OCR batch of %d failed (%s); retrying page by page", len(misses), batch_exc)
                outcomes = []
                for p in misses:
                    t1 = time.perf_counter()
                    try:
                        r = self._engine.read(p.image)
                        outcomes.append((p, r, r.ocr_ms or (time.perf_counter() - t1) * 1000.0))
                    except Exception as exc:
                        outcomes.append((p, exc, 0.0))
        for page, result, ms in outcomes:
            if isinstance(result, BaseException):
                self.errors.inc()
                yield beam.pvalue.TaggedOutput(ERRORS_TAG, exception_row(page, "ocr", result))
                continue
            self._set(page, result, "engine", ms)
            self.ran.inc()
            self.ocr_ms.update(int(ms))
            if self._cache is not None and page.image_hash:
                try:
                    self._cache.put(page.image_hash, self._key, result)
                except Exception as exc:  # the cache only saves work; never lose a page over it
                    log.warning("docexit: OCR cache write failed: %s", exc)
            yield page


class OcrPages(beam.PTransform):
    """Pages -> DoOutputsTuple (``pages``: with words, ``errors``: error rows).

    All pages go through one BatchElements + OcrFn; pages that carry OCR pass straight through
    the batch. (No split-and-Flatten here on purpose: the local FnApiRunner materialises a Flatten,
    which would hold every decoded page in memory until OCR of the whole input is done.)
    """

    def __init__(self, engine: str = "easyocr", cache_root: Optional[str] = None,
                 max_words: Optional[int] = None, threads: Optional[int] = None, batch_size: int = 4):
        super().__init__()
        self.fn = OcrFn(engine, cache_root, max_words, threads)
        self.batch_size = max(1, int(batch_size))

    def expand(self, pages):
        return (
            pages
            | "Batch" >> beam.BatchElements(min_batch_size=1, max_batch_size=self.batch_size)
            | "Ocr" >> beam.ParDo(self.fn).with_outputs(ERRORS_TAG, main="pages")
        )
