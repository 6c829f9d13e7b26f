"""Benchmark the whole pipeline, side by side: early exit on, full depth, OCR-free stage off, and
early exit on with two local worker processes.

    python bench/pipeline.py                      # 200 generated pages, real easyocr, the shipped model
    python bench/pipeline.py --pages 48 --configs ee,full
    python bench/pipeline.py --pages 32 -- --batch_size 8     # args after -- go to every `docexit run`

Each configuration runs in a fresh Python process (no model or OCR engine carried over, and its
own peak RSS), on the same generated pages, with no OCR cache (so OCR costs what it costs).
Prints a table, then as its LAST line a JSON object (also written to bench/results/pipeline.json):
pages, pages_per_s_ee, pages_per_s_full, pages_per_s_no_ocr_free, pages_per_s_ee_2workers,
speedup_2workers, ocr_skipped_fraction, accuracy_ee, accuracy_full, accuracy_no_ocr_free,
flops_saved_ee, model_time_saved_ee, peak_rss_mb, and per-configuration details.
pages/s is end to end (pages in / wall clock of the run, start-up included).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

CONFIGS = {
    "ee": [],
    "full": ["--no_early_exit"],
    "no_ocr_free": ["--no_image_stage"],
    "ee_2workers": ["--direct_num_workers", "2", "--direct_running_mode", "multi_processing"],
}
DEFAULT_CONFIGS = "ee,full,no_ocr_free,ee_2workers"


def make_inputs(workdir: Path, pages: int, seed: int) -> Path:
    """Generate ceil(pages/16) pages per class (reused when present); label file of `pages` pages,
    taken round-robin over the classes."""
    from docexit.labels import RVL_CDIP_CLASSES
    from docexit.synth import generate_corpus

    per_class = max(1, math.ceil(pages / len(RVL_CDIP_CLASSES)))
    corpus = workdir / f"corpus-{per_class}-{seed}"
    all_txt = corpus / "labels" / "all.txt"
    if not all_txt.is_file():
        print(f"bench: generating {per_class} pages per class into {corpus}", file=sys.stderr)
        generate_corpus(str(corpus), per_class=per_class, seed=seed)
    by_class: dict[str, list[str]] = {}
    for line in all_txt.read_text().splitlines():
        if line.strip():
            by_class.setdefault(line.split("/")[1], []).append(line)
    chosen: list[str] = []
    i = 0
    while len(chosen) < pages:
        for name in RVL_CDIP_CLASSES:
            if i < len(by_class.get(name, [])) and len(chosen) < pages:
                chosen.append(by_class[name][i])
        i += 1
    label_file = corpus / "labels" / f"bench_{pages}.txt"
    label_file.write_text("\n".join(chosen) + "\n")
    return label_file


def child(spec: dict) -> None:
    """Run one configuration in this (fresh) process; print one JSON line."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    from pipeline.run import run

    t0 = time.time()
    report = run(spec["argv"])
    wall = time.time() - t0
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    acc = report.get("accuracy") or {}
    out = {
        "config": spec["name"],
        "pages_in": report["pages_in"],
        "results": report["results"],
        "errors": report["errors"],
        "wall_s": round(report["run"]["wall_s"], 2),
        "wall_s_with_launch": round(wall, 2),
        "pages_per_s": report["run"]["pages_per_s"],
        "accuracy": acc.get("overall"),
        "ocr_skipped_fraction": report["ocr"]["skipped_fraction"],
        "ocr_engine_pages": report["ocr"]["engine_pages"],
        "ocr_ms_per_page": report["ocr"]["ms_per_engine_page"],
        "mean_layers_run": report["mean_layers_run"],
        "flops_saved": report["compute"]["flops_saved_fraction"],
        "model_time_saved_measured": report["compute"]["measured"]["model_time_saved_fraction"],
        "model_ms_per_page": report["compute"]["model_ms_per_page"],
        "stage_pages_per_s": report["stage_pages_per_s"],
        "exit_histogram": {e["exit_name"]: e["pages"] for e in report["exit_histogram"]},
        "model_versions": report["model_versions"],
        "peak_rss_mb": round(self_kb / 1024, 1),
        "peak_rss_children_mb": round(kids_kb / 1024, 1),
    }
    print("BENCH_RESULT " + json.dumps(out))


def run_config(name: str, argv: list[str], log_dir: Path) -> dict:
    spec = {"name": name, "argv": argv}
    log_path = log_dir / f"{name}.log"
    t0 = time.time()
    with open(log_path, "w") as log:
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--_child", json.dumps(spec)],
                              stdout=subprocess.PIPE, stderr=log, text=True, cwd=str(REPO))
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("BENCH_RESULT ")]
    if proc.returncode != 0 or not lines:
        tail = log_path.read_text()[-3000:]
        raise RuntimeError(f"bench config {name} failed (rc={proc.returncode}); log {log_path}:\n{tail}")
    result = json.loads(lines[-1][len("BENCH_RESULT "):])
    result["process_s"] = round(time.time() - t0, 2)
    return result


def _fmt(v, pct=False):
    if v is None:
        return "n/a"
    if pct:
        return f"{100 * v:.1f}%"
    return f"{v:.2f}" if isinstance(v, float) else str(v)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--_child"]:
        child(json.loads(argv[1]))
        return 0
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--workdir", default=os.path.join("~", ".cache", "docexit", "bench"))
    ap.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    ap.add_argument("--configs", default=DEFAULT_CONFIGS, help=f"comma list of {', '.join(CONFIGS)}")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "pipeline.json"))
    ap.add_argument("--ocr_mode", choices=["live", "cached"], default="live",
                    help="live: every config runs OCR itself (honest, slow on small CPUs). cached: one warm-up "
                         "pass OCRs every page into a cache, every config then reads OCR from it, and pages/s "
                         "becomes an estimate: wall + pages that needed OCR x measured OCR s/page (serial)")
    args = ap.parse_args(argv)

    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in names if c not in CONFIGS]
    if unknown:
        ap.error(f"unknown configs {unknown}; choose from {', '.join(CONFIGS)}")
    workdir = Path(os.path.expanduser(args.workdir)).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    label_file = make_inputs(workdir, args.pages, args.seed)
    log_dir = workdir / "logs"
    log_dir.mkdir(exist_ok=True)

    warm = None
    cache_dir = workdir / f"ocr-cache-{label_file.stem}"
    if args.ocr_mode == "cached":
        warm_argv = ["--input", str(label_file), "--output", str(workdir / "out-ocr-warmup"), "--no_image_stage",
                     "--ocr_cache", str(cache_dir)] + (["--model", args.model] if args.model else []) + extra
        print(f"bench: OCR warm-up: docexit run {' '.join(warm_argv)}", file=sys.stderr)
        warm = run_config("ocr_warmup", warm_argv, log_dir)

    try:
        load_at_start = [round(v, 2) for v in os.getloadavg()]
    except OSError:
        load_at_start = None
    results: dict[str, dict] = {}
    for name in names:
        run_argv = ["--input", str(label_file), "--output", str(workdir / f"out-{name}")] + CONFIGS[name]
        if args.model:
            run_argv += ["--model", args.model]
        if warm is not None:
            run_argv += ["--ocr_cache", str(cache_dir)]
        run_argv += extra
        print(f"bench: {name}: docexit run {' '.join(run_argv)}", file=sys.stderr)
        results[name] = run_config(name, run_argv, log_dir)
        r = results[name]
        if warm is not None:
            # every page that needed OCR read it from the cache: add what live OCR would have cost
            # (serially: this does not assume OCR scales with workers; read parallel speed-ups from live mode)
            ocr_s = (warm.get("ocr_ms_per_page") or 0.0) / 1000.0
            needed = r["results"] - round((r["ocr_skipped_fraction"] or 0.0) * r["results"])
            est_wall = r["wall_s"] + needed * ocr_s
            r["pages_per_s_cached_ocr"] = r["pages_per_s"]
            r["pages_per_s"] = r["pages_in"] / est_wall if est_wall > 0 else None
            r["pages_per_s_is_estimate"] = True
        print(f"bench: {name}: {r['pages_in']} pages in {r['wall_s']}s -> {_fmt(r['pages_per_s'])} pages/s, "
              f"accuracy {_fmt(r['accuracy'], True)}, OCR skipped {_fmt(r['ocr_skipped_fraction'], True)}",
              file=sys.stderr)

    def get(cfg, key):
        return results.get(cfg, {}).get(key)

    cols = [("pages/s", "pages_per_s", False), ("wall s", "wall_s", False), ("accuracy", "accuracy", True),
            ("OCR skipped", "ocr_skipped_fraction", True), ("OCR pages", "ocr_engine_pages", False),
            ("mean layers", "mean_layers_run", False), ("FLOPs saved", "flops_saved", True),
            ("model time saved", "model_time_saved_measured", True), ("model ms/page", "model_ms_per_page", False),
            ("peak RSS MB", "peak_rss_mb", False)]
    header = f"{'config':<14}" + "".join(f"{c[0]:>17}" for c in cols)
    print(header)
    print("-" * len(header))
    for name in names:
        print(f"{name:<14}" + "".join(f"{_fmt(get(name, key), pct):>17}" for _, key, pct in cols))

    peak = max((max(r["peak_rss_mb"], r["peak_rss_children_mb"]) for r in results.values()), default=None)
    ee, two = get("ee", "pages_per_s"), get("ee_2workers", "pages_per_s")
    summary = {
        "pages": args.pages,
        "pages_per_s_ee": ee,
        "pages_per_s_full": get("full", "pages_per_s"),
        "pages_per_s_no_ocr_free": get("no_ocr_free", "pages_per_s"),
        "pages_per_s_ee_2workers": two,
        "speedup_2workers": (two / ee) if ee and two else None,
        "ocr_skipped_fraction": get("ee", "ocr_skipped_fraction"),
        "accuracy_ee": get("ee", "accuracy"),
        "accuracy_full": get("full", "accuracy"),
        "accuracy_no_ocr_free": get("no_ocr_free", "accuracy"),
        "flops_saved_ee": get("ee", "flops_saved"),
        "model_time_saved_ee": get("ee", "model_time_saved_measured"),
        "peak_rss_mb": peak,
        "model_versions": sorted({v for r in results.values() for v in r.get("model_versions", [])}),
        "model": args.model or "shipped",
        "extra_args": extra,
        "load_avg_at_start": load_at_start,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "ocr_mode": args.ocr_mode,
        "ocr_ms_per_page": (warm or {}).get("ocr_ms_per_page") if warm else get("full", "ocr_ms_per_page"),
        "configs": results,
        "note": "pages/s = pages in / wall clock of `docexit run` (model and OCR start-up included); "
                "with ocr_mode=cached, pages/s adds the measured live OCR time of the pages that needed OCR "
                "(serially) to a run that read OCR from a cache; "
                "peak_rss_mb = max over configs of the launcher and of its largest child process",
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
