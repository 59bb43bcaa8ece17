"""The surplus controller's reasons on the pages: every sentence it writes is recognised and comes out in
German with German numbers; English keeps the words; a controller mode is named as the mode menus name
it (`Solar only`, `Nur Sonne`), never by its id (`pv-only`); unknown parts are kept, never dropped."""

from __future__ import annotations

import re

import pytest

from pipelet_app.i18n.catalogue import LOCALES, MESSAGES
from pipelet_app.i18n.formatting import in_locale
from pipelet_app.i18n.surplus_reasons import PATTERNS, code_of, localize, split

# One of each sentence, written exactly as controller.py, plan.py, phases.py, limits.py, actuation/loop.py
# and actuation/snapshot.py write them.
WRITTEN = [
    "paused: site limit on L1 reached",
    "car not drawing (full or suspended): offering the minimum, its share goes to others",
    "surplus 4.2 kW covers the minimum; starting in 45 s",
    "paused: the 5.0 kW surplus goes to cars ranked higher",
    "paused: surplus 0.8 kW below the 4.1 kW minimum on 3 phases",
    "paused: surplus 0.0 kW below the 1.4 kW minimum on 1 phase",
    "pv-only: 6.0 A on 1 phase; switching to 1 phase: 3.2 kW is below the 3-phase minimum 4.1 kW; "
    "surplus 1.4 kW; car takes only ~10.0 A, the rest goes to others; lowered by the circuit 7 limit on L2",
    "eco-plus: 16.0 A on 3 phases; switching to 3 phases: 12.3 kW available for 300 s; "
    "grid top-up in this slot at 0.215/kWh to meet the departure",
    "pv-only: 6.0 A on 3 phases; surplus 1.9 kW; no reading from the charger yet: held at its offer until "
    "measured",
    "pv-priority: 6.0 A on 3 phases; bridging a dip at the minimum (limited grid use)",
    "pv-priority: 6.0 A on 3 phases; at the minimum on a surplus covering most of it (limited grid use)",
    "pv-priority: 6.0 A on 3 phases; at the minimum, handing the surplus over to cars ranked higher",
    "pv-priority: 6.0 A on 3 phases; pv-priority: grid keeps the minimum",
    "eco-plus: 6.0 A on 3 phases; no departure to plan for",
    "eco-plus: 6.0 A on 3 phases; sun expected to cover the 12.5 kWh still wanted",
    "eco-plus: 32.0 A on 3 phases; departure time passed: charging at full power",
    "eco-plus: 32.0 A on 3 phases; departure cannot be met even at full power: charging at full power",
    "eco-plus: 6.0 A on 3 phases; grid top-up in this slot to meet the departure",
    "eco-plus: 6.0 A on 3 phases; grid top-up planned later for 3.4 kWh",
    "paused: site or circuit limit (waiting for other cars to turn down first) reached",
    "no car connected",
    "energy wanted reached",
    "site cap (grid connection limit)",
    "stale site data (last grid measurement: never): safe limit for pv-only",
    "stale site data (last grid measurement: never): safe limit for pv-priority; paused: site limit on L1 "
    "reached",
    "stale: no grid measurement for 2 minutes; safe limit per mode",
    "stale: the grid meter has read -800 W unchanged for 2 minutes while the site moved; safe limit per mode",
    "stale: the readings give a house load of -800 W (PV + grid + battery - cars) for 2 minutes; "
    "safe limit per mode",
    "1234 W available for the cars; eco-plus without prices (no prices fetched yet; last fetch: 503): "
    "planned like pv-priority",
]

# The decision's `sent` (actuation/loop.py, what the charger answered) and the price source's state
# (services/surplus.py tariff_state): the operator's page shows them beside the reasons.
WRITTEN += [
    "Accepted",
    "Rejected",
    "NotSupported",
    "fallback:TxDefaultProfile@0",
    "unchanged",
    "unchanged (Rejected)",
    "skipped: charger offline",
    "offline",
    "timeout",
    "CallError:NotImplemented",
    "error:CommandError",
    "no tariff source: Eco-plus plans like PV-priority",
    "prices until 2026-12-06 23:00 UTC",
    "prices until 2026-12-06 23:00 UTC (last fetch failed: HTTP 503; retry; the cached prices stay in use)",
    "no current prices (HTTP 503): Eco-plus plans like PV-priority",
    "no current prices yet: Eco-plus plans like PV-priority",
]


@pytest.mark.parametrize("reason", WRITTEN)
def test_every_part_the_controller_writes_has_a_code(reason: str) -> None:
    for part in split(reason):
        assert code_of(part) is not None, part


def test_every_reason_key_is_in_every_locale() -> None:
    for key, _pattern, _convert in PATTERNS:
        for locale in LOCALES:
            assert key in MESSAGES[locale], (key, locale)


# The stored English with each mode id replaced by the mode's English name.
NAMED = [
    ("eco-plus without prices", "“Solar and cheapest hours” without prices"),
    ("planned like pv-priority", "planned like “Solar first, grid tops up”"),
    ("Eco-plus plans like PV-priority", "“Solar and cheapest hours” plans like “Solar first, grid tops up”"),
    ("safe limit for pv-only", "safe limit for “Solar only”"),
    ("safe limit for pv-priority", "safe limit for “Solar first, grid tops up”"),
    ("pv-only:", "Solar only:"),
    ("pv-priority:", "Solar first, grid tops up:"),
    ("eco-plus:", "Solar and cheapest hours:"),
]
MODE_ID = re.compile(r"\b(pv-only|pv-priority|eco-plus)\b", re.IGNORECASE)


@pytest.mark.parametrize("reason", WRITTEN)
def test_english_keeps_the_stored_words_and_names_the_modes(reason: str) -> None:
    expected = reason
    for written, named in NAMED:
        expected = expected.replace(written, named)
    with in_locale("en"):
        assert localize(reason).replace("1,234", "1234") == expected


@pytest.mark.parametrize("locale", LOCALES)
def test_no_mode_id_is_left_in_any_language(locale: str) -> None:
    with in_locale(locale):
        for reason in WRITTEN:
            assert not MODE_ID.search(localize(reason)), (locale, localize(reason))


def test_german_words_and_numbers() -> None:
    with in_locale("de"):
        assert (
            localize("pv-only: 6.0 A on 1 phase; surplus 1.4 kW")
            == "Nur Sonne: 6,0 A auf 1 Phase; Überschuss 1,4 kW"
        )
        assert localize("1234 W available for the cars") == "1.234 W verfügbar für die Autos"
        assert localize("paused: site limit on L2 reached") == "pausiert: Standortgrenze auf L2 erreicht"
        assert localize(
            "eco-plus: 16.0 A on 3 phases; grid top-up in this slot at 0.215/kWh to meet the departure"
        ) == (
            "Sonne und günstigste Stunden: 16,0 A auf 3 Phasen; "
            "Netzladung in diesem Zeitfenster zu 0,215/kWh, um die Abfahrt zu schaffen"
        )
        for reason in WRITTEN:
            assert localize(reason) != reason, reason


def test_times_and_answers_in_german() -> None:
    """A stale site's last measurement is a time the page writes (not ISO 8601); the charger's answers
    that are our words read German, OCPP's own status word stays beside them."""
    stale = "stale site data (last grid measurement: 2026-12-05T10:01:00+00:00): safe limit for pv-only"
    with in_locale("en"):
        assert localize(stale) == (
            "stale site data (last grid measurement: 2026-12-05 10:01 UTC): safe limit for “Solar only”"
        )
    with in_locale("de"):
        assert localize(stale) == (
            "veraltete Standortdaten (letzte Netzmessung: 05.12.2026 10:01 UTC): "
            "sicherer Grenzwert für „Nur Sonne“"
        )
        assert localize("unchanged (Rejected)") == "unverändert (abgelehnt (Rejected))"
        assert localize("skipped: charger offline") == "übersprungen: Ladepunkt offline"
        assert localize("prices until 2026-12-06 23:00 UTC") == "Preise bis 06.12.2026 23:00 UTC"
        assert localize("no tariff source: Eco-plus plans like PV-priority") == (
            "keine Preisquelle: „Sonne und günstigste Stunden“ plant wie „Sonne zuerst, Netz ergänzt“"
        )
        assert localize(
            "pv-priority: 6.0 A on 3 phases; "
            "at the minimum on a surplus covering most of it (limited grid use)"
        ) == (
            "Sonne zuerst, Netz ergänzt: 6,0 A auf 3 Phasen; "
            "am Minimum mit einem Überschuss, der es größtenteils deckt (begrenzter Netzbezug)"
        )


def test_an_unknown_part_is_kept_as_written() -> None:
    with in_locale("de"):
        assert localize("something new; surplus 2.0 kW") == "something new; Überschuss 2,0 kW"
        assert localize("") == ""
