"""The actuation loop's memory as JSON, so that a site's loop survives a crash or a change of owner.

What one site's loop carries from cycle to cycle: the controller's `ControllerMemory` (enable, handover and
bridging timers, the phase lockout, each car's draw cap, the recent PV), what each profile slot last
carried (`actuation.Sent`, so unchanged limits are not sent again) and whether the idle connectors are
lifted (`baseline.hold_lift`: on, and since when a newcomer would not start), so a successor neither
drops a lift the hold still keeps nor sends it again. The loop stores it when `save_due` says
(before a send, on a material change, else once a minute; `actuation.memory`); a worker that takes a site
over (the owner died or the lease moved) restores it with `restore` and continues where the last owner
stopped. Pure: dicts of JSON types in and out.

The shape is versioned (`FORMAT_VERSION`) and checked field by field against the dataclasses: a saved
memory of another version or another shape (a field added to `ChargerMemory` since) is discarded, never
half-read, and the loop starts blank as before. Non-finite floats are written as strings ("inf"), since
PostgreSQL's JSON accepts no NaN/Infinity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any

from pipelet_app.domain.surplus.actuation import Sent
from pipelet_app.domain.surplus.model import ChargerMemory, ControllerMemory

#: bump when the saved shape changes meaning (a field's unit, a key's layout); a changed set of fields is
#: caught without a bump (see `_charger`)
FORMAT_VERSION = 1

#: A saved memory older than this is stale: only the phase lockout is kept (see `restore` for why).
MAX_AGE = timedelta(minutes=5)

#: A cycle that changed nothing material saves at most this often (`save_due`): a takeover loses at most
#: this much of the PV history and of the small-move (deadband) sum. Far below `MAX_AGE` minus a lease
#: (90 s), so what a successor finds is never stale.
SAVE_EVERY = timedelta(seconds=60)
#: bridged grid energy that grew by this much since the last save is material: a successor bridges at
#: most this much beyond the budget
BRIDGED_WH_STEP = 10.0

SlotKey = tuple[str, int, str]  # (charge point id, connector id, "tx/idle" (a transaction) | "base" | "max")


@dataclass(frozen=True)
class LoopMemory:
    """What a site's loop carries between cycles, apart from the lease itself."""

    memory: ControllerMemory = field(default_factory=ControllerMemory)
    sent: dict[SlotKey, Sent] = field(default_factory=dict)
    #: the idle connectors are lifted, and since when a newcomer would not start (the hold's clock)
    lifted: bool = False
    lift_low_since: datetime | None = None


@dataclass(frozen=True)
class Restored:
    """The memory a new owner starts with and, for the log, how it was obtained."""

    loop: LoopMemory
    how: str  # "restored" | "stale" | "none" | "unreadable"
    detail: str = ""


def _number(value: float) -> float | str:
    return value if math.isfinite(value) else str(value)  # "inf", "-inf", "nan"


def _float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("a number was expected, not a boolean")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value in ("inf", "-inf", "nan"):
        return float(value)
    raise ValueError(f"a number was expected, not {value!r}")


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"a time was expected, not {value!r}")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"a time without offset: {value!r}")
    return parsed


def _encode_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        if value.tzinfo is None:
            raise ValueError("the controller's times carry an offset (UTC)")
        return value.isoformat()
    if kind == "float":
        return _number(value)
    if kind not in SCALARS:
        raise ValueError(f"ChargerMemory field of type {kind}: teach domain/surplus/saved.py")
    return value


def _decode_value(kind: str, optional: bool, value: Any) -> Any:
    if value is None:
        if not optional:
            raise ValueError("a value is missing")
        return None
    if kind == "datetime":
        return _time(value)
    if kind == "float":
        return _float(value)
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"an integer was expected, not {value!r}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"a boolean was expected, not {value!r}")
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise ValueError(f"a string was expected, not {value!r}")
        return value
    raise ValueError(f"no codec for {kind}")


SCALARS = ("bool", "float", "int", "str", "datetime")
#: the `ControllerMemory` fields `encode` writes; tests/unit/domain/surplus/test_saved.py checks this is all
CONTROLLER_FIELDS = ("time_utc", "chargers", "pv_history")


def _kind(annotation: str) -> tuple[str, bool]:
    """("float", optional?) from a field's annotation ("float | None"); the memory holds only scalars.

    A field of another type is not an import error (the loop must keep running): `encode` refuses it
    (the loop logs it, nothing is saved) and a unit test names it.
    """
    optional = annotation.endswith(" | None")
    return annotation.removesuffix(" | None"), optional


CHARGER_FIELDS: dict[str, tuple[str, bool]] = {f.name: _kind(str(f.type)) for f in fields(ChargerMemory)}
#: fields a memory saved before they existed may lack: it is read with their defaults (`previous_limit_a`:
#: 0, no raise to read a register average by, as before it was kept)
LATER_FIELDS = frozenset({"previous_limit_a"})


def _charger(data: Any) -> ChargerMemory:
    names = set(CHARGER_FIELDS)
    if not isinstance(data, dict) or not names - LATER_FIELDS <= set(data) <= names:
        raise ValueError("a charger's memory of another shape")
    return ChargerMemory(
        **{
            name: _decode_value(kind, optional, data[name])
            for name, (kind, optional) in CHARGER_FIELDS.items()
            if name in data
        }
    )


def encode(loop: LoopMemory, saved_utc: datetime) -> dict[str, Any]:
    """The loop's memory as JSON types, stamped with the time it was saved."""
    memory = loop.memory
    return {
        "v": FORMAT_VERSION,
        "saved_utc": _encode_value("datetime", saved_utc),
        "time_utc": _encode_value("datetime", memory.time_utc),
        "chargers": {
            charger_id: {
                name: _encode_value(kind, getattr(charger, name))
                for name, (kind, _) in CHARGER_FIELDS.items()
            }
            for charger_id, charger in memory.chargers.items()
        },
        "pv_history": [[_number(value) for value in sample] for sample in memory.pv_history],
        "sent": [
            [
                cp,
                connector,
                kind,
                _number(s.value),
                s.unit,
                s.transaction_id,
                s.status,
                s.phases,
                _encode_value("datetime", s.sent_utc),
            ]
            for (cp, connector, kind), s in loop.sent.items()
        ],
        "lift": [loop.lifted, _encode_value("datetime", loop.lift_low_since)],
    }


def decode(data: Any) -> tuple[LoopMemory, datetime]:
    """The loop's memory and when it was saved; ValueError for another version or shape."""
    if not isinstance(data, dict):
        raise ValueError("not a saved loop memory")
    if data.get("v") != FORMAT_VERSION:
        raise ValueError(f"saved as version {data.get('v')!r}, this is version {FORMAT_VERSION}")
    # "lift" may be missing: saved before the lift was (the successor then starts unlifted, as it did)
    if set(data) - {"lift"} != {"v", "saved_utc", "time_utc", "chargers", "pv_history", "sent"}:
        raise ValueError("a loop memory of another shape")
    lift = data.get("lift", [False, None])
    if not isinstance(lift, list) or len(lift) != 2 or not isinstance(lift[0], bool):
        raise ValueError("a lift state of another shape")
    lifted, low_since = lift[0], None if lift[1] is None else _time(lift[1])
    chargers = data["chargers"]
    history = data["pv_history"]
    sent = data["sent"]
    if not isinstance(chargers, dict) or not isinstance(history, list) or not isinstance(sent, list):
        raise ValueError("a loop memory of another shape")
    pv_history = []
    for sample in history:
        if not isinstance(sample, list) or len(sample) != 3:
            raise ValueError("a PV sample of another shape")
        pv_history.append((_float(sample[0]), _float(sample[1]), _float(sample[2])))
    slots: dict[SlotKey, Sent] = {}
    for row in sent:
        # 7 fields: saved before profiles carried numberPhases (none was sent then); 8: before they
        # carried the time they were sent (a TxProfile of then has no duration: renewed at once)
        if not isinstance(row, list) or len(row) not in (7, 8, 9):
            raise ValueError("a sent profile of another shape")
        cp, connector, kind, value, unit, transaction_id, status, phases, sent_utc = (*row, None, None)[:9]
        if not (
            isinstance(cp, str)
            and isinstance(connector, int)
            and not isinstance(connector, bool)
            and isinstance(kind, str)
            and isinstance(unit, str)
            and isinstance(status, str)
            and (transaction_id is None or isinstance(transaction_id, str))
            and phases in (None, 1, 3)
            and not isinstance(phases, bool)
        ):
            raise ValueError("a sent profile of another shape")
        sent_at = None if sent_utc is None else _time(sent_utc)
        slots[(cp, connector, kind)] = Sent(_float(value), unit, transaction_id, status, phases, sent_at)
    memory = ControllerMemory(
        time_utc=None if data["time_utc"] is None else _time(data["time_utc"]),
        chargers={str(charger_id): _charger(value) for charger_id, value in chargers.items()},
        pv_history=tuple(pv_history),
    )
    return LoopMemory(memory, slots, lifted, low_since), _time(data["saved_utc"])


def _material(charger: ChargerMemory) -> ChargerMemory:
    """A charger's memory without what accumulates every cycle (bridged energy, the deadband sum)."""
    return replace(charger, bridged_wh=0.0, deadband_as=0.0)


def save_due(
    last: LoopMemory | None,
    last_utc: datetime | None,
    loop: LoopMemory,
    now: datetime,
    sending: bool = False,
    every: timedelta = SAVE_EVERY,
) -> str | None:
    """Why the loop must save `loop` now, or None to skip this write (`last`: what it last saved, at
    `last_utc`; None: nothing yet, e.g. just after a takeover).

    One write per site per cycle (10 s) does not fit 10,000 sites (benchmarks/loop_memory), and most
    cycles change nothing a successor needs. Saved always: before a cycle that sends ("sending": the
    write-ahead that leaves the slots about to be sent unknown), when what a successor acts on changed
    ("changed": any slot's record, since a slot recorded but not on the charger is never sent again; the
    lift state, else a successor drops a lift the hold keeps and lifts again at the next sun; a
    charger's limits, phases, the phase lockout, timers and draw cap, i.e. every field but the two sums;
    bridged energy by `BRIDGED_WH_STEP`), and at least every `every` ("due"), so the PV history, the
    controller's clock and the deadband sum a successor starts from are at most that old. Pure.
    """
    if sending:
        return "sending"
    if last is None or last_utc is None:
        return "first"
    if loop.sent != last.sent or (loop.lifted, loop.lift_low_since) != (last.lifted, last.lift_low_since):
        return "changed"
    before, after = last.memory.chargers, loop.memory.chargers
    if set(before) != set(after):
        return "changed"
    for charger_id, charger in after.items():
        previous = before[charger_id]
        if _material(charger) != _material(previous):
            return "changed"
        if abs(charger.bridged_wh - previous.bridged_wh) >= BRIDGED_WH_STEP:
            return "changed"
    if now - last_utc >= every or now < last_utc:
        return "due"
    return None


def lockouts_only(memory: ControllerMemory) -> ControllerMemory:
    """Of each charger, only its last phase switch (and the phases it switched to); nothing else."""
    return ControllerMemory(
        chargers={
            charger_id: ChargerMemory(last_phase_switch=m.last_phase_switch, phases=m.phases)
            for charger_id, m in memory.chargers.items()
            if m.last_phase_switch is not None
        }
    )


def restore(data: Any, now: datetime, max_age: timedelta = MAX_AGE) -> Restored:
    """What a new owner of a site starts with, from the saved memory (None: nothing saved).

    A memory saved less than `max_age` ago (5 min) is taken whole: a takeover after a crash happens once
    the dead owner's lease has run out (3 intervals, at most 90 s) and the next worker ticks, so a memory
    a few cycles old is the normal case and must be honoured, or the takeover starts blank after all.
    An older one describes minutes nobody watched: a car may have left and another arrived on the same
    connector (the controller resets a charger's session memory only when it sees it empty, so timers,
    bridged energy and draw caps would pass to the next car), the enable, handover and bridging timers
    (3-20 min) would count time in which nothing was controlled, and a charger that rebooted or ended
    its session in the gap no longer carries the profiles the sent-map remembers (sending each once
    more is the safe side). So it is discarded, except each charger's last phase switch: the lockout is a
    hard rule (no two switches within `phase_lockout_s`), not an estimate, and it runs out on its own.
    Another version or shape is discarded whole (`how` "unreadable"); the loop starts blank.
    """
    if data is None:
        return Restored(LoopMemory(), "none")
    try:
        loop, saved_utc = decode(data)
    except (ValueError, TypeError, KeyError) as exc:
        return Restored(LoopMemory(), "unreadable", str(exc))
    age = now - saved_utc
    if age > max_age:
        return Restored(LoopMemory(lockouts_only(loop.memory)), "stale", f"{age.total_seconds():.0f} s old")
    return Restored(loop, "restored", f"{max(0.0, age.total_seconds()):.0f} s old")


__all__ = [
    "BRIDGED_WH_STEP",
    "CHARGER_FIELDS",
    "CONTROLLER_FIELDS",
    "FORMAT_VERSION",
    "MAX_AGE",
    "SAVE_EVERY",
    "SCALARS",
    "LoopMemory",
    "Restored",
    "decode",
    "encode",
    "lockouts_only",
    "restore",
    "save_due",
]
