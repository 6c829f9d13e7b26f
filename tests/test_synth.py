"""Tests for the synthetic corpus generator (docexit.synth). Small corpora only: ~100 pages in all."""
from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from docexit.labels import CLASS_TO_INDEX, RVL_CDIP_CLASSES
from docexit.synth import assign_splits, generate_corpus, normalise_boxes, render_document, split_counts
from docexit.synth import fonts as synth_fonts
from docexit.synth.page import Ctx, Page, Word

SEED = 11
# classes whose pages are mostly text; file_folder carries only a label or two
TEXT_CLASSES = [c for c in RVL_CDIP_CLASSES if c not in ("file_folder", "advertisement", "presentation")]


@pytest.fixture(scope="module")
def corpus4(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("synth4")
    summary = generate_corpus(str(out), per_class=4, seed=SEED, split=(0.5, 0.25, 0.25), workers=2, progress=False)
    return out, summary


@pytest.fixture(scope="module")
def corpus1(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth1")
    generate_corpus(str(out), per_class=1, seed=SEED, workers=1, progress=False)
    return out


def _read_labels(path: Path) -> list[tuple[str, int]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        rel, idx = line.rsplit(" ", 1)
        rows.append((rel, int(idx)))
    return rows


# ---------------------------------------------------------------------------------------- layout
def test_summary_and_label_files(corpus4):
    out, summary = corpus4
    assert summary["pages"] == 16 * 4
    assert summary["out_dir"] == str(out)
    assert summary["seconds"] > 0
    all_rows = _read_labels(out / "labels" / "all.txt")
    assert len(all_rows) == 64
    split_rows = {s: _read_labels(out / "labels" / f"{s}.txt") for s in ("train", "val", "test")}
    assert sorted(sum(split_rows.values(), [])) == sorted(all_rows)
    for rel, idx in all_rows:
        label = rel.split("/")[1]
        assert rel == f"images/{label}/{Path(rel).name}"
        assert Path(rel).name.startswith(f"{label}_") and rel.endswith(".png")
        assert idx == CLASS_TO_INDEX[label]
        assert (out / rel).is_file()
    # split (0.5, 0.25, 0.25) of 4 per class is exactly 2/1/1 in every class
    for s, n in (("train", 2), ("val", 1), ("test", 1)):
        per = Counter(RVL_CDIP_CLASSES[i] for _, i in split_rows[s])
        assert per == {c: n for c in RVL_CDIP_CLASSES}, s
        assert summary["counts"][s] == {c: n for c in RVL_CDIP_CLASSES}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == SEED and manifest["per_class"] == 4
    assert manifest["split"] == [0.5, 0.25, 0.25]
    assert manifest["counts"] == summary["counts"]
    assert manifest["version"] and manifest["fonts"]


def test_split_counts_and_assignment():
    assert split_counts(20, (0.7, 0.15, 0.15)) == {"train": 14, "val": 3, "test": 3}
    assert split_counts(1, (0.7, 0.15, 0.15)) == {"train": 1, "val": 0, "test": 0}
    assert split_counts(10, (0.8, 0.1, 0.1)) == {"train": 8, "val": 1, "test": 1}
    for n in (1, 2, 3, 7, 33, 100):
        sc = split_counts(n, (0.7, 0.15, 0.15))
        assert sum(sc.values()) == n
        assert all(abs(sc[s] - n * f) < 1 for s, f in zip(("train", "val", "test"), (0.7, 0.15, 0.15)))
    a = assign_splits(100, 5, (0.7, 0.15, 0.15))
    assert a == assign_splits(100, 5, (0.7, 0.15, 0.15))
    assert a != assign_splits(100, 6, (0.7, 0.15, 0.15))
    for label in RVL_CDIP_CLASSES:
        assert Counter(a[label]) == {"train": 70, "val": 15, "test": 15}
    # splits are shuffled, not the first 70 indices
    assert a["letter"][:70].count("train") < 70
    with pytest.raises(ValueError):
        generate_corpus("/nonexistent/never", per_class=1, seed=0, split=(0.5, 0.5, 0.5))


def test_truth_table(corpus4):
    out, _ = corpus4
    t = pq.read_table(out / "truth.parquet")
    assert t.column_names == ["path", "split", "label", "label_index", "words", "boxes", "width", "height",
                              "difficulty", "template"]
    rows = t.to_pylist()
    assert len(rows) == 64
    assert [r["path"] for r in rows] == [rel for rel, _ in _read_labels(out / "labels" / "all.txt")]
    for r in rows:
        assert r["label_index"] == CLASS_TO_INDEX[r["label"]]
        assert r["path"].startswith(f"images/{r['label']}/")
        assert r["split"] in ("train", "val", "test")
        with Image.open(out / r["path"]) as im:
            assert im.mode == "L"
            assert (r["width"], r["height"]) == im.size
            assert max(im.size) == 1000 and 700 <= min(im.size) <= 800
        assert len(r["words"]) == len(r["boxes"])
        assert all(w and w == w.strip() and " " not in w for w in r["words"])
        for b in r["boxes"]:
            assert len(b) == 4
            x0, y0, x1, y1 = b
            assert 0 <= x0 <= x1 <= 1000 and 0 <= y0 <= y1 <= 1000
            assert x1 - x0 < 1000 and y1 - y0 < 500  # a word, not the page
        if r["label"] in TEXT_CLASSES:
            assert len(r["words"]) >= 20, (r["path"], r["template"])
        else:
            assert len(r["words"]) >= 1, (r["path"], r["template"])
        assert 0.0 <= r["difficulty"] <= 1.0
        assert r["template"].startswith(r["label"] + "/")


def test_difficulty_spread_and_template_variety(corpus4):
    out, _ = corpus4
    rows = pq.read_table(out / "truth.parquet", columns=["difficulty", "template", "label"]).to_pylist()
    d = np.array([r["difficulty"] for r in rows])
    assert d.min() < 0.25 and d.max() > 0.65 and d.std() > 0.12
    templates = {r["template"] for r in rows}
    assert len(templates) >= 28  # several layouts per class, not one each
    per_class = Counter(t.split("/")[0] for t in templates)
    assert sum(1 for c in RVL_CDIP_CLASSES if per_class[c] >= 2) >= 10


def test_landscape_pages_exist_only_where_expected():
    sizes = {}
    for i in range(6):
        sizes[i] = render_document("presentation", i, SEED).image.size
    assert any(w > h for w, h in sizes.values())  # slides: mostly landscape
    for label in ("letter", "memo", "invoice"):
        w, h = render_document(label, 0, SEED).image.size
        assert h == 1000 and w < h


# ----------------------------------------------------------------------------------- determinism
def test_same_seed_same_documents_whatever_workers_and_per_class(corpus4, corpus1):
    out4, _ = corpus4
    # document i depends on (seed, class, i) only: corpus1 (1 worker) == corpus4's index 0 (2 workers)
    truth4 = {r["path"]: r for r in pq.read_table(out4 / "truth.parquet").to_pylist()}
    truth1 = pq.read_table(corpus1 / "truth.parquet").to_pylist()
    assert len(truth1) == 16
    for r in truth1:
        assert (corpus1 / r["path"]).read_bytes() == (out4 / r["path"]).read_bytes(), r["path"]
        other = truth4[r["path"]]
        for key in ("words", "boxes", "width", "height", "difficulty", "template", "label"):
            assert r[key] == other[key], (r["path"], key)


def test_rerun_is_byte_identical(corpus1, tmp_path):
    generate_corpus(str(tmp_path), per_class=1, seed=SEED, workers=2, progress=False)
    for rel in ["truth.parquet", "manifest.json", "labels/all.txt", "labels/train.txt", "labels/val.txt",
                "labels/test.txt"]:
        assert (tmp_path / rel).read_bytes() == (corpus1 / rel).read_bytes(), rel
    for png in sorted((corpus1 / "images").rglob("*.png")):
        assert (tmp_path / png.relative_to(corpus1)).read_bytes() == png.read_bytes(), png.name


def test_different_seed_differs():
    for label in ("letter", "invoice", "handwritten", "file_folder"):
        a = render_document(label, 0, SEED)
        b = render_document(label, 0, SEED + 1)
        assert a.image.tobytes() != b.image.tobytes(), label
        assert a.words != b.words, label
        # and the same seed again is identical (no global RNG state leaks between calls)
        random.seed(123)
        np.random.seed(123)
        c = render_document(label, 0, SEED)
        assert c.image.tobytes() == a.image.tobytes() and c.words == a.words and c.boxes == a.boxes


# ------------------------------------------------------------------------------------ word boxes
def _ink_fraction(arr: np.ndarray, box, thr: float) -> float:
    x0, y0, x1, y1 = box
    region = arr[y0:y1, x0:x1]
    return float((region < thr).mean()) if region.size else 0.0


@pytest.mark.parametrize("difficulty", [0.0, 0.9])
def test_boxes_cover_the_drawn_words(difficulty):
    """Every recorded box holds ink, and the same box moved off by its own size holds clearly less:
    boxes are where the words are, also after skew/blur/noise on hard pages."""
    hits = total = 0
    inside = outside = 0.0
    for label in ("letter", "form", "scientific_publication", "handwritten", "invoice", "news_article"):
        doc = render_document(label, 1, SEED, difficulty=difficulty)
        arr = np.asarray(doc.image)
        h, w = arr.shape
        # "ink" relative to this page's paper (faded, blurred pages have grey text)
        thr = np.percentile(arr, 50) - 50
        assert len(doc.words) == len(doc.boxes) > 10
        for (x0, y0, x1, y1) in doc.boxes:
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
            f = _ink_fraction(arr, (x0, y0, x1, y1), thr)
            total += 1
            hits += f > 0.03
            inside += f
            dy = y1 - y0
            outside += _ink_fraction(arr, (x0, min(h, y0 + dy), x1, min(h, y1 + dy)), thr)
    assert hits / total > (0.99 if difficulty == 0.0 else 0.95), hits / total
    assert inside > 1.8 * outside


def test_words_are_tight_on_a_clean_page():
    """Without degradation a word's box is its ink's bounding box (to a pixel)."""
    from PIL import ImageFont

    ctx = Ctx(np.random.default_rng(0), random.Random(0), None, 0.0)
    page = Page(ctx, 400, 200)
    page.ink = 0
    font = page.font("serif", 20)
    page.line(10, 10, "Quick jumpy foxes", font)
    page.rotated_word(10, 100, "rotated", font, 8.0)
    assert [w.text for w in page.words] == ["Quick", "jumpy", "foxes", "rotated"]
    arr = np.asarray(page.img) < 200
    for wd in page.words:
        x0, y0, x1, y1 = wd.box
        ys, xs = np.nonzero(arr[y0 - 3:y1 + 3, x0 - 3:x1 + 3])
        assert abs((xs.min() - 3) - 0) <= 1 and abs((xs.max() + 1 - 3) - (x1 - x0)) <= 1, wd.text
        assert abs((ys.min() - 3) - 0) <= 1 and abs((ys.max() + 1 - 3) - (y1 - y0)) <= 1, wd.text
    assert isinstance(font, ImageFont.FreeTypeFont)


def test_reading_order_lines_then_flows():
    ctx = Ctx(np.random.default_rng(0), random.Random(0), None, 0.0)
    page = Page(ctx, 800, 1000)
    # column 2 (flow 2) drawn first, then column 1 (flow 1); within a flow, out of order
    page.words = [
        Word("c2-line1", (420, 100, 480, 112), 2), Word("c2-line2", (420, 130, 480, 142), 2),
        Word("b", (160, 131, 200, 141), 1), Word("a", (100, 130, 150, 142), 1),
        Word("second", (160, 99, 220, 113), 1), Word("first", (100, 100, 150, 112), 1),
        Word("title", (300, 40, 400, 70), 0),
    ]
    order = [w.text for w in page.ordered_words()]
    assert order == ["title", "first", "second", "a", "b", "c2-line1", "c2-line2"]


def test_normalise_boxes():
    assert normalise_boxes([(0, 0, 773, 1000), (386, 500, 387, 501)], 773, 1000) == [[0, 0, 1000, 1000],
                                                                                    [499, 500, 500, 501]]


# ------------------------------------------------------------------------------------------ fonts
def test_fonts_fall_back_without_optional_packages(monkeypatch):
    synth_fonts.families.cache_clear()
    try:
        monkeypatch.setattr(synth_fonts, "_pkg_files", lambda module: None)
        fams = synth_fonts.families()
        for role in ("serif", "sans", "mono", "hand", "script", "display"):
            assert fams[role], role
            assert all(f.source == "matplotlib" for f in fams[role])
        assert not synth_fonts.has_real_handwriting()
        doc = render_document("handwritten", 0, SEED)
        assert len(doc.words) > 20
    finally:
        synth_fonts.families.cache_clear()
    assert synth_fonts.families()["serif"]
