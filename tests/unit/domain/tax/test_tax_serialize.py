"""JSON round trip of a return's inputs, and refusals that name the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipelet_app.domain.tax.errors import TaxValidationError
from pipelet_app.domain.tax.macrs import TaxYear
from pipelet_app.domain.tax.sample import sample_return
from pipelet_app.domain.tax.serialize import input_from_dict, input_to_dict


def test_round_trip_is_exact() -> None:
    data = sample_return(5)
    raw = json.loads(json.dumps(input_to_dict(data)))
    assert raw["figures"]["gross_receipts"] == "1250000.00"
    assert input_from_dict(raw) == data


def test_calendar_year_shorthand_and_numbers() -> None:
    raw = input_to_dict(sample_return(2))
    raw["tax_year"] = 2025
    raw["figures"]["interest_income"] = 1250
    data = input_from_dict(raw)
    assert data.tax_year == TaxYear.calendar(2025)
    assert str(data.figures.interest_income) == "1250.00"


def refused(raw: Any) -> tuple[str, str]:
    with pytest.raises(TaxValidationError) as info:
        input_from_dict(raw)
    v = info.value.violations[0]
    return v.field, v.message


def test_refusals_name_the_field() -> None:
    raw = input_to_dict(sample_return(2))
    raw["partners"][1]["partner"]["entity_type"] = "Robot"
    assert refused(raw)[0] == "partners[1].partner.entity_type"
    raw = input_to_dict(sample_return(2))
    del raw["partnership"]["ein"]
    assert refused(raw) == ("partnership.ein", "required")
    raw = input_to_dict(sample_return(2))
    raw["partners"][0]["cash_distributions"] = "12.345"
    assert refused(raw) == ("partners[0].cash_distributions", "'12.345': money must be whole cents")
    raw = input_to_dict(sample_return(2))
    raw["partners"][0]["tax_share"] = "0.0100001"  # shares may carry more digits than cents
    assert str(input_from_dict(raw).partners[0].tax_share) == "0.0100001"
    raw["figures"]["placed_in_service"][0]["placed_in_service"] = "2025-02-30"
    assert refused(raw)[0] == "figures.placed_in_service[0].placed_in_service"
    assert refused([]) == ("input", "expected an object, got list")
