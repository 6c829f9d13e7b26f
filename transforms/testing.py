"""A stand-in classifier with DocClassifier's interface, for pipeline tests that must not depend on
model weights (``--classifier_factory transforms.testing:fake_classifier``).

Deterministic: labels and exits come from a hash of the page. A page whose words contain
``POISON_WORD`` makes ``classify`` raise, so tests can check that one bad page never takes its
batch with it.
"""
from __future__ import annotations

import hashlib
import time

from docexit.labels import RVL_CDIP_CLASSES

POISON_WORD = "__docexit_poison__"
LAYERS = 12
LAYER_FLOPS = 1.0e9


def _page_hash(image, words=None) -> int:
    h = hashlib.sha1(image.tobytes()[:65536])
    h.update(str(image.size).encode())
    if words:
        h.update(" ".join(words).encode())
    return int(h.hexdigest()[:8], 16)


def _label_from_words(words) -> str | None:
    text = " ".join(words).lower()
    for name in RVL_CDIP_CLASSES:
        if name.replace("_", " ") in text:
            return name
    return None


class FakeClassifier:
    model_version = "fake-1"
    max_words = 190
    has_image_stage = True
    policy_name = "fake-threshold"
    device = "cpu"

    def set_policy(self, name: str) -> None:
        self.policy_name = name

    def _pred(self, label, confidence, exit_name, exit_index, layers, extra_flops=0.0, extra_ms=0.0, exited=True):
        from models.prediction import Prediction

        flops = layers * LAYER_FLOPS + extra_flops
        return Prediction(label=label, confidence=confidence, exit_name=exit_name, exit_index=exit_index,
                          layers_run=layers, layers_total=LAYERS, flops=flops,
                          flops_fraction=flops / (LAYERS * LAYER_FLOPS), model_ms=0.2 * max(layers, 1) + extra_ms,
                          exited=exited)

    def classify_image_only(self, images):
        out = []
        for im in images:
            h = _page_hash(im)
            label = RVL_CDIP_CLASSES[h % len(RVL_CDIP_CLASSES)]
            exited = h % 3 == 0
            out.append(self._pred(label, 0.95 if exited else 0.4, "image_2", 1, 2, exited=exited))
        return out

    def classify(self, images, words, boxes, *, prior=None, early_exit=True):
        time.sleep(0.001 * len(images))
        prior = prior or [None] * len(images)
        out = []
        for im, ws, bs, pr in zip(images, words, boxes, prior):
            if len(ws) != len(bs):
                raise ValueError(f"{len(ws)} words but {len(bs)} boxes")
            if POISON_WORD in ws:
                raise ValueError("poisoned page")
            h = _page_hash(im, ws)
            label = _label_from_words(ws) or RVL_CDIP_CLASSES[h % len(RVL_CDIP_CLASSES)]
            extra_flops = pr.flops if pr is not None else 0.0
            extra_ms = pr.model_ms if pr is not None else 0.0
            if early_exit:
                layers = 4 + 4 * (h % 3)       # 4, 8 or 12
                name = "final" if layers == LAYERS else f"layer_{layers}"
                index = 2 + layers // 4
            else:
                layers, name, index = LAYERS, "final", 5
            out.append(self._pred(label, 0.9, name, index, layers, extra_flops, extra_ms))
        return out


def fake_classifier(spec) -> FakeClassifier:
    clf = FakeClassifier()
    return clf


# ------------------------------------------------------------------------------ test inputs

BROKEN_FILES = ("zero_bytes.png", "truncated.png", "not_an_image.png", "huge.png")


def render_page(words: list[str], size=(620, 800), seed: int = 0):
    """A plain white page with ``words`` written in lines (big enough for easyocr to read)."""
    from PIL import Image, ImageDraw, ImageFont

    im = Image.new("L", size, 255)
    draw = ImageDraw.Draw(im)
    try:
        font = ImageFont.load_default(size=30)
    except TypeError:  # very old Pillow
        font = ImageFont.load_default()
    x, y = 40, 40 + (seed % 5) * 8
    boxes = []
    for w in words:
        left, top, right, bottom = draw.textbbox((x, y), w, font=font)
        if right > size[0] - 40:
            x, y = 40, y + 50
            left, top, right, bottom = draw.textbbox((x, y), w, font=font)
        draw.text((x, y), w, fill=0, font=font)
        boxes.append([int(1000 * left / size[0]), int(1000 * top / size[1]),
                      int(1000 * right / size[0]), int(1000 * bottom / size[1])])
        x = right + 16
    return im, boxes


def write_test_inputs(root, n_pages: int = 6, *, broken: bool = True, ocr_pages: int = 0,
                      classes=("invoice", "letter", "memo")) -> dict:
    """Pages under ``root/<class>/`` (class folders = gold labels) plus broken files in ``root/broken/``.

    The first ``n_pages`` pages carry their words in a sidecar JSON (so OCR is skipped); another
    ``ocr_pages`` pages have no sidecar and go through the real OCR engine. Returns a summary with
    the file names by kind.
    """
    import json
    import os

    from PIL import Image

    os.makedirs(root, exist_ok=True)
    out = {"pages": [], "ocr_pages": [], "broken": [], "labels": {}}
    for i in range(n_pages + ocr_pages):
        label = classes[i % len(classes)]
        folder = os.path.join(root, label)
        os.makedirs(folder, exist_ok=True)
        words = [label.replace("_", " ").upper(), "number", str(1000 + i), "total", "page", str(i)]
        im, boxes = render_page(words, seed=i)
        path = os.path.join(folder, f"page{i:03d}.png")
        im.save(path)
        out["labels"][path] = label
        if i < n_pages:
            with open(os.path.join(folder, f"page{i:03d}.json"), "w") as f:
                json.dump({"words": words, "boxes": boxes}, f)
            out["pages"].append(path)
        else:
            out["ocr_pages"].append(path)
    if broken:
        # class folders must all be class names, so broken files live in a class folder too
        folder = os.path.join(root, classes[0])
        good = open(out["pages"][0] if out["pages"] else out["ocr_pages"][0], "rb").read()
        paths = {name: os.path.join(folder, name) for name in BROKEN_FILES}
        open(paths["zero_bytes.png"], "wb").close()
        with open(paths["truncated.png"], "wb") as f:
            f.write(good[: len(good) // 2])
        with open(paths["not_an_image.png"], "wb") as f:
            f.write(b"%PDF-1.4 this is not an image\n" * 20)
        Image.new("L", (8000, 8000), 255).save(paths["huge.png"])  # 64 MP > the 50 MP default limit
        out["broken"] = list(paths.values())
    out["total"] = len(out["pages"]) + len(out["ocr_pages"]) + len(out["broken"])
    # the same inputs as an RVL-CDIP label file, plus one line naming a file that does not exist
    from docexit.labels import CLASS_TO_INDEX

    lines = []
    for path in out["pages"] + out["ocr_pages"] + out["broken"]:
        rel = os.path.relpath(path, root).replace(os.sep, "/")
        lines.append(f"{rel} {CLASS_TO_INDEX[os.path.basename(os.path.dirname(path))]}")
    lines.append(f"{classes[0]}/missing_file.png {CLASS_TO_INDEX[classes[0]]}")
    out["label_file"] = os.path.join(root, "labels.txt")
    with open(out["label_file"], "w") as f:
        f.write("\n".join(lines) + "\n")
    out["label_file_total"] = out["total"] + 1
    return out
