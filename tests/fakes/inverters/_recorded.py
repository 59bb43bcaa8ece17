"""Recorded vendor payloads (``tests/fixtures/vendors/<brand>/``) and the shape check that ties fakes to them.

Why: a fake written from our own reading of a vendor lets the adapter and the fake agree on a wrong shape
(this happened with Enphase). The fakes build their answers from these recorded examples, and the contract
tests compare every answer a fake serves with the recorded one (:func:`assert_same_shape`), so the fakes
cannot drift from what the vendors' documentation and well-used clients show. Each brand folder has a
SOURCE.md naming where every payload was read.
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "vendors"


@cache
def _load(brand: str, name: str) -> Any:
    return json.loads((FIXTURES / brand / f"{name}.json").read_text(encoding="utf-8"))


def recorded(brand: str, name: str) -> Any:
    """A fresh copy of a recorded payload (callers may fill in simulated values)."""
    return copy.deepcopy(_load(brand, name))


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "object"


def assert_same_shape(
    served: Any,
    recorded_body: Any,
    where: str = "$",
    open_maps: frozenset[str] = frozenset(),
    open_keys: str | None = None,
) -> None:
    """Served and recorded have the same keys at every level and compatible value kinds.

    Lists: every served element has the shape of one of the recorded elements (an empty list matches any).
    A null on either side matches any scalar (vendors send null for a value they lack).
    ``open_maps``: keys whose value is a map with device-specific keys (Huawei's ``dataItemMap``): only
    "an object of scalars" is checked there, since no public example has the charger's keys.
    ``open_keys``: a regular expression of keys that vary by device (Sungrow's ``p<point id>``): such keys
    are left out of the key comparison on both sides, and their values must be scalars.
    """
    kind_s, kind_r = _kind(served), _kind(recorded_body)
    if where.rsplit(".", 1)[-1] in open_maps:
        assert kind_s == kind_r == "object", f"{where}: served a {kind_s}, the vendor sends a {kind_r}"
        nested = [key for key, value in served.items() if _kind(value) in ("object", "list")]
        assert not nested, f"{where}: values must be scalars, {sorted(nested)} are not"
        return
    if "null" in (kind_s, kind_r) and "object" not in (kind_s, kind_r) and "list" not in (kind_s, kind_r):
        return
    assert kind_s == kind_r, f"{where}: served a {kind_s}, the vendor sends a {kind_r}"
    if kind_r == "object" and open_keys is not None:
        is_open = re.compile(open_keys).fullmatch
        varying = [k for k in served if is_open(k) and _kind(served[k]) in ("object", "list")]
        assert not varying, f"{where}: values must be scalars, {sorted(varying)} are not"
        served = {k: v for k, v in served.items() if not is_open(k)}
        recorded_body = {k: v for k, v in recorded_body.items() if not is_open(k)}
    if kind_r == "object":
        missing, extra = set(recorded_body) - set(served), set(served) - set(recorded_body)
        assert not missing, f"{where}: lacks the vendor's keys {sorted(missing)}"
        assert not extra, f"{where}: has keys the vendor does not send {sorted(extra)}"
        for key in recorded_body:
            assert_same_shape(served[key], recorded_body[key], f"{where}.{key}", open_maps, open_keys)
    elif kind_r == "list" and recorded_body:
        for index, item in enumerate(served):
            failures = []
            for example in recorded_body:
                try:
                    assert_same_shape(item, example, f"{where}[{index}]", open_maps, open_keys)
                    break
                except AssertionError as mismatch:
                    failures.append(str(mismatch))
            else:
                raise AssertionError(failures[0])
