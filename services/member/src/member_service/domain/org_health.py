"""Branch rules as warnings for the secretary (never errors: the records stay as they are).

Every warning names the rule that raised it, the value that applies to the tenant and its
citation, so a secretary can see why, and an organisation department can see where its own
override differs from the national default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from member_service.domain import rules as r
from member_service.domain.committee_terms import Term
from member_service.domain.org_history import BRANCH_TYPES, ELECTS_COMMITTEE


@dataclass(frozen=True)
class Counts:
    full_members: int  # 正式党员 with party status 正常, in the organisation's subtree
    members: int  # all members with party status 正常, in the subtree


@dataclass(frozen=True)
class HealthWarning:
    code: str
    rule: r.EffectiveRule
    message_zh: str
    message_en: str


def rules_needed(org_type: int) -> tuple[str, ...]:
    keys: tuple[str, ...] = ()
    if org_type in BRANCH_TYPES:
        keys += (
            r.BRANCH_MIN_FULL_MEMBERS,
            r.BRANCH_COMMITTEE_MIN_FULL_MEMBERS,
            r.BRANCH_COMMITTEE_SIZE,
            r.BRANCH_MAX_MEMBERS,
        )
    if org_type in ELECTS_COMMITTEE:
        keys += (r.COMMITTEE_TERM_YEARS,)
    return keys


def warnings(
    *,
    org_type: int,
    counts: Counts,
    latest_term: Term | None,
    rules: Mapping[str, r.EffectiveRule],
    today: date,
) -> list[HealthWarning]:
    """`latest_term`: the term with the latest start on or before today, if any."""
    out: list[HealthWarning] = []
    current = latest_term if latest_term and latest_term.current_on(today) else None
    expired = latest_term is not None and current is None

    if org_type in ELECTS_COMMITTEE and expired:
        assert latest_term is not None
        end = latest_term.ends_on.isoformat()
        out.append(
            HealthWarning(
                "committee_term_expired",
                rules[r.COMMITTEE_TERM_YEARS],
                f"委员会任期已于 {end} 届满，应按期换届",
                f"The committee's term ended on {end}; an election (换届) is due",
            )
        )
    if org_type not in BRANCH_TYPES:
        return out

    full, total = counts.full_members, counts.members
    least = rules[r.BRANCH_MIN_FULL_MEMBERS]
    if full < least.value:
        out.append(
            HealthWarning(
                "branch_too_few_full_members",
                least,
                f"正式党员 {full} 名，少于成立党支部所需的 {least.value} 名",
                f"{full} full members, fewer than the {least.value} a branch needs",
            )
        )
    committee_from = rules[r.BRANCH_COMMITTEE_MIN_FULL_MEMBERS]
    if full >= committee_from.value and latest_term is None:
        out.append(
            HealthWarning(
                "branch_committee_missing",
                committee_from,
                f"正式党员 {full} 名（{committee_from.value} 名以上），应设立支部委员会，"
                "但没有登记委员会任期",
                f"{full} full members ({committee_from.value} or more): the branch should "
                "elect a committee, but no committee term is recorded",
            )
        )
    most = rules[r.BRANCH_MAX_MEMBERS]
    if total > most.value:
        out.append(
            HealthWarning(
                "branch_too_many_members",
                most,
                f"党员 {total} 名，超过党支部一般不超过的 {most.value} 名",
                f"{total} members, more than the {most.value} a branch should have",
            )
        )
    size = rules[r.BRANCH_COMMITTEE_SIZE]
    seats = current.committee_members if current else None
    if seats is not None and not size.value["min"] <= seats <= size.value["hard_max"]:
        lo, hi, cap = size.value["min"], size.value["max"], size.value["hard_max"]
        out.append(
            HealthWarning(
                "committee_size_out_of_range",
                size,
                f"支部委员会 {seats} 人，应为 {lo} 至 {hi} 人，最多不超过 {cap} 人",
                f"The committee has {seats} members; it should have {lo} to {hi}, at most {cap}",
            )
        )
    return out
