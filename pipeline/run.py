"""`docexit run`: the batch pipeline.

    read shards -> decode -> OCR-free exit stage -> OCR -> early-exit classifier (RunInference)
                -> results / errors Parquet -> report (Beam combiner) -> atomic swap into OUT

    from pipeline.run import run
    report = run(["--input", "scans/", "--output", "out/"])          # local, offline
    run([... , "--runner", "DataflowRunner", "--project", P, "--region", R,
         "--temp_location", "gs://b/tmp", "--setup_file", "./setup.py"])

Every argument that is not ours (pipeline/options.py) goes to Beam. Without ``--runner`` (or with
``--runner DirectRunner``) the pipeline runs on ``LocalRunner`` (Beam's Python FnApiRunner; Beam
2.77's DirectRunner would first try to download the Prism binary). ``--dry_run=True`` builds the
job without running it (with DataflowRunner: the whole Dataflow job, offline).
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import sys
import time
import uuid
from typing import Optional, Sequence

import apache_beam as beam
from apache_beam.options.pipeline_options import DirectOptions, StandardOptions, TestOptions

from pipeline import outdir
from pipeline.local_runner import LocalRunner
from pipeline.options import (DocexitOptions, default_threads, fill_remote_defaults, is_local, local_workers,
                              parse_options, reshuffle_pages, share_model)
from pipeline.report import RUN_JSON, build_report, read_json, write_bytes, write_report
from transforms.classify import ClassifyPages, ImageStage, ModelSpec
from transforms.decode import DecodePages
from transforms.elements import ERRORS_SCHEMA, ERRORS_TAG, RESULTS_SCHEMA
from transforms.ocr import OcrPages
from transforms.read import ReadPages
from transforms.report import RunStatsFn, WriteStatsFn
from transforms.write import ProgressFn, WriteParquetFiles

log = logging.getLogger("docexit")
STATS_NAME = "_pipeline_stats.json"


def model_spec(options) -> ModelSpec:
    d = options.view_as(DocexitOptions)
    return ModelSpec(path=d.model, device=d.device, dtype=d.dtype, policy=d.policy,
                     num_threads=default_threads(options), factory=d.classifier_factory)


def preflight(options) -> dict:
    """Fail fast on the launcher for what would otherwise fail on every worker: a missing local model.
    Also picks the OCR word cap from the model (words beyond what the model reads are wasted OCR)."""
    d = options.view_as(DocexitOptions)
    found: dict = {}
    if d.classifier_factory or (d.model and "://" in d.model and not d.model.startswith("file://")):
        return found
    from pathlib import Path

    from models.classifier import SHIPPED_MODEL_DIR
    from models.multiexit import WEIGHTS_NAME
    from models.policies import ExitPolicy
    from models.processor import words_budget
    model_dir = Path(d.model[len("file://"):] if d.model and d.model.startswith("file://") else
                     d.model) if d.model else SHIPPED_MODEL_DIR
    if not (model_dir / WEIGHTS_NAME).is_file():
        raise FileNotFoundError(f"no model at {model_dir} (expected {WEIGHTS_NAME}); "
                                f"pass --model DIR or train one with `docexit train`")
    found["model_dir"] = str(model_dir)
    if d.policy:
        ExitPolicy.parse(d.policy, ExitPolicy.load(model_dir))  # ValueError names the problem
    settings = model_dir / "processor.json"
    if d.ocr_max_words is None and settings.is_file():
        try:
            max_text_tokens = int(json.loads(settings.read_text())["max_text_tokens"])
            d.ocr_max_words = max(1, words_budget(max_text_tokens))
            found["ocr_max_words"] = d.ocr_max_words
        except (KeyError, ValueError, TypeError):
            pass
    return found


def build_pipeline(p: beam.Pipeline, options, work_dir: str) -> dict:
    """Compose the named steps on ``p``; everything is written under ``work_dir``."""
    d = options.view_as(DocexitOptions)
    spec = model_spec(options)
    share = share_model(options)
    early_exit = not d.no_early_exit
    threads = default_threads(options)

    records = p | "Read" >> ReadPages(d.input, d.label_root, reshuffle_pages=reshuffle_pages(options),
                                      expand_on_launcher=is_local(options))
    pages_in = records | "CountPagesIn" >> beam.combiners.Count.Globally()

    decoded = records | "Decode" >> DecodePages(d.max_pixels)
    pages = decoded.pages
    errors = [decoded[ERRORS_TAG]]

    result_branches = []   # (step name, PCollection of result rows, file prefix)
    if early_exit and not d.no_image_stage:
        todo, exited, stage_errors = pages | "OcrFreeStage" >> ImageStage(
            spec, batch_size=d.image_batch_size, share_across_processes=share)
        pages = todo
        result_branches.append(("OcrFree", exited, "ocrfree"))
        errors.append(stage_errors)

    ocr = pages | "OCR" >> OcrPages(d.ocr_engine, d.ocr_cache, d.ocr_max_words, threads or None,
                                    batch_size=d.ocr_batch_size)
    errors.append(ocr[ERRORS_TAG])

    classified, classify_errors = ocr.pages | "Classify" >> ClassifyPages(
        spec, early_exit=early_exit, min_batch_size=d.min_batch_size, max_batch_size=d.batch_size,
        calibrate_every=d.calibrate_every, share_across_processes=share)
    result_branches.append(("Classified", classified, "part"))
    errors.extend(classify_errors)

    # Outputs. Result rows are written and summarised per branch, fused with the step that made
    # them (the local FnApiRunner materialises every Flatten, so flattening result rows would hold
    # them all until the end and delay the progress lines). Error rows are few: one Flatten.
    every = d.progress_every if is_local(options) else 0.0
    run_id = uuid.uuid4().hex
    files, partial_stats = [], []
    for name, rows, prefix in result_branches:
        rows = rows | f"Progress{name}" >> beam.ParDo(ProgressFn(every, "r", run_id))
        files.append(rows | f"Write{name}" >> WriteParquetFiles(f"{work_dir}/results", RESULTS_SCHEMA, prefix))
        partial_stats.append(rows | f"Stats{name}" >> beam.CombineGlobally(RunStatsFn("r")))
    errors = [e | f"ProgressErrors{i}" >> beam.ParDo(ProgressFn(every, "e", run_id)) for i, e in enumerate(errors)]
    all_errors = errors | "AllErrors" >> beam.Flatten()
    files.append(all_errors | "WriteErrors" >> WriteParquetFiles(f"{work_dir}/errors", ERRORS_SCHEMA))
    partial_stats.append(all_errors | "StatsErrors" >> beam.CombineGlobally(RunStatsFn("e")))

    all_files = files | "AllFiles" >> beam.Flatten()
    stats_file = (
        p
        | "StatsTrigger" >> beam.Create([None])
        | "WriteStats" >> beam.ParDo(WriteStatsFn(f"{work_dir}/{STATS_NAME}"), beam.pvalue.AsSingleton(pages_in),
                                     beam.pvalue.AsList(all_files),
                                     *[beam.pvalue.AsSingleton(s) for s in partial_stats])
    )
    return {"records": records, "results": [b[1] for b in result_branches], "errors": all_errors,
            "stats_file": stats_file}


def _counters(result) -> dict:
    try:
        from apache_beam.metrics.metric import MetricsFilter

        got = result.metrics().query(MetricsFilter().with_namespace("docexit"))
        out: dict = {}
        for c in got.get("counters", []):
            out[c.key.metric.name] = out.get(c.key.metric.name, 0) + int(c.committed or c.attempted or 0)
        return dict(sorted(out.items()))
    except Exception:
        return {}


def _runner_name(options) -> str:
    name = options.view_as(StandardOptions).runner
    if is_local(options):
        direct = options.view_as(DirectOptions)
        return f"LocalRunner(FnApiRunner, {direct.direct_running_mode}, workers={local_workers(options)})"
    return str(name)


def run(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the pipeline; returns the report (a dict). Raises on a failed run (OUT left untouched)."""
    options = parse_options(argv)
    d = options.view_as(DocexitOptions)
    for note in fill_remote_defaults(options):
        log.info("docexit: %s", note)
    preflight(options)
    out = outdir.normalise(d.output)
    dry_run = bool(options.view_as(TestOptions).dry_run)
    work = outdir.temp_sibling(out) if dry_run else outdir.prepare_temp(out)
    runner = LocalRunner() if is_local(options) else None

    started = time.time()
    try:
        p = beam.Pipeline(runner=runner, options=options)
        build_pipeline(p, options, work)
        if dry_run and runner is not None:
            # local runners know no dry run: build the portable graph and stop there
            proto = p.to_runner_api()
            return {"dry_run": True, "runner": _runner_name(options), "output": out,
                    "transforms": len(proto.components.transforms)}
        result = p.run()
        if dry_run:
            return {"dry_run": True, "runner": _runner_name(options), "output": out,
                    "state": str(getattr(result, "state", None)), "job": getattr(result, "job", None)}
        state = result.wait_until_finish()
        if state is not None and str(state).upper().endswith(("FAILED", "CANCELLED")):
            raise RuntimeError(f"pipeline finished in state {state}")
    except BaseException:
        if not dry_run and not d.keep_failed_tmp:
            outdir.discard(work)
        raise
    wall = time.time() - started

    stats_url = f"{work}/{STATS_NAME}"
    doc = read_json(stats_url)
    if doc is None:
        outdir.discard(work)
        raise RuntimeError(f"the pipeline finished but wrote no statistics ({stats_url})")
    from fsspec.core import url_to_fs
    fs, sp = url_to_fs(stats_url)
    fs.rm(sp)

    pages_in = doc["pages_in"]
    run_info = {
        "runner": _runner_name(options),
        "input": d.input,
        "output": out,
        "model": d.model or "shipped",
        "policy_requested": d.policy,
        "early_exit": not d.no_early_exit,
        "image_stage": not (d.no_early_exit or d.no_image_stage),
        "ocr_engine": d.ocr_engine,
        "ocr_cache": d.ocr_cache,
        "ocr_max_words": d.ocr_max_words,
        "num_threads": d.num_threads,
        "batch_size": d.batch_size,
        "min_batch_size": d.min_batch_size,
        "started_at": _dt.datetime.fromtimestamp(started, _dt.timezone.utc).isoformat(),
        "wall_s": wall,
        "pages_per_s": pages_in / wall if wall > 0 else None,
        "counters": _counters(result),
        "argv": list(argv or []),
    }
    report = build_report(doc["stats"], pages_in=pages_in, run=run_info)
    write_report(work, report)
    write_bytes(f"{work}/{RUN_JSON}", json.dumps(report["run"], indent=2).encode())
    outdir.commit(work, out)
    _print_summary(report, out)
    return report


def _print_summary(report: dict, out: str) -> None:
    r, run_info = report, report.get("run", {})
    ee = r["compute"]["flops_saved_fraction"]
    msg = (f"docexit: {r['pages_in']} pages in, {r['results']} classified, {r['errors']} errors "
           f"in {run_info.get('wall_s', 0):.1f}s ({run_info.get('pages_per_s') or 0:.2f} pages/s); "
           f"OCR skipped on {r['ocr']['skipped']}; FLOPs saved "
           f"{'n/a' if ee is None else f'{100 * ee:.1f}%'}\n"
           f"docexit: results in {out}/results/*.parquet, errors in {out}/errors/*.parquet, "
           f"report in {out}/report.md")
    print(msg, file=sys.stderr)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Console entry: exit status 0 when the run finished (pages may still have errors)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        run(list(argv) if argv is not None else sys.argv[1:])
    except SystemExit:
        raise
    except Exception as exc:
        print(f"docexit run failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
