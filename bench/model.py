"""Model-side benchmark: early exit vs full depth, and fp32 vs bf16, side by side in one run.

    python bench/model.py [--model DIR] [--data CORPUS] [--pages N] [--batch-size B]

Without --data it generates a held-out corpus (seed 2, test split). Prints as its last line a JSON
object (also written to bench/results/model.json) with, per dtype, accuracy / mean layers / model
seconds for full depth and for the model's default policy, and the bf16-vs-fp32 agreement.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="model directory (default: shipped)")
    p.add_argument("--data", help="corpus made by `docexit generate` (default: generate one)")
    p.add_argument("--split", default="test")
    p.add_argument("--pages", type=int, default=320)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--dtypes", default="float32,bfloat16")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "model.json"))
    args = p.parse_args(argv)

    from models.classifier import DocClassifier
    from models.data import load_examples
    from models.evaluate import measure
    from models.policies import ExitPolicy

    data = args.data
    if data is None:
        from docexit.synth import generate_corpus

        data = tempfile.mkdtemp(prefix="docexit-bench-model-")
        generate_corpus(data, per_class=max(1, args.pages // 16), seed=2, split=(0.0, 0.0, 1.0), progress=False)
    result: dict = {"device": None, "batch_size": args.batch_size}
    preds_by_dtype = {}
    for dtype in args.dtypes.split(","):
        clf = DocClassifier.from_pretrained(args.model, device=args.device, dtype=dtype)
        result["device"] = str(clf.device)
        test = load_examples(data, split=args.split, image_size=clf.processor.image_size, limit=args.pages,
                             progress=False)
        labels = clf.labels
        measure(clf.model, clf.processor, clf.policy, test[: args.batch_size], batch_size=args.batch_size,
                early_exit=True, labels_names=labels)  # warm-up
        full = measure(clf.model, clf.processor, ExitPolicy(kind="full"), test, batch_size=args.batch_size,
                       early_exit=False, labels_names=labels)
        ee = measure(clf.model, clf.processor, clf.policy, test, batch_size=args.batch_size, early_exit=True,
                     labels_names=labels)
        result[dtype] = {"full_depth": full, "early_exit": ee,
                         "model_time_saved_fraction": 1 - ee["model_seconds"] / full["model_seconds"],
                         "layers_saved_fraction": 1 - ee["mean_layers_run"] / full["mean_layers_run"]}
        with torch.no_grad():
            preds_by_dtype[dtype] = [p.label for p in clf.classify([e.image for e in test], [e.words for e in test],
                                                                   [e.boxes for e in test], early_exit=False)]
        result["pages"] = len(test)
    names = list(preds_by_dtype)
    if len(names) == 2:
        a, b = preds_by_dtype[names[0]], preds_by_dtype[names[1]]
        result["full_depth_label_agreement"] = sum(x == y for x, y in zip(a, b)) / len(a)
        result[f"{names[1]}_vs_{names[0]}_full_depth_speedup"] = (
            result[names[0]]["full_depth"]["model_seconds"] / result[names[1]]["full_depth"]["model_seconds"])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
