"""The drawing surface: a grayscale page that records every word it draws with its ink box.

Every piece of text goes through :meth:`Page.word` (or a helper built on it), which draws one
whitespace-free token and records its tight box (``ImageDraw.textbbox``, or the exact ink extent
for rotated words). Words carry a *flow* number: reading order is flow by flow, and within a flow
top-to-bottom lines, left-to-right (see :meth:`Page.ordered_words`). Templates put side-by-side
blocks (columns, sidebars) in separate flows.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from . import fonts as F


@dataclass
class Word:
    text: str
    box: tuple  # (x0, y0, x1, y1) pixels, x1/y1 exclusive
    flow: int


class Ctx:
    """Per-document randomness and difficulty. Everything random in a document comes from here."""

    def __init__(self, rng: np.random.Generator, r: random.Random, fake, difficulty: float):
        self.rng = rng
        self.r = r
        self.fake = fake
        self.d = float(difficulty)
        self.mixed = False  # set once a cue from a confusable class has been added

    def cue(self, strength: float = 1.0) -> bool:
        """Keep an optional class cue? Easy documents keep nearly all, hard ones drop many."""
        return self.r.random() >= strength * 0.8 * self.d ** 1.3

    def mix(self, base: float = 0.0) -> bool:
        """Add a misleading element borrowed from a confusable class (mostly on hard documents)."""
        hit = self.r.random() < base + max(0.0, self.d - 0.35) * 1.2
        self.mixed = self.mixed or hit
        return hit

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def choice(self, seq):
        return seq[self.r.randrange(len(seq))]

    def randint(self, a: int, b: int) -> int:
        return self.r.randint(a, b)

    def uniform(self, a: float, b: float) -> float:
        return self.r.uniform(a, b)


class Page:
    def __init__(self, ctx: Ctx, width: int, height: int, paper: int = 255):
        self.ctx = ctx
        self.w = width
        self.h = height
        self.paper = paper
        self.img = Image.new("L", (width, height), paper)
        self.d = ImageDraw.Draw(self.img)
        self.words: list[Word] = []
        self.flow = 0
        self.ink = ctx.randint(0, 45)  # how dark the "toner" is (0 = black)
        self._family_pick: dict[str, F.Family] = {}

    # ------------------------------------------------------------------ fonts
    def family(self, role: str, fixed: bool = True) -> F.Family:
        """A family for a role; by default the same one for the whole page."""
        fams = F.families()[role]
        if not fixed:
            return fams[self.ctx.r.randrange(len(fams))]
        if role not in self._family_pick:
            self._family_pick[role] = fams[self.ctx.r.randrange(len(fams))]
        return self._family_pick[role]

    def font(self, role: str, size: float, style: str = "regular", family: Optional[F.Family] = None):
        fam = family or self.family(role)
        return F.load(fam.face(style), max(6, int(round(size))))

    def new_flow(self) -> int:
        self.flow += 1
        return self.flow

    # ------------------------------------------------------------------ text
    def _fill(self, fill: Optional[int]) -> int:
        return self.ink if fill is None else fill

    def word(self, x: float, y: float, text: str, font, fill: Optional[int] = None, record: bool = True):
        """Draw one token with its top-left at (x, y); returns its box (x0, y0, x1, y1)."""
        x, y = int(round(x)), int(round(y))
        self.d.text((x, y), text, font=font, fill=self._fill(fill))
        x0, y0, x1, y1 = self.d.textbbox((x, y), text, font=font)
        if record and x1 > x0 and y1 > y0 and text.strip():
            self.words.append(Word(text, (x0, y0, x1, y1), self.flow))
        return x0, y0, x1, y1

    def space(self, font) -> float:
        return font.getlength(" ")

    def length(self, text: str, font) -> float:
        return font.getlength(text)

    def line(self, x: float, y: float, text: str, font, fill: Optional[int] = None, gap: float = 1.0,
             record: bool = True) -> float:
        """Draw a run of words left-aligned at x; returns the x where the run ends (advance)."""
        sp = self.space(font) * gap
        cx = x
        for tok in text.split():
            self.word(cx, y, tok, font, fill, record)
            cx += font.getlength(tok) + sp
        return cx - sp

    def line_right(self, xr: float, y: float, text: str, font, fill: Optional[int] = None) -> float:
        x = xr - font.getlength(" ".join(text.split()))
        self.line(x, y, text, font, fill)
        return x

    def line_center(self, cx: float, y: float, text: str, font, fill: Optional[int] = None) -> float:
        x = cx - font.getlength(" ".join(text.split())) / 2
        self.line(x, y, text, font, fill)
        return x

    def line_height(self, font, leading: float = 1.25) -> int:
        asc, desc = font.getmetrics()
        return int(round((asc + desc) * leading))

    def wrap(self, text: str, font, width: float, indent: float = 0.0) -> list[list[str]]:
        lines: list[list[str]] = []
        cur: list[str] = []
        cur_w = indent
        sp = self.space(font)
        for tok in text.split():
            tw = font.getlength(tok)
            if cur and cur_w + sp + tw > width:
                lines.append(cur)
                cur, cur_w = [tok], tw
            else:
                cur_w = cur_w + (sp if cur else 0) + tw
                cur.append(tok)
        if cur:
            lines.append(cur)
        return lines

    def para(self, x: float, y: float, width: float, text: str, font, leading: float = 1.3,
             justify: bool = False, indent: float = 0.0, fill: Optional[int] = None,
             max_y: Optional[float] = None, align: str = "left") -> float:
        """Wrapped paragraph; returns the y below it. Stops (dropping the rest) at max_y."""
        lh = self.line_height(font, leading)
        sp = self.space(font)
        lines = self.wrap(text, font, width, indent)
        for i, toks in enumerate(lines):
            if max_y is not None and y + lh > max_y:
                break
            x0 = x + (indent if i == 0 else 0)
            widths = [font.getlength(t) for t in toks]
            avail = width - (indent if i == 0 else 0)
            if justify and i < len(lines) - 1 and len(toks) > 1:
                gap = (avail - sum(widths)) / (len(toks) - 1)
                gap = min(gap, sp * 3)
            else:
                gap = sp
            if align == "center":
                x0 = x + (width - (sum(widths) + gap * (len(toks) - 1))) / 2
            elif align == "right":
                x0 = x + width - (sum(widths) + gap * (len(toks) - 1))
            cx = x0
            for tok, tw in zip(toks, widths):
                self.word(cx, y, tok, font, fill)
                cx += tw + gap
            y += lh
        return y

    def text_block(self, x: float, y: float, lines: Iterable[str], font, leading: float = 1.25,
                   fill: Optional[int] = None, align: str = "left", width: float = 0) -> float:
        lh = self.line_height(font, leading)
        for ln in lines:
            if ln.strip():
                if align == "right":
                    self.line_right(x + width, y, ln, font, fill)
                elif align == "center":
                    self.line_center(x + width / 2, y, ln, font, fill)
                else:
                    self.line(x, y, ln, font, fill)
            y += lh
        return y

    def rotated_word(self, x: float, y: float, text: str, font, angle: float, fill: Optional[int] = None,
                     record: bool = True):
        """A token drawn rotated by angle degrees; its box is the exact extent of its ink."""
        l, t, rr, b = font.getbbox(text)
        pad = 4
        tile = Image.new("L", (int(rr - min(l, 0)) + 2 * pad, int(b - min(t, 0)) + 2 * pad), 0)
        ImageDraw.Draw(tile).text((pad - min(l, 0), pad - min(t, 0)), text, font=font, fill=255)
        if abs(angle) > 0.05:
            tile = tile.rotate(angle, resample=Image.BILINEAR, expand=True)
        bbox = tile.getbbox()
        if bbox is None:
            return None
        ox = int(round(x)) - pad
        oy = int(round(y)) - pad
        color = Image.new("L", tile.size, self._fill(fill))
        self.img.paste(color, (ox, oy), tile)
        box = (ox + bbox[0], oy + bbox[1], ox + bbox[2], oy + bbox[3])
        box = (max(0, box[0]), max(0, box[1]), min(self.w, box[2]), min(self.h, box[3]))
        if record and box[2] > box[0] and box[3] > box[1]:
            self.words.append(Word(text, box, self.flow))
        return box

    def hand_line(self, x: float, y: float, text: str, font, fill: Optional[int] = None, wobble: float = 1.0,
                  slope: float = 0.0, max_x: Optional[float] = None) -> tuple[float, float]:
        """Handwritten run: per-word baseline drift, spacing and slight rotation. Returns (x_end, y_end)."""
        r = self.ctx.r
        sp = self.space(font)
        cx, cy = x, y
        for tok in text.split():
            tw = font.getlength(tok)
            if max_x is not None and cx + tw > max_x:
                break
            ang = r.gauss(0, 2.0 * wobble) + slope
            dy = r.gauss(0, 1.2 * wobble)
            self.rotated_word(cx, cy + dy, tok, font, ang, fill)
            cx += tw + sp * r.uniform(0.8, 1.6)
            cy += -math.tan(math.radians(slope)) * (tw + sp)
        return cx, cy

    # ------------------------------------------------------------------ shapes
    def hline(self, x0, x1, y, width: int = 1, fill: Optional[int] = None):
        self.d.line([(x0, y), (x1, y)], fill=self._fill(fill), width=width)

    def vline(self, x, y0, y1, width: int = 1, fill: Optional[int] = None):
        self.d.line([(x, y0), (x, y1)], fill=self._fill(fill), width=width)

    def rect(self, x0, y0, x1, y1, width: int = 1, fill: Optional[int] = None, outline: Optional[int] = None):
        self.d.rectangle([x0, y0, x1, y1], fill=fill, outline=self._fill(outline), width=width)

    def shade(self, x0, y0, x1, y1, level: int = 220):
        self.d.rectangle([x0, y0, x1, y1], fill=level)

    def dashed_rect(self, x0, y0, x1, y1, dash: int = 8, width: int = 2):
        for x in range(int(x0), int(x1), dash * 2):
            self.hline(x, min(x + dash, x1), y0, width)
            self.hline(x, min(x + dash, x1), y1, width)
        for y in range(int(y0), int(y1), dash * 2):
            self.vline(x0, y, min(y + dash, y1), width)
            self.vline(x1, y, min(y + dash, y1), width)

    def checkbox(self, x, y, size: int = 11, checked: bool = False, round_: bool = False):
        if round_:
            self.d.ellipse([x, y, x + size, y + size], outline=self._fill(None), width=1)
        else:
            self.d.rectangle([x, y, x + size, y + size], outline=self._fill(None), width=1)
        if checked:
            self.check_mark(x, y, size)

    def check_mark(self, x, y, size):
        r = self.ctx.r
        ink = self.ctx.randint(10, 60)
        if r.random() < 0.5:
            pts = [(x + size * 0.1, y + size * 0.5), (x + size * 0.4, y + size * 0.9), (x + size * 1.1, y - size * 0.2)]
        else:
            pts = [(x - 1, y - 1), (x + size + 1, y + size + 1)]
            self.stroke(pts, width=2, fill=ink)
            pts = [(x + size + 1, y - 1), (x - 1, y + size + 1)]
        self.stroke(pts, width=2, fill=ink)

    def stroke(self, pts: Sequence[tuple], width: int = 2, fill: Optional[int] = None, jitter: float = 0.6):
        r = self.ctx.r
        pts = [(px + r.gauss(0, jitter), py + r.gauss(0, jitter)) for px, py in pts]
        self.d.line(pts, fill=self._fill(fill), width=width, joint="curve")

    def bezier(self, p0, p1, p2, p3, n: int = 18):
        out = []
        for i in range(n + 1):
            t = i / n
            a = (1 - t) ** 3
            b = 3 * (1 - t) ** 2 * t
            c = 3 * (1 - t) * t * t
            e = t ** 3
            out.append((a * p0[0] + b * p1[0] + c * p2[0] + e * p3[0], a * p0[1] + b * p1[1] + c * p2[1] + e * p3[1]))
        return out

    def scribble(self, x, y, w, h, loops: int = 6, width: int = 2, fill: Optional[int] = None):
        """Signature-like jittered bezier polyline inside (x, y, w, h); not text, so not recorded."""
        r = self.ctx.r
        cx, cy = x, y + h * 0.6
        pts = [(cx, cy)]
        step = w / max(1, loops)
        for i in range(loops):
            nx = x + step * (i + 1) + r.uniform(-step * 0.3, step * 0.3)
            ny = y + h * r.uniform(0.3, 0.9)
            c1 = (cx + step * r.uniform(0.1, 0.9), y + h * r.uniform(-0.4, 0.6))
            c2 = (nx - step * r.uniform(-0.5, 0.5), y + h * r.uniform(0.4, 1.4))
            pts += self.bezier((cx, cy), c1, c2, (nx, ny))[1:]
            cx, cy = nx, ny
        if r.random() < 0.6:  # underline flourish
            pts += self.bezier((cx, cy), (cx + 10, y + h * 1.2), (x + w * 0.3, y + h * 1.3), (x, y + h * 1.05))[1:]
        self.stroke(pts, width=width, fill=self.ctx.randint(0, 70) if fill is None else fill, jitter=0.4)

    def pseudo_writing(self, x, y, w, h, fill: Optional[int] = None):
        """A line of illegible cursive: loops along a baseline, not recorded (no text to read)."""
        r = self.ctx.r
        cx = x
        while cx < x + w - 20:
            ww = r.uniform(20, 70)
            self.scribble(cx, y, min(ww, x + w - cx), h, loops=max(2, int(ww / 9)), width=1 + int(r.random() < 0.5),
                          fill=fill)
            cx += ww + r.uniform(6, 14)

    def underline_word(self, box, fill: Optional[int] = None):
        x0, _, x1, y1 = box
        self.hline(x0, x1, y1 + 2, 1, fill)

    def image_block(self, x0, y0, x1, y1, style: str = "photo"):
        """A photo-like region (gradient + blobs), optionally halftoned, for ads/news/presentations."""
        rng = self.ctx.rng
        w, h = int(x1 - x0), int(y1 - y0)
        if w < 4 or h < 4:
            return
        gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
        base = rng.uniform(60, 200) + rng.uniform(-80, 80) * gx / w + rng.uniform(-80, 80) * gy / h
        for _ in range(int(rng.integers(3, 9))):
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            rad = rng.uniform(0.08, 0.4) * min(w, h)
            amp = rng.uniform(-120, 120)
            base += amp * np.exp(-(((gx - cx) ** 2 + (gy - cy) ** 2) / (2 * rad * rad)))
        if style == "silhouette":
            cx, cy = w * rng.uniform(0.35, 0.65), h * rng.uniform(0.45, 0.6)
            rx, ry = w * rng.uniform(0.15, 0.3), h * rng.uniform(0.25, 0.4)
            mask = ((gx - cx) / rx) ** 2 + ((gy - cy) / ry) ** 2 < 1
            base[mask] = rng.uniform(20, 70)
        arr = np.clip(base, 0, 255)
        if style == "halftone" or rng.random() < 0.3:
            cell = 4
            thr = (np.indices((cell, cell)).sum(0) % cell + 0.5) / cell * 255
            tile = np.tile(thr, (h // cell + 1, w // cell + 1))[:h, :w]
            arr = np.where(arr > tile, 255, 0)
        self.img.paste(Image.fromarray(arr.astype(np.uint8), "L"), (int(x0), int(y0)))
        self.rect(x0, y0, x1, y1, width=1)

    def bar_chart(self, x0, y0, x1, y1, n: Optional[int] = None, labels: Optional[list[str]] = None, font=None):
        r = self.ctx.r
        n = n or r.randint(3, 8)
        self.vline(x0, y0, y1, 2)
        self.hline(x0, x1, y1, 2)
        bw = (x1 - x0) / (n * 1.6 + 0.6)
        for i in range(n):
            bh = (y1 - y0) * r.uniform(0.15, 0.95)
            bx = x0 + bw * (0.6 + i * 1.6)
            self.d.rectangle([bx, y1 - bh, bx + bw, y1], fill=r.choice([40, 90, 140, 190]), outline=self.ink)
            if labels and font is not None and i < len(labels):
                self.line_center(bx + bw / 2, y1 + 4, labels[i], font)
        for k in range(1, 5):
            yy = y1 - (y1 - y0) * k / 5
            self.hline(x0 - 4, x0, yy, 1)

    def line_chart(self, x0, y0, x1, y1, series: int = 2):
        r = self.ctx.r
        self.vline(x0, y0, y1, 2)
        self.hline(x0, x1, y1, 2)
        n = r.randint(6, 14)
        for s in range(series):
            v = r.uniform(0.2, 0.8)
            pts = []
            for i in range(n):
                v = min(0.95, max(0.05, v + r.gauss(0, 0.12)))
                pts.append((x0 + (x1 - x0) * (i + 0.5) / n, y1 - (y1 - y0) * v))
            self.d.line(pts, fill=self.ink, width=2 if s == 0 else 1)
            for px, py in pts:
                if s == 0:
                    self.d.rectangle([px - 2, py - 2, px + 2, py + 2], fill=self.ink)
                else:
                    self.d.ellipse([px - 2, py - 2, px + 2, py + 2], outline=self.ink)

    def pie_chart(self, cx, cy, rad):
        r = self.ctx.r
        start = r.uniform(0, 360)
        shares = [r.uniform(0.5, 3) for _ in range(r.randint(3, 6))]
        tot = sum(shares)
        for i, s in enumerate(shares):
            ext = 360 * s / tot
            self.d.pieslice([cx - rad, cy - rad, cx + rad, cy + rad], start, start + ext,
                            fill=[60, 120, 170, 210, 90, 240][i % 6], outline=0)
            start += ext

    def logo(self, x, y, size: int = 40):
        """A simple geometric mark (not text)."""
        r = self.ctx.r
        kind = r.randrange(5)
        s = size
        if kind == 0:
            self.d.ellipse([x, y, x + s, y + s], fill=self.ink)
            self.d.ellipse([x + s * 0.25, y + s * 0.25, x + s * 0.75, y + s * 0.75], fill=255)
        elif kind == 1:
            self.d.polygon([(x + s / 2, y), (x + s, y + s), (x, y + s)], fill=self.ink)
        elif kind == 2:
            self.d.rectangle([x, y, x + s, y + s], fill=self.ink)
            self.d.rectangle([x + s * 0.3, y + s * 0.3, x + s * 0.7, y + s * 0.7], fill=255)
        elif kind == 3:
            for i in range(4):
                self.d.rectangle([x + i * s / 4, y + s - (i + 1) * s / 4, x + (i + 0.7) * s / 4, y + s], fill=self.ink)
        else:
            self.d.polygon([(x + s / 2, y), (x + s, y + s / 2), (x + s / 2, y + s), (x, y + s / 2)], fill=self.ink)
            self.d.ellipse([x + s * 0.35, y + s * 0.35, x + s * 0.65, y + s * 0.65], fill=255)

    def stamp(self, cx, cy, lines: list[str], angle: float, size: int = 16, box: bool = True, fill: int = 70):
        """Rubber stamp: boxed text drawn on a tile, rotated and darkened onto the page.

        Word boxes are the rotated corner boxes of the tile's word boxes.
        """
        fam = self.family("sans", fixed=False)
        font = F.load(fam.face("bold"), size)
        lh = self.line_height(font, 1.15)
        widths = [font.getlength(" ".join(ln.split())) for ln in lines]
        tw = int(max(widths) + 24)
        th = int(lh * len(lines) + 18)
        tile = Image.new("L", (tw, th), 255)
        td = ImageDraw.Draw(tile)
        local = []
        yy = 9
        for ln, wdt in zip(lines, widths):
            xx = (tw - wdt) / 2
            for tok in ln.split():
                td.text((int(xx), int(yy)), tok, font=font, fill=fill)
                local.append((tok, td.textbbox((int(xx), int(yy)), tok, font=font)))
                xx += font.getlength(tok) + font.getlength(" ")
            yy += lh
        if box:
            td.rectangle([2, 2, tw - 3, th - 3], outline=fill, width=3)
        # erode the ink a little so it looks inked, not printed
        rng = self.ctx.rng
        holes = rng.random((th, tw)) < 0.12
        arr = np.array(tile)
        arr[holes] = 255
        tile = Image.fromarray(arr, "L")
        rot = tile.rotate(angle, resample=Image.BILINEAR, expand=True, fillcolor=255)
        ox = int(cx - rot.width / 2)
        oy = int(cy - rot.height / 2)
        region = self.img.crop((ox, oy, ox + rot.width, oy + rot.height))
        self.img.paste(ImageChops.darker(region, rot), (ox, oy))
        th_, tw_ = th, tw
        a = math.radians(angle)
        ca, sa = math.cos(a), math.sin(a)
        for tok, (x0, y0, x1, y1) in local:
            xs, ys = [], []
            for px, py in ((x0, y0), (x1, y0), (x0, y1), (x1, y1)):
                dx, dy = px - tw_ / 2, py - th_ / 2
                xs.append(rot.width / 2 + dx * ca + dy * sa)
                ys.append(rot.height / 2 - dx * sa + dy * ca)
            b = (int(math.floor(min(xs))) + ox, int(math.floor(min(ys))) + oy,
                 int(math.ceil(max(xs))) + ox, int(math.ceil(max(ys))) + oy)
            b = (max(0, b[0]), max(0, b[1]), min(self.w, b[2]), min(self.h, b[3]))
            if b[2] > b[0] and b[3] > b[1]:
                self.words.append(Word(tok, b, 10_000))  # stamps are read last

    # ------------------------------------------------------------------ tables
    def table(self, x, y, col_w: Sequence[float], rows: Sequence[Sequence[str]], font, head_font=None,
              row_h: Optional[float] = None, grid: str = "full", align: Optional[Sequence[str]] = None,
              head_shade: Optional[int] = None, max_y: Optional[float] = None, pad: float = 4) -> float:
        """Draw rows (first row = header when head_font is given); returns the y below the table.

        grid: 'full' (all rules), 'rows' (horizontal rules), 'head' (rule under header only), 'none'.
        """
        lh = self.line_height(font, 1.0)
        row_h = row_h or lh + 2 * pad
        align = align or ["l"] * len(col_w)
        total_w = sum(col_w)
        y0 = y
        for ri, row in enumerate(rows):
            if max_y is not None and y + row_h > max_y:
                break
            is_head = ri == 0 and head_font is not None
            f = head_font if is_head else font
            if is_head and head_shade is not None:
                self.shade(x, y, x + total_w, y + row_h, head_shade)
            cx = x
            ty = y + (row_h - self.line_height(f, 1.0)) / 2
            for ci, (cw, cell) in enumerate(zip(col_w, row)):
                cell = str(cell)
                if cell.strip():
                    # shrink to fit: drop words that overflow the cell
                    toks = cell.split()
                    while toks and f.getlength(" ".join(toks)) > cw - 2 * pad:
                        toks = toks[:-1]
                    if toks:
                        txt = " ".join(toks)
                        a = align[ci] if ci < len(align) else "l"
                        if a == "r" and not is_head:
                            self.line_right(cx + cw - pad, ty, txt, f)
                        elif a == "c" or (is_head and a == "r"):
                            self.line_center(cx + cw / 2, ty, txt, f)
                        else:
                            self.line(cx + pad, ty, txt, f)
                cx += cw
            y += row_h
            if grid in ("full", "rows") or (grid == "head" and is_head):
                self.hline(x, x + total_w, y, 1)
        if grid == "full":
            self.hline(x, x + total_w, y0, 1)
            cx = x
            for cw in list(col_w) + [0]:
                self.vline(cx, y0, y, 1)
                cx += cw
        elif grid in ("rows", "head"):
            self.hline(x, x + total_w, y0, 2 if grid == "head" else 1)
        return y

    # ------------------------------------------------------------------ reading order
    def ordered_words(self) -> list[Word]:
        """Flow by flow; in a flow, words grouped into lines (by vertical centre), lines top-down,
        words left-to-right."""
        out: list[Word] = []
        by_flow: dict[int, list[Word]] = {}
        for wd in self.words:
            by_flow.setdefault(wd.flow, []).append(wd)
        for flow in sorted(by_flow):
            ws = sorted(by_flow[flow], key=lambda w: ((w.box[1] + w.box[3]) / 2, w.box[0]))
            lines: list[list[Word]] = []
            top = bot = 0
            for wd in ws:
                y0, y1 = wd.box[1], wd.box[3]
                # same line when the word overlaps the line's band by half of the smaller height
                # (a handwritten value beside a small printed label still joins the label's line)
                overlap = min(y1, bot) - max(y0, top)
                if lines and overlap >= 0.5 * min(y1 - y0, bot - top):
                    lines[-1].append(wd)
                    top, bot = min(top, y0), max(bot, y1)
                else:
                    lines.append([wd])
                    top, bot = y0, y1
            for ln in lines:
                out.extend(sorted(ln, key=lambda w: w.box[0]))
        return out
