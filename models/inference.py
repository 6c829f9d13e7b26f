"""Real early exit: the encoder runs one layer at a time and finished pages leave the batch.

After each exit, pages whose confidence clears the policy's threshold are recorded and dropped from
every batched tensor (hidden states, attention mask, relative-position bias), so the next layer runs
only on the pages still undecided. Nothing is simulated after a full pass. Each page's model time is
its share of every step it took part in (step wall time / pages in that step).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

import torch

from models.config import image_layer_of
from models.flops import head_flops, layer_flops, patch_embed_flops, pool_flops, visual_tokens
from models.multiexit import EncoderState, MultiExitLayoutLMv3
from models.policies import NEVER, ExitPolicy


@dataclass
class PageOutcome:
    exit_name: str
    exit_index: int
    label_index: int
    confidence: float
    probs: list[float]
    layers_run: int
    flops: float
    model_ms: float
    exited: bool


class _Best:
    """Most confident prediction seen so far per page (the anytime answer)."""

    def __init__(self, n: int):
        self.conf = [-1.0] * n
        self.items: list[Optional[tuple]] = [None] * n

    def offer(self, page: int, conf: float, item: tuple) -> None:
        if conf > self.conf[page]:
            self.conf[page], self.items[page] = conf, item


class EarlyExitRunner:
    def __init__(self, model: MultiExitLayoutLMv3, policy: ExitPolicy):
        self.model = model
        self.policy = policy
        self.config = model.config
        self.order = model.exit_config.all_exits
        self.head_kind = model.exit_config.head

    def enabled(self, names: list[str]) -> list[str]:
        """Exits the policy can fire; the rest are skipped (an image stage stops at its deepest enabled exit)."""
        return [n for n in names if self.policy.threshold(n) < NEVER]

    def _sync(self, device: torch.device) -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    def _exit_answer(self, name: str, state: EncoderState, text: Optional[torch.Tensor]):
        logits, gate = self.model.exit_logits(name, self.model.pooled(name, state, text))
        t = self.model.temperature(name).float()
        probs = torch.softmax(logits.float() / (1.0 if gate is not None else t), dim=-1)
        conf = torch.sigmoid(gate.float() / t) if gate is not None else probs.max(-1).values
        return probs, conf

    @torch.inference_mode()
    def run(self, state: EncoderState, steps: list[tuple[str, object]], *, page_seq: list[int],
            base_layers: list[int], base_flops: list[float], base_ms: list[float], embed_ms: float,
            early_exit: bool, final_in_stage: bool, text: Optional[torch.Tensor] = None) -> list[PageOutcome]:
        """Walk `steps` ("layer", i) / ("exit", name) with active-set shrinking."""
        n = state.hidden.shape[0]
        device = state.hidden.device
        active = list(range(n))
        layers = list(base_layers)
        flops = list(base_flops)
        ms = [b + embed_ms / n for b in base_ms]
        best = _Best(n)
        results: list[Optional[PageOutcome]] = [None] * n
        policy = self.policy
        start = time.perf_counter()
        stage_layers = 0

        def finish(pages: list[int], exited: bool) -> None:
            for page in pages:
                name, probs, conf = best.items[page]
                results[page] = PageOutcome(name, self.order.index(name), max(range(len(probs)), key=probs.__getitem__),
                                            conf, probs, layers[page], flops[page], ms[page], exited)

        for kind, arg in steps:
            if not active:
                break
            t0 = time.perf_counter()
            if kind == "layer":
                self.model.run_layer(int(arg), state)
                stage_layers += 1
                for page in active:
                    layers[page] += 1
                    flops[page] += layer_flops(self.config, page_seq[page])
            else:
                name = str(arg)
                probs, conf = self._exit_answer(name, state, text)
                probs_l, conf_l = probs.tolist(), conf.tolist()
                for row, page in enumerate(active):
                    flops[page] += (head_flops(self.config, self.head_kind if name != "final" else "ramp")
                                    + pool_flops(self.config, name))
                    best.offer(page, conf_l[row], (name, probs_l[row], conf_l[row]))
                if name == "final":
                    done_rows = list(range(len(active)))
                elif early_exit:
                    tau = policy.threshold(name)
                    done_rows = [r for r, c in enumerate(conf_l) if c > tau]
                else:
                    done_rows = []
                if done_rows:
                    self._sync(device)
                    step_ms = (time.perf_counter() - t0) * 1000
                    for page in active:
                        ms[page] += step_ms / len(active)
                    t0 = None
                    done_pages = [active[r] for r in done_rows]
                    for page, r in zip(done_pages, done_rows):
                        best.items[page] = (name, probs_l[r], conf_l[r])  # leaves with this exit's answer
                    finish(done_pages, exited=True)
                    done_set = set(done_rows)
                    keep_rows = [r for r in range(len(active)) if r not in done_set]
                    if keep_rows:
                        keep = torch.tensor(keep_rows, device=device)
                        state = state.select(keep)
                        text = None if text is None else text[keep]
                    active = [active[r] for r in keep_rows]
            if t0 is not None:
                self._sync(device)
                step_ms = (time.perf_counter() - t0) * 1000
                for page in active:
                    ms[page] += step_ms / len(active)
            if not active:
                break
            out_of_depth = (kind == "layer" and final_in_stage and policy.max_layers is not None
                            and stage_layers >= policy.max_layers)
            out_of_time = policy.deadline_ms is not None and (time.perf_counter() - start) * 1000 >= policy.deadline_ms
            if early_exit and final_in_stage and (out_of_depth or out_of_time):
                # Anytime: take the best answer so far; if no exit was met yet, read the final head here.
                if any(best.items[p] is None for p in active):
                    probs, conf = self._exit_answer("final", state, None)
                    for r, p in enumerate(active):
                        if best.items[p] is None:
                            best.items[p] = ("final", probs[r].tolist(), float(conf[r]))
                finish(active, exited=True)
                active = []
        if active:  # image stage ran out of exits: these pages continue to OCR
            finish(active, exited=False)
        return [r for r in results if r is not None]

    # ----- the two stages -----
    def image_stage(self, pixel_values: torch.Tensor, *, early_exit: bool = True) -> list[PageOutcome]:
        t0 = time.perf_counter()
        state = self.model.embed_image(pixel_values)
        self._sync(pixel_values.device)
        embed_ms = (time.perf_counter() - t0) * 1000
        n = pixel_values.shape[0]
        steps: list[tuple[str, object]] = []
        for name in self.enabled(self.model.exit_config.image_exits):
            depth = image_layer_of(name)
            done = sum(1 for kind, _ in steps if kind == "layer")
            steps += [("layer", i) for i in range(done, depth)]
            steps.append(("exit", name))
        vis = visual_tokens(self.config)
        return self.run(state, steps, page_seq=[vis] * n, base_layers=[0] * n,
                        base_flops=[patch_embed_flops(self.config)] * n, base_ms=[0.0] * n, embed_ms=embed_ms,
                        early_exit=early_exit, final_in_stage=False)

    def multimodal(self, input_ids, bbox, attention_mask, pixel_values, *, early_exit: bool = True,
                   prior_layers: Optional[list[int]] = None, prior_flops: Optional[list[float]] = None,
                   prior_ms: Optional[list[float]] = None) -> list[PageOutcome]:
        n = input_ids.shape[0]
        t0 = time.perf_counter()
        state, text = self.model.embed_multimodal(input_ids, bbox, attention_mask, pixel_values)
        self._sync(input_ids.device)
        embed_ms = (time.perf_counter() - t0) * 1000
        # Full depth reads no intermediate exit at all: it is plain LayoutLMv3, the honest baseline.
        heads = set(self.enabled(self.model.exit_config.exits)) if early_exit else set()
        steps: list[tuple[str, object]] = [("exit", e) for e in ("text", "concat") if e in heads]
        for k in range(1, self.model.num_layers + 1):
            steps.append(("layer", k - 1))
            name = "final" if k == self.model.num_layers else f"layer_{k}"
            if name == "final" or name in heads:
                steps.append(("exit", name))
        text_tokens = attention_mask.sum(1).tolist()
        vis = visual_tokens(self.config)
        zeros = [0.0] * n
        return self.run(state, steps, page_seq=[int(t) + vis for t in text_tokens],
                        base_layers=prior_layers or [0] * n,
                        base_flops=[f + patch_embed_flops(self.config) for f in (prior_flops or zeros)],
                        base_ms=prior_ms or zeros, embed_ms=embed_ms, early_exit=early_exit,
                        final_in_stage=True, text=text)

