"""Reading order: top-to-bottom lines, left-to-right within a line.

Boxes are grouped into lines by vertical overlap: a box joins a line when its vertical overlap with
the line's band (the mean top and bottom of the boxes already in it) is at least ``min_overlap`` of
the smaller of the two heights. Using the mean band rather than the union keeps a skewed or
ragged line from swallowing the line below it. Lines are ordered by their band's centre, boxes in a
line by their left edge. Columns are not detected: on a two-column page a line of the left column
and the line of the right column at the same height form one line (left part first).
"""
from __future__ import annotations

from typing import Sequence


def group_lines(boxes: Sequence[Sequence[float]], min_overlap: float = 0.5) -> list[list[int]]:
    """Indices of ``boxes`` ([x0, y0, x1, y1], any units) grouped into lines, in reading order."""
    order = sorted(range(len(boxes)), key=lambda i: ((boxes[i][1] + boxes[i][3]) / 2.0, boxes[i][0]))
    lines: list[dict] = []  # {"idx": [...], "top": sum, "bot": sum}
    for i in order:
        x0, y0, x1, y1 = boxes[i][:4]
        h = max(1e-6, y1 - y0)
        best, best_ov = None, 0.0
        for line in lines:
            n = len(line["idx"])
            top, bot = line["top"] / n, line["bot"] / n
            ov = min(y1, bot) - max(y0, top)
            if ov <= 0:
                continue
            frac = ov / max(1e-6, min(h, bot - top))
            if frac >= min_overlap and frac > best_ov:
                best, best_ov = line, frac
        if best is None:
            lines.append({"idx": [i], "top": float(y0), "bot": float(y1)})
        else:
            best["idx"].append(i)
            best["top"] += float(y0)
            best["bot"] += float(y1)
    lines.sort(key=lambda ln: (ln["top"] + ln["bot"]) / (2.0 * len(ln["idx"])))
    return [sorted(ln["idx"], key=lambda i: (boxes[i][0], boxes[i][1])) for ln in lines]


def reading_order(boxes: Sequence[Sequence[float]], min_overlap: float = 0.5) -> list[int]:
    """Indices of ``boxes`` in reading order (lines top to bottom, left to right within a line)."""
    return [i for line in group_lines(boxes, min_overlap) for i in line]
