"""The national defaults seeded for the member lifecycle are valid values of their rule shapes,
every lifecycle rule has one with a citation, and malformed overrides are refused."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from hongyun_platform.errors import InvalidArgument
from member_service.domain import lifecycle_rules as lr
from member_service.domain import rules as r

SEED = Path(__file__).parents[2] / "migrations" / "versions" / "20261203_0011_lifecycle_rules.py"


def _seed_rows() -> list[tuple]:
    spec = importlib.util.spec_from_file_location("lifecycle_seed", SEED)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.NATIONAL


def test_every_lifecycle_rule_is_seeded_once_with_a_valid_value_and_citation():
    rows = _seed_rows()
    keys = [key for key, *_ in rows]
    assert sorted(keys) == sorted(s.key for s in lr.SPECS)
    for key, value, citation, _since, _note in rows:
        assert r.parse_value(key, json.dumps(value)) == r.SPECS[key].check(value)
        assert citation.strip(), key


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        (lr.DUES_EMPLOYED, '[{"up_to_yuan": 3000, "per_mille": 5}]', "last bracket open"),
        (
            lr.DUES_EMPLOYED,
            '[{"up_to_yuan": 3000, "per_mille": 5}, {"up_to_yuan": 2000, "per_mille": 5},'
            ' {"up_to_yuan": null, "per_mille": 5}]',
            "rising up_to_yuan",
        ),
        (lr.DUES_AMOUNT_ROUNDING, '{"step_fen": 10, "mode": "down", "min_fen": 0}', "half_up"),
        (lr.DEV_PROBATION_EXTENSION, '{"min_months": 12, "max_months": 6, "times": 1}', "≤"),
        (lr.DEV_ACTIVIST_CONTACTS, '{"min": 1}', "exactly the fields"),
        (
            lr.CALENDAR_ADJUSTED_DAYS,
            '{"holidays": ["2026-10-01"], "workdays": ["2026-10-01"]}',
            "both a holiday and a workday",
        ),
        (lr.CALENDAR_ADJUSTED_DAYS, '{"holidays": ["2026-13-01"], "workdays": []}', "YYYY-MM-DD"),
        (lr.DEV_REMINDER_DAYS, "[7, 7]", "distinct"),
        (
            lr.TRANSFER_LETTER_VALID_DAYS,
            '{"within_tenant": 0, "cross_tenant": 1, "out_of_platform": 1}',
            "from 1 to 366",
        ),
    ],
)
def test_malformed_lifecycle_overrides_are_refused_with_what_is_expected(key, raw, expected):
    with pytest.raises(InvalidArgument) as e:
        r.parse_value(key, raw)
    assert expected in e.value.message


def test_brackets_and_offsets_are_normalised():
    assert r.parse_value(lr.DEV_REMINDER_DAYS, "[7, 30]") == [30, 7]
    days = r.parse_value(
        lr.CALENDAR_ADJUSTED_DAYS, '{"holidays": ["2026-10-02", "2026-10-01"], "workdays": []}'
    )
    assert days == {"holidays": ["2026-10-01", "2026-10-02"], "workdays": []}
