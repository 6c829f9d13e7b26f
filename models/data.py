"""Labelled pages for training, calibration and evaluation: image + words + boxes + label.

Words come from, in order: the input itself (carried OCR: Parquet columns, sidecar JSON/hOCR), the
generator's ground truth when the input is a corpus made by `docexit generate` (truth.parquet beside
labels/), or real OCR through the OCR cache.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from PIL import Image

from docexit.labels import CLASS_TO_INDEX


@dataclass
class Example:
    image: Image.Image          # grey, already at the model's input size
    words: list[str]
    boxes: list[list[int]]
    label: int
    uri: str


def _corpus_root(spec: str) -> Optional[Path]:
    """The generated-corpus root for a spec (the root itself, or one of its labels/*.txt files)."""
    p = Path(spec)
    for root in (p, p.parent.parent if p.suffix == ".txt" else None):
        if root is not None and (root / "truth.parquet").is_file():
            return root
    return None


def load_examples(spec: str, *, split: Optional[str] = None, image_size: int = 224, limit: Optional[int] = None,
                  ocr_engine: str = "easyocr", ocr_cache: Optional[str] = None, progress: bool = True) -> list[Example]:
    root = _corpus_root(spec)
    if root is not None:
        return _load_generated(root, split or (Path(spec).stem if spec.endswith(".txt") else None), image_size,
                               limit, progress)
    return _load_with_readers(spec, image_size, limit, ocr_engine, ocr_cache, progress)


def _load_generated(root: Path, split: Optional[str], image_size: int, limit: Optional[int], progress: bool):
    import pyarrow.parquet as pq
    from tqdm import tqdm

    table = pq.read_table(root / "truth.parquet", columns=["path", "split", "label", "words", "boxes"]).to_pylist()
    rows = [r for r in table if split is None or r["split"] == split]
    if limit:
        rows = rows[:limit]
    out = []
    for r in tqdm(rows, desc=f"load {split or 'all'}", disable=not progress, leave=False):
        with Image.open(root / r["path"]) as img:
            small = img.convert("L").resize((image_size, image_size), Image.BILINEAR)
        out.append(Example(small, list(r["words"]), [list(b) for b in r["boxes"]], CLASS_TO_INDEX[r["label"]],
                           str(root / r["path"])))
    return out


def _load_with_readers(spec: str, image_size: int, limit: Optional[int], ocr_engine: str,
                       ocr_cache: Optional[str], progress: bool):
    from tqdm import tqdm

    from docexit.images import content_hash, decode_image
    from docexit.ocr import OcrCache, make_engine
    from docexit.readers import iter_pages

    engine = cache = None
    out = []
    for record in tqdm(iter_pages(spec), desc="load", disable=not progress, leave=False):
        if record.error or record.label_gold is None:
            continue  # training and evaluation need a decodable, labelled page
        decoded = decode_image(record.image_bytes)
        words, boxes = record.words, record.boxes
        if words is None:
            if engine is None:
                engine = make_engine(ocr_engine)
                cache = OcrCache(ocr_cache) if ocr_cache else None
            key = content_hash(record.image_bytes)
            result = cache.get(key, engine.cache_key()) if cache else None
            if result is None:
                result = engine.read(decoded.image)
                if cache:
                    cache.put(key, engine.cache_key(), result)
            words, boxes = result.words, result.boxes
        out.append(Example(decoded.image.resize((image_size, image_size), Image.BILINEAR), list(words),
                           [list(b) for b in boxes], CLASS_TO_INDEX[record.label_gold], record.uri))
        if limit and len(out) >= limit:
            break
    return out


def ocr_like_noise(words: Sequence[str], boxes: Sequence[Sequence[int]], rng: random.Random,
                   drop: float = 0.08, typo: float = 0.05) -> tuple[list[str], list[list[int]]]:
    """Training-time augmentation so a model trained on perfect words tolerates real OCR output:
    dropped words, character confusions, slightly shifted boxes."""
    confusions = {"o": "0", "l": "1", "i": "l", "e": "c", "s": "5", "a": "o", "n": "m", "rn": "m"}
    out_w, out_b = [], []
    for w, b in zip(words, boxes):
        if rng.random() < drop:
            continue
        if rng.random() < typo and w:
            src = rng.choice(list(confusions))
            w = w.replace(src, confusions[src], 1)
        jitter = [rng.randint(-4, 4) for _ in range(4)]
        out_w.append(w)
        out_b.append([min(1000, max(0, v + j)) for v, j in zip(b, jitter)])
    return out_w, out_b
