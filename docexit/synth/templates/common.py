"""Pieces shared by several templates: letterheads, signature blocks, label/value rows, small tables."""
from __future__ import annotations

from ..content import Text, clean
from ..page import Page

CLOSINGS = ["Sincerely,", "Sincerely yours,", "Very truly yours,", "Yours truly,", "Best regards,", "Regards,",
            "Cordially,", "Respectfully,", "Kind regards,"]


def margins(p: Page, lo: int = 55, hi: int = 95):
    c = p.ctx
    left = c.randint(lo, hi)
    right = p.w - c.randint(lo, hi)
    top = c.randint(40, 80)
    bottom = p.h - c.randint(40, 70)
    return left, right, top, bottom


def body_font(p: Page, roles=("serif", "sans", "mono"), size=(12, 15), style="regular"):
    role = p.ctx.choice(list(roles))
    return p.font(role, p.ctx.randint(*size), style), role


def letterhead(p: Page, T: Text, L: int, R: int, y: int, company: str | None = None) -> int:
    """Company letterhead in one of several arrangements; returns y below it."""
    c = p.ctx
    company = company or T.company()
    style = c.randint(0, 3)
    role = c.choice(["serif", "sans", "display"])
    big = p.font(role, c.randint(20, 30), "bold")
    small = p.font(c.choice(["serif", "sans"]), c.randint(10, 12))
    addr = T.address_lines()
    tail = [addr[0] + " " + addr[1], f"Telephone {T.phone()}"]
    if c.chance(0.4):
        tail[-1] += f"  Fax {T.phone()}"
    if style == 0:  # centred name, rule, centred address
        if c.chance(0.6):
            p.logo((L + R) / 2 - 18, y, 36)
            y += 44
        p.line_center((L + R) / 2, y, company, big)
        y += p.line_height(big, 1.2)
        y = p.text_block(L, y, tail, small, align="center", width=R - L)
        if c.chance(0.7):
            p.hline(L, R, y + 4, c.randint(1, 3))
        y += 18
    elif style == 1:  # logo + name left, address right
        p.logo(L, y, 40)
        p.line(L + 50, y + 8, company, big)
        ay = y
        for ln in [addr[0], addr[1], T.phone()]:
            p.line_right(R, ay, ln, small)
            ay += p.line_height(small)
        y = max(y + 50, ay) + 12
        p.hline(L, R, y, 2)
        y += 20
    elif style == 2:  # name left, small caps tagline
        p.line(L, y, company.upper(), big)
        y += p.line_height(big, 1.2)
        p.line(L, y, "  ".join(tail), small)
        y += p.line_height(small) + 4
        p.hline(L, R, y, 1)
        y += 22
    else:  # name right-aligned with rule above
        p.hline(L, R, y, 3)
        y += 8
        p.line_right(R, y, company, big)
        y += p.line_height(big, 1.2)
        for ln in tail:
            p.line_right(R, y, ln, small)
            y += p.line_height(small)
        y += 18
    return y


def signature(p: Page, T: Text, x: int, y: int, font, name: str, title: str | None,
              closing: str | None, hand: bool = True) -> int:
    c = p.ctx
    lh = p.line_height(font, 1.3)
    if closing:
        p.line(x, y, closing, font)
        y += lh
    if hand:
        if c.chance(0.5):
            sf = p.font("script", c.randint(22, 30))
            first = name.split()[0]
            p.hand_line(x + 4, y + 4, c.choice([name, first, T.short_name()]), sf, fill=c.randint(0, 60), wobble=0.6)
        else:
            p.scribble(x + 4, y + 4, c.randint(80, 150), c.randint(18, 30))
        y += 44
    else:
        y += 10
    p.line(x, y, name, font)
    y += lh
    if title:
        p.line(x, y, title, font)
        y += lh
    return y


def label_rows(p: Page, x: int, y: int, rows, lab_font, val_font, lab_w: int, leading: float = 1.6,
               hand: bool = False) -> int:
    """'Label:  value' rows with values aligned at x + lab_w."""
    c = p.ctx
    lh = max(p.line_height(lab_font, leading), p.line_height(val_font, leading))
    for lab, val in rows:
        p.line(x, y, lab, lab_font)
        if val:
            if hand:
                p.hand_line(x + lab_w, y - 4, val, val_font, wobble=0.7)
            else:
                p.line(x + lab_w, y, val, val_font)
        y += lh + (c.randint(0, 3) if hand else 0)
    return y


def small_table(p: Page, T: Text, x: int, y: int, width: int, font, rows: int | None = None,
                money: bool = True) -> int:
    """A few-row table (used as a distractor inside letters, memos, reports)."""
    c = p.ctx
    n = rows or c.randint(3, 6)
    head = [c.choice(["Item", "Description", "Category", "Brand", "Region"]),
            c.choice(["1994", "Q1", "Actual", "Units", "Test A"]),
            c.choice(["1995", "Q2", "Budget", "Share", "Test B"])]
    body = []
    from ..content import BUDGET_ITEMS, PRODUCTS
    for _ in range(n):
        lab = c.choice(BUDGET_ITEMS if money else PRODUCTS).title()
        body.append([lab, T.money(100, 90000, cents=False) if money else f"{c.rng.uniform(0, 99):.1f}",
                     T.money(100, 90000, cents=False) if money else f"{c.rng.uniform(0, 99):.1f}"])
    cw = [width * 0.5, width * 0.25, width * 0.25]
    hf = p.font("sans", font.size, "bold") if c.chance(0.5) else font
    return p.table(x, y, cw, [head] + body, font, hf, grid=c.choice(["head", "none", "rows"]),
                   align=["l", "r", "r"])


def initials(T: Text) -> str:
    a = T.name().split()
    b = T.name().split()
    return clean(f"{a[0][0]}{a[-1][0]}:{b[0][0].lower()}{b[-1][0].lower()}")


def footer_page(p: Page, y: int, L: int, R: int, font, text: str | None = None):
    c = p.ctx
    text = text or c.choice([f"- {c.randint(1, 9)} -", f"Page {c.randint(1, 4)}", f"{c.randint(1, 30)}"])
    p.line_center((L + R) / 2, y, text, font)
