"""Command-line options of `docexit run`: our flags plus every Beam / Dataflow option.

``DocexitOptions`` is a Beam ``PipelineOptions`` subclass, so one argv holds both: our flags are
parsed here, everything else (``--runner``, ``--project``, ``--region``, ``--temp_location``,
``--setup_file``, ``--dataflow_service_options``, ``--direct_num_workers`` ...) goes to Beam.
"""
from __future__ import annotations

import argparse
import os
from typing import Optional, Sequence

from apache_beam.options.pipeline_options import (DirectOptions, PipelineOptions, SetupOptions,
                                                  StandardOptions, WorkerOptions)

from pipeline.local_runner import is_local_runner_name

DEFAULT_BATCH_SIZE = 16
DEFAULT_IMAGE_BATCH_SIZE = 32


class DocexitOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser):
        g = parser.add_argument_group("docexit")
        g.add_argument("--input", help="input spec: folder, glob, file, label file (path label lines), "
                                       "Parquet with image bytes, tar shard; local, gs://, s3://, memory://")
        g.add_argument("--output", help="output folder; replaced atomically on re-runs")
        g.add_argument("--label_root", default=None, help="root that relative paths in label files resolve against")
        g.add_argument("--model", default=None, help="model folder (local or fsspec URL); default: the shipped model")
        g.add_argument("--policy", default=None,
                       help="exit policy: default (the model's own), full, global:TAU, heuristic, per-exit, "
                            "with ,max_layers=K or ,deadline_ms=MS for anytime budgets")
        g.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
        g.add_argument("--dtype", default="auto", help="auto | float32 | bfloat16 | float16")
        g.add_argument("--no_early_exit", action="store_true", default=False,
                       help="run every page at full depth (also skips the OCR-free stage)")
        g.add_argument("--no_image_stage", action="store_true", default=False,
                       help="skip the OCR-free stage: every page gets OCR and the multimodal pass")
        g.add_argument("--ocr_engine", default="easyocr", help="OCR engine name for docexit.ocr.make_engine")
        g.add_argument("--ocr_cache", default=None, help="OCR cache folder (docexit.ocr.OcrCache); off when unset")
        g.add_argument("--ocr_max_words", type=int, default=None, help="cap on words kept per page by the OCR engine")
        g.add_argument("--ocr_batch_size", type=int, default=4,
                       help="pages per OCR engine call (read_many batches recognition across pages)")
        g.add_argument("--batch_size", "--max_batch_size", dest="batch_size", type=int, default=DEFAULT_BATCH_SIZE,
                       help="largest multimodal batch (RunInference max_batch_size)")
        g.add_argument("--min_batch_size", type=int, default=None,
                       help="smallest multimodal batch (default: half of --batch_size; Beam's BatchElements "
                            "adapts the size between the two)")
        g.add_argument("--image_batch_size", type=int, default=DEFAULT_IMAGE_BATCH_SIZE,
                       help="largest OCR-free stage batch")
        g.add_argument("--max_pixels", type=int, default=None,
                       help="pages above this many pixels become decode errors (default: docexit.images)")
        g.add_argument("--share_model", default="auto", choices=["auto", "yes", "no"],
                       help="one model per machine across SDK processes (RunInference share_model_across_processes); "
                            "auto: only on remote runners with a GPU requested")
        g.add_argument("--calibrate_every", type=int, default=10,
                       help="every Nth multimodal batch is also run at full depth to measure the time saved (0: never)")
        g.add_argument("--num_threads", type=int, default=None,
                       help="torch threads per worker process (default: cores / local workers)")
        g.add_argument("--reshuffle_pages", default="auto", choices=["auto", "yes", "no"],
                       help="reshuffle pages after reading (fan-out of multi-page shards); auto: remote runners only")
        g.add_argument("--progress_every", type=float, default=5.0, help="seconds between progress lines (0: off)")
        g.add_argument("--classifier_factory", default=None, help=argparse.SUPPRESS)  # "module:fn" (tests)
        g.add_argument("--keep_failed_tmp", action="store_true", default=False,
                       help="keep the temporary output folder when the run fails")


def print_help() -> None:
    parser = argparse.ArgumentParser(
        prog="docexit run",
        description="Label document page images with the early-exit classifier, as an Apache Beam pipeline.",
        epilog="Every other argument goes to Apache Beam: --runner (default: the local runner), "
               "--direct_num_workers N --direct_running_mode multi_processing, and for Dataflow "
               "--runner DataflowRunner --project P --region R --temp_location gs://... --setup_file ./setup.py "
               "--dataflow_service_options=worker_accelerator=... ; --dry_run=True builds the job without running "
               "it. See docs/pipeline.md.")
    DocexitOptions._add_argparse_args(parser)
    parser.print_help()


def docexit_option_names() -> set[str]:
    """The option names (argparse dests) DocexitOptions adds."""
    parser = argparse.ArgumentParser(add_help=False)
    DocexitOptions._add_argparse_args(parser)
    return {a.dest for a in parser._actions}


def parse_options(argv: Optional[Sequence[str]] = None) -> PipelineOptions:
    """PipelineOptions for argv; raises SystemExit (argparse style) on missing --input/--output."""
    argv = list(argv or [])
    if "-h" in argv or "--help" in argv:
        print_help()
        raise SystemExit(0)
    options = PipelineOptions(argv)
    d = options.view_as(DocexitOptions)
    missing = [flag for flag, value in (("--input", d.input), ("--output", d.output)) if not value]
    if missing:
        raise SystemExit(f"docexit run: missing {' and '.join(missing)} (see docexit run --help)")
    if d.num_threads is None and is_local(options):
        d.num_threads = default_threads(options)  # decided once: model and OCR get the same value
    if d.min_batch_size is None:
        d.min_batch_size = max(1, d.batch_size // 2)
    if d.batch_size < 1 or d.min_batch_size < 1 or d.min_batch_size > d.batch_size:
        raise SystemExit(f"docexit run: need 1 <= --min_batch_size ({d.min_batch_size}) <= --batch_size ({d.batch_size})")
    if d.image_batch_size < 1:
        raise SystemExit("docexit run: --image_batch_size must be >= 1")
    # local subprocess workers log every bundle at INFO; keep the console readable
    if is_local(options) and "--default_sdk_harness_log_level" not in " ".join(argv):
        options.view_as(WorkerOptions).default_sdk_harness_log_level = "WARNING"
    return options


def is_local(options: PipelineOptions) -> bool:
    return is_local_runner_name(options.view_as(StandardOptions).runner)


def local_workers(options: PipelineOptions) -> int:
    direct = options.view_as(DirectOptions)
    n = direct.direct_num_workers
    if n == 0:
        n = os.cpu_count() or 1
    return max(1, n) if direct.direct_running_mode != "in_memory" else 1


def default_threads(options: PipelineOptions) -> int:
    """torch threads per worker process: --num_threads, else (local runs) the cores this run can
    expect per worker. 0 = leave torch's default (remote runners size their own workers)."""
    d = options.view_as(DocexitOptions)
    if d.num_threads:
        return d.num_threads
    if not is_local(options):
        return 0
    cores = os.cpu_count() or 1
    threads = max(1, cores // local_workers(options))
    # On a machine already busy with other work, more torch threads than free cores make OpenMP
    # threads spin against each other: measured here (2 cores, load ~6), easyocr took 13-20 s/page
    # with 2 threads and 3.8 s/page with 1 (bench/pipeline.py, docs/pipeline.md).
    try:
        busy = os.getloadavg()[0]
    except OSError:
        busy = 0.0
    free = max(1, int(cores - busy + 0.5))
    return max(1, min(threads, free))


def wants_gpu(options: PipelineOptions) -> bool:
    from apache_beam.options.pipeline_options import GoogleCloudOptions

    service = options.view_as(GoogleCloudOptions).dataflow_service_options or []
    if any("worker_accelerator" in s for s in service):
        return True
    hints = options.get_all_options().get("resource_hints") or []
    if any(str(h).startswith("accelerator") for h in hints):
        return True
    return options.view_as(DocexitOptions).device.startswith("cuda")


def share_model(options: PipelineOptions) -> bool:
    choice = options.view_as(DocexitOptions).share_model
    if choice != "auto":
        return choice == "yes"
    return (not is_local(options)) and wants_gpu(options)


def reshuffle_pages(options: PipelineOptions) -> bool:
    choice = options.view_as(DocexitOptions).reshuffle_pages
    if choice != "auto":
        return choice == "yes"
    return not is_local(options)


def default_setup_file() -> Optional[str]:
    """The repo's setup.py (for Dataflow's --setup_file) when running from a checkout."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(here, "setup.py")
    return path if os.path.isfile(path) else None


def fill_remote_defaults(options: PipelineOptions) -> list[str]:
    """For remote runners: point --setup_file at our setup.py when no dependency option was given.

    Returns notes about what was filled in.
    """
    notes = []
    if is_local(options):
        return notes
    setup = options.view_as(SetupOptions)
    if not (setup.setup_file or setup.requirements_file or setup.extra_packages
            or options.get_all_options().get("sdk_container_image")):
        path = default_setup_file()
        if path:
            setup.setup_file = path
            notes.append(f"--setup_file defaulted to {path}")
    return notes
