"""Rules as data: every threshold and timing from the regulations is a row in the `rules` table
(a national default with its citation, overridable per tenant), never a constant in code.

This module knows the *shape* of each rule, so that overrides are validated, and how the rule
that applies to a tenant on a day is chosen (docs/adr/0007):

1. the tenant's own row for the key with the latest `effective_from` on or before the day;
2. otherwise the nearest ancestor tenant's such row (a city inherits its province's override);
3. otherwise the national default (tenant_id NULL) with the latest `effective_from`.

Values never appear here: a missing national default is an error, not a fallback.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from hongyun_platform.errors import FailedPrecondition, InvalidArgument, NotFound

from member_service.domain import lifecycle_rules
from member_service.domain.rule_shapes import RuleSpec, distinct_ints, int_fields, int_in

# Keys (identifiers, not values). Member lifecycle keys (development, transfers, dues, calendar)
# live in domain/lifecycle_rules.py.
BRANCH_MIN_FULL_MEMBERS = "org.branch.min_full_members"
BRANCH_COMMITTEE_MIN_FULL_MEMBERS = "org.branch.committee_min_full_members"
BRANCH_COMMITTEE_SIZE = "org.branch.committee_size"
BRANCH_MAX_MEMBERS = "org.branch.max_members"
COMMITTEE_TERM_YEARS = "org.committee.term_years"
COMMITTEE_TERM_REMINDER_MONTHS = "org.committee.term_reminder_months"
LOST_CONTACT_MIN_MONTHS = "member.lost_contact.min_months"

MAX_VALUE_JSON = 4000


class RuleSource(StrEnum):
    NATIONAL = "national"  # the national default applies
    TENANT = "tenant"  # the tenant's own override applies
    INHERITED = "inherited"  # an ancestor tenant's override applies


@dataclass(frozen=True)
class RuleRow:
    key: str
    tenant_id: uuid.UUID | None  # None = national default
    value: Any
    citation: str
    effective_from: date
    note: str = ""
    id: uuid.UUID | None = None
    created_by: str = ""


@dataclass(frozen=True)
class EffectiveRule:
    key: str
    value: Any
    citation: str
    effective_from: date
    note: str
    source: RuleSource
    source_tenant_id: uuid.UUID | None
    national: RuleRow | None  # the national default on the same day, for comparison

    @property
    def overridden(self) -> bool:
        return self.source is not RuleSource.NATIONAL

    def value_json(self) -> str:
        return dump_value(self.value)


class RuleMissing(FailedPrecondition):
    def __init__(self, key: str) -> None:
        super().__init__(
            f"规则 {key} 未配置 (rule {key} has no national default)", code="rule_missing"
        )


def _committee_size(v: Any) -> dict[str, int]:
    out = int_fields(("min", "max", "hard_max"), 1, 50)(v)
    if not out["min"] <= out["max"] <= out["hard_max"]:
        raise ValueError("min ≤ max ≤ hard_max")
    return out


SPECS: dict[str, RuleSpec] = {
    s.key: s
    for s in (
        RuleSpec(
            BRANCH_MIN_FULL_MEMBERS,
            "成立党支部所需最少正式党员数",
            "Fewest full members that form a branch",
            int_in(1, 100),
        ),
        RuleSpec(
            BRANCH_COMMITTEE_MIN_FULL_MEMBERS,
            "设立支部委员会的正式党员数",
            "Full members from which a branch elects a committee",
            int_in(1, 1000),
        ),
        RuleSpec(
            BRANCH_COMMITTEE_SIZE,
            "支部委员会人数（一般/最多）",
            "Branch committee size: usual range and hard maximum",
            _committee_size,
        ),
        RuleSpec(
            BRANCH_MAX_MEMBERS,
            "党支部党员人数上限",
            "Most members one branch should have",
            int_in(1, 10000),
        ),
        RuleSpec(
            COMMITTEE_TERM_YEARS,
            "委员会每届任期（年）",
            "Committee term in years (village/community, other units)",
            int_fields(("village_community", "other"), 1, 10),
        ),
        RuleSpec(
            LOST_CONTACT_MIN_MONTHS,
            "标记失联党员所需的最短失联时间（月）",
            "Months out of contact before a member may be flagged as lost (失联)",
            int_in(1, 36),
        ),
        RuleSpec(
            COMMITTEE_TERM_REMINDER_MONTHS,
            "换届提醒提前月数",
            "Months before a term ends to remind of the election (换届)",
            distinct_ints(1, 36, 6, "month counts"),
        ),
        *lifecycle_rules.SPECS,
    )
}


def spec_for(key: str) -> RuleSpec:
    spec = SPECS.get(key)
    if spec is None:
        raise NotFound(f"规则不存在 (unknown rule key {key!r})", code="rule_not_found", field="key")
    return spec


def parse_value(key: str, raw_json: str) -> Any:
    """A client's JSON for `key`, validated against the rule's shape."""
    spec = spec_for(key)
    if len(raw_json) > MAX_VALUE_JSON:
        raise InvalidArgument(
            "规则取值过长 (value too long)", code="invalid_rule_value", field="value"
        )
    try:
        value = json.loads(raw_json)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(
            "规则取值不是有效的 JSON (value is not valid JSON)",
            code="invalid_rule_value",
            field="value",
        ) from exc
    try:
        return spec.check(value)
    except ValueError as exc:
        raise InvalidArgument(
            f"规则 {key} 的取值应为 {exc} (value of {key} must be {exc})",
            code="invalid_rule_value",
            field="value",
        ) from None


def dump_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


# ---- resolution ----


def _latest(rows: Iterable[RuleRow], as_of: date) -> RuleRow | None:
    best = None
    for r in rows:
        if r.effective_from <= as_of and (best is None or r.effective_from > best.effective_from):
            best = r
    return best


def resolve(
    key: str, rows: Iterable[RuleRow], tenant_chain: Sequence[uuid.UUID], as_of: date
) -> EffectiveRule:
    """The rule for `key` on `as_of` for the first tenant of `tenant_chain` (own tenant first,
    then its parent, up to the top-level tenant). Raises RuleMissing without a national row."""
    mine = [r for r in rows if r.key == key]
    national = _latest((r for r in mine if r.tenant_id is None), as_of)
    for position, tenant_id in enumerate(tenant_chain):
        own = _latest((r for r in mine if r.tenant_id == tenant_id), as_of)
        if own is not None:
            return _effective(
                own, RuleSource.TENANT if position == 0 else RuleSource.INHERITED, national
            )
    if national is None:
        raise RuleMissing(key)
    return _effective(national, RuleSource.NATIONAL, national)


def _effective(row: RuleRow, source: RuleSource, national: RuleRow | None) -> EffectiveRule:
    return EffectiveRule(
        key=row.key,
        value=row.value,
        citation=row.citation,
        effective_from=row.effective_from,
        note=row.note,
        source=source,
        source_tenant_id=row.tenant_id,
        national=national,
    )


def resolve_all(
    keys: Iterable[str], rows: Sequence[RuleRow], tenant_chain: Sequence[uuid.UUID], as_of: date
) -> dict[str, EffectiveRule]:
    return {k: resolve(k, rows, tenant_chain, as_of) for k in keys}
