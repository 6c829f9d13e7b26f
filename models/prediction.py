"""What the classifier returns for one page: the label and what it cost to decide it."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional


@dataclass
class Prediction:
    label: str
    confidence: float          # calibrated max-softmax at the exit taken
    exit_name: str             # e.g. "image_L2", "layer_4", "final"
    exit_index: int            # position of that exit in the model's ordered exit list
    layers_run: int            # encoder layers actually run for this page (image stage + multimodal)
    layers_total: int          # layers a full-depth multimodal pass runs
    flops: float               # FLOPs spent on this page (image stage + multimodal)
    flops_fraction: float      # flops / full-depth multimodal FLOPs for this page's sequence length
    model_ms: float            # this page's share of measured model wall time
    exited: bool = True        # False only from the OCR-free stage: not confident, needs OCR + multimodal pass
    probs: Optional[list[float]] = None  # calibrated class probabilities at the exit taken (optional)

    def to_dict(self) -> dict:
        return asdict(self)
