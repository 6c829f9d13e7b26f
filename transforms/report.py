"""Report step: a Beam CombineFn that folds result and error rows into the run's statistics.

The statistics (``new_stats`` layout) are exactly what ``pipeline.report.stats_from_parquet``
computes from the written Parquet with DuckDB, so ``docexit report OUT`` reproduces the
pipeline's report from the files alone (tests/test_report.py checks that both agree).
"""
from __future__ import annotations

import json
from typing import Any, Iterable

import apache_beam as beam

SUM_KEYS = (
    "results", "errors", "layers_run_sum", "layers_total_sum", "flops_sum", "full_flops_sum",
    "flops_fraction_sum", "confidence_sum", "model_ms_sum", "cal_pages", "cal_model_ms_sum", "cal_full_ms_sum",
    "ocr_skipped", "ocr_words_sum", "ocr_engine_pages", "ocr_ms_sum", "decode_pages", "decode_ms_sum",
    "image_stage_pages", "image_stage_ms_sum", "classify_pages", "classify_ms_sum", "gold_pages",
    "gold_correct",
)
COUNT_MAPS = ("errors_by_stage", "errors_by_type", "exit_hist", "layers_hist", "ocr_source")
PAIR_MAPS = ("gold_by_exit", "gold_by_label")   # key -> [pages, correct]
SET_KEYS = ("policies", "model_versions")


def new_stats() -> dict:
    stats: dict[str, Any] = {k: 0 for k in SUM_KEYS}
    for k in COUNT_MAPS + PAIR_MAPS:
        stats[k] = {}
    stats["exit_order"] = {}      # exit_name -> exit_index (lowest seen)
    for k in SET_KEYS:
        stats[k] = set()
    return stats


def full_flops(row: dict) -> float:
    """Full-depth FLOPs for a page: flops / flops_fraction (the page's own reference)."""
    ff = row.get("flops_fraction") or 0.0
    return float(row["flops"]) / ff if ff > 0 else float(row["flops"])


def add_result(stats: dict, row: dict) -> None:
    stats["results"] += 1
    exit_name = row["exit_name"]
    stats["exit_hist"][exit_name] = stats["exit_hist"].get(exit_name, 0) + 1
    idx = int(row["exit_index"])
    stats["exit_order"][exit_name] = min(idx, stats["exit_order"].get(exit_name, idx))
    key = str(int(row["layers_run"]))
    stats["layers_hist"][key] = stats["layers_hist"].get(key, 0) + 1
    stats["layers_run_sum"] += int(row["layers_run"])
    stats["layers_total_sum"] += int(row["layers_total"])
    stats["flops_sum"] += float(row["flops"])
    stats["full_flops_sum"] += full_flops(row)
    stats["flops_fraction_sum"] += float(row["flops_fraction"])
    stats["confidence_sum"] += float(row["confidence"])
    stats["model_ms_sum"] += float(row["model_ms"])
    if row.get("full_model_ms") is not None:
        stats["cal_pages"] += 1
        stats["cal_model_ms_sum"] += float(row["model_ms"])
        stats["cal_full_ms_sum"] += float(row["full_model_ms"])
    if row["ocr_skipped"]:
        stats["ocr_skipped"] += 1
    src = row.get("ocr_source") or "none"
    stats["ocr_source"][src] = stats["ocr_source"].get(src, 0) + 1
    stats["ocr_words_sum"] += int(row["ocr_words"])
    if src == "engine":
        stats["ocr_engine_pages"] += 1
        stats["ocr_ms_sum"] += float(row["ocr_ms"])
    stats["decode_pages"] += 1
    stats["decode_ms_sum"] += float(row.get("decode_ms") or 0.0)
    if row.get("image_stage_ms") is not None:
        stats["image_stage_pages"] += 1
        stats["image_stage_ms_sum"] += float(row["image_stage_ms"])
    if row.get("classify_ms") is not None:
        stats["classify_pages"] += 1
        stats["classify_ms_sum"] += float(row["classify_ms"])
    gold = row.get("label_gold")
    if gold is not None:
        correct = int(gold == row["label"])
        stats["gold_pages"] += 1
        stats["gold_correct"] += correct
        for mapname, key in (("gold_by_exit", exit_name), ("gold_by_label", gold)):
            pair = stats[mapname].setdefault(key, [0, 0])
            pair[0] += 1
            pair[1] += correct
    if row.get("policy") is not None:
        stats["policies"].add(row["policy"])
    if row.get("model_version") is not None:
        stats["model_versions"].add(row["model_version"])


def add_error(stats: dict, row: dict) -> None:
    stats["errors"] += 1
    stage = row["stage"]
    stats["errors_by_stage"][stage] = stats["errors_by_stage"].get(stage, 0) + 1
    key = f"{stage}/{row['error_type']}"
    stats["errors_by_type"][key] = stats["errors_by_type"].get(key, 0) + 1


def merge_stats(accumulators: Iterable[dict]) -> dict:
    out = new_stats()
    for acc in accumulators:
        for k in SUM_KEYS:
            out[k] += acc[k]
        for k in COUNT_MAPS:
            for key, n in acc[k].items():
                out[k][key] = out[k].get(key, 0) + n
        for k in PAIR_MAPS:
            for key, (n, c) in acc[k].items():
                pair = out[k].setdefault(key, [0, 0])
                pair[0] += n
                pair[1] += c
        for key, idx in acc["exit_order"].items():
            out["exit_order"][key] = min(idx, out["exit_order"].get(key, idx))
        for k in SET_KEYS:
            out[k] |= set(acc[k])
    return out


def _from_json(stats: dict) -> dict:
    out = dict(stats)
    for k in SET_KEYS:
        out[k] = set(stats[k])
    return out


def stats_to_json(stats: dict) -> dict:
    """JSON-ready copy (sets -> sorted lists)."""
    out = dict(stats)
    for k in SET_KEYS:
        out[k] = sorted(stats[k])
    return json.loads(json.dumps(out))


class RunStatsFn(beam.CombineFn):
    """Result rows (``kind="r"``) or error rows (``kind="e"``) -> run statistics (see ``new_stats``).

    Applied to each output branch separately (partial statistics are merged by ``WriteStatsFn``),
    so no Flatten of all rows is needed: on the local FnApiRunner a Flatten is materialised."""

    def __init__(self, kind: str = "r"):
        if kind not in ("r", "e"):
            raise ValueError(f"kind must be 'r' or 'e', got {kind!r}")
        self.kind = kind

    def create_accumulator(self):
        return new_stats()

    def add_input(self, acc, row):
        if self.kind == "e":
            add_error(acc, row)
        else:
            add_result(acc, row)
        return acc

    def merge_accumulators(self, accumulators):
        return merge_stats(accumulators)

    def extract_output(self, acc):
        return stats_to_json(acc)


class WriteStatsFn(beam.DoFn):
    """Merge the partial statistics of every branch and write them (+ pages read, files written) as
    JSON for the driver to turn into the report. Runs once, on an Impulse, after all side inputs."""

    def __init__(self, path: str):
        self.path = path

    def process(self, _, pages_in, files, *partial_stats):
        from fsspec.core import url_to_fs

        merged = merge_stats(_from_json(s) for s in partial_stats)
        doc = {"stats": stats_to_json(merged), "pages_in": int(pages_in), "files": sorted(files)}
        fs, p = url_to_fs(self.path)
        fs.makedirs(p.rsplit("/", 1)[0], exist_ok=True)
        with fs.open(p, "w") as f:
            json.dump(doc, f)
        yield self.path
