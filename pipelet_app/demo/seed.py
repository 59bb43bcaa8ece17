"""Idempotent demo data: every object is found by its natural key before it is created.

Running it twice changes nothing; running it on a database with real data only adds the demo objects.
Sessions are generated once, relative to the day of the first seeding, from a fixed random seed.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session, SQLModel, select

from pipelet_app.auth.secrets import hash_password, verify_password
from pipelet_app.clock import utcnow
from pipelet_app.db.models import (
    Charger,
    ChargerAuthMode,
    ChargingSession,
    Connector,
    Driver,
    IdToken,
    MeterValue,
    PartnerKind,
    PricingPlan,
    Role,
    SessionSource,
    Site,
    Spv,
    SpvPartner,
    Tenant,
    TenantKind,
    User,
)
from pipelet_app.demo.seed_tax import seed_spv_books
from pipelet_app.keys import derive
from pipelet_app.ocpp.identity import hash_password as hash_charger_password
from pipelet_app.services import pricing


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    role: Role
    tenant: str | None
    name: str


LOGINS = [
    DemoLogin("admin@pipelet.demo", "pipelet-admin", Role.ADMIN, None, "Ada Admin"),
    DemoLogin(
        "operator@sonnenstrom.demo", "pipelet-operator", Role.OPERATOR, "sonnenstrom", "Otto Betreiber"
    ),
    DemoLogin("operator@northwind.demo", "pipelet-operator", Role.OPERATOR, "northwind", "Nora North"),
    DemoLogin("fleet@acme.demo", "pipelet-fleet", Role.FLEET_MANAGER, "acme", "Frida Fleet"),
    DemoLogin("fleet@globex.demo", "pipelet-fleet", Role.FLEET_MANAGER, "globex", "Gus Globex"),
    DemoLogin("driver@acme.demo", "pipelet-driver", Role.DRIVER, "acme", "Dana Driver"),
    DemoLogin("driver@globex.demo", "pipelet-driver", Role.DRIVER, "globex", "Dirk Globex"),
    DemoLogin("investor@pipelet.demo", "pipelet-investor", Role.INVESTOR, "sonnenstrom", "Ivy Investor"),
    DemoLogin("investor2@pipelet.demo", "pipelet-investor", Role.INVESTOR, "sonnenstrom", "Hal Harbor"),
]

TENANTS = {
    "sonnenstrom": ("Sonnenstrom Betrieb GmbH", TenantKind.OPERATOR),
    "northwind": ("Northwind Charging Inc.", TenantKind.OPERATOR),
    "acme": ("Acme Logistics", TenantKind.FLEET),
    "globex": ("Globex Services", TenantKind.FLEET),
}

SITES = {
    "sonnenstrom": [
        ("Depot München", "Europe/Berlin", "Landsberger Str. 110, 80339 München", 48.1405, 11.5460, True),
        ("Solarpark Freising", "Europe/Berlin", "Erdinger Str. 20, 85356 Freising", 48.4010, 11.7480, True),
    ],
    "northwind": [("Denver Hub", "America/Denver", "1701 Wynkoop St, Denver, CO", 39.7530, -105.0000, False)],
}

# (charge point id, site index, vendor, model)
CHARGERS = {
    "sonnenstrom": [
        ("SON-CP-001", 0, "ABB", "Terra AC W22"),
        ("SON-CP-002", 0, "ABB", "Terra AC W22"),
        ("SON-CP-003", 1, "Alfen", "Eve Double Pro"),
    ],
    "northwind": [("NW-CP-001", 0, "Wallbox", "Commander 2"), ("NW-CP-002", 0, "Wallbox", "Commander 2")],
}

# operator → (its demo pricing plan, the sites' currency, charge point ids at a premium multiplier 1.1)
PLANS = {
    "sonnenstrom": (
        {
            "base": {"per_kwh": "0.39"},
            "session_fee": "0.50",
            "idle_fee_per_minute": "0.10",
            "idle_grace_minutes": 30,
            "windows": [
                {
                    "label": "peak",
                    "rate": {"per_kwh": "0.55"},
                    "start": "17:00",
                    "end": "21:00",
                    "weekdays": [0, 1, 2, 3, 4],
                    "priority": 2,
                },
                {
                    "label": "night",
                    "rate": {"per_kwh": "0.29"},
                    "start": "22:00",
                    "end": "06:00",
                    "priority": 1,
                },
            ],
        },
        "EUR",
        {"SON-CP-003"},
    ),
    "northwind": (
        {"base": {"per_kwh": "0.45"}, "idle_fee_per_minute": "0.40", "idle_grace_minutes": 10},
        "USD",
        set(),
    ),
}

# fleet → (operator whose chargers its drivers use, driver names; the first logs in as driver@<fleet>.demo)
FLEETS = {
    "acme": ("sonnenstrom", ["Dana Driver", "Emil Ernst", "Lena Lang", "Tom Weber"]),
    "globex": ("northwind", ["Dirk Globex", "Maya Moore", "Sam Ortiz"]),
}

SPV_NAME = "Pipelet Solar Fund I"
SPV_PARTNERS = [
    ("Sonnenstrom Betrieb GmbH", PartnerKind.GP, 1.0, None),
    ("Evergreen Tax Equity LLC", PartnerKind.LP, 60.0, "investor@pipelet.demo"),
    ("Harbor Renewables Fund LP", PartnerKind.LP, 39.0, "investor2@pipelet.demo"),
]
SPV_TAX_YEARS = [2025]


# password -> the hash this process made of it, per hasher. argon2 is slow on purpose (tens of ms each) and
# a process that seeds repeatedly (the test suite: one fresh database per test) would hash the same demo
# passwords again every time; any valid hash of a password serves.
_HASHED: dict[tuple[str, str], str] = {}


def _hash_once(kind: str, hasher: Callable[[str], str], password: str) -> str:
    if (kind, password) not in _HASHED:
        _HASHED[kind, password] = hasher(password)
    return _HASHED[kind, password]


def demo_charger_password(charge_point_id: str) -> str:
    """The demo charger's Basic password: derived from PIPELET_SECRET_KEY, so `seed-demo --json` can print
    it on every run without the clear text being stored anywhere. It is as secret as that key (which
    decrypts every stored credential anyway), and differs between installations."""
    digest = derive(b"pipelet/demo-charger/v1\0" + charge_point_id.encode(), length=15)
    return base64.b32encode(digest).decode().lower()[:24]


def _demo_charge_points(db: Session, chargers: dict[str, list[Charger]]) -> list[dict[str, Any]]:
    """Give each demo charger its derived password unless it has one; list the ones still using it.
    A password an operator rotated since is not known here: listed as null."""
    listed = []
    for charger in (c for group in chargers.values() for c in group):
        password = demo_charger_password(charger.charge_point_id)
        if charger.basic_auth_hash is None and charger.auth_mode == ChargerAuthMode.BASIC:
            charger.basic_auth_hash = _hash_once("charger", hash_charger_password, password)
            db.add(charger)
        stored = charger.basic_auth_hash
        current = stored is not None and (
            stored == _HASHED.get(("charger", password)) or verify_password(stored, password)
        )
        listed.append({"id": charger.charge_point_id, "password": password if current else None})
    return listed


def _get_or_create(db: Session, model: type[SQLModel], defaults: dict[str, Any] | None = None, **key: Any):
    row = db.exec(select(model).filter_by(**key)).first()
    if row is None:
        row = model(**key, **(defaults or {}))
        db.add(row)
        db.flush()
    return row


def seed_demo(db: Session, now: datetime | None = None) -> dict[str, Any]:
    """Create whatever demo object is missing and return the `seed-demo --json` document."""
    now = now or utcnow()
    tenants = {
        slug: _get_or_create(db, Tenant, {"name": name, "kind": kind}, slug=slug)
        for slug, (name, kind) in TENANTS.items()
    }
    users: dict[str, User] = {}
    hashes = {
        password: _hash_once("user", hash_password, password) for password in {lg.password for lg in LOGINS}
    }
    for login in LOGINS:
        tenant_id = tenants[login.tenant].id if login.tenant else None
        users[login.email] = _get_or_create(
            db,
            User,
            {
                "name": login.name,
                "role": login.role,
                "tenant_id": tenant_id,
                "password_hash": hashes[login.password],
            },
            email=login.email,
        )

    chargers: dict[str, list[Charger]] = {}
    for slug, site_specs in SITES.items():
        sites = [
            _get_or_create(
                db,
                Site,
                {
                    "timezone": tz,
                    "address": address,
                    "latitude": lat,
                    "longitude": lon,
                    "has_pv_meter": pv,
                    "currency": PLANS[slug][1],
                },
                tenant_id=tenants[slug].id,
                name=name,
            )
            for name, tz, address, lat, lon, pv in site_specs
        ]
        chargers[slug] = []
        definition, _, premium = PLANS[slug]
        plan = _get_or_create(
            db,
            PricingPlan,
            {"definition": pricing.definition_of(pricing.plan_from_definition(definition))},
            tenant_id=tenants[slug].id,
            name="Demo standard",
        )
        for cp_id, site_index, vendor, model in CHARGERS[slug]:
            charger = _get_or_create(
                db,
                Charger,
                {
                    "tenant_id": tenants[slug].id,
                    "site_id": sites[site_index].id,
                    "vendor": vendor,
                    "model": model,
                    "ocpp_version": "1.6",
                    "status": "Available",
                },
                charge_point_id=cp_id,
            )
            if charger.pricing_plan_id is None:
                charger.pricing_plan_id = plan.id
                charger.price_multiplier = Decimal("1.1") if cp_id in premium else Decimal(1)
                db.add(charger)
            for connector_id in (1, 2):
                _get_or_create(
                    db, Connector, {"status": "Available"}, charger_id=charger.id, connector_id=connector_id
                )
            chargers[slug].append(charger)

    id_tokens: list[str] = []
    drivers: list[tuple[Driver, str, IdToken]] = []
    for fleet_slug, (operator_slug, names) in FLEETS.items():
        fleet = tenants[fleet_slug]
        if fleet.operator_tenant_id is None:  # the operator whose fleet customer it is
            fleet.operator_tenant_id = tenants[operator_slug].id
            db.add(fleet)
        for index, name in enumerate(names):
            user = users[f"driver@{fleet_slug}.demo"] if index == 0 else None
            driver = _get_or_create(
                db,
                Driver,
                {"user_id": user.id if user else None, "email": user.email if user else ""},
                fleet_id=tenants[fleet_slug].id,
                name=name,
            )
            token_value = f"{fleet_slug.upper()}{index + 1:04d}"
            token = _get_or_create(
                db, IdToken, {"driver_id": driver.id}, tenant_id=tenants[operator_slug].id, token=token_value
            )
            id_tokens.append(token_value)
            drivers.append((driver, operator_slug, token))

    spv = _get_or_create(
        db, Spv, {"formed_year": 2025}, sponsor_tenant_id=tenants["sonnenstrom"].id, name=SPV_NAME
    )
    for name, kind, pct, email in SPV_PARTNERS:
        _get_or_create(
            db,
            SpvPartner,
            {"kind": kind, "ownership_pct": pct, "user_id": users[email].id if email else None},
            spv_id=spv.id,
            name=name,
        )
    seed_spv_books(db, spv)

    if (
        db.exec(select(ChargingSession).where(ChargingSession.transaction_id.startswith("demo-"))).first()
        is None
    ):
        _seed_sessions(db, drivers, chargers, now)
    charge_points = _demo_charge_points(db, chargers)
    db.commit()

    return {
        "users": [
            {
                "email": lg.email,
                "password": lg.password,
                "role": lg.role.value,
                "tenant": TENANTS[lg.tenant][0] if lg.tenant else None,
            }
            for lg in LOGINS
        ],
        "id_tokens": id_tokens,
        "charge_points": charge_points,
        "spvs": [{"id": spv.id, "name": spv.name, "tax_years": SPV_TAX_YEARS}],
    }


def _seed_sessions(
    db: Session, drivers: list[tuple[Driver, str, IdToken]], chargers: dict[str, list[Charger]], now: datetime
) -> None:
    """Four weeks per driver: workplace OCPP sessions, home PV-wallbox sessions and some public charging."""
    rng = random.Random(20250101)
    start_day = (now - timedelta(days=28)).replace(hour=0, minute=0, second=0, microsecond=0)
    for driver, operator_slug, token in drivers:
        serial = f"IQEVC-{driver.id:06d}"
        for day in range(28):
            date = start_day + timedelta(days=day)
            weekday = date.weekday() < 5
            if weekday and rng.random() < 0.6:
                charger = rng.choice(chargers[operator_slug])
                begin = date + timedelta(hours=7 + rng.random() * 2)
                energy = rng.uniform(6_000, 22_000)
                _add_session(
                    db,
                    f"demo-{driver.id}-{day}-w",
                    charger.charge_point_id,
                    token.token,
                    "EVDisconnected",
                    SessionSource.OCPP_WALLBOX,
                    driver,
                    begin,
                    energy,
                    11_000,
                    solar=energy * rng.uniform(0.2, 0.5),
                    charger=charger,
                )
            if rng.random() < 0.45:
                begin = date + timedelta(hours=10 + rng.random() * 4)
                energy = rng.uniform(4_000, 18_000)
                _add_session(
                    db,
                    f"demo-{driver.id}-{day}-pv",
                    serial,
                    "pv-enphase",
                    "pv-native",
                    SessionSource.PV_INVERTER,
                    driver,
                    begin,
                    energy,
                    7_400,
                    solar=energy * rng.uniform(0.55, 0.95),
                )
            if rng.random() < 0.12:
                begin = date + timedelta(hours=12 + rng.random() * 8)
                energy = rng.uniform(15_000, 45_000)
                _add_session(
                    db,
                    f"demo-{driver.id}-{day}-pub",
                    f"DE*ION*E{rng.randint(1000, 9999)}",
                    token.token,
                    "Local",
                    SessionSource.PUBLIC,
                    driver,
                    begin,
                    energy,
                    150_000,
                    cost=round(energy / 1000 * 0.59, 2),
                )
    db.flush()


def _add_session(
    db: Session,
    transaction_id: str,
    station_id: str,
    id_tag: str,
    reason: str,
    source: SessionSource,
    driver: Driver,
    begin: datetime,
    energy_wh: float,
    power_w: float,
    *,
    solar: float | None = None,
    cost: float | None = None,
    charger: Charger | None = None,
) -> None:
    energy_wh = round(energy_wh)
    charging = timedelta(hours=energy_wh / power_w)
    session = ChargingSession(
        transaction_id=transaction_id,
        station_id=station_id,
        id_tag=id_tag,
        reason=reason,
        source=source,
        driver_id=driver.id,
        charger_id=charger.id if charger else None,
        connector_id=1 if charger else None,
        start_utc=begin,
        end_utc=begin + charging + timedelta(minutes=15),
        energy_wh=energy_wh,
        solar_wh=round(solar) if solar is not None else None,
        cost=cost if cost is not None else round(energy_wh / 1000 * 0.32, 2),
    )
    db.add(session)
    if charger is None:
        return
    # An OCPP session as the CSMS stores it: a register from 0, a reading every 15 minutes while
    # charging, a quarter of an hour plugged in after; priced by the charger's plan as a real stop is.
    db.flush()
    readings = [(begin + t, energy_wh * (t / charging)) for t in _quarters(charging)]
    for at, value in readings:
        db.add(
            MeterValue(
                charger_id=charger.id, connector_id=1, session_id=session.id, timestamp=at, value=value
            )
        )
    session.meter_start_wh, session.meter_stop_wh = 0.0, float(energy_wh)
    pricing.record_cost(db, session, 0.0, readings, float(energy_wh))


def _quarters(span: timedelta) -> list[timedelta]:
    """0, 15, 30 ... minutes, and `span` itself as the last."""
    out = [timedelta(minutes=15 * i) for i in range(int(span / timedelta(minutes=15)) + 1)]
    return out if out[-1] == span else [*out, span]
