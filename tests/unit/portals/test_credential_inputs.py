"""The connect forms' credential inputs: one element id per field, across every brand on one form."""

from __future__ import annotations

import re

from pipelet_app.portals.layout import credential_inputs
from pipelet_app.portals.operator import site_data


def test_every_credential_input_of_the_site_inverter_form_has_its_own_id() -> None:
    fields = site_data.credential_inputs()
    names = {name for name, _, _ in fields}
    assert {"userName", "username"} <= names  # Huawei and Victron: the pair that used to share an id
    rendered = "".join(str(component) for component in credential_inputs(fields, str, "inverter"))
    ids = re.findall(r'id:"(inverter-[^"]+)"', rendered)
    assert len(ids) == len(fields)
    assert len(set(ids)) == len(ids), sorted(ids)
    assert {"inverter-user-name", "inverter-username", "inverter-api-key"} <= set(ids)
