"""Tiny models for tests: random weights, real code paths, seconds to build."""
from __future__ import annotations

from pathlib import Path

import torch

from docexit.labels import RVL_CDIP_CLASSES
from models.config import ExitConfig, small_backbone_config
from models.multiexit import MultiExitLayoutLMv3
from models.policies import ExitPolicy
from models.processor import DocProcessor, train_tokenizer

TINY_TEXT = ("letter memo invoice budget form questionnaire resume email report publication specification "
             "advertisement news article presentation folder handwritten dear sincerely total amount due "
             "to from subject date page name address phone").split()


def tiny_model(exits: str = "vision,image_1,image_2,text,concat,all", head: str = "ramp", num_layers: int = 4,
               seed: int = 0, labels=RVL_CDIP_CLASSES, strategy: str = "uniform") -> tuple[MultiExitLayoutLMv3, DocProcessor]:
    torch.manual_seed(seed)
    tokenizer = train_tokenizer([" ".join(TINY_TEXT)] * 20, vocab_size=400)
    exit_config = ExitConfig.from_places(exits, num_layers, head=head, labels=list(labels), strategy=strategy,
                                         max_text_tokens=64, image_size=64)
    backbone = small_backbone_config(len(tokenizer), len(labels), hidden_size=48, num_layers=num_layers,
                                     num_heads=2, max_text_tokens=64, image_size=64)
    model = MultiExitLayoutLMv3(backbone, exit_config).eval()
    return model, DocProcessor(tokenizer, image_size=64, max_text_tokens=64)


def make_tiny_model(directory: str | Path, policy: ExitPolicy | None = None, **kw) -> str:
    """Save a tiny random-init model (with tokenizer and policy) where DocClassifier can load it."""
    model, processor = tiny_model(**kw)
    model.save_pretrained(directory)
    processor.save_pretrained(directory)
    (policy or ExitPolicy(kind="global", global_threshold=0.5)).save(directory)
    return str(directory)
