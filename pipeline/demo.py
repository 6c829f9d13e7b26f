"""`docexit demo`: a small synthetic corpus through the whole pipeline, with real OCR and the shipped model.

    docexit demo                         # 2 pages per class into ~/.cache/docexit/demo
    docexit demo --workdir /tmp/d --per_class 3 -- --direct_num_workers 2 --direct_running_mode multi_processing

The corpus is generated once (reused when present); OCR results are cached in the workdir, so a
second demo run skips OCR for pages already read. Arguments after ``--`` go to `docexit run`.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

DEFAULT_WORKDIR = os.path.join("~", ".cache", "docexit", "demo")


def ensure_corpus(corpus: str, per_class: int, seed: int) -> str:
    """Generate the corpus unless it is already there; returns its label file (all pages)."""
    labels = os.path.join(corpus, "labels", "all.txt")
    manifest = os.path.join(corpus, "manifest.json")
    if os.path.isfile(labels) and os.path.isfile(manifest):
        import json

        meta = json.load(open(manifest))
        if meta.get("per_class") == per_class and meta.get("seed") == seed:
            print(f"docexit demo: using the corpus in {corpus}", file=sys.stderr)
            return labels
    from docexit.synth import generate_corpus

    print(f"docexit demo: generating {per_class} pages per class into {corpus} ...", file=sys.stderr)
    summary = generate_corpus(corpus, per_class=per_class, seed=seed)
    print(f"docexit demo: {summary['pages']} pages in {summary['seconds']:.1f}s", file=sys.stderr)
    return labels


def duckdb_hint(out: str) -> str:
    query = ("SELECT exit_name, count(*) AS pages, round(avg(layers_run), 2) AS layers, "
             "round(avg((label = label_gold)::INT), 3) AS accuracy "
             f"FROM read_parquet('{out}/results/*.parquet') GROUP BY exit_name ORDER BY min(exit_index)")
    return f'python -c "import duckdb; duckdb.sql(\\"{query}\\").show()"'


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(prog="docexit demo", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default=DEFAULT_WORKDIR, help="where the corpus, OCR cache and output go")
    ap.add_argument("--per_class", type=int, default=2, help="pages per class to generate (16 classes)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    ap.add_argument("--no_ocr_cache", action="store_true", help="always run OCR")
    args, unknown = ap.parse_known_args(argv)
    extra = unknown + extra

    workdir = os.path.abspath(os.path.expanduser(args.workdir))
    os.makedirs(workdir, exist_ok=True)
    labels = ensure_corpus(os.path.join(workdir, "corpus"), args.per_class, args.seed)
    out = os.path.join(workdir, "out")
    run_args = ["--input", labels, "--output", out]
    if args.model:
        run_args += ["--model", args.model]
    if not args.no_ocr_cache:
        run_args += ["--ocr_cache", os.path.join(workdir, "ocr_cache")]
    run_args += extra

    from pipeline.report import render_markdown
    from pipeline.run import run

    print(f"docexit demo: docexit run {' '.join(run_args)}", file=sys.stderr)
    try:
        report = run(run_args)
    except FileNotFoundError as exc:
        print(f"docexit demo: {exc}", file=sys.stderr)
        return 1
    print(render_markdown(report, out))
    print(f"Results (Parquet): {out}/results/*.parquet")
    print(f"Errors  (Parquet): {out}/errors/*.parquet")
    print(f"Report:            {out}/report.md, {out}/report.json, charts {out}/*.png")
    print(f"Recompute the report from the Parquet: docexit report {out}")
    print("Try a query:")
    print(f"  {duckdb_hint(out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
