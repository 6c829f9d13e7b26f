"""The OCR stage's data types and engine interface (engine-independent).

Every engine returns an :class:`OcrResult`: words in reading order, one ``[x0, y0, x1, y1]`` box per
word on LayoutLMv3's 0-1000 grid, one confidence per word, the page size it was given and how long
it took. Engines are heavy objects (construction loads models): make one per worker process.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Iterable, Sequence

from PIL import Image

GRID = 1000  # LayoutLMv3 box coordinates run 0..1000


class OcrError(RuntimeError):
    """OCR failed on a page (the engine raised, or the input cannot be OCRed).

    The pipeline turns it into an error row for stage ``ocr``; the original exception is chained
    as ``__cause__``.
    """


class OcrModelError(OcrError):
    """OCR weights are missing or altered; the message names the file and the fix."""


@dataclass
class OcrResult:
    words: list[str]
    boxes: list[list[int]]          # [x0, y0, x1, y1] on the 0-1000 grid, one per word, reading order
    confidences: list[float]        # 0..1, one per word
    width: int                      # page size in pixels as given to the engine
    height: int
    ocr_ms: float = 0.0             # wall time of the OCR call for this page
    engine: str = ""
    meta: dict = field(default_factory=dict, compare=False)  # engine diagnostics (timings, box counts)

    def __post_init__(self) -> None:
        if not (len(self.words) == len(self.boxes) == len(self.confidences)):
            raise ValueError(f"OcrResult: {len(self.words)} words, {len(self.boxes)} boxes, "
                             f"{len(self.confidences)} confidences")

    def __len__(self) -> int:
        return len(self.words)

    @property
    def text(self) -> str:
        return " ".join(self.words)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["boxes"] = [[int(v) for v in b] for b in self.boxes]
        d["confidences"] = [float(c) for c in self.confidences]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "OcrResult":
        return cls(
            words=[str(w) for w in d["words"]],
            boxes=[[int(v) for v in b] for b in d["boxes"]],
            confidences=[float(c) for c in d["confidences"]],
            width=int(d["width"]),
            height=int(d["height"]),
            ocr_ms=float(d.get("ocr_ms", 0.0)),
            engine=str(d.get("engine", "")),
            meta=dict(d.get("meta") or {}),
        )

    def truncated(self, max_words: int | None) -> "OcrResult":
        """The first ``max_words`` words (all when None/<=0)."""
        if not max_words or max_words <= 0 or len(self.words) <= max_words:
            return self
        n = max_words
        return OcrResult(self.words[:n], self.boxes[:n], self.confidences[:n], self.width, self.height,
                         self.ocr_ms, self.engine, dict(self.meta))


def normalise_box(x0: float, y0: float, x1: float, y1: float, width: int, height: int) -> list[int]:
    """Pixel box -> [x0, y0, x1, y1] on the 0-1000 grid, clipped, with x0<=x1 and y0<=y1."""
    def n(v: float, size: int) -> int:
        return min(GRID, max(0, int(round(GRID * float(v) / max(1, size)))))
    a, b = sorted((n(x0, width), n(x1, width)))
    c, d = sorted((n(y0, height), n(y1, height)))
    return [a, c, b, d]


def split_box_words(text: str, x0: float, x1: float) -> list[tuple[str, float, float]]:
    """Split a text box's string on whitespace; give each word a horizontal share of the box.

    The box is apportioned by character count: the string with single spaces between words is laid
    along [x0, x1], each character taking the same width, and a word gets the span of its characters.
    """
    words = text.split()
    if not words:
        return []
    total = sum(len(w) for w in words) + (len(words) - 1)
    step = (x1 - x0) / total
    out, pos = [], 0
    for w in words:
        out.append((w, x0 + pos * step, x0 + (pos + len(w)) * step))
        pos += len(w) + 1
    return out


def to_gray(image: Image.Image) -> Image.Image:
    """Any PIL image -> mode 'L' (alpha composited on white)."""
    if not isinstance(image, Image.Image):
        raise OcrError(f"expected a PIL image, got {type(image).__name__}")
    if image.width <= 0 or image.height <= 0:
        raise OcrError(f"empty image ({image.width}x{image.height})")
    if image.mode == "L":
        return image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(bg, rgba).convert("L")
    if image.mode in ("1", "RGB"):
        return image.convert("L")
    return image.convert("RGB").convert("L")


class OcrEngine:
    """One OCR engine with its models loaded. Not thread-safe; make one per worker process."""

    name: str = "base"

    def read(self, image: Image.Image) -> OcrResult:
        """OCR one page. Raises OcrError (never another type) when the engine fails."""
        return self.read_many([image])[0]

    def read_many(self, images: Sequence[Image.Image]) -> list[OcrResult]:
        """OCR several pages; engines may batch work across pages. Results are in input order."""
        return [self._guarded(self._read_one, im) for im in images]

    def cache_key(self) -> str:
        """Engine name + every setting that changes the output (for :class:`OcrCache`)."""
        raise NotImplementedError

    # -- for subclasses ---------------------------------------------------------------------------
    def _read_one(self, image: Image.Image) -> OcrResult:
        raise NotImplementedError

    def _guarded(self, fn, *args):
        try:
            return fn(*args)
        except OcrError:
            raise
        except Exception as e:  # an engine failure becomes one clear exception type
            raise OcrError(f"{self.name}: {type(e).__name__}: {e}") from e

    @staticmethod
    def _timer() -> float:
        return time.perf_counter()


def assemble(items: Iterable[tuple[str, tuple[float, float, float, float], float]], width: int, height: int,
             ocr_ms: float, engine: str, max_words: int | None = None, meta: dict | None = None) -> OcrResult:
    """Words already in reading order with pixel boxes -> OcrResult (normalised, truncated)."""
    words, boxes, confs = [], [], []
    for w, (x0, y0, x1, y1), c in items:
        if max_words and max_words > 0 and len(words) >= max_words:
            break
        words.append(w)
        boxes.append(normalise_box(x0, y0, x1, y1, width, height))
        confs.append(float(max(0.0, min(1.0, c))))
    return OcrResult(words, boxes, confs, int(width), int(height), float(ocr_ms), engine, dict(meta or {}))
