"""Render one document: seed -> (image, words, boxes, metadata). Pure function of (seed, class, index)."""
from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..labels import CLASS_TO_INDEX
from .content import Text
from .degrade import degrade, paper_marks
from .page import Ctx, Page
from .templates import TEMPLATES

PORTRAIT_WIDTHS = (754, 762, 768, 773, 777, 782, 791)
LANDSCAPE_P = {"presentation": 0.6, "file_folder": 0.3, "budget": 0.08}

_FAKER = None


def _faker():
    global _FAKER
    if _FAKER is None:
        from faker import Faker
        _FAKER = Faker("en_US")
    return _FAKER


def doc_seed_sequence(seed: int, label: str, index: int) -> np.random.SeedSequence:
    return np.random.SeedSequence([int(seed) % (2 ** 63), CLASS_TO_INDEX[label], int(index), 0xD0C])


@dataclass
class Rendered:
    image: Image.Image
    words: list
    boxes: list  # pixel boxes (x0, y0, x1, y1)
    difficulty: float
    template: str


def render_document(label: str, index: int, seed: int, difficulty: float | None = None) -> Rendered:
    """Render document ``index`` of class ``label`` for corpus ``seed``.

    All randomness is derived from (seed, class, index): a numpy Generator, a random.Random and a
    re-seeded Faker, so the result does not depend on which process renders it or in what order.
    ``difficulty`` overrides the drawn difficulty (tests, previews).
    """
    ss = doc_seed_sequence(seed, label, index)
    s_np, s_py, s_fk = ss.spawn(3)
    rng = np.random.default_rng(s_np)
    r = random.Random(int(s_py.generate_state(1, np.uint64)[0]))
    fake = _faker()
    fake.seed_instance(int(s_fk.generate_state(1, np.uint32)[0]))
    d = float(rng.beta(1.5, 2.2)) if difficulty is None else float(difficulty)
    ctx = Ctx(rng, r, fake, d)
    if r.random() < LANDSCAPE_P.get(label, 0.0):
        w, h = 1000, PORTRAIT_WIDTHS[r.randrange(len(PORTRAIT_WIDTHS))]
    else:
        w, h = PORTRAIT_WIDTHS[r.randrange(len(PORTRAIT_WIDTHS))], 1000
    page = Page(ctx, w, h)
    template = TEMPLATES[label](page, Text(ctx))
    paper_marks(page)
    ordered = page.ordered_words()
    img, boxes, _info = degrade(page, [wd.box for wd in ordered])
    words, kept = [], []
    for wd, b in zip(ordered, boxes):
        if b is not None:
            words.append(wd.text)
            kept.append(b)
    return Rendered(img, words, kept, d, f"{label}/{template}" + ("+mixed" if ctx.mixed else ""))


def normalise_boxes(boxes, width: int, height: int) -> list[list[int]]:
    """Pixel boxes -> LayoutLMv3's 0-1000 grid (x * 1000 // width), clamped."""
    out = []
    for x0, y0, x1, y1 in boxes:
        out.append([min(1000, max(0, int(x0) * 1000 // width)), min(1000, max(0, int(y0) * 1000 // height)),
                    min(1000, max(0, int(x1) * 1000 // width)), min(1000, max(0, int(y1) * 1000 // height))])
    return out
