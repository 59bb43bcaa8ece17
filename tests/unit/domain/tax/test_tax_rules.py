"""The rules table: every dated rule list is well-formed and no literals hide elsewhere."""

from __future__ import annotations

import itertools
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

from pipelet_app.domain.tax import rules
from pipelet_app.domain.tax.rules import Rule

RULE_LISTS = {
    name: value
    for name, value in vars(rules).items()
    if isinstance(value, tuple) and value and all(isinstance(r, Rule) for r in value)
}


def test_rule_lists_do_not_overlap_and_have_sources() -> None:
    assert len(RULE_LISTS) >= 15
    for name, items in RULE_LISTS.items():
        ordered = sorted(items, key=lambda r: r.effective_from)
        for rule in ordered:
            assert rule.source, name
            assert rule.effective_to is None or rule.effective_to >= rule.effective_from, name
        for earlier, later in itertools.pairwise(ordered):
            assert earlier.effective_to is not None and earlier.effective_to < later.effective_from, name


def test_bonus_phase_down_is_contiguous_from_2023() -> None:
    ordered = sorted(rules.BONUS_PHASE_DOWN, key=lambda r: r.effective_from)
    for earlier, later in itertools.pairwise(ordered):
        assert earlier.effective_to is not None
        assert (later.effective_from - earlier.effective_to).days == 1
    assert [r.value for r in ordered] == [Decimal(v) for v in ("0.80", "0.60", "0.40", "0.20", "0.00")]


def test_section_30c_rules_end_on_the_deadline() -> None:
    for items in (rules.SECTION_30C_BASE_RATE, rules.SECTION_30C_PWA_RATE, rules.SECTION_30C_CAP_PER_ITEM):
        assert items[-1].effective_to == date(2026, 6, 30)


def test_no_rate_or_date_literals_outside_rules() -> None:
    """Rates and dates of law live in rules.py; other modules may only use 0, 1, 100 and cents."""
    package = Path(rules.__file__).parent
    allowed = {'"0.00"', '"0.01"', '"0"', '"1"', '"100"', '"0.000001"', '"1e-12"', '"-0.99"', '"10"'}
    offenders = []
    for path in package.glob("*.py"):
        if path.name in ("rules.py", "sample.py"):
            continue
        text = path.read_text(encoding="utf-8")
        for literal in re.findall(r'Decimal\(("[^"]*")\)', text):
            if literal not in allowed:
                offenders.append(f"{path.name}: Decimal({literal})")
        offenders.extend(f"{path.name}: {m}" for m in re.findall(r"date\(\d{4}, \d+, \d+\)", text))
    assert offenders == []
