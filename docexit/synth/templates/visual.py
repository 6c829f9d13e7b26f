"""Classes an image model can largely see: advertisement (photo blocks, display type), presentation
(slide frames, huge type, bullets), file_folder (a folder tab, card stock, almost no text),
handwritten (handwriting on ruled or plain paper)."""
from __future__ import annotations

from ..content import AD_BODY, AD_HEAD, DEPTS, PRODUCTS, TOPICS, Text
from .. import fonts as F
from ..page import Page
from .common import margins

WARNINGS = ["SURGEON GENERAL'S WARNING: Smoking Causes Lung Cancer, Heart Disease, Emphysema, And May Complicate Pregnancy.",
            "SURGEON GENERAL'S WARNING: Quitting Smoking Now Greatly Reduces Serious Risks to Your Health.",
            "SURGEON GENERAL'S WARNING: Cigarette Smoke Contains Carbon Monoxide.",
            "Offer limited to one per customer. Void where prohibited."]


def advertisement(p: Page, T: Text) -> str:
    c = p.ctx
    L, R, top, B = margins(p, 30, 60)
    layout = c.choice(["hero", "coupon", "inverted", "classified"])
    brand = T.last().upper() if c.chance(0.6) else T.company()
    disp = p.family("display")
    head = c.choice(AD_HEAD)
    y = top
    if layout == "classified":  # newspaper-style boxed ad among text: hard, news-like
        font = p.font("serif", c.randint(10, 12))
        p.rect(L, y, R, B, width=c.randint(2, 4))
        hf = p.font("display", c.randint(28, 44), "bold", family=disp)
        y = p.para(L + 20, y + 20, R - L - 40, head, hf, align="center", leading=1.1) + 10
        if c.chance(0.75):
            ih = c.randint(140, 300)
            p.image_block(L + 60, y, R - 60, y + ih, c.choice(["photo", "halftone", "silhouette"]))
            y += ih + 12
        else:  # feature list in big type
            ff = p.font("sans", c.randint(18, 24), "bold")
            for _ in range(c.randint(3, 5)):
                p.d.ellipse([L + 50, y + 8, L + 58, y + 16], fill=p.ink)
                p.line(L + 70, y, c.choice(AD_BODY), ff)
                y += p.line_height(ff, 1.4)
            y += 10
        for _ in range(c.randint(1, 3)):
            y = p.para(L + 30, y, R - L - 60, " ".join(c.choice(AD_BODY) for _ in range(c.randint(2, 4))), font,
                       justify=True, max_y=B - 120) + 8
        if y < B - 330:  # fill the rest of the box with a picture
            p.image_block(L + 40, y + 10, R - 40, B - 220, c.choice(["photo", "halftone", "silhouette"]))
            y = B - 210
        pf = p.font("display", c.randint(30, 48), family=disp)
        p.line_center((L + R) / 2, max(min(y + 10, B - 110), B - 200), c.choice([f"${c.randint(1, 99)}.{c.choice(['95', '99', '49'])}",
                                                                    brand, "CALL TODAY"]), pf)
        p.line_center((L + R) / 2, B - 40, T.phone(), p.font("sans", 16, "bold"))
        return layout
    if layout == "inverted":
        band = c.randint(180, 420)
        p.d.rectangle([0, y, p.w, y + band], fill=c.randint(0, 60))
        hf = p.font("display", c.randint(36, 60), "bold", family=disp)
        p.para(L + 10, y + 30, R - L - 20, head, hf, align="center", fill=255, leading=1.1)
        y += band + 20
    else:
        hf = p.font("display", c.randint(34, 58), "bold", family=disp)
        y = p.para(L, y, R - L, head, hf, align=c.choice(["center", "left"]), leading=1.1) + 10
    ih = c.randint(200, 420)
    p.image_block(L if c.chance(0.5) else 0, y, R if c.chance(0.5) else p.w, min(B - 200, y + ih),
                  c.choice(["photo", "halftone", "silhouette"]))
    y = min(B - 200, y + ih) + 16
    bf = p.font(c.choice(["sans", "serif"]), c.randint(13, 18))
    y = p.para(L + 20, y, R - L - 40, " ".join(c.choice(AD_BODY) for _ in range(c.randint(1, 3))), bf,
               align="center") + 10
    if c.mix() and y < B - 260:  # advertorial: a block of news-like copy
        sf = p.font("serif", c.randint(10, 12))
        y = p.para(L + 20, y, R - L - 40, T.paragraph(c.choice(["news", "biz"]), (3, 6)), sf, justify=True,
                   max_y=B - 200) + 10
    if layout == "coupon" and y < B - 180:
        ch = 150
        p.dashed_rect(L + 30, y, R - 30, y + ch)
        cf = p.font("display", c.randint(26, 36), "bold", family=disp)
        p.line(L + 50, y + 14, c.choice(["SAVE", "SAVE 50c", "$1.00 OFF", "FREE"]), cf)
        sf = p.font("sans", 10)
        p.para(L + 50, y + 64, (R - L) * 0.5, "MANUFACTURER'S COUPON. Redeem on any pack or carton. Expires "
               + T.date(1) + ".", sf)
        bx = R - 180
        for k in range(34):  # barcode
            if c.chance(0.55):
                p.vline(bx + k * 3, y + 40, y + 110, c.randint(1, 2), fill=0)
        y += ch + 14
    lf = p.font("display", c.randint(26, 40), family=disp)
    if c.chance(0.5):
        p.logo(R - 150, B - 150, 40)
    p.line(L + 10, B - 140, brand, lf)
    if c.chance(0.7):  # warning box
        wf = p.font("sans", c.randint(9, 11), "bold")
        wy = B - 70
        p.rect(L, wy - 6, L + (R - L) * 0.65, wy + 46, width=2)
        p.para(L + 6, wy, (R - L) * 0.65 - 12, c.choice(WARNINGS), wf, leading=1.15, max_y=wy + 46)
    elif c.chance(0.5):
        p.line(L + 10, B - 60, c.choice(AD_BODY), p.font("sans", 11))
    return layout


def _bullet(c, T: Text) -> str:
    return c.choice([c.choice(TOPICS).capitalize(),
                     f"{c.choice(['Increase', 'Reduce', 'Expand', 'Improve', 'Review', 'Test'])} {c.choice(PRODUCTS)} "
                     f"{c.choice(['share', 'costs', 'distribution', 'awareness', 'quality', 'sales'])}",
                     f"{c.randint(5, 60)}% {c.choice(['growth', 'of smokers', 'share', 'reach', 'trial rate'])}",
                     f"{c.choice(DEPTS)} {c.choice(['support', 'review', 'budget', 'timing'])}",
                     f"{c.choice(['Launch', 'Complete', 'Report'])} by {T.f.month_name()} {T.year()}"])


def presentation(p: Page, T: Text) -> str:
    c = p.ctx
    layout = "handout" if p.h > p.w and c.chance(0.5) else c.choice(["slide", "slide_chart", "overhead"])
    role = c.choice(["sans", "sans", "serif", "display"])
    if layout == "handout":
        L, R, top, B = margins(p, 40, 60)
        n = c.randint(2, 3)
        sh = (B - top) / n
        sw = (R - L) * (0.6 if c.chance(0.6) else 0.95)
        for k in range(n):
            p.new_flow()
            y0 = top + k * sh + 8
            x0, x1, y1 = L, L + sw, y0 + sh - 24
            p.rect(x0, y0, x1, y1, width=2)
            tf = p.font(role, c.randint(14, 18), "bold")
            p.line_center((x0 + x1) / 2, y0 + 10, c.choice(TOPICS).title(), tf)
            bf = p.font(role, c.randint(10, 12))
            yy = y0 + 44
            for _ in range(c.randint(2, 4)):
                if yy > y1 - 20:
                    break
                p.d.ellipse([x0 + 16, yy + 4, x0 + 21, yy + 9], fill=p.ink)
                yy = p.para(x0 + 28, yy, sw - 44, _bullet(c, T), bf) + 4
            if sw < (R - L) * 0.9:
                for ln in range(5):
                    p.hline(x1 + 20, R, y0 + 30 + ln * 34, 1, fill=150)
        return layout
    frame = c.chance(0.7)
    L, R, top, B = 40, p.w - 40, 40, p.h - 40
    if frame:
        p.rect(L - 15, top - 15, R + 15, B + 15, width=c.randint(2, 5))
    if c.chance(0.4):  # title bar
        p.d.rectangle([L - 15 if frame else 0, top - 15 if frame else 0, R + 15 if frame else p.w, top + 70],
                      fill=c.randint(30, 120))
        tfill = 255
    else:
        tfill = None
    tf = p.font(role, c.randint(28, 44), "bold")
    title = c.choice([c.choice(TOPICS).title(), f"{T.year()} {c.choice(['Marketing Plan', 'Objectives', 'Results', 'Strategy', 'Overview'])}",
                      c.choice(["Key Findings", "Agenda", "Next Steps", "Background", "Recommendations", "Summary"])])
    p.line_center((L + R) / 2, top + 12, title, tf, fill=tfill)
    y = top + 100
    bf = p.font(role, c.randint(18, 28))
    if layout == "slide_chart":
        cx0, cx1 = L + 60, R - 60
        if c.chance(0.3):
            p.pie_chart((L + R) / 2, (y + B) / 2, min(R - L, B - y) * 0.35)
        else:
            lab_f = p.font(role, 14)
            labels = [str(T.year()) for _ in range(6)] if c.chance(0.5) else None
            p.bar_chart(cx0, y + 20, cx1, B - 70, n=c.randint(3, 6), labels=labels, font=lab_f)
    else:
        bullets = c.randint(2, 6)
        for _ in range(bullets):
            if y > B - 60:
                break
            if c.chance(0.5):
                p.d.ellipse([L + 20, y + bf.size * 0.35, L + 30, y + bf.size * 0.35 + 10], fill=p.ink)
            else:
                p.d.rectangle([L + 20, y + bf.size * 0.35, L + 29, y + bf.size * 0.35 + 9], fill=p.ink)
            txt = _bullet(c, T)
            y = p.para(L + 44, y, R - L - 60, txt, bf, leading=1.2) + bf.size // 2
            if layout == "overhead" and c.chance(0.4):  # sub-bullets
                sf = p.font(role, bf.size - 6)
                p.line(L + 80, y, "- " + c.choice(PRODUCTS) + " " + c.choice(["test", "program", "launch"]), sf)
                y += p.line_height(sf, 1.4)
    ff = p.font("sans", 11)
    if c.chance(0.7):
        p.line(L, B - 14, T.company() if c.chance(0.5) else c.choice(["CONFIDENTIAL", c.choice(DEPTS)]), ff)
        p.line_right(R, B - 14, str(c.randint(1, 40)), ff)
    return layout


def file_folder(p: Page, T: Text) -> str:
    c = p.ctx
    layout = c.choice(["tab", "tab", "label_only", "redweld"])
    # card stock: darker paper drawn as a big filled shape
    stock = c.randint(175, 235)
    w, h = p.w, p.h
    tab_w = int(w * c.uniform(0.25, 0.4))
    tab_x = int(c.uniform(0.05, 0.95) * (w - tab_w))
    body_top = c.randint(60, 110)
    if layout == "redweld":
        p.d.rectangle([10, 10, w - 10, h - 10], fill=stock, outline=0, width=3)
        for k in range(c.randint(2, 5)):  # expanding-file ribs
            xx = 30 + k * 12
            p.vline(xx, 20, h - 20, 2, fill=max(0, stock - 70))
    else:
        p.d.polygon([(10, body_top), (tab_x, body_top), (tab_x + 20, 20), (tab_x + tab_w - 20, 20),
                     (tab_x + tab_w, body_top), (w - 10, body_top), (w - 10, h - 10), (10, h - 10)],
                    fill=stock, outline=0)
        p.d.line([(10, body_top), (tab_x, body_top), (tab_x + 20, 20), (tab_x + tab_w - 20, 20),
                  (tab_x + tab_w, body_top), (w - 10, body_top)], fill=0, width=3)
        if c.chance(0.6):  # score lines
            for k in range(c.randint(1, 3)):
                yy = body_top + 20 + k * 10
                p.hline(14, w - 14, yy, 1, fill=max(0, stock - 50))
    label_words = 0
    if layout != "label_only" or c.chance(0.9):
        # tab label sticker
        lx0, ly0 = tab_x + 26, 28
        lx1, ly1 = tab_x + tab_w - 26, body_top - 6
        p.d.rectangle([lx0, ly0, lx1, ly1], fill=c.randint(235, 255), outline=80)
        lf = p.font(c.choice(["mono", "sans", "hand"]), c.randint(12, 18), c.choice(["regular", "bold"]))
        txt = c.choice([T.name().upper(), f"{T.last().upper()}, {T.f.first_name()}", c.choice(TOPICS).title(),
                        f"{c.choice(['File', 'Box', 'No.'])} {T.code()}", T.company()])
        toks = txt.split()
        while toks and lf.getlength(" ".join(toks)) > lx1 - lx0 - 8:
            toks = toks[:-1]
        if toks:
            p.line(lx0 + 4, ly0 + 3, " ".join(toks), lf)
            label_words += len(toks)
    if layout == "label_only" or c.chance(0.4):
        # big label on the folder face
        p.new_flow()
        bx, by = c.randint(60, w // 3), c.randint(h // 4, h // 2)
        bw, bh = c.randint(200, w - bx - 60), c.randint(60, 160)
        p.d.rectangle([bx, by, bx + bw, by + bh], fill=c.randint(230, 255), outline=60, width=2)
        frole = c.choice(["hand", "mono", "sans"])
        hf = p.font(frole, c.randint(16, 26))
        yy = by + 10
        for ln in [T.name(), c.choice(TOPICS).title(), f"{T.date(1)} - {T.date(1)}"][:c.randint(1, 3)]:
            if yy + hf.size > by + bh - 4:
                break
            if frole == "hand":
                p.hand_line(bx + 10, yy, ln, hf, max_x=bx + bw - 10)
            else:
                toks = ln.split()
                while toks and hf.getlength(" ".join(toks)) > bw - 20:
                    toks = toks[:-1]
                p.line(bx + 10, yy, " ".join(toks), hf)
            yy += int(hf.size * 1.4)
    if c.chance(0.35):
        p.stamp(c.uniform(w * 0.3, w * 0.7), c.uniform(h * 0.55, h * 0.85),
                [c.choice(["CONFIDENTIAL", "ATTORNEY CLIENT PRIVILEGED", "FILE COPY", "DO NOT REMOVE"])],
                c.uniform(-15, 15), size=c.randint(16, 26))
    if c.chance(0.3):  # handwritten note on the face
        p.new_flow()
        hf = p.font("hand", c.randint(18, 26))
        p.hand_line(c.randint(60, 200), c.randint(int(h * 0.6), int(h * 0.85)), c.choice(TOPICS).title(), hf,
                    max_x=w - 40)
    if c.chance(0.3):  # scanner saw a sheet edge inside the folder
        yy = c.randint(int(h * 0.2), int(h * 0.9))
        p.hline(10, w - 10, yy, 2, fill=max(0, stock - 60))
    return layout


def handwritten(p: Page, T: Text) -> str:
    c = p.ctx
    L, R, top, B = margins(p, 40, 80)
    layout = c.choice(["lined_note", "notes", "phone_msg", "annotated_letter"])
    fam = p.family("hand")
    size = c.randint(20, 28)
    hf = F.load(fam.face("bold" if c.chance(0.3) else "regular"), size)
    lh = int(size * c.uniform(1.35, 1.7))
    pen = c.randint(0, 80)
    slope = c.uniform(-1.5, 1.5)
    y = top
    if layout == "lined_note":
        ruled = c.randint(140, 200)
        yy = top + 40
        while yy < B:
            p.hline(0, p.w, yy, 1, fill=ruled)
            yy += lh
        if c.chance(0.7):
            p.vline(L - 12, 0, p.h, 1, fill=ruled - 20)
        y = top + 40 - int(size * 0.9)
    elif layout == "phone_msg":  # small printed pad, handwritten content (form-like)
        pf = p.font("sans", 12, "bold")
        sf = p.font("sans", 10)
        p.rect(L, y, R, min(B, y + 520), width=2)
        p.line_center((L + R) / 2, y + 12, c.choice(["WHILE YOU WERE OUT", "TELEPHONE MESSAGE", "IMPORTANT MESSAGE"]), pf)
        yy = y + 44
        for lab in ["For", "Date", "Time", "M", "of", "Phone"]:
            x2 = p.line(L + 14, yy + 6, lab, sf)
            p.hline(x2 + 6, R - 14, yy + 20, 1, fill=120)
            val = {"For": T.f.first_name(), "Date": T.date(1), "Time": f"{c.randint(1, 12)}:{c.randint(0, 59):02d}",
                   "M": T.name(), "of": T.company(), "Phone": T.phone()}[lab]
            p.hand_line(x2 + 14, yy - 6, val, hf, fill=pen, max_x=R - 20)
            yy += 40
        x = L + 14
        for opt in ["Telephoned", "Please call", "Will call again", "Returned your call"]:
            p.checkbox(x, yy + 4, 10, checked=c.chance(0.3))
            x = p.line(x + 14, yy + 2, opt, sf) + 12
        yy += 30
        p.line(L + 14, yy, "Message", sf)
        yy += 18
        y = yy
        R = R - 20
        B = min(B, top + 510)
    elif layout == "annotated_letter":  # printed header, handwritten body
        cf = p.font("serif", c.randint(16, 22), "bold")
        p.line_center((L + R) / 2, y, T.company(), cf)
        y += 40
        p.hline(L, R, y, 1)
        y += 30
    if layout != "phone_msg" and c.mix(0.03):  # a handwritten memo: To/From/Re lines
        for lab, val in (("To:", T.name()), ("From:", T.f.first_name()), ("Re:", c.choice(TOPICS))):
            p.hand_line(L, y, f"{lab} {val}", hf, fill=pen, slope=slope, max_x=R)
            y += lh
        y += lh // 2
    elif c.mix(0.05) or layout == "annotated_letter":  # letter-like salutation
        p.hand_line(L, y, f"Dear {T.f.first_name()},", hf, fill=pen, slope=slope)
        y += lh
    # flowing text, wrapped to the writing width (handwriting runs ~15% wider than typeset)
    queue: list[str] = []
    while y < B - lh:
        x0 = L + (c.randint(0, 30) if layout == "notes" else 0)
        if layout == "notes" and c.chance(0.3):
            words = ("- " + c.choice([c.choice(TOPICS), c.choice(PRODUCTS) + " " + c.choice(["samples", "budget", "test", "call"]),
                                      f"call {T.f.first_name()} re {c.choice(TOPICS)}", f"{T.date(1)} meeting"])).split()
            queue = []
        else:
            if len(queue) < 20:
                queue += (T.biz_sentence() if c.chance(0.6) else T.filler()).split()
            words = queue
        line = []
        for wd in words:
            if line and hf.getlength(" ".join(line + [wd])) * 1.15 > R - x0:
                break
            line.append(wd)
        if words is queue:
            queue = queue[len(line):]
        if c.chance(0.12 + 0.2 * c.d):  # an illegible stretch (not text)
            k = max(1, len(line) // 2)
            ex, _ = p.hand_line(x0, y, " ".join(line[:k]), hf, fill=pen, slope=slope)
            p.pseudo_writing(ex + 8, y + size * 0.2, min(R - ex - 10, 200), size * 0.6, fill=pen)
        else:
            ex, _ = p.hand_line(x0, y, " ".join(line), hf, fill=pen, slope=slope)
            if c.chance(0.08):  # crossed-out last word
                p.stroke([(ex - 40, y + size * 0.6), (ex, y + size * 0.5)], width=2, fill=pen)
        y += lh
        if layout == "notes" and c.chance(0.2):
            y += lh // 2
    if c.chance(0.5) and y < B:
        p.scribble(R - 200, min(B - 30, y), 120, 30)
    return layout
