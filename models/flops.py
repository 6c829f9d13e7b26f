"""Analytic FLOPs of LayoutLMv3 pieces (a multiply-add counts 2), per page.

Counted: patch embedding, every encoder layer (Q/K/V/O projections, attention scores and mixing,
feed-forward) and the exit heads. Embedding lookups, layer norms and softmax are left out: they are
a few percent at most and the same whether a page exits early or not.
"""
from __future__ import annotations

from transformers import LayoutLMv3Config

from models.config import GRID_FEATURES


def layer_flops(config: LayoutLMv3Config, seq_len: int) -> float:
    h, inter = config.hidden_size, config.intermediate_size
    projections = 2 * 4 * seq_len * h * h
    attention = 2 * 2 * seq_len * seq_len * h
    feed_forward = 2 * 2 * seq_len * h * inter
    return float(projections + attention + feed_forward)


def patch_embed_flops(config: LayoutLMv3Config) -> float:
    patches = (config.input_size // config.patch_size) ** 2
    return float(2 * patches * config.patch_size ** 2 * config.num_channels * config.hidden_size)


def head_flops(config: LayoutLMv3Config, kind: str) -> float:
    h, c = config.hidden_size, config.num_labels
    if kind == "ramp":
        return float(2 * (h * h + h * c))
    if kind == "ramp1":
        return float(2 * h * c)
    return float(2 * h + 2 * (h * h + h * c))  # gate + the final head it reads


def pool_flops(config: LayoutLMv3Config, exit_name: str) -> float:
    """Pooling before an exit's head: only vision_grid's learned grid projection costs anything."""
    if exit_name != "vision_grid":
        return 0.0
    patches = visual_tokens(config) - 1
    return float(2 * 2 * patches * config.hidden_size * GRID_FEATURES)


def visual_tokens(config: LayoutLMv3Config) -> int:
    return (config.input_size // config.patch_size) ** 2 + 1


def full_depth_flops(config: LayoutLMv3Config, text_tokens: int) -> float:
    """One full multimodal pass for a page with `text_tokens` real text tokens: the reference for savings."""
    seq = text_tokens + visual_tokens(config)
    return patch_embed_flops(config) + config.num_hidden_layers * layer_flops(config, seq) + head_flops(config, "ramp")
