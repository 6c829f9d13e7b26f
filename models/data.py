"""Labelled pages for training, calibration and evaluation: image + words + boxes + label.

Words come from, in order: the input itself (carried OCR: Parquet columns, sidecar JSON/hOCR), the
generator's ground truth when the input is a corpus made by `docexit generate` (truth.parquet beside
labels/), or real OCR through the OCR cache.

The model must see words the way the pipeline will give them, so:
- generator words are put in the OCR's reading order (lines top to bottom, left to right), not the
  generator's logical (column by column) order: otherwise the first `max_text_tokens` a model is
  trained on are not the ones it meets after OCR;
- `words="ocr"` replaces generator words by real OCR (cached; the cache key is the same as the
  pipeline's `--ocr_cache`, so a pipeline run over a corpus fills it for training, and back);
- with `words="truth"` and an `ocr_cache`, pages whose OCR is already cached also carry that OCR as
  a second view (`Example.ocr_words`): training shows it instead of the truth half of the time.
"""
from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from PIL import Image

from docexit.labels import CLASS_TO_INDEX

WORD_SOURCES = ("truth", "ocr")


@dataclass
class Example:
    image: Image.Image          # grey, already at the model's input size
    words: list[str]
    boxes: list[list[int]]
    label: int
    uri: str
    ocr_words: Optional[list[str]] = None       # a cached OCR view of the same page, when there is one
    ocr_boxes: Optional[list[list[int]]] = None


class OcrSource:
    """OCR words for a page's encoded bytes: from the cache, else (if `run`) from the engine, cached.

    The engine reads at most `max_words` words (the model's budget), the same setting the pipeline
    uses, so cache entries are shared with `docexit run --ocr_cache`."""

    def __init__(self, engine: str = "easyocr", cache_root: Optional[str] = None, max_words: Optional[int] = None,
                 run: bool = True):
        from docexit.ocr import OcrCache, make_engine

        self.cache = OcrCache(cache_root) if cache_root else None
        # keep the caller's torch threads: the easyocr engine would set 1 (its per-worker default)
        import torch

        self.engine = make_engine(engine, max_words=max_words, threads=torch.get_num_threads())
        self.engine_key = self.engine.cache_key()
        self.run = run

    def get(self, data: bytes, image: Optional[Image.Image] = None):
        from docexit.images import content_hash, decode_image

        key = content_hash(data)
        result = self.cache.get(key, self.engine_key) if self.cache else None
        if result is not None or not self.run:
            return result
        result = self.engine.read(image if image is not None else decode_image(data).image)
        if self.cache:
            self.cache.put(key, self.engine_key, result)
        return result


def in_reading_order(words: Sequence[str], boxes: Sequence[Sequence[int]]) -> tuple[list[str], list[list[int]]]:
    """Words and boxes reordered the way the OCR engines order theirs (docexit.ocr.reading_order)."""
    from docexit.ocr.reading_order import reading_order

    order = reading_order(boxes)
    return [words[i] for i in order], [list(boxes[i]) for i in order]


def _corpus_root(spec: str) -> Optional[Path]:
    """The generated-corpus root for a spec (the root itself, or one of its labels/*.txt files)."""
    p = Path(spec)
    for root in (p, p.parent.parent if p.suffix == ".txt" else None):
        if root is not None and (root / "truth.parquet").is_file():
            return root
    return None


def load_examples(spec: str, *, split: Optional[str] = None, image_size: int = 224, limit: Optional[int] = None,
                  words: str = "truth", ocr_engine: str = "easyocr", ocr_cache: Optional[str] = None,
                  max_words: Optional[int] = None, progress: bool = True) -> list[Example]:
    """Labelled pages of `spec`. words: "truth" (generator words when the corpus has them, else OCR)
    or "ocr" (always OCR). max_words: the OCR engine's word budget (pass the model's `max_words`)."""
    if words not in WORD_SOURCES:
        raise ValueError(f"words must be one of {', '.join(WORD_SOURCES)}, not {words!r}")
    root = _corpus_root(spec)
    if root is not None:
        ocr = (OcrSource(ocr_engine, ocr_cache, max_words, run=words == "ocr")
               if words == "ocr" or ocr_cache else None)
        listed = None
        if spec.endswith(".txt"):  # a label file of the corpus (a split, or any subset of its pages)
            listed = {line.split()[0] for line in Path(spec).read_text().splitlines() if line.strip()}
        return _load_generated(root, split, listed, image_size, limit, progress, ocr, use_ocr=words == "ocr")
    return _load_with_readers(spec, image_size, limit, ocr_engine, ocr_cache, max_words, progress)


def _load_generated(root: Path, split: Optional[str], listed: Optional[set], image_size: int, limit: Optional[int],
                    progress: bool, ocr: Optional[OcrSource], use_ocr: bool):
    import pyarrow.parquet as pq
    from tqdm import tqdm

    table = pq.read_table(root / "truth.parquet", columns=["path", "split", "label", "words", "boxes"]).to_pylist()
    rows = [r for r in table if (split is None or r["split"] == split) and (listed is None or r["path"] in listed)]
    if limit:
        rows = rows[:limit]
    out = []
    for r in tqdm(rows, desc=f"load {split or 'all'}", disable=not progress, leave=False):
        data = (root / r["path"]).read_bytes()
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            small = img.convert("L").resize((image_size, image_size), Image.BILINEAR)
            result = ocr.get(data, img) if ocr is not None else None
        words, boxes = in_reading_order(list(r["words"]), [list(b) for b in r["boxes"]])
        ex = Example(small, words, boxes, CLASS_TO_INDEX[r["label"]], str(root / r["path"]))
        if result is not None:
            if use_ocr:
                ex.words, ex.boxes = list(result.words), [list(b) for b in result.boxes]
            else:
                ex.ocr_words, ex.ocr_boxes = list(result.words), [list(b) for b in result.boxes]
        out.append(ex)
    return out


def _load_with_readers(spec: str, image_size: int, limit: Optional[int], ocr_engine: str,
                       ocr_cache: Optional[str], max_words: Optional[int], progress: bool):
    from tqdm import tqdm

    from docexit.images import decode_image
    from docexit.readers import iter_pages

    ocr = None
    out = []
    for record in tqdm(iter_pages(spec), desc="load", disable=not progress, leave=False):
        if record.error or record.label_gold is None:
            continue  # training and evaluation need a decodable, labelled page
        decoded = decode_image(record.image_bytes)
        words, boxes = record.words, record.boxes
        if words is None:
            ocr = ocr or OcrSource(ocr_engine, ocr_cache, max_words)
            result = ocr.get(record.image_bytes, decoded.image)
            words, boxes = result.words, result.boxes
        out.append(Example(decoded.image.resize((image_size, image_size), Image.BILINEAR), list(words),
                           [list(b) for b in boxes], CLASS_TO_INDEX[record.label_gold], record.uri))
        if limit and len(out) >= limit:
            break
    return out


def balanced_subset(examples: list[Example], n: int) -> list[Example]:
    """At most n examples taken round-robin over the labels (corpora are often stored class by class,
    so the first n would be a few classes only)."""
    by_label: dict[int, list[Example]] = {}
    for e in examples:
        by_label.setdefault(e.label, []).append(e)
    out, i = [], 0
    while len(out) < min(n, len(examples)):
        for label in sorted(by_label):
            if i < len(by_label[label]) and len(out) < n:
                out.append(by_label[label][i])
        i += 1
    return out


def image_jitter(image: Image.Image, rng: random.Random, max_shift: float = 0.04) -> Image.Image:
    """Training-time augmentation for the image pathway: a random crop of up to `max_shift` of each
    side, resized back (a small shift and zoom, as scanning and templates vary)."""
    w, h = image.size
    left, top = rng.uniform(0, max_shift) * w, rng.uniform(0, max_shift) * h
    right, bottom = w - rng.uniform(0, max_shift) * w, h - rng.uniform(0, max_shift) * h
    return image.resize((w, h), Image.BILINEAR, box=(left, top, right, bottom))


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
