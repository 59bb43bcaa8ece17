"""Solar charging for one site (`/operator/sites/[site_id]/surplus`): turn the controller (beta) on,
see the energy flows now, today's chart, and what the controller decided and why. Thin over
`SurplusState`."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.charts import locale_tooltip, locale_y_axis
from pipelet_app.portals.layout import card, data_table, field, shell
from pipelet_app.portals.operator.surplus_state import SurplusState

T = SurplusState.tr
MODES = ("pv-only", "pv-priority", "eco-plus")
TARIFF_SOURCES = ("none", "awattar", "csv")
TARIFF_REGIONS = ("de", "at")


def _choice(name: str, label_key: str, options: dict[str, rx.Var], element_id: str) -> rx.Component:
    """A labelled menu whose options read as words (`Nur Sonne`) while the form sends the id (`pv-only`)."""
    return field(
        T[label_key],
        rx.select.root(
            rx.select.trigger(id=element_id, aria_label=T[label_key]),
            rx.select.content(*[rx.select.item(text, value=value) for value, text in options.items()]),
            name=name,
            default_value=SurplusState.settings[name],
        ),
    )


def _tile(label_key: str, key: str, note: rx.Var | str = "") -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(T[label_key], size="2", color_scheme="gray"),
            rx.text(SurplusState.flows[key], " kW", size="6", weight="bold", id=f"flow-{key}"),
            rx.text(note, size="1", color_scheme="gray"),
            spacing="1",
        ),
        min_width="9em",
    )


def _flows() -> rx.Component:
    direction = {
        "import": T["surplus.import"],
        "export": T["surplus.export"],
        "charge": T["surplus.charging"],
        "discharge": T["surplus.discharging"],
    }
    grid_note = rx.match(
        SurplusState.flows["grid_dir"],
        ("import", direction["import"]),
        ("export", direction["export"]),
        "",
    )
    battery_note = rx.match(
        SurplusState.flows["battery_dir"],
        ("charge", direction["charge"]),
        ("discharge", direction["discharge"]),
        "",
    )
    return card(
        T["surplus.flows"],
        rx.hstack(
            _tile("surplus.pv", "pv"),
            rx.text("→", size="6"),
            _tile("surplus.house", "house"),
            _tile("surplus.cars", "cars"),
            _tile("surplus.battery", "battery", battery_note),
            _tile("surplus.grid", "grid", grid_note),
            spacing="3",
            wrap="wrap",
            align="center",
            id="energy-flows",
        ),
        rx.button(T["surplus.refresh"], on_click=SurplusState.refresh, variant="soft", id="surplus-refresh"),
    )


def _chart() -> rx.Component:
    return card(
        T["surplus.today"],
        rx.box(
            rx.recharts.line_chart(
                rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
                rx.recharts.x_axis(data_key="time"),
                locale_y_axis(unit=" kW"),
                rx.recharts.line(data_key="pv", name="PV", stroke="#f5a623", dot=False),
                rx.recharts.line(data_key="house", name=T["surplus.house"], stroke="#4a90e2", dot=False),
                rx.recharts.line(data_key="cars", name=T["surplus.cars"], stroke="#12a594", dot=False),
                rx.recharts.line(data_key="grid", name=T["surplus.grid"], stroke="#888888", dot=False),
                rx.recharts.legend(),
                locale_tooltip(graphing=True),
                data=SurplusState.chart,
                width="100%",
                height=260,
            ),
            id="surplus-chart",
            width="100%",
        ),
    )


def _settings() -> rx.Component:
    return card(
        T["surplus.settings"],
        rx.form(
            rx.hstack(
                _choice(
                    "enabled",
                    "surplus.enabled",
                    {"off": T["surplus.off"], "on": T["surplus.on"]},
                    "surplus-enabled",
                ),
                _choice("mode", "surplus.mode", {m: T[f"mode.{m}"] for m in MODES}, "surplus-mode"),
                field(
                    T["surplus.interval"],
                    rx.input(
                        name="interval_s",
                        default_value=SurplusState.settings["interval_s"],
                        id="surplus-interval",
                    ),
                ),
                field(
                    T["surplus.min_soc"],
                    rx.input(
                        name="min_soc", default_value=SurplusState.settings["min_soc"], id="surplus-min-soc"
                    ),
                ),
                rx.button(T["site.save"], type="submit", id="surplus-save"),
                rx.cond(
                    SurplusState.saved, rx.text(T["site.saved"], color_scheme="green", id="surplus-saved")
                ),
                align="end",
                spacing="4",
                wrap="wrap",
            ),
            rx.hstack(
                _choice(
                    "tariff_source",
                    "surplus.tariff_source",
                    {s: T[f"tariff_source.{s}"] for s in TARIFF_SOURCES},
                    "surplus-tariff-source",
                ),
                _choice(
                    "tariff_region",
                    "surplus.tariff_region",
                    {r: T[f"tariff_region.{r}"] for r in TARIFF_REGIONS},
                    "surplus-tariff-region",
                ),
                field(
                    T["surplus.tariff_csv"],
                    rx.text_area(
                        name="tariff_csv",
                        placeholder="time_utc,price_per_kwh\n2026-12-05T12:00:00Z,0.21",
                        rows="3",
                        width="28em",
                        id="surplus-tariff-csv",
                    ),
                ),
                align="end",
                spacing="4",
                wrap="wrap",
            ),
            rx.text(SurplusState.settings["tariff_status"], size="2", id="surplus-tariff-status"),
            on_submit=SurplusState.save,
            key=SurplusState.settings["mode"]
            + SurplusState.settings["enabled"]
            + SurplusState.settings["tariff_source"],
        ),
        rx.text(T["surplus.beta_hint"], size="1", color_scheme="gray"),
    )


def _decisions() -> rx.Component:
    return card(
        T["surplus.decisions"],
        data_table(
            [
                (T["surplus.time"], "time"),
                (T["surplus.site_reason"], "site"),
                (T["surplus.charger"], "charger"),
                (T["surplus.limit"], "limit"),
                (T["surplus.reason"], "reason"),
                (T["surplus.sent"], "sent"),
            ],
            SurplusState.decisions,
            "surplus-decisions",
        ),
    )


def surplus_page() -> rx.Component:
    return shell(
        T["surplus.title"],
        rx.heading(SurplusState.site_name, as_="h2", size="4", id="surplus-site"),
        rx.cond(
            SurplusState.error != "", rx.callout(SurplusState.error, color_scheme="red", id="surplus-error")
        ),
        rx.link(T["surplus.back"], href="/operator/sites/" + SurplusState.site_id),
        _settings(),
        _flows(),
        _chart(),
        _decisions(),
    )
