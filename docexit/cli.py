"""`docexit` command line: one subcommand per job, each with --help.

    docexit generate   make a synthetic labelled corpus (16 RVL-CDIP classes)
    docexit run        the Beam pipeline: pages -> OCR-free exits -> OCR -> early-exit model -> Parquet
    docexit demo       generate a small corpus if absent and run the pipeline on it with the shipped model
    docexit report     rebuild OUT/report.json|md from OUT's Parquet through DuckDB
    docexit train      train a multi-exit LayoutLMv3
    docexit calibrate  fit per-exit temperatures and choose the exit policy on validation
    docexit evaluate   Pareto table of policies on a held-out split, measured side by side
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

COMMANDS = {
    "generate": "make a synthetic labelled corpus of document page images",
    "run": "run the batch pipeline (Beam) from image shards to Parquet results and a report",
    "demo": "generate a small corpus if absent, run the pipeline on it with the shipped model",
    "report": "rebuild the compute-saving report from an output folder's Parquet (DuckDB)",
    "train": "train a multi-exit LayoutLMv3 (losses: uniform, weighted, entropyreg, weighted-entropyreg)",
    "calibrate": "fit per-exit temperatures and choose the exit policy on validation pages",
    "evaluate": "sweep exit policies on a held-out split; write evaluation.json, Pareto table and charts",
}


def _split(text: str) -> tuple[float, float, float]:
    parts = [float(p) for p in text.replace("/", ",").split(",")]
    if len(parts) != 3 or any(p < 0 for p in parts) or abs(sum(parts) - 1.0) > 1e-6:
        raise argparse.ArgumentTypeError(f"--split wants three non-negative fractions summing to 1, got {text!r}")
    return parts[0], parts[1], parts[2]


def generate_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="docexit generate", description=COMMANDS["generate"])
    p.add_argument("--out", required=True, help="output folder (images/, labels/, truth.parquet, manifest.json)")
    p.add_argument("--per-class", type=int, default=20, help="pages per class (16 classes)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", type=_split, default=(0.7, 0.15, 0.15), help="train/val/test fractions, e.g. 0.7/0.15/0.15")
    p.add_argument("--workers", type=int, help="processes (default: all cores)")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if args.per_class < 1:
        p.error("--per-class must be at least 1")
    from docexit.synth import generate_corpus

    summary = generate_corpus(args.out, per_class=args.per_class, seed=args.seed, split=args.split,
                              workers=args.workers, progress=not args.quiet)
    print(f"wrote {summary['pages']} pages to {summary['out_dir']} in {summary['seconds']:.1f} s")
    return 0


def _add_word_options(p: argparse.ArgumentParser, both: bool = False) -> None:
    p.add_argument("--words", choices=["truth", "ocr", "both"] if both else ["truth", "ocr"], default="truth",
                   help="truth: a generated corpus's own words (in OCR reading order); ocr: real OCR of every page"
                        + ("; both: every page twice, with each, so one policy holds for clean and OCR words"
                           if both else ""))
    p.add_argument("--ocr-cache", help="OCR cache folder (shared with `docexit run --ocr_cache`)")
    p.add_argument("--ocr-engine", default="easyocr", help="OCR engine for --words ocr (easyocr, tesseract, ...)")


def _load(args, spec: str, processor, **kw):
    from models.data import load_examples

    sources = ["truth", "ocr"] if args.words == "both" else [args.words]
    return [e for words in sources
            for e in load_examples(spec, split=args.split, image_size=processor.image_size, words=words,
                                   ocr_engine=args.ocr_engine, ocr_cache=args.ocr_cache,
                                   max_words=processor.max_words, **kw)]


def _model_dir(p: argparse.ArgumentParser, path: str | None) -> Path:
    from models.classifier import SHIPPED_MODEL_DIR

    model_dir = Path(path) if path else SHIPPED_MODEL_DIR
    if not (model_dir / "model.safetensors").is_file():
        p.error(f"no model at {model_dir} (expected model.safetensors)")
    return model_dir


def _data(p: argparse.ArgumentParser, spec: str) -> str:
    if "://" not in spec and not any(c in spec for c in "*?[") and not Path(spec).exists():
        p.error(f"--data: no such file or folder: {spec}")
    return spec


def calibrate_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="docexit calibrate", description=COMMANDS["calibrate"])
    p.add_argument("--model", help="model directory (default: the shipped model)")
    p.add_argument("--data", required=True, help="validation pages: a generated corpus (its val split) or any reader input")
    p.add_argument("--split", default="val")
    p.add_argument("--policy", choices=["per-exit", "global", "heuristic"], default="per-exit")
    p.add_argument("--accuracy-margin", type=float, default=0.003,
                   help="accuracy the policy may give up against full depth, on validation")
    p.add_argument("--ocr-cost", type=float, default=None,
                   help="what a page's OCR costs in full-depth model passes, when the policy weighs skipping "
                        "OCR (default: models.policies.OCR_COST_FULL_PASSES)")
    _add_word_options(p, both=True)
    p.add_argument("--keep-exits", help="comma list: keep only these exits (drop the other heads) before calibrating")
    p.add_argument("--out", help="write the calibrated model here (default: update --model in place)")
    p.add_argument("--batch-size", type=int, default=32)
    args = p.parse_args(argv)
    model_dir, spec = _model_dir(p, args.model), _data(p, args.data)
    import json
    import shutil

    import torch

    from models.evaluate import calibrate
    from models.multiexit import MultiExitLayoutLMv3
    from models.policies import OCR_COST_FULL_PASSES
    from models.processor import DocProcessor

    model = MultiExitLayoutLMv3.from_pretrained(model_dir)
    processor = DocProcessor.from_pretrained(model_dir)
    if args.keep_exits:
        from dataclasses import replace

        keep = [e.strip() for e in args.keep_exits.split(",") if e.strip()]
        unknown = sorted(set(keep) - set(model.exit_config.exits))
        if unknown:
            p.error(f"--keep-exits: the model has no exits {unknown} (it has {model.exit_config.exits})")
        model = model.with_exits(replace(model.exit_config, exits=keep)).eval()
    val = _load(args, spec, processor)
    if not val:
        p.error(f"no labelled pages in {spec} (split {args.split})")
    report = calibrate(model, processor, val, policy_kind=args.policy, accuracy_margin=args.accuracy_margin,
                       batch_size=args.batch_size,
                       ocr_cost=OCR_COST_FULL_PASSES if args.ocr_cost is None else args.ocr_cost)
    report["words"] = args.words
    policy = report.pop("chosen_policy")
    out = Path(args.out) if args.out else model_dir
    if out != model_dir:
        shutil.copytree(model_dir, out, dirs_exist_ok=True)
    model.save_pretrained(out, dtype=torch.float16 if _stored_fp16(model_dir) else None)
    policy.save(out)
    (out / "calibration.json").write_text(json.dumps(report, indent=2, default=str))
    print(f"calibrated {len(report['temperatures'])} exits on {len(val)} pages; policy {policy.name} -> {out}")
    for name, m in report["metrics_after"].items():
        b = report["metrics_before"][name]
        print(f"  {name:<10} T={report['temperatures'][name]:.2f}  acc {m['accuracy']:.3f}  "
              f"ECE {b['ece']:.3f}->{m['ece']:.3f}  NLL {b['nll']:.3f}->{m['nll']:.3f}")
    return 0


def _stored_fp16(model_dir: Path) -> bool:
    from safetensors import safe_open

    with safe_open(str(model_dir / "model.safetensors"), "pt") as f:
        key = next(iter(f.keys()))
        return str(f.get_slice(key).get_dtype()) in ("F16", "float16")


def evaluate_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="docexit evaluate", description=COMMANDS["evaluate"])
    p.add_argument("--model", help="model directory (default: the shipped model)")
    p.add_argument("--data", required=True, help="held-out pages: a generated corpus (its test split) or any reader input")
    p.add_argument("--split", default="test")
    p.add_argument("--out", required=True, help="folder for evaluation.json, pareto.parquet, pareto.png")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--policy", default="default", help="operating point: default, global:TAU, full, ...")
    p.add_argument("--device", default="auto")
    p.add_argument("--dtype", default="auto")
    p.add_argument("--limit", type=int)
    _add_word_options(p)
    args = p.parse_args(argv)
    model_dir, spec = _model_dir(p, args.model), _data(p, args.data)
    from models.classifier import DocClassifier
    from models.evaluate import evaluate, format_table

    clf = DocClassifier.from_pretrained(model_dir, device=args.device, dtype=args.dtype, policy=args.policy)
    test = _load(args, spec, clf.processor, limit=args.limit)
    if not test:
        p.error(f"no labelled pages in {spec} (split {args.split})")
    result = evaluate(clf.model, clf.processor, clf.policy, test, args.out, batch_size=args.batch_size)
    print(format_table(result["pareto"]))
    full, op = result["full_depth"], result["default_operating_point"]
    print(f"\n{len(test)} pages. full depth: accuracy {full['accuracy']:.4f}, {full['mean_layers_run']:.2f} layers, "
          f"{full['model_seconds']:.2f} s")
    print(f"default ({clf.policy.name}): accuracy {op['accuracy']:.4f}, {op['mean_layers_run']:.2f} layers "
          f"({result['layers_saved_fraction']:.1%} fewer), {op['model_seconds']:.2f} s "
          f"({result['model_time_saved_fraction']:.1%} less), OCR skipped for {op['ocr_skipped_fraction']:.1%}")
    print(f"wrote {Path(args.out) / 'evaluation.json'}")
    return 0


def _delegate(module: str, function: str):
    def run(argv: list[str]) -> int:
        import importlib

        result = getattr(importlib.import_module(module), function)(argv)
        return result if isinstance(result, int) else 0

    return run


HANDLERS = {
    "generate": generate_main,
    "run": _delegate("pipeline.run", "main"),
    "demo": _delegate("pipeline.demo", "main"),
    "report": _delegate("pipeline.report", "main"),
    "train": _delegate("models.train", "main"),
    "calibrate": calibrate_main,
    "evaluate": evaluate_main,
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__.strip())
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        from docexit import __version__

        print(__version__)
        return 0
    command, rest = argv[0], argv[1:]
    if command not in HANDLERS:
        print(f"docexit: error: unknown command {command!r} (one of: {', '.join(HANDLERS)})", file=sys.stderr)
        return 2
    try:
        return HANDLERS[command](rest)
    except (FileNotFoundError, ValueError) as err:  # bad paths or arguments found past argparse
        print(f"docexit {command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
