from datetime import UTC, datetime

from pipelet_app.domain.public_import import parse_public_csv

GOOD = """driver_email,start_utc,end_utc,energy_kwh,station_id,cost,currency,provider
Dana@Acme.demo,2025-03-01T10:00:00Z,2025-03-01T10:40:00Z,"31,5",DE*ION*E1234,18.90,eur,IONITY
dana@acme.demo,2025-03-02T08:00:00+01:00,,12,DE*EWE*E9,,,
"""


def test_good_rows_are_normalised() -> None:
    rows, errors = parse_public_csv(GOOD)
    assert errors == []
    first, second = rows
    assert first.driver_email == "dana@acme.demo" and first.energy_wh == 31_500 and first.currency == "EUR"
    assert first.cost == 18.9 and first.provider == "IONITY" and first.line == 2
    assert second.start_utc == datetime(2025, 3, 2, 7, 0, tzinfo=UTC)
    assert second.end_utc is None and second.cost is None and second.provider == "public"


def test_transaction_ids_are_stable_per_fleet() -> None:
    rows, _ = parse_public_csv(GOOD)
    again, _ = parse_public_csv(GOOD)
    assert [r.transaction_id(1) for r in rows] == [r.transaction_id(1) for r in again]
    assert rows[0].transaction_id(1) != rows[0].transaction_id(2)
    assert rows[0].transaction_id(1) != rows[1].transaction_id(1)


def test_bad_rows_are_reported_and_good_rows_kept() -> None:
    text = (
        "driver_email;start_utc;energy_kwh;station_id;end_utc;currency\n"
        "a@b.c;2025-01-01T00:00:00Z;5;X;;\n"
        "nobody;2025-01-01T00:00:00Z;5;X;;\n"
        "a@b.c;yesterday;5;X;;\n"
        "a@b.c;2025-01-01T00:00:00;5;X;;\n"
        "a@b.c;2025-01-01T00:00:00Z;-3;X;;\n"
        "a@b.c;2025-01-01T00:00:00Z;5;;;\n"
        "a@b.c;2025-01-01T05:00:00Z;5;X;2025-01-01T04:00:00Z;\n"
        "a@b.c;2025-01-01T00:00:00Z;5;X;;EURO\n"
    )
    rows, errors = parse_public_csv(text)
    assert [r.line for r in rows] == [2]
    assert [str(e).split(":")[0] for e in errors] == [
        "line 3, driver_email",
        "line 4, start_utc",
        "line 5, start_utc",
        "line 6, energy_kwh",
        "line 7, station_id",
        "line 8, end_utc",
        "line 9, currency",
    ]


def test_missing_column_is_one_file_error() -> None:
    rows, errors = parse_public_csv("driver_email,start_utc,station_id\na@b.c,2025-01-01T00:00:00Z,X\n")
    assert rows == [] and str(errors[0]) == "line 1, energy_kwh: column missing from the header"
