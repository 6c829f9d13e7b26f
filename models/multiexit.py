"""LayoutLMv3 with intermediate exits (ramps or gates), read top to bottom.

The backbone is transformers' own LayoutLMv3ForSequenceClassification: its embeddings, encoder layers,
relative-position biases and classifier are reused as they are, so with no exits this model *is*
LayoutLMv3 (tests/test_multiexit.py checks the logits to 1e-5). What we add is the ability to run the
encoder one layer at a time and read an exit in between, on two kinds of input:

  image stage   visual tokens alone (LayoutLMv3 accepts image-only input), before any OCR
  multimodal    text tokens + visual tokens, the usual LayoutLMv3 input

Heads:
  ramp  a classifier of its own at the exit (LayoutLMv3's classification head shape, or one linear
        layer for "ramp1"); the page leaves with the ramp's label when the ramp is confident.
  gate  a binary head that answers "is the final classifier right at this point?": the backbone's
        final classifier is applied to the exit's hidden vector, and the gate estimates the
        probability that this label is correct. The page leaves with that label when the gate is
        confident. Gates train with BCE on the final head's correctness at that point.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
from torch import nn
from transformers import LayoutLMv3Config, LayoutLMv3ForSequenceClassification
from transformers.masking_utils import create_bidirectional_mask
from transformers.models.layoutlmv3.modeling_layoutlmv3 import LayoutLMv3ClassificationHead

from models.config import GRID_FEATURES, IMAGE_STAGE_EMBEDDING_EXITS, ExitConfig, image_layer_of, layer_of

WEIGHTS_NAME = "model.safetensors"


@dataclass
class EncoderState:
    """What the encoder needs between layers; every tensor's first dim is the batch, so it can shrink."""

    hidden: torch.Tensor                    # (B, S, H)
    mask: Optional[torch.Tensor]            # as made by create_bidirectional_mask (None = no padding)
    position_bias: Optional[torch.Tensor]   # (B, heads, S, S) relative 1D + 2D bias, shared by all layers
    token_mask: torch.Tensor                # (B, S) 1 for real tokens (used by mean-pooled exits)
    text_len: int                           # number of text positions at the start of the sequence (0: image only)

    def select(self, keep: torch.Tensor) -> "EncoderState":
        """Keep only the pages in `keep` (bool or index tensor): finished pages leave the batch."""
        return EncoderState(
            hidden=self.hidden[keep],
            mask=None if self.mask is None else self.mask[keep],
            position_bias=None if self.position_bias is None else self.position_bias[keep],
            token_mask=self.token_mask[keep],
            text_len=self.text_len,
        )


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.to(x.dtype).unsqueeze(-1)
    return (x * m).sum(1) / m.sum(1).clamp_min(1.0)


class GridPool(nn.Module):
    """The vision_grid exit's pooling: every patch embedding reduced to a few numbers, the grid
    flattened (so position survives) and projected back to hidden size for an ordinary exit head.
    Linear on purpose: the ramp head that follows has its own tanh, and a second squashing layer
    in front of it learned markedly slower here."""

    def __init__(self, hidden_size: int, patches: int, features: int = GRID_FEATURES):
        super().__init__()
        self.reduce = nn.Linear(hidden_size, features)
        self.project = nn.Linear(patches * features, hidden_size)

    def forward(self, patch_embeddings: torch.Tensor) -> torch.Tensor:  # (B, patches, H) -> (B, H)
        return self.project(self.reduce(patch_embeddings).flatten(1))


class MultiExitLayoutLMv3(nn.Module):
    def __init__(self, backbone_config: LayoutLMv3Config, exit_config: ExitConfig):
        super().__init__()
        exit_config.validate_depth(backbone_config.num_hidden_layers)
        if exit_config.labels and len(exit_config.labels) != backbone_config.num_labels:
            raise ValueError("exit_config.labels and backbone num_labels disagree")
        self.config = backbone_config
        self.exit_config = exit_config
        self.backbone = LayoutLMv3ForSequenceClassification(backbone_config)
        self.num_layers = backbone_config.num_hidden_layers
        self.heads = nn.ModuleDict({name: self._make_head() for name in exit_config.exits})
        patches = (backbone_config.input_size // backbone_config.patch_size) ** 2
        self.grid_pool = GridPool(backbone_config.hidden_size, patches) if "vision_grid" in exit_config.exits else None
        # Calibration temperatures per exit (1.0 = uncalibrated); buffers so they travel with the weights.
        self.register_buffer("temperatures", torch.ones(len(exit_config.all_exits)), persistent=True)

    def _make_head(self) -> nn.Module:
        cfg = self.config
        if self.exit_config.head == "ramp":
            return LayoutLMv3ClassificationHead(cfg, pool_feature=False)
        if self.exit_config.head == "ramp1":
            return nn.Sequential(nn.Dropout(cfg.hidden_dropout_prob), nn.Linear(cfg.hidden_size, cfg.num_labels))
        return nn.Sequential(nn.Dropout(cfg.hidden_dropout_prob), nn.Linear(cfg.hidden_size, 1))  # gate

    # ----- pieces of LayoutLMv3Model.forward, exposed so the encoder can be run layer by layer -----
    @property
    def lm(self):
        return self.backbone.layoutlmv3

    def _finish_embeddings(self, embedding_output, attention_mask, bbox, position_ids, text_len) -> EncoderState:
        lm = self.lm
        embedding_output = lm.dropout(lm.LayerNorm(embedding_output))
        mask = create_bidirectional_mask(config=self.config, inputs_embeds=embedding_output,
                                         attention_mask=attention_mask)
        position_bias = lm.encoder._compute_position_bias(position_ids, bbox)
        return EncoderState(embedding_output, mask, position_bias, attention_mask, text_len)

    def embed_image(self, pixel_values: torch.Tensor) -> EncoderState:
        """Image-only input: [visual CLS, patches], as LayoutLMv3Model.forward builds it with no text."""
        lm = self.lm
        batch = pixel_values.shape[0]
        visual = lm.forward_image(pixel_values)
        token_mask = torch.ones(visual.shape[:2], dtype=torch.long, device=visual.device)
        bbox = lm.calculate_visual_bbox(visual.device, dtype=torch.long, batch_size=batch)
        position_ids = torch.arange(visual.shape[1], device=visual.device).repeat(batch, 1)
        return self._finish_embeddings(visual, token_mask, bbox, position_ids, text_len=0)

    def embed_multimodal(self, input_ids, bbox, attention_mask, pixel_values) -> tuple[EncoderState, torch.Tensor]:
        """Text + image input exactly as LayoutLMv3Model.forward builds it; also returns the text embeddings."""
        lm = self.lm
        batch, text_len = input_ids.shape
        device = input_ids.device
        text = lm.embeddings(input_ids=input_ids, bbox=bbox,
                             token_type_ids=torch.zeros_like(input_ids))
        visual = lm.forward_image(pixel_values)
        visual_mask = torch.ones(visual.shape[:2], dtype=attention_mask.dtype, device=device)
        full_mask = torch.cat([attention_mask, visual_mask], dim=1)
        visual_bbox = lm.calculate_visual_bbox(device, dtype=torch.long, batch_size=batch)
        full_bbox = torch.cat([bbox, visual_bbox], dim=1)
        text_pos = torch.arange(text_len, device=device).unsqueeze(0).expand(batch, -1)
        visual_pos = torch.arange(visual.shape[1], device=device).repeat(batch, 1)
        position_ids = torch.cat([text_pos, visual_pos], dim=1)
        state = self._finish_embeddings(torch.cat([text, visual], dim=1), full_mask, full_bbox, position_ids,
                                        text_len=text_len)
        return state, text

    def run_layer(self, index: int, state: EncoderState) -> EncoderState:
        """Run encoder layer `index` (0-based) in place on the state."""
        state.hidden = self.lm.encoder.layer[index](state.hidden, state.mask, position_bias=state.position_bias)
        return state

    # ----- exits -----
    def pooled(self, name: str, state: EncoderState, text_embeddings: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The vector an exit reads."""
        if name == "vision":  # mean of the patch embeddings (visual CLS excluded)
            return state.hidden[:, 1:].mean(1)
        if name == "vision_grid":
            return self.grid_pool(state.hidden[:, 1:])
        if name == "text":
            return _masked_mean(text_embeddings, state.token_mask[:, : state.text_len])
        if name == "concat":
            return _masked_mean(state.hidden, state.token_mask)
        return state.hidden[:, 0]  # CLS: text <s> in multimodal input, visual CLS in image-only input

    def exit_logits(self, name: str, pooled: torch.Tensor) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """(class logits, gate logit or None) at an exit. For gates the class logits are the final head's."""
        if name == "final":
            return self.backbone.classifier(pooled), None
        head = self.heads[name]
        if self.exit_config.head == "gate":
            return self.backbone.classifier(pooled), head(pooled).squeeze(-1)
        return head(pooled), None

    def temperature(self, name: str) -> torch.Tensor:
        return self.temperatures[self.exit_config.all_exits.index(name)]

    # ----- full passes (training, calibration, equivalence) -----
    def forward_image_stage(self, pixel_values: torch.Tensor) -> dict[str, tuple]:
        """Every image-stage exit's (logits, gate_logit), running only as deep as the deepest image exit."""
        out: dict[str, tuple] = {}
        exits = self.exit_config.image_exits
        if not exits:
            return out
        state = self.embed_image(pixel_values)
        for depth in range(self.exit_config.image_stage_layers + 1):
            if depth > 0:
                self.run_layer(depth - 1, state)
            names = IMAGE_STAGE_EMBEDDING_EXITS if depth == 0 else (f"image_{depth}",)
            for name in names:
                if name in exits:
                    out[name] = self.exit_logits(name, self.pooled(name, state))
        return out

    def forward_multimodal(self, input_ids, bbox, attention_mask, pixel_values) -> dict[str, tuple]:
        """Every multimodal exit's (logits, gate_logit), "final" included: one full-depth pass."""
        out: dict[str, tuple] = {}
        state, text = self.embed_multimodal(input_ids, bbox, attention_mask, pixel_values)
        for name in ("text", "concat"):
            if name in self.heads:
                out[name] = self.exit_logits(name, self.pooled(name, state, text))
        for k in range(1, self.num_layers + 1):
            self.run_layer(k - 1, state)
            name = "final" if k == self.num_layers else f"layer_{k}"
            if name == "final" or name in self.heads:
                out[name] = self.exit_logits(name, self.pooled(name, state))
        return out

    def forward(self, input_ids=None, bbox=None, attention_mask=None, pixel_values=None) -> dict[str, tuple]:
        out = self.forward_image_stage(pixel_values) if pixel_values is not None else {}
        if input_ids is not None:
            out.update(self.forward_multimodal(input_ids, bbox, attention_mask, pixel_values))
        return out

    # ----- parameters needed to reach each exit (for the "weighted" loss and reports) -----
    def params_to_reach(self, name: str) -> int:
        """Parameters a page passes through to get this exit's answer (the paper's P_j)."""
        lm = self.lm

        def count(*modules) -> int:
            return sum(p.numel() for m in modules for p in (m.parameters() if isinstance(m, nn.Module) else [m]))

        visual = count(lm.patch_embed, lm.cls_token, lm.pos_embed, lm.norm, lm.LayerNorm)
        bias_tables = sum(p.numel() for n, p in lm.encoder.named_parameters() if not n.startswith("layer."))
        head = count(self.heads[name] if name in self.heads else self.backbone.classifier)
        if self.exit_config.head == "gate" and name != "final":
            head += count(self.backbone.classifier)  # a gate's label comes from the final head
        if name == "vision_grid":
            head += count(self.grid_pool)
        depth = image_layer_of(name)
        if depth is not None:
            return visual + bias_tables + count(*lm.encoder.layer[:depth]) + head
        depth = self.num_layers if name == "final" else layer_of(name)
        inputs = count(lm.embeddings) + (visual if name != "text" else 0)
        return inputs + bias_tables + count(*lm.encoder.layer[:depth]) + head

    def with_exits(self, exit_config: ExitConfig) -> "MultiExitLayoutLMv3":
        """The same backbone with other exits: heads both configs share keep their weights, new heads
        start fresh, dropped heads are gone. Temperatures reset to 1 (calibrate afterwards)."""
        model = MultiExitLayoutLMv3(self.config, exit_config)
        wanted = model.state_dict().keys()
        model.load_state_dict({k: v for k, v in self.state_dict().items() if k in wanted and k != "temperatures"},
                              strict=False)
        return model.to(dtype=next(self.parameters()).dtype)

    # ----- save / load, transformers-style -----
    def save_pretrained(self, directory: str | Path, *, dtype: Optional[torch.dtype] = None) -> None:
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.config.save_pretrained(directory)
        self.exit_config.save(directory)
        state = {k: (v.to(dtype) if dtype is not None and v.is_floating_point() else v).detach().contiguous().cpu()
                 for k, v in self.state_dict().items()}
        # position_ids / visual_bbox are non-persistent in transformers; nothing else is shared.
        save_file(state, str(directory / WEIGHTS_NAME), metadata={"format": "pt"})

    @classmethod
    def from_pretrained(cls, directory: str | Path, *, dtype: torch.dtype = torch.float32,
                        device: str | torch.device = "cpu") -> "MultiExitLayoutLMv3":
        from safetensors.torch import load_file

        directory = Path(directory)
        if not (directory / WEIGHTS_NAME).is_file():
            raise FileNotFoundError(f"no {WEIGHTS_NAME} in {directory}: not a docexit model directory")
        backbone_config = LayoutLMv3Config.from_pretrained(directory)
        model = cls(backbone_config, ExitConfig.load(directory))
        state = load_file(str(directory / WEIGHTS_NAME))
        missing, unexpected = model.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.endswith(("position_ids", "visual_bbox"))]
        if missing or unexpected:
            raise ValueError(f"weights in {directory} do not match the config: missing {missing[:5]}, "
                             f"unexpected {unexpected[:5]}")
        return model.to(device=device, dtype=dtype).eval()

    @classmethod
    def from_backbone(cls, name_or_path: str, exit_config: ExitConfig) -> "MultiExitLayoutLMv3":
        """Start from a pretrained LayoutLMv3 (e.g. microsoft/layoutlmv3-base, or a local copy of it)."""
        labels = exit_config.labels
        backbone = LayoutLMv3ForSequenceClassification.from_pretrained(
            name_or_path, num_labels=len(labels), id2label=dict(enumerate(labels)),
            label2id={n: i for i, n in enumerate(labels)})
        model = cls(backbone.config, exit_config)
        model.backbone = backbone
        return model

