"""A portfolio report as PDF (WeasyPrint): the period table, an energy chart (inline SVG, so the PDF
needs no chart library) and one table per site. Figures come from domain/portfolio.py unchanged."""

from __future__ import annotations

import html
from decimal import Decimal

from pipelet_app.domain import portfolio as rules

CSS = """
@page { size: A4; margin: 16mm 14mm; @bottom-right { content: "Page " counter(page) " of " counter(pages);
  font-size: 8pt; color: #64748b; } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 9pt; color: #0f172a; }
h1 { font-size: 15pt; margin: 0 0 2mm; color: #0f766e; }
h2 { font-size: 11pt; margin: 6mm 0 1mm; }
table { width: 100%; border-collapse: collapse; margin-top: 2mm; }
th, td { border-bottom: 0.3mm solid #cbd5e1; padding: 1.2mm 2mm; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f1f5f9; }
tr.total td { font-weight: bold; border-top: 0.5mm solid #0f172a; }
.note { margin-top: 5mm; font-size: 7.5pt; color: #475569; }
"""


def _money(f: rules.Figures) -> str:
    if not f.revenue:
        return "—"
    return ", ".join(f"{amount} {cur}" for cur, amount in sorted(f.revenue.items()))


def _uptime(p: rules.MonthHealth | None) -> str:
    if p is None or p.availability is None:
        return "—"
    return f"{p.availability * 100:.2f} %"


def _rows(periods: list[rules.PeriodRow], totals: rules.Figures, uptime: rules.MonthHealth | None) -> str:
    esc = html.escape
    out = []
    for p in periods:
        hours = "" if p.hours is None else f" ({p.hours:g} h)"
        out.append(
            f"<tr><td>{esc(p.period)}{hours}</td><td>{p.figures.sessions}</td>"
            f"<td>{p.figures.energy_kwh}</td><td>{esc(_money(p.figures))}</td><td>{_uptime(p.uptime)}</td></tr>"
        )
    out.append(
        f'<tr class="total"><td>Total</td><td>{totals.sessions}</td><td>{totals.energy_kwh}</td>'
        f"<td>{esc(_money(totals))}</td><td>{_uptime(uptime)}</td></tr>"
    )
    return "".join(out)


def _chart(periods: list[rules.PeriodRow]) -> str:
    """Energy per period as bars, 170 mm wide."""
    if not periods:
        return ""
    width, height = 640, 160
    peak = max((p.figures.energy_kwh for p in periods), default=Decimal(0)) or Decimal(1)
    bar = width / len(periods)
    bars = []
    for i, p in enumerate(periods):
        h = float(p.figures.energy_kwh / peak) * (height - 20)
        x = i * bar + bar * 0.1
        bars.append(
            f'<rect x="{x:.1f}" y="{height - 14 - h:.1f}" width="{bar * 0.8:.1f}" '
            f'height="{h:.1f}" fill="#0f766e"/>'
        )
        if len(periods) <= 16 or i % max(1, len(periods) // 12) == 0:
            bars.append(
                f'<text x="{x:.1f}" y="{height - 2}" font-size="8" fill="#475569">'
                f"{html.escape(p.period[-5:])}</text>"
            )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="170mm" height="42mm" viewBox="0 0 {width} {height}">'
        f"<title>Energy per period (kWh), highest {peak}</title>{''.join(bars)}</svg>"
    )


def report_html(r: rules.Report, portfolio_name: str, tenant_name: str, generated_utc: str) -> str:
    esc = html.escape
    head = (
        "<tr><th>Period</th><th>Sessions</th><th>Energy (kWh)</th><th>Revenue</th><th>Availability</th></tr>"
    )
    sites = "".join(
        f"<h2>{esc(s.site.name)} <small>({esc(s.site.timezone)})</small></h2>"
        f"<table><thead>{head}</thead><tbody>{_rows(s.periods, s.totals, s.uptime)}</tbody></table>"
        for s in r.sites
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Portfolio report</title>'
        f"<style>{CSS}</style></head><body>"
        f"<h1>Portfolio report: {esc(portfolio_name)}</h1>"
        f"<p>{esc(tenant_name)} · local days {r.start} to {r.end} (end excluded) · by {r.step} · "
        f"{len(r.sites)} sites</p>"
        f"{_chart(r.periods)}"
        f"<table><thead>{head}</thead><tbody>{_rows(r.periods, r.totals, r.uptime)}</tbody></table>"
        f"{sites}"
        f'<p class="note">Sessions count on the local day of their end at their site; revenue is the final '
        f"price of priced sessions, per currency; availability is the stored UTC month "
        f"(docs/reports.md). Generated {esc(generated_utc)} UTC.</p></body></html>"
    )


def report_pdf(r: rules.Report, portfolio_name: str, tenant_name: str, generated_utc: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=report_html(r, portfolio_name, tenant_name, generated_utc)).write_pdf()
