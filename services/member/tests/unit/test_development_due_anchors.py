"""The anchor bounds of development_due.py: "deadline on or before D" is exactly "anchor on or
before last_anchor(D)" for each kind, across month ends and leap days (checked day by day against
domain.development.due_on)."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from member_service.development_due import KINDS, last_anchor
from member_service.domain import development as dev
from member_service.domain import lifecycle_rules as lr
from member_service.domain.rules import EffectiveRule, RuleSource

SEED = Path(__file__).parents[2] / "migrations" / "versions" / "20261203_0011_lifecycle_rules.py"


def _national() -> dict[str, EffectiveRule]:
    spec = importlib.util.spec_from_file_location("lifecycle_seed_due", SEED)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {
        key: EffectiveRule(key, value, citation, since, note, RuleSource.NATIONAL, None, None)
        for key, value, citation, since, note in module.NATIONAL
    }


NATIONAL = _national()
ODD = {**NATIONAL}
for key, value in ((lr.DEV_TALK_WITHIN_MONTHS, 2), (lr.DEV_PROBATION_MONTHS, 1),
                   (lr.DEV_CONVERSION_APPLY_BEFORE_MONTHS, 6)):  # fmt: skip
    ODD[key] = replace(ODD[key], value=value)


@pytest.mark.parametrize("rules", [NATIONAL, ODD], ids=["national", "odd"])
@pytest.mark.parametrize("kind", KINDS)
def test_last_anchor_is_the_exact_bound(kind, rules):
    start = date(2023, 11, 20)
    for offset in range(0, 130, 1):
        day = start + timedelta(days=offset)
        a = last_anchor(kind, day, rules)
        assert dev.due_on(kind, a, rules) <= day
        assert dev.due_on(kind, a + timedelta(days=1), rules) > day
