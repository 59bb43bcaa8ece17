"""Fleet dashboard and the per-driver drill-down."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.charts import locale_tooltip, locale_y_axis
from pipelet_app.portals.fleet.state import FleetDriverState, FleetState
from pipelet_app.portals.layout import card, coded_text, field, shell, source_badge, when_empty

T = FleetState.tr
# The legend writes its labels in these colours: each at least 4.5:1 on white (WCAG AA).
SOURCE_COLORS = {"ocpp": "#0f766e", "pv": "#b45309", "public": "#7c3aed"}


def _stat(label: rx.Var | str, value: rx.Var, stat_id: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(label, size="2", color_scheme="gray"),
            rx.text(value, size="6", weight="bold", id=stat_id),
            spacing="1",
        ),
        min_width="10em",
    )


def _period_form(state: type[FleetState]) -> rx.Component:
    return rx.form(
        rx.hstack(
            field(
                T["fleet.from"],
                rx.input(
                    type="date", name="start", default_value=state.start, id="period-start", key=state.start
                ),
            ),
            field(
                T["fleet.to"],
                rx.input(type="date", name="end", default_value=state.end, id="period-end", key=state.end),
            ),
            rx.button(T["fleet.apply"], type="submit", id="period-apply", variant="soft"),
            align="end",
            spacing="2",
            wrap="wrap",
        ),
        on_submit=state.set_period,
    )


def _sort_header(label: rx.Var | str, key: str) -> rx.Component:
    return rx.table.column_header_cell(
        rx.link(label, on_click=FleetState.sort(key), cursor="pointer", id=f"sort-{key}", underline="none")
    )


def _driver_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(row["name"], href=f"/fleet/drivers/{row['id']}")),
        rx.table.cell(row["ocpp_kwh"]),
        rx.table.cell(row["pv_kwh"]),
        rx.table.cell(row["public_kwh"]),
        rx.table.cell(row["total_kwh"]),
        rx.table.cell(row["solar_share"]),
    )


def _chart() -> rx.Component:
    return rx.recharts.bar_chart(
        rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
        rx.recharts.x_axis(data_key="month"),
        locale_y_axis(unit=" kWh", width=95),
        locale_tooltip(),
        rx.recharts.legend(),
        *[
            rx.recharts.bar(
                data_key=key,
                name=T[f"source.{source}"],
                stack_id="kwh",
                fill=SOURCE_COLORS[key],
                is_animation_active=False,  # a live page: no re-animation on every push, less work on load
            )
            for key, source in (("ocpp", "ocpp-wallbox"), ("pv", "pv-inverter"), ("public", "public"))
        ],
        data=FleetState.months,
        width="100%",
        height=280,
    )


def fleet_page() -> rx.Component:
    return shell(
        T["fleet.title"],
        rx.box(on_unmount=FleetState.unfollow, display="none"),  # leaving the page ends its live follower
        rx.hstack(
            _period_form(FleetState),
            rx.spacer(),
            # A plain document download: a router link would navigate client-side to a page that
            # does not exist (the 404 the export used to show).
            rx.el.a(
                rx.button(T["fleet.export_csv"], variant="outline", id="export-csv", white_space="nowrap"),
                href=FleetState.export_url,
                download="fleet-sessions.csv",
                reload_document=True,
            ),
            width="100%",
            align="end",
            wrap="wrap",
        ),
        rx.cond(
            FleetState.period_error != "",
            rx.callout(FleetState.period_error, color_scheme="red", id="period-error"),
        ),
        rx.hstack(
            _stat(T["source.ocpp-wallbox"], FleetState.totals["ocpp_kwh"] + " kWh", "total-ocpp"),
            _stat(T["source.pv-inverter"], FleetState.totals["pv_kwh"] + " kWh", "total-pv"),
            _stat(T["source.public"], FleetState.totals["public_kwh"] + " kWh", "total-public"),
            _stat(T["fleet.total"], FleetState.totals["total_kwh"] + " kWh", "total-all"),
            _stat(T["col.solar_share"], FleetState.totals["solar_share"], "total-solar-share"),
            spacing="4",
            wrap="wrap",
        ),
        card(T["fleet.by_month"], _chart()),
        card(
            T["fleet.drivers"],
            field(
                T["fleet.search"],
                rx.input(
                    max_width="100%",
                    value=FleetState.search,
                    on_change=FleetState.set_search,
                    id="driver-search",
                    width="20em",
                ),
            ),
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        _sort_header(T["col.driver"], "name"),
                        rx.table.column_header_cell(T["source.ocpp-wallbox"]),
                        rx.table.column_header_cell(T["source.pv-inverter"]),
                        rx.table.column_header_cell(T["source.public"]),
                        _sort_header(T["col.total"], "total"),
                        _sort_header(T["col.solar_share"], "solar"),
                    )
                ),
                rx.table.body(rx.foreach(FleetState.visible_drivers, _driver_row)),
                width="100%",
                variant="surface",
                id="fleet-drivers",
            ),
            when_empty(FleetState.visible_drivers, T["empty.fleet_drivers"]),
            rx.cond(
                FleetState.matching_drivers > FleetState.visible_drivers.length(),
                rx.button(
                    T["fleet.show_more"],
                    " (",
                    FleetState.visible_drivers.length().to_string(),
                    " / ",
                    FleetState.matching_drivers.to_string(),
                    ")",
                    on_click=FleetState.show_more,
                    variant="soft",
                    id="show-more-drivers",
                ),
            ),
            rx.text(T["fleet.method"], size="1", color_scheme="gray"),
        ),
    )


def _session_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["start"]),
        rx.table.cell(row["station"]),
        rx.table.cell(
            rx.hstack(
                source_badge(row["source"]),
                rx.cond(row["brand"] != "", rx.badge(row["brand"], variant="outline")),
            )
        ),
        rx.table.cell(row["energy_kwh"]),
        rx.table.cell(row["solar_kwh"]),
        rx.table.cell(coded_text("reason", row["reason"])),
        rx.table.cell(rx.cond(row["source"] == "public", _void_control(row), rx.fragment())),
    )


def _void_control(row: rx.Var) -> rx.Component:
    """A wrong imported session: the fleet manager says why, and it is voided (audited)."""
    t = FleetDriverState.tr
    return rx.popover.root(
        rx.popover.trigger(rx.button(t["fleet.void"], size="1", variant="soft", color_scheme="red")),
        rx.popover.content(
            rx.form(
                rx.vstack(
                    rx.el.input(type="hidden", name="transaction_id", value=row["transaction_id"]),
                    rx.input(
                        name="reason", placeholder=t["fleet.void_reason"], required=True, id="void-reason"
                    ),
                    rx.popover.close(
                        rx.button(
                            t["fleet.void_confirm"], type="submit", color_scheme="red", id="void-confirm"
                        )
                    ),
                ),
                on_submit=FleetDriverState.void,
            ),
        ),
    )


def fleet_driver_page() -> rx.Component:
    t = FleetDriverState.tr
    return shell(
        FleetDriverState.driver_name,
        rx.hstack(
            rx.link("← ", t["fleet.title"], href="/fleet"),
            rx.spacer(),
            _period_form(FleetDriverState),
            width="100%",
            align="center",
        ),
        card(
            t["driver.recent"],
            rx.cond(
                FleetDriverState.void_message != "",
                rx.callout(
                    rx.hstack(
                        rx.text(FleetDriverState.void_message),
                        rx.cond(
                            FleetDriverState.voided != "",
                            rx.button(
                                t["common.undo"],
                                on_click=FleetDriverState.undo_void,
                                size="1",
                                variant="outline",
                                id="void-undo",
                            ),
                        ),
                        align="center",
                        spacing="3",
                        wrap="wrap",
                    ),
                    id="void-message",
                ),
            ),
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(t[k])
                            for k in (
                                "col.when",
                                "col.station",
                                "col.source",
                                "col.energy",
                                "fleet.solar_kwh",
                                "fleet.reason",
                            )
                        ],
                        rx.table.column_header_cell(""),
                    )
                ),
                rx.table.body(rx.foreach(FleetDriverState.driver_sessions, _session_row)),
                width="100%",
                variant="surface",
                id="driver-sessions",
            ),
            when_empty(FleetDriverState.driver_sessions, t["empty.fleet_driver_sessions"]),
            rx.cond(
                FleetDriverState.next_cursor != "",
                rx.button(
                    t["fleet.load_more"], on_click=FleetDriverState.load_more, variant="soft", id="load-more"
                ),
            ),
        ),
    )
