"""A fast, seeded generator of malformed OCPP-J frames (mutations of valid ones plus pure garbage).

Hypothesis shrinks beautifully but generates a few thousand frames per second; the 100,000-frame socket
fuzz needs a cheaper source, so this one mutates real frames with a seeded `random.Random`.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Iterator
from typing import Any

VALID_16: list[list[Any]] = [
    [2, "b", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}],
    [2, "h", "Heartbeat", {}],
    [2, "s", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"}],
    [2, "a", "Authorize", {"idTag": "TAG"}],
    [
        2,
        "st",
        "StartTransaction",
        {"connectorId": 1, "idTag": "TAG", "meterStart": 0, "timestamp": "2026-01-01T00:00:00Z"},
    ],
    [2, "sp", "StopTransaction", {"transactionId": 1, "meterStop": 10, "timestamp": "2026-01-01T01:00:00Z"}],
    [
        2,
        "mv",
        "MeterValues",
        {
            "connectorId": 1,
            "meterValue": [{"timestamp": "2026-01-01T00:30:00Z", "sampledValue": [{"value": "5"}]}],
        },
    ],
    [2, "dt", "DataTransfer", {"vendorId": "x", "data": "y"}],
    [3, "r", {"status": "Accepted"}],
    [4, "e", "GenericError", "d", {}],
]


def _garbage_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.randint(-(2**63), 2**63)
    if kind == 3:
        return rng.choice([0.5, -1e308, 1e-9, 3.0])
    if kind == 4:
        return "".join(rng.choice(string.printable) for _ in range(rng.randrange(12)))
    if kind == 5:
        return rng.choice(["", "2026-13-45T99:99:99Z", "\u0000", "\ud7ff" * 3, "Z" * 30])
    if kind in (6, 7):
        return [_garbage_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    return {
        rng.choice(
            ["idTag", "connectorId", "status", "x", "meterValue", "sampledValue", "timestamp", ""]
        ): _garbage_value(rng, depth + 1)
        for _ in range(rng.randrange(5))
    }


def _mutate_payload(rng: random.Random, payload: Any) -> Any:
    if isinstance(payload, dict) and payload and rng.random() < 0.8:
        payload = dict(payload)
        key = rng.choice(list(payload))
        action = rng.randrange(3)
        if action == 0:
            payload[key] = _garbage_value(rng)
        elif action == 1:
            del payload[key]
        else:
            payload[key + rng.choice(["", "X"])] = _mutate_payload(rng, payload[key])
        return payload
    return _garbage_value(rng)


def frames(seed: int, count: int) -> Iterator[str | bytes]:
    """`count` frames, mostly broken; every one of them must leave the connection usable."""
    rng = random.Random(seed)
    for index in range(count):
        base = [*rng.choice(VALID_16)]
        base[1] = f"fz-{index}"
        strategy = rng.randrange(10)
        if strategy <= 2:
            base[-1] = _mutate_payload(rng, base[-1])
            yield json.dumps(base)
        elif strategy == 3:
            base[rng.randrange(len(base))] = _garbage_value(rng)
            yield json.dumps(base)
        elif strategy == 4:
            text = json.dumps(base)
            yield text[: rng.randrange(len(text))]
        elif strategy == 5:
            text = list(json.dumps(base))
            for _ in range(rng.randrange(1, 4)):
                text[rng.randrange(len(text))] = rng.choice(string.printable)
            yield "".join(text)
        elif strategy == 6:
            yield json.dumps(_garbage_value(rng))
        elif strategy == 7:
            yield bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
        elif strategy == 8:
            yield json.dumps(base[: rng.randrange(len(base))] + [_garbage_value(rng)] * rng.randrange(3))
        else:
            depth = rng.choice([10, 500, 5000])
            yield "[" * depth + "]" * depth
