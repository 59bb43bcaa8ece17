"""The solar-charging controller's decision reasons in the reader's language (issue 13).

The controller and the actuation loop store a reason as English text (`SurplusDecision.reason` and each
charger's `reason`), and the API returns that text unchanged (docs/interfaces.md). A page derives a code
plus parameters from it here: the text is split into its `; `-separated parts, each part is matched
against the patterns below (one per sentence the surplus code writes, named by its catalogue key), its
numbers are parsed back and written with `formatting.number` in the page's locale (`6,0 A`, `1.234 W`).
Deriving (rather than storing codes) also translates the rows stored before this existed. A part no
pattern knows stays as it is: visible, never lost; tests/unit/test_surplus_reasons.py feeds every
sentence the controller can write and fails if one is not recognised.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from pipelet_app.i18n.catalogue import translate
from pipelet_app.i18n.formatting import current_locale, number, when

_N = r"(-?[\d.]+)"
MODES = ("pv-only", "pv-priority", "eco-plus")


def _num(digits: int) -> Callable[[str], str]:
    return lambda raw: number(float(raw), digits)


def _limit(raw: str) -> str:
    """A limit's label (`site limit on L1`, `circuit 7 limit on L2`, the waiting note) in the locale."""
    return localize(raw)


def _raw(raw: str) -> str:
    return raw


def _moment(raw: str) -> str:
    """An ISO time (`2026-12-05T10:01:00+00:00`, or `2026-12-05 10:01` read as UTC) as the page writes
    times (`05.12.2026 10:01 UTC`); `never` in words; anything else as it stands."""
    if raw == "never":
        return translate("sr.never", current_locale())
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return raw
    return when(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def _answer(raw: str) -> str:
    """A charger's earlier answer inside `unchanged (...)`, in the locale like the answer itself."""
    return localize(raw)


def _mode(raw: str) -> str:
    """A controller mode id (`pv-only`) by its name in the locale (`Nur Sonne`), as the mode menus show it."""
    return translate(f"mode.{raw}", current_locale())


def _modes(locale: str) -> dict[str, str]:
    """The `{pv_only}`, `{pv_priority}`, `{eco_plus}` a sentence may name (surplus_words.py)."""
    return {m.replace("-", "_"): translate(f"mode.{m}", locale) for m in MODES}


def _phases(raw: str) -> str:
    """`1 phase` / `3 phases` (`1 Phase` / `3 Phasen`)."""
    word = translate("sr.phase" if raw == "1" else "sr.phases", current_locale())
    return f"{raw} {word}"


# (catalogue key, pattern, converters of the groups in order)
PATTERNS: list[tuple[str, str, tuple[Callable[[str], str], ...]]] = [
    ("sr.paused_limit", r"paused: (.+) reached", (_limit,)),
    ("sr.idle", r"car not drawing \(full or suspended\): offering the minimum, its share goes to others", ()),
    ("sr.covers_min", rf"surplus {_N} kW covers the minimum", (_num(1),)),
    ("sr.starting_in", rf"starting in {_N} s", (_num(0),)),
    ("sr.ranked_higher", rf"paused: the {_N} kW surplus goes to cars ranked higher", (_num(1),)),
    (
        "sr.below_min",
        rf"paused: surplus {_N} kW below the {_N} kW minimum on (\d) phases?",
        (_num(1), _num(1), _phases),
    ),
    ("sr.charging", rf"(pv-only|pv-priority|eco-plus): {_N} A on (\d) phases?", (_mode, _num(1), _phases)),
    ("sr.to_three", rf"switching to 3 phases: {_N} kW available for {_N} s", (_num(1), _num(0))),
    ("sr.to_one", rf"switching to 1 phase: {_N} kW is below the 3-phase minimum {_N} kW", (_num(1), _num(1))),
    ("sr.covering", r"at the minimum on a surplus covering most of it \(limited grid use\)", ()),
    ("sr.bridging", r"bridging a dip at the minimum \(limited grid use\)", ()),
    ("sr.handing_over", r"at the minimum, handing the surplus over to cars ranked higher", ()),
    ("sr.surplus", rf"surplus {_N} kW", (_num(1),)),
    ("sr.draw_cap", rf"car takes only ~{_N} A, the rest goes to others", (_num(1),)),
    ("sr.unmeasured", r"no reading from the charger yet: held at its offer until measured", ()),
    ("sr.lowered_by", r"lowered by the (.+)", (_limit,)),
    ("sr.site_limit", r"site limit on L(\d)", (_raw,)),
    ("sr.circuit_limit", r"circuit (.+) limit on L(\d)", (_raw, _raw)),
    ("sr.waiting_limit", r"site or circuit limit \(waiting for other cars to turn down first\)", ()),
    ("sr.no_departure", r"no departure to plan for", ()),
    ("sr.sun_covers", rf"sun expected to cover the {_N} kWh still wanted", (_num(1),)),
    ("sr.departure_passed", r"departure time passed: charging at full power", ()),
    ("sr.departure_unmet", r"departure cannot be met even at full power: charging at full power", ()),
    ("sr.topup_now_price", rf"grid top-up in this slot at {_N}/kWh to meet the departure", (_num(3),)),
    ("sr.topup_now", r"grid top-up in this slot to meet the departure", ()),
    ("sr.topup_later", rf"grid top-up planned later for {_N} kWh", (_num(1),)),
    ("sr.grid_keeps_min", r"pv-priority: grid keeps the minimum", ()),
    ("sr.no_car", r"no car connected", ()),
    ("sr.energy_reached", r"energy wanted reached", ()),
    ("sr.site_cap", r"site cap \(grid connection limit\)", ()),
    (
        "sr.stale_car",
        r"stale site data \(last grid measurement: (.+)\): safe limit for (pv-only|pv-priority|eco-plus)",
        (_moment, _mode),
    ),
    ("sr.stale_site", r"stale: no grid measurement for 2 minutes", ()),
    (
        "sr.frozen_site",
        rf"stale: the grid meter has read {_N} W unchanged for 2 minutes while the site moved",
        (_num(0),),
    ),
    (
        "sr.implausible_site",
        rf"stale: the readings give a house load of {_N} W \(PV \+ grid \+ battery - cars\) for 2 minutes",
        (_num(0),),
    ),
    ("sr.safe_per_mode", r"safe limit per mode", ()),
    ("sr.available", rf"{_N} W available for the cars", (_num(0),)),
    ("sr.no_prices", r"eco-plus without prices \((.+)\): planned like pv-priority", (_raw,)),
    # What the charger answered (the decision's `sent`, actuation/loop.py; OCPP's own words otherwise).
    ("sr.sent_accepted", r"Accepted", ()),
    ("sr.sent_rejected", r"Rejected", ()),
    ("sr.sent_not_supported", r"NotSupported", ()),
    ("sr.sent_fallback", r"fallback:(\w+)@(\d+)", (_raw, _raw)),
    ("sr.sent_unchanged_was", r"unchanged \((.+)\)", (_answer,)),
    ("sr.sent_unchanged", r"unchanged", ()),
    ("sr.sent_skipped_offline", r"skipped: charger offline", ()),
    ("sr.sent_offline", r"offline", ()),
    ("sr.sent_timeout", r"timeout", ()),
    ("sr.sent_call_error", r"CallError:(.+)", (_raw,)),
    ("sr.sent_error", r"error:(.+)", (_raw,)),
    # The price source's state (services/surplus.py tariff_state).
    ("sr.tariff_none", r"no tariff source: Eco-plus plans like PV-priority", ()),
    (
        "sr.tariff_until_failed",
        r"prices until (\d{4}-\d\d-\d\d \d\d:\d\d) UTC "
        r"\(last fetch failed: (.+); the cached prices stay in use\)",
        (_moment, _raw),
    ),
    ("sr.tariff_until", r"prices until (\d{4}-\d\d-\d\d \d\d:\d\d) UTC", (_moment,)),
    ("sr.tariff_failed", r"no current prices \((.+)\): Eco-plus plans like PV-priority", (_raw,)),
    ("sr.tariff_not_yet", r"no current prices yet: Eco-plus plans like PV-priority", ()),
]
_COMPILED = [(key, re.compile(pattern), convert) for key, pattern, convert in PATTERNS]


def code_of(part: str) -> tuple[str, list[str]] | None:
    """The catalogue key and raw parameters of one reason part, None when no pattern knows it."""
    for key, pattern, _convert in _COMPILED:
        if found := pattern.fullmatch(part.strip()):
            return key, list(found.groups())
    return None


def _part(part: str, locale: str) -> str:
    for key, pattern, convert in _COMPILED:
        if found := pattern.fullmatch(part.strip()):
            values = [c(v) for c, v in zip(convert, found.groups(), strict=True)]
            return translate(key, locale).format(*values, **_modes(locale))
    return part


def localize(reason: str) -> str:
    """`reason` in the current page locale (`formatting.in_locale`); in English too the numbers are written
    as the page writes them and a mode by its name (`Solar only`, not `pv-only`)."""
    locale = current_locale()
    if not reason:
        return reason
    return "; ".join(_part(p, locale) for p in split(reason))


def split(reason: str) -> list[str]:
    """Parts at `;` outside brackets: the eco-plus note's `(why)` may itself hold `; `."""
    parts: list[str] = []
    depth = 0
    current = ""
    for ch in reason:
        depth += (ch == "(") - (ch == ")")
        if ch == ";" and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += ch
    parts.append(current)
    return [p.strip() for p in parts]
