"""letter, memo, email: one family, told apart mostly by text cues (salutation vs To:/From:,
'MEMORANDUM', e-mail headers), since all three are a block of business prose on white paper."""
from __future__ import annotations

import re

from ..content import DEPTS, TOPICS, Text, clean
from ..page import Page
from .common import CLOSINGS, body_font, initials, label_rows, letterhead, margins, signature, small_table


def _body(p: Page, T: Text, x, y, width, font, max_y, n_par=(2, 5), justify=False, indent=0, kind="biz",
          par_gap=0.6):
    c = p.ctx
    lh = p.line_height(font, 1.3)
    for _ in range(c.randint(*n_par)):
        if y + lh * 2 > max_y:
            break
        text = T.paragraph(kind, (2, 5))
        # drop sentences until the paragraph fits: pages end on whole paragraphs
        sents = re.split(r"(?<=[.!?]) ", text)
        while len(sents) > 1 and y + len(p.wrap(" ".join(sents), font, width, indent)) * lh > max_y:
            sents = sents[:-1]
        y = p.para(x, y, width, " ".join(sents), font, justify=justify, indent=indent, max_y=max_y)
        y += int(lh * par_gap)
    return y


def _continuation(p: Page, T: Text, kind: str) -> str:
    """Page 2+ of a letter or memo: no letterhead, salutation or header block, just a running head,
    prose and (for letters, often) the closing. Genuinely hard to tell apart."""
    c = p.ctx
    L, R, top, B = margins(p, 60, 100)
    font, role = body_font(p, ("serif", "sans", "mono"))
    lh = p.line_height(font, 1.3)
    y = top
    who = T.name()
    head = c.choice([[who, f"Page {c.randint(2, 4)}", T.date(0)], [f"{who} - {c.randint(2, 4)} - {T.date(3)}"],
                     [f"-{c.randint(2, 5)}-"], [f"Page {c.randint(2, 5)}"]])
    y = p.text_block(L, y, head, font, 1.2) + lh * 2
    y = _body(p, T, L, y, R - L, font, B - 200, n_par=(2, 5), justify=c.chance(0.3))
    y += lh
    if kind == "letter" and c.chance(0.7):
        signature(p, T, (L + R) // 2 if c.chance(0.5) else L, y, font, T.name(), T.job() if c.chance(0.5) else None,
                  c.choice(CLOSINGS))
    elif kind == "memo" and c.chance(0.6):
        p.line(L, y, initials(T) if c.chance(0.5) else f"cc: {T.short_name()}, {T.short_name()}", font)
    elif c.chance(0.4):
        p.line(L, y, c.choice(["Attachment", "Enclosure", f"cc: {T.short_name()}"]), font)
    return "continuation"


def letter(p: Page, T: Text) -> str:
    c = p.ctx
    if c.d > 0.55 and c.chance(0.3):
        return _continuation(p, T, "letter")
    L, R, top, B = margins(p, 60, 100)
    layout = c.choice(["block", "modified", "sidebar", "typewriter"])
    font, role = body_font(p, ("mono",) if layout == "typewriter" else ("serif", "serif", "sans", "mono"))
    lh = p.line_height(font, 1.3)
    y = top
    sender = T.name()
    company = T.company()
    if layout != "typewriter" and c.cue(0.5):
        y = letterhead(p, T, L, R, y, company)
    elif layout == "typewriter":  # sender's address top right
        x = (L + R) // 2 + 40
        for ln in T.address_lines():
            p.line(x, y, ln, font)
            y += lh
        y += lh
    else:
        y += c.randint(40, 120)
    body_L = L
    if layout == "sidebar":
        sf = p.font("sans", c.randint(9, 11))
        p.new_flow()
        sy = y
        for _ in range(c.randint(5, 10)):
            p.line(L, sy, T.short_name(), sf, fill=c.randint(40, 110))
            sy += p.line_height(sf, 1.2)
            job = T.job().split()
            while job and sf.getlength(" ".join(job)) > 140:
                job = job[:-1]
            if c.chance(0.5) and job:
                p.line(L, sy, " ".join(job), sf, fill=c.randint(40, 110))
                sy += p.line_height(sf, 1.2)
            sy += 6
        body_L = L + c.randint(150, 175)
        p.new_flow()
    indent_x = (L + R) // 2 if layout == "modified" else body_L
    p.line(indent_x, y, T.date(c.choice([0, 0, 2, 3])), font)
    y += lh * 2
    if c.chance(0.2):
        p.line(body_L, y, c.choice(["PERSONAL AND CONFIDENTIAL", "VIA FEDERAL EXPRESS", "BY HAND", "VIA FACSIMILE"]),
               font)
        y += lh * 2
    recipient = T.name()
    r_title = T.job()
    inside = [recipient, r_title, T.company()] + T.address_lines()
    if not c.cue(0.5):
        inside = [recipient] + T.address_lines()
    if c.cue(0.6):
        y = p.text_block(body_L, y, inside, font, 1.3)
        y += lh
    if c.chance(0.35) or (c.mix() and c.chance(0.5)):  # subject line (memo-ish)
        lab = c.choice(["Re:", "RE:", "Subject:", "Reference:"])
        x2 = p.line(body_L, y, lab, font)
        p.line(x2 + 12, y, c.choice(TOPICS).capitalize(), font)
        y += lh * 2
    last = recipient.split()[-1]
    sal = c.choice([f"Dear {c.choice(['Mr.', 'Ms.', 'Dr.'])} {last}:", f"Dear {recipient.split()[0]}:",
                    f"Dear {recipient.split()[0]},", "Dear Sir:", "Gentlemen:", "Dear Sirs:"])
    if c.cue(0.9):
        p.line(body_L, y, sal, font)
        y += lh + lh // 2
    just = c.chance(0.3)
    indent = 30 if c.chance(0.3) else 0
    max_body = B - 190
    y = _body(p, T, body_L, y, R - body_L, font, max_body, justify=just, indent=indent)
    if c.mix(0.03) and y < max_body - 120:  # a table inside the letter
        y = small_table(p, T, body_L + 30, y, min(420, R - body_L - 60), font) + lh
        y = p.para(body_L, y, R - body_L, T.biz_sentence(), font, max_y=max_body) + lh // 2
    if c.chance(0.6):
        y = p.para(body_L, y, R - body_L, c.choice([
            "Please do not hesitate to call me if you have any questions.",
            "Thank you for your continued cooperation.", "I look forward to hearing from you.",
            "Thank you for your interest in our company.", "With best wishes,"]), font) + lh // 2
    y += lh // 2
    sig_x = (L + R) // 2 if layout in ("modified", "typewriter") else body_L
    closing = c.choice(CLOSINGS) if c.cue(0.9) else None
    y = signature(p, T, sig_x, y, font, sender, T.job() if c.chance(0.7) else None, closing)
    y += lh
    if c.chance(0.5) and y < B - 2 * lh:
        tail = c.choice([f"{initials(T)}", "Enclosure", "Enclosures", f"cc: {T.name()}", f"bcc: {T.short_name()}"])
        p.line(body_L, y, tail, font)
        y += lh
        if c.chance(0.4) and y < B - lh:
            p.line(body_L, y, f"cc: {T.short_name()}", font)
    return layout


MEMO_HEADS = ["MEMORANDUM", "MEMORANDUM", "M E M O R A N D U M", "INTEROFFICE MEMORANDUM", "MEMO",
              "INTER-OFFICE MEMORANDUM", "Inter-Office Correspondence", "Internal Correspondence", "Memorandum"]


def memo(p: Page, T: Text) -> str:
    c = p.ctx
    if c.d > 0.55 and c.chance(0.3):
        return _continuation(p, T, "memo")
    L, R, top, B = margins(p, 55, 95)
    layout = c.choice(["classic", "classic", "grid", "letterhead", "minimal"])
    if c.d > 0.75 and c.chance(0.5):
        layout = "minimal"
    font, role = body_font(p)
    lh = p.line_height(font, 1.3)
    y = top
    company = T.company()
    head_word = c.cue(0.7) and layout != "minimal"
    if layout == "letterhead" or (layout == "minimal" and c.chance(0.5)):
        y = letterhead(p, T, L, R, y, company)
    elif c.chance(0.4):
        hf = p.font(c.choice(["serif", "sans"]), c.randint(14, 18), "bold")
        p.line(L, y, company.upper() if c.chance(0.5) else company, hf)
        y += p.line_height(hf, 1.6)
    if head_word:
        hf = p.font(c.choice(["serif", "sans", "display"]), c.randint(18, 30), c.choice(["bold", "regular"]))
        word = c.choice(MEMO_HEADS)
        if c.chance(0.5):
            p.line_center((L + R) / 2, y, word, hf)
        else:
            p.line(L, y, word, hf)
        y += p.line_height(hf, 1.5)
        if c.chance(0.4):
            p.hline(L, R, y - 6, c.randint(1, 3))
            y += 10
    upper = c.chance(0.6)
    labs = ["TO:", "FROM:", "DATE:", c.choice(["SUBJECT:", "RE:", "SUBJ:"])]
    if not upper:
        labs = [s.title() if s != "RE:" else "Re:" for s in labs]
    vals = [f"{T.name()}" + (f", {c.choice(DEPTS)}" if c.chance(0.3) else ""), T.name(), T.date(),
            c.choice(TOPICS).capitalize() if c.chance(0.7) else c.choice(TOPICS).upper()]
    rows = list(zip(labs, vals))
    if c.chance(0.4):
        rows.insert(2, ("CC:" if upper else "cc:", f"{T.short_name()}, {T.short_name()}"))
    if c.chance(0.3):
        rows = [rows[2]] + rows[:2] + rows[3:]  # DATE first
    if layout == "minimal":
        keep = c.randint(0, 2)
        rows = [r for r in rows if r[0].upper().startswith(("TO", "FROM", "RE", "SUBJ"))][:keep + 1]
        if c.d > 0.85 and c.chance(0.5):
            rows = []  # nothing but prose: indistinguishable from a letter without salutation
    lab_font = p.font(role, font.size, "bold") if c.chance(0.5) else font
    if layout == "grid":
        cw = (R - L) / 2
        ry = y
        for i in range(0, len(rows), 2):
            for j, (lab, val) in enumerate(rows[i:i + 2]):
                x = L + j * cw
                p.rect(x, ry, x + cw, ry + lh * 2)
                x2 = p.line(x + 6, ry + lh // 2, lab, lab_font)
                p.line(x2 + 10, ry + lh // 2, " ".join(val.split()[:5]), font)
            ry += lh * 2
        y = ry + lh
    elif rows:
        lab_w = max(lab_font.getlength(r[0]) for r in rows) + c.randint(15, 50)
        y = label_rows(p, L, y, rows, lab_font, font, int(lab_w), leading=c.uniform(1.4, 2.0))
        if c.chance(0.8):
            p.hline(L, R, y, c.randint(1, 2))
            y += lh
    else:
        y += lh * 3
    y += lh // 2
    if c.mix(0.03):  # letter-like salutation
        p.line(L, y, f"Dear {vals[0].split()[0]}:", font)
        y += lh + lh // 2
    max_body = B - 90
    numbered = c.chance(0.25)
    if numbered:
        for i in range(c.randint(2, 5)):
            if y > max_body - lh * 2:
                break
            x2 = p.line(L, y, f"{i + 1}.", font)
            y = p.para(L + 28, y, R - L - 28, T.paragraph("biz", (1, 3)), font, max_y=max_body) + lh // 2
    else:
        y = _body(p, T, L, y, R - L, font, max_body, justify=c.chance(0.3), indent=30 if c.chance(0.2) else 0)
    if c.mix(0.03) and y < max_body - 100:
        y = small_table(p, T, L + 40, y, min(400, R - L - 80), font) + lh
    y += lh
    if c.mix(0.02) and y < B - 120:  # letter-like closing and signature
        signature(p, T, (L + R) // 2, y, font, vals[1], None, c.choice(CLOSINGS))
    elif y < B - lh * 2:
        if c.chance(0.6):
            p.line(L, y, initials(T), font)
            y += lh
        if c.chance(0.5):
            p.line(L, y, f"{'cc' if c.chance(0.5) else 'Attachment'}: {T.short_name()}", font)
        elif c.chance(0.3):  # scribbled initials next to FROM
            p.scribble(R - 120, y, 50, 20, loops=3)
    return layout


def email(p: Page, T: Text) -> str:
    c = p.ctx
    L, R, top, B = margins(p, 40, 75)
    layout = c.choice(["outlook", "webmail", "notes", "thread"])
    font, role = body_font(p, ("sans", "sans", "serif", "mono"), (12, 15))
    bold = p.font(role, font.size, "bold")
    lh = p.line_height(font, 1.3)
    y = top
    frm, to = T.name(), T.name()
    frm_addr, to_addr = T.email(frm), T.email(to)
    subj = c.choice(["RE: ", "FW: ", "Fwd: ", "", ""]) + c.choice(TOPICS).capitalize()
    notes_style = layout == "notes" or (c.mix() and c.chance(0.4))
    if layout == "webmail" and c.cue(0.5):
        sf = p.font("sans", 10)
        p.line(L, y, f"{clean(T.f.domain_name())} Mail - {subj[:30]}", sf)
        p.line_right(R, y, f"Page 1 of {c.randint(1, 3)}", sf)
        y += lh * 2
    if layout in ("outlook", "thread") and c.cue(0.6):
        big = p.font("sans", c.randint(15, 19), "bold")
        p.line(L, y, T.name(), big)
        y += p.line_height(big, 1.2)
        p.hline(L, R, y, 3)
        y += lh
    if notes_style:
        date = T.date(1) + f" {c.randint(1, 12)}:{c.randint(0, 59):02d} {c.choice(['AM', 'PM'])}"
        p.line(L, y, frm.replace(" ", " ") + f"/{c.choice(['NYC', 'RJRT', 'PM-USA', 'WSR', 'HQ'])}", bold)
        p.line(L, y + lh, date, font)
        x = L + int((R - L) * 0.42)
        p.new_flow()
        rows = [("To:", f"{to}/{c.choice(['NYC', 'HQ', 'LAB'])}"), ("cc:", T.short_name()), ("Subject:", subj)]
        yy = label_rows(p, x, y, rows, font, font, 70, leading=1.3)
        p.new_flow()
        y = max(yy, y + 3 * lh) + lh
    else:
        sent_lab = c.choice(["Sent:", "Date:"])
        when = (f"{c.choice(['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'])}, {T.date(0)} "
                f"{c.randint(1, 12)}:{c.randint(0, 59):02d} {c.choice(['AM', 'PM'])}")
        frm_v = f"{frm} <{frm_addr}>" if c.cue(0.6) else frm
        to_v = f"{to} <{to_addr}>" if c.chance(0.5) else to_addr
        rows = [("From:", frm_v), (sent_lab, when), ("To:", to_v)]
        if c.chance(0.5):
            rows.append(("Cc:", f"{T.email(T.name())}; {T.email()}"))
        rows.append(("Subject:", subj))
        if c.chance(0.25):
            rows.append(("Attachments:", f"{c.choice(['report', 'budget', 'draft', 'memo'])}{c.randint(1, 9)}.{c.choice(['doc', 'xls', 'pdf'])}"))
        lab_w = c.randint(75, 110)
        y = label_rows(p, L, y, rows, bold, font, lab_w, leading=1.25)
        y += lh
    max_body = B - 60
    first = to.split()[0]
    if c.cue(0.6):
        p.line(L, y, c.choice([f"{first},", f"Hi {first},", f"Dear {first},", "All,", "Team,"]), font)
        y += lh + lh // 3
    y = _body(p, T, L, y, R - L, font, max_body, n_par=(1, 3), par_gap=0.8)
    if y < max_body - lh * 4:
        y = p.text_block(L, y, [c.choice(["Thanks,", "Regards,", "Best,", "Thanks!", ""]), frm.split()[0]], font)
        if c.chance(0.6):
            sf = p.font(role, font.size - 1)
            y = p.text_block(L, y + lh // 2, [frm, T.job(), T.company(), f"Tel: {T.phone()}"], sf, 1.2)
    if (layout == "thread" or c.chance(0.25)) and y < max_body - lh * 8:
        y += lh
        p.line(L, y, "-----Original Message-----", font)
        y += lh
        rows = [("From:", f"{to} [mailto:{to_addr}]"), ("Sent:", T.date(0)), ("To:", frm), ("Subject:", subj)]
        y = label_rows(p, L, y, rows, bold, font, c.randint(75, 110), leading=1.25) + lh // 2
        quote = c.chance(0.4)
        qx = L + (12 if quote else 0)
        if quote:
            p.vline(L + 3, y, min(max_body, y + lh * 6), 2)
        y = _body(p, T, qx, y, R - qx, font, max_body, n_par=(1, 2))
    if layout == "webmail" and c.chance(0.6):
        sf = p.font("sans", 10)
        p.line(L, B - 10, f"http://mail.{clean(T.f.domain_name())}/msg?id={c.randint(10000, 99999)}", sf)
        p.line_right(R, B - 10, T.date(1), sf)
    return layout
