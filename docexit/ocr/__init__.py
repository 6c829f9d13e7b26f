"""OCR stage: page image -> words + boxes (0-1000 grid, reading order) + confidences.

    engine = make_engine("easyocr")          # one per worker process (loads the models)
    result = engine.read(pil_image)          # OcrResult
    results = engine.read_many(images)       # batches recognition across pages

Engines: "easyocr" (our fast settings, default), "easyocr-default" (easyocr's stock readtext, for
comparison), "tesseract" (needs the tesseract binary). Failures raise OcrError; missing or
altered easyocr weights raise OcrModelError. Defaults and measurements: docs/ocr.md.
"""
from __future__ import annotations

from typing import Optional

from .base import GRID, OcrEngine, OcrError, OcrModelError, OcrResult, normalise_box, split_box_words
from .cache import DEFAULT_CACHE_ROOT, OcrCache
from .reading_order import group_lines, reading_order

ENGINES = ("easyocr", "easyocr-default", "tesseract")


def make_engine(name: str = "easyocr", *, max_words: Optional[int] = None, threads: Optional[int] = None,
                **options) -> OcrEngine:
    """Build an OCR engine by name.

    max_words: stop after this many words in reading order. None: the engine's default (512 for
    "easyocr", where it saves recognition work; unlimited for the others); 0 or less: unlimited.
    threads: intra-op threads. "easyocr": None means 1 (one per worker process; run a worker per
    core), "easyocr-default": None leaves torch's setting (stock), "tesseract": OMP_THREAD_LIMIT.
    torch's setting is process-wide: the last engine built sets it.
    options: engine-specific settings (see EasyOcrEngine, EasyOcrDefaultEngine, TesseractEngine).
    """
    if name == "easyocr":
        from .easyocr_engine import DEFAULT_MAX_WORDS, DEFAULT_THREADS, EasyOcrEngine
        return EasyOcrEngine(max_words=DEFAULT_MAX_WORDS if max_words is None else max_words,
                             threads=DEFAULT_THREADS if threads is None else threads, **options)
    if name == "easyocr-default":
        from .easyocr_engine import EasyOcrDefaultEngine
        return EasyOcrDefaultEngine(max_words=max_words, threads=threads, **options)
    if name == "tesseract":
        from .tesseract_engine import TesseractEngine
        return TesseractEngine(max_words=max_words, threads=threads, **options)
    raise ValueError(f"unknown OCR engine {name!r}; choose one of {', '.join(ENGINES)}")


def verify_easyocr_models(model_dir: Optional[str] = None) -> dict[str, str]:
    """name -> path of the easyocr weights, MD5-checked against easyocr.config (OcrModelError if not)."""
    from .easyocr_engine import verify_easyocr_models as _verify
    return _verify(model_dir)


__all__ = ["DEFAULT_CACHE_ROOT", "ENGINES", "GRID", "OcrCache", "OcrEngine", "OcrError", "OcrModelError",
           "OcrResult", "group_lines", "make_engine", "normalise_box", "reading_order", "split_box_words",
           "verify_easyocr_models"]
