"""OCPP 2.0.1 handlers: only translation lives here; bookkeeping is in chargers/transactions/authorization.

Handlers run in a worker thread inside the message's database transaction (see `base`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ocpp.charge_point import snake_to_camel_case
from ocpp.routing import after, on
from ocpp.v201 import ChargePoint as LibraryChargePoint201
from ocpp.v201 import call_result
from ocpp.v201.enums import Action
from sqlmodel import Session, select

from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, EvChargingNeeds
from pipelet_app.domain.pricing import display
from pipelet_app.ocpp import (
    authorization,
    chargers,
    customer_information,
    display_messages,
    iso15118,
    local_list,
    plug_and_charge,
    registration,
    reservations,
    running_cost,
    transactions,
)
from pipelet_app.ocpp.base import CsmsConnection
from pipelet_app.ocpp.chargers import set_basic_auth_password
from pipelet_app.ocpp.csms_ca import COMBINED
from pipelet_app.ocpp.device_model import (
    store_profile,
    store_report,
    upsert_reported,
    upsert_variable,
)
from pipelet_app.ocpp.local_list import token_key
from pipelet_app.ocpp.timefmt import now_utc, parse_utc
from pipelet_app.settings import get_settings

LOGGER = logging.getLogger("pipelet.csms.v201")
# Running cost to the station (CostUpdated): I02.FR.01 leaves the cadence to the CSMS ("at a relevant
# interval/moment ... might depend on the charging speed, running cost"), and 2.0.1's device model has
# no variable for it. So: after an Updated TransactionEvent, at most once per CSMS_COST_UPDATE_INTERVAL_S
# (default 15 s) per transaction; an Updated inside the interval is answered at its end (one trailing
# send), so the last cost always reaches the screen and a station that reports every few seconds is not
# sent a call per message.

# 2.0.1 stoppedReason values; a transaction ended without one was stopped locally.
DEFAULT_STOP_REASON = "Local"
# The TxProfile an ISO 15118 answer promised (K15/K17 step 3) follows the answer (step 2) after this
# pause rather than in the same instant: a station's software hands the answer to its ISO 15118 stack
# and then waits for the schedule; a SetChargingProfile dispatched before that hand-over ran can be
# taken for an earlier one and dropped (the OCTT's TC_K_57 does exactly that: it clears its "profile
# received" flag after the answer has arrived). The car waits in ChargeParameterDiscovery, whose
# budget is 60 s (ISO 15118-2); half a second of it costs nothing.
ISO15118_OFFER_PAUSE_S = 0.5


def _id_token_info(result: authorization.AuthResult) -> dict[str, Any]:
    info: dict[str, Any] = {"status": result.status}
    if result.expiry is not None:
        info["cacheExpiryDateTime"] = result.expiry
    if result.parent_id_tag:
        info["groupIdToken"] = {"idToken": result.parent_id_tag, "type": "Central"}
    return info


def _samples(meter_value: dict[str, Any]) -> list[transactions.Sample]:
    samples = []
    for s in meter_value.get("sampled_value", []):
        unit = s.get("unit_of_measure") or {}
        samples.append(
            transactions.Sample(
                measurand=s.get("measurand") or transactions.REGISTER,
                value=s.get("value"),
                unit=unit.get("unit"),
                multiplier=int(unit.get("multiplier", 0) or 0),
                phase=s.get("phase"),
                context=s.get("context"),
                location=s.get("location"),
            )
        )
    return samples


def _start_register(meter_values: list[dict[str, Any]]) -> float | None:
    """The start reading a Started event carries: its Transaction.Begin register, else its first energy
    register whatever the context (a sample without one defaults to Sample.Periodic, and is still the
    start)."""
    registers: list[tuple[bool, str, float]] = []
    for meter_value in meter_values:
        for sample in _samples(meter_value):
            if sample.measurand == transactions.REGISTER and sample.phase is None:
                normal = sample.normalised()
                if normal is not None:
                    begin = sample.context == "Transaction.Begin"
                    registers.append((not begin, str(meter_value.get("timestamp", "")), normal[0]))
    return min(registers)[2] if registers else None


class ChargePoint201(CsmsConnection, LibraryChargePoint201):
    ocpp_version = "2.0.1"
    known_actions = frozenset(action.value for action in Action)

    @on(Action.boot_notification)
    def on_boot_notification(
        self, db: Session, charging_station: dict[str, Any], reason: str, **_: Any
    ) -> call_result.BootNotification:
        chargers.record_boot(
            db,
            self.charger_id,
            vendor=charging_station.get("vendor_name", ""),
            model=charging_station.get("model", ""),
            serial_number=charging_station.get("serial_number"),
            firmware_version=charging_station.get("firmware_version"),
            ocpp_version=self.ocpp_version,
        )
        transactions.close_stale_on_boot(db, self.charger_id, utcnow())
        held = db.exec(
            select(
                Charger.tenant_id, Charger.auth_mode, Charger.basic_auth_hash, Charger.registration_status
            ).where(Charger.id == self.charger_id)
        ).first()
        tenant_id, auth_mode, password_hash, chosen = (
            held if held is not None else (None, "basic", None, registration.ACCEPTED)
        )
        status = registration.boot_status(
            tenant_id is not None, str(auth_mode), password_hash is not None, self.authenticated, str(chosen)
        )
        self.registration.booted(status)
        if status != registration.ACCEPTED:
            LOGGER.info("%s: boot answered %s (not accepted by an operator)", self.charge_point_id, status)
        interval = (
            self.server.heartbeat_interval_s
            if status == registration.ACCEPTED
            else registration.PENDING_RETRY_S
        )
        return call_result.BootNotification(current_time=now_utc(), interval=interval, status=status)

    @on(Action.heartbeat)
    def on_heartbeat(self, db: Session, **_: Any) -> call_result.Heartbeat:
        chargers.touch(db, self.charger_id)
        return call_result.Heartbeat(current_time=now_utc())

    @on(Action.status_notification)
    def on_status_notification(
        self, db: Session, timestamp: str, connector_status: str, evse_id: int, connector_id: int, **_: Any
    ) -> call_result.StatusNotification:
        chargers.record_status(
            db, self.charger_id, connector_id, connector_status, parse_utc(timestamp), evse_id=evse_id
        )
        return call_result.StatusNotification()

    prepared_actions = frozenset({"Authorize", "GetCertificateStatus", "Get15118EVCertificate"})

    async def prepare_call(self, action: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Plug & Charge's network checks, before the message's transaction (`plug_and_charge`)."""
        if action == "Authorize":
            hash_data = payload.get("iso15118CertificateHashData")
            roots = plug_and_charge.load_roots(get_settings().csms_v2g_roots)
            if hash_data:
                return {"pnc_certificate_status": await plug_and_charge.contract_status(hash_data, roots)}
            if payload.get("certificate"):
                status = await plug_and_charge.central_contract_status(payload["certificate"], roots)
                return {"pnc_certificate_status": status}
            return None
        if action == "GetCertificateStatus":
            roots = plug_and_charge.load_roots(get_settings().csms_v2g_roots)
            return {"pnc_answer": await plug_and_charge.certificate_status(payload["ocspRequestData"], roots)}
        if action == "Get15118EVCertificate":
            answer = await plug_and_charge.ev_certificate(
                get_settings().csms_contract_cert_url,
                payload["iso15118SchemaVersion"],
                payload["action"],
                payload["exiRequest"],
            )
            return {"pnc_answer": answer}
        return None

    @on(Action.authorize)
    def on_authorize(
        self, db: Session, id_token: dict[str, Any], pnc_certificate_status: str | None = None, **_: Any
    ) -> dict[str, Any]:
        result = authorization.authorize(db, self.charger_id, id_token["id_token"])
        info = _id_token_info(result)
        if pnc_certificate_status is None:
            return {"idTokenInfo": info}
        if pnc_certificate_status != "Accepted":  # C07.FR.16: a revoked contract is no authorization
            info = {"status": "Invalid"}
        return {"idTokenInfo": info, "certificateStatus": pnc_certificate_status}

    @on(Action.get_certificate_status)
    def on_get_certificate_status(self, db: Session, pnc_answer: dict[str, Any], **_: Any) -> dict[str, Any]:
        return pnc_answer

    @on(Action.get_15118_ev_certificate)
    def on_get_15118_ev_certificate(
        self, db: Session, pnc_answer: dict[str, Any], **_: Any
    ) -> dict[str, Any]:
        return pnc_answer

    @on(Action.transaction_event)
    def on_transaction_event(
        self,
        db: Session,
        event_type: str,
        timestamp: str,
        trigger_reason: str,
        seq_no: int,
        transaction_info: dict[str, Any],
        offline: bool = False,
        id_token: dict[str, Any] | None = None,
        evse: dict[str, Any] | None = None,
        meter_value: list[dict[str, Any]] | None = None,
        reservation_id: int | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        at = parse_utc(timestamp)
        meter_values = meter_value or []
        key = transactions.tx_key(self.ocpp_version, self.charge_point_id, transaction_info["transaction_id"])
        auth = authorization.authorize(db, self.charger_id, id_token["id_token"]) if id_token else None
        session = transactions.find_by_key(db, key)
        evse_id = int((evse or {}).get("id", 0) or 0)
        started = event_type == "Started"
        if session is None:
            # Started, or an Updated/Ended whose Started is late or lost: open it here.
            session = transactions.start_transaction(
                db,
                self.charger_id,
                self.charge_point_id,
                connector_id=evse_id,
                id_tag=id_token["id_token"] if id_token else "",
                meter_start_wh=_start_register(meter_values) if started else None,
                started_at=at,
                driver_id=auth.driver_id if auth else None,
                key=key,
                version=self.ocpp_version,
                offline=offline and started,
            )
        else:
            if event_type != "Ended":
                transactions.reopen(db, session)
            if id_token and token_key(id_token["id_token"]) != token_key(session.id_tag):
                # The token that authorised the transaction changed (e.g. after an offline start).
                session.id_tag = id_token["id_token"]
                if auth and auth.driver_id is not None:
                    session.driver_id = auth.driver_id
            # Messages may arrive in any order (an offline queue): the start is the earliest event,
            # and a late Started brings the start reading and the offline flag.
            session.start_utc = min(session.start_utc, at)
            if not session.connector_id and evse_id:
                session.connector_id = evse_id
            if started:
                begin = _start_register(meter_values)
                if begin is not None:
                    session.meter_start_wh = begin
                session.started_offline = session.started_offline or offline
            db.add(session)
        charging_state = transaction_info.get("charging_state")
        if charging_state and (session.charging_state_at is None or at >= session.charging_state_at):
            # the newest event's word on whether the car draws (events may come in any order)
            session.charging_state, session.charging_state_at = charging_state, at
            db.add(session)
        # Events are applied whatever their order; the seqNo only tells us whether some are missing.
        update = transactions.record_seq_no(db, session, seq_no)
        if event_type == "Ended" and update is not None and update.state.missing:
            # E14: it ended with messages missing: ask whether the station still queues them (after the
            # answer), so the operator knows whether the session's figures are final.
            self.__dict__.setdefault("_ask_status", set()).add(str(transaction_info["transaction_id"]))
        if reservation_id is not None:
            reservations.transition(db, self.charger_id, reservation_id, "used", session.id)
        for value in meter_values:
            transactions.add_meter_values(
                db,
                self.charger_id,
                evse_id or session.connector_id or 0,
                session,
                parse_utc(value["timestamp"]),
                _samples(value),
            )
        if event_type == "Ended":
            stopped = transactions.stop_transaction(
                db,
                session,
                meter_stop_wh=None,  # the Transaction.End register, else the last one (transactions)
                stopped_at=at,
                reason=transaction_info.get("stopped_reason") or DEFAULT_STOP_REASON,
            )
            if not stopped:  # the same Ended again (a retry under a new message id)
                transactions.refresh_closed(db, session)
        elif session.end_utc is not None:
            transactions.refresh_closed(db, session)
        answer: dict[str, Any] = {}
        if auth is not None:
            answer["idTokenInfo"] = _id_token_info(auth)
        if event_type == "Ended" and session.cost is not None:
            # The final price (priced when the stop settled it), for the station's display; 2.0.1 sends
            # totalCost only once charging has ended. A JSON number: the Decimal has at most 3 decimals.
            answer["totalCost"] = float(session.cost)
        return answer

    @after(Action.transaction_event)
    async def after_transaction_event(
        self, event_type: str, transaction_info: dict[str, Any], **_: Any
    ) -> None:
        """While a priced transaction runs, tell the station its running cost: CostUpdated, and the same
        as text on its screen (SetDisplayMessage; ocpp/running_cost.py)."""
        asked: set[str] = self.__dict__.get("_ask_status", set())
        if str(transaction_info["transaction_id"]) in asked:
            asked.discard(str(transaction_info["transaction_id"]))
            await self._ask_transaction_status(str(transaction_info["transaction_id"]))
        if event_type != "Updated":
            return
        tx = str(transaction_info["transaction_id"])
        interval = get_settings().csms_cost_update_interval_s
        now = asyncio.get_running_loop().time()
        sent: dict[str, float] = self.__dict__.setdefault("_cost_sent_at", {})  # per connection
        due: set[str] = self.__dict__.setdefault("_cost_due", set())  # a trailing send is scheduled
        wait = sent.get(tx, now - interval) + interval - now
        if wait > 0:
            if tx not in due:
                due.add(tx)
                self.spawn(self._send_cost_later(tx, wait))
            return
        if len(sent) > 100:  # a station runs a few transactions at a time
            sent.clear()
        sent[tx] = now
        await self._send_running_cost(tx)

    async def _send_cost_later(self, tx: str, wait: float) -> None:
        """The trailing CostUpdated for Updated events that came inside the interval."""
        await asyncio.sleep(wait)
        self.__dict__.setdefault("_cost_due", set()).discard(tx)
        self.__dict__.setdefault("_cost_sent_at", {})[tx] = asyncio.get_running_loop().time()
        await self._send_running_cost(tx)  # nothing once the transaction has ended

    async def _send_running_cost(self, tx: str) -> None:
        running = await asyncio.to_thread(self._running_cost, tx)
        if running is None:
            return
        total, text, number = running
        try:
            await self.send_call("CostUpdated", {"totalCost": total, "transactionId": tx})
        except Exception as exc:  # a display nicety: the final price still comes with Ended
            LOGGER.info("%s: CostUpdated for %s failed: %s", self.charge_point_id, tx, exc)
        if self.__dict__.get("_no_cost_display"):
            return
        request = display.set_display_message(tx, number, text)
        try:
            answer = await self.send_call("SetDisplayMessage", request)
        except Exception as exc:
            LOGGER.info("%s: SetDisplayMessage for %s failed: %s", self.charge_point_id, tx, exc)
            return
        if answer.get("status") != "Accepted":  # no display, or not for us: not asked again here
            self.__dict__["_no_cost_display"] = True
            return

        def remember() -> None:
            with session_scope() as db:
                display_messages.store(db, self.charger_id, request["message"], "running-cost")

        await asyncio.to_thread(remember)

    async def _ask_transaction_status(self, tx: str) -> None:
        """GetTransactionStatus for a transaction that ended with seqNos missing (E14, TC_E_31); the
        station then delivers its queue, which fills the gap (`transactions.record_seq_no`)."""
        try:
            answer = await self.send_call("GetTransactionStatus", {"transactionId": tx})
        except Exception as exc:  # the gap stays flagged on the session either way
            LOGGER.info("%s: GetTransactionStatus for %s failed: %s", self.charge_point_id, tx, exc)
            return
        LOGGER.info(
            "%s: transaction %s ended with messages missing; station says %s",
            self.charge_point_id,
            tx,
            answer,
        )

    def _running_cost(self, tx: str) -> tuple[float, str, int] | None:
        """(cost so far, the screen's text, the session's number) of a priced open transaction."""
        key = transactions.tx_key(self.ocpp_version, self.charge_point_id, tx)
        with session_scope() as db:
            session = transactions.find_by_key(db, key)
            charger = db.get(Charger, self.charger_id)
            if session is None or charger is None or session.end_utc is not None:
                return None
            snap = running_cost.snapshot(db, charger, session, utcnow())
            if snap is None:
                return None
            text = display.running_text(snap.cost, snap.energy_wh, snap.rate_text, snap.currency)
            return float(snap.cost), text, int(session.id or 0)

    @on(Action.meter_values)
    def on_meter_values(
        self, db: Session, evse_id: int, meter_value: list[dict[str, Any]], **_: Any
    ) -> call_result.MeterValues:
        session = transactions.open_session_on(db, self.charger_id, evse_id) if evse_id > 0 else None
        for value in meter_value:
            transactions.add_meter_values(
                db, self.charger_id, evse_id, session, parse_utc(value["timestamp"]), _samples(value)
            )
        return call_result.MeterValues()

    @on(Action.notify_report)
    def on_notify_report(
        self,
        db: Session,
        request_id: int,
        seq_no: int,
        report_data: list[dict[str, Any]] | None = None,
        **_: Any,
    ) -> call_result.NotifyReport:
        store_report(db, self.charger_id, snake_to_camel_case(report_data or []))
        return call_result.NotifyReport()

    @on(Action.notify_ev_charging_needs)
    def on_notify_ev_charging_needs(
        self,
        db: Session,
        charging_needs: dict[str, Any],
        evse_id: int,
        max_schedule_tuples: int | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        ac = charging_needs.get("ac_charging_parameters") or {}
        dc = charging_needs.get("dc_charging_parameters") or {}
        departure = charging_needs.get("departure_time")
        session = transactions.open_session_on(db, self.charger_id, evse_id)
        row = EvChargingNeeds(
            charger_id=self.charger_id,
            evse_id=evse_id,
            session_id=session.id if session else None,
            requested_energy_transfer=charging_needs.get("requested_energy_transfer", ""),
            departure_time=parse_utc(departure, "departureTime") if departure else None,
            energy_amount_wh=ac.get("energy_amount", dc.get("energy_amount")),
            ev_min_current_a=ac.get("ev_min_current"),
            ev_max_current_a=ac.get("ev_max_current", dc.get("ev_max_current")),
            ev_max_voltage_v=ac.get("ev_max_voltage", dc.get("ev_max_voltage")),
            ev_max_power_w=dc.get("ev_max_power"),
            max_schedule_tuples=max_schedule_tuples,
        )
        db.add(row)
        # K15: Accepted only with an offer sent right after this answer; Processing where the surplus
        # controller's next cycle sends it; Rejected when no schedule is possible (`ocpp/iso15118.py`).
        answer = iso15118.answer_needs(db, self.charger_id, self.charge_point_id, row, utcnow())
        if answer.request is not None:
            self.__dict__.setdefault("_iso15118_offers", {})[evse_id] = answer.request
        LOGGER.info(
            "%s: EV charging needs on EVSE %s: %s (%s)",
            self.charge_point_id,
            evse_id,
            answer.status,
            answer.reason,
        )
        return {"status": answer.status}

    noted_actions = frozenset({"SetChargingProfile", "ClearChargingProfile", "TriggerMessage"})

    def note_answer(self, action: str, payload: dict[str, Any], answer: Any) -> None:
        """Remember the TxProfile each EVSE accepted last on this connection: the car's schedule often
        follows its acceptance at once, before `after_command` has stored it."""
        offered: dict[int, dict[str, Any]] = self.__dict__.setdefault("_iso15118_offered", {})
        if not isinstance(answer, dict) or answer.get("status") != "Accepted":
            return
        if action == "TriggerMessage":
            # A02 (TC_A_13): the SignCertificate this trigger brings names no type: a combined certificate.
            if payload.get("requestedMessage") == "SignCombinedCertificate":
                self.__dict__["_combined_requested"] = True
            return
        if action == "ClearChargingProfile":
            offered.clear()  # the database (marked cleared by after_command) says what remains
            return
        profile = payload.get("chargingProfile") or {}
        if profile.get("chargingProfilePurpose") == "TxProfile":
            offered[int(payload.get("evseId", 0))] = profile

    @after(Action.notify_ev_charging_needs)
    async def after_notify_ev_charging_needs(self, evse_id: int, **_: Any) -> None:
        await self._send_offer(evse_id)

    async def _send_offer(self, evse_id: int) -> None:
        """Send the TxProfile an ISO 15118 answer promised (K15/K17), and remember the station's answer:
        the car's schedule is judged against the profile the station accepted."""
        request = self.__dict__.get("_iso15118_offers", {}).pop(evse_id, None)
        if request is None:
            return
        await asyncio.sleep(ISO15118_OFFER_PAUSE_S)
        # Until the station answers, the car's schedule may already be on its way (messages cross on
        # the wire: a station hands the profile to the car and sends the schedule before or while it
        # answers); it is judged against this offer, the newest the CSMS made.
        in_flight: dict[int, dict[str, Any]] = self.__dict__.setdefault("_iso15118_in_flight", {})
        profile = request["chargingProfile"]
        in_flight[evse_id] = profile
        try:
            result = await self.send_call("SetChargingProfile", request)
        except Exception as exc:  # the car charges within the station's own limits meanwhile
            LOGGER.warning("%s: ISO 15118 offer to EVSE %s failed: %s", self.charge_point_id, evse_id, exc)
            return
        finally:
            if in_flight.get(evse_id) is profile:
                del in_flight[evse_id]
        await self.after_command("SetChargingProfile", request, result)

    @on(Action.notify_ev_charging_schedule)
    def on_notify_ev_charging_schedule(
        self,
        db: Session,
        time_base: str,
        charging_schedule: dict[str, Any],
        evse_id: int,
        **_: Any,
    ) -> dict[str, Any]:
        """K15.FR.11/12: the car's schedule must stay within the CSMS's offer (the one still awaiting the
        station's answer, else the one it accepted last); stored either way. After a Rejected the CSMS
        offers again (K15.FR.13), prepared here and sent after the answer."""
        schedule = snake_to_camel_case(charging_schedule)
        phases = iso15118.phases_of(db, self.charger_id, evse_id)
        offered = self.__dict__.get("_iso15118_in_flight", {}).get(evse_id) or self.__dict__.get(
            "_iso15118_offered", {}
        ).get(evse_id)
        status, reason = iso15118.judge_schedule(
            db, self.charger_id, evse_id, time_base, schedule, phases, offered
        )
        if status == "Rejected":
            LOGGER.info("%s: EV schedule on EVSE %s rejected: %s", self.charge_point_id, evse_id, reason)
            again = iso15118.renegotiation(db, self.charger_id, self.charge_point_id, evse_id, utcnow())
            if again.request is not None:
                self.__dict__.setdefault("_iso15118_offers", {})[evse_id] = again.request
            return {
                "status": "Rejected",
                "statusInfo": {"reasonCode": "OutOfLimits", "additionalInfo": (reason or "")[:512]},
            }
        return {"status": "Accepted"}

    @after(Action.notify_ev_charging_schedule)
    async def after_notify_ev_charging_schedule(self, evse_id: int, **_: Any) -> None:
        await self._send_offer(evse_id)

    @on(Action.security_event_notification)
    def on_security_event(
        self, db: Session, type: str, timestamp: str, tech_info: str | None = None, **_: Any
    ) -> call_result.SecurityEventNotification:
        self.record_reported_security_event(db, type, timestamp, tech_info)
        return call_result.SecurityEventNotification()

    @on(Action.data_transfer)
    def on_data_transfer(self, db: Session, vendor_id: str, **_: Any) -> dict[str, Any]:
        LOGGER.info("%s: DataTransfer from vendor %s", self.charge_point_id, vendor_id)
        return {"status": "UnknownVendorId"}

    @on(Action.firmware_status_notification)
    def on_firmware_status(
        self, db: Session, status: str, **_: Any
    ) -> call_result.FirmwareStatusNotification:
        upsert_variable(db, self.charger_id, component="CSMS.Status", variable="FirmwareStatus", value=status)
        return call_result.FirmwareStatusNotification()

    @on(Action.publish_firmware_status_notification)
    def on_publish_firmware_status(
        self, db: Session, status: str, location: list[str] | None = None, **_: Any
    ) -> dict[str, Any]:
        """L03: the station's local firmware server: its status, and where it publishes (Published)."""
        upsert_variable(
            db, self.charger_id, component="CSMS.Status", variable="PublishFirmwareStatus", value=status
        )
        if location:
            upsert_variable(
                db,
                self.charger_id,
                component="CSMS.Status",
                variable="PublishFirmwareLocation",
                value=" ".join(location)[:1000],
            )
        return {}

    @on(Action.notify_customer_information)
    def on_notify_customer_information(
        self,
        db: Session,
        data: str,
        seq_no: int,
        generated_at: str,
        request_id: int,
        tbc: bool = False,
        **_: Any,
    ) -> dict[str, Any]:
        customer_information.store_part(db, self.charger_id, request_id, seq_no, data, generated_at, tbc)
        return {}

    @on(Action.notify_display_messages)
    def on_notify_display_messages(
        self, db: Session, request_id: int, message_info: list[dict[str, Any]] | None = None, **_: Any
    ) -> dict[str, Any]:
        for info in snake_to_camel_case(message_info or []):
            display_messages.store(db, self.charger_id, info, "reported")
        return {}

    @on(Action.log_status_notification)
    def on_log_status(self, db: Session, status: str, **_: Any) -> call_result.LogStatusNotification:
        upsert_variable(db, self.charger_id, component="CSMS.Status", variable="LogStatus", value=status)
        return call_result.LogStatusNotification()

    @on(Action.notify_event)
    def on_notify_event(self, db: Session, event_data: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        """Monitoring events: the reported actual value becomes the variable's current value."""
        for item in event_data:
            component = item.get("component", {})
            wire = snake_to_camel_case(item)
            upsert_reported(
                db,
                self.charger_id,
                wire.get("component", {}),
                wire.get("variable", {}),
                wire.get("actualValue"),
            )
            if (
                item.get("trigger") == "Alerting"
                or item.get("event_notification_type") == "HardWiredNotification"
            ):
                chargers.record_security_event(
                    db,
                    self.charge_point_id,
                    f"NotifyEvent:{component.get('name', '')}.{item.get('variable', {}).get('name', '')}",
                    parse_utc(item["timestamp"]),
                    charger_id=self.charger_id,
                    tech_info=str(item.get("tech_info") or item.get("actual_value"))[:255],
                )
        return {}

    @on(Action.reservation_status_update)
    def on_reservation_status_update(
        self, db: Session, reservation_id: int, reservation_update_status: str, **_: Any
    ) -> dict[str, Any]:
        # The reservations table is the record; the device variable keeps the charger's last word even
        # for reservations made outside the command bus (no row to update then).
        reservations.transition(db, self.charger_id, reservation_id, reservation_update_status)
        upsert_variable(
            db,
            self.charger_id,
            component="CSMS.Reservation",
            variable="Status",
            variable_instance=str(reservation_id),
            value=reservation_update_status,
        )
        return {}

    @on(Action.notify_charging_limit)
    def on_notify_charging_limit(
        self, db: Session, charging_limit: dict[str, Any], evse_id: int | None = None, **_: Any
    ) -> dict[str, Any]:
        # An external limit (e.g. the grid operator) now caps this EVSE: the smart-charging loop reads it.
        upsert_variable(
            db,
            self.charger_id,
            component="CSMS.ChargingLimit",
            evse_id=evse_id or 0,
            variable="Source",
            value=charging_limit.get("charging_limit_source"),
        )
        return {}

    @on(Action.cleared_charging_limit)
    def on_cleared_charging_limit(
        self, db: Session, charging_limit_source: str, evse_id: int | None = None, **_: Any
    ) -> dict[str, Any]:
        upsert_variable(
            db,
            self.charger_id,
            component="CSMS.ChargingLimit",
            evse_id=evse_id or 0,
            variable="Source",
            value=None,
        )
        return {}

    @on(Action.report_charging_profiles)
    def on_report_charging_profiles(self, db: Session, **_: Any) -> dict[str, Any]:
        return {}  # answers to GetChargingProfiles; the command bus caller reads the charger's own reply

    @on(Action.notify_monitoring_report)
    def on_notify_monitoring_report(self, db: Session, **_: Any) -> dict[str, Any]:
        return {}

    def _certificate_type(self, certificate_type: str | None, consume: bool = False) -> str:
        """A typeless SignCertificate after an accepted TriggerMessage(SignCombinedCertificate) asks for
        the combined certificate; otherwise the type defaults to the station's own (2.0.1 A02)."""
        if certificate_type:
            return certificate_type
        if self.__dict__.get("_combined_requested"):
            if consume:
                self.__dict__["_combined_requested"] = False
            return COMBINED
        return "ChargingStationCertificate"

    @on(Action.sign_certificate)
    def on_sign_certificate(
        self, db: Session, csr: str, certificate_type: str | None = None, **_: Any
    ) -> dict[str, Any]:
        return self.answer_sign_certificate(db, csr, self._certificate_type(certificate_type))

    @after(Action.sign_certificate)
    async def after_sign_certificate(self, csr: str, certificate_type: str | None = None, **_: Any) -> None:
        await self.send_signed_certificate(csr, self._certificate_type(certificate_type, consume=True))

    async def finish_pending_boot(self) -> None:
        """An operator accepted this station while it waits in Pending: ask it to boot now (TC_B_31)
        rather than after its retry interval."""
        try:
            answer = await self.send_call("TriggerMessage", {"requestedMessage": "BootNotification"})
        except Exception as exc:  # it boots again after its interval anyway
            LOGGER.info("%s: TriggerMessage(BootNotification) failed: %s", self.charge_point_id, exc)
            return
        LOGGER.info(
            "%s: accepted while Pending; TriggerMessage(BootNotification) %s", self.charge_point_id, answer
        )

    async def after_command(self, action: str, payload: dict[str, Any], answer: dict[str, Any]) -> None:
        """Remember what a successful command changed on the charger (runs after the answer)."""

        password_changed = False

        def write() -> None:
            nonlocal password_changed
            with session_scope() as db:
                if action == "SetChargingProfile":
                    store_profile(
                        db,
                        self.charger_id,
                        payload.get("evseId", 0),
                        payload["chargingProfile"],
                        answer.get("status", ""),
                    )
                elif action == "GetLocalListVersion":
                    local_list.store_reported_version(
                        db, self.charger_id, int(answer.get("versionNumber", 0))
                    )
                elif action in ("SetDisplayMessage", "ClearDisplayMessage", "GetDisplayMessages"):
                    display_messages.after_command(db, self.charger_id, action, payload, answer)
                elif action in ("GetVariables", "SetVariables"):
                    key = "getVariableResult" if action == "GetVariables" else "setVariableResult"
                    for item in answer.get(key, []):
                        if item.get("attributeStatus") != "Accepted":
                            continue
                        value = item.get("attributeValue")
                        if action == "SetVariables":
                            value = next(
                                (
                                    d.get("attributeValue")
                                    for d in payload.get("setVariableData", [])
                                    if d.get("component") == item.get("component")
                                    and d.get("variable") == item.get("variable")
                                ),
                                None,
                            )
                        component = item.get("component", {})
                        if item.get("variable", {}).get("name") == "BasicAuthPassword" and value is not None:
                            set_basic_auth_password(db, self.charger_id, str(value))
                            password_changed = True
                            continue
                        upsert_reported(
                            db,
                            self.charger_id,
                            component,
                            item.get("variable", {}),
                            value,
                            attribute_type=item.get("attributeType", "Actual"),
                        )
                else:
                    self.store_command_effect(db, action, payload, answer)

        await asyncio.to_thread(write)
        if password_changed:
            await self.server.forget_admission(self.charge_point_id)  # it holds the new password now
