"""news_article and resume."""
from __future__ import annotations

from ..content import DEGREES, DEPTS, FIELDS, JOB_VERBS, JOURNALS, PRODUCTS, Text, clean
from ..page import Page
from .common import margins

PAPERS = ["The Daily {c}", "{c} Herald", "{c} Tribune", "The {c} Times", "{c} Gazette", "{c} Post-Dispatch",
          "The {c} Sun", "{c} Journal", "{c} Courier", "The {c} Register"]


def news_article(p: Page, T: Text) -> str:
    c = p.ctx
    layout = c.choice(["clipping", "clipping", "full_page", "wire"])
    city = clean(T.f.city())
    paper = c.choice(PAPERS).format(c=city)
    role = c.choice(["serif", "serif", "sans"])
    font = p.font(role, c.randint(10, 12))
    lh = p.line_height(font, 1.2)
    if layout == "wire":  # typed wire copy: one column, looks like a report/letter
        L, R, top, B = margins(p, 60, 90)
        mono = p.font("mono", c.randint(12, 14))
        y = top
        p.line(L, y, f"{c.choice(['AP', 'UPI', 'Reuters'])}-{c.randint(10, 99)}-{T.date(1)}", mono)
        y += lh * 2
        y = p.para(L, y, R - L, T.title("news").upper(), mono) + lh
        p.line(L, y, f"{city.upper()} ({c.choice(['AP', 'UPI'])}) --", mono)
        y += lh
        while y < B - lh * 3:
            y = p.para(L, y, R - L, T.paragraph("news", (2, 4)), mono, indent=40, max_y=B) + 4
        return layout
    if layout == "clipping":
        # clipping pasted on a page: newsprint rectangle with its own tone
        cw_total = int(p.w * c.uniform(0.55, 0.9))
        x0 = c.randint(20, p.w - cw_total - 20)
        y0 = c.randint(30, 120)
        y1 = p.h - c.randint(40, 260)
        tone = c.randint(215, 245)
        p.d.rectangle([x0, y0, x0 + cw_total, y1], fill=tone, outline=c.randint(60, 160))
        L, R, top, B = x0 + 12, x0 + cw_total - 12, y0 + 10, y1 - 10
        if c.chance(0.6):  # source note typed/handwritten on the page above the clipping
            sf = p.font(c.choice(["mono", "hand"]), 14)
            p.line(x0, max(4, y0 - 24), f"{paper}, {T.date(0)}", sf)
            p.new_flow()
    else:
        L, R, top, B = margins(p, 25, 45)
        mf = p.font(c.choice(["display", "serif"]), c.randint(30, 44), "bold")
        p.line_center((L + R) / 2, top, paper, mf)
        y = top + p.line_height(mf, 1.15)
        p.hline(L, R, y, 2)
        sf = p.font(role, 9)
        p.line(L, y + 3, T.date(0).upper(), sf)
        p.line_right(R, y + 3, f"{c.choice(['Section', 'Page'])} {c.choice('ABCD')}{c.randint(1, 30)}", sf)
        p.hline(L, R, y + 16, 1)
        top = y + 26
    y = top
    hf = p.font(c.choice(["serif", "display", "sans"]), c.randint(20, 34), "bold")
    y = p.para(L, y, R - L, T.title("news"), hf, leading=1.1, align=c.choice(["left", "center"])) + 4
    if c.chance(0.5):
        y = p.para(L, y, R - L, T.news_sentence(), p.font(role, c.randint(13, 16), "italic")) + 4
    if c.chance(0.7):
        p.line(L, y, f"By {T.name().upper() if c.chance(0.5) else T.name()}", p.font(role, 10, "bold"))
        y += lh + 4
    ncol = c.randint(2, 4) if (R - L) > 450 else c.randint(1, 2)
    if c.d > 0.8 and c.chance(0.4):
        ncol = 1
    gut = c.randint(10, 18)
    cw = (R - L - gut * (ncol - 1)) / ncol
    photo_col = c.randint(0, ncol - 1) if c.chance(0.5) else -1
    for k in range(ncol):
        p.new_flow()
        x = L + k * (cw + gut)
        cy = y
        if k > 0 and c.chance(0.6):
            p.vline(x - gut / 2, y, B, 1)
        if k == photo_col:
            ph = c.randint(100, 220)
            p.image_block(x, cy, x + cw, cy + ph, c.choice(["halftone", "photo", "silhouette"]))
            cy += ph + 4
            cy = p.para(x, cy, cw, T.news_sentence(), p.font(role, 9, "italic")) + 8
        if k == 0 and c.chance(0.6):
            p.line(x, cy, f"{city.upper()} -", p.font(role, font.size, "bold"))
            cy += lh
        while cy < B - lh * 2:
            cy = p.para(x, cy, cw, T.paragraph("news", (1, 4)), font, justify=True, indent=10, max_y=B) + 2
            if c.chance(0.1) and cy < B - 60:  # subhead
                cy = p.para(x, cy + 4, cw, " ".join(T.filler().split()[:3]), p.font(role, font.size + 1, "bold")) + 2
    if layout == "clipping" and c.chance(0.4):  # torn/cut bottom edge
        yy = B + 4
        pts = [(L - 12 + i * 8, yy + c.randint(0, 8)) for i in range(int((R - L + 24) / 8) + 1)]
        p.d.line(pts, fill=c.randint(60, 140), width=1)
    return layout


def resume(p: Page, T: Text) -> str:
    c = p.ctx
    L, R, top, B = margins(p, 55, 90)
    layout = c.choice(["classic", "cv", "biosketch"])
    role = c.choice(["serif", "sans", "mono"])
    font = p.font(role, c.randint(11, 13))
    bold = p.font(role, font.size, "bold")
    lh = p.line_height(font, 1.3)
    y = top
    name = T.name()
    if layout == "biosketch":
        tf = p.font("sans", c.randint(14, 17), "bold")
        if c.cue(0.6):
            p.line_center((L + R) / 2, y, "BIOGRAPHICAL SKETCH", tf)
            y += lh * 2
        rows = [["NAME", "POSITION TITLE"], [name, T.job()]]
        y = p.table(L, y, [(R - L) / 2, (R - L) / 2], rows, font, p.font("sans", 9, "bold"), grid="full") + 10
        rows = [["INSTITUTION AND LOCATION", "DEGREE", "YEAR(s)", "FIELD OF STUDY"]]
        for _ in range(c.randint(2, 4)):
            rows.append([f"{T.last()} University", c.choice(DEGREES), str(T.year()), c.choice(FIELDS)])
        w = R - L
        y = p.table(L, y, [w * 0.42, w * 0.14, w * 0.14, w * 0.3], rows, font, p.font("sans", 9, "bold"),
                    grid="full") + lh
    else:
        nf = p.font(role, c.randint(18, 26), "bold")
        if layout == "cv" and c.cue(0.6):
            p.line_center((L + R) / 2, y, c.choice(["CURRICULUM VITAE", "Curriculum Vitae", "RESUME", "VITA"]),
                          p.font(role, c.randint(14, 18), "bold"))
            y += lh * 2
        if c.chance(0.6):
            p.line_center((L + R) / 2, y, name, nf)
            y += p.line_height(nf, 1.2)
            addr = T.address_lines()
            y = p.text_block(L, y, [f"{addr[0]}, {addr[1]}", T.phone()], font, align="center", width=R - L)
        else:
            p.line(L, y, name.upper(), nf)
            y += p.line_height(nf, 1.2)
            y = p.text_block(L, y, T.address_lines() + [T.phone()], font)
        y += lh // 2
        p.hline(L, R, y, c.randint(1, 2))
        y += lh
    if layout == "cv" and c.chance(0.7):
        p.line(L, y, "PERSONAL DATA" if c.chance(0.5) else "Personal", bold)
        y += lh
        for lab, val in [("Born:", f"{T.f.month_name()} {c.randint(1, 28)}, {T.year() - 40}, {clean(T.f.city())}"), ("Citizenship:", "U.S.A."),
                         ("Marital Status:", c.choice(["Married", "Single"]))][:c.randint(1, 3)]:
            p.line(L + 20, y, lab, font)
            p.line(L + 160, y, val, font)
            y += lh
        y += lh // 2
    sections = ["EDUCATION", "EXPERIENCE", "PROFESSIONAL EXPERIENCE", "EMPLOYMENT"]
    order = c.r.sample(["edu", "exp", "exp", "pub", "aff", "skills"], c.randint(3, 5))
    if "edu" not in order:
        order.insert(0, "edu")
    date_w = c.randint(95, 130)
    head_upper = c.chance(0.6)
    for sec in order:
        if y > B - lh * 4:
            break
        title = {"edu": "EDUCATION", "exp": c.choice(sections[1:]), "pub": "PUBLICATIONS",
                 "aff": c.choice(["PROFESSIONAL AFFILIATIONS", "MEMBERSHIPS", "HONORS AND AWARDS"]),
                 "skills": c.choice(["SKILLS", "LANGUAGES", "REFERENCES"])}[sec]
        if layout == "biosketch" and sec == "edu":
            continue
        p.line(L, y, title if head_upper else title.title(), bold)
        y += lh
        if c.chance(0.4):
            p.hline(L, R, y - 3, 1)
        y += 4
        if sec in ("edu", "exp"):
            for _ in range(c.randint(1, 3) if sec == "edu" else c.randint(2, 4)):
                if y > B - lh * 3:
                    break
                y1 = T.year()
                dates = f"{y1}" if sec == "edu" else f"{y1 - c.randint(1, 8)}-{y1}" if c.chance(0.7) else f"{y1}-present"
                p.line(L, y, dates, font)
                if sec == "edu":
                    txt = f"{c.choice(DEGREES)} {c.choice(FIELDS)}, {T.last()} University, {clean(T.f.city())}"
                    y = p.para(L + date_w, y, R - L - date_w, txt, font) + 4
                else:
                    p.line(L + date_w, y, f"{T.job()}, {T.company()}", bold)
                    y += lh
                    for _ in range(c.randint(1, 3)):
                        txt = f"{c.choice(JOB_VERBS)} {c.choice(['the', 'a', 'all'])} {c.choice(PRODUCTS)} {c.choice(['program', 'studies', 'group', 'projects', 'budget'])} for {c.choice(DEPTS)}."
                        y = p.para(L + date_w + 14, y, R - L - date_w - 14, txt, font, max_y=B) + 1
                    y += 5
        elif sec == "pub":
            for k in range(c.randint(2, 5)):
                if y > B - lh * 3:
                    break
                ref = f"{k + 1}. {T.last()}, {T.f.first_name()[0]}. and {T.last()}, {T.f.first_name()[0]}. {T.title('sci')}. {c.choice(JOURNALS)} {c.randint(1, 60)}: {c.randint(1, 900)} ({T.year()})."
                y = p.para(L + 14, y, R - L - 14, ref, font, max_y=B) + 3
        else:
            items = [f"{c.choice(['American', 'National', 'International'])} {c.choice(['Chemical', 'Marketing', 'Statistical', 'Management'])} {c.choice(['Society', 'Association'])}"
                     for _ in range(c.randint(1, 3))]
            if title == "REFERENCES":
                items = ["Available upon request."]
            for it in items:
                p.line(L + 14, y, it, font)
                y += lh
        y += lh // 2
    return layout
