"""Form 1065 and Schedule K-1 as printable PDFs (WeasyPrint), laid out like the IRS forms' sections.

Why HTML templates filled with `string.Template`: the layout lives in `templates/*.html` and
`templates/tax_forms.css` where a designer can change it, and the only dynamic parts (rows of boxes and
schedules) are built here from the computed `Form1065`/`K1`, escaped. No template engine is needed for
that, so the renderer adds no dependency. The CSS is parsed once per process and reused, which matters
when a year-end batch renders a thousand K-1s.

These are facsimiles for partners and preparers (draft or final, marked as such), not IRS-scannable
substitute forms.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import cache
from importlib.resources import files
from string import Template

from pipelet_app.domain.tax.capital import CapitalStatement
from pipelet_app.domain.tax.form1065 import ANALYSIS_COLUMNS, Form1065
from pipelet_app.domain.tax.inputs import BalanceSheet, PartnerInfo, PartnershipInfo
from pipelet_app.domain.tax.k1 import K1, LINES

TEMPLATES = files("pipelet_app.reports") / "templates"


class ReportStatus(StrEnum):
    """Draft PDFs carry a watermark; released and filed ones do not (the app keeps the audit trail)."""

    DRAFT = "draft"
    RELEASED = "released"
    FILED = "filed"


def money(value: Decimal, *, blank_zero: bool = True) -> str:
    """US format to the cent, negatives in parentheses as on the IRS forms; zero left blank in boxes."""
    if value == 0 and blank_zero:
        return ""
    text = f"{abs(value):,.2f}"
    return f"({text})" if value < 0 else text


def percent(share: Decimal) -> str:
    return f"{share * 100:.4f} %"


def esc(value: object) -> str:
    return html.escape(str(value))


def check(on: bool) -> str:
    return f'<span class="box">{"X" if on else ""}</span>'


@cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


@cache
def _stylesheet() -> object:
    from weasyprint import CSS

    return CSS(string=(TEMPLATES / "tax_forms.css").read_text(encoding="utf-8"))


def _common(status: ReportStatus) -> dict[str, str]:
    label = {"draft": "DRAFT - not for filing", "released": "Final", "filed": "Final (filed)"}[status.value]
    mark = '<div class="draft-mark">DRAFT</div>' if status is ReportStatus.DRAFT else ""
    return {"status_label": label, "draft_mark": mark}


# K-1 Part III layout: (box, label) in the form's two columns.
K1_LEFT: tuple[tuple[str, str], ...] = (
    ("1", "Ordinary business income (loss)"),
    ("2", "Net rental real estate income (loss)"),
    ("3", "Other net rental income (loss)"),
    ("4a", "Guaranteed payments for services"),
    ("4b", "Guaranteed payments for capital"),
    ("4c", "Total guaranteed payments"),
    ("5", "Interest income"),
    ("6a", "Ordinary dividends"),
    ("6b", "Qualified dividends"),
    ("6c", "Dividend equivalents"),
    ("7", "Royalties"),
    ("8", "Net short-term capital gain (loss)"),
    ("9a", "Net long-term capital gain (loss)"),
    ("9b", "Collectibles (28%) gain (loss)"),
    ("9c", "Unrecaptured section 1250 gain"),
    ("10", "Net section 1231 gain (loss)"),
    ("11", "Other income (loss)"),
    ("12", "Section 179 deduction"),
    ("13", "Other deductions"),
)
K1_RIGHT: tuple[tuple[str, str], ...] = (
    ("14", "Self-employment earnings (loss)"),
    ("15", "Credits"),
    ("16", "Schedule K-3 is attached if checked"),
    ("17", "Alternative minimum tax (AMT) items"),
    ("18", "Tax-exempt income and nondeductible expenses"),
    ("19", "Distributions"),
    ("20", "Other information"),
    ("21", "Foreign taxes paid or accrued"),
    ("22", "More than one activity for at-risk purposes*"),
    ("23", "More than one activity for passive activity purposes*"),
)


def _k1_box_html(k1: K1, box: str, label: str) -> str:
    entries = [b for b in k1.boxes if b.box == box]
    if box in ("22", "23"):
        return f'<div class="kbox"><div class="hd"><b>{box}</b>{check(False)} {esc(label)}</div></div>'
    rows = "".join(
        f'<tr><td class="code">{esc(b.code or "")}{"*" if b.code == "STMT" else ""}</td>'
        f'<td class="amt">{money(b.amount)}</td></tr>'
        for b in entries
    )
    body = f"<table>{rows}</table>" if rows else ""
    return f'<div class="kbox"><div class="hd"><b>{box}</b>{esc(label)}</div>{body}</div>'


def truncate_tin(tin: str) -> str:
    """Truncated TIN for the partner's copy: all but the last four digits masked, keeping the layout
    of an SSN (XXX-XX-1234) or an EIN (XX-XXX1234); the filing copy keeps the full number."""
    digits = "".join(ch for ch in tin if ch.isdigit())
    if len(digits) != 9:
        return "X" * len(tin)
    return f"XX-XXX{digits[5:]}" if tin.find("-") == 2 else f"XXX-XX-{digits[5:]}"


def k1_html(k1: K1, status: ReportStatus = ReportStatus.DRAFT, *, truncate_partner_tin: bool = False) -> str:
    """The K-1 as an HTML document (page 1: the form; page 2: Statement A).

    `truncate_partner_tin` masks the partner's TIN (item E) for copies furnished to the partner, such as
    portal downloads, so a leaked PDF does not carry the full number.
    """
    year = k1.tax_year
    p, sp = k1.partner, k1.partnership
    j, k, item_l = k1.item_j, k1.item_k, k1.item_l
    statement_rows = "".join(
        f'<tr><td class="ln">{esc(b.box)}</td><td class="code">{esc(b.code or "")}</td>'
        f'<td>{esc(b.label)}</td><td class="amt">{money(b.amount, blank_zero=False)}</td></tr>'
        for b in k1.boxes
    )
    credit = k1.box_amount("15f")
    credit_note = (
        "<h2>Box 15 - credits</h2><p>Alternative fuel vehicle refueling property credit "
        f"(IRC &sect;30C, Form 8911): partner's share {money(credit, blank_zero=False)}, allocated in the "
        f"partner's profit share of {percent(j.profit_ending)}. The credit reduced the partnership's "
        "depreciable basis.</p>"
        if credit
        else ""
    )
    values = {
        **_common(status),
        "year": str(year.year),
        "year_start": year.start.strftime("%m/%d/%Y"),
        "year_end": year.end.strftime("%m/%d/%Y"),
        "final_box": check(k1.final_k1),
        "amended_box": check(False),
        "ein": esc(sp.ein),
        "partnership_name": esc(sp.name),
        "partnership_address": "<br>".join(esc(line) for line in sp.address),
        "irs_center": esc(sp.irs_center),
        "ptp_box": check(sp.publicly_traded),
        "partner_tin": esc(truncate_tin(p.tin) if truncate_partner_tin else p.tin),
        "partner_name": esc(p.name),
        "partner_address": "<br>".join(esc(line) for line in p.address),
        "gp_box": check(p.general_partner),
        "lp_box": check(not p.general_partner),
        "domestic_box": check(p.domestic),
        "foreign_box": check(not p.domestic),
        "entity_type": esc(p.entity_type.value),
        "j_profit_b": percent(j.profit_beginning),
        "j_profit_e": percent(j.profit_ending),
        "j_loss_b": percent(j.loss_beginning),
        "j_loss_e": percent(j.loss_ending),
        "j_capital_b": percent(j.capital_beginning),
        "j_capital_e": percent(j.capital_ending),
        "k_nr_b": money(k.beginning.nonrecourse, blank_zero=False),
        "k_nr_e": money(k.ending.nonrecourse, blank_zero=False),
        "k_qnr_b": money(k.beginning.qualified_nonrecourse, blank_zero=False),
        "k_qnr_e": money(k.ending.qualified_nonrecourse, blank_zero=False),
        "k_r_b": money(k.beginning.recourse, blank_zero=False),
        "k_r_e": money(k.ending.recourse, blank_zero=False),
        "l_beginning": money(item_l.beginning, blank_zero=False),
        "l_contributed": money(item_l.contributed, blank_zero=False),
        "l_net_income": money(item_l.net_income, blank_zero=False),
        "l_other": money(item_l.other_net, blank_zero=False),
        "l_distributions": f"({money(item_l.distributions, blank_zero=False)})",
        "l_ending": money(item_l.ending, blank_zero=False),
        "m_yes": check(k1.item_m),
        "m_no": check(not k1.item_m),
        "n_b": money(k1.item_n_beginning, blank_zero=False),
        "n_e": money(k1.item_n_ending, blank_zero=False),
        "boxes_left": "".join(_k1_box_html(k1, box, label) for box, label in K1_LEFT),
        "boxes_right": "".join(_k1_box_html(k1, box, label) for box, label in K1_RIGHT),
        "statement_rows": statement_rows or '<tr><td colspan="4">No amounts to report.</td></tr>',
        "credit_note": credit_note,
    }
    return _template("k1.html").substitute(values)


# Schedule L rows: (line, label, attribute or callable of the sheet, is_contra)
_L_ROWS: tuple[tuple[str, str, str], ...] = (
    ("1", "Cash", "cash"),
    ("2a", "Trade notes and accounts receivable", "receivables"),
    ("6", "Other current assets", "other_current_assets"),
    ("9a", "Buildings and other depreciable assets", "depreciable_assets"),
    ("9b", "Less accumulated depreciation", "accumulated_depreciation"),
    ("11", "Land (net of any amortization)", "land"),
    ("13", "Other assets", "other_assets"),
    ("14", "Total assets", "total_assets"),
    ("15", "Accounts payable", "accounts_payable"),
    ("16", "Mortgages, notes, bonds payable in less than 1 year", "short_term_notes"),
    ("17", "Other current liabilities", "other_current_liabilities"),
    ("18", "All nonrecourse loans", "nonrecourse_loans"),
    ("19a", "Loans from partners (or persons related to partners)", "loans_from_partners"),
    ("19b", "Mortgages, notes, bonds payable in 1 year or more", "long_term_notes"),
    ("20", "Other liabilities", "other_liabilities"),
    ("21", "Partners' capital accounts", "partners_capital"),
    ("22", "Total liabilities and capital", "total_liabilities_and_capital"),
)


def _l_value(sheet: BalanceSheet, attr: str) -> Decimal:
    value: Decimal = getattr(sheet, attr)
    return value


def _yes_no(value: bool) -> str:
    return "Yes" if value else "No"


def _bold(label: str) -> str:
    return f"<b>{esc(label)}</b>"


def _row(line: str, label: str, amount: Decimal, *, bold: bool = False, blank_zero: bool = True) -> str:
    text = money(amount, blank_zero=blank_zero)
    if bold:
        label, text = f"<b>{esc(label)}</b>", f"<b>{text}</b>"
    else:
        label = esc(label)
    return f'<tr><td class="ln">{esc(line)}</td><td>{label}</td><td class="amt">{text}</td></tr>'


M1_ROWS: tuple[tuple[str, str, str], ...] = (
    ("1", "Net income (loss) per books", "net_income_per_books"),
    (
        "2",
        "Income included on Schedule K, lines 1, 2, 3c, 5, 6a, 7, 8, 9a, 10, and 11, "
        "not recorded on books this year",
        "income_on_k_not_on_books",
    ),
    ("3", "Guaranteed payments (other than health insurance)", "guaranteed_payments"),
    (
        "4a",
        "Expenses recorded on books this year not included on Schedule K, lines 1 through 13e, "
        "and 21: Depreciation",
        "expenses_on_books_not_on_k_depreciation",
    ),
    ("4b", "Travel and entertainment", "expenses_on_books_not_on_k_travel_entertainment"),
    ("4", "Other (nondeductible expenses)", "expenses_on_books_not_on_k_other"),
    ("5", "Add lines 1 through 4", "line5"),
    (
        "6a",
        "Income recorded on books this year not included on Schedule K, lines 1 through 11: "
        "Tax-exempt interest",
        "income_on_books_not_on_k_tax_exempt_interest",
    ),
    (
        "7a",
        "Deductions included on Schedule K, lines 1 through 13e, and 21, not charged against book "
        "income this year: Depreciation",
        "deductions_on_k_not_on_books_depreciation",
    ),
    ("8", "Add lines 6 and 7", "line8"),
    (
        "9",
        "Income (loss) (Analysis of Net Income (Loss), line 1). Subtract line 8 from line 5",
        "income_per_return",
    ),
)


def form1065_html(form: Form1065, status: ReportStatus = ReportStatus.DRAFT) -> str:
    """Form 1065: header, page-1 summary, Schedule K, Analysis of Net Income, Schedules L, M-1, M-2."""
    year = form.tax_year
    sp = form.partnership
    k_rows = []
    for line in LINES:
        code = form.credit_code if line.k_line == "15f" else None
        label = f"{line.label} (K-1 code {code})" if code else line.label
        k_rows.append(_row(line.k_line, label, form.schedule_k[line.k_line]))
    analysis_rows = "".join(
        f"<tr><td class='ln'>2{'a' if row == 'general' else 'b'}</td>"
        f"<td>{'General partners' if row == 'general' else 'Limited partners'}</td>"
        + "".join(
            f'<td class="amt">{money(form.analysis.by_type[(row, col)])}</td>' for col in ANALYSIS_COLUMNS
        )
        + "</tr>"
        for row in ("general", "limited")
    )
    l_rows = "".join(
        f'<tr><td class="ln">{line}</td><td>{_bold(label) if line in ("14", "22") else esc(label)}</td>'
        f'<td class="amt">{money(_l_value(form.schedule_l_beginning, attr))}</td>'
        f'<td class="amt">{money(_l_value(form.schedule_l_ending, attr))}</td></tr>'
        + ("<tr><th></th><th>Liabilities and Capital</th><th></th><th></th></tr>" if line == "14" else "")
        for line, label, attr in _L_ROWS
    )
    m1 = form.m1
    m1_rows = "".join(
        _row(line, label, getattr(m1, attr), bold=line == "9", blank_zero=line not in ("1", "5", "8", "9"))
        for line, label, attr in M1_ROWS
    )
    m2 = form.m2
    m2_rows = "".join(
        [
            _row("1", "Balance at beginning of year", m2.beginning, blank_zero=False),
            _row("2a", "Capital contributed: Cash", m2.contributed_cash),
            _row("2b", "Capital contributed: Property", m2.contributed_property),
            _row("3", "Net income (loss) (see instructions)", m2.net_income_per_books, blank_zero=False),
            _row("4", "Other increases (itemize)", m2.other_increases),
            _row("5", "Add lines 1 through 4", m2.line5, blank_zero=False),
            _row("6a", "Distributions: Cash", m2.distributions_cash),
            _row("6b", "Distributions: Property", m2.distributions_property),
            _row("7", "Other decreases (itemize)", m2.other_decreases),
            _row("8", "Add lines 6 and 7", m2.line8, blank_zero=False),
            _row(
                "9",
                "Balance at end of year. Subtract line 8 from line 5",
                m2.ending,
                bold=True,
                blank_zero=False,
            ),
        ]
    )
    note = (
        ""
        if form.schedules_l_m_required
        else '<p class="note">Schedules L, M-1, M-2 and item L are optional for this partnership '
        "(receipts under $$250,000 and assets under $$1 million); shown for completeness.</p>"
    )
    values = {
        **_common(status),
        "year": str(year.year),
        "year_start": year.start.strftime("%m/%d/%Y"),
        "year_end": year.end.strftime("%m/%d/%Y"),
        "partnership_name": esc(sp.name),
        "partnership_address": "<br>".join(esc(line) for line in sp.address),
        "ein": esc(sp.ein),
        "activity": esc(sp.principal_activity),
        "product": esc(sp.principal_product),
        "business_code": esc(sp.business_code),
        "started": sp.date_business_started.strftime("%m/%d/%Y") if sp.date_business_started else "",
        "total_assets": money(form.schedule_l_ending.total_assets, blank_zero=False),
        "k1_count": str(len(form.k1s)),
        "b1": esc(form.schedule_b.entity_kind),
        "b2a": _yes_no(form.schedule_b.q2a_entity_owns_50_pct),
        "b2b": _yes_no(form.schedule_b.q2b_individual_owns_50_pct),
        "b4a": _yes_no(form.schedule_b.q4a_receipts_under_limit).lower(),
        "b4b": _yes_no(form.schedule_b.q4b_assets_under_limit).lower(),
        "b4c": _yes_no(form.schedule_b.q4c_k1s_on_time).lower(),
        "b4d": _yes_no(form.schedule_b.q4d_no_schedule_m3).lower(),
        "b4": _yes_no(form.schedule_b.q4),
        "gross_receipts": money(form.income.gross_receipts, blank_zero=False),
        "guaranteed_payments": money(form.income.guaranteed_payments, blank_zero=False),
        "depreciation": money(form.income.depreciation, blank_zero=False),
        "operating_expenses": money(form.income.operating_expenses, blank_zero=False),
        "total_deductions": money(form.income.total_deductions, blank_zero=False),
        "ordinary_income": money(form.income.ordinary_business_income, blank_zero=False),
        "schedule_k_rows": "".join(k_rows),
        "net_income": money(form.analysis.net_income, blank_zero=False),
        "analysis_rows": analysis_rows,
        "schedules_note": note.replace("$$", "$"),
        "schedule_l_rows": l_rows,
        "m1_rows": m1_rows,
        "m2_rows": m2_rows,
    }
    return _template("form1065.html").substitute(values)


def render_pdf(document_html: str) -> bytes:
    """HTML to PDF bytes with the shared stylesheet (parsed once per process)."""
    from weasyprint import HTML

    pdf: bytes = HTML(string=document_html, base_url=str(TEMPLATES)).write_pdf(stylesheets=[_stylesheet()])
    return pdf


def k1_pdf(k1: K1, status: ReportStatus = ReportStatus.DRAFT, *, truncate_partner_tin: bool = False) -> bytes:
    return render_pdf(k1_html(k1, status, truncate_partner_tin=truncate_partner_tin))


def form1065_pdf(form: Form1065, status: ReportStatus = ReportStatus.DRAFT) -> bytes:
    return render_pdf(form1065_html(form, status))


def k1_filename(k1: K1) -> str:
    """Stable, filesystem-safe name: K1-<year>-<partner id>.pdf."""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in k1.partner.partner_id)
    return f"K1-{k1.tax_year.year}-{safe}.pdf"


def form1065_filename(form: Form1065) -> str:
    return f"Form1065-{form.tax_year.year}.pdf"


def _capital_rows(statements: Sequence[CapitalStatement]) -> str:
    if not statements:
        return '<tr><td colspan="7">No years yet.</td></tr>'
    return "".join(
        f'<tr><td class="ln">{s.tax_year}</td>'
        + "".join(
            f'<td class="amt">{money(v, blank_zero=False)}</td>'
            for v in (s.beginning, s.contributed, s.net_income, s.other_net, -s.distributions, s.ending)
        )
        + "</tr>"
        for s in statements
    )


def capital_statement_html(
    partnership: PartnershipInfo,
    partner: PartnerInfo,
    section_704b: Sequence[CapitalStatement],
    tax_basis: Sequence[CapitalStatement],
    prepared: date,
) -> str:
    """A partner's capital account statement: §704(b) (from the flip) and tax basis (from K-1 item L)."""
    years = sorted({s.tax_year for s in (*section_704b, *tax_basis)})
    deficit = [s.tax_year for s in section_704b if s.ending < 0]
    values = {
        "partner_name": esc(partner.name),
        "partnership_name": esc(partnership.name),
        "ein": esc(partnership.ein),
        "prepared": prepared.strftime("%m/%d/%Y"),
        "years": f"{years[0]}-{years[-1]}" if len(years) > 1 else (str(years[0]) if years else ""),
        "deficit_note": (
            f"The account is in deficit at the end of {', '.join(map(str, deficit))}." if deficit else ""
        ),
        "book_rows": _capital_rows(section_704b),
        "tax_rows": _capital_rows(tax_basis),
    }
    return _template("capital_statement.html").substitute(values)


def capital_statement_pdf(
    partnership: PartnershipInfo,
    partner: PartnerInfo,
    section_704b: Sequence[CapitalStatement],
    tax_basis: Sequence[CapitalStatement],
    prepared: date,
) -> bytes:
    return render_pdf(capital_statement_html(partnership, partner, section_704b, tax_basis, prepared))
