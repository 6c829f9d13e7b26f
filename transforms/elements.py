"""What flows between the pipeline's steps, and the two output schemas.

* ``PageRecord`` (docexit.records): what readers emit; encoded bytes only, cheap to shuffle.
* ``Page``: a decoded page on its way through image stage -> OCR -> classifier. Holds a PIL image,
  so it is only passed between fused steps (no shuffle after decode).
* result rows / error rows: plain dicts matching RESULTS_SCHEMA / ERRORS_SCHEMA, written to Parquet.

Every page read ends as exactly one result row or one error row; the steps route failures to the
``errors`` tagged output instead of raising.
"""
from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from typing import Any, Optional

import pyarrow as pa

ERRORS_TAG = "errors"      # tagged output of every step that can fail per page
DONE_TAG = "done"          # tagged output of the image stage: pages that exited without OCR

# ---------------------------------------------------------------------------------------------
# Output schemas (the contract). The first 17 result columns are the documented contract; the
# rest are extras used by the report (FLOP totals, measured full-depth time, per-stage timings).
# ---------------------------------------------------------------------------------------------
RESULTS_SCHEMA = pa.schema([
    pa.field("doc_id", pa.string(), nullable=False),
    pa.field("uri", pa.string(), nullable=False),
    pa.field("page", pa.int32(), nullable=False),
    pa.field("label", pa.string(), nullable=False),
    pa.field("confidence", pa.float64(), nullable=False),
    pa.field("exit_name", pa.string(), nullable=False),
    pa.field("exit_index", pa.int32(), nullable=False),
    pa.field("layers_run", pa.int32(), nullable=False),
    pa.field("layers_total", pa.int32(), nullable=False),
    pa.field("flops_fraction", pa.float64(), nullable=False),
    pa.field("ocr_skipped", pa.bool_(), nullable=False),
    pa.field("ocr_words", pa.int32(), nullable=False),
    pa.field("ocr_ms", pa.float64(), nullable=False),
    pa.field("model_ms", pa.float64(), nullable=False),
    pa.field("policy", pa.string(), nullable=True),
    pa.field("model_version", pa.string(), nullable=True),
    pa.field("label_gold", pa.string(), nullable=True),
    # extras
    pa.field("flops", pa.float64(), nullable=False),          # FLOPs spent on this page
    pa.field("full_model_ms", pa.float64(), nullable=True),   # measured full-depth time (calibration batches)
    pa.field("ocr_source", pa.string(), nullable=False),      # none | engine | cache | carried
    pa.field("decode_ms", pa.float64(), nullable=False),
    pa.field("image_stage_ms", pa.float64(), nullable=True),  # wall share of the OCR-free batch (null: not run)
    pa.field("classify_ms", pa.float64(), nullable=True),     # wall share of the multimodal batch (null: not run)
    pa.field("note", pa.string(), nullable=True),
])
RESULT_CONTRACT_COLUMNS = RESULTS_SCHEMA.names[:17]

ERRORS_SCHEMA = pa.schema([
    pa.field("doc_id", pa.string(), nullable=False),
    pa.field("uri", pa.string(), nullable=False),
    pa.field("page", pa.int32(), nullable=False),
    pa.field("stage", pa.string(), nullable=False),
    pa.field("error_type", pa.string(), nullable=False),
    pa.field("message", pa.string(), nullable=False),
])

STAGES = ("read", "decode", "image_stage", "ocr", "prepare", "classify")
MAX_MESSAGE_CHARS = 2000


@dataclass
class Page:
    """A decoded page between decode and the final classifier."""

    doc_id: str
    uri: str
    page: int
    image: Any                                  # PIL.Image, mode 'L'
    image_hash: str = ""
    label_gold: Optional[str] = None
    words: Optional[list] = None                # None until OCR ran or the input carried words
    boxes: Optional[list] = None
    ocr_source: str = "none"                    # none | engine | cache | carried
    ocr_ms: float = 0.0
    decode_ms: float = 0.0
    image_stage_ms: Optional[float] = None
    prior: Any = None                           # models.prediction.Prediction from the image stage
    note: Optional[str] = None
    extra: dict = field(default_factory=dict)

    def add_note(self, text: Optional[str]) -> None:
        if text:
            self.note = f"{self.note}; {text}" if self.note else text


def error_row(doc_id: str, uri: str, page: int, stage: str, error_type: str, message: str) -> dict:
    return {
        "doc_id": str(doc_id),
        "uri": str(uri),
        "page": int(page or 0),
        "stage": str(stage),
        "error_type": str(error_type or "error"),
        "message": str(message or "")[:MAX_MESSAGE_CHARS],
    }


def exception_row(item: Any, stage: str, exc: BaseException, error_type: Optional[str] = None) -> dict:
    """Error row for a Page / PageRecord-like item from an exception (type name unless given)."""
    message = f"{type(exc).__name__}: {exc}"
    if not str(exc):
        message += " | " + "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return error_row(getattr(item, "doc_id", ""), getattr(item, "uri", ""), getattr(item, "page", 0),
                     stage, error_type or type(exc).__name__, message)


def result_row(page: Page, pred: Any, *, policy: Optional[str], model_version: Optional[str],
               ocr_skipped: bool, full_model_ms: Optional[float] = None,
               classify_ms: Optional[float] = None) -> dict:
    """One results row from a Page and the classifier's Prediction."""
    words = page.words or []
    flops_fraction = float(pred.flops_fraction)
    return {
        "doc_id": page.doc_id,
        "uri": page.uri,
        "page": int(page.page),
        "label": str(pred.label),
        "confidence": float(pred.confidence),
        "exit_name": str(pred.exit_name),
        "exit_index": int(pred.exit_index),
        "layers_run": int(pred.layers_run),
        "layers_total": int(pred.layers_total),
        "flops_fraction": flops_fraction,
        "ocr_skipped": bool(ocr_skipped),
        "ocr_words": 0 if ocr_skipped else len(words),
        "ocr_ms": float(page.ocr_ms or 0.0),
        "model_ms": float(pred.model_ms),
        "policy": policy,
        "model_version": model_version,
        "label_gold": page.label_gold,
        "flops": float(pred.flops),
        "full_model_ms": None if full_model_ms is None else float(full_model_ms),
        "ocr_source": "none" if ocr_skipped else page.ocr_source,
        "decode_ms": float(page.decode_ms or 0.0),
        "image_stage_ms": page.image_stage_ms,
        "classify_ms": classify_ms,
        "note": page.note,
    }
