"""DocClassifier: the one object the pipeline talks to.

    clf = DocClassifier.from_pretrained()                     # the shipped model, CPU or CUDA
    first = clf.classify_image_only(images)                   # OCR-free stage; .exited False -> needs OCR
    final = clf.classify(images, words, boxes, prior=first)   # multimodal anytime early exit
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Optional, Sequence

import torch
from PIL import Image

from models.flops import full_depth_flops
from models.inference import EarlyExitRunner, PageOutcome
from models.multiexit import WEIGHTS_NAME, MultiExitLayoutLMv3
from models.policies import ExitPolicy
from models.prediction import Prediction
from models.processor import DocProcessor

SHIPPED_MODEL_DIR = Path(__file__).resolve().parent / "shipped"
# CPU runs fp32 unless asked: measured by bench/model.py on this CPU (avx512_bf16, no AMX), bf16
# made a full-depth pass 1.49x faster with 99.94% the same labels, but the early-exit run the
# pipeline makes was 1.47x slower (most pages leave before the encoder, where bf16 only adds
# conversions). CUDA runs bf16 where the GPU supports it, else fp16.
DEFAULT_CPU_DTYPE = torch.float32
DTYPES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
          "float16": torch.float16, "fp16": torch.float16}


def pick_device(device: str | torch.device = "auto") -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def pick_dtype(dtype: str | torch.dtype, device: torch.device) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return DEFAULT_CPU_DTYPE
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r}: use auto, {', '.join(DTYPES)}")
    return DTYPES[dtype]


def weights_digest(model_dir: Path) -> str:
    h = hashlib.sha256()
    with open(model_dir / WEIGHTS_NAME, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:12]


class DocClassifier:
    def __init__(self, model: MultiExitLayoutLMv3, processor: DocProcessor, policy: ExitPolicy, *,
                 model_version: str = "unsaved", max_batch: int = 32):
        self.model = model.eval()
        self.processor = processor
        self.policy = policy
        self.model_version = model_version
        self.max_batch = max_batch
        self.labels = list(model.exit_config.labels)
        self.device = next(model.parameters()).device
        self.dtype = next(model.parameters()).dtype

    @classmethod
    def from_pretrained(cls, path: Optional[str | Path] = None, device: str = "auto", dtype: str = "auto",
                        policy: Optional[str | ExitPolicy] = None, max_batch: int = 32) -> "DocClassifier":
        model_dir = Path(path) if path else SHIPPED_MODEL_DIR
        if not (model_dir / WEIGHTS_NAME).is_file():
            raise FileNotFoundError(f"no model at {model_dir} (expected {WEIGHTS_NAME}); "
                                    "train one with `docexit train` or pass --model")
        dev = pick_device(device)
        model = MultiExitLayoutLMv3.from_pretrained(model_dir, dtype=pick_dtype(dtype, dev), device=dev)
        default_policy = ExitPolicy.load(model_dir)
        if isinstance(policy, ExitPolicy):
            chosen = policy
        else:
            chosen = ExitPolicy.parse(policy or "default", default_policy)
        version = f"{model_dir.name}-{weights_digest(model_dir)}"
        return cls(model, DocProcessor.from_pretrained(model_dir), chosen, model_version=version, max_batch=max_batch)

    # ----- facts the pipeline needs -----
    @property
    def max_words(self) -> int:
        return self.processor.max_words

    @property
    def has_image_stage(self) -> bool:
        """True when the policy enables at least one OCR-free exit (else the stage would only cost time)."""
        return bool(EarlyExitRunner(self.model, self.policy).enabled(self.model.exit_config.image_exits))

    @property
    def policy_name(self) -> str:
        return self.policy.name

    @property
    def layers_total(self) -> int:
        return self.model.num_layers

    # ----- inference -----
    def _pixels(self, images: Sequence[Image.Image]) -> torch.Tensor:
        return self.processor.pixel_values(images).to(self.device, self.dtype)

    def _to_prediction(self, o: PageOutcome, text_tokens: int, prep_ms: float) -> Prediction:
        reference = full_depth_flops(self.model.config, text_tokens)
        return Prediction(label=self.labels[o.label_index], confidence=float(o.confidence), exit_name=o.exit_name,
                          exit_index=o.exit_index, layers_run=o.layers_run, layers_total=self.layers_total,
                          flops=o.flops, flops_fraction=o.flops / reference, model_ms=o.model_ms + prep_ms,
                          exited=o.exited, probs=[float(p) for p in o.probs])

    def _chunks(self, n: int):
        for start in range(0, n, self.max_batch):
            yield start, min(n, start + self.max_batch)

    def classify_image_only(self, images: Sequence[Image.Image]) -> list[Prediction]:
        """OCR-free stage: image-only exits. Pages with .exited False need OCR and `classify`."""
        if not self.has_image_stage:
            raise RuntimeError("this model and policy have no enabled image-stage exit")
        runner = EarlyExitRunner(self.model, self.policy)
        out: list[Prediction] = []
        ref_tokens = self.model.exit_config.reference_text_tokens
        for a, b in self._chunks(len(images)):
            t0 = time.perf_counter()
            pixels = self._pixels(images[a:b])
            prep_ms = (time.perf_counter() - t0) * 1000 / (b - a)
            outcomes = runner.image_stage(pixels, early_exit=self.policy.kind != "full")
            out += [self._to_prediction(o, ref_tokens, prep_ms) for o in outcomes]
        return out

    def classify(self, images: Sequence[Image.Image], words: Sequence[Sequence[str]],
                 boxes: Sequence[Sequence[Sequence[int]]], *, prior: Optional[Sequence[Optional[Prediction]]] = None,
                 early_exit: bool = True) -> list[Prediction]:
        """Multimodal anytime early exit. `prior`: the image-stage Prediction of each page (its cost is added)."""
        if not (len(images) == len(words) == len(boxes)):
            raise ValueError("images, words and boxes must have the same length")
        prior = list(prior) if prior is not None else [None] * len(images)
        runner = EarlyExitRunner(self.model, self.policy)
        out: list[Prediction] = []
        for a, b in self._chunks(len(images)):
            t0 = time.perf_counter()
            pixels = self._pixels(images[a:b])
            enc = {k: v.to(self.device) for k, v in self.processor.encode_text(words[a:b], boxes[a:b]).items()}
            prep_ms = (time.perf_counter() - t0) * 1000 / (b - a)
            pri = prior[a:b]
            outcomes = runner.multimodal(
                enc["input_ids"], enc["bbox"], enc["attention_mask"], pixels,
                early_exit=early_exit and self.policy.kind != "full",
                prior_layers=[p.layers_run if p else 0 for p in pri],
                prior_flops=[p.flops if p else 0.0 for p in pri],
                prior_ms=[p.model_ms if p else 0.0 for p in pri])
            text_tokens = enc["attention_mask"].sum(1).tolist()
            out += [self._to_prediction(o, int(t), prep_ms) for o, t in zip(outcomes, text_tokens)]
        return out
