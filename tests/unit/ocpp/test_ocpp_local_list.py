"""Local list diffing and payload shapes, without a database."""

from __future__ import annotations

from pipelet_app.ocpp.local_list import DIFFERENTIAL, FULL, ListEntry, apply, diff, from_payload, to_payload

A = ListEntry("A", "Accepted")
B = ListEntry("B", "Accepted", parent="P")
C = ListEntry("C", "Accepted", expiry="2030-01-01T00:00:00.000Z")


def test_diff_names_added_changed_and_removed_tokens_only() -> None:
    held = {"A": A, "B": B, "C": C}
    wanted = {
        "A": A,  # unchanged: not sent
        "B": ListEntry("B", "Blocked", parent="P"),  # status changed
        "C": ListEntry("C", "Accepted", expiry="2031-01-01T00:00:00.000Z"),  # expiry changed
        "D": ListEntry("D", "Accepted"),  # added
    }
    assert diff(held, wanted) == [("B", wanted["B"]), ("C", wanted["C"]), ("D", wanted["D"])]
    assert diff(held, {"A": A}) == [("B", None), ("C", None)]
    assert diff(held, {**held, "B": ListEntry("B", "Accepted", parent="Q")}) == [
        ("B", ListEntry("B", "Accepted", parent="Q"))
    ]
    assert diff(held, held) == []


def test_apply_full_replaces_and_differential_patches() -> None:
    held = {"A": A, "B": B}
    assert apply(held, FULL, [("C", C)]) == {"C": C}
    assert apply(held, DIFFERENTIAL, [("A", None), ("C", C)]) == {"B": B, "C": C}
    assert apply(held, DIFFERENTIAL, [("Z", None)]) == held  # removing what is not held is harmless
    assert held == {"A": A, "B": B}  # not modified


def test_diff_then_apply_reaches_the_wanted_list() -> None:
    held = {"A": A, "B": B}
    wanted = {"B": ListEntry("B", "Expired"), "C": C}
    assert apply(held, DIFFERENTIAL, diff(held, wanted)) == wanted


def test_payload_shapes_and_round_trip() -> None:
    changes = [("B", B), ("C", C), ("X", None)]
    v16 = to_payload("1.6", 4, DIFFERENTIAL, changes)
    assert v16 == {
        "listVersion": 4,
        "updateType": "Differential",
        "localAuthorizationList": [
            {"idTag": "B", "idTagInfo": {"status": "Accepted", "parentIdTag": "P"}},
            {"idTag": "C", "idTagInfo": {"status": "Accepted", "expiryDate": "2030-01-01T00:00:00.000Z"}},
            {"idTag": "X"},
        ],
    }
    v201 = to_payload("2.0.1", 4, DIFFERENTIAL, changes)
    assert v201["versionNumber"] == 4
    assert v201["localAuthorizationList"] == [
        {
            "idToken": {"idToken": "B", "type": "Central"},
            "idTokenInfo": {"status": "Accepted", "groupIdToken": {"idToken": "P", "type": "Central"}},
        },
        {
            "idToken": {"idToken": "C", "type": "Central"},
            "idTokenInfo": {"status": "Accepted", "cacheExpiryDateTime": "2030-01-01T00:00:00.000Z"},
        },
        {"idToken": {"idToken": "X", "type": "Central"}},
    ]
    assert from_payload("1.6", v16) == (4, DIFFERENTIAL, changes)
    assert from_payload("2.0.1", v201) == (4, DIFFERENTIAL, changes)


def test_empty_update_leaves_out_the_list() -> None:
    assert to_payload("2.0.1", 2, DIFFERENTIAL, []) == {"versionNumber": 2, "updateType": "Differential"}
    assert from_payload("2.0.1", {"versionNumber": 2, "updateType": "Full"}) == (2, FULL, [])


def test_expiry_from_a_hand_written_payload_is_normalised() -> None:
    payload = {
        "listVersion": 1,
        "updateType": "Full",
        "localAuthorizationList": [
            {"idTag": "C", "idTagInfo": {"status": "Accepted", "expiryDate": "2030-01-01T01:00:00+01:00"}}
        ],
    }
    assert from_payload("1.6", payload)[2] == [("C", C)]


def test_tokens_are_compared_case_insensitively() -> None:
    lower = {"acme0001": ListEntry("acme0001", "Accepted", parent="grp")}
    upper = {"ACME0001": ListEntry("ACME0001", "Accepted", parent="GRP")}
    assert diff(lower, upper) == []  # a respelling is no change
    assert diff(lower, {}) == [("acme0001", None)]  # removal names the token as the charger holds it
    blocked = {"ACME0001": ListEntry("ACME0001", "Blocked")}
    assert diff(lower, blocked) == [("ACME0001", blocked["ACME0001"])]
    assert apply(lower, DIFFERENTIAL, [("ACME0001", None)]) == {}
    assert apply(lower, DIFFERENTIAL, diff(lower, blocked)) == blocked  # one entry, not two spellings
    assert apply(lower, FULL, [("ACME0001", None)]) == {}
