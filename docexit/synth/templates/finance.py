"""budget and invoice: both are columns of money. Budgets: categories x periods (actual, budget,
variance, years), subtotals, a fiscal-year title. Invoices: a vendor, a customer (bill to / ship to),
invoice number and terms, quantity x unit price lines and a total due. Hard budgets carry a vendor
header; hard invoices lose the 'INVOICE' word and the bill-to block."""
from __future__ import annotations

from ..content import BUDGET_ITEMS, DEPTS, INVOICE_ITEMS, Text
from ..page import Page
from .common import letterhead, margins


def _amt(c, lo, hi, paren=False):
    v = c.rng.uniform(lo, hi)
    s = f"{v:,.0f}"
    if paren and c.chance(0.25):
        return f"({s})"
    return s


def budget(p: Page, T: Text) -> str:
    c = p.ctx
    landscape = p.w > p.h
    L, R, top, B = margins(p, 35, 70)
    layout = c.choice(["spreadsheet", "multi_year", "narrative"])
    font = p.font(c.choice(["mono", "sans", "serif"]), c.randint(10, 13))
    bold = p.font("sans", font.size, "bold")
    lh = p.line_height(font, 1.3)
    y = top
    fy = T.year()
    invoice_like = c.mix()
    word = c.cue(0.8) and not (invoice_like and c.chance(0.7))
    if (invoice_like and c.chance(0.6)) or c.chance(0.03):  # vendor-like header: invoice confusion
        y = letterhead(p, T, L, R, y)
    dept = c.choice(DEPTS)
    tf = p.font(c.choice(["sans", "serif"]), c.randint(15, 20), "bold")
    if word:
        title = c.choice([f"{fy} BUDGET", f"PROPOSED BUDGET - FY {fy}", f"{dept.upper()} BUDGET {fy}",
                          f"Budget Summary {fy}", f"{fy} OPERATING BUDGET", "BUDGET REQUEST",
                          f"{fy}-{fy + 1} Budget"])
    else:
        title = c.choice([f"{fy} EXPENSE SUMMARY", "COST ESTIMATE", f"Spending Plan {fy}", "PROGRAM COSTS",
                          f"{dept} - Expenses", "FINANCIAL PLAN"])
    p.line_center((L + R) / 2, y, title, tf)
    y += p.line_height(tf, 1.3)
    if c.chance(0.7):
        p.line_center((L + R) / 2, y, c.choice([dept, T.company(), f"Project {c.randint(100, 999)}",
                                                "(in thousands of dollars)", f"{c.choice(['Brand', 'Region'])}: {T.last()}"]), font)
        y += lh
    y += lh
    max_y = B - 20
    if layout == "narrative":
        y = p.para(L, y, R - L, T.paragraph("biz", (2, 4)), font) + lh
    if layout == "multi_year":
        years = [str(fy + k) for k in range(c.randint(3, 5))]
        head = ["Category"] + years + (["Total"] if c.chance(0.6) else [])
    else:
        head = c.choice([["Account", "Actual", "Budget", "Variance"],
                         ["Line Item", f"{fy - 1} Actual", f"{fy} Budget", f"{fy + 1} Request", "% Change"],
                         ["Description", "Approved", "Spent", "Balance"],
                         ["Expense", "Q1", "Q2", "Q3", "Q4", "Year"]])
    if invoice_like and layout != "multi_year":
        head = c.choice([["Description", "Amount"], ["Item", "Qty", "Unit Cost", "Total"], ["Description", "Cost"]])
    ncol = len(head)
    first = (R - L) * c.uniform(0.3, 0.42)
    cw = [first] + [((R - L) - first) / (ncol - 1)] * (ncol - 1)
    rows = [head]
    groups = c.randint(1, 3)
    pool = BUDGET_ITEMS + INVOICE_ITEMS if invoice_like else BUDGET_ITEMS
    items = c.r.sample(pool, min(len(pool), c.randint(6, 18)))
    per = max(1, len(items) // groups)
    for g in range(groups):
        chunk = items[g * per:(g + 1) * per] if g < groups - 1 else items[g * per:]
        if groups > 1:
            rows.append([c.choice(["PERSONNEL", "OPERATING EXPENSES", "CAPITAL", "PROGRAMS", "ADMINISTRATION",
                                   "MARKETING"])] + [""] * (ncol - 1))
        for it in chunk:
            if head[-1].startswith("%"):
                rows.append([it] + [_amt(c, 1000, 900000) for _ in range(ncol - 2)] + [f"{c.rng.uniform(-30, 40):.1f}%"])
            elif head[1] == "Qty":
                rows.append([it, str(c.randint(1, 40)), f"{c.rng.uniform(5, 900):,.2f}", _amt(c, 100, 30000)])
            else:
                rows.append([it] + [_amt(c, 500, 900000, paren=True) for _ in range(ncol - 1)])
        if groups > 1 and c.chance(0.7):
            rows.append(["Subtotal"] + [_amt(c, 10000, 2000000) for _ in range(ncol - 1)])
    rows.append([c.choice(["TOTAL", "Total", "GRAND TOTAL", "Total Expenses"])] +
                [("$" if c.chance(0.3) else "") + _amt(c, 100000, 9000000) for _ in range(ncol - 1)])
    grid = c.choice(["full", "rows", "head", "none"])
    y = p.table(L, y, cw, rows, font, bold, grid=grid, align=["l"] + ["r"] * (ncol - 1),
                head_shade=c.choice([None, None, 215]), max_y=max_y - lh * 2, row_h=lh + c.randint(2, 8))
    if grid in ("none", "head"):
        p.hline(L + first, R, y + 1, 1)
        p.hline(L + first, R, y + 4, 1)
    y += lh
    if y < max_y - lh * 3 and c.chance(0.6):
        y = p.para(L, y, R - L, c.choice([
            f"Note: {fy} figures reflect the reorganization of {c.choice(DEPTS)}.",
            "Amounts do not include corporate overhead allocations.",
            f"Prepared by {T.name()}, {T.date(1)}.", T.biz_sentence()]), font, max_y=max_y)
    if c.mix(0.02) and y < max_y - lh * 2:
        p.line(L, y + lh, f"Invoice No. {T.code()} charged to this account", font)
    return layout + ("_landscape" if landscape else "")


def invoice(p: Page, T: Text) -> str:
    c = p.ctx
    L, R, top, B = margins(p, 40, 75)
    layout = c.choice(["classic", "classic", "statement", "typed"])
    hard = c.mix()  # budget-like: no title word, no bill-to, no terms, budget line items
    if hard and layout == "typed":
        layout = "classic"
    font = p.font(c.choice(["sans", "mono", "serif"]), c.randint(10, 13))
    bold = p.font("sans", font.size, "bold")
    lh = p.line_height(font, 1.3)
    y = top
    vendor = T.company()
    word = c.cue(0.8) and not hard
    if layout == "typed":
        y = letterhead(p, T, L, R, y, vendor)
        tf = p.font("mono", c.randint(14, 18), "bold")
        if word:
            p.line(L, y, c.choice(["INVOICE", "I N V O I C E", "Invoice"]) + f" No. {T.number(1000, 99999)}", tf)
            y += lh * 2
        p.line(L, y, T.date(0), font)
        y += lh * 2
        y = p.text_block(L, y, [T.name(), T.company()] + T.address_lines(), font, 1.3) + lh
        y = p.para(L, y, R - L, c.choice([
            f"For professional services rendered in connection with {c.choice(['the consumer study', 'the litigation', 'the analytical program', 'the field audit'])} during {T.f.month_name()} {T.year()}:",
            "Charges for the following:", "To services rendered as follows:"]), font) + lh
        total = 0.0
        for _ in range(c.randint(2, 6)):
            if y > B - 150:
                break
            v = float(c.rng.uniform(50, 20000))
            total += v
            p.para(L + 20, y, R - L - 180, c.choice(INVOICE_ITEMS), font)
            p.line_right(R, y, f"{v:,.2f}", font)
            y += lh * 1.4
        p.hline(R - 120, R, y, 1)
        y += 6
        p.line(L + 20, y, "TOTAL DUE" if c.chance(0.6) else "Amount due", bold)
        p.line_right(R, y, f"${total:,.2f}", bold)
        y += lh * 3
        if c.chance(0.6):
            p.para(L, y, R - L, c.choice(["Payment due within 30 days.", "Please make checks payable to " + vendor + ".",
                                          "Thank you."]), font)
        return layout
    # header: vendor block left, title right
    vf = p.font(c.choice(["sans", "serif", "display"]), c.randint(15, 22), "bold")
    if c.chance(0.6):
        p.logo(L, y, 36)
        vx = L + 46
    else:
        vx = L
    p.line(vx, y + 4, vendor, vf)
    ay = y + p.line_height(vf, 1.4)
    for ln in T.address_lines() + [T.phone()]:
        p.line(vx, ay, ln, font)
        ay += lh
    if word or layout == "statement":
        if layout == "statement":
            tword = c.choice(["STATEMENT", "Statement of Account"]) if word else "ACCOUNT SUMMARY"
        else:
            tword = c.choice(["INVOICE", "INVOICE", "Invoice", "TAX INVOICE", "BILL"])
        tf = p.font(c.choice(["sans", "serif", "display"]), c.randint(22, 34), "bold")
        p.line_right(R, y, tword, tf)
    p.new_flow()
    my = y + 46
    if hard:  # at most a date and a reference
        meta_keep = c.randint(0, 2)
    else:
        meta_keep = 5
    meta = [("Invoice No." if word else "No.", T.number(1000, 999999)), ("Date", T.date(1)),
            ("Customer No.", T.code()), ("Terms", c.choice(["Net 30", "Net 10", "Due on receipt", "2% 10 Net 30"]))]
    if c.chance(0.4):
        meta.append(("P.O. No.", T.code()))
    if hard:
        meta = [("Date", T.date(1)), ("Ref.", T.code())][:meta_keep]
    mx = R - 230
    if c.chance(0.5):
        p.rect(mx - 6, my - 4, R, my + lh * len(meta) + 2)
    for lab, val in meta:
        if c.chance(0.85):
            p.line(mx, my, lab + ":", font)
            p.line_right(R - 6, my, val, font)
        my += lh
    p.new_flow()
    y = max(ay, my) + lh
    if c.cue(0.7) and not hard:
        bw = (R - L) / 2 - 10
        for j, lab in enumerate(["BILL TO:", "SHIP TO:"] if c.chance(0.6) else ["SOLD TO:", "SHIP TO:"]):
            x = L + j * (bw + 20)
            p.new_flow()
            if c.chance(0.5):
                p.rect(x, y, x + bw, y + lh * 6)
            p.line(x + 6, y + 4, lab, bold)
            p.text_block(x + 6, y + 4 + lh, [T.name(), T.company()] + T.address_lines(), font, 1.2)
        p.new_flow()
        y += lh * 6 + lh
    max_y = B - 120
    if layout == "statement":
        head = ["Date", "Reference", "Description", "Charges", "Credits", "Balance"]
        fr = [0.13, 0.15, 0.36, 0.12, 0.12, 0.12]
    else:
        head = c.choice([["Qty", "Description", "Unit Price", "Amount"],
                         ["Item No.", "Description", "Qty", "Price", "Total"],
                         ["Quantity", "Item", "Rate", "Extension"]])
        fr = {4: [0.1, 0.5, 0.2, 0.2], 5: [0.14, 0.44, 0.1, 0.16, 0.16], 3: [0.2, 0.5, 0.3]}[len(head)]
    budget_like = hard or c.mix()
    if budget_like and layout != "statement":
        head = c.choice([["Description", "Amount"], ["Account", "Description", "Amount"],
                         ["Item", "Budget", "Amount"]])
        fr = {2: [0.7, 0.3], 3: [0.3, 0.45, 0.25]}[len(head)]
    cw = [f * (R - L) for f in fr]
    rows = [head]
    total = 0.0
    for _ in range(c.randint(2, 12)):
        q = c.randint(1, 200)
        pr = float(c.rng.uniform(0.5, 900))
        amt = q * pr
        total += amt
        desc = c.choice(BUDGET_ITEMS if budget_like and c.chance(0.6) else INVOICE_ITEMS)
        if budget_like and layout != "statement":
            row = [desc, f"{amt:,.2f}"] if len(head) == 2 else [T.code() if head[0] == "Account" else desc,
                                                                 desc if head[0] == "Account" else f"{pr * 10:,.0f}",
                                                                 f"{amt:,.2f}"]
            rows.append(row)
        elif layout == "statement":
            rows.append([T.date(1), T.code(), desc, f"{amt:,.2f}", "", f"{total:,.2f}"])
        elif len(head) == 4:
            rows.append([str(q), desc, f"{pr:,.2f}", f"{amt:,.2f}"])
        elif len(head) == 5:
            rows.append([T.code(), desc, str(q), f"{pr:,.2f}", f"{amt:,.2f}"])
        else:
            rows.append([str(q), desc, f"{pr:,.2f}"])
    grid = c.choice(["full", "rows", "head"])
    y = p.table(L, y, cw, rows, font, bold, grid=grid, head_shade=c.choice([None, 200, 225]),
                align=(["l"] + ["r"] * (len(head) - 1)) if budget_like else (["c"] + ["l"] + ["r"] * (len(head) - 2)),
                max_y=max_y, row_h=lh + c.randint(3, 8)) + 6
    tax = total * c.uniform(0.0, 0.08)
    lines = [("Subtotal", total), ("Tax", tax), ("Shipping", c.rng.uniform(0, 80)), ("TOTAL DUE", total + tax)]
    if hard or not c.cue(0.3):
        lines = [("Total", total)]
    for lab, val in lines:
        if y > B - 30:
            break
        f = bold if lab.upper().startswith("TOTAL") else font
        p.line(R - 250, y, lab, f)
        p.line_right(R - 6, y, f"${val:,.2f}" if lab.upper().startswith("TOTAL") else f"{val:,.2f}", f)
        y += lh + 2
    y += lh
    if c.chance(0.6) and y < B - lh * 2 and not hard:
        p.para(L, y, R - L, c.choice(["Thank you for your business!", f"Please remit to: {vendor}, {T.address_lines()[0]}",
                                      "Payment is due within 30 days. A finance charge of 1.5% per month will be added to past due accounts.",
                                      "Please return one copy with your payment."]), font, max_y=B)
    if c.chance(0.3):
        p.stamp(c.uniform(L + 150, R - 150), c.uniform(top + 200, B - 150),
                [c.choice(["PAID", "RECEIVED", "APPROVED"]), T.date(3)], c.uniform(-20, 20), size=c.randint(16, 22))
    return layout + ("_hard" if hard else "")
