"""Party dues rules (domain.md §5) with the national defaults seeded by migration 0011: every
bracket boundary, the retired boundary, fixed groups, rounding modes, hardship relief, months
owed across year ends and from acceptance, and the months before and after each flag."""

from __future__ import annotations

import importlib.util
from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest
from hongyun_platform.errors import InvalidArgument
from member_service.domain import dues as d
from member_service.domain import lifecycle_rules as lr

SEED = Path(__file__).parents[2] / "migrations" / "versions" / "20261203_0011_lifecycle_rules.py"


def _national() -> dict:
    spec = importlib.util.spec_from_file_location("lifecycle_seed_dues", SEED)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {key: value for key, value, *_ in module.NATIONAL}


NATIONAL = _national()
CENT = {"step_fen": 1, "mode": "half_up", "min_fen": 1}  # the national default
TENTH_UP = {"step_fen": 10, "mode": "up", "min_fen": 10}  # 向上取整到角，最低0.1元


def fen(yuan: str) -> int:
    whole, _, frac = yuan.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def employed(base: str, rounding=None) -> d.Standard:
    return d.compute_standard(
        d.DuesGroup.EMPLOYED,
        fen(base),
        rate_rule=NATIONAL[lr.DUES_EMPLOYED],
        rounding_rule=rounding or NATIONAL[lr.DUES_AMOUNT_ROUNDING],
    )


def retired(base: str, rounding=None) -> d.Standard:
    return d.compute_standard(
        d.DuesGroup.RETIRED,
        fen(base),
        rate_rule=NATIONAL[lr.DUES_RETIRED],
        rounding_rule=rounding or NATIONAL[lr.DUES_AMOUNT_ROUNDING],
    )


def test_the_seeded_rounding_is_the_cent_half_up_default():
    assert NATIONAL[lr.DUES_AMOUNT_ROUNDING] == CENT


# ---- employed brackets (upper bounds inclusive) ----


@pytest.mark.parametrize(
    ("base", "per_mille", "monthly"),
    [
        ("0.01", 5, "0.01"),  # 0.00005 → below the minimum of 1 fen
        ("2999.99", 5, "15.00"),  # 14.99995 → 15.00
        ("3000.00", 5, "15.00"),  # exactly 3000: still 0.5%
        ("3000.01", 10, "30.00"),  # 30.0001
        ("4999.99", 10, "50.00"),  # 49.9999
        ("5000.00", 10, "50.00"),  # exactly 5000: 1%
        ("5000.01", 15, "75.00"),  # 75.00015
        ("9999.99", 15, "150.00"),  # 149.99985
        ("10000.00", 15, "150.00"),  # exactly 10000: 1.5%
        ("10000.01", 20, "200.00"),  # 200.0002
        ("25000.00", 20, "500.00"),
    ],
)
def test_employed_brackets_at_every_boundary(base, per_mille, monthly):
    s = employed(base)
    assert s.per_mille == per_mille
    assert s.monthly_fen == fen(monthly)
    assert s.rule_key == lr.DUES_EMPLOYED
    assert s.base_fen == fen(base)


def test_the_bracket_bound_and_exact_amount_are_reported():
    s = employed("3000.00")
    assert s.bracket_up_to_yuan == 3000 and s.exact == Fraction(1500)
    assert "3000 元以下（含）" in s.explanation() and "15.00" in s.explanation()
    top = employed("10000.01")
    assert top.bracket_up_to_yuan is None and "最高档" in top.explanation()


def test_a_half_fen_rounds_up_under_half_up():
    # 1001 fen × 0.5% = 5.005 fen → 5; 1100 fen × 0.5% = 5.5 fen → 6
    assert employed("10.01").monthly_fen == 5
    assert employed("11.00").monthly_fen == 6
    assert employed("10.99").monthly_fen == 5  # 5.495


# ---- retired ----


@pytest.mark.parametrize(
    ("base", "per_mille", "monthly"),
    [
        ("4999.99", 5, "25.00"),  # 24.99995
        ("5000.00", 5, "25.00"),  # exactly 5000: 0.5%
        ("5000.01", 10, "50.00"),  # 50.0001
        ("8000.00", 10, "80.00"),
    ],
)
def test_retired_boundary(base, per_mille, monthly):
    s = retired(base)
    assert (s.per_mille, s.monthly_fen, s.rule_key) == (per_mille, fen(monthly), lr.DUES_RETIRED)


# ---- fixed groups ----


@pytest.mark.parametrize("group", ["farmer", "student", "unemployed", "subsistence"])
def test_fixed_groups_pay_the_rule_amount_and_declare_no_base(group):
    g = d.DuesGroup(group)
    rule = {"farmer": 50, "student": 20, "unemployed": 20, "subsistence": 20}
    s = d.compute_standard(g, None, rate_rule=rule, rounding_rule=TENTH_UP)
    assert s.monthly_fen == rule[group] and s.per_mille is None and s.base_fen is None
    assert s.rule_key == lr.DUES_FIXED_MONTHLY_FEN
    assert d.compute_standard(g, 0, rate_rule=rule, rounding_rule=CENT).monthly_fen == rule[group]
    with pytest.raises(InvalidArgument) as e:
        d.compute_standard(g, 100, rate_rule=rule, rounding_rule=CENT)
    assert e.value.code == "dues_base_not_used" and e.value.field == "declared_base"


def test_national_fixed_amount_is_twenty_fen():
    s = d.compute_standard(
        d.DuesGroup.STUDENT, None, rate_rule=NATIONAL[lr.DUES_FIXED_MONTHLY_FEN],
        rounding_rule=CENT,
    )  # fmt: skip
    assert s.monthly_fen == 20 and "0.20" in s.explanation()


# ---- rounding modes ----


@pytest.mark.parametrize(
    ("exact", "rounding", "expected"),
    [
        (Fraction(1499995, 1000), CENT, 1500),
        (Fraction(14994, 10), CENT, 1499),  # 1499.4
        (Fraction(14995, 10), CENT, 1500),  # 1499.5 → up
        (Fraction(1501, 1), TENTH_UP, 1510),  # any part of a 角 goes up
        (Fraction(1500, 1), TENTH_UP, 1500),  # already whole
        (Fraction(15001, 10), TENTH_UP, 1510),  # 1500.1
        (Fraction(1, 2), TENTH_UP, 10),  # minimum 0.1 元
        (Fraction(0), TENTH_UP, 10),
        (Fraction(1504, 1), {"step_fen": 10, "mode": "half_up", "min_fen": 0}, 1500),
        (Fraction(1505, 1), {"step_fen": 10, "mode": "half_up", "min_fen": 0}, 1510),
        (Fraction(3, 10), {"step_fen": 1, "mode": "half_up", "min_fen": 0}, 0),
    ],
)
def test_rounding_modes(exact, rounding, expected):
    assert d.Rounding.from_rule(rounding).apply(exact) == expected


def test_rounding_rule_applies_to_the_computed_amount():
    assert employed("2999.99", TENTH_UP).monthly_fen == 1500  # 1499.995 → 1500
    assert employed("3000.01", TENTH_UP).monthly_fen == 3010  # 3000.01 → 3010
    assert employed("0.01", TENTH_UP).monthly_fen == 10


# ---- bad input ----


@pytest.mark.parametrize("base", [None, 0, -1, -300000])
def test_a_rated_group_needs_a_positive_base(base):
    with pytest.raises(InvalidArgument) as e:
        d.compute_standard(d.DuesGroup.EMPLOYED, base, rate_rule=NATIONAL[lr.DUES_EMPLOYED],
                           rounding_rule=CENT)  # fmt: skip
    assert e.value.code == "dues_invalid_base" and e.value.field == "declared_base"


def test_an_absurd_base_is_refused():
    with pytest.raises(InvalidArgument):
        d.compute_standard(d.DuesGroup.EMPLOYED, d.MAX_BASE_FEN + 1,
                           rate_rule=NATIONAL[lr.DUES_EMPLOYED], rounding_rule=CENT)  # fmt: skip


@pytest.mark.parametrize("value", ["", "worker", "EMPLOYED", "farmers"])
def test_unknown_groups_are_refused(value):
    with pytest.raises(InvalidArgument) as e:
        d.parse_group(value)
    assert e.value.code == "dues_unknown_group" and e.value.field == "group"


@pytest.mark.parametrize(
    "value", ["2026-13", "2026-00", "2026-1", "26-01", "2026/01", "x", "1899-12"]
)
def test_bad_months_are_refused(value):
    with pytest.raises(InvalidArgument) as e:
        d.parse_month(value, "month")
    assert e.value.code == "invalid_month"


def test_months_parse_and_format():
    assert d.parse_month("2026-02", "m") == date(2026, 2, 1)
    assert d.parse_month("", "m") is None
    assert d.fmt_month(date(2026, 2, 1)) == "2026-02"
    assert d.yuan(1500) == "15.00" and d.yuan(5) == "0.05" and d.yuan(0) == "0.00"


# ---- standards over time and hardship relief ----

JAN, FEB, MAR, APR = (date(2026, m, 1) for m in (1, 2, 3, 4))
STANDARDS = [d.StandardPeriod(FEB, 1500), d.StandardPeriod(APR, 3000)]


def test_the_standard_in_force_is_the_latest_started():
    assert d.standard_for(MAR, STANDARDS).monthly_fen == 1500
    assert d.standard_for(APR, STANDARDS).monthly_fen == 3000
    assert d.standard_for(date(2027, 1, 1), STANDARDS).monthly_fen == 3000
    assert d.standard_for(JAN, STANDARDS).monthly_fen == 1500  # before the first: the first
    assert d.standard_for(JAN, []) is None


def test_hardship_reduces_or_waives_the_months_it_covers():
    reduced = d.Relief(FEB, MAR, waived=False, reduced_fen=200)
    waived = d.Relief(APR, APR, waived=True)
    assert d.due_for(JAN, STANDARDS, [reduced, waived]) == 1500
    assert d.due_for(FEB, STANDARDS, [reduced, waived]) == 200
    assert d.due_for(MAR, STANDARDS, [reduced, waived]) == 200
    assert d.due_for(APR, STANDARDS, [reduced, waived]) == 0
    assert d.due_for(date(2026, 5, 1), STANDARDS, [reduced, waived]) == 3000
    assert d.amount_due(d.months_between(JAN, date(2026, 5, 1)), STANDARDS,
                        [reduced, waived]) == 1500 + 200 + 200 + 0 + 3000  # fmt: skip


# ---- the account ----


def test_dues_start_from_acceptance_or_the_first_standard():
    # A probationary member accepted on 2026-03-15 pays from March.
    assert d.start_month(date(2026, 3, 15), FEB) == MAR
    assert d.start_month(date(2026, 3, 31), MAR) == MAR
    # Joined long before the platform knew an amount: from the first standard.
    assert d.start_month(date(2005, 7, 1), APR) == APR
    assert d.start_month(None, APR) == APR
    assert d.nothing_paid(JAN) == date(2025, 12, 1)


@pytest.mark.parametrize(
    ("paid_through", "today", "owed"),
    [
        (date(2026, 3, 1), date(2026, 3, 31), 0),  # paid up to the current month
        (date(2026, 4, 1), date(2026, 3, 5), 0),  # paid ahead
        (date(2026, 2, 1), date(2026, 3, 1), 1),  # the current month is owed from its first day
        (date(2025, 11, 1), date(2026, 1, 31), 2),  # across the year end: Dec, Jan
        (date(2025, 12, 1), date(2026, 1, 1), 1),
        (date(2024, 12, 1), date(2026, 2, 28), 14),
    ],
)
def test_months_owed_across_year_ends(paid_through, today, owed):
    assert d.months_owed(paid_through, today) == owed
    assert len(d.owed_months(paid_through, today)) == owed


def test_months_owed_from_acceptance_when_nothing_is_paid():
    start = d.start_month(date(2025, 11, 20), date(2025, 11, 1))  # accepted 2025-11-20
    pt = d.nothing_paid(start)
    assert d.months_owed(pt, date(2025, 10, 31)) == 0  # before acceptance
    assert d.months_owed(pt, date(2025, 11, 20)) == 1
    assert d.owed_months(pt, date(2026, 1, 2)) == [date(2025, 11, 1), date(2025, 12, 1),
                                                   date(2026, 1, 1)]  # fmt: skip


def test_paid_through_moves_over_settled_months_without_gaps():
    settled = [date(2026, 1, 1), date(2026, 2, 1), date(2026, 4, 1)]
    assert d.advance(date(2025, 12, 1), settled) == date(2026, 2, 1)  # March is a gap
    assert d.advance(date(2026, 3, 1), settled) == date(2026, 4, 1)
    assert d.advance(date(2025, 10, 1), settled) == date(2025, 10, 1)


# ---- flags (3 and 6 months; 6 = 党章第九条) ----

THRESHOLDS = d.flag_thresholds(NATIONAL[lr.DUES_ARREARS_MONTHS])


def test_thresholds_come_smallest_first():
    assert THRESHOLDS == [3, 6]


@pytest.mark.parametrize(
    ("today", "owed", "send"),
    [
        (date(2026, 8, 31), 2, None),  # the month before the 3-month flag
        (date(2026, 9, 1), 3, 3),  # paid through June: Jul, Aug, Sep owed
        (date(2026, 10, 1), 4, 3),  # the month after, if not yet sent
        (date(2026, 11, 30), 5, 3),  # the month before the 6-month flag
        (date(2026, 12, 1), 6, 6),  # Jul..Dec: 自行脱党 risk
        (date(2027, 1, 1), 7, 6),  # the month after
    ],
)
def test_flags_at_each_threshold_and_around_it(today, owed, send):
    paid_through = date(2026, 6, 1)
    assert d.months_owed(paid_through, today) == owed
    assert d.flags_due(owed, THRESHOLDS, done=[]).send == send


def test_each_flag_once_and_the_highest_only_when_both_are_reached():
    assert d.flags_due(4, THRESHOLDS, done=[3]) == d.FlagDecision(None)
    assert d.flags_due(6, THRESHOLDS, done=[3]) == d.FlagDecision(6)
    assert d.flags_due(6, THRESHOLDS, done=[3, 6]) == d.FlagDecision(None)
    # First seen 8 months behind: one event (6), the overtaken 3 recorded unsent.
    assert d.flags_due(8, THRESHOLDS, done=[]) == d.FlagDecision(6, [3])


def test_the_day_a_threshold_is_reached():
    assert d.reached_on(date(2026, 6, 1), 3) == date(2026, 9, 1)
    assert d.reached_on(date(2025, 10, 1), 6) == date(2026, 4, 1)  # across the year end


# ---- how far ahead ----


def test_months_too_far_ahead_are_refused_naming_the_rule():
    today = date(2026, 12, 15)
    d.check_not_too_far(date(2027, 12, 1), today, 12, "last_month", "平台默认")
    with pytest.raises(InvalidArgument) as e:
        d.check_not_too_far(date(2028, 1, 1), today, 12, "last_month", "平台默认")
    assert e.value.code == "dues_month_too_far" and d.DUES_MAX_MONTHS_AHEAD in e.value.message
    assert e.value.field == "last_month"


def test_a_range_must_not_run_backwards():
    assert d.check_range(JAN, MAR, "a", "b") == [JAN, FEB, MAR]
    with pytest.raises(InvalidArgument) as e:
        d.check_range(MAR, JAN, "first_month", "last_month")
    assert e.value.field == "last_month"


# ---- the migration agrees with the domain ----

MIGRATION = Path(__file__).parents[2] / "migrations" / "versions" / "20261203_0014_dues.py"


def _migration():
    spec = importlib.util.spec_from_file_location("dues_migration", MIGRATION)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_trigger_pays_for_the_same_statuses_as_the_domain():
    assert tuple(int(s) for s in d.PAYING_STATUSES) == _migration().PAYING
