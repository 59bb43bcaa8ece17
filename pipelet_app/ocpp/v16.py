"""OCPP 1.6-J handlers: only translation lives here; bookkeeping is in chargers/transactions/authorization.

Handlers run in a worker thread inside the message's database transaction (see `base`), so they take
the session as their first argument and must not touch the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal
from typing import Any

from ocpp.routing import after, on
from ocpp.v16 import ChargePoint as LibraryChargePoint16
from ocpp.v16 import call_result
from ocpp.v16.enums import Action
from sqlmodel import Session

from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger
from pipelet_app.domain.pricing import display
from pipelet_app.ocpp import authorization, chargers, local_list, reservations, running_cost, transactions
from pipelet_app.ocpp.base import CsmsConnection
from pipelet_app.ocpp.chargers import set_basic_auth_password
from pipelet_app.ocpp.device_model import (
    store_configuration,
    store_profile,
)
from pipelet_app.ocpp.errors import ChargerOffline, CommandCallError, CommandTimeout
from pipelet_app.ocpp.timefmt import now_utc, parse_utc

LOGGER = logging.getLogger("pipelet.csms.v16")
PASSWORD_KEY = "AuthorizationKey"  # security whitepaper: the Basic-auth password of the charger
CHANGED = ("Accepted", "RebootRequired")


def _id_tag_info(result: authorization.AuthResult) -> dict[str, Any]:
    info: dict[str, Any] = {"status": result.status}
    if result.expiry is not None:
        info["expiryDate"] = result.expiry
    if result.parent_id_tag:
        info["parentIdTag"] = result.parent_id_tag
    return info


class ChargePoint16(CsmsConnection, LibraryChargePoint16):
    ocpp_version = "1.6"
    known_actions = frozenset(action.value for action in Action)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Connectors the database showed without an open session. An idle charger's periodic
        # MeterValues (no transactionId) would otherwise ask the database for an open session every
        # time: the largest per-message cost under load. Sound because in 1.6 only this charger's own
        # StartTransaction opens a session on its connectors, and it arrives on this socket, which drops
        # the connector from the set before anything else (a retry after a rolled-back batch too). A
        # new socket starts with an empty set. Writer thread only (one queue per charger).
        self._idle_connectors: set[int] = set()
        # Whether the California-pricing question is settled for this boot's firmware, read in the
        # Boot's own transaction (writer thread) and used by `after_boot_notification`.
        self._california_settled: bool | None = None

    # ------------------------------------------------------------------ Core
    @on(Action.boot_notification)
    def on_boot_notification(
        self,
        db: Session,
        charge_point_vendor: str,
        charge_point_model: str,
        charge_point_serial_number: str | None = None,
        charge_box_serial_number: str | None = None,
        firmware_version: str | None = None,
        **_: Any,
    ) -> call_result.BootNotification:
        chargers.record_boot(
            db,
            self.charger_id,
            vendor=charge_point_vendor,
            model=charge_point_model,
            serial_number=charge_point_serial_number or charge_box_serial_number,
            firmware_version=firmware_version,
            ocpp_version=self.ocpp_version,
        )
        transactions.close_stale_on_boot(db, self.charger_id, utcnow())
        # Read here, in the Boot's batched transaction, and remembered by the node once settled: a session
        # of its own per boot (a thread hop and a pool connection each) made the last Boot of a
        # 5,000-charger reconnect storm 9 s later (benchmarks/csms, session 7).
        key = (self.charger_id, firmware_version or "")
        settled = key in self.server.california_settled
        if not settled and running_cost.california_asked(db, self.charger_id, key[1]):
            self.server.california_settled.add(key)
            settled = True
        self._california_settled = settled
        return call_result.BootNotification(
            current_time=now_utc(), interval=self.server.heartbeat_interval_s, status="Accepted"
        )

    @after(Action.boot_notification)
    async def after_boot_notification(self, firmware_version: str | None = None, **_: Any) -> None:
        """OCA California pricing: ask a charger that has not declared `CustomDisplayCostAndPrice` for
        it (GetConfiguration), after the Boot answer went out, and store what it says. Without this an
        operator had to run get-configuration by hand, and a charger able to show prices never did.
        unknownKey, a CallError or no answer within the command timeout count as not supported (asked
        again after a firmware change); a charger gone before answering is asked at its next boot."""
        if not self.registration.accepted:
            return
        firmware = firmware_version or ""

        settled, self._california_settled = self._california_settled, None
        if settled is None:  # the Boot's transaction did not read it (not expected): ask the database

            def asked() -> bool:
                with session_scope() as db:
                    return running_cost.california_asked(db, self.charger_id, firmware)

            settled = await asyncio.to_thread(asked)
        if settled:
            return
        answer: dict[str, Any] | None = None
        failure: str | None = None
        try:
            answer = await self.send_call("GetConfiguration", {"key": [running_cost.CALIFORNIA_KEY]})
        except CommandCallError as exc:
            failure = f"CallError {exc.code}"
        except CommandTimeout:
            failure = "no answer"
        except ChargerOffline:
            return

        def record() -> bool:
            with session_scope() as db:
                return running_cost.record_california_answer(db, self.charger_id, firmware, answer, failure)

        declared = await asyncio.to_thread(record)
        self.server.california_settled.add((self.charger_id, firmware))
        self.__dict__.pop("_california_known", None)  # the next start reads the stored answer
        LOGGER.info(
            "%s: CustomDisplayCostAndPrice %s",
            self.charge_point_id,
            "declared" if declared else "not supported",
        )

    @on(Action.heartbeat)
    def on_heartbeat(self, db: Session, **_: Any) -> call_result.Heartbeat:
        chargers.touch(db, self.charger_id)
        return call_result.Heartbeat(current_time=now_utc())

    @on(Action.status_notification)
    def on_status_notification(
        self,
        db: Session,
        connector_id: int,
        error_code: str,
        status: str,
        timestamp: str | None = None,
        info: str | None = None,
        vendor_error_code: str | None = None,
        **_: Any,
    ) -> call_result.StatusNotification:
        at = parse_utc(timestamp) if timestamp else utcnow()
        chargers.record_status(
            db,
            self.charger_id,
            connector_id,
            status,
            at,
            error_code=error_code,
            info=info,
            vendor_error_code=vendor_error_code,
        )
        return call_result.StatusNotification()

    @on(Action.authorize)
    def on_authorize(self, db: Session, id_tag: str, **_: Any) -> dict[str, Any]:
        result = authorization.authorize(db, self.charger_id, id_tag)
        return {"idTagInfo": _id_tag_info(result)}

    @on(Action.start_transaction)
    def on_start_transaction(
        self,
        db: Session,
        connector_id: int,
        id_tag: str,
        meter_start: int,
        timestamp: str,
        reservation_id: int | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        self._idle_connectors.discard(connector_id)
        auth = authorization.authorize(db, self.charger_id, id_tag)
        started_at = parse_utc(timestamp)
        session = transactions.start_transaction(
            db,
            self.charger_id,
            self.charge_point_id,
            connector_id=connector_id,
            id_tag=id_tag,
            meter_start_wh=float(meter_start),
            started_at=started_at,
            driver_id=auth.driver_id,
            key=None,
            version=self.ocpp_version,
            offline=(utcnow() - started_at).total_seconds() > transactions.OFFLINE_LAG_S,
        )
        # The transaction is recorded even when the token is refused: the charger may have started it
        # offline, and the energy it delivers must be accounted for (the charger stops it on our answer).
        if reservation_id is not None:
            # The charger ended the reservation by starting on it (1.6 §3.11), whatever our answer.
            reservations.transition(db, self.charger_id, reservation_id, "used", session.id)
        if auth.status == "Accepted":
            self.__dict__["_user_price_due"] = id_tag  # SetUserPrice after the answer (California)
        return {"transactionId": session.id, "idTagInfo": _id_tag_info(auth)}

    # ------------------------------------------------------------------ California pricing (1.6)
    async def _declares_california(self) -> bool:
        """`_california` without a thread hop while the cached answer is fresh (the meter-value path)."""
        checked = self.__dict__.get("_california_known")
        if checked is not None and time.monotonic() - checked[0] <= 300:
            return checked[1]
        return await asyncio.to_thread(self._california)

    def _california(self) -> bool:
        """Did this charger declare `CustomDisplayCostAndPrice` (re-read at most every 5 minutes)?"""
        now = time.monotonic()
        checked = self.__dict__.get("_california_known")
        if checked is None or now - checked[0] > 300:
            with session_scope() as db:
                enabled = running_cost.california_enabled(db, self.charger_id)
            checked = self.__dict__["_california_known"] = (now, enabled)
        return checked[1]

    async def _cost_message(self, payload: dict[str, Any] | None) -> None:
        if payload is None:
            return
        try:
            await self.send_call("DataTransfer", payload)
        except Exception as exc:  # a display nicety; the price itself is settled by the CSMS
            LOGGER.info("%s: %s not delivered: %s", self.charge_point_id, payload.get("messageId"), exc)

    @after(Action.start_transaction)
    async def after_start_transaction(self, **_: Any) -> None:
        id_tag = self.__dict__.pop("_user_price_due", None)
        if id_tag is None or not await self._declares_california():
            return

        def build() -> dict[str, Any] | None:
            with session_scope() as db:
                charger = db.get(Charger, self.charger_id)
                text = running_cost.user_price_text(db, charger) if charger else None
                return None if text is None else display.set_user_price(id_tag, text)

        await self._cost_message(await asyncio.to_thread(build))

    @after(Action.meter_values)
    async def after_meter_values(self, transaction_id: int | None = None, **_: Any) -> None:
        if transaction_id is None:
            return
        now = asyncio.get_running_loop().time()
        sent: dict[int, float] = self.__dict__.setdefault("_running_cost_at", {})
        if now - sent.get(transaction_id, -running_cost.INTERVAL_S) < running_cost.INTERVAL_S:
            return
        if not await self._declares_california():
            return
        if len(sent) > 100:
            sent.clear()
        sent[transaction_id] = now

        def build() -> dict[str, Any] | None:
            with session_scope() as db:
                session = transactions.find_v16_transaction(db, self.charger_id, transaction_id)
                charger = db.get(Charger, self.charger_id)
                if session is None or charger is None or session.end_utc is not None:
                    return None
                at = utcnow()
                snap = running_cost.snapshot(db, charger, session, at)
                if snap is None:
                    return None
                return display.running_cost(
                    transaction_id, at, snap.meter_wh, snap.cost, snap.rate, snap.plan, snap.multiplier
                )

        await self._cost_message(await asyncio.to_thread(build))

    @after(Action.stop_transaction)
    async def after_stop_transaction(self, transaction_id: int, **_: Any) -> None:
        if not await self._declares_california():
            return

        def build() -> dict[str, Any] | None:
            with session_scope() as db:
                session = transactions.find_v16_transaction(db, self.charger_id, transaction_id)
                if session is None or session.cost is None:
                    return None
                return display.final_cost(transaction_id, Decimal(session.cost), session.currency)

        await self._cost_message(await asyncio.to_thread(build))

    @on(Action.stop_transaction)
    def on_stop_transaction(
        self,
        db: Session,
        meter_stop: int,
        timestamp: str,
        transaction_id: int,
        id_tag: str | None = None,
        reason: str | None = None,
        transaction_data: list[dict[str, Any]] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        stopped_at = parse_utc(timestamp)
        session = transactions.find_v16_transaction(db, self.charger_id, transaction_id)
        if session is None:
            LOGGER.warning(
                "%s: StopTransaction for unknown transaction %s", self.charge_point_id, transaction_id
            )
        else:
            for meter_value in transaction_data or []:
                self._store_meter_value(db, session.connector_id or 0, session, meter_value)
            transactions.stop_transaction(
                db,
                session,
                meter_stop_wh=float(meter_stop),
                stopped_at=stopped_at,
                reason=reason or "Local",
            )
        answer: dict[str, Any] = {}
        if id_tag:
            answer["idTagInfo"] = _id_tag_info(authorization.authorize(db, self.charger_id, id_tag))
        return answer

    @on(Action.meter_values)
    def on_meter_values(
        self,
        db: Session,
        connector_id: int,
        meter_value: list[dict[str, Any]],
        transaction_id: int | None = None,
        **_: Any,
    ) -> call_result.MeterValues:
        session = None
        if transaction_id is not None:
            session = transactions.find_v16_transaction(db, self.charger_id, transaction_id)
        if session is None and connector_id > 0 and connector_id not in self._idle_connectors:
            session = transactions.open_session_on(db, self.charger_id, connector_id)
            if session is None:
                self._idle_connectors.add(connector_id)
        for value in meter_value:
            self._store_meter_value(db, connector_id, session, value)
        return call_result.MeterValues()

    def _store_meter_value(
        self, db: Session, connector_id: int, session: Any, meter_value: dict[str, Any]
    ) -> None:
        at = parse_utc(meter_value["timestamp"])
        samples = [
            transactions.Sample(
                measurand=s.get("measurand") or "Energy.Active.Import.Register",
                value=s.get("value", ""),
                unit=s.get("unit"),
                phase=s.get("phase"),
                context=s.get("context"),
                location=s.get("location"),
                signed=s.get("format") == "SignedData",
            )
            for s in meter_value.get("sampled_value", [])
        ]
        transactions.add_meter_values(db, self.charger_id, connector_id, session, at, samples)

    @on(Action.data_transfer)
    def on_data_transfer(self, db: Session, vendor_id: str, **_: Any) -> call_result.DataTransfer:
        # No vendor extensions are known: the spec answer for an unknown vendor is UnknownVendorId.
        LOGGER.info("%s: DataTransfer from vendor %s", self.charge_point_id, vendor_id)
        return call_result.DataTransfer(status="UnknownVendorId")

    # ------------------------------------------------------------------ Firmware / diagnostics / security
    @on(Action.firmware_status_notification)
    def on_firmware_status(
        self, db: Session, status: str, **_: Any
    ) -> call_result.FirmwareStatusNotification:
        if status in ("InstallationFailed", "DownloadFailed"):
            # A failed update leaves the charger on unknown firmware: worth a line in the security log.
            chargers.record_security_event(
                db, self.charge_point_id, f"FirmwareStatus:{status}", utcnow(), charger_id=self.charger_id
            )
        _store_status_variable(db, self.charger_id, "FirmwareStatus", status)
        return call_result.FirmwareStatusNotification()

    @on(Action.diagnostics_status_notification)
    def on_diagnostics_status(
        self, db: Session, status: str, **_: Any
    ) -> call_result.DiagnosticsStatusNotification:
        _store_status_variable(db, self.charger_id, "DiagnosticsStatus", status)
        return call_result.DiagnosticsStatusNotification()

    @on(Action.security_event_notification)
    def on_security_event(
        self, db: Session, type: str, timestamp: str, tech_info: str | None = None, **_: Any
    ) -> call_result.SecurityEventNotification:
        self.record_reported_security_event(db, type, timestamp, tech_info)
        return call_result.SecurityEventNotification()

    @on(Action.signed_firmware_status_notification)
    def on_signed_firmware_status(
        self, db: Session, status: str, **_: Any
    ) -> call_result.SignedFirmwareStatusNotification:
        _store_status_variable(db, self.charger_id, "FirmwareStatus", status)
        return call_result.SignedFirmwareStatusNotification()

    @on(Action.log_status_notification)
    def on_log_status(self, db: Session, status: str, **_: Any) -> call_result.LogStatusNotification:
        _store_status_variable(db, self.charger_id, "LogStatus", status)
        return call_result.LogStatusNotification()

    @on(Action.sign_certificate)
    def on_sign_certificate(self, db: Session, csr: str, **_: Any) -> dict[str, Any]:
        return self.answer_sign_certificate(db, csr, "ChargingStationCertificate")

    @after(Action.sign_certificate)
    async def after_sign_certificate(self, csr: str, **_: Any) -> None:
        await self.send_signed_certificate(csr, "ChargingStationCertificate")

    # ------------------------------------------------------------------ command side effects
    async def after_command(self, action: str, payload: dict[str, Any], answer: dict[str, Any]) -> None:
        """Remember what a successful command changed on the charger (runs after the answer)."""

        def write() -> None:
            with session_scope() as db:
                if action == "GetConfiguration":
                    store_configuration(db, self.charger_id, answer.get("configurationKey", []))
                elif action == "ChangeConfiguration" and answer.get("status") in CHANGED:
                    if payload["key"] == PASSWORD_KEY:
                        # TC_073: the charger uses the new password from its next connection on.
                        set_basic_auth_password(db, self.charger_id, payload["value"])
                    else:
                        store_configuration(
                            db,
                            self.charger_id,
                            [{"key": payload["key"], "value": payload["value"], "readonly": False}],
                        )
                elif action == "SetChargingProfile":
                    store_profile(
                        db,
                        self.charger_id,
                        payload.get("connectorId", 0),
                        payload["csChargingProfiles"],
                        answer.get("status", ""),
                    )
                elif action == "GetLocalListVersion":
                    local_list.store_reported_version(db, self.charger_id, int(answer.get("listVersion", 0)))
                else:
                    self.store_command_effect(db, action, payload, answer)

        await asyncio.to_thread(write)
        if (
            action == "ChangeConfiguration"
            and payload.get("key") == PASSWORD_KEY
            and answer.get("status") in CHANGED
        ):
            await self.server.forget_admission(self.charge_point_id)  # it holds the new password now


def _store_status_variable(db: Session, charger_id: int, name: str, status: str) -> None:
    store_configuration(
        db, charger_id, [{"key": name, "value": status, "readonly": True}], component="CSMS.Status"
    )
