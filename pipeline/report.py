"""The run report: statistics -> report.json, report.md and PNG charts; and `docexit report OUT`.

Two sources of the same statistics:
* the pipeline's Beam combiner (transforms.report.RunStatsFn), written while the run happens;
* ``stats_from_parquet(OUT)``: DuckDB over ``OUT/results/*.parquet`` and ``OUT/errors/*.parquet``.
``build_report`` turns either into the report, so `docexit report OUT` reproduces a run's report
from the Parquet alone (wall-clock numbers come from OUT/run.json, which the Parquet cannot hold).
"""
from __future__ import annotations

import argparse
import io
import json
import math
import sys
from typing import Any, Optional, Sequence

REPORT_JSON = "report.json"
REPORT_MD = "report.md"
RUN_JSON = "run.json"
CHART_EXITS = "exit_histogram.png"
CHART_LAYERS = "layers_run_histogram.png"


# -------------------------------------------------------------------------------- fs helpers

def _fs(url: str):
    from fsspec.core import url_to_fs

    return url_to_fs(url)


def _join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/")] + [p.strip("/") for p in parts])


def read_json(url: str) -> Optional[dict]:
    fs, path = _fs(url)
    try:
        with fs.open(path, "r") as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def write_bytes(url: str, data: bytes) -> None:
    fs, path = _fs(url)
    parent = path.rsplit("/", 1)[0]
    if parent:
        fs.makedirs(parent, exist_ok=True)
    with fs.open(path, "wb") as f:
        f.write(data)


# ------------------------------------------------------------------------------ DuckDB stats

def duckdb_connect(out_dir: str):
    """A DuckDB connection that can read ``out_dir`` (fsspec filesystems registered when remote)."""
    import duckdb

    con = duckdb.connect()
    fs, _ = _fs(out_dir)
    protocols = fs.protocol if isinstance(fs.protocol, (tuple, list)) else (fs.protocol,)
    if "file" not in protocols and "local" not in protocols:
        con.register_filesystem(fs)
    return con


def parquet_glob(out_dir: str, table: str) -> str:
    """``OUT/<table>/*.parquet`` as DuckDB wants it: a plain path locally, else the URL."""
    from pipeline.outdir import normalise

    return _join(normalise(out_dir), table, "*.parquet")


def stats_from_parquet(out_dir: str, con=None) -> dict:
    """The run statistics (same layout as transforms.report.new_stats) computed with DuckDB."""
    con = con or duckdb_connect(out_dir)
    res = parquet_glob(out_dir, "results").replace("'", "''")
    err = parquet_glob(out_dir, "errors").replace("'", "''")
    con.execute(f"CREATE OR REPLACE TEMP VIEW r AS SELECT * FROM read_parquet('{res}')")
    con.execute(f"CREATE OR REPLACE TEMP VIEW e AS SELECT * FROM read_parquet('{err}')")

    def one(sql: str):
        return con.execute(sql).fetchone()

    def pairs(sql: str) -> dict:
        return {str(k): int(v) for k, v in con.execute(sql).fetchall()}

    s: dict[str, Any] = {}
    row = one("""
        SELECT count(*), coalesce(sum(layers_run), 0), coalesce(sum(layers_total), 0),
               coalesce(sum(flops), 0), coalesce(sum(CASE WHEN flops_fraction > 0 THEN flops / flops_fraction
                                                         ELSE flops END), 0),
               coalesce(sum(flops_fraction), 0), coalesce(sum(confidence), 0), coalesce(sum(model_ms), 0),
               count(full_model_ms), coalesce(sum(CASE WHEN full_model_ms IS NOT NULL THEN model_ms END), 0),
               coalesce(sum(full_model_ms), 0),
               count(*) FILTER (WHERE ocr_skipped), coalesce(sum(ocr_words), 0),
               count(*) FILTER (WHERE ocr_source = 'engine'),
               coalesce(sum(ocr_ms) FILTER (WHERE ocr_source = 'engine'), 0),
               count(*), coalesce(sum(decode_ms), 0),
               count(image_stage_ms), coalesce(sum(image_stage_ms), 0),
               count(classify_ms), coalesce(sum(classify_ms), 0),
               count(label_gold), count(*) FILTER (WHERE label_gold = label)
        FROM r""")
    keys = ("results", "layers_run_sum", "layers_total_sum", "flops_sum", "full_flops_sum", "flops_fraction_sum",
            "confidence_sum", "model_ms_sum", "cal_pages", "cal_model_ms_sum", "cal_full_ms_sum", "ocr_skipped",
            "ocr_words_sum", "ocr_engine_pages", "ocr_ms_sum", "decode_pages", "decode_ms_sum",
            "image_stage_pages", "image_stage_ms_sum", "classify_pages", "classify_ms_sum", "gold_pages",
            "gold_correct")
    for k, v in zip(keys, row):
        s[k] = v if isinstance(v, float) else int(v)
    for k in ("flops_sum", "full_flops_sum", "flops_fraction_sum", "confidence_sum", "model_ms_sum",
              "cal_model_ms_sum", "cal_full_ms_sum", "ocr_ms_sum", "decode_ms_sum", "image_stage_ms_sum",
              "classify_ms_sum"):
        s[k] = float(s[k])
    s["errors"] = int(one("SELECT count(*) FROM e")[0])
    s["errors_by_stage"] = pairs("SELECT stage, count(*) FROM e GROUP BY stage")
    s["errors_by_type"] = pairs("SELECT stage || '/' || error_type, count(*) FROM e GROUP BY 1")
    s["exit_hist"] = pairs("SELECT exit_name, count(*) FROM r GROUP BY exit_name")
    s["exit_order"] = pairs("SELECT exit_name, min(exit_index) FROM r GROUP BY exit_name")
    s["layers_hist"] = pairs("SELECT CAST(layers_run AS VARCHAR), count(*) FROM r GROUP BY layers_run")
    s["ocr_source"] = pairs("SELECT coalesce(ocr_source, 'none'), count(*) FROM r GROUP BY 1")
    s["gold_by_exit"] = {str(k): [int(n), int(c)] for k, n, c in con.execute(
        "SELECT exit_name, count(*), count(*) FILTER (WHERE label = label_gold) FROM r "
        "WHERE label_gold IS NOT NULL GROUP BY exit_name").fetchall()}
    s["gold_by_label"] = {str(k): [int(n), int(c)] for k, n, c in con.execute(
        "SELECT label_gold, count(*), count(*) FILTER (WHERE label = label_gold) FROM r "
        "WHERE label_gold IS NOT NULL GROUP BY label_gold").fetchall()}
    s["policies"] = sorted(str(v) for (v,) in con.execute(
        "SELECT DISTINCT policy FROM r WHERE policy IS NOT NULL").fetchall())
    s["model_versions"] = sorted(str(v) for (v,) in con.execute(
        "SELECT DISTINCT model_version FROM r WHERE model_version IS NOT NULL").fetchall())
    return s


# ------------------------------------------------------------------------------ the report

def _ratio(a: float, b: float) -> Optional[float]:
    return (a / b) if b else None


def _per_s(pages: int, ms: float) -> Optional[float]:
    return (pages / (ms / 1000.0)) if ms > 0 else None


def build_report(stats: dict, *, pages_in: Optional[int] = None, run: Optional[dict] = None) -> dict:
    """The report from run statistics; ``pages_in`` (pages the readers produced) defaults to
    results + errors, which is what the Parquet alone can tell."""
    results, errors = int(stats["results"]), int(stats["errors"])
    pages_in = results + errors if pages_in is None else int(pages_in)
    order = stats.get("exit_order", {})
    exits = sorted(stats["exit_hist"], key=lambda k: (order.get(k, 1 << 30), k))
    exit_rows = []
    for name in exits:
        n = stats["exit_hist"][name]
        gold = stats["gold_by_exit"].get(name)
        exit_rows.append({"exit_name": name, "exit_index": order.get(name), "pages": n,
                          "fraction": _ratio(n, results),
                          "gold_pages": gold[0] if gold else 0,
                          "accuracy": _ratio(gold[1], gold[0]) if gold else None})
    layers = {k: stats["layers_hist"][k] for k in sorted(stats["layers_hist"], key=int)}
    cal_saved = (1.0 - stats["cal_model_ms_sum"] / stats["cal_full_ms_sum"]) if stats["cal_full_ms_sum"] > 0 else None
    flops_saved = (1.0 - stats["flops_sum"] / stats["full_flops_sum"]) if stats["full_flops_sum"] > 0 else None
    src = stats["ocr_source"]
    report = {
        "pages_in": pages_in,
        "results": results,
        "errors": errors,
        "accounted": results + errors == pages_in,
        "errors_by_stage": dict(sorted(stats["errors_by_stage"].items())),
        "errors_by_type": dict(sorted(stats["errors_by_type"].items())),
        "exit_histogram": exit_rows,
        "layers_run_histogram": layers,
        "mean_layers_run": _ratio(stats["layers_run_sum"], results),
        "mean_layers_total": _ratio(stats["layers_total_sum"], results),
        "mean_confidence": _ratio(stats["confidence_sum"], results),
        "compute": {
            "flops_total": stats["flops_sum"],
            "flops_full_depth": stats["full_flops_sum"],
            "flops_saved_fraction": flops_saved,
            "mean_flops_fraction": _ratio(stats["flops_fraction_sum"], results),
            "model_ms_total": stats["model_ms_sum"],
            "model_ms_per_page": _ratio(stats["model_ms_sum"], results),
            "measured": {
                "pages": stats["cal_pages"],
                "model_ms": stats["cal_model_ms_sum"],
                "full_depth_model_ms": stats["cal_full_ms_sum"],
                "model_time_saved_fraction": cal_saved,
            },
        },
        "ocr": {
            "skipped": stats["ocr_skipped"],
            "skipped_fraction": _ratio(stats["ocr_skipped"], results),
            "engine_pages": src.get("engine", 0),
            "cache_hits": src.get("cache", 0),
            "carried": src.get("carried", 0),
            "words_total": stats["ocr_words_sum"],
            "ms_total": stats["ocr_ms_sum"],
            "ms_per_engine_page": _ratio(stats["ocr_ms_sum"], stats["ocr_engine_pages"]),
        },
        "stage_pages_per_s": {  # pages / busy seconds of that stage, per worker
            "decode": _per_s(stats["decode_pages"], stats["decode_ms_sum"]),
            "image_stage": _per_s(stats["image_stage_pages"], stats["image_stage_ms_sum"]),
            "ocr": _per_s(stats["ocr_engine_pages"], stats["ocr_ms_sum"]),
            "classify": _per_s(stats["classify_pages"], stats["classify_ms_sum"]),
        },
        "accuracy": None,
        "model_versions": list(stats["model_versions"]),
        "policies": list(stats["policies"]),
    }
    if stats["gold_pages"]:
        report["accuracy"] = {
            "pages_with_gold": stats["gold_pages"],
            "overall": _ratio(stats["gold_correct"], stats["gold_pages"]),
            "by_exit": {k: {"pages": v[0], "accuracy": _ratio(v[1], v[0])}
                        for k, v in sorted(stats["gold_by_exit"].items(), key=lambda kv: (order.get(kv[0], 1 << 30), kv[0]))},
            "by_label": {k: {"pages": v[0], "accuracy": _ratio(v[1], v[0])}
                         for k, v in sorted(stats["gold_by_label"].items())},
        }
    if run:
        report["run"] = run
    return report


PARQUET_KEYS = ("pages_in", "results", "errors", "accounted", "errors_by_stage", "errors_by_type", "exit_histogram",
                "layers_run_histogram", "mean_layers_run", "mean_layers_total", "mean_confidence", "compute", "ocr",
                "stage_pages_per_s", "accuracy", "model_versions", "policies")


def diff_reports(a: dict, b: dict, rel: float = 1e-6, keys: Sequence[str] = PARQUET_KEYS) -> list[str]:
    """Where two reports disagree on the numbers the Parquet determines (floats to ``rel``)."""
    out: list[str] = []

    def walk(x, y, path):
        if isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(set(x) | set(y), key=str):
                walk(x.get(k), y.get(k), f"{path}.{k}")
        elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            for i, (u, v) in enumerate(zip(x, y)):
                walk(u, v, f"{path}[{i}]")
        elif isinstance(x, float) or isinstance(y, float):
            if x is None or y is None or not math.isclose(float(x), float(y), rel_tol=rel, abs_tol=1e-9):
                out.append(f"{path}: {x!r} != {y!r}")
        elif x != y:
            out.append(f"{path}: {x!r} != {y!r}")

    for k in keys:
        walk(a.get(k), b.get(k), k)
    return out


# ---------------------------------------------------------------------------- presentation

def _pct(v: Optional[float]) -> str:
    return "n/a" if v is None else f"{100.0 * v:.1f}%"


def _num(v: Optional[float], fmt: str = "{:.2f}") -> str:
    return "n/a" if v is None else fmt.format(v)


def render_markdown(report: dict, out_dir: Optional[str] = None) -> str:
    r = report
    lines = ["# docexit run report", ""]
    run = r.get("run") or {}
    if out_dir:
        lines.append(f"Output: `{out_dir}`")
    if run:
        lines.append(f"Runner: {run.get('runner')}, model: {', '.join(r['model_versions']) or 'n/a'}, "
                     f"policy: {', '.join(r['policies']) or 'n/a'}, early exit: {run.get('early_exit')}, "
                     f"OCR-free stage: {run.get('image_stage')}")
        if run.get("wall_s") is not None:
            lines.append(f"Wall time: {run['wall_s']:.1f} s, {_num(run.get('pages_per_s'))} pages/s end to end")
    lines += ["", "## Pages", "",
              "| pages in | results | errors | accounted |", "|---:|---:|---:|:--|",
              f"| {r['pages_in']} | {r['results']} | {r['errors']} | {'yes' if r['accounted'] else 'NO'} |", ""]
    if r["errors_by_type"]:
        lines += ["Errors by stage/type:", ""] + [f"- `{k}`: {v}" for k, v in r["errors_by_type"].items()] + [""]
    lines += ["## Exits", "", "| exit | index | pages | share | accuracy |", "|:--|--:|--:|--:|--:|"]
    for e in r["exit_histogram"]:
        lines.append(f"| {e['exit_name']} | {e['exit_index']} | {e['pages']} | {_pct(e['fraction'])} | "
                     f"{_pct(e['accuracy'])} |")
    c, m, o = r["compute"], r["compute"]["measured"], r["ocr"]
    lines += ["", f"Mean layers run: {_num(r['mean_layers_run'])} (image stage + multimodal; a full-depth "
              f"multimodal pass runs {_num(r['mean_layers_total'])})", "",
              "## Compute", "",
              f"- FLOPs saved vs full depth: {_pct(c['flops_saved_fraction'])} "
              f"(mean per-page FLOPs fraction {_num(c['mean_flops_fraction'], '{:.3f}')})",
              f"- Measured model time saved vs full depth: {_pct(m['model_time_saved_fraction'])} "
              f"(on {m['pages']} calibration pages: {m['model_ms']:.0f} ms vs {m['full_depth_model_ms']:.0f} ms)",
              f"- Model time: {c['model_ms_total']:.0f} ms total, {_num(c['model_ms_per_page'], '{:.1f}')} ms/page",
              f"- OCR skipped (OCR-free exit): {o['skipped']} pages ({_pct(o['skipped_fraction'])}); "
              f"OCR engine ran on {o['engine_pages']}, cache hits {o['cache_hits']}, carried OCR {o['carried']}",
              "", "## Throughput (pages per busy second, per worker)", ""]
    for stage, v in r["stage_pages_per_s"].items():
        lines.append(f"- {stage}: {_num(v)}")
    if run.get("pages_per_s") is not None:
        lines.append(f"- end to end (wall clock): {_num(run['pages_per_s'])}")
    acc = r.get("accuracy")
    lines += ["", "## Accuracy", ""]
    if acc:
        lines.append(f"Overall: {_pct(acc['overall'])} on {acc['pages_with_gold']} pages with gold labels")
        lines += ["", "| exit | pages | accuracy |", "|:--|--:|--:|"]
        lines += [f"| {k} | {v['pages']} | {_pct(v['accuracy'])} |" for k, v in acc["by_exit"].items()]
        lines += ["", "| label | pages | accuracy |", "|:--|--:|--:|"]
        lines += [f"| {k} | {v['pages']} | {_pct(v['accuracy'])} |" for k, v in acc["by_label"].items()]
    else:
        lines.append("No gold labels in the input.")
    charts = run.get("charts") or []
    if charts:
        lines += ["", "## Charts", ""] + [f"![{c}]({c})" for c in charts]
    return "\n".join(lines) + "\n"


def render_charts(report: dict) -> dict[str, bytes]:
    """PNG bytes of the exit histogram and the layers-run histogram (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    out: dict[str, bytes] = {}
    exits = report["exit_histogram"]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar([e["exit_name"] for e in exits], [e["pages"] for e in exits], color="#4c72b0")
    ax.set_title("Pages per exit")
    ax.set_ylabel("pages")
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    out[CHART_EXITS] = buf.getvalue()

    layers = report["layers_run_histogram"]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar([int(k) for k in layers], list(layers.values()), color="#55a868")
    ax.set_title("Encoder layers run per page")
    ax.set_xlabel("layers run")
    ax.set_ylabel("pages")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    out[CHART_LAYERS] = buf.getvalue()
    return out


def write_report(out_dir: str, report: dict, *, charts: bool = True) -> list[str]:
    """report.json, report.md and the charts into ``out_dir``; returns the paths written."""
    written = []
    if charts and report["results"]:
        try:
            pngs = render_charts(report)
        except Exception as exc:  # charts are a nicety: never fail a run over them
            print(f"docexit: charts skipped: {type(exc).__name__}: {exc}", file=sys.stderr)
            pngs = {}
        for name, data in pngs.items():
            write_bytes(_join(out_dir, name), data)
            written.append(_join(out_dir, name))
        report.setdefault("run", {})["charts"] = sorted(pngs)
    write_bytes(_join(out_dir, REPORT_JSON), json.dumps(report, indent=2, sort_keys=False).encode())
    write_bytes(_join(out_dir, REPORT_MD), render_markdown(report, out_dir).encode())
    written += [_join(out_dir, REPORT_JSON), _join(out_dir, REPORT_MD)]
    return written


def report_from_parquet(out_dir: str) -> dict:
    """The report recomputed from OUT's Parquet (+ OUT/run.json for the wall-clock part)."""
    run = read_json(_join(out_dir, RUN_JSON))
    return build_report(stats_from_parquet(out_dir), run=run)


# --------------------------------------------------------------------------------- the CLI

def main(argv: Optional[Sequence[str]] = None) -> int:
    """`docexit report OUT`: recompute the report from OUT's Parquet with DuckDB and print it."""
    ap = argparse.ArgumentParser(prog="docexit report", description=main.__doc__)
    ap.add_argument("out", help="a run's output folder (local or fsspec URL)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    ap.add_argument("--write", action="store_true", help="rewrite OUT/report.json, report.md and charts")
    ap.add_argument("--check", action="store_true",
                    help="compare with OUT/report.json (the pipeline's own); exit 1 when they disagree")
    args = ap.parse_args(list(argv) if argv is not None else None)
    try:
        report = report_from_parquet(args.out)
    except Exception as exc:
        print(f"docexit report: cannot read {args.out}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    status = 0
    if args.check:
        saved = read_json(_join(args.out, REPORT_JSON))
        if saved is None:
            print(f"docexit report: no {REPORT_JSON} in {args.out} to check against", file=sys.stderr)
            status = 1
        else:
            diffs = diff_reports(saved, report)
            if diffs:
                print("docexit report: Parquet and report.json disagree:\n  " + "\n  ".join(diffs), file=sys.stderr)
                status = 1
            else:
                print("docexit report: report.json matches the Parquet", file=sys.stderr)
    if args.write:
        write_report(args.out, report)
    print(json.dumps(report, indent=2) if args.json else render_markdown(report, args.out))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
