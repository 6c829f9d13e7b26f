"""scientific_report, scientific_publication, specification: the three share scientific prose.

Publications: journal furniture (running head, abstract, two columns, references, volume/page).
Reports: in-house typed report headers (Report No., Project, Distribution), one column, tables and
figures. Specifications: spec number/revision blocks, parameter tables with limits, 'shall' clauses.
Hard pages lose their furniture and borrow the others' (one-column publications, two-column reports,
prose-only specifications)."""
from __future__ import annotations

from ..content import JOURNALS, SCI_MATERIALS, SCI_MEASURES, SCI_METHODS, SECTIONS_SCI, SPEC_PARAMS, UNITS, Text
from ..page import Page
from .common import footer_page, margins


def _data_table(p: Page, T: Text, x, y, width, font, max_y, cols=None):
    c = p.ctx
    ncol = cols or c.randint(3, 6)
    head = [c.choice(["Sample", "Code", "Treatment", "Blend", "Condition"])] + \
        [c.choice(SCI_MEASURES).title()[:14] if c.chance(0.6) else f"Test {k + 1}" for k in range(ncol - 1)]
    rows = [head]
    for i in range(c.randint(3, 9)):
        rows.append([c.choice([f"{c.choice('ABCDEFGH')}-{i + 1}", f"{c.randint(100, 999)}", f"Control {i + 1}"])] +
                    [f"{c.rng.uniform(0, 100):.{c.randint(1, 3)}f}" for _ in range(ncol - 1)])
    if c.chance(0.5):
        p.line(x, y, f"Table {c.randint(1, 9)}. {c.choice(SCI_MEASURES).title()} of {c.choice(SCI_MATERIALS)}", font)
        y += p.line_height(font, 1.5)
    first = width * 0.28
    cw = [first] + [(width - first) / (ncol - 1)] * (ncol - 1)
    return p.table(x, y, cw, rows, font, font, grid=c.choice(["head", "rows", "full", "none"]),
                   align=["l"] + ["r"] * (ncol - 1), max_y=max_y)


def _figure(p: Page, T: Text, x, y, width, height, font):
    c = p.ctx
    if c.chance(0.5):
        p.line_chart(x + 30, y, x + width - 10, y + height, series=c.randint(1, 3))
    else:
        p.bar_chart(x + 30, y, x + width - 10, y + height)
    y += height + 8
    cap = f"{c.choice(['Figure', 'Fig.'])} {c.randint(1, 9)}. {c.choice(SCI_MEASURES).capitalize()} as a function of {c.choice(['time', 'temperature', 'concentration', 'dose', 'puff number'])}."
    return p.para(x, y, width, cap, font) + 6


def _sections(p: Page, T: Text, x, y, width, font, head_font, max_y, numbered, justify, extras=True):
    c = p.ctx
    lh = p.line_height(font, 1.3)
    secs = c.r.sample(SECTIONS_SCI, c.randint(2, 4))
    for i, s in enumerate(secs):
        if y > max_y - lh * 3:
            break
        label = (f"{i + 1}. " if numbered else "") + (s if c.chance(0.6) else s.title())
        p.line(x, y, label, head_font)
        y += p.line_height(head_font, 1.5)
        for _ in range(c.randint(1, 2)):
            y = p.para(x, y, width, T.paragraph("sci", (2, 5)), font, justify=justify,
                       indent=18 if c.chance(0.4) else 0, max_y=max_y) + lh // 3
        if extras and c.chance(0.25) and y < max_y - 200:
            y = _data_table(p, T, x, y + 4, width, font, max_y) + lh
        elif extras and c.chance(0.15) and y < max_y - 220:
            y = _figure(p, T, x + width * 0.1, y + 4, width * 0.8, c.randint(110, 170), font) + lh // 2
    return y


def scientific_report(p: Page, T: Text) -> str:
    c = p.ctx
    L, R, top, B = margins(p, 60, 95)
    layout = c.choice(["tech_report", "title_page", "data_report", "continuation"])
    font = p.font(c.choice(["mono", "mono", "serif", "sans"]), c.randint(12, 14))
    role_b = c.choice(["sans", "serif"])
    hb = p.font(role_b, font.size + c.randint(0, 2), "bold")
    lh = p.line_height(font, 1.3)
    y = top
    kind = c.choice(["RESEARCH REPORT", "TECHNICAL REPORT", "PROGRESS REPORT", "LABORATORY REPORT",
                     "RESEARCH AND DEVELOPMENT REPORT", "ANALYTICAL REPORT", "Report of Investigation",
                     "MONTHLY REPORT", "PROJECT REPORT"])
    if layout == "title_page":
        org = T.company()
        of = p.font(c.choice(["serif", "sans"]), c.randint(16, 22), "bold")
        y += c.randint(40, 120)
        p.line_center((L + R) / 2, y, org.upper(), of)
        y += p.line_height(of, 1.4)
        p.line_center((L + R) / 2, y, c.choice(["Research Center", "Research and Development Department",
                                                "Scientific Services", "Analytical Division"]), font)
        y += lh * 3
        if c.cue(0.7):
            p.line_center((L + R) / 2, y, kind.upper(), hb)
            y += lh * 2
        tf = p.font(c.choice(["serif", "sans"]), c.randint(18, 24), "bold")
        y = p.para(L + 40, y, R - L - 80, T.title("sci"), tf, align="center") + lh * 2
        p.line_center((L + R) / 2, y, "by" if c.chance(0.5) else "Prepared by", font)
        y += lh * 1.5
        for _ in range(c.randint(1, 3)):
            p.line_center((L + R) / 2, y, T.name(), font)
            y += lh
        y += lh * 3
        for ln in [T.date(0), f"Report No. {T.code('RDR ')}" if c.cue(0.5) else "",
                   f"Project {c.randint(100, 9999)}" if c.chance(0.5) else ""]:
            if ln:
                p.line_center((L + R) / 2, y, ln, font)
                y += lh
        if c.chance(0.5):
            y = max(y + lh * 2, B - 140)
            p.line(L, y, "DISTRIBUTION:" if c.chance(0.5) else "Distribution", hb)
            y += lh
            for _ in range(c.randint(2, 5)):
                p.line(L + 20, y, T.name(), font)
                y += lh
        if c.chance(0.5):
            p.stamp(R - 110, top + 40, [c.choice(["CONFIDENTIAL", "RESTRICTED", "COMPANY CONFIDENTIAL"])],
                    c.uniform(-8, 8), size=c.randint(14, 20))
        return layout
    if layout != "continuation" and c.cue(0.8):
        p.line(L, y, kind if c.chance(0.5) else kind.upper(), p.font(role_b, c.randint(16, 22), "bold"))
        y += lh * 2
        rows = [("Report No.:", T.code("R")), ("Date:", T.date()), ("Project:", f"{c.randint(100, 9999)} - {c.choice(SCI_MATERIALS).title()}"),
                ("Author(s):", f"{T.name()}, {T.short_name()}")]
        if c.chance(0.5):
            rows.append(("Distribution:", f"{T.short_name()}, {T.short_name()}, File"))
        rows = [r for r in rows if c.chance(0.8)]
        for lab, val in rows:
            p.line(L, y, lab, font)
            p.line(L + 150, y, val, font)
            y += lh
        y += lh // 2
        p.hline(L, R, y, 2)
        y += lh
    if layout != "continuation":
        tf = p.font(role_b, c.randint(14, 18), "bold")
        y = p.para(L, y, R - L, T.title("sci").upper() if c.chance(0.5) else T.title("sci"), tf,
                   align=c.choice(["left", "center"])) + lh
    else:
        sf = p.font("sans", 10)
        p.line(L, y, c.choice(["-2-", f"Page {c.randint(2, 12)}", f"{kind.title()} {T.code('R')}"]), sf)
        y += lh * 2
    max_y = B - 30
    two_col = c.mix(0.02) and c.chance(0.5)
    if two_col:  # publication-like columns on a hard page
        gut = 24
        cw = (R - L - gut) / 2
        small = p.font("serif", font.size - 2)
        p.new_flow()
        _sections(p, T, L, y, cw, small, hb, max_y, c.chance(0.7), True, extras=False)
        p.new_flow()
        _sections(p, T, L + cw + gut, y, cw, small, hb, max_y, c.chance(0.7), True, extras=False)
        return layout + "+columns"
    if layout == "data_report" or c.mix():
        y = p.para(L, y, R - L, T.paragraph("sci", (2, 4)), font) + lh
        if c.mix():  # a specification-style limits table
            rows = [["Parameter", "Unit", "Target", "Min", "Max"]]
            for prm in c.r.sample(SPEC_PARAMS, c.randint(4, 9)):
                tgt = c.rng.uniform(1, 100)
                rows.append([prm, c.choice(UNITS), f"{tgt:.1f}", f"{tgt * 0.95:.1f}", f"{tgt * 1.05:.1f}"])
            w = R - L
            y = p.table(L, y, [w * 0.36] + [w * 0.16] * 4, rows, font, hb, grid=c.choice(["full", "head"]),
                        align=["l", "c", "r", "r", "r"], max_y=max_y - 200) + lh
        else:
            y = _data_table(p, T, L, y, R - L, font, max_y - 200) + lh
        if y < max_y - 250:
            y = _figure(p, T, L + 40, y, R - L - 80, c.randint(150, 220), font) + lh
        p.para(L, y, R - L, T.paragraph("sci", (1, 3)), font, max_y=max_y)
    else:
        _sections(p, T, L, y, R - L, font, hb, max_y, c.chance(0.7), c.chance(0.3))
    if c.chance(0.4):
        footer_page(p, B + 5, L, R, p.font("serif", 10))
    return layout


def scientific_publication(p: Page, T: Text) -> str:
    c = p.ctx
    L, R, top, B = margins(p, 45, 70)
    layout = c.choice(["two_col", "two_col", "one_col", "references"])
    if c.d > 0.7 and c.chance(0.4):
        layout = "one_col"
    role = c.choice(["serif", "serif", "sans"])
    font = p.font(role, c.randint(10, 12))
    it = p.font(role, font.size, "italic")
    hb = p.font(role, font.size + 1, "bold")
    lh = p.line_height(font, 1.25)
    y = top
    journal = c.choice(JOURNALS)
    if c.cue(0.6):  # running head
        sf = p.font(role, 9, "italic" if c.chance(0.5) else "regular")
        p.line(L, y, f"{journal}, {c.randint(1, 60)} ({T.year()}) {c.randint(1, 900)}-{c.randint(901, 999)}"
               if c.chance(0.6) else journal, sf)
        p.line_right(R, y, str(c.randint(1, 999)), sf)
        y += lh
        p.hline(L, R, y, 1)
        y += lh
    full_title = layout != "references" and c.chance(0.7)
    if full_title:
        tf = p.font(role, c.randint(15, 20), "bold")
        y = p.para(L + 20, y, R - L - 40, T.title("sci"), tf, align="center", leading=1.2) + lh // 2
        authors = ", ".join(T.name() for _ in range(c.randint(1, 4)))
        y = p.para(L, y, R - L, authors, p.font(role, font.size + 1), align="center") + 2
        y = p.para(L + 30, y, R - L - 60, f"{c.choice(['Department of', 'Division of', 'Institute of'])} "
                   f"{c.choice(['Chemistry', 'Pharmacology', 'Biochemistry', 'Toxicology', 'Physiology'])}, "
                   f"{T.f.last_name()} University, {T.f.city()}", it, align="center") + lh // 2
        if c.chance(0.5):
            y = p.para(L, y, R - L, f"(Received {T.date(0)}; accepted {T.date(0)})", p.font(role, 9),
                       align="center") + lh // 2
        if c.cue(0.7):
            ax = L + c.randint(0, 40)
            aw = R - L - 2 * (ax - L)
            lab = c.choice(["Abstract", "ABSTRACT", "Summary", "SUMMARY"])
            if c.chance(0.5):
                p.line_center((L + R) / 2, y, lab, hb)
                y += lh + 2
                y = p.para(ax, y, aw, T.paragraph("sci", (3, 6)), font, justify=True)
            else:
                x2 = p.line(ax, y, lab + (" -" if c.chance(0.5) else "."), hb)
                y = p.para(ax, y, aw, T.paragraph("sci", (3, 6)), font, justify=True, indent=x2 - ax + 6)
            if c.chance(0.6):
                kw = "; ".join(c.r.sample(SCI_MEASURES + SCI_METHODS, 4))
                y = p.para(ax, y + 3, aw, f"Keywords: {kw}", it)
            y += lh
            p.hline(L, R, y - lh // 2, 1)
    max_y = B - 20
    if layout == "references":
        p.line(L, y, c.choice(["REFERENCES", "References", "LITERATURE CITED"]), hb)
        y += lh * 1.5
    if layout == "one_col":
        y = _sections(p, T, L, y, R - L, font, hb, max_y, c.chance(0.6), True)
        return layout
    gut = c.randint(16, 30)
    cw = (R - L - gut) / 2
    for col in range(2):
        p.new_flow()
        x = L + col * (cw + gut)
        cy = y
        if layout == "references":
            k = 1 + col * 20
            while cy < max_y - lh * 3:
                ref = (f"{k}. {T.last()}, {T.f.first_name()[0]}.; {T.last()}, {T.f.first_name()[0]}. "
                       f"{c.choice(JOURNALS)} {T.year()}, {c.randint(1, 90)}, {c.randint(1, 900)}-{c.randint(901, 999)}.")
                cy = p.para(x, cy, cw, ref, font, justify=False, indent=0) + 3
                k += 1
            continue
        while cy < max_y - lh * 4:
            s = c.choice(SECTIONS_SCI)
            p.line(x, cy, s if c.chance(0.5) else s.title(), hb)
            cy += lh + 3
            cy = p.para(x, cy, cw, T.paragraph("sci", (3, 7)), font, justify=True, indent=12, max_y=max_y) + 3
            if c.chance(0.2) and cy < max_y - 180:
                cy = _figure(p, T, x, cy + 6, cw, c.randint(90, 140), p.font(role, 9)) + 4
            elif c.chance(0.15) and cy < max_y - 160:
                cy = _data_table(p, T, x, cy + 6, cw, p.font(role, 9), max_y, cols=c.randint(3, 4)) + lh
    if c.chance(0.5):
        p.new_flow()
        footer_page(p, B, L, R, p.font(role, 9), str(c.randint(1, 999)))
    return layout


def specification(p: Page, T: Text) -> str:
    c = p.ctx
    L, R, top, B = margins(p, 45, 80)
    layout = c.choice(["spec_table", "numbered", "material"])
    report_like = c.mix()  # reads like a research report: sections of prose, fewer spec furniture
    if report_like and c.chance(0.7):
        layout = "numbered"
    font = p.font(c.choice(["sans", "mono", "serif"]), c.randint(11, 13))
    bold = p.font("sans", font.size, "bold")
    lh = p.line_height(font, 1.35)
    y = top
    spec_word = c.cue(0.8) and not report_like
    thing = c.choice(["CIGARETTE", "FILTER ROD", "TIPPING PAPER", "CARTON", "CIGARETTE PAPER", "PLUG WRAP",
                      "ACETATE TOW", "ADHESIVE", "INNER FRAME", "SHIPPING CASE", "FLAVOR"])
    title = (f"{thing} SPECIFICATION" if c.chance(0.5) else f"PRODUCT SPECIFICATION - {thing}") if spec_word \
        else f"{thing} - {c.choice(['STANDARDS', 'REQUIREMENTS', 'DATA SHEET', 'TARGETS'])}"
    if layout == "material" or (c.chance(0.5) and not report_like):  # boxed header block
        p.rect(L, y, R, y + 70, width=2)
        tf = p.font("sans", c.randint(14, 18), "bold")
        p.line(L + 10, y + 10, title, tf)
        sf = p.font("sans", 9)
        meta = [f"Spec. No. {T.code()}" if spec_word else f"No. {T.code()}", f"Rev. {c.choice('ABCDEFG')}",
                f"Date: {T.date(1)}", f"Page {c.randint(1, 3)} of {c.randint(3, 6)}"]
        mx = L + 10
        for m in meta:
            mx = p.line(mx, y + 46, m, sf) + 30
        y += 84
    else:
        tf = p.font(c.choice(["sans", "serif"]), c.randint(15, 20), "bold")
        p.line_center((L + R) / 2, y, title, tf)
        y += p.line_height(tf, 1.4)
        if spec_word:
            p.line_center((L + R) / 2, y, f"Specification No. {T.code()}   Revision {c.randint(0, 12)}", font)
        else:
            p.line_center((L + R) / 2, y, f"{T.date(0)}", font)
        y += lh * 2
    max_y = B - 40
    if layout in ("spec_table", "material"):
        if layout == "material":
            for lab in c.r.sample(["Material", "Supplier", "Supplier Code", "Brand", "Application",
                                   "Supersedes", "Effective Date", "Approved"], c.randint(3, 6)):
                p.line(L, y, lab + ":", bold)
                p.line(L + 140, y, T.company() if "Supplier" == lab else T.code() if "Code" in lab or "Supersedes" in lab
                       else T.date(1) if "Date" in lab else c.choice(SCI_MATERIALS).title(), font)
                y += lh
            y += lh // 2
        head = ["Characteristic", "Unit", "Target", "Min", "Max", "Test Method"]
        if c.chance(0.4):
            head = ["Parameter", "Specification", "Tolerance", "Method"]
        rows = [head]
        for prm in c.r.sample(SPEC_PARAMS, c.randint(6, 14)):
            tgt = c.rng.uniform(1, 100)
            if len(head) == 6:
                rows.append([prm, c.choice(UNITS), f"{tgt:.1f}", f"{tgt * 0.95:.1f}", f"{tgt * 1.05:.1f}",
                             f"{c.choice(['TM', 'QA', 'ASTM D'])}-{c.randint(10, 999)}"])
            else:
                rows.append([prm, f"{tgt:.1f} {c.choice(UNITS)}", f"+/- {tgt * 0.05:.2f}",
                             f"{c.choice(['TM', 'CORESTA', 'ISO'])} {c.randint(10, 9999)}"])
        w = R - L
        cw = [w * 0.3] + [w * 0.7 / (len(head) - 1)] * (len(head) - 1)
        y = p.table(L, y, cw, rows, font, bold, grid=c.choice(["full", "rows", "head"]),
                    head_shade=c.choice([None, 210]), align=["l"] + ["c"] * (len(head) - 1), max_y=max_y - 60) + lh
        if y < max_y - lh * 3:
            p.line(L, y, "NOTES:" if c.chance(0.5) else "Remarks:", bold)
            y += lh
            for k in range(c.randint(1, 3)):
                y = p.para(L + 20, y, R - L - 20, f"{k + 1}. " + c.choice([
                    "All measurements to be made on conditioned samples.",
                    f"Material shall conform to the approved standard sample on file in {c.choice(['QA', 'R&D', 'Purchasing'])}.",
                    "Deviations require written approval of Quality Assurance.",
                    T.sci_sentence()]), font, max_y=max_y) + 2
    else:
        secs = ["SCOPE", "APPLICABLE DOCUMENTS", "REQUIREMENTS", "QUALITY ASSURANCE PROVISIONS", "PACKAGING",
                "TEST METHODS", "NOTES"]
        if report_like:
            secs = c.r.sample(SECTIONS_SCI, 4) + secs[2:4]
        n = 1
        for s in secs[:c.randint(3, 7)]:
            if y > max_y - lh * 3:
                break
            p.line(L, y, f"{n}.0  {s}", bold)
            y += lh + 4
            for k in range(c.randint(1, 3)):
                if y > max_y - lh * 2:
                    break
                if (c.chance(0.7) or not spec_word) and not (report_like and c.chance(0.7)):
                    clause = (f"The {c.choice(SPEC_PARAMS).lower()} shall be "
                              f"{c.rng.uniform(1, 90):.1f} {c.choice(UNITS)} +/- {c.rng.uniform(0.1, 3):.1f} when tested "
                              f"according to {c.choice(['Method', 'Procedure', 'TM'])} {c.randint(1, 99)}. ")
                    clause += T.sci_sentence() if c.chance(0.5) else ""
                else:
                    clause = T.paragraph("sci", (1, 3))
                p.line(L + 20, y, f"{n}.{k + 1}", font)
                y = p.para(L + 60, y, R - L - 60, clause, font, max_y=max_y) + 4
            y += lh // 2
            n += 1
    if c.chance(0.5) and y < B - 70:
        y = max(y + lh, B - 60)
        seg = (R - L) / 3
        for j, lab in enumerate(["Prepared by", "Approved", "Date"]):
            p.hline(L + j * seg, L + (j + 1) * seg - 20, y, 1)
            p.line(L + j * seg, y + 3, lab, p.font("sans", 9))
            if lab != "Date" and c.chance(0.6):
                p.scribble(L + j * seg + 10, y - 24, 100, 18)
    return layout
