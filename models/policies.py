"""Exit policies: where each page leaves.

A page meets the exits in order (image stage first, then multimodal, "final" last) and leaves at the
first exit whose calibrated confidence is above that exit's threshold tau_j:
  global     one tau for every exit (the paper's max-softmax global threshold)
  per-exit   one tau per exit, searched on validation only: the cheapest setting that keeps an accuracy
             floor, or the most accurate one within a compute budget
  heuristic  the paper's: m_j = 1 - acc_j / ECE_j on validation, tau_j = min-max scaling of m padded by
             epsilon, so tau_j lies strictly inside (0, 1)
Anytime budgets ride on any policy: `max_layers` (multimodal depth cap) or `deadline_ms` (per batch); a
page still running then takes its most confident prediction so far.

`ExitTable` holds every exit's answer for a set of pages (from one full pass); `simulate` replays a
policy on it. That is how thresholds are searched; the real early exit in models/inference.py never
runs exits it does not need.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

POLICY_NAME = "policy.json"
NEVER = 1.01  # a threshold no confidence reaches: the exit is off
THRESHOLD_GRID = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999, NEVER)


@dataclass
class ExitPolicy:
    kind: str = "global"                      # global | per-exit | heuristic | full
    thresholds: dict[str, float] = field(default_factory=dict)
    global_threshold: float = 0.9
    max_layers: Optional[int] = None          # anytime: multimodal encoder layers at most
    deadline_ms: Optional[float] = None       # anytime: wall-time budget per batch and stage
    note: str = ""                            # how it was chosen

    def threshold(self, exit_name: str) -> float:
        if self.kind == "full":
            return NEVER
        if self.kind == "global":
            return self.global_threshold
        return self.thresholds.get(exit_name, NEVER)

    @property
    def name(self) -> str:
        if self.kind == "global":
            return f"global@{self.global_threshold:g}"
        return self.kind

    def save(self, directory: str | Path) -> None:
        Path(directory, POLICY_NAME).write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, directory: str | Path) -> "ExitPolicy":
        path = Path(directory, POLICY_NAME)
        return cls(**json.loads(path.read_text())) if path.is_file() else cls()

    @classmethod
    def parse(cls, spec: str, default: "ExitPolicy") -> "ExitPolicy":
        """CLI form: 'default' (the model's own), 'full', 'global:0.95', 'heuristic', 'per-exit',
        optionally followed by ',max_layers=4' or ',deadline_ms=50'."""
        head, *extras = [s.strip() for s in spec.split(",") if s.strip()] or ["default"]
        if head == "default":
            policy = ExitPolicy(**asdict(default))
        elif head == "full":
            policy = ExitPolicy(kind="full")
        elif head.startswith("global"):
            tau = float(head.split(":", 1)[1]) if ":" in head else default.global_threshold
            policy = ExitPolicy(kind="global", global_threshold=tau)
        elif head in ("per-exit", "heuristic"):
            if default.kind != head:
                raise ValueError(f"policy {head!r}: this model ships a {default.kind!r} policy; "
                                 f"run `docexit calibrate --policy {head}` to make one")
            policy = ExitPolicy(**asdict(default))
        else:
            raise ValueError(f"unknown policy {spec!r}: use default, full, global:TAU, per-exit, heuristic")
        for extra in extras:
            key, _, value = extra.partition("=")
            if key == "max_layers":
                policy.max_layers = int(value)
            elif key == "deadline_ms":
                policy.deadline_ms = float(value)
            else:
                raise ValueError(f"unknown policy option {extra!r} (max_layers=N or deadline_ms=MS)")
        return policy


@dataclass
class ExitTable:
    """Every exit's calibrated answer for N pages, in exit order ("final" last)."""

    names: list[str]
    confidence: np.ndarray     # (E, N) max-softmax (ramps) or gate probability (gates)
    pred: np.ndarray           # (E, N) predicted class index
    labels: np.ndarray         # (N,)
    layers: np.ndarray         # (E, N) encoder layers run to reach the exit within its own stage
    flops: np.ndarray          # (E, N) FLOPs spent to reach the exit within its own stage
    full_flops: np.ndarray     # (N,) one full-depth multimodal pass
    layers_total: int
    image_exits: int = 0       # how many of the first exits are image-stage exits

    def subset(self, rows: np.ndarray) -> "ExitTable":
        return ExitTable(self.names, self.confidence[:, rows], self.pred[:, rows], self.labels[rows],
                         self.layers[:, rows], self.flops[:, rows], self.full_flops[rows], self.layers_total,
                         self.image_exits)


def exit_choice(policy: ExitPolicy, table: ExitTable) -> np.ndarray:
    """Index of the exit each page takes under the policy (the last exit when none fires)."""
    taus = np.array([policy.threshold(n) for n in table.names[:-1]] + [-1.0])[:, None]
    fires = table.confidence > taus
    return fires.argmax(0)  # first True; "final" always fires


def simulate(policy: ExitPolicy, table: ExitTable) -> dict:
    choice = exit_choice(policy, table)
    cols = np.arange(table.labels.shape[0])
    pred = table.pred[choice, cols]
    layers = table.layers[choice, cols].astype(float)
    flops = table.flops[choice, cols].astype(float)
    # Pages that go on to OCR have paid for the image stage up to its deepest enabled exit.
    enabled = [i for i in range(table.image_exits) if policy.threshold(table.names[i]) < NEVER]
    if enabled:
        went_on = choice >= table.image_exits
        layers[went_on] += table.layers[max(enabled), went_on]
        flops[went_on] += table.flops[max(enabled), went_on]
    return {
        "accuracy": float((pred == table.labels).mean()),
        "mean_layers_run": float(layers.mean()),
        "flops_fraction": float(flops.sum() / table.full_flops.sum()),
        "ocr_skipped_fraction": float((choice < table.image_exits).mean()),
        "exit_histogram": {n: int((choice == i).sum()) for i, n in enumerate(table.names)},
    }


# What one page's OCR costs, in full-depth model passes, when a policy weighs skipping OCR against
# model FLOPs. Measured here (CPU): easyocr 2.6 s/page against 21 ms/page of full-depth model time in
# the pipeline benchmark (about 120 passes), 5.2 ms/page in batched model-only runs (about 500-700).
# 100 keeps the order of magnitude: a page the image stage can settle at the accuracy floor is worth
# far more than layers saved later.
OCR_COST_FULL_PASSES = 100.0


def compute_cost(result: dict, ocr_cost: float = OCR_COST_FULL_PASSES) -> float:
    """Mean cost per page of a simulate() result, in full-depth passes: model FLOPs plus OCR paid."""
    return result["flops_fraction"] + ocr_cost * (1.0 - result["ocr_skipped_fraction"])


def heuristic_policy(per_exit_metrics: dict[str, dict], epsilon: float = 0.01) -> ExitPolicy:
    """The paper's accuracy-calibration heuristic, from validation metrics {exit: {accuracy, ece}}."""
    names = list(per_exit_metrics)
    m = np.array([1.0 - per_exit_metrics[n]["accuracy"] / max(per_exit_metrics[n]["ece"], 1e-6) for n in names])
    lo, hi = m.min() - epsilon, m.max() + epsilon
    taus = (m - lo) / (hi - lo)
    return ExitPolicy(kind="heuristic", thresholds={n: float(t) for n, t in zip(names, taus)},
                      note=f"paper heuristic, epsilon={epsilon}, computed on validation")


def search_per_exit(table: ExitTable, *, accuracy_floor: Optional[float] = None,
                    flops_budget: Optional[float] = None, sweeps: int = 3,
                    ocr_cost: float = OCR_COST_FULL_PASSES) -> ExitPolicy:
    """Coordinate search over a threshold grid, on validation pages only.

    accuracy_floor: cheapest thresholds whose accuracy stays >= the floor; cost = model FLOPs plus
                    `ocr_cost` full passes for every page that needs OCR (see compute_cost).
    flops_budget:   most accurate thresholds whose flops_fraction stays <= the budget.
    """
    if (accuracy_floor is None) == (flops_budget is None):
        raise ValueError("give exactly one of accuracy_floor or flops_budget")
    names = table.names[:-1]
    current = {n: NEVER for n in names}

    def score(thresholds: dict) -> tuple[bool, float]:
        """(constraint met, objective); while the constraint is unmet the objective is -violation."""
        r = simulate(ExitPolicy(kind="per-exit", thresholds=thresholds), table)
        if accuracy_floor is not None:
            violation = accuracy_floor - r["accuracy"]
            objective = -compute_cost(r, ocr_cost) + 1e-3 * r["accuracy"]
        else:
            violation = r["flops_fraction"] - flops_budget
            objective = r["accuracy"] - 1e-3 * r["flops_fraction"]
        return (True, objective) if violation <= 1e-12 else (False, -violation)

    best = score(current)
    for _ in range(sweeps):
        improved = False
        for name in names:
            for tau in THRESHOLD_GRID:
                trial = dict(current, **{name: tau})
                candidate = score(trial)
                if candidate[0] > best[0] or (candidate[0] == best[0] and candidate[1] > best[1] + 1e-12):
                    current, best, improved = trial, candidate, True
        if not improved:
            break
    goal = f"accuracy >= {accuracy_floor:.4f}" if accuracy_floor is not None else f"flops <= {flops_budget:.3f}"
    return ExitPolicy(kind="per-exit", thresholds=current, note=f"per-exit search on validation for {goal}")
