"""Which rule applies: own override, then the nearest ancestor tenant's, then the national default,
each as of a day; and what an override may look like."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from hongyun_platform.errors import InvalidArgument, NotFound
from member_service.domain import rules as r

PROVINCE, CITY, COUNTY, OTHER = (uuid.uuid4() for _ in range(4))
CHAIN = [COUNTY, CITY, PROVINCE]  # own tenant first
KEY = r.BRANCH_MAX_MEMBERS


def row(tenant, value, since: str, citation: str = "", key: str = KEY) -> r.RuleRow:
    return r.RuleRow(key, tenant, value, citation or f"cite {value}", date.fromisoformat(since))


NATIONAL = row(None, 50, "2018-11-25", "支部工作条例 第四条")


def test_national_default_applies_without_overrides():
    e = r.resolve(KEY, [NATIONAL], CHAIN, date(2026, 1, 1))
    assert (e.value, e.source, e.overridden) == (50, r.RuleSource.NATIONAL, False)
    assert e.citation == "支部工作条例 第四条" and e.source_tenant_id is None


def test_child_inherits_the_nearest_ancestor_override():
    rows = [NATIONAL, row(PROVINCE, 60, "2020-01-01"), row(CITY, 55, "2021-01-01")]
    e = r.resolve(KEY, rows, CHAIN, date(2026, 1, 1))
    assert (e.value, e.source, e.source_tenant_id) == (55, r.RuleSource.INHERITED, CITY)
    assert e.overridden and e.national == NATIONAL


def test_own_override_wins_even_when_older_than_the_ancestors():
    rows = [NATIONAL, row(PROVINCE, 60, "2025-01-01"), row(COUNTY, 45, "2019-01-01")]
    e = r.resolve(KEY, rows, CHAIN, date(2026, 1, 1))
    assert (e.value, e.source) == (45, r.RuleSource.TENANT)


def test_overrides_apply_from_their_date_only():
    rows = [NATIONAL, row(CITY, 55, "2026-07-01")]
    before = r.resolve(KEY, rows, CHAIN, date(2026, 6, 30))
    on = r.resolve(KEY, rows, CHAIN, date(2026, 7, 1))
    assert (before.value, before.source) == (50, r.RuleSource.NATIONAL)
    assert (on.value, on.source) == (55, r.RuleSource.INHERITED)


def test_latest_version_of_the_same_tenant_applies():
    rows = [NATIONAL, row(COUNTY, 40, "2020-01-01"), row(COUNTY, 42, "2024-01-01")]
    assert r.resolve(KEY, rows, CHAIN, date(2023, 12, 31)).value == 40
    assert r.resolve(KEY, rows, CHAIN, date(2024, 1, 1)).value == 42


def test_sibling_and_unrelated_overrides_are_ignored():
    rows = [NATIONAL, row(OTHER, 10, "2020-01-01")]
    assert r.resolve(KEY, rows, CHAIN, date(2026, 1, 1)).value == 50


def test_no_national_default_is_an_error_not_a_fallback():
    with pytest.raises(r.RuleMissing) as e:
        r.resolve(KEY, [], CHAIN, date(2026, 1, 1))
    assert e.value.code == "rule_missing"
    with pytest.raises(r.RuleMissing):  # nothing in force yet on that day
        r.resolve(KEY, [NATIONAL], CHAIN, date(2018, 11, 24))


def test_resolve_all_keeps_keys_apart():
    rows = [NATIONAL, row(None, 3, "2018-11-25", key=r.BRANCH_MIN_FULL_MEMBERS)]
    got = r.resolve_all([KEY, r.BRANCH_MIN_FULL_MEMBERS], rows, CHAIN, date(2026, 1, 1))
    assert got[KEY].value == 50 and got[r.BRANCH_MIN_FULL_MEMBERS].value == 3


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        (r.BRANCH_MIN_FULL_MEMBERS, "3", 3),
        (r.BRANCH_COMMITTEE_SIZE, '{"min":3,"max":5,"hard_max":7}', {"min": 3, "max": 5, "hard_max": 7}),
        (r.COMMITTEE_TERM_YEARS, '{"village_community":5,"other":3}', {"village_community": 5, "other": 3}),
        (r.COMMITTEE_TERM_REMINDER_MONTHS, "[1, 6, 3]", [6, 3, 1]),
    ],
)  # fmt: skip
def test_valid_override_values_are_normalised(key, raw, expected):
    assert r.parse_value(key, raw) == expected


@pytest.mark.parametrize(
    ("key", "raw"),
    [
        (r.BRANCH_MIN_FULL_MEMBERS, "0"),
        (r.BRANCH_MIN_FULL_MEMBERS, "true"),
        (r.BRANCH_MIN_FULL_MEMBERS, '"3"'),
        (r.BRANCH_MIN_FULL_MEMBERS, "3.5"),
        (r.BRANCH_MIN_FULL_MEMBERS, "not json"),
        (r.BRANCH_COMMITTEE_SIZE, '{"min":5,"max":3,"hard_max":7}'),
        (r.BRANCH_COMMITTEE_SIZE, '{"min":3,"max":5}'),
        (r.COMMITTEE_TERM_YEARS, '{"village_community":5,"other":3,"x":1}'),
        (r.COMMITTEE_TERM_REMINDER_MONTHS, "[]"),
        (r.COMMITTEE_TERM_REMINDER_MONTHS, "[6, 6]"),
        (r.COMMITTEE_TERM_REMINDER_MONTHS, "[0]"),
    ],
)
def test_malformed_override_values_are_refused(key, raw):
    with pytest.raises(InvalidArgument) as e:
        r.parse_value(key, raw)
    assert e.value.code == "invalid_rule_value" and e.value.field == "value"


def test_unknown_key_is_not_found():
    with pytest.raises(NotFound):
        r.parse_value("org.nope", "1")


def test_every_spec_has_titles_in_both_languages():
    for spec in r.SPECS.values():
        assert spec.title_zh and spec.title_en and spec.key.count(".") >= 2
