"""The Reflex app: pages, the `/api/v1` API and the lifespan tasks. Thin by design."""

from __future__ import annotations

import reflex as rx

from pipelet_app import logs
from pipelet_app.api import build_api
from pipelet_app.keys import require_secret_key
from pipelet_app.portals.account.pages import api_keys_page
from pipelet_app.portals.account.state import ApiKeysState
from pipelet_app.portals.admin.pages import admin_page
from pipelet_app.portals.admin.state import AdminState
from pipelet_app.portals.admin.system_pages import system_page
from pipelet_app.portals.admin.system_state import SystemState
from pipelet_app.portals.driver.pages import driver_page, driver_session_page
from pipelet_app.portals.driver.pv_pages import pv_callback_page, pv_page
from pipelet_app.portals.driver.pv_state import PvState
from pipelet_app.portals.driver.state import DriverSessionState, DriverState
from pipelet_app.portals.fleet.pages import fleet_driver_page, fleet_page
from pipelet_app.portals.fleet.reimbursement_pages import import_page, reimbursement_page
from pipelet_app.portals.fleet.reimbursement_state import ImportState, ReimbursementState
from pipelet_app.portals.fleet.state import FleetDriverState, FleetState
from pipelet_app.portals.investor.pages import investor_page
from pipelet_app.portals.investor.state import InvestorState
from pipelet_app.portals.operator.attention_view import AttentionState
from pipelet_app.portals.operator.charger_pages import charger_page, faults_page
from pipelet_app.portals.operator.charger_screen import ChargerScreenState
from pipelet_app.portals.operator.charger_state import ChargerState, FaultsState
from pipelet_app.portals.operator.network_pages import networks_page
from pipelet_app.portals.operator.network_state import NetworksState
from pipelet_app.portals.operator.notifications_pages import notifications_page
from pipelet_app.portals.operator.notifications_state import NotificationsState
from pipelet_app.portals.operator.onboarding_pages import claim_page, customers_page, tokens_page
from pipelet_app.portals.operator.onboarding_state import (
    ChargerSetupState,
    ClaimState,
    CustomersState,
    TokensState,
)
from pipelet_app.portals.operator.pages import operator_page
from pipelet_app.portals.operator.payments_pages import payments_page
from pipelet_app.portals.operator.payments_state import PaymentsState
from pipelet_app.portals.operator.reports_pages import reports_page
from pipelet_app.portals.operator.reports_state import ReportsState
from pipelet_app.portals.operator.site_pages import site_page
from pipelet_app.portals.operator.site_state import SiteState
from pipelet_app.portals.operator.state import OperatorState
from pipelet_app.portals.operator.surplus_pages import surplus_page
from pipelet_app.portals.operator.surplus_state import SurplusState
from pipelet_app.portals.pay.pages import pay_page
from pipelet_app.portals.pay.state import PayState
from pipelet_app.portals.public.pages import (
    forgot_password_page,
    invite_page,
    login_page,
    not_found_page,
    reset_password_page,
)
from pipelet_app.portals.public.state import InviteState, LoginState, ResetState
from pipelet_app.portals.session_state import SessionState
from pipelet_app.portals.spv.pages import spv_console_page
from pipelet_app.portals.spv.state import SpvConsoleState
from pipelet_app.runtime import log_redaction, socket_tokens, state_pickles
from pipelet_app.runtime.files import harden
from pipelet_app.runtime.jobs import (
    alert_mailer,
    fault_mail_loop,
    health_rollup_loop,
    network_scheduler,
    payments_reconcile,
    payments_sweep,
    pv_scheduler,
    site_energy_consumer,
    site_energy_loop,
    surplus_loop,
)
from pipelet_app.runtime.request_ids import request_ids
from pipelet_app.runtime.web_guard import web_guard
from pipelet_app.runtime.web_metrics import web_metrics

harden()  # also when started as plain `reflex run`: files for this user only
logs.configure(replace=False)  # JSON lines with request ids (LOG_FORMAT), beside Reflex's own output
log_redaction.install()  # no event payloads (a password) in the logs
state_pickles.install()  # no cookie in state pickled into Redis
socket_tokens.install()  # a tab keeps its state when its socket reconnects (before rx.App builds its manager)


def index() -> rx.Component:
    return rx.center(rx.spinner(size="3"), height="100vh")


app = rx.App(
    # The API mounts the Reflex app; the guard (headers, same-origin writes and sockets) wraps both.
    api_transformer=[build_api(), web_guard, web_metrics, request_ids],
    stylesheets=["/pipelet.css"],  # the frame's responsive rules and colours (portals/layout.py)
    head_components=[rx.el.link(rel="icon", href="/favicon.svg", type="image/svg+xml")],
    html_lang="en",  # the static default; the header sets the reader's language once the page knows it
)
app.add_page(index, route="/", title="Pipelet", on_load=SessionState.go_home)
app.add_page(not_found_page, route="404", title="Not found · Pipelet", on_load=SessionState.identify)
app.add_page(login_page, route="/login", title="Sign in · Pipelet", on_load=LoginState.load)
app.add_page(
    forgot_password_page,
    route="/forgot-password",
    title="Reset password · Pipelet",
    on_load=ResetState.load_ask,
)
app.add_page(
    reset_password_page,
    route="/reset-password/[reset_token]",
    title="New password · Pipelet",
    on_load=ResetState.load_reset,
)
app.add_page(
    invite_page, route="/invite/[invite_token]", title="Invitation · Pipelet", on_load=InviteState.load
)
app.add_page(
    pay_page, route="/pay/[cp_id]/[connector]", title="Pay and charge · Pipelet", on_load=PayState.load
)
app.add_page(
    driver_page,
    route="/driver",
    title="My charging · Pipelet",
    on_load=[DriverState.load, DriverState.follow],
)
app.add_page(
    driver_session_page,
    route="/driver/sessions/[session_id]",
    title="Session · Pipelet",
    on_load=[DriverSessionState.load, DriverSessionState.follow],
)
app.add_page(pv_page, route="/driver/pv", title="PV inverters · Pipelet", on_load=PvState.load)
app.add_page(pv_callback_page, route="/driver/pv/callback", title="Connecting", on_load=PvState.finish_oauth)
app.register_lifespan_task(require_secret_key)  # first: no key, no start (one line naming the variable)
app.register_lifespan_task(
    alert_mailer
)  # compliance alert e-mails (embedded); with REDIS_URL the worker's cron
app.register_lifespan_task(pv_scheduler)  # inverter polling (embedded); with REDIS_URL it stands aside
app.register_lifespan_task(network_scheduler)  # charging-network accounts (embedded); else workers
app.register_lifespan_task(site_energy_consumer)  # MQTT site energy (embedded); with REDIS_URL: workers
app.register_lifespan_task(site_energy_loop)  # OCPP meter values → site series, solar share (embedded)
app.register_lifespan_task(surplus_loop)  # PV-surplus actuation (embedded); with REDIS_URL: workers
app.register_lifespan_task(payments_sweep)  # capture / cancel finished paid sessions, receipts
app.register_lifespan_task(payments_reconcile)  # holds stuck in requires_capture, before Stripe voids them
app.register_lifespan_task(health_rollup_loop)  # stored monthly health per charger and site
app.register_lifespan_task(fault_mail_loop)  # debounced connector-fault e-mails to operators (SMTP_URL)
app.add_page(
    fleet_page, route="/fleet", title="Fleet · Pipelet", on_load=[FleetState.load, FleetState.follow]
)
app.add_page(
    fleet_driver_page,
    route="/fleet/drivers/[driver_id]",
    title="Driver · Pipelet",
    on_load=FleetDriverState.load_driver,
)
app.add_page(
    reimbursement_page,
    route="/fleet/reimbursement",
    title="Reimbursement · Pipelet",
    on_load=ReimbursementState.load,
)
app.add_page(import_page, route="/fleet/import", title="Import · Pipelet", on_load=ImportState.load)
app.add_page(
    operator_page,
    route="/operator",
    title="Operations · Pipelet",
    # the attention card first: it is the page's first card, and a large tenant's overview is the
    # slower load (benchmarks/operator)
    on_load=[AttentionState.load, AttentionState.load_map, OperatorState.load, OperatorState.follow],
)
app.add_page(
    charger_page,
    route="/operator/chargers/[cp_id]",
    title="Charger · Pipelet",
    on_load=[ChargerState.load, ChargerState.follow, ChargerSetupState.load, ChargerScreenState.load],
)
app.add_page(site_page, route="/operator/sites/[site_id]", title="Site · Pipelet", on_load=SiteState.load)
app.add_page(
    surplus_page,
    route="/operator/sites/[site_id]/surplus",
    title="Solar charging · Pipelet",
    on_load=SurplusState.load,
)
app.add_page(
    faults_page,
    route="/operator/faults",
    title="Faults · Pipelet",
    on_load=[FaultsState.load, FaultsState.follow],
)
app.add_page(claim_page, route="/operator/claim", title="Claim a charger · Pipelet", on_load=ClaimState.load)
app.add_page(
    notifications_page,
    route="/operator/notifications",
    title="E-mail notifications · Pipelet",
    on_load=NotificationsState.load,
)
app.add_page(tokens_page, route="/operator/tokens", title="Id tokens · Pipelet", on_load=TokensState.load)
app.add_page(
    customers_page,
    route="/operator/customers",
    title="Fleet customers · Pipelet",
    on_load=CustomersState.load,
)
app.add_page(
    networks_page, route="/operator/networks", title="Networks · Pipelet", on_load=NetworksState.load
)
app.add_page(spv_console_page, route="/operator/spvs", title="SPVs · Pipelet", on_load=SpvConsoleState.load)
app.add_page(reports_page, route="/operator/reports", title="Reports · Pipelet", on_load=ReportsState.load)
app.add_page(
    payments_page, route="/operator/payments", title="Payments · Pipelet", on_load=PaymentsState.load
)
app.add_page(investor_page, route="/investor", title="Investments · Pipelet", on_load=InvestorState.load)
app.add_page(admin_page, route="/admin", title="Admin · Pipelet", on_load=AdminState.load)
app.add_page(system_page, route="/admin/system", title="System health · Pipelet", on_load=SystemState.load)
app.add_page(api_keys_page, route="/account/api-keys", title="API keys · Pipelet", on_load=ApiKeysState.load)
