"""Tesseract behind the OcrEngine interface (pytesseract + the ``tesseract`` binary).

Install the binary with ``apt-get install tesseract-ocr`` (Debian/Ubuntu). Words come from
``image_to_data`` (one box per word); they are put in the same reading order as the easyocr engines
(lines by vertical overlap, left to right), not in Tesseract's block order, so the classifier sees
one convention whatever the engine.
"""
from __future__ import annotations

import os
import shutil
from typing import Optional

from PIL import Image

from .base import OcrEngine, OcrError, OcrResult, assemble, split_box_words, to_gray
from .reading_order import reading_order


def tesseract_available(cmd: Optional[str] = None) -> bool:
    return shutil.which(cmd or "tesseract") is not None


class TesseractEngine(OcrEngine):
    name = "tesseract"

    def __init__(self, *, max_words: Optional[int] = None, threads: Optional[int] = None, lang: str = "eng",
                 psm: int = 3, oem: int = 1, scale: float = 1.0, timeout_s: float = 120.0,
                 tesseract_cmd: Optional[str] = None) -> None:
        try:
            import pytesseract
        except ImportError as e:
            raise OcrError("pytesseract not installed: pip install 'docexit[tesseract]'") from e
        if tesseract_cmd:
            pytesseract.pytesseract.tesseract_cmd = tesseract_cmd
        try:
            self.version = str(pytesseract.get_tesseract_version())
        except Exception as e:  # TesseractNotFoundError and friends
            raise OcrError(f"tesseract binary not found ({e}); install it: apt-get install tesseract-ocr") from e
        if threads:
            # Tesseract's OpenMP threads; read by each tesseract subprocess this process starts.
            os.environ["OMP_THREAD_LIMIT"] = str(int(threads))
        self._pt = pytesseract
        self.max_words = max_words if (max_words and max_words > 0) else None
        self.threads = threads
        self.lang, self.psm, self.oem = lang, int(psm), int(oem)
        self.scale = float(scale)
        self.timeout_s = timeout_s

    def cache_key(self) -> str:
        return (f"tesseract/{self.version};lang={self.lang};psm={self.psm};oem={self.oem};"
                f"scale={self.scale};max_words={self.max_words}")

    def _read_one(self, image: Image.Image) -> OcrResult:
        t0 = self._timer()
        gray = to_gray(image)
        w, h = gray.size
        im = gray
        if self.scale != 1.0:
            im = gray.resize((max(1, round(w * self.scale)), max(1, round(h * self.scale))), Image.BICUBIC)
        try:
            d = self._pt.image_to_data(im, lang=self.lang, config=f"--psm {self.psm} --oem {self.oem}",
                                       output_type=self._pt.Output.DICT, timeout=self.timeout_s)
        except RuntimeError as e:  # pytesseract raises RuntimeError on timeout
            raise OcrError(f"tesseract: {e}") from e
        words, boxes, confs = [], [], []
        for text, conf, x, y, bw, bh in zip(d["text"], d["conf"], d["left"], d["top"], d["width"], d["height"]):
            text = (text or "").strip()
            if not text or float(conf) < 0:
                continue
            words.append(text)
            boxes.append((x / self.scale, y / self.scale, (x + bw) / self.scale, (y + bh) / self.scale))
            confs.append(float(conf) / 100.0)
        items = []
        for i in reading_order(boxes):
            x0, y0, x1, y1 = boxes[i]
            for part, a, b in split_box_words(words[i], x0, x1):
                items.append((part, (a, y0, b, y1), confs[i]))
        ms = 1000 * (self._timer() - t0)
        return assemble(items, w, h, ms, self.name, self.max_words, {"n_boxes": len(boxes)})
