"""form and questionnaire: both are labels, boxes and check marks. Forms ask for facts in fields
(name, account, amounts, signatures), questionnaires ask numbered questions with answer scales;
hard pages borrow from each other (a form with a few questions, a survey opening with ID fields)."""
from __future__ import annotations

from ..content import DEPTS, LIKERT, PRODUCTS, SURVEY_Q, Text, clean
from ..page import Page
from .common import margins

FORM_TITLES = ["EMPLOYEE INFORMATION FORM", "PURCHASE REQUISITION", "CHECK REQUEST", "TRAVEL EXPENSE REPORT",
               "REQUEST FOR SERVICE", "APPLICATION FOR EMPLOYMENT", "SAMPLE REQUEST FORM", "CHANGE NOTICE",
               "VENDOR INFORMATION", "ACCIDENT REPORT", "PROJECT AUTHORIZATION", "ROUTING SLIP",
               "MATERIAL TRANSFER", "Registration Form", "Order Form", "Authorization for Release"]
NEUTRAL_TITLES = ["Information Sheet", "CUSTOMER INFORMATION", "Registration", "Consumer Panel - Screening",
                  "Participant Record", "PROFILE", "Contact Record", "Follow-up"]
FIELD_LABELS = ["Name", "Last Name", "First Name", "Date", "Department", "Address", "City", "State", "Zip",
                "Telephone", "Social Security No.", "Employee No.", "Account No.", "Amount", "Cost Center",
                "Date of Birth", "Title", "Division", "Location", "Approved by", "Requested by", "Vendor",
                "Project No.", "Charge to", "Signature", "Supervisor", "Phone Ext.", "Date Required",
                "Purpose", "Quantity", "Brand", "Code", "Region", "Start Date", "Reason"]


def _value(T: Text, label: str) -> str:
    return clean(_value_raw(T, label))


def _value_raw(T: Text, label: str) -> str:
    c = T.c
    l = label.lower().rstrip(":")
    if l in ("to", "from", "attention") or "name" in l or "by" in l or "supervisor" in l:
        return T.name()
    if l in ("company", "vendor", "firm"):
        return T.company()
    if "fax" in l:
        return T.phone()
    if l in ("re", "subject", "purpose", "reason"):
        from ..content import TOPICS
        return c.choice(TOPICS).capitalize()
    if "date" in l:
        return T.date(1)
    if "address" in l:
        return T.address_lines()[0]
    if l in ("city",):
        return T.f.city()
    if l == "state":
        return T.f.state_abbr()
    if "zip" in l:
        return T.f.zipcode()
    if "phone" in l or "telephone" in l:
        return T.phone()
    if "amount" in l:
        return T.money(5, 9000, dollar=True)
    if "department" in l or "division" in l:
        return c.choice(DEPTS)
    if "title" in l:
        return T.job()
    if "no." in l or "code" in l or "center" in l:
        return T.code()
    if "quantity" in l:
        return T.number(1, 500)
    if "brand" in l:
        return T.last().upper()
    if "signature" in l:
        return ""
    return c.choice(PRODUCTS)


def _fill(p: Page, T: Text, x, y, label, w, hand, vfont):
    """Write a field's value (typed or handwritten) starting at x."""
    val = _value(T, label)
    c = p.ctx
    if "signature" in label.lower():
        if c.chance(0.7):
            p.scribble(x + 6, y - 6, min(140, w - 10), 20)
        return
    toks = val.split()
    while toks and vfont.getlength(" ".join(toks)) > w - 8:
        toks = toks[:-1]
    if not toks:
        return
    if hand:
        p.hand_line(x + 4, y - 3, " ".join(toks), vfont, wobble=0.8, max_x=x + w)
    else:
        p.line(x + 4, y, " ".join(toks), vfont)


def form(p: Page, T: Text) -> str:
    c = p.ctx
    L, R, top, B = margins(p, 35, 70)
    layout = c.choice(["boxed", "underline", "fax_cover", "request"])
    qlike = c.mix(0.05)  # questionnaire-like: neutral title, no form number/signatures, a few questions
    if qlike and layout in ("fax_cover", "boxed"):
        layout = "underline"
    lf = p.font(c.choice(["sans", "serif"]), c.randint(9, 12))
    lfb = p.font("sans", lf.size + 1, "bold")
    hand = c.chance(0.6)
    vfont = p.font("hand", c.randint(17, 23)) if hand else p.font("mono", c.randint(12, 14))
    fill_p = c.uniform(0.3, 1.0)
    y = top
    if c.chance(0.6):
        cf = p.font("sans", c.randint(12, 16), "bold")
        p.logo(L, y, 28)
        p.line(L + 36, y + 6, T.company(), cf)
        y += 40
    if layout == "fax_cover":
        tf = p.font(c.choice(["sans", "display"]), c.randint(24, 36), "bold")
        p.line(L, y, c.choice(["FAX TRANSMITTAL", "FACSIMILE COVER SHEET", "TELECOPY TRANSMITTAL", "FAX"]), tf)
        y += p.line_height(tf, 1.5)
        labs = ["To:", "Company:", "Fax No.:", "From:", "Date:", "Pages (including cover):", "Phone:", "Re:"]
        lw = (R - L) / 2
        for i in range(0, len(labs), 2):
            for j in range(2):
                lab = labs[i + j]
                x = L + j * lw
                x2 = p.line(x, y, lab, lfb)
                p.hline(x2 + 6, x + lw - 16, y + lfb.size + 3, 1)
                if c.chance(fill_p):
                    _fill(p, T, x2 + 6, y, lab.rstrip(":") if "Pages" not in lab else "Quantity", x + lw - x2 - 22,
                          hand, vfont)
            y += 38
        y += 10
        p.rect(L, y, R, min(B - 60, y + c.randint(250, 450)), width=2)
        p.line(L + 8, y + 8, "COMMENTS:", lfb)
        if c.chance(0.6):
            yy = y + 36
            for _ in range(c.randint(1, 4)):
                if hand:
                    p.hand_line(L + 20, yy, T.biz_sentence(), vfont, max_x=R - 20)
                else:
                    p.para(L + 20, yy, R - L - 40, T.biz_sentence(), vfont)
                yy += 34
        sf = p.font("serif", 9, "italic")
        p.para(L, B - 40, R - L, "The information contained in this facsimile is confidential and intended only "
               "for the use of the addressee. If you have received this in error, please notify us by telephone.", sf)
        return layout
    title = c.choice(NEUTRAL_TITLES if qlike else FORM_TITLES)
    tf = p.font(c.choice(["sans", "serif"]), c.randint(16, 24), "bold")
    if c.chance(0.5):
        p.line_center((L + R) / 2, y, title, tf)
    else:
        p.line(L, y, title, tf)
    y += p.line_height(tf, 1.6)
    if c.cue(0.6) and not qlike:
        sf = p.font("sans", 9)
        p.line_right(R, top, f"Form {c.choice(['', 'RJR-', 'PM ', 'B&W '])}{c.randint(100, 9999)} (Rev. {c.randint(1, 12)}/{c.randint(78, 99)})", sf)
    if c.chance(0.3):
        p.para(L, y, R - L, c.choice(["Please print or type. Complete all sections.",
                                      "Submit original to Accounting; retain copy for your records.",
                                      "Instructions: Fill in all applicable items and return to Personnel."]),
               p.font("serif", 10, "italic"))
        y += 24
    if layout == "boxed":
        sections = c.randint(2, 4)
        for s in range(sections):
            if y > B - 120:
                break
            if c.chance(0.7):
                p.shade(L, y, R, y + 20, c.randint(185, 228))
                p.line(L + 6, y + 3, c.choice(["SECTION", "PART"]) + f" {'ABCD'[s]} - " + c.choice(
                    ["GENERAL INFORMATION", "APPLICANT", "ACCOUNTING", "APPROVALS", "DESCRIPTION", "SHIPPING"]), lfb)
                y += 20
            rows = c.randint(2, 5)
            for _ in range(rows):
                if y > B - 60:
                    break
                ncol = c.randint(1, 4)
                cuts = sorted(c.r.sample(range(1, 20), ncol - 1)) if ncol > 1 else []
                xs = [L] + [L + (R - L) * k / 20 for k in cuts] + [R]
                h = c.randint(34, 44)
                for a, b in zip(xs[:-1], xs[1:]):
                    p.rect(a, y, b, y + h)
                    lab = c.choice(FIELD_LABELS)
                    shown = (lab.upper() if c.chance(0.5) else lab).split()
                    while shown and lf.getlength(" ".join(shown)) > b - a - 6:
                        shown = shown[:-1]
                    if shown:
                        p.line(a + 3, y + 2, " ".join(shown), lf)
                    if c.chance(fill_p):
                        _fill(p, T, a, y + h - vfont.size - 4, lab, b - a, hand, vfont)
                y += h
            if c.chance(0.5) and y < B - 60:  # row of checkboxes
                y += 8
                x = L + 4
                for opt in c.r.sample(["Yes", "No", "New", "Change", "Delete", "Urgent", "Regular", "Other",
                                       "Domestic", "Foreign", "Full-time", "Part-time"], c.randint(2, 5)):
                    p.checkbox(x, y + 1, 11, checked=c.chance(0.3))
                    x = p.line(x + 16, y, opt, lf) + 24
                y += 26
            y += 10
    else:  # underline / request
        lw = R - L
        n = c.randint(6, 14)
        labels = c.r.sample(FIELD_LABELS, min(n, len(FIELD_LABELS)))
        i = 0
        while i < len(labels) and y < B - (360 if qlike else 180):
            per = c.randint(1, 3)
            seg = lw / per
            for j in range(per):
                if i >= len(labels):
                    break
                lab = labels[i]
                x = L + j * seg
                x2 = p.line(x, y, lab + ":", lf)
                p.hline(x2 + 5, x + seg - 14, y + lf.size + 3, 1)
                if c.chance(fill_p):
                    _fill(p, T, x2 + 5, y, lab, x + seg - x2 - 20, hand, vfont)
                i += 1
            y += c.randint(30, 40)
        if layout == "request" and y < B - 200:
            y += 10
            cols = [0.12, 0.48, 0.2, 0.2]
            head = ["Qty", "Description", "Unit Cost", "Total"]
            rows = [head]
            for _ in range(c.randint(3, 7)):
                rows.append([T.number(1, 50) if c.chance(fill_p) else "", c.choice(PRODUCTS).title() if c.chance(fill_p) else "",
                             T.money(1, 500) if c.chance(fill_p) else "", ""])
            y = p.table(L, y, [w * (R - L) for w in cols], rows, lf, lfb, row_h=24, grid="full",
                        align=["c", "l", "r", "r"]) + 20
        if qlike and y < B - 160:  # a few questions (questionnaire-like)
            qf = lf
            for k in range(c.randint(1, 4)):
                if y > B - 120:
                    break
                q = c.choice(SURVEY_Q).format(p=c.choice(PRODUCTS))
                p.line(L, y, f"{k + 1}. {q}", qf)
                y += 20
                x = L + 20
                for opt in c.choice([["Yes", "No"]] + LIKERT):
                    if x > R - 100:
                        break
                    p.checkbox(x, y + 1, 10, checked=c.chance(0.3))
                    x = p.line(x + 14, y, opt, qf) + 20
                y += 24
    # approvals / signature line at the bottom
    if y < B - 60 and c.cue(0.4) and not qlike:
        y = max(y + 20, B - 60)
        seg = (R - L) / 2
        for j, lab in enumerate(c.choice([["Signature", "Date"], ["Approved by", "Date"], ["Requested by", "Approved by"]])):
            x = L + j * seg
            p.hline(x, x + seg - 30, y, 1)
            p.line(x, y + 4, lab, lf)
            if c.chance(fill_p) and lab != "Date":
                p.scribble(x + 10, y - 26, 110, 20)
            elif c.chance(fill_p):
                _fill(p, T, x, y - vfont.size - 2, "Date", seg - 30, hand, vfont)
    return layout


def _options(p: Page, x, y, opts, font, R, round_, checked_idx, vertical):
    lh = p.line_height(font, 1.5)
    if vertical:
        for i, o in enumerate(opts):
            p.checkbox(x, y + 2, 10, checked=(i == checked_idx), round_=round_)
            p.line(x + 16, y, o, font)
            y += lh
        return y
    cx = x
    for i, o in enumerate(opts):
        wdt = font.getlength(o) + 40
        if cx + wdt > R:
            cx = x
            y += lh
        p.checkbox(cx, y + 2, 10, checked=(i == checked_idx), round_=round_)
        p.line(cx + 16, y, o, font)
        cx += wdt
    return y + lh


def questionnaire(p: Page, T: Text) -> str:
    c = p.ctx
    L, R, top, B = margins(p, 45, 80)
    layout = c.choice(["survey", "likert", "interview"])
    font = p.font(c.choice(["serif", "sans", "mono"]), c.randint(11, 13))
    bold = p.font("sans", font.size, "bold")
    lh = p.line_height(font, 1.4)
    y = top
    product = c.choice(PRODUCTS)
    answered = c.chance(0.6)
    flike = c.mix(0.05)  # form-like: neutral or no title, no instructions, ID fields, few questions
    if flike and c.chance(0.6):
        tf = p.font(c.choice(["sans", "serif"]), c.randint(16, 22), "bold")
        p.line(L, y, c.choice(NEUTRAL_TITLES), tf)
        y += p.line_height(tf, 1.6)
    elif c.cue(0.6) and not flike:
        tf = p.font(c.choice(["sans", "serif"]), c.randint(16, 22), "bold")
        title = c.choice(["CONSUMER QUESTIONNAIRE", "Product Evaluation Survey", "SMOKER SURVEY", "QUESTIONNAIRE",
                          "Taste Test Questionnaire", "Employee Opinion Survey", "Market Research Study",
                          "Follow-up Questionnaire"])
        p.line_center((L + R) / 2, y, title, tf)
        y += p.line_height(tf, 1.6)
    max_q = 99
    if flike:  # form-like identification fields first, few questions after
        sf = p.font("sans", 10)
        labs = c.r.sample(["Respondent No.", "Name", "Date", "Interviewer", "City", "Age"] + FIELD_LABELS, c.randint(3, 8))
        max_q = c.randint(2, 5)
        for lab in [l for l in labs if l != "Signature"]:
            x2 = p.line(L, y, lab + ":", sf)
            p.hline(x2 + 4, x2 + 180, y + sf.size + 2, 1)
            if answered:
                p.hand_line(x2 + 8, y - 4, _value(T, lab), p.font("hand", 17), max_x=x2 + 180)
            y += 28
        y += 6
    if c.cue(0.7) and not flike:
        inst = c.choice([
            "Please answer each question by checking the box that best describes your opinion.",
            "Circle ONE number for each statement. There are no right or wrong answers.",
            f"Thank you for taking part in this study of {product}s. Your answers will be kept confidential.",
            "INTERVIEWER: READ EACH STATEMENT AND RECORD ONE ANSWER."])
        y = p.para(L, y, R - L, inst, p.font("serif", font.size, "italic")) + lh // 2
    q = 1
    blocks = 1 if max_q < 99 else c.randint(1, 3)
    for _block in range(blocks if layout == "likert" else 0):
        if y > B - 160 or q > max_q:
            break
        scale = c.choice(LIKERT[:3])
        stmts = [c.choice(SURVEY_Q).format(p=product).rstrip("?") for _ in range(c.randint(4, 10))]
        first_w = (R - L) * 0.45
        cw = ((R - L) - first_w) / len(scale)
        sf = p.font("sans", max(8, font.size - 3))
        if _block > 0:
            y += lh
            p.line(L, y, c.choice(["PART", "SECTION"]) + f" {_block + 1}", bold)
            y += lh + 4
        # header
        for i, s in enumerate(scale):
            p.para(L + first_w + i * cw, y, cw - 4, s, sf, align="center", leading=1.1)
        y += 34
        p.hline(L, R, y - 4, 1)
        for st in stmts:
            if y > B - 40 or q > max_q:
                break
            yy = p.para(L, y, first_w - 10, f"{q}. {st}", font, leading=1.2)
            pick = c.randint(0, len(scale) - 1)
            for i in range(len(scale)):
                cx = L + first_w + i * cw + cw / 2
                if c.chance(0.5):
                    p.checkbox(cx - 5, y + 2, 10, checked=answered and i == pick, round_=True)
                else:
                    p.line_center(cx, y, str(i + 1), font)
                    if answered and i == pick:
                        p.d.ellipse([cx - 9, y - 4, cx + 9, y + font.size + 4], outline=c.randint(0, 60), width=2)
            y = max(yy, y + lh) + 4
            if c.chance(0.5):
                p.hline(L, R, y - 2, 1, fill=170)
            q += 1
    if layout != "likert":
        while y < B - 80 and q <= max_q:
            qtext = c.choice(SURVEY_Q).format(p=product)
            lab = f"{q}." if layout == "survey" else f"Q{q}."
            x2 = p.line(L, y, lab, bold)
            y = p.para(L + 34, y, R - L - 34, qtext, font)
            kind = c.r.random()
            if layout == "interview" and c.chance(0.4):
                p.line(L + 34, y, c.choice(["(SKIP TO Q.%d)" % (q + 2), "(ASK ALL)", "(DO NOT READ LIST)",
                                            "(PROBE FULLY)"]), bold)
                y += lh
            if kind < 0.55:
                opts = c.choice(LIKERT)
                pick = c.randint(0, len(opts) - 1) if answered else -1
                y = _options(p, L + 40, y + 2, opts, font, R, c.chance(0.4), pick, c.chance(0.5))
            elif kind < 0.8:
                nlines = c.randint(1, 3)
                for k in range(nlines):
                    p.hline(L + 34, R, y + lh, 1)
                    if answered and k == 0 and c.chance(0.7):
                        p.hand_line(L + 40, y - 2, T.filler(), p.font("hand", 18), max_x=R - 10)
                    y += lh + 6
            else:
                xs = L + 40
                for k in range(1, c.choice([5, 7, 10]) + 1):
                    p.line(xs, y, str(k), font)
                    if answered and c.chance(0.15):
                        p.d.ellipse([xs - 5, y - 4, xs + 14, y + font.size + 4], outline=40, width=2)
                    xs += 30
                y += lh
            y += lh // 2
            q += 1
    if c.chance(0.4) and y < B - 20:
        p.line_center((L + R) / 2, B - 10, c.choice(["THANK YOU FOR YOUR COOPERATION", "Please continue on next page",
                                                     f"Card {c.randint(1, 4)}"]), bold)
    return layout
