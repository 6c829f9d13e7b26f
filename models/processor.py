"""Turn pages (image + OCR words + word boxes) into LayoutLMv3 tensors.

Text: transformers' LayoutLMv3Tokenizer (byte-level BPE, word boxes repeated over sub-tokens). With
network or a local copy, it is the real `microsoft/layoutlmv3-base` tokenizer; offline we train one
with `tokenizers` on the training text and save it with the model, so a model directory is complete.
Image: resize to the model's input size, grey -> 3 channels, scale to [-1, 1] (LayoutLMv3's
image processor does the same with its defaults: mean = std = 0.5).
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
from PIL import Image

SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]  # RoBERTa order: ids 0..4


def train_tokenizer(texts: Iterable[str], vocab_size: int = 8000):
    """A LayoutLMv3 tokenizer whose BPE vocabulary is learned from `texts` (one string per page)."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import LayoutLMv3Tokenizer

    bpe = ByteLevelBPETokenizer(add_prefix_space=True)
    bpe.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIAL_TOKENS)
    with tempfile.TemporaryDirectory() as tmp:
        bpe.save_model(tmp)
        vocab = json.loads(Path(tmp, "vocab.json").read_text())
        merges = [tuple(line.split()) for line in Path(tmp, "merges.txt").read_text().splitlines()
                  if line.strip() and not line.startswith("#")]
    return LayoutLMv3Tokenizer(vocab=vocab, merges=merges)


def words_budget(max_text_tokens: int) -> int:
    """At most this many words can reach a model reading `max_text_tokens` tokens (each word is at
    least one token; <s> and </s> excluded): the OCR word budget for that model."""
    return max_text_tokens - 2


def _clamp_box(box: Sequence[int]) -> list[int]:
    x0, y0, x1, y1 = (min(1000, max(0, int(v))) for v in box)
    return [min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)]


class DocProcessor:
    def __init__(self, tokenizer, image_size: int = 224, max_text_tokens: int = 192):
        self.tokenizer = tokenizer
        self.image_size = image_size
        self.max_text_tokens = max_text_tokens

    @property
    def max_words(self) -> int:
        """At most this many words can reach the model (each word is at least one token; <s>, </s> excluded)."""
        return words_budget(self.max_text_tokens)

    def pixel_values(self, images: Sequence[Image.Image]) -> torch.Tensor:
        size = (self.image_size, self.image_size)
        arrays = [np.asarray(img.convert("L").resize(size, Image.BILINEAR), dtype=np.float32) for img in images]
        grey = torch.from_numpy(np.stack(arrays)).div_(127.5).sub_(1.0)  # (B, H, W) in [-1, 1]
        return grey.unsqueeze(1).expand(-1, 3, -1, -1).contiguous()

    def encode_text(self, words: Sequence[Sequence[str]], boxes: Sequence[Sequence[Sequence[int]]]) -> dict:
        """input_ids, bbox, attention_mask padded to the longest page in the batch (at most max_text_tokens)."""
        clean_words, clean_boxes = [], []
        for page_words, page_boxes in zip(words, boxes):
            if len(page_words) != len(page_boxes):
                raise ValueError(f"{len(page_words)} words but {len(page_boxes)} boxes")
            kept = [(w, _clamp_box(b)) for w, b in zip(page_words[: self.max_words], page_boxes) if w and w.strip()]
            clean_words.append([w for w, _ in kept])
            clean_boxes.append([b for _, b in kept])
        enc = self.tokenizer(clean_words, boxes=clean_boxes, truncation=True, max_length=self.max_text_tokens,
                             padding=True, return_tensors="pt")
        return {"input_ids": enc["input_ids"], "bbox": enc["bbox"], "attention_mask": enc["attention_mask"]}

    def save_pretrained(self, directory: str | Path) -> None:
        self.tokenizer.save_pretrained(str(directory))
        Path(directory, "processor.json").write_text(json.dumps(
            {"image_size": self.image_size, "max_text_tokens": self.max_text_tokens}, indent=2))

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> "DocProcessor":
        from transformers import AutoTokenizer, LayoutLMv3Tokenizer

        directory = Path(directory)
        settings = json.loads((directory / "processor.json").read_text()) if (directory / "processor.json").is_file() else {}
        try:
            tokenizer = LayoutLMv3Tokenizer.from_pretrained(str(directory))
        except (OSError, ValueError):
            tokenizer = AutoTokenizer.from_pretrained(str(directory))
        return cls(tokenizer, **settings)
