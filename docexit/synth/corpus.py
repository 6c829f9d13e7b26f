"""generate_corpus: render N pages per class in parallel and write images, labels, truth, manifest."""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
from typing import Optional

import numpy as np

from ..labels import CLASS_TO_INDEX, RVL_CDIP_CLASSES
from .fonts import font_inventory
from .render import normalise_boxes, render_document

GENERATOR_VERSION = "1.0.0"
SPLITS = ("train", "val", "test")
PNG_COMPRESS_LEVEL = 1


def split_counts(per_class: int, split: tuple[float, float, float]) -> dict[str, int]:
    """Exact per-class sizes by largest remainder (ties go to train, then val): they sum to
    per_class and each is within 1 of per_class * fraction."""
    ideal = [per_class * f for f in split]
    sizes = [int(x) for x in ideal]
    left = per_class - sum(sizes)
    order = sorted(range(3), key=lambda k: (-(ideal[k] - sizes[k]), k))
    for k in order[:left]:
        sizes[k] += 1
    return dict(zip(SPLITS, sizes))


def assign_splits(per_class: int, seed: int, split: tuple[float, float, float]) -> dict[str, list[str]]:
    """class -> split name per document index; a seeded permutation per class, so it is stratified,
    deterministic, and independent of worker count."""
    sizes = split_counts(per_class, split)
    out = {}
    for label in RVL_CDIP_CLASSES:
        rng = np.random.default_rng(np.random.SeedSequence([int(seed) % (2 ** 63), CLASS_TO_INDEX[label], 0x5B17]))
        perm = rng.permutation(per_class)
        names = [""] * per_class
        k = 0
        for name in SPLITS:
            for idx in perm[k:k + sizes[name]]:
                names[int(idx)] = name
            k += sizes[name]
        out[label] = names
    return out


def _render_task(task):
    label, index, seed, split_name, out_dir = task
    doc = render_document(label, index, seed)
    rel = f"images/{label}/{label}_{index:05d}.png"
    doc.image.save(os.path.join(out_dir, rel), format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    w, h = doc.image.size
    return {
        "path": rel,
        "split": split_name,
        "label": label,
        "label_index": CLASS_TO_INDEX[label],
        "words": doc.words,
        "boxes": normalise_boxes(doc.boxes, w, h),
        "width": w,
        "height": h,
        "difficulty": round(doc.difficulty, 6),
        "template": doc.template,
    }


def _write_truth(path: str, records: list[dict]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([
        ("path", pa.string()),
        ("split", pa.string()),
        ("label", pa.string()),
        ("label_index", pa.int32()),
        ("words", pa.list_(pa.string())),
        ("boxes", pa.list_(pa.list_(pa.int32()))),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("difficulty", pa.float64()),
        ("template", pa.string()),
    ])
    cols = {name: [r[name] for r in records] for name in schema.names}
    table = pa.table(cols, schema=schema)
    pq.write_table(table, path, compression="zstd")


def generate_corpus(out_dir: str, per_class: int, seed: int,
                    split: tuple[float, float, float] = (0.7, 0.15, 0.15),
                    workers: Optional[int] = None, progress: bool = True) -> dict:
    """Render ``per_class`` pages of each of the 16 RVL-CDIP classes under ``out_dir``.

    Layout: images/{class}/{class}_{i:05d}.png, labels/{train,val,test,all}.txt (RVL-CDIP format,
    paths relative to out_dir), truth.parquet (words + 0-1000 boxes per page), manifest.json.
    The same seed gives byte-identical images and truth whatever ``workers`` is.
    Returns {"pages", "seconds", "counts": {split: {class: n}}, "out_dir"}.
    """
    t0 = time.perf_counter()
    if per_class < 1:
        raise ValueError(f"per_class must be >= 1, got {per_class}")
    split = tuple(float(s) for s in split)
    if len(split) != 3 or any(s < 0 for s in split) or abs(sum(split) - 1.0) > 1e-6:
        raise ValueError(f"split must be three non-negative fractions summing to 1, got {split}")
    out_dir = os.path.abspath(out_dir)
    for label in RVL_CDIP_CLASSES:
        os.makedirs(os.path.join(out_dir, "images", label), exist_ok=True)
    os.makedirs(os.path.join(out_dir, "labels"), exist_ok=True)

    assignment = assign_splits(per_class, seed, split)
    tasks = [(label, i, int(seed), assignment[label][i], out_dir)
             for label in RVL_CDIP_CLASSES for i in range(per_class)]
    n_workers = (os.cpu_count() or 1) if workers is None else int(workers)
    n_workers = max(1, min(n_workers, len(tasks)))

    bar = None
    if progress:
        try:
            from tqdm import tqdm
            bar = tqdm(total=len(tasks), desc="synth pages", unit="page")
        except ImportError:  # pragma: no cover
            bar = None
    records = []
    if n_workers == 1:
        for t in tasks:
            records.append(_render_task(t))
            if bar:
                bar.update(1)
    else:
        chunk = max(1, min(8, len(tasks) // (n_workers * 4)))
        with mp.get_context().Pool(n_workers) as pool:
            for rec in pool.imap(_render_task, tasks, chunksize=chunk):
                records.append(rec)
                if bar:
                    bar.update(1)
    if bar:
        bar.close()

    counts = {s: {label: 0 for label in RVL_CDIP_CLASSES} for s in SPLITS}
    lines = {s: [] for s in SPLITS}
    all_lines = []
    for rec in records:
        line = f"{rec['path']} {rec['label_index']}"
        lines[rec["split"]].append(line)
        all_lines.append(line)
        counts[rec["split"]][rec["label"]] += 1
    for s in SPLITS:
        with open(os.path.join(out_dir, "labels", f"{s}.txt"), "w", encoding="utf-8") as fh:
            fh.write("".join(ln + "\n" for ln in lines[s]))
    with open(os.path.join(out_dir, "labels", "all.txt"), "w", encoding="utf-8") as fh:
        fh.write("".join(ln + "\n" for ln in all_lines))
    _write_truth(os.path.join(out_dir, "truth.parquet"), records)
    manifest = {
        "generator": "docexit.synth",
        "version": GENERATOR_VERSION,
        "seed": int(seed),
        "per_class": int(per_class),
        "split": list(split),
        "classes": list(RVL_CDIP_CLASSES),
        "pages": len(records),
        "counts": counts,
        "fonts": font_inventory(),
    }
    with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2, sort_keys=True)
        fh.write("\n")
    return {"pages": len(records), "seconds": round(time.perf_counter() - t0, 3), "counts": counts,
            "out_dir": out_dir}
