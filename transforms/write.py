"""Write step: rows -> Parquet files on any fsspec filesystem (local, gs://, s3://, memory://).

Each bundle streams its rows into one ``part-<uuid>.parquet`` (row groups of ``rows_per_group``),
so memory stays flat. Files are only *committed* by a final step that sees the names emitted by
successful bundles: files left by failed or retried bundles are deleted there, so a retry never
duplicates rows. An empty output still gets one (empty) file with the schema, so
``read_parquet('OUT/results/*.parquet')`` always works.

Also here: ``Progress``, the running count printed on the console for local runs.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import time
import uuid
from typing import Optional

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

from transforms.read import NAMESPACE

log = logging.getLogger(__name__)


def _fs(url: str):
    from fsspec.core import url_to_fs

    return url_to_fs(url)


def _unstrip(fs, path: str) -> str:
    from fsspec.implementations.local import LocalFileSystem

    return path if isinstance(fs, LocalFileSystem) else fs.unstrip_protocol(path)


class _WriteBundleFn(beam.DoFn):
    def __init__(self, directory: str, schema, prefix: str = "part", rows_per_group: int = 2000):
        self.directory = directory.rstrip("/")
        self.schema = schema
        self.prefix = prefix
        self.rows_per_group = rows_per_group
        self.rows_written = Metrics.counter(NAMESPACE, f"rows_written_{self.directory.rsplit('/', 1)[-1]}")

    def start_bundle(self):
        self._rows: list = []
        self._writer = None
        self._file = None
        self._path: Optional[str] = None

    def _flush(self):
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self._rows:
            return
        table = pa.Table.from_pylist(self._rows, schema=self.schema)
        if self._writer is None:
            fs, base = _fs(self.directory)
            fs.makedirs(base, exist_ok=True)
            self._path = f"{base}/{self.prefix}-{uuid.uuid4().hex[:16]}.parquet"
            self._fs_obj = fs
            self._file = fs.open(self._path, "wb")
            self._writer = pq.ParquetWriter(self._file, self.schema, compression="zstd")
        self._writer.write_table(table)
        self.rows_written.inc(len(self._rows))
        self._rows = []

    def process(self, row):
        self._rows.append(row)
        if len(self._rows) >= self.rows_per_group:
            self._flush()

    def finish_bundle(self):
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._file.close()
            path = _unstrip(self._fs_obj, self._path)
            self._writer = self._file = None
            yield WindowedValue(path, GlobalWindow().max_timestamp(), (GlobalWindow(),))


class _CommitFn(beam.DoFn):
    """Given the files of successful bundles: delete strays, write an empty file if there are none."""

    def __init__(self, directory: str, schema, prefix: str):
        self.directory = directory.rstrip("/")
        self.schema = schema
        self.prefix = prefix

    def process(self, committed):
        import pyarrow.parquet as pq

        fs, base = _fs(self.directory)
        keep = {_fs(p)[1] for p in committed}
        try:
            present = [p for p in fs.ls(base, detail=False) if p.rsplit("/", 1)[-1].startswith(self.prefix + "-")]
        except FileNotFoundError:
            present = []
        for stray in sorted(set(present) - keep):
            log.warning("docexit: removing %s (left by a failed or retried bundle)", stray)
            fs.rm(stray)
        files = sorted(keep)
        if not files:
            fs.makedirs(base, exist_ok=True)
            path = f"{base}/{self.prefix}-empty.parquet"
            with fs.open(path, "wb") as f:
                pq.write_table(self.schema.empty_table(), f, compression="zstd")
            files = [path]
        yield [_unstrip(fs, p) for p in files]


class WriteParquetFiles(beam.PTransform):
    """rows -> Parquet files under ``directory``; outputs one element: the list of committed files."""

    def __init__(self, directory: str, schema, prefix: str = "part", rows_per_group: int = 2000):
        super().__init__()
        self.directory = directory
        self.schema = schema
        self.prefix = prefix
        self.rows_per_group = rows_per_group

    def expand(self, rows):
        return (
            rows
            | "WriteBundles" >> beam.ParDo(_WriteBundleFn(self.directory, self.schema, self.prefix,
                                                          self.rows_per_group))
            | "CollectNames" >> beam.combiners.ToList()
            | "Commit" >> beam.ParDo(_CommitFn(self.directory, self.schema, self.prefix))
        )


# ----------------------------------------------------------------------------------- progress

_PROGRESS_LOCK = threading.Lock()
_PROGRESS: dict = {}   # run id -> counts of this process


class ProgressFn(beam.DoFn):
    """Pass-through over result rows (``kind="r"``) or error rows (``"e"``): Beam counters plus a
    periodic console line. Every branch of one run shares ``run_id``, so the line counts them all.

    The line is per worker process (with ``--direct_num_workers N`` each worker prints its own);
    the driver prints the run's totals from the Beam metrics at the end.
    """

    def __init__(self, every_s: float = 5.0, kind: str = "r", run_id: Optional[str] = None):
        self.every_s = every_s
        self.kind = kind
        self.run_id = run_id or uuid.uuid4().hex
        self.counter = Metrics.counter(NAMESPACE, "pages_failed" if kind == "e" else "pages_done")

    def _state(self, now: float) -> dict:
        return _PROGRESS.setdefault(self.run_id, {"done": 0, "errors": 0, "start": now, "last": now})

    def setup(self):
        with _PROGRESS_LOCK:
            self._state(time.time())

    def process(self, row):
        self.counter.inc()
        if self.every_s > 0:
            now = time.time()
            with _PROGRESS_LOCK:
                p = self._state(now)
                p["errors" if self.kind == "e" else "done"] += 1
                if now - p["last"] >= self.every_s:
                    p["last"] = now
                    n = p["done"] + p["errors"]
                    rate = n / max(1e-9, now - p["start"])
                    sys.stderr.write(f"[docexit pid {os.getpid()}] {n} pages done "
                                     f"({p['done']} classified, {p['errors']} errors), {rate:.2f} pages/s\n")
                    sys.stderr.flush()
        yield row
