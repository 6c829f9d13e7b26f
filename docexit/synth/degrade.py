"""Scan degradation: marks on the paper, skew, blur, noise, fax binarisation, low-resolution.

Strength follows the document's difficulty. Geometric changes (rotation + shift) are applied to
the word boxes too: each box's corners are mapped through the same transform and the bounding
box of the result is taken (so a rotated word's box is slightly loose, never cut).
"""
from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageFilter

from .page import Page


def paper_marks(p: Page) -> None:
    """Things on the physical sheet before it was scanned: punch holes, staples, folds, pen ticks."""
    c = p.ctx
    d = c.d
    if c.chance(0.12 + 0.2 * d):  # punch holes on the left margin
        for fy in (0.2, 0.5, 0.8) if c.chance(0.5) else (0.25, 0.75):
            y = p.h * fy
            r = c.randint(7, 10)
            p.d.ellipse([12 - r, y - r, 12 + r, y + r], fill=c.randint(20, 110))
    if c.chance(0.1 + 0.15 * d):  # staple
        x, y = c.randint(15, 50), c.randint(10, 35)
        p.d.line([(x, y), (x + c.randint(18, 30), y + c.randint(-6, 6))], fill=c.randint(30, 90), width=3)
    if c.chance(0.08 + 0.25 * d):  # fold line
        y = int(p.h * c.uniform(0.3, 0.7))
        shade = c.randint(160, 215)
        p.d.line([(0, y), (p.w, y + c.randint(-8, 8))], fill=shade, width=c.randint(1, 3))
    if c.chance(0.05 + 0.3 * d):  # stray pen marks: ticks, circles, margin lines
        for _ in range(c.randint(1, 3)):
            x, y = c.uniform(20, p.w - 60), c.uniform(40, p.h - 60)
            kind = c.r.random()
            if kind < 0.4:
                p.stroke([(x, y), (x + 6, y + 8), (x + 18, y - 10)], width=2, fill=c.randint(20, 90))
            elif kind < 0.7:
                w, h = c.uniform(40, 160), c.uniform(14, 30)
                pts = [(x + w / 2 * (1 + math.cos(t / 10 * 2 * math.pi)) + c.r.gauss(0, 1.5),
                        y + h / 2 * (1 + math.sin(t / 10 * 2 * math.pi)) + c.r.gauss(0, 1.5)) for t in range(12)]
                p.d.line(pts, fill=c.randint(20, 90), width=2)
            else:
                x = c.uniform(8, 30)
                p.stroke([(x, y), (x + c.r.gauss(0, 3), y + c.uniform(40, 150))], width=2, fill=c.randint(20, 90))


def transform_box(box, angle_deg: float, cx: float, cy: float, tx: float, ty: float, scale: float = 1.0):
    """Map a box through the forward transform of Image.rotate(angle, center, translate)."""
    a = math.radians(angle_deg)
    ca, sa = math.cos(a), math.sin(a)
    x0, y0, x1, y1 = box
    xs, ys = [], []
    for px, py in ((x0, y0), (x1, y0), (x0, y1), (x1, y1)):
        dx, dy = (px - cx) * scale, (py - cy) * scale
        xs.append(cx + dx * ca + dy * sa + tx)
        ys.append(cy - dx * sa + dy * ca + ty)
    return (math.floor(min(xs)), math.floor(min(ys)), math.ceil(max(xs)), math.ceil(max(ys)))


def degrade(p: Page, boxes: list, allow_rotation: bool = True):
    """Return (final 'L' image, transformed boxes in pixels, clipped to the page)."""
    c = p.ctx
    d = c.d
    rng = c.rng
    img = p.img
    w, h = img.size
    paper = p.paper

    # 1. skew + shift (a scanner feed is rarely square)
    angle = 0.0
    tx = ty = 0.0
    if allow_rotation and c.chance(0.55 + 0.4 * d):
        angle = max(-4.0, min(4.0, c.r.gauss(0, 0.25 + 1.3 * d)))
    if c.chance(0.4):
        tx, ty = c.uniform(-6, 6) * (0.3 + d), c.uniform(-6, 6) * (0.3 + d)
    if abs(angle) > 0.02 or abs(tx) > 0.5 or abs(ty) > 0.5:
        img = img.rotate(angle, resample=Image.BILINEAR, center=(w / 2, h / 2), translate=(tx, ty),
                         fillcolor=paper)
        boxes = [transform_box(b, angle, w / 2, h / 2, tx, ty) for b in boxes]

    arr = np.asarray(img, dtype=np.float32)
    fax = c.chance(0.18 + 0.3 * d)  # fax / photocopy: binarised, speckled

    # 2. scanner edge shadow / dark border where the sheet did not cover the glass
    if c.chance(0.1 + 0.3 * d):
        side = c.randint(0, 3)
        band = c.randint(3, 18)
        val = c.uniform(10, 90)
        if side == 0:
            arr[:, :band] = val
        elif side == 1:
            arr[:, w - band:] = val
        elif side == 2:
            arr[:band, :] = val
        else:
            arr[h - band:, :] = val

    # 3. paper tone and uneven illumination (low-frequency field)
    tone = c.uniform(0, 8 + 25 * d)
    if tone > 1 and not fax:
        field = rng.random((6, 5)).astype(np.float32)
        field_img = Image.fromarray((field * 255).astype(np.uint8), "L").resize((w, h), Image.BILINEAR)
        arr -= np.asarray(field_img, dtype=np.float32) / 255.0 * tone

    # 4. resolution loss (a 100 dpi scan of small print)
    if c.chance(0.1 + 0.35 * d):
        f = c.uniform(0.65, 0.9)
        small = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L").resize(
            (max(8, int(w * f)), max(8, int(h * f))), Image.BILINEAR)
        arr = np.asarray(small.resize((w, h), Image.BILINEAR), dtype=np.float32)

    # 5. blur
    radius = min(1.3, max(0.0, c.r.gauss(0.1 + 0.7 * d, 0.25)))
    if fax:
        radius = min(radius, 0.8)
    if radius > 0.25:
        im = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L").filter(ImageFilter.GaussianBlur(radius))
        arr = np.asarray(im, dtype=np.float32)

    if fax:
        # ordered dither between lo and hi: ink goes black, paper white, grey fills (shading,
        # photos) become dot patterns, thin anti-aliased strokes mostly black (a fax's heavy look)
        lo, hi = c.uniform(90, 150), c.uniform(215, 245)
        bayer = (np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], np.float32) + 0.5) / 16
        thr = lo + (hi - lo) * np.tile(bayer, (h // 4 + 1, w // 4 + 1))[:h, :w]
        arr = np.where(arr < thr, 0.0, 255.0)
    else:
        # 6. ink fading / contrast
        if c.chance(0.2 + 0.3 * d):
            lo = c.uniform(0, 40 * d + 10)
            arr = lo + arr * (255 - lo) / 255.0
        # 7. sensor noise (quantised, so pages still compress)
        sigma = max(0.0, c.r.gauss(2 + 8 * d, 2))
        if sigma > 1.0:
            noise = rng.normal(0, sigma, size=(h, w)).astype(np.float32)
            arr += np.round(noise / 4) * 4
        # 7b. the scanner's white point: most scans clip paper to pure white (and compress well)
        if c.chance(0.75):
            arr[arr > c.uniform(228, 246)] = 255.0

    # 8. salt and pepper, dust
    density = max(0.0, c.r.gauss(0.0004 + 0.004 * d, 0.001)) if c.chance(0.3 + 0.6 * d) else 0.0
    if density > 0:
        m = rng.random((h, w))
        arr[m < density / 2] = 0 if fax else c.uniform(0, 80)
        arr[m > 1 - density / 2] = 255
        if not fax and c.chance(0.5):  # dust blobs
            for _ in range(int(density * 6000)):
                x, y = int(rng.integers(0, w - 3)), int(rng.integers(0, h - 3))
                arr[y:y + int(rng.integers(1, 4)), x:x + int(rng.integers(1, 4))] = rng.uniform(0, 100)

    out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")

    # 9. lossy compression artefacts from the scanner's JPEG stage
    if not fax and c.chance(0.15 + 0.3 * d):
        buf = io.BytesIO()
        out.save(buf, format="JPEG", quality=c.randint(25, 80))
        buf.seek(0)
        out = Image.open(buf).convert("L")

    clipped = []
    for x0, y0, x1, y1 in boxes:
        x0, y0 = max(0, x0), max(0, y0)
        x1, y1 = min(w, x1), min(h, y1)
        clipped.append((x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None)
    return out, clipped, {"angle": angle, "fax": fax, "blur": radius}
