"""Temperature scaling per exit, and the calibration metrics reported before and after it.

ECE uses equal-mass bins (each bin holds the same number of pages), which is less noisy than equal-width
bins when confidences pile up near 1, as they do for a well-trained exit.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def fit_temperature(logits: torch.Tensor, targets: torch.Tensor, *, binary: bool = False, steps: int = 200) -> float:
    """Temperature T > 0 minimising the NLL of logits / T on (validation) targets."""
    logits = logits.detach().double()
    targets = targets.detach()
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=steps, line_search_fn="strong_wolfe")

    def nll() -> torch.Tensor:
        opt.zero_grad()
        scaled = logits / log_t.exp()
        loss = (F.binary_cross_entropy_with_logits(scaled, targets.double()) if binary
                else F.cross_entropy(scaled, targets))
        loss.backward()
        return loss

    opt.step(nll)
    return float(log_t.detach().exp().clamp(0.05, 20.0))


def ece_equal_mass(confidence: torch.Tensor, correct: torch.Tensor, bins: int = 15) -> float:
    n = confidence.numel()
    if n == 0:
        return 0.0
    order = torch.argsort(confidence)
    conf, corr = confidence[order].double(), correct[order].double()
    total = 0.0
    for chunk_conf, chunk_corr in zip(torch.tensor_split(conf, min(bins, n)), torch.tensor_split(corr, min(bins, n))):
        if chunk_conf.numel():
            total += chunk_conf.numel() / n * abs(float(chunk_conf.mean() - chunk_corr.mean()))
    return total


def classification_metrics(probs: torch.Tensor, targets: torch.Tensor) -> dict:
    """accuracy, NLL, Brier and equal-mass ECE of class probabilities."""
    conf, pred = probs.max(-1)
    correct = pred.eq(targets)
    onehot = F.one_hot(targets, probs.shape[-1]).to(probs.dtype)
    return {
        "accuracy": float(correct.double().mean()),
        "nll": float(-probs.gather(1, targets[:, None]).clamp_min(1e-12).log().mean()),
        "brier": float(((probs - onehot) ** 2).sum(-1).mean()),
        "ece": ece_equal_mass(conf, correct),
        "mean_confidence": float(conf.double().mean()),
    }


def binary_metrics(prob: torch.Tensor, target: torch.Tensor) -> dict:
    """The same metrics for a gate: prob = P(final head right here), target in {0, 1}."""
    target = target.double()
    prob = prob.double().clamp(1e-12, 1 - 1e-12)
    pred = prob > 0.5
    conf = torch.where(pred, prob, 1 - prob)
    correct = pred.eq(target.bool())
    return {
        "accuracy": float(correct.double().mean()),
        "nll": float(-(target * prob.log() + (1 - target) * (1 - prob).log()).mean()),
        "brier": float(((prob - target) ** 2).mean()),
        "ece": ece_equal_mass(conf, correct),
        "mean_confidence": float(conf.mean()),
    }
