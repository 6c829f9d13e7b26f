"""`docexit train`: train a multi-exit LayoutLMv3, calibrate it, choose its policy, save it.

AdamW with linear warm-up and decay, a seed, the best epoch by validation accuracy (final exit),
a checkpoint after every epoch (`--resume` continues from it), progress bars.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from docexit.labels import RVL_CDIP_CLASSES
from models.config import HEAD_KINDS, STRATEGIES, ExitConfig, small_backbone_config
from models.data import Example, load_examples, ocr_like_noise
from models.evaluate import calibrate, collect_outputs
from models.losses import entropy_regularise_gradients, exit_weights, multi_exit_loss
from models.multiexit import MultiExitLayoutLMv3
from models.processor import DocProcessor, train_tokenizer

CHECKPOINT = "checkpoint.pt"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="docexit train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="a corpus made by `docexit generate` (its root), or any reader input")
    p.add_argument("--val-data", help="validation input when --data is not a generated corpus")
    p.add_argument("--out", required=True, help="model directory to write")
    p.add_argument("--exits", default="vision,image_2,image_4,text,concat,alternate",
                   help="exit places: vision, image_<k>, image:<preset>, text, concat, layer_<k>, or a preset "
                        "(single, quarter, alternate, all); comma-separated")
    p.add_argument("--head", choices=HEAD_KINDS, default="ramp")
    p.add_argument("--strategy", choices=STRATEGIES, default="uniform")
    p.add_argument("--gamma", type=float, default=0.7)
    p.add_argument("--backbone", help="start from a pretrained LayoutLMv3 (name or local path) and its tokenizer")
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
    p.add_argument("--limit", type=int, help="use at most this many training pages")
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


def make_model(args, train: list[Example]) -> tuple[MultiExitLayoutLMv3, DocProcessor]:
    labels = list(RVL_CDIP_CLASSES)
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
        model = MultiExitLayoutLMv3.from_backbone(args.backbone, ExitConfig.from_places(args.exits, num_layers, **exit_kw))
    else:
        backbone = small_backbone_config(len(tokenizer), len(labels), hidden_size=args.hidden, num_layers=num_layers,
                                         num_heads=args.heads, max_text_tokens=args.max_text_tokens,
                                         image_size=args.image_size)
        backbone.id2label = dict(enumerate(labels))
        backbone.label2id = {n: i for i, n in enumerate(labels)}
        model = MultiExitLayoutLMv3(backbone, ExitConfig.from_places(args.exits, num_layers, **exit_kw))
    return model, processor


def batches(examples: list[Example], batch_size: int, rng: random.Random):
    order = list(range(len(examples)))
    rng.shuffle(order)
    for start in range(0, len(order), batch_size):
        yield [examples[i] for i in order[start:start + batch_size]]


def accuracy_final(model, processor, examples, batch_size) -> float:
    outputs, _ = collect_outputs(model, processor, examples, batch_size)
    labels = torch.tensor([e.label for e in examples])
    return float(outputs["final"][0].argmax(-1).eq(labels).double().mean())


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from tqdm import tqdm

    if args.threads:
        torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.time()
    train = load_examples(args.data, split="train", image_size=args.image_size, limit=args.limit,
                          progress=not args.no_progress)
    val = load_examples(args.val_data or args.data, split="val", image_size=args.image_size,
                        progress=not args.no_progress)
    if not train or not val:
        print(f"docexit train: no labelled pages found (train={len(train)}, val={len(val)})", file=sys.stderr)
        return 2
    model, processor = make_model(args, train)
    weights = exit_weights(model)
    steps_total = args.epochs * ((len(train) + args.batch_size - 1) // args.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    warm = max(1, int(args.warmup * steps_total))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps_total - s) / max(1, steps_total - warm))))
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
    for epoch in range(start_epoch, args.epochs):
        model.train()
        rng.seed(args.seed * 1000 + epoch)
        bar = tqdm(list(batches(train, args.batch_size, rng)), desc=f"epoch {epoch + 1}/{args.epochs}",
                   disable=args.no_progress)
        running = 0.0
        for step, batch in enumerate(bar):
            noisy = [ocr_like_noise(e.words, e.boxes, rng) for e in batch]
            enc = processor.encode_text([w for w, _ in noisy], [b for _, b in noisy])
            pixels = processor.pixel_values([e.image for e in batch])
            labels = torch.tensor([e.label for e in batch])
            outputs = model(**enc, pixel_values=pixels)
            loss, parts = multi_exit_loss(model, outputs, labels, weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if "entropyreg" in model.exit_config.strategy:
                entropy_regularise_gradients(model, outputs)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            running = 0.9 * running + 0.1 * float(loss.detach()) if step else float(loss.detach())
            bar.set_postfix(loss=f"{running:.3f}", final=f"{parts['final']:.3f}")
        val_acc = accuracy_final(model, processor, val, args.batch_size)
        history.append({"epoch": epoch + 1, "val_accuracy_final": val_acc, "train_loss": running})
        print(f"epoch {epoch + 1}: val accuracy (final exit) {val_acc:.4f}")
        if val_acc > best_acc:
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
