"""The sponsor's SPV console as display rows; the queries and rules are `tax.console`'s.

A phase (`operations`) and a return status (`released`) stay codes in the rows: the page words them
through the catalogue (`spv_phase.*`, `return_status.*`) and the year's actions match on the status code.
What is already text (an audit change, an action's outcome) is worded here in the page's language, and so
are the compliance alerts, from the (code, arguments) the rules give next to their English sentences
(`spv_alert.*`), and so are the open rule violations' explanations (`tax_rule.*`, rule id and field kept)."""

from __future__ import annotations

from datetime import date

from pipelet_app.auth import Principal
from pipelet_app.domain.tax.compliance import Phase, Words
from pipelet_app.i18n.catalogue import translate
from pipelet_app.i18n.formatting import current_locale, day, shown, when
from pipelet_app.i18n.words import label, violation_text
from pipelet_app.services.session import Session
from pipelet_app.tax import console


def _change(before: str, after: str) -> str:
    """`released` → `draft` as the reader's words: "Released → Draft" / "Freigegeben → Entwurf"."""
    locale = current_locale()
    return f"{label('return_status', before, locale)} → {label('return_status', after, locale)}"


def _say(words: Words, locale: str) -> str:
    """An alert's sentence (code and arguments) in the page's language, its dates as the page writes them."""
    code, args = words
    return translate(f"spv_alert.{code}", locale).format(**{name: shown(value) for name, value in args})


def change_status(db: Session, principal: Principal, spv_id: int, year: int, target: str) -> str:
    """Move a year's return (`tax.console.change_status`); the move in words for the page's message."""
    return _change(*console.change_status(db, principal, spv_id, year, target))


def advance_phase(db: Session, principal: Principal, spv_id: int) -> str:
    """Advance the SPV (`tax.console.advance_phase`); the new phase in words for the page's message."""
    phase = console.advance_phase(db, principal, spv_id)
    locale = current_locale()
    return translate("spv.advanced", locale).format(phase=label("spv_phase", phase.name.lower(), locale))


def spv_console(
    db: Session, principal: Principal, today: date | None = None
) -> dict[str, list[dict[str, str]]]:
    """Everything on /operator/spvs, as display rows."""
    out: dict[str, list[dict[str, str]]] = {"spvs": [], "steps": [], "alerts": [], "years": [], "audit": []}
    locale = current_locale()
    for state in console.spv_console(db, principal, today):
        spv, phase = state.spv, state.phase
        out["spvs"].append(
            {
                "id": str(spv.id),
                "name": spv.name,
                "phase": phase.name.lower(),  # a code the page words (`spv_phase.*`)
                "next": Phase(phase + 1).name.lower() if phase < Phase.EXIT else "",
            }
        )
        for step in state.steps:
            out["steps"].append(
                {
                    "spv": spv.name,
                    "phase": step.phase.name.lower(),
                    "title": step.title,
                    "owner": step.owner,
                    "due": day(step.due),
                    "done": day(step.done_on) if step.done_on else "",
                }
            )
        for year in state.years:
            out["years"].append(
                {
                    "spv_id": str(spv.id),
                    "spv": spv.name,
                    "year": str(year.tax_year),
                    "status": year.status,  # a code the page words (`return_status.*`) and acts on
                    "violations": "; ".join(
                        [violation_text(v, locale) for v in year.violations]
                        + ([translate("spv.books_changed", locale)] if year.books_changed else [])
                    )
                    or "—",
                }
            )
        out["alerts"].extend(
            {
                "spv": spv.name,
                "severity": a.severity.value,
                "title": a.title if a.title_words is None else _say(a.title_words, locale),
                "owner": a.owner,
                "due": day(a.due),
                "message": _say(a.message_words, locale),
            }
            for a in state.alerts
        )
        for event in state.events:
            out["audit"].append(
                {
                    "spv": spv.name,
                    "year": str(event.tax_year),
                    "change": _change(str(event.from_status), str(event.to_status)),
                    "actor": event.actor,
                    "at": when(event.at),
                    "note": event.note,
                }
            )
    return out
