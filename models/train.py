"""`docexit train`: train a multi-exit LayoutLMv3, calibrate it, choose its policy, save it.

AdamW with linear warm-up and decay, a seed, the best epoch by validation accuracy (final exit),
a checkpoint after every epoch (`--resume` continues from it), progress bars.

Two things beyond the paper's recipe, both for the OCR-free exits and for real OCR:
- `--image-epochs N` first trains the image stage alone (image-only passes, loss on the image exits
  only) for N epochs, by default only the image exits' heads (`--image-train heads`): measured here,
  the image exits stayed near chance when trained jointly with eight multimodal exits, while heads
  on the backbone's own patch features learn the page layout. `--image-exit-weight` keeps weight on
  those exits in the joint phase that follows.
- words: generator words in OCR reading order with OCR-like noise, and, for pages whose real OCR is
  in `--ocr-cache`, that OCR half of the time (fill the cache with `docexit run --ocr_cache DIR` over
  the training pages, or train on OCR only with `--words ocr`).
`--init DIR` continues from a saved model (its tokenizer, backbone, exits) instead of a new one.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from docexit.labels import RVL_CDIP_CLASSES
from models.config import HEAD_KINDS, STRATEGIES, ExitConfig, small_backbone_config
from models.data import WORD_SOURCES, Example, balanced_subset, image_jitter, load_examples, ocr_like_noise
from models.evaluate import calibrate, collect_outputs
from models.losses import entropy_regularise_gradients, exit_weights, image_stage_loss, multi_exit_loss
from models.multiexit import MultiExitLayoutLMv3
from models.processor import DocProcessor, train_tokenizer, words_budget

CHECKPOINT = "checkpoint.pt"
DEFAULT_EXITS = "vision,vision_grid,image_2,image_4,text,concat,alternate"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="docexit train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="a corpus made by `docexit generate` (its root), or any reader input")
    p.add_argument("--val-data", help="validation input when --data is not a generated corpus")
    p.add_argument("--out", required=True, help="model directory to write")
    p.add_argument("--exits", help="exit places: vision, vision_grid, image_<k>, image:<preset>, text, concat, "
                                   "layer_<k>, or a preset (single, quarter, alternate, all); comma-separated "
                                   f"(default: {DEFAULT_EXITS}; with --init: the init model's)")
    p.add_argument("--head", choices=HEAD_KINDS, default="ramp")
    p.add_argument("--strategy", choices=STRATEGIES, default="uniform")
    p.add_argument("--gamma", type=float, default=0.7)
    p.add_argument("--backbone", help="start from a pretrained LayoutLMv3 (name or local path) and its tokenizer")
    p.add_argument("--init", help="start from a docexit model directory (weights, tokenizer and exits)")
    p.add_argument("--words", choices=WORD_SOURCES, default="truth",
                   help="truth: the corpus's own words when it has them (generated corpora), else OCR; ocr: always OCR")
    p.add_argument("--ocr-cache", help="OCR cache folder: read (and with --words ocr, filled) for training pages")
    p.add_argument("--ocr-engine", default="easyocr", help="OCR engine for pages without words (see docs/ocr.md)")
    p.add_argument("--image-epochs", type=int, default=0,
                   help="epochs of image-stage-only training before the joint epochs (OCR-free exits)")
    p.add_argument("--image-train", choices=["heads", "all"], default="heads",
                   help="what the image epochs train: the image exits' heads on the backbone's features (cheap, "
                        "leaves the multimodal backbone as it is), or the backbone too")
    p.add_argument("--image-lr", type=float, default=3e-3, help="peak learning rate of the image epochs")
    p.add_argument("--image-exit-weight", type=float, default=1.0,
                   help="multiplies the loss weight of the image-stage exits in the joint epochs")
    p.add_argument("--hidden", type=int, default=192)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--heads", type=int, default=3)
    p.add_argument("--max-text-tokens", type=int, default=192)
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--vocab-size", type=int, default=8000)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup", type=float, default=0.06, help="fraction of steps")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--limit", type=int, help="use at most this many training pages (taken evenly across classes)")
    p.add_argument("--policy", choices=["per-exit", "global", "heuristic"], default="per-exit",
                   help="default policy saved with the model (chosen on validation)")
    p.add_argument("--save-dtype", choices=["float16", "float32"], default="float16")
    p.add_argument("--resume", action="store_true",
                   help="continue from OUT/checkpoint.pt (with --epochs at or below the epochs done: "
                        "stop there, calibrate and save the best epoch)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = all cores)")
    p.add_argument("--no-progress", action="store_true")
    return p


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_model(args, train: list[Example], init_processor: Optional[DocProcessor] = None
               ) -> tuple[MultiExitLayoutLMv3, DocProcessor]:
    labels = list(RVL_CDIP_CLASSES)
    if args.init:
        model = MultiExitLayoutLMv3.from_pretrained(args.init)
        if args.exits:  # other exits on the same backbone: shared weights carry over, new heads start fresh
            places = ExitConfig.from_places(args.exits, model.num_layers).exits
            model = model.with_exits(replace(model.exit_config, exits=places, head=args.head,
                                             strategy=args.strategy, gamma=args.gamma))
        return model, init_processor or DocProcessor.from_pretrained(args.init)
    tokens_seen = []
    if args.resume and Path(args.out, "tokenizer.json").is_file():
        tokenizer = DocProcessor.from_pretrained(args.out).tokenizer  # the one the checkpoint was trained with
    elif args.backbone:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(args.backbone)
    else:
        tokenizer = train_tokenizer((" ".join(e.words) for e in train), vocab_size=args.vocab_size)
    processor = DocProcessor(tokenizer, image_size=args.image_size, max_text_tokens=args.max_text_tokens)
    for e in train[:500]:
        tokens_seen.append(int(processor.encode_text([e.words], [e.boxes])["attention_mask"].sum()))
    num_layers = args.layers
    exit_kw = dict(head=args.head, labels=labels, strategy=args.strategy, gamma=args.gamma,
                   max_text_tokens=args.max_text_tokens, image_size=args.image_size,
                   reference_text_tokens=int(np.median(tokens_seen)) if tokens_seen else 128)
    if args.backbone:
        from transformers import LayoutLMv3Config

        num_layers = LayoutLMv3Config.from_pretrained(args.backbone).num_hidden_layers
        model = MultiExitLayoutLMv3.from_backbone(args.backbone,
                                                  ExitConfig.from_places(args.exits or DEFAULT_EXITS, num_layers, **exit_kw))
    else:
        backbone = small_backbone_config(len(tokenizer), len(labels), hidden_size=args.hidden, num_layers=num_layers,
                                         num_heads=args.heads, max_text_tokens=args.max_text_tokens,
                                         image_size=args.image_size)
        backbone.id2label = dict(enumerate(labels))
        backbone.label2id = {n: i for i, n in enumerate(labels)}
        model = MultiExitLayoutLMv3(backbone, ExitConfig.from_places(args.exits or DEFAULT_EXITS, num_layers, **exit_kw))
    return model, processor


def batches(examples: list[Example], batch_size: int, rng: random.Random):
    order = list(range(len(examples)))
    rng.shuffle(order)
    for start in range(0, len(order), batch_size):
        yield [examples[i] for i in order[start:start + batch_size]]


def lr_factor(step: int, image_steps: int, joint_steps: int, args) -> float:
    """Multiplier of --lr at a step: each phase (image epochs, then joint epochs) has its own linear
    warm-up and decay; the image phase peaks at --image-lr."""
    def warmup_decay(s: int, n: int) -> float:
        warm = max(1, int(args.warmup * n))
        return min((s + 1) / warm, max(0.0, (n - s) / max(1, n - warm)))

    if step < image_steps:
        return args.image_lr / args.lr * warmup_decay(step, image_steps)
    return warmup_decay(step - image_steps, joint_steps)


def set_image_heads_only(model: MultiExitLayoutLMv3, on: bool) -> None:
    """Freeze everything but the image exits' heads (and vision_grid's pooling), or unfreeze all."""
    image_heads = tuple(f"heads.{n}." for n in model.exit_config.image_exits) + ("grid_pool.",)
    for name, param in model.named_parameters():
        param.requires_grad_(not on or name.startswith(image_heads))


def val_accuracy(model, processor, examples, batch_size) -> dict[str, float]:
    """Validation accuracy of every exit (gates: of the final head's labels they read)."""
    outputs, _ = collect_outputs(model, processor, examples, batch_size)
    labels = torch.tensor([e.label for e in examples])
    return {name: round(float(logits.argmax(-1).eq(labels).double().mean()), 4)
            for name, (logits, _) in outputs.items()}


def batch_words(batch: list[Example], rng: random.Random) -> tuple[list, list]:
    """The words each page shows this step: its cached real OCR half of the time when it has one,
    else its words with OCR-like noise."""
    words, boxes = [], []
    for e in batch:
        if e.ocr_words is not None and rng.random() < 0.5:
            w, b = e.ocr_words, e.ocr_boxes
        else:
            w, b = ocr_like_noise(e.words, e.boxes, rng)
        words.append(w)
        boxes.append(b)
    return words, boxes


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.epochs < 1:
        print("docexit train: --epochs must be at least 1 (the joint epochs choose the saved model)", file=sys.stderr)
        return 2
    from tqdm import tqdm

    if args.threads:
        torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    init_processor = None
    if args.init:  # the input sizes and word budget are the init model's
        init_processor = DocProcessor.from_pretrained(args.init)
        args.image_size, args.max_text_tokens = init_processor.image_size, init_processor.max_text_tokens
    load = dict(image_size=args.image_size, words=args.words, ocr_engine=args.ocr_engine, ocr_cache=args.ocr_cache,
                max_words=words_budget(args.max_text_tokens), progress=not args.no_progress)
    train = load_examples(args.data, split="train", **load)
    if args.limit:
        train = balanced_subset(train, args.limit)
    val = load_examples(args.val_data or args.data, split="val", **load)
    if not train or not val:
        print(f"docexit train: no labelled pages found (train={len(train)}, val={len(val)})", file=sys.stderr)
        return 2
    with_ocr = sum(e.ocr_words is not None for e in train)
    if with_ocr:
        print(f"{with_ocr} of {len(train)} training pages also carry cached real OCR")
    model, processor = make_model(args, train, init_processor)
    weights = exit_weights(model)
    for name in model.exit_config.image_exits:
        weights[name] *= args.image_exit_weight
    image_epochs = args.image_epochs if model.exit_config.image_exits else 0
    total_epochs = image_epochs + args.epochs
    steps_per_epoch = (len(train) + args.batch_size - 1) // args.batch_size
    image_steps, joint_steps = image_epochs * steps_per_epoch, args.epochs * steps_per_epoch
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, image_steps, joint_steps, args))
    start_epoch, best_acc, best_state, history = 0, -1.0, None, []
    ckpt_path = out / CHECKPOINT
    if args.resume and ckpt_path.is_file():
        ckpt = torch.load(ckpt_path, weights_only=True)  # tensors and plain containers only
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        start_epoch, best_acc, history = int(ckpt["epoch"]), float(ckpt["best_acc"]), json.loads(ckpt["history"])
        best_state = ckpt["best_model"]
        print(f"resumed from {ckpt_path} at epoch {start_epoch}")
    processor.save_pretrained(out)
    rng = random.Random(args.seed)
    for epoch in range(start_epoch, total_epochs):
        model.train()
        image_only = epoch < image_epochs
        set_image_heads_only(model, image_only and args.image_train == "heads")
        rng.seed(args.seed * 1000 + epoch)
        bar = tqdm(list(batches(train, args.batch_size, rng)),
                   desc=f"epoch {epoch + 1}/{total_epochs}{' (image stage)' if image_only else ''}",
                   disable=args.no_progress)
        running = 0.0
        for step, batch in enumerate(bar):
            pixels = processor.pixel_values([image_jitter(e.image, rng) for e in batch])
            labels = torch.tensor([e.label for e in batch])
            if image_only:
                outputs = model.forward_image_stage(pixels)
                loss = image_stage_loss(model, outputs, labels)
                parts = {"final": float("nan")}
            else:
                enc = processor.encode_text(*batch_words(batch, rng))
                outputs = model(**enc, pixel_values=pixels)
                loss, parts = multi_exit_loss(model, outputs, labels, weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if "entropyreg" in model.exit_config.strategy and not image_only:
                entropy_regularise_gradients(model, outputs)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            running = 0.9 * running + 0.1 * float(loss.detach()) if step else float(loss.detach())
            bar.set_postfix(loss=f"{running:.3f}", final=f"{parts['final']:.3f}")
        if image_only and epoch < image_epochs - 1:  # the image heads only: validate at the phase's end
            history.append({"epoch": epoch + 1, "phase": "image", "train_loss": running})
            print(f"epoch {epoch + 1} (image stage): train loss {running:.4f}")
        else:
            accs = val_accuracy(model, processor, val, args.batch_size)
            val_acc = accs["final"]
            history.append({"epoch": epoch + 1, "phase": "image" if image_only else "joint",
                            "val_accuracy_final": val_acc, "val_accuracy": accs, "train_loss": running})
            print(f"epoch {epoch + 1}: val accuracy (final exit) {val_acc:.4f}; per exit {json.dumps(accs)}")
            if val_acc > best_acc and not image_only:
                best_acc, best_state = val_acc, {k: v.detach().clone() for k, v in model.state_dict().items()}
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                    "epoch": epoch + 1, "best_acc": best_acc, "best_model": best_state,
                    "history": json.dumps(history)}, ckpt_path)
    model.load_state_dict(best_state)
    model.eval()
    report = calibrate(model, processor, val, policy_kind=args.policy, batch_size=args.batch_size)
    policy = report.pop("chosen_policy")
    model.save_pretrained(out, dtype=torch.float16 if args.save_dtype == "float16" else None)
    policy.save(out)
    card = {
        "command": "docexit train " + " ".join(argv if argv is not None else sys.argv[2:]),
        "args": vars(args), "train_pages": len(train), "val_pages": len(val),
        "history": history, "best_val_accuracy_final": best_acc, "seconds": round(time.time() - t_start, 1),
        "exit_config": asdict(model.exit_config),
        "parameters": sum(p.numel() for p in model.parameters()),
        "calibration": report,
    }
    (out / "training.json").write_text(json.dumps(card, indent=2, default=str))
    ckpt_path.unlink(missing_ok=True)  # training finished: the checkpoint is not part of the model
    print(f"saved model to {out} (best val accuracy {best_acc:.4f}, policy {policy.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
