"""Multi-exit training losses (the paper's four strategies).

    L = sum_j (gamma / E) * w_j * L_j + (1 - gamma) * L_final

  uniform              w_j = 1
  weighted             w_j proportional to 1 / P_j (P_j = parameters needed to reach exit j), normalised
  entropyreg           after backward, each exit head's gradients (the final head's too) are scaled by
                       1 - n_j with n = (E + 1) * softmax(mean entropy of each exit on the batch), n clipped
                       at 1; backbone gradients are left untouched
  weighted-entropyreg  both
Ramps train with cross-entropy on the labels; gates with BCE on whether the final head, read at the gate's
place, is right.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from models.multiexit import MultiExitLayoutLMv3


def exit_weights(model: MultiExitLayoutLMv3) -> dict[str, float]:
    names = model.exit_config.exits
    if "weighted" not in model.exit_config.strategy:
        return {n: 1.0 for n in names}
    inverse = {n: 1.0 / model.params_to_reach(n) for n in names}
    total = sum(inverse.values()) or 1.0
    return {n: v / total for n, v in inverse.items()}


def multi_exit_loss(model: MultiExitLayoutLMv3, outputs: dict[str, tuple], labels: torch.Tensor,
                    weights: dict[str, float]) -> tuple[torch.Tensor, dict[str, float]]:
    cfg = model.exit_config
    final_loss = F.cross_entropy(outputs["final"][0].float(), labels)
    parts = {"final": float(final_loss.detach())}
    exits = [n for n in cfg.exits if n in outputs]
    total = (1.0 - cfg.gamma) * final_loss if exits else final_loss
    for name in exits:
        logits, gate = outputs[name]
        if gate is not None:
            target = logits.detach().argmax(-1).eq(labels).float()
            loss = F.binary_cross_entropy_with_logits(gate.float(), target)
        else:
            loss = F.cross_entropy(logits.float(), labels)
        parts[name] = float(loss.detach())
        total = total + (cfg.gamma / len(exits)) * weights[name] * loss
    return total, parts


def _entropy(logits: torch.Tensor) -> torch.Tensor:
    logp = F.log_softmax(logits.float(), dim=-1)
    return -(logp.exp() * logp).sum(-1).mean()


@torch.no_grad()
def entropy_regularise_gradients(model: MultiExitLayoutLMv3, outputs: dict[str, tuple]) -> dict[str, float]:
    """Scale each exit head's gradients (call after backward, before the optimiser step)."""
    names = [n for n in model.exit_config.exits if n in outputs] + ["final"]
    entropies = torch.stack([_entropy(outputs[n][0]) for n in names])
    n = (len(names) * torch.softmax(entropies, dim=0)).clamp(max=1.0)
    scale = (1.0 - n).tolist()
    for name, s in zip(names, scale):
        head = model.backbone.classifier if name == "final" else model.heads[name]
        for p in head.parameters():
            if p.grad is not None:
                p.grad.mul_(s)
    return dict(zip(names, scale))


def image_stage_loss(model: MultiExitLayoutLMv3, outputs: dict[str, tuple], labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the OCR-free exits (train.py's image-first phase: `--image-epochs`)."""
    names = [n for n in model.exit_config.image_exits if n in outputs]
    if not names:
        raise ValueError("the model has no image-stage exits to train")
    return sum(F.cross_entropy(outputs[n][0].float(), labels) for n in names) / len(names)
