"""Configuration of the exits on top of a LayoutLMv3 backbone.

Exit names (ordered the way a page meets them):
  OCR-free image stage (needs only the page image, runs before OCR):
    "vision"      mean of the patch embeddings (the paper's vision exit)
    "vision_grid" the patch embeddings kept on their grid: each reduced to GRID_FEATURES numbers, the
                  grid flattened and projected (beyond the paper: a mean forgets *where* the ink is,
                  and page layout is what tells a form from a letter without reading it)
    "image_<k>"   visual CLS after k encoder layers run on the visual tokens alone
  Multimodal stage (needs OCR words and boxes):
    "text"        masked mean of the text embeddings (padding does not count)
    "concat"      masked mean of the fused text+visual sequence, before the encoder
    "layer_<k>"   text CLS after encoder layer k (k < num_layers)
    "final"       the backbone's own classifier after the last layer (always present)
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

EXIT_CONFIG_NAME = "exits.json"
IMAGE_STAGE_EMBEDDING_EXITS = ("vision", "vision_grid")
GRID_FEATURES = 4  # numbers kept per patch by the vision_grid exit
MULTIMODAL_EMBEDDING_EXITS = ("text", "concat")
LAYER_PRESETS = ("none", "single", "quarter", "alternate", "all")
HEAD_KINDS = ("ramp", "ramp1", "gate")
STRATEGIES = ("uniform", "weighted", "entropyreg", "weighted-entropyreg")

_LAYER = re.compile(r"^layer_(\d+)$")
_IMAGE = re.compile(r"^image_(\d+)$")


def preset_layers(preset: str, num_layers: int) -> list[int]:
    """Encoder layers that carry an exit for a preset (the final layer has the backbone's head)."""
    if preset == "none":
        return []
    if preset == "single":
        return [max(1, num_layers // 2)]
    if preset == "quarter":
        return sorted({max(1, round(num_layers * q / 4)) for q in (1, 2, 3)} - {num_layers})
    if preset == "alternate":
        return list(range(2, num_layers, 2))
    if preset == "all":
        return list(range(1, num_layers))
    raise ValueError(f"unknown exit preset {preset!r}; choose one of {', '.join(LAYER_PRESETS)}")


def layer_of(exit_name: str) -> Optional[int]:
    """Encoder depth at which a multimodal exit sits (0 for embedding exits, None for image exits)."""
    if exit_name in MULTIMODAL_EMBEDDING_EXITS:
        return 0
    m = _LAYER.match(exit_name)
    return int(m.group(1)) if m else None


def image_layer_of(exit_name: str) -> Optional[int]:
    """Depth of an image-stage exit (0 for 'vision'), None for multimodal exits."""
    if exit_name in IMAGE_STAGE_EMBEDDING_EXITS:
        return 0
    m = _IMAGE.match(exit_name)
    return int(m.group(1)) if m else None


@dataclass
class ExitConfig:
    """Which exits a model has and how they are trained. Saved beside the backbone's config.json."""

    exits: list[str] = field(default_factory=list)  # ordered; "final" is implicit and always last
    head: str = "ramp"            # "ramp" (dropout-dense-tanh-dropout-linear), "ramp1" (dropout-linear), "gate"
    labels: list[str] = field(default_factory=list)
    strategy: str = "uniform"     # training loss strategy (see models/losses.py)
    gamma: float = 0.7            # share of the loss that goes to the intermediate exits
    max_text_tokens: int = 192    # text tokens the model reads, <s> and </s> included
    image_size: int = 224
    # Text tokens of a typical page (median over the training set): the full-depth reference for pages
    # that leave before OCR, whose own text length is never known.
    reference_text_tokens: int = 128

    def __post_init__(self) -> None:
        if self.head not in HEAD_KINDS:
            raise ValueError(f"unknown exit head {self.head!r}; choose one of {', '.join(HEAD_KINDS)}")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r}; choose one of {', '.join(STRATEGIES)}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        for name in self.exits:
            if name == "final":
                raise ValueError("'final' is implicit; do not list it among the exits")
            if layer_of(name) is None and image_layer_of(name) is None:
                raise ValueError(f"unknown exit {name!r}: use vision, vision_grid, image_<k>, text, concat or layer_<k>")
        self.exits = sorted(dict.fromkeys(self.exits), key=exit_sort_key)

    @classmethod
    def from_places(cls, places: str, num_layers: int, **kw) -> "ExitConfig":
        """Build from a comma list mixing names and presets, e.g. "vision,image_2,text,concat,alternate"."""
        names: list[str] = []
        for item in (p.strip() for p in places.split(",") if p.strip()):
            if item in LAYER_PRESETS:
                names += [f"layer_{k}" for k in preset_layers(item, num_layers)]
            elif item.startswith("image:"):  # image:<preset>, e.g. image:alternate -> image_2, image_4, ...
                names += [f"image_{k}" for k in preset_layers(item.split(":", 1)[1], num_layers + 1)]
            else:
                names.append(item)
        return cls(exits=names, **kw)

    def validate_depth(self, num_layers: int) -> None:
        for name in self.exits:
            depth = layer_of(name) if layer_of(name) is not None else image_layer_of(name)
            if depth is not None and depth > num_layers or (name.startswith("layer_") and depth >= num_layers):
                raise ValueError(f"exit {name} is deeper than the backbone allows ({num_layers} layers)")

    @property
    def image_exits(self) -> list[str]:
        return [e for e in self.exits if image_layer_of(e) is not None]

    @property
    def multimodal_exits(self) -> list[str]:
        return [e for e in self.exits if layer_of(e) is not None] + ["final"]

    @property
    def all_exits(self) -> list[str]:
        """Every exit in the order a page meets them, "final" last."""
        return self.image_exits + self.multimodal_exits

    @property
    def image_stage_layers(self) -> int:
        return max((image_layer_of(e) for e in self.image_exits), default=0)

    def save(self, directory: str | Path) -> None:
        Path(directory, EXIT_CONFIG_NAME).write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, directory: str | Path) -> "ExitConfig":
        return cls(**json.loads(Path(directory, EXIT_CONFIG_NAME).read_text()))


def exit_sort_key(name: str) -> tuple[int, ...]:
    """Image-stage exits first (by depth), then text < concat < layer_k (by depth), final last."""
    if name == "final":
        return (3, 0)
    depth = image_layer_of(name)
    if depth is not None:
        return (0, depth, IMAGE_STAGE_EMBEDDING_EXITS.index(name) if name in IMAGE_STAGE_EMBEDDING_EXITS else 0)
    if name in MULTIMODAL_EMBEDDING_EXITS:
        return (1, MULTIMODAL_EMBEDDING_EXITS.index(name))
    return (2, layer_of(name) or 0)


def small_backbone_config(vocab_size: int, num_labels: int, *, hidden_size: int = 192, num_layers: int = 8,
                          num_heads: int = 3, max_text_tokens: int = 192, image_size: int = 224):
    """The CPU-sized LayoutLMv3 we train and ship (the architecture is LayoutLMv3's, only smaller)."""
    from transformers import LayoutLMv3Config

    if hidden_size % 6:
        raise ValueError("hidden_size must be divisible by 6 (4 coordinate + 2 shape embeddings)")
    return LayoutLMv3Config(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=4 * hidden_size,
        max_position_embeddings=max_text_tokens + 2,
        coordinate_size=hidden_size // 6,
        shape_size=hidden_size // 6,
        input_size=image_size,
        patch_size=16,
        num_channels=3,
        num_labels=num_labels,
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
    )
