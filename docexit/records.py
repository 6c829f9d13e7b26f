"""The record that flows through every stage: one page of one document.

Readers produce PageRecords (raw bytes, not decoded), so elements stay cheap to move between
Beam workers; decoding is its own stage so a bad image becomes an error row, never a crash.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Optional


def make_doc_id(uri: str, page: int = 0) -> str:
    """Stable id from the source URI and page number: same input, same id, on any worker."""
    return hashlib.sha1(f"{uri}#{page}".encode("utf-8")).hexdigest()[:20]


@dataclass
class PageRecord:
    uri: str                                 # where the page came from (file, or shard URI + '#' member)
    page: int = 0                            # page index within the file (TIFF), else 0
    image_bytes: Optional[bytes] = None      # the encoded image as stored (PNG/JPEG/TIFF ...)
    label_gold: Optional[str] = None         # class name when the input carries a label
    words: Optional[list[str]] = None        # OCR carried by the input (skips OCR), else None
    boxes: Optional[list[list[int]]] = None  # one [x0, y0, x1, y1] per word, on the 0-1000 grid
    error: Optional[str] = None              # a reader-level failure ("stage: reason"); image_bytes is None then
    note: Optional[str] = None               # e.g. "multi-page TIFF: 4 pages, first page used"
    doc_id: str = field(default="")

    def __post_init__(self) -> None:
        if not self.doc_id:
            self.doc_id = make_doc_id(self.uri, self.page)
