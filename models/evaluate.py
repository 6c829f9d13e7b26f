"""Calibration (`docexit calibrate`) and evaluation (`docexit evaluate`).

calibrate: one full pass over validation pages collects every exit's logits; a temperature per exit is
fitted by NLL; then the policies are computed on validation only (global sweep, per-exit search,
the paper's heuristic) and the chosen one is saved with the model.
evaluate: on a held-out split, replays policies on every exit's answers (accuracy, FLOPs, layers) and
measures real early-exit model time side by side with full depth for the key operating points.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from models.calibration import binary_metrics, classification_metrics, fit_temperature
from models.config import image_layer_of, layer_of
from models.data import Example
from models.flops import full_depth_flops, layer_flops, patch_embed_flops, visual_tokens
from models.multiexit import MultiExitLayoutLMv3
from models.policies import (OCR_COST_FULL_PASSES, ExitPolicy, ExitTable, compute_cost, heuristic_policy,
                             search_per_exit, simulate)
from models.processor import DocProcessor

GLOBAL_SWEEP = (0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99, 0.995, 0.999)


@torch.no_grad()
def collect_outputs(model: MultiExitLayoutLMv3, processor: DocProcessor, examples: Sequence[Example],
                    batch_size: int = 32) -> tuple[dict[str, tuple[torch.Tensor, Optional[torch.Tensor]]], np.ndarray]:
    """Raw (uncalibrated) logits and gate logits of every exit, plus each page's text-token count."""
    model.eval()
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    chunks: dict[str, list] = {}
    tokens: list[int] = []
    for start in range(0, len(examples), batch_size):
        batch = examples[start:start + batch_size]
        enc = {k: v.to(device) for k, v in processor.encode_text([e.words for e in batch],
                                                                 [e.boxes for e in batch]).items()}
        pixels = processor.pixel_values([e.image for e in batch]).to(device, dtype)
        out = model(**enc, pixel_values=pixels)
        for name, (logits, gate) in out.items():
            chunks.setdefault(name, []).append((logits.float().cpu(), None if gate is None else gate.float().cpu()))
        tokens += enc["attention_mask"].sum(1).tolist()
    merged = {}
    for name, parts in chunks.items():
        logits = torch.cat([p[0] for p in parts])
        gate = None if parts[0][1] is None else torch.cat([p[1] for p in parts])
        merged[name] = (logits, gate)
    return merged, np.array(tokens)


def exit_table(model: MultiExitLayoutLMv3, outputs: dict, labels: np.ndarray, text_tokens: np.ndarray) -> ExitTable:
    """Calibrated answers of every exit plus the cost of reaching it, for policy replay."""
    cfg = model.config
    names = model.exit_config.all_exits
    vis = visual_tokens(cfg)
    conf, pred, layers, flops = [], [], [], []
    for name in names:
        logits, gate = outputs[name]
        t = float(model.temperature(name))
        probs = torch.softmax(logits / (1.0 if gate is not None else t), -1)
        conf.append((torch.sigmoid(gate / t) if gate is not None else probs.max(-1).values).numpy())
        pred.append(probs.argmax(-1).numpy())
        depth = image_layer_of(name)
        if depth is not None:
            layers.append(np.full(len(labels), depth))
            flops.append(np.full(len(labels), patch_embed_flops(cfg) + depth * layer_flops(cfg, vis)))
        else:
            depth = model.num_layers if name == "final" else layer_of(name)
            layers.append(np.full(len(labels), depth))
            per_layer = np.array([layer_flops(cfg, int(t) + vis) for t in text_tokens])
            flops.append(patch_embed_flops(cfg) + depth * per_layer)
    full = np.array([full_depth_flops(cfg, int(t)) for t in text_tokens])
    return ExitTable(names, np.stack(conf), np.stack(pred), labels, np.stack(layers), np.stack(flops), full,
                     model.num_layers, image_exits=len(model.exit_config.image_exits))


def per_exit_metrics(model: MultiExitLayoutLMv3, outputs: dict, labels: torch.Tensor) -> dict[str, dict]:
    metrics = {}
    for name in model.exit_config.all_exits:
        logits, gate = outputs[name]
        t = float(model.temperature(name))
        if gate is not None:
            target = logits.argmax(-1).eq(labels).double()
            metrics[name] = binary_metrics(torch.sigmoid(gate / t), target)
        else:
            metrics[name] = classification_metrics(torch.softmax(logits / t, -1), labels)
    return metrics


def calibrate(model: MultiExitLayoutLMv3, processor: DocProcessor, val: Sequence[Example], *,
              policy_kind: str = "per-exit", accuracy_margin: float = 0.003, batch_size: int = 32,
              outputs=None, ocr_cost: float = OCR_COST_FULL_PASSES) -> dict:
    """Fit temperatures, then choose the model's default policy on validation. Returns the report."""
    if outputs is None:
        outputs, tokens = collect_outputs(model, processor, val, batch_size)
    else:
        outputs, tokens = outputs
    labels = torch.tensor([e.label for e in val])
    with torch.no_grad():
        model.temperatures.fill_(1.0)
    before = per_exit_metrics(model, outputs, labels)
    temps = []
    for name in model.exit_config.all_exits:
        logits, gate = outputs[name]
        if gate is not None:
            temps.append(fit_temperature(gate, logits.argmax(-1).eq(labels).double(), binary=True))
        else:
            temps.append(fit_temperature(logits, labels))
    with torch.no_grad():
        model.temperatures.copy_(torch.tensor(temps, dtype=model.temperatures.dtype))
    after = per_exit_metrics(model, outputs, labels)
    table = exit_table(model, outputs, labels.numpy(), tokens)
    full_acc = simulate(ExitPolicy(kind="full"), table)["accuracy"]
    policies = {
        "per-exit": search_per_exit(table, accuracy_floor=full_acc - accuracy_margin, ocr_cost=ocr_cost),
        "heuristic": heuristic_policy({n: after[n] for n in model.exit_config.all_exits}),
    }
    sweep = {tau: simulate(ExitPolicy(kind="global", global_threshold=tau), table) for tau in GLOBAL_SWEEP}
    ok = [tau for tau, r in sweep.items() if r["accuracy"] >= full_acc - accuracy_margin]
    best_tau = min(ok, key=lambda t: compute_cost(sweep[t], ocr_cost)) if ok else max(GLOBAL_SWEEP)
    policies["global"] = ExitPolicy(kind="global", global_threshold=best_tau,
                                    note=f"cheapest global tau on validation within {accuracy_margin:.3f} of full")
    chosen = policies[policy_kind]
    return {
        "temperatures": dict(zip(model.exit_config.all_exits, temps)),
        "metrics_before": before, "metrics_after": after,
        "validation_full_depth_accuracy": full_acc,
        "policies": {k: {"policy": vars(p), "validation": simulate(p, table)} for k, p in policies.items()},
        "chosen_policy": chosen,
    }


@torch.no_grad()
def measure(model: MultiExitLayoutLMv3, processor: DocProcessor, policy: ExitPolicy, examples: Sequence[Example], *,
            batch_size: int, early_exit: bool, labels_names: Sequence[str]) -> dict:
    """Real early-exit run (image stage, then multimodal for pages still undecided), timed end to end."""
    from models.classifier import DocClassifier

    clf = DocClassifier(model, processor, policy, max_batch=batch_size)
    images = [e.image for e in examples]
    t0 = time.perf_counter()
    preds = []
    for start in range(0, len(examples), batch_size):
        batch = examples[start:start + batch_size]
        imgs = images[start:start + batch_size]
        if early_exit and clf.has_image_stage:
            first = clf.classify_image_only(imgs)
            todo = [i for i, p in enumerate(first) if not p.exited]
            second = clf.classify([imgs[i] for i in todo], [batch[i].words for i in todo],
                                  [batch[i].boxes for i in todo], prior=[first[i] for i in todo])
            for i, p in zip(todo, second):
                first[i] = p
            preds += first
        else:
            preds += clf.classify(imgs, [e.words for e in batch], [e.boxes for e in batch], early_exit=early_exit)
    seconds = time.perf_counter() - t0
    correct = [p.label == labels_names[e.label] for p, e in zip(preds, examples)]
    return {
        "accuracy": float(np.mean(correct)),
        "mean_layers_run": float(np.mean([p.layers_run for p in preds])),
        "flops_fraction": float(sum(p.flops for p in preds) / sum(p.flops / p.flops_fraction for p in preds)),
        "model_seconds": seconds,
        "ocr_skipped_fraction": float(np.mean([image_layer_of(p.exit_name) is not None for p in preds])),
        "exit_histogram": {n: sum(p.exit_name == n for p in preds) for n in model.exit_config.all_exits},
    }


def evaluate(model: MultiExitLayoutLMv3, processor: DocProcessor, default_policy: ExitPolicy,
             test: Sequence[Example], out_dir: str | Path, *, batch_size: int = 32) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    labels_names = model.exit_config.labels
    outputs, tokens = collect_outputs(model, processor, test, batch_size)
    labels = np.array([e.label for e in test])
    table = exit_table(model, outputs, labels, tokens)
    rows = []
    candidates = [("full", ExitPolicy(kind="full")), ("default", default_policy)]
    candidates += [(f"global@{t:g}", ExitPolicy(kind="global", global_threshold=t)) for t in GLOBAL_SWEEP]
    for name, policy in candidates:
        r = simulate(policy, table)
        rows.append({"policy": name, **{k: v for k, v in r.items() if k != "exit_histogram"}})
    # Measured model time, side by side in this one run, same batch size: full depth vs default policy.
    measure(model, processor, default_policy, test[: min(len(test), batch_size)], batch_size=batch_size,
            early_exit=True, labels_names=labels_names)  # warm-up
    full = measure(model, processor, ExitPolicy(kind="full"), test, batch_size=batch_size, early_exit=False,
                   labels_names=labels_names)
    default = measure(model, processor, default_policy, test, batch_size=batch_size, early_exit=True,
                      labels_names=labels_names)
    for row in rows:
        if row["policy"] == "full":
            row["model_seconds"] = full["model_seconds"]
        elif row["policy"] == "default":
            row["model_seconds"] = default["model_seconds"]
    full_acc = rows[0]["accuracy"]
    keeps = [r["policy"] for r in rows if r["accuracy"] >= full_acc - 0.005 and r["policy"] != "full"]
    result = {
        "pages": len(test),
        "batch_size": batch_size,
        "policy": vars(default_policy),
        "full_depth": full,
        "default_operating_point": default,
        "layers_saved_fraction": 1 - default["mean_layers_run"] / full["mean_layers_run"],
        "model_time_saved_fraction": 1 - default["model_seconds"] / full["model_seconds"],
        "pareto": rows,
        "operating_points_keeping_full_accuracy": keeps,
        "per_exit_test_metrics": per_exit_metrics(model, outputs, torch.tensor(labels)),
    }
    (out_dir / "evaluation.json").write_text(json.dumps(result, indent=2))
    _write_pareto(rows, out_dir)
    return result


def _write_pareto(rows: list[dict], out_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist([{k: v for k, v in r.items()} for r in rows]), out_dir / "pareto.parquet")
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for r in rows:
        ax[0].scatter(r["flops_fraction"], r["accuracy"])
        ax[0].annotate(r["policy"], (r["flops_fraction"], r["accuracy"]), fontsize=7)
        ax[1].scatter(r["mean_layers_run"], r["accuracy"])
        ax[1].annotate(r["policy"], (r["mean_layers_run"], r["accuracy"]), fontsize=7)
    ax[0].set_xlabel("FLOPs / full depth")
    ax[1].set_xlabel("mean encoder layers run")
    for a in ax:
        a.set_ylabel("accuracy")
        a.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_dir / "pareto.png", dpi=110)
    plt.close(fig)


def format_table(rows: list[dict]) -> str:
    head = f"{'policy':<16}{'accuracy':>10}{'flops':>8}{'layers':>8}{'no-OCR':>8}{'model s':>9}"
    lines = [head, "-" * len(head)]
    for r in rows:
        secs = f"{r['model_seconds']:.2f}" if "model_seconds" in r else "-"
        lines.append(f"{r['policy']:<16}{r['accuracy']:>10.4f}{r['flops_fraction']:>8.3f}"
                     f"{r['mean_layers_run']:>8.2f}{r['ocr_skipped_fraction']:>8.3f}{secs:>9}")
    return "\n".join(lines)
