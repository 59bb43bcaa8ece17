"""The investor service: what the investor portal and `/api/v1/investors/me` both show: only the caller's
own partnerships.

Every function takes (db, principal), calls `require(principal, Role.INVESTOR)` first, and reaches an
SPV only through an `spv_partners` row linked to the caller's user. A partner id that is not the
caller's raises NotFound (404), exactly like an id that does not exist, so another investor's K-1
cannot be fetched or even confirmed to exist by URL, API or forged state event.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlmodel import Session, select

from pipelet_app import clock
from pipelet_app.auth import NotFound, Principal, require
from pipelet_app.clock import utcnow
from pipelet_app.db.models import (
    Charger,
    ChargingSession,
    Connector,
    Role,
    Site,
    Spv,
    SpvAsset,
    SpvPartner,
    SpvTaxYear,
)
from pipelet_app.domain.tax.assets import depreciation_table
from pipelet_app.domain.tax.books import investor_history
from pipelet_app.domain.tax.capital import CapitalStatement
from pipelet_app.domain.tax.errors import TaxValidationError
from pipelet_app.domain.tax.release import ReturnStatus
from pipelet_app.domain.tax.spv import SpvResult, prepare
from pipelet_app.i18n import translate
from pipelet_app.i18n.formatting import current_locale, day, number, percent, usd
from pipelet_app.i18n.words import label
from pipelet_app.reports.tax_forms import capital_statement_pdf
from pipelet_app.tax.books import LoadedBooks, load_books, partner_key
from pipelet_app.tax.returns import BooksChanged, Pdf, k1_document

log = logging.getLogger(__name__)
API = "/api/v1/investors/me"
UTILISATION_DAYS = 30


def pct(value: Decimal | float | None, digits: int = 2) -> str:
    """A share with two places by default (IRR, allocation shares), in the reader's language."""
    return percent(value, digits)


def _mine(db: Session, principal: Principal) -> list[tuple[SpvPartner, Spv]]:
    require(principal, Role.INVESTOR)
    return list(
        db.exec(
            select(SpvPartner, Spv)
            .join(Spv, Spv.id == SpvPartner.spv_id)
            .where(SpvPartner.user_id == principal.user_id)
            .order_by(Spv.name, SpvPartner.id)
        ).all()
    )


def my_partner(db: Session, principal: Principal, partner_id: int) -> SpvPartner:
    """The caller's own partner row, or NotFound (also for another investor's id)."""
    for partner, _spv in _mine(db, principal):
        if partner.id == partner_id:
            return partner
    raise NotFound("Not found.")


def _years(db: Session, spv_id: int) -> list[SpvTaxYear]:
    return list(
        db.exec(select(SpvTaxYear).where(SpvTaxYear.spv_id == spv_id).order_by(SpvTaxYear.tax_year)).all()
    )


def k1_list(db: Session, principal: Principal, year: int | None = None) -> list[dict]:
    """One entry per own partnership and tax year on file: status, final or draft, download link."""
    out = []
    for partner, spv in _mine(db, principal):
        for row in _years(db, spv.id or 0):
            if year is not None and row.tax_year != year:
                continue
            status = str(row.status)
            out.append(
                {
                    "spv_id": spv.id,
                    "spv": spv.name,
                    "partner_id": partner.id,
                    "partner": partner.name,
                    "tax_year": row.tax_year,
                    "status": status,
                    "final": status != "draft",
                    "download_url": f"{API}/k1/{partner.id}/{row.tax_year}.pdf",
                }
            )
    return out


def k1_pdf(db: Session, principal: Principal, partner_id: int, year: int) -> Pdf:
    """The caller's K-1 as PDF; NotFound for anyone else's, for a year not on file, or a draft that
    cannot be computed yet (its open violations are the sponsor's to fix, not the investor's to read)."""
    partner = my_partner(db, principal, partner_id)
    if not any(r.tax_year == year for r in _years(db, partner.spv_id)):
        raise NotFound("Not found.")
    try:
        return k1_document(db, partner, year, created_by=principal.user_id)
    except (TaxValidationError, BooksChanged) as exc:
        # The sponsor's console shows why (open violations, books changed since release).
        log.warning("K-1 of partner %s for %s not available: %s", partner.id, year, type(exc).__name__)
        raise NotFound("The K-1 for this year is not available yet.") from None


def _statements(result: SpvResult, key: str) -> tuple[list[CapitalStatement], list[CapitalStatement]]:
    book = [y.capital[key] for y in result.flip.years if key in y.capital]
    tax = [form.k1_for(key).item_l for _year, form in sorted(result.returns.items())]
    return book, tax


def capital_statement(db: Session, principal: Principal, partner_id: int, today: date | None = None) -> Pdf:
    """The partner's capital account statement (§704(b) and tax basis, every year on file) as PDF."""
    partner = my_partner(db, principal, partner_id)
    loaded = load_books(db, partner.spv_id)
    try:
        result = prepare(loaded.books)
    except TaxValidationError:
        raise NotFound("The capital account statement is not available yet.") from None
    key = partner_key(partner.id)
    book, tax = _statements(result, key)
    content = capital_statement_pdf(
        loaded.books.partnership, loaded.books.partners[key], book, tax, today or clock.today()
    )
    return Pdf(content, f"capital-statement-{partner.id}.pdf", ReturnStatus.DRAFT, "")


def _utilisation(db: Session, spv_id: int, now: datetime) -> list[dict[str, str]]:
    """Per site of the SPV's chargers, over the last 30 days: sessions, energy, share of port-hours in use."""
    since = now - timedelta(days=UTILISATION_DAYS)
    rows = db.exec(
        select(SpvAsset, Charger, Site)
        .join(Charger, Charger.id == SpvAsset.charger_id)
        .join(Site, Site.id == Charger.site_id)
        .where(SpvAsset.spv_id == spv_id)
    ).all()
    by_site: dict[str, dict] = defaultdict(lambda: {"ports": 0, "sessions": 0, "kwh": 0.0, "hours": 0.0})
    for _asset, charger, site in rows:
        entry = by_site[site.name]
        # Ports are connectors 1..n: connector 0 is the charger itself (OCPP), not a port to count.
        entry["ports"] += len(
            db.exec(
                select(Connector.id).where(Connector.charger_id == charger.id, Connector.connector_id > 0)
            ).all()
        )
        for session in db.exec(
            select(ChargingSession).where(
                ChargingSession.charger_id == charger.id, ChargingSession.start_utc >= since
            )
        ).all():
            entry["sessions"] += 1
            entry["kwh"] += session.energy_wh / 1000
            end = session.end_utc or now
            entry["hours"] += max((min(end, now) - session.start_utc).total_seconds(), 0) / 3600
    out = []
    for name, entry in sorted(by_site.items()):
        capacity = entry["ports"] * UTILISATION_DAYS * 24
        out.append(
            {
                "site": name,
                "ports": str(entry["ports"]),
                "sessions": str(entry["sessions"]),
                "energy": f"{number(entry['kwh'], 0)} kWh",
                "utilisation": percent(entry["hours"] / capacity, 1) if capacity else "—",
            }
        )
    return out


def _spv_view(
    db: Session, partner: SpvPartner, spv: Spv, loaded: LoadedBooks, result: SpvResult, now: datetime
) -> dict[str, list[dict[str, str]]]:
    key = partner_key(partner.id)
    locale = current_locale()
    view: dict[str, list[dict[str, str]]] = defaultdict(list)
    for year, form in sorted(result.returns.items()):
        inc = form.income
        view["pnl"].append(
            {
                "spv": spv.name,
                "year": str(year),
                "receipts": usd(inc.gross_receipts),
                "expenses": usd(inc.operating_expenses),
                "depreciation": usd(inc.depreciation),
                "ordinary": usd(inc.ordinary_business_income),
                "book_income": usd(form.m1.net_income_per_books),
                "credits": usd(form.schedule_k["15f"]),
            }
        )
        end = form.schedule_l_ending
        view["balance"].append(
            {
                "spv": spv.name,
                "year": str(year),
                "cash": usd(end.cash),
                "assets_net": usd(end.depreciable_assets - end.accumulated_depreciation),
                "total_assets": usd(end.total_assets),
                "liabilities": usd(end.total_liabilities),
                "capital": usd(end.partners_capital),
            }
        )
    for row in depreciation_table(result.register):
        view["depreciation"].append(
            {
                "spv": spv.name,
                "asset": f"{row.asset_id} · {row.description}",
                "in_service": day(row.placed_in_service),
                "class": translate("investor.recovery_years", locale).format(n=row.recovery_class)
                + ", "
                + label("macrs_convention", row.convention.value, locale),
                "basis": usd(row.cost_basis),
                "credit": usd(row.credit),
                "bonus": f"{usd(row.bonus_amount)} ({pct(row.bonus_rate, 0)})",
                "schedule": " · ".join(f"{y}: {usd(v)}" for y, v in sorted(row.by_year.items()) if v),
            }
        )
    history = {
        h.tax_year: h for h in investor_history(result.flip, [key], loaded.books.terms.investor_tax_rate)
    }
    for flip_year in result.flip.years:
        h = history[flip_year.tax_year]
        view["distributions"].append(
            {
                "spv": spv.name,
                "year": str(flip_year.tax_year),
                "contributed": usd(h.contributed),
                "distributed": usd(h.distributed),
                "cash_share": pct(flip_year.cash_shares.get(key)),
                "tax_share": pct(flip_year.tax_shares.get(key)),
                "capital": usd(flip_year.capital[key].ending),
            }
        )
    last = history[max(history)] if history else None
    view["analytics"].append(
        {
            "spv": spv.name,
            "contributed": usd(last.cumulative_contributed) if last else "—",
            "distributed": usd(last.cumulative_distributed) if last else "—",
            "cash_yield": pct(last.cash_yield) if last else "—",
            "irr": pct(last.cumulative_after_tax_irr) if last else "—",
            "flip_year": str(result.flip.flip_year or "—"),
            "target": pct(loaded.books.terms.target_irr),
        }
    )
    view["utilisation"] = [{"spv": spv.name, **u} for u in _utilisation(db, spv.id or 0, now)]
    # The first screen's answer: what went in, what came back, what the stake is worth on the books, and
    # the return so far; then the same over time for the chart (numbers, not text).
    last_year = result.flip.years[-1] if result.flip.years else None
    view["summary"].append(
        {
            "spv": spv.name,
            "contributed": usd(last.cumulative_contributed) if last else "—",
            "distributed": usd(last.cumulative_distributed) if last else "—",
            "capital": usd(last_year.capital[key].ending) if last_year else "—",
            "irr": pct(last.cumulative_after_tax_irr) if last else "—",
        }
    )
    for flip_year in result.flip.years:
        h = history[flip_year.tax_year]
        view["history"].append(
            {
                "spv": spv.name,
                "year": str(flip_year.tax_year),
                "contributed": float(h.cumulative_contributed),
                "distributed": float(h.cumulative_distributed),
                "capital": float(flip_year.capital[key].ending),
            }
        )
    return view


SECTIONS = (
    "pnl",
    "balance",
    "depreciation",
    "distributions",
    "analytics",
    "utilisation",
    "summary",
    "history",
)


def investor_overview(db: Session, principal: Principal, now: datetime | None = None) -> dict:
    """Everything on /investor for the caller's partnerships (figures from one computation per SPV)."""
    now = now or utcnow()
    mine = _mine(db, principal)
    out: dict = {key: [] for key in SECTIONS}
    out["partnerships"] = [
        {
            "spv": spv.name,
            "partner": partner.name,
            "kind": str(partner.kind),
            "share": f"{number(partner.ownership_pct, 2)} %",
            "statement_url": f"{API}/capital-statement/{partner.id}.pdf",
        }
        for partner, spv in mine
    ]
    out["k1s"] = [
        {
            **{k: str(v) for k, v in entry.items()},
            "final": "final" if entry["final"] else "draft",
        }
        for entry in k1_list(db, principal)
    ]
    out["notes"] = []
    for partner, spv in mine:
        loaded = load_books(db, spv.id or 0)
        if not loaded.books.years:
            continue
        try:
            result = prepare(loaded.books)
        except TaxValidationError:
            out["notes"].append(spv.name)
            continue
        for key, rows in _spv_view(db, partner, spv, loaded, result, now).items():
            out[key].extend(rows)
    return out
