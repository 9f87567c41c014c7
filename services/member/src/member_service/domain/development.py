"""发展党员: the development pipeline — 5 stages, 25 steps (domain.md §3, docs/adr/0015).

The catalogue of steps is data; every timing and threshold comes from rule data (keys in
domain/lifecycle_rules.py, values and citations from RuleBook). This module is pure:

* `check_step` refuses a step that breaks a rule, naming the rule key and its citation;
* `evaluate` says where a person stands: stage, next step, its deadline, and what blocks it;
* `due_anchor` / `due_deadline` give the one deadline a case is waiting for, computed the same
  way in SQL by development_due.py (anchor date + rule months).

Dates are calendar dates in China. Periods in months use `add_months` (clamped to the month's
end, 《民法典》第二百零一条): a period of N months from day d ends on add_months(d, N), that day
included; "at least N months after d" means on or after add_months(d, N).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import IntEnum, StrEnum

from hongyun_platform.errors import FailedPrecondition, InvalidArgument

from member_service.domain import lifecycle_rules as lr
from member_service.domain.dates import add_months, add_years
from member_service.domain.profile import Category, PartyStatus
from member_service.domain.rules import EffectiveRule
from member_service.domain.working_days import WorkCalendar

# The order of the steps is the structure of the procedure itself (not a tunable value): it has
# a key and a citation like the rules, so a refusal reads the same way, but no row in `rules`.
STEP_ORDER = "dev.steps.order"
STEP_ORDER_CITATION = "《中国共产党发展党员工作细则》第二章至第六章：发展党员须按程序逐步进行"

RULE_KEYS = (
    lr.DEV_MIN_AGE_YEARS,
    lr.DEV_TALK_WITHIN_MONTHS,
    lr.DEV_ACTIVIST_MIN_MONTHS_AFTER_APPLICATION,
    lr.DEV_ACTIVIST_CONTACTS,
    lr.DEV_ACTIVIST_REVIEW_MONTHS,
    lr.DEV_CANDIDATE_MIN_ACTIVIST_MONTHS,
    lr.DEV_INTRODUCERS,
    lr.DEV_TRAINING_MIN,
    lr.DEV_POLITICAL_REVIEW_VALID_MONTHS,
    lr.DEV_PUBLICITY_MIN_WORKING_DAYS,
    lr.DEV_BRANCH_VOTE,
    lr.DEV_APPROVAL_MONTHS,
    lr.DEV_PROBATION_MONTHS,
    lr.DEV_PROBATION_EXTENSION,
    lr.DEV_CONVERSION_APPLY_BEFORE_MONTHS,
    lr.CALENDAR_ADJUSTED_DAYS,
)
Rules = Mapping[str, EffectiveRule]

# ---- the catalogue ----


class Record(StrEnum):
    """What a step records beyond its date, acting body, note and materials."""

    CONTACTS = "contacts"  # 培养联系人: member ids
    INTRODUCERS = "introducers"  # 入党介绍人: member ids
    VOTES = "votes"  # branch meeting vote counts
    PUBLICITY = "publicity"  # 公示 period (first and last day)
    TRAINING = "training"  # days and class hours of training
    DECISION = "decision"  # approved / rejected (a rejection ends the case)


@dataclass(frozen=True)
class Stage:
    number: int
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class StepSpec:
    number: int
    stage: int
    name_zh: str
    name_en: str
    actor_zh: str  # the usual acting body or person
    records: frozenset[Record] = frozenset()
    repeatable: bool = False  # may be recorded again while it is the latest step

    @property
    def label_zh(self) -> str:
        return f"第{self.number}步“{self.name_zh}”"


STAGES: dict[int, Stage] = {
    s.number: s
    for s in (
        Stage(1, "申请入党", "Application"),
        Stage(2, "入党积极分子的确定和培养教育", "Activist: designation and education"),
        Stage(3, "发展对象的确定和考察", "Development candidate: designation and review"),
        Stage(4, "预备党员的接收", "Admission as a probationary member"),
        Stage(5, "预备党员的教育考察和转正", "Probation and conversion"),
    )
}


def _step(
    n: int, stage: int, zh: str, en: str, actor: str, *records: Record, repeatable: bool = False
) -> StepSpec:
    return StepSpec(n, stage, zh, en, actor, frozenset(records), repeatable)


R = Record
STEPS: dict[int, StepSpec] = {
    s.number: s
    for s in (
        _step(1, 1, "递交入党申请书", "Application submitted", "入党申请人"),
        _step(2, 1, "党组织派人谈话", "Talk with the applicant", "党支部"),
        _step(3, 2, "推荐和确定入党积极分子", "Activist recommended and designated", "支部委员会"),
        _step(4, 2, "上级党委备案", "Activist filed with the higher committee", "上级党委"),
        _step(5, 2, "指定培养联系人", "Contact persons appointed", "党支部", R.CONTACTS),
        _step(6, 2, "培养教育考察", "Education and review of the activist", "党支部",
              repeatable=True),
        _step(7, 3, "确定发展对象", "Development candidate designated", "支部委员会"),
        _step(8, 3, "报上级党委备案", "Candidate filed with the higher committee", "上级党委"),
        _step(9, 3, "确定入党介绍人", "Introducers appointed", "党支部", R.INTRODUCERS),
        _step(10, 3, "进行政治审查", "Political review", "党组织", R.DECISION),
        _step(11, 3, "开展集中培训", "Short-term training", "基层党委", R.TRAINING),
        _step(12, 4, "支部委员会审查", "Review by the branch committee", "支部委员会",
              R.PUBLICITY),
        _step(13, 4, "上级党委预审", "Pre-review by the higher committee", "上级党委"),
        _step(14, 4, "填写入党志愿书", "Application form filled in", "发展对象"),
        _step(15, 4, "支部大会讨论", "Branch general meeting on admission", "支部党员大会",
              R.VOTES),
        _step(16, 4, "上级党委派人谈话", "Talk by the higher committee", "上级党委"),
        _step(17, 4, "上级党委审批", "Approval by the higher committee", "上级党委",
              R.DECISION),
        _step(18, 4, "再上一级党委组织部门备案", "Filed with the next higher organisation department",
              "组织部门"),
        _step(19, 5, "编入党支部和党小组", "Assigned to a branch and a group", "党支部"),
        _step(20, 5, "入党宣誓", "Oath of admission", "党支部"),
        _step(21, 5, "继续教育考察", "Continued education and review", "党支部",
              repeatable=True),
        _step(22, 5, "提出转正申请", "Application for conversion", "预备党员"),
        _step(23, 5, "支部大会讨论", "Branch general meeting on conversion", "支部党员大会",
              R.VOTES),
        _step(24, 5, "上级党委审批", "Approval of the conversion", "上级党委", R.DECISION),
        _step(25, 5, "材料归档", "Materials archived", "党支部"),
    )
}  # fmt: skip
LAST_STEP = 25
ADMISSION_MEETING = 15  # the 支部大会 whose date starts probation (党章第七条)
ADMISSION_APPROVAL = 17  # the person becomes a probationary member
CONVERSION_APPLICATION = 22  # applied for again after a probation extension
CONVERSION_APPROVAL = 24  # the person becomes a full member


class CaseStatus(StrEnum):
    OPEN = "open"  # in stages 1-4, not yet a member
    ADMITTED = "admitted"  # step 17 approved: a probationary member
    CONVERTED = "converted"  # step 24 approved: a full member
    CLOSED = "closed"  # ended without conversion (rejected, withdrawn …)


class Decision(StrEnum):
    NONE = ""
    APPROVED = "approved"
    REJECTED = "rejected"


# ---- inputs ----


@dataclass(frozen=True)
class Votes:
    """A branch meeting's vote: `entitled` = voting members who should attend (应到会有表决权的
    正式党员), `present` = those present with a vote; yes/no/abstain among them."""

    entitled: int
    present: int
    yes: int
    no: int = 0
    abstain: int = 0

    def validate(self) -> Votes:
        values = (self.entitled, self.present, self.yes, self.no, self.abstain)
        if any(v < 0 for v in values) or self.entitled < 1:
            raise InvalidArgument(
                "票数不能为负数，应到人数至少为1 (vote counts must not be negative; entitled ≥ 1)",
                code="invalid_votes",
                field="votes",
            )
        if self.present > self.entitled:
            raise InvalidArgument(
                "到会人数超过应到人数 (more present than entitled)",
                code="invalid_votes",
                field="votes.present",
            )
        if self.yes + self.no + self.abstain > self.present:
            raise InvalidArgument(
                "赞成、反对、弃权票合计超过到会人数 (more votes than members present)",
                code="invalid_votes",
                field="votes.yes",
            )
        return self


@dataclass(frozen=True)
class Step:
    """A recorded step, or one about to be recorded."""

    number: int
    on: date
    votes: Votes | None = None
    member_ids: tuple[uuid.UUID, ...] = ()  # contacts (step 5) or introducers (step 9)
    decision: Decision = Decision.NONE
    publicity_from: date | None = None
    publicity_to: date | None = None
    training_days: int = 0
    training_hours_centi: int = 0  # class hours in hundredths (150 = 1.5 学时)

    @property
    def spec(self) -> StepSpec:
        return STEPS[self.number]


@dataclass(frozen=True)
class Training:
    """Training outside step 11's own record: entered by hand or from the learning service."""

    on: date
    days: int = 0
    hours_centi: int = 0


@dataclass(frozen=True)
class Extension:
    on: date  # decided on
    months: int


@dataclass(frozen=True)
class CaseFacts:
    birth_date: date
    status: CaseStatus = CaseStatus.OPEN
    extensions: tuple[Extension, ...] = ()

    @property
    def extension_months(self) -> int:
        return sum(e.months for e in self.extensions)


@dataclass(frozen=True)
class MemberFacts:
    """What a rule needs of a member named as contact person or introducer (same tenant)."""

    category: int
    party_status: int
    name: str = ""

    @property
    def full_member(self) -> bool:
        return self.category == Category.FULL and self.party_status == PartyStatus.NORMAL


# ---- reasons ----


@dataclass(frozen=True)
class Reason:
    """Why a step is refused or blocked: the rule (key + citation) and what it says here."""

    rule_key: str
    citation: str
    zh: str
    en: str
    field: str = ""
    clears_on: date | None = None  # a waiting time that ends by itself on this day

    @property
    def message(self) -> str:
        return (
            f"{self.zh}（规则 {self.rule_key}：{self.citation}）({self.en}; rule {self.rule_key})"
        )


class RuleViolation(FailedPrecondition):
    """A step refused by a rule: code rule_violated, the rule key and citation in the message
    and as attributes (the gRPC transport forwards them as metadata)."""

    code = "rule_violated"

    def __init__(self, reason: Reason, others: Sequence[Reason] = ()):
        super().__init__(reason.message, code="rule_violated", field=reason.field or None)
        self.reason = reason
        self.rule_key = reason.rule_key
        self.citation = reason.citation
        self.reasons = [reason, *others]


def _reason(
    rules: Rules, key: str, zh: str, en: str, field: str = "", clears_on: date | None = None
) -> Reason:
    return Reason(key, rules[key].citation, zh, en, field, clears_on)


def _order(zh: str, en: str, field: str = "number") -> Reason:
    return Reason(STEP_ORDER, STEP_ORDER_CITATION, zh, en, field)


# ---- derived dates ----


def _latest(steps: Sequence[Step], number: int) -> Step | None:
    found = [s for s in steps if s.number == number]
    return found[-1] if found else None


def _first(steps: Sequence[Step], number: int) -> Step | None:
    return next((s for s in steps if s.number == number), None)


def ordered(steps: Sequence[Step]) -> list[Step]:
    """Steps in procedure order (repeats of a step by date)."""
    return sorted(steps, key=lambda s: (s.number, s.on))


def probation_end(meeting_on: date, rules: Rules, extension_months: int = 0) -> date:
    """预备期满之日: N months from the admission meeting (党章第七条), then any extension."""
    end = add_months(meeting_on, int(rules[lr.DEV_PROBATION_MONTHS].value))
    return add_months(end, extension_months) if extension_months else end


def political_review_expires(review_on: date, rules: Rules) -> date:
    """The last day a political review is valid."""
    return add_months(review_on, int(rules[lr.DEV_POLITICAL_REVIEW_VALID_MONTHS].value))


def training_totals(
    steps: Sequence[Step], training: Sequence[Training], up_to: date
) -> tuple[int, int]:
    """(days, class hours in hundredths) of training on or before `up_to`: step 11's own record
    plus training recorded separately (by hand or from the learning service)."""
    days = sum(s.training_days for s in steps if s.number == 11 and s.on <= up_to)
    centi = sum(s.training_hours_centi for s in steps if s.number == 11 and s.on <= up_to)
    days += sum(t.days for t in training if t.on <= up_to)
    centi += sum(t.hours_centi for t in training if t.on <= up_to)
    return days, centi


def training_met(days: int, centi: int, rules: Rules) -> bool:
    need = rules[lr.DEV_TRAINING_MIN].value
    return days >= int(need["days"]) or centi >= int(need["class_hours"]) * 100


def vote_passes(votes: Votes, rules: Rules) -> tuple[bool, bool]:
    """(quorum reached, approved): present and yes must each exceed the rule's percentage of
    the members entitled to vote (细则第二十四条: more than half)."""
    v = rules[lr.DEV_BRANCH_VOTE].value
    quorum = votes.present * 100 > int(v["quorum_over_pct"]) * votes.entitled
    approved = votes.yes * 100 > int(v["approve_over_pct"]) * votes.entitled
    return quorum, approved


# ---- checking a step ----


def validate_step(new: Step, *, today: date) -> None:
    """Shape of a step: what it records and nothing else (InvalidArgument)."""
    spec = STEPS.get(new.number)
    if spec is None:
        raise InvalidArgument(
            "步骤编号应为1–25 (step number must be 1–25)", code="unknown_step", field="number"
        )
    if new.on > today:
        raise InvalidArgument(
            "步骤日期不能晚于今天 (the step's date is in the future)",
            code="future_date",
            field="date",
        )
    records = spec.records

    def refuse_extra(kind: Record, present: bool, fld: str) -> None:
        if present and kind not in records:
            raise InvalidArgument(
                f"{spec.name_zh}不记录该项 ({spec.name_en} does not record {fld})",
                code="not_recorded_by_step",
                field=fld,
            )

    refuse_extra(R.VOTES, new.votes is not None, "votes")
    refuse_extra(
        R.CONTACTS if new.number == 5 else R.INTRODUCERS, bool(new.member_ids), "member_ids"
    )
    refuse_extra(R.DECISION, new.decision != Decision.NONE, "decision")
    refuse_extra(
        R.PUBLICITY, new.publicity_from is not None or new.publicity_to is not None, "publicity"
    )
    refuse_extra(R.TRAINING, bool(new.training_days or new.training_hours_centi), "training")
    if R.VOTES in records:
        if new.votes is None:
            raise InvalidArgument(
                "须记录表决票数 (the vote counts are required)", code="required", field="votes"
            )
        new.votes.validate()
    if (R.CONTACTS in records or R.INTRODUCERS in records) and not new.member_ids:
        raise InvalidArgument(
            "须指定人员 (name the members: member_ids is required)",
            code="required",
            field="member_ids",
        )
    if len(set(new.member_ids)) != len(new.member_ids):
        raise InvalidArgument(
            "人员重复 (a member is named twice)", code="duplicate_member", field="member_ids"
        )
    if R.DECISION in records and new.decision == Decision.NONE:
        raise InvalidArgument(
            "须记录审查或审批结论 (the decision is required)", code="required", field="decision"
        )
    if R.PUBLICITY in records:
        if new.publicity_from is None or new.publicity_to is None:
            raise InvalidArgument(
                "须记录公示起止日期 (the publicity period is required)",
                code="required",
                field="publicity",
            )
        if new.publicity_to < new.publicity_from:
            raise InvalidArgument(
                "公示结束日期早于开始日期 (publicity ends before it starts)",
                code="invalid_date",
                field="publicity",
            )
    if new.training_days < 0 or new.training_hours_centi < 0:
        raise InvalidArgument(
            "培训天数和学时不能为负数 (training must not be negative)",
            code="invalid_training",
            field="training",
        )


def _reapplies(case: CaseFacts, last: Step, new: Step) -> bool:
    """After an extension decided on or after the conversion application, the probationary
    member applies again when the extended probation nears its end (细则第三十二条)."""
    return new.number == CONVERSION_APPLICATION and any(e.on >= last.on for e in case.extensions)


def step_refusals(
    case: CaseFacts,
    steps: Sequence[Step],
    new: Step,
    rules: Rules,
    *,
    members: Mapping[uuid.UUID, MemberFacts] | None = None,
    training: Sequence[Training] = (),
    today: date,
) -> list[Reason]:
    """Every rule the new step breaks ([] = it may be recorded). The step's shape is checked
    first (validate_step raises InvalidArgument)."""
    validate_step(new, today=today)
    steps = ordered(steps)
    last = steps[-1] if steps else None
    spec = new.spec
    if case.status == CaseStatus.CLOSED:
        return [_order("发展程序已结束", "the case is closed", "")]
    if last is None:
        if new.number != 1:
            return [_order(
                "须先记录第1步“递交入党申请书”",
                "step 1, the application, comes first",
            )]  # fmt: skip
    elif new.number == last.number and not spec.repeatable and not _reapplies(case, last, new):
        return [_order(
            f"{spec.label_zh}已记录",
            f"step {new.number} is already recorded",
        )]  # fmt: skip
    elif new.number != last.number and new.number != last.number + 1:
        if new.number <= last.number:
            return [_order(
                f"{spec.label_zh}已记录",
                f"step {new.number} is already recorded",
            )]  # fmt: skip
        missing = STEPS[last.number + 1]
        return [_order(
            f"须先完成{missing.label_zh}",
            f"step {missing.number} ({missing.name_en}) must be recorded first",
        )]  # fmt: skip
    if last is not None and new.on < last.on:
        return [_order(
            f"日期早于上一步（{last.on.isoformat()}）",
            f"the date is before the previous step's ({last.on.isoformat()})",
            "date",
        )]  # fmt: skip

    out: list[Reason] = []
    n = new.number
    approving = new.decision != Decision.REJECTED
    if n == 1:
        years = int(rules[lr.DEV_MIN_AGE_YEARS].value)
        of_age = add_years(case.birth_date, years)
        if new.on < of_age:
            out.append(_reason(
                rules, lr.DEV_MIN_AGE_YEARS,
                f"申请日未满{years}周岁（{of_age.isoformat()}满{years}周岁）",
                f"the applicant is under {years} on the application date "
                f"(turns {years} on {of_age.isoformat()})",
                "date", of_age,
            ))  # fmt: skip
    elif n == 3:
        out += _activist_wait(steps, new.on, rules)
    elif n in (5, 9):
        out += _member_refusals(new, rules, members or {})
    elif n == 7:
        out += _candidate_wait(steps, new.on, rules)
    elif n == 12:
        out += _training_refusals(steps, training, new.on, rules)
        out += _publicity_refusals(new, rules)
    elif n in (15, 23):
        assert new.votes is not None
        quorum, approved = vote_passes(new.votes, rules)
        v = rules[lr.DEV_BRANCH_VOTE].value
        if not quorum:
            out.append(_reason(
                rules, lr.DEV_BRANCH_VOTE,
                f"到会有表决权人数{new.votes.present}未超过应到会人数{new.votes.entitled}的"
                f"{v['quorum_over_pct']}%",
                f"{new.votes.present} present of {new.votes.entitled} entitled does not exceed "
                f"{v['quorum_over_pct']}%",
                "votes.present",
            ))  # fmt: skip
        if not approved:
            out.append(_reason(
                rules, lr.DEV_BRANCH_VOTE,
                f"赞成票{new.votes.yes}未超过应到会有表决权人数{new.votes.entitled}的"
                f"{v['approve_over_pct']}%",
                f"{new.votes.yes} yes of {new.votes.entitled} entitled does not exceed "
                f"{v['approve_over_pct']}%",
                "votes.yes",
            ))  # fmt: skip
    elif n == 17 and approving:
        out += _approval_refusals(steps, new.on, rules)
    elif n == 24 and approving:
        out += _probation_wait(case, steps, new.on, rules)
    return out


def check_step(
    case: CaseFacts,
    steps: Sequence[Step],
    new: Step,
    rules: Rules,
    *,
    members: Mapping[uuid.UUID, MemberFacts] | None = None,
    training: Sequence[Training] = (),
    today: date,
) -> None:
    """Raises InvalidArgument for a malformed step, RuleViolation for one a rule refuses."""
    found = step_refusals(case, steps, new, rules, members=members, training=training, today=today)
    if found:
        raise RuleViolation(found[0], found[1:])


def _member_refusals(
    new: Step, rules: Rules, members: Mapping[uuid.UUID, MemberFacts]
) -> list[Reason]:
    out: list[Reason] = []
    ids = new.member_ids
    if new.number == 5:
        key = lr.DEV_ACTIVIST_CONTACTS
        lo, hi = int(rules[key].value["min"]), int(rules[key].value["max"])
        who_zh, who_en = "培养联系人", "contact persons"
        if not lo <= len(ids) <= hi:
            out.append(_reason(
                rules, key, f"{who_zh}应为{lo}至{hi}名，现为{len(ids)}名",
                f"{lo} to {hi} {who_en} are needed, {len(ids)} given", "member_ids",
            ))  # fmt: skip
    else:
        key = lr.DEV_INTRODUCERS
        need = int(rules[key].value)
        who_zh, who_en = "入党介绍人", "introducers"
        if len(ids) != need:
            out.append(_reason(
                rules, key, f"{who_zh}应为{need}名，现为{len(ids)}名",
                f"exactly {need} {who_en} are needed, {len(ids)} given", "member_ids",
            ))  # fmt: skip
    for mid in ids:
        facts = members.get(mid)
        if facts is None:
            out.append(_reason(
                rules, key, f"{who_zh}{mid}不是本单位党员",
                f"{mid} is not a member of this tenant", "member_ids",
            ))  # fmt: skip
        elif not facts.full_member:
            label = facts.name or str(mid)
            out.append(_reason(
                rules, key, f"{who_zh}{label}不是党籍正常的正式党员（预备党员不能担任）",
                f"{mid} is not a full member in good standing (probationary members may not "
                f"serve as {who_en})",
                "member_ids",
            ))  # fmt: skip
    return out


def _training_refusals(
    steps: Sequence[Step], training: Sequence[Training], day: date, rules: Rules
) -> list[Reason]:
    days, centi = training_totals(steps, training, day)
    if training_met(days, centi, rules):
        return []
    need = rules[lr.DEV_TRAINING_MIN].value
    hours = f"{centi / 100:g}"
    return [_reason(
        rules, lr.DEV_TRAINING_MIN,
        f"集中培训不足：已培训{days}天、{hours}学时，须不少于{need['days']}天或"
        f"{need['class_hours']}学时",
        f"not enough training: {days} days and {hours} class hours so far, at least "
        f"{need['days']} days or {need['class_hours']} class hours are needed",
        "training",
    )]  # fmt: skip


def _publicity_refusals(new: Step, rules: Rules) -> list[Reason]:
    assert new.publicity_from and new.publicity_to
    out = []
    need = int(rules[lr.DEV_PUBLICITY_MIN_WORKING_DAYS].value)
    calendar = WorkCalendar.from_rule(rules[lr.CALENDAR_ADJUSTED_DAYS].value)
    got = calendar.count(new.publicity_from, new.publicity_to)
    if got < need:
        out.append(_reason(
            rules, lr.DEV_PUBLICITY_MIN_WORKING_DAYS,
            f"公示期仅{got}个工作日，须不少于{need}个工作日",
            f"the publicity lasted {got} working days, at least {need} are needed",
            "publicity",
        ))  # fmt: skip
    if new.publicity_to >= new.on:
        out.append(_reason(
            rules, lr.DEV_PUBLICITY_MIN_WORKING_DAYS,
            f"公示须在支部委员会审查前结束（公示至{new.publicity_to.isoformat()}）",
            f"the publicity must end before the committee's review (it ran to "
            f"{new.publicity_to.isoformat()})",
            "publicity",
        ))  # fmt: skip
    return out


def _approval_refusals(steps: Sequence[Step], day: date, rules: Rules) -> list[Reason]:
    out = []
    meeting = _first(steps, ADMISSION_MEETING)
    if meeting:
        most = int(rules[lr.DEV_APPROVAL_MONTHS].value["max"])
        last_day = add_months(meeting.on, most)
        if day > last_day:
            out.append(_reason(
                rules, lr.DEV_APPROVAL_MONTHS,
                f"审批已超过支部大会后{most}个月的最长期限（{last_day.isoformat()}）",
                f"more than {most} months since the branch meeting (the limit was "
                f"{last_day.isoformat()})",
                "date",
            ))  # fmt: skip
    review = _latest(steps, 10)
    if review:
        expires = political_review_expires(review.on, rules)
        if day > expires:
            out.append(_reason(
                rules, lr.DEV_POLITICAL_REVIEW_VALID_MONTHS,
                f"政治审查结论已过有效期（{expires.isoformat()}），须重新审查",
                f"the political review expired on {expires.isoformat()}",
                "date",
            ))  # fmt: skip
    return out


# ---- the outcome of a step ----


def status_after(case: CaseFacts, new: Step) -> CaseStatus:
    """The case's status once `new` is recorded: a rejection ends it, approvals at steps 17 and
    24 admit and convert."""
    if new.decision == Decision.REJECTED:
        return CaseStatus.CLOSED
    if new.number == ADMISSION_APPROVAL:
        return CaseStatus.ADMITTED
    if new.number == CONVERSION_APPROVAL:
        return CaseStatus.CONVERTED
    return case.status


# ---- probation extension ----


def extension_refusals(
    case: CaseFacts, steps: Sequence[Step], ext: Extension, rules: Rules, *, today: date
) -> list[Reason]:
    if ext.on > today:
        raise InvalidArgument(
            "决定日期不能晚于今天 (the decision date is in the future)",
            code="future_date",
            field="date",
        )
    key = lr.DEV_PROBATION_EXTENSION
    v = rules[key].value
    meeting = _first(ordered(steps), ADMISSION_MEETING)
    if case.status != CaseStatus.ADMITTED or meeting is None:
        return [_reason(
            rules, key, "只能延长预备党员的预备期", "only a probationary member's probation may be "
            "extended", "",
        )]  # fmt: skip
    out = []
    times = int(v["times"])
    if len(case.extensions) >= times:
        out.append(_reason(
            rules, key, f"预备期只能延长{times}次，已延长{len(case.extensions)}次",
            f"probation may be extended {times} time(s); it has been extended "
            f"{len(case.extensions)} time(s)",
            "",
        ))  # fmt: skip
    lo, hi = int(v["min_months"]), int(v["max_months"])
    if not lo <= ext.months <= hi:
        out.append(_reason(
            rules, key, f"延长期应为{lo}至{hi}个月", f"an extension lasts {lo} to {hi} months",
            "months",
        ))  # fmt: skip
    end = probation_end(meeting.on, rules, case.extension_months)
    if not meeting.on <= ext.on <= end:
        out.append(_reason(
            rules, key, f"须在预备期内（{meeting.on.isoformat()}至{end.isoformat()}）作出延长决定",
            f"the extension must be decided during the probation ({meeting.on.isoformat()} to "
            f"{end.isoformat()})",
            "date",
        ))  # fmt: skip
    return out


def check_extension(
    case: CaseFacts, steps: Sequence[Step], ext: Extension, rules: Rules, *, today: date
) -> None:
    found = extension_refusals(case, steps, ext, rules, today=today)
    if found:
        raise RuleViolation(found[0], found[1:])


# ---- the deadline a case waits for ----


class DueStep(IntEnum):
    """Which deadline a case is waiting for (stored with its anchor date, see due_anchor).
    The value is the step that is due."""

    NONE = 0
    TALK = 2  # talk with the applicant: application + talk_within_months
    REVIEW = 6  # activist review: step 3 or the last review + review_months
    APPROVAL = 17  # approval: branch meeting + approval_months.usual
    CONVERSION_APPLICATION = 22  # probation end − apply_before_months
    CONVERSION_MEETING = 23  # probation end


DUE_RULE = {
    DueStep.TALK: lr.DEV_TALK_WITHIN_MONTHS,
    DueStep.REVIEW: lr.DEV_ACTIVIST_REVIEW_MONTHS,
    DueStep.APPROVAL: lr.DEV_APPROVAL_MONTHS,
    DueStep.CONVERSION_APPLICATION: lr.DEV_CONVERSION_APPLY_BEFORE_MONTHS,
    DueStep.CONVERSION_MEETING: lr.DEV_PROBATION_MONTHS,
}


def due_anchor(status: CaseStatus, steps: Sequence[Step]) -> tuple[DueStep, date | None]:
    """The deadline the case waits for and the date it counts from (None: nothing due)."""
    steps = ordered(steps)
    if not steps or status in (CaseStatus.CLOSED, CaseStatus.CONVERTED):
        return DueStep.NONE, None
    last = steps[-1].number
    if last == 1:
        return DueStep.TALK, steps[-1].on
    if 3 <= last <= 6:
        review = _latest(steps, 6) or _first(steps, 3)
        assert review is not None
        return DueStep.REVIEW, review.on
    meeting = _first(steps, ADMISSION_MEETING)
    if last in (15, 16) and meeting:
        return DueStep.APPROVAL, meeting.on
    if status == CaseStatus.ADMITTED and meeting:
        if last < 22:
            return DueStep.CONVERSION_APPLICATION, meeting.on
        if last == 22:
            return DueStep.CONVERSION_MEETING, meeting.on
    return DueStep.NONE, None


def due_on(kind: DueStep, anchor: date, rules: Rules, extension_months: int = 0) -> date:
    """The deadline from the anchor date and the rule values (same arithmetic as the SQL of
    development_due.py: PostgreSQL's date + interval clamps to the month's end as well)."""
    if kind == DueStep.TALK:
        return add_months(anchor, int(rules[lr.DEV_TALK_WITHIN_MONTHS].value))
    if kind == DueStep.REVIEW:
        return add_months(anchor, int(rules[lr.DEV_ACTIVIST_REVIEW_MONTHS].value))
    if kind == DueStep.APPROVAL:
        return add_months(anchor, int(rules[lr.DEV_APPROVAL_MONTHS].value["usual"]))
    end = probation_end(anchor, rules, extension_months)
    if kind == DueStep.CONVERSION_APPLICATION:
        return add_months(end, -int(rules[lr.DEV_CONVERSION_APPLY_BEFORE_MONTHS].value))
    if kind == DueStep.CONVERSION_MEETING:
        return end
    raise ValueError(f"nothing is due for {kind!r}")


@dataclass(frozen=True)
class Deadline:
    step: int
    due_on: date
    rule_key: str
    citation: str

    def overdue(self, today: date) -> bool:
        return self.due_on < today


def deadline_of(
    kind: DueStep, anchor: date | None, rules: Rules, extension_months: int = 0
) -> Deadline | None:
    if kind == DueStep.NONE or anchor is None:
        return None
    key = DUE_RULE[kind]
    if kind == DueStep.CONVERSION_MEETING and extension_months:
        key = lr.DEV_PROBATION_EXTENSION
    return Deadline(int(kind), due_on(kind, anchor, rules, extension_months), key,
                    rules[key].citation)  # fmt: skip


# ---- evaluation ----


@dataclass(frozen=True)
class Evaluation:
    status: CaseStatus
    stage: int  # the stage of the latest step (1 before any)
    last_step: int  # 0 before any
    next_step: int | None  # None when the case is closed or complete
    deadline: Deadline | None  # the deadline the case waits for (next step or activist review)
    not_before: date | None  # the earliest day the next step may be recorded, if a wait applies
    blockers: list[Reason] = field(default_factory=list)  # what stops the next step today
    repeatable_step: int | None = None  # the latest step may be recorded again (reviews)
    probation_ends_on: date | None = None
    political_review_expires_on: date | None = None
    training_days: int = 0
    training_hours_centi: int = 0

    def overdue(self, today: date) -> bool:
        return self.deadline is not None and self.deadline.overdue(today)


def evaluate(
    case: CaseFacts,
    steps: Sequence[Step],
    rules: Rules,
    today: date,
    training: Sequence[Training] = (),
) -> Evaluation:
    """Where the person stands today: stage, next step, the deadline and what blocks it."""
    steps = ordered(steps)
    last = steps[-1] if steps else None
    last_n = last.number if last else 0
    stage = STEPS[last_n].stage if last else 1
    meeting = _first(steps, ADMISSION_MEETING)
    admitted = any(
        s.number == ADMISSION_APPROVAL and s.decision == Decision.APPROVED for s in steps
    )
    review = _latest(steps, 10)
    t_days, t_centi = training_totals(steps, training, today)
    done = case.status == CaseStatus.CLOSED or last_n == LAST_STEP
    nxt = None if done else last_n + 1
    deadline = None
    not_before: date | None = None
    blockers: list[Reason] = []
    if nxt is not None:
        kind, anchor = due_anchor(case.status, steps)
        deadline = deadline_of(kind, anchor, rules, case.extension_months)
        blockers = _evaluation_refusals(case, steps, nxt, rules, training, today)
        waits = [r.clears_on for r in blockers if r.clears_on]
        not_before = max(waits) if waits else None
    return Evaluation(
        status=case.status,
        stage=stage,
        last_step=last_n,
        next_step=nxt,
        deadline=deadline,
        not_before=not_before,
        blockers=blockers,
        repeatable_step=last_n if nxt is not None and last and last.spec.repeatable else None,
        probation_ends_on=(
            probation_end(meeting.on, rules, case.extension_months)
            if meeting and admitted
            else None
        ),
        political_review_expires_on=political_review_expires(review.on, rules) if review else None,
        training_days=t_days,
        training_hours_centi=t_centi,
    )


def _evaluation_refusals(
    case: CaseFacts,
    steps: Sequence[Step],
    n: int,
    rules: Rules,
    training: Sequence[Training],
    today: date,
) -> list[Reason]:
    """What the next step `n` would be refused for if it were recorded today (its own records
    aside: votes, introducers and publicity are only known when it is recorded)."""
    if n == 3:
        return _activist_wait(steps, today, rules)
    if n == 7:
        return _candidate_wait(steps, today, rules)
    if n == 12:
        return _training_refusals(steps, training, today, rules)
    if n == 17:
        return _approval_refusals(steps, today, rules)
    if n == 24:
        return _probation_wait(case, steps, today, rules)
    return []


# ---- waiting times ----


def _activist_wait(steps: Sequence[Step], day: date, rules: Rules) -> list[Reason]:
    application = _first(steps, 1)
    if application is None:
        return []
    months = int(rules[lr.DEV_ACTIVIST_MIN_MONTHS_AFTER_APPLICATION].value)
    earliest = add_months(application.on, months)
    if day >= earliest:
        return []
    return [_reason(
        rules, lr.DEV_ACTIVIST_MIN_MONTHS_AFTER_APPLICATION,
        f"递交申请不满{months}个月，{earliest.isoformat()}起方可确定为入党积极分子",
        f"less than {months} months since the application; not before {earliest.isoformat()}",
        "date", earliest,
    )]  # fmt: skip


def _candidate_wait(steps: Sequence[Step], day: date, rules: Rules) -> list[Reason]:
    activist = _first(steps, 3)
    if activist is None:
        return []
    months = int(rules[lr.DEV_CANDIDATE_MIN_ACTIVIST_MONTHS].value)
    earliest = add_months(activist.on, months)
    if day >= earliest:
        return []
    return [_reason(
        rules, lr.DEV_CANDIDATE_MIN_ACTIVIST_MONTHS,
        f"培养考察不满{months}个月，{earliest.isoformat()}起方可确定为发展对象",
        f"less than {months} months as an activist; not before {earliest.isoformat()}",
        "date", earliest,
    )]  # fmt: skip


def _probation_wait(
    case: CaseFacts, steps: Sequence[Step], day: date, rules: Rules
) -> list[Reason]:
    meeting = _first(steps, ADMISSION_MEETING)
    if meeting is None:
        return []
    end = probation_end(meeting.on, rules, case.extension_months)
    if day >= end:
        return []
    key = lr.DEV_PROBATION_EXTENSION if case.extensions else lr.DEV_PROBATION_MONTHS
    return [_reason(
        rules, key,
        f"预备期未满（{end.isoformat()}期满），不能批准转正",
        f"the probation has not ended (it ends on {end.isoformat()})",
        "date", end,
    )]  # fmt: skip


# ---- reminders ----


@dataclass(frozen=True)
class ReminderDecision:
    send: int | None  # the offset (days before) to send now, if any
    skip: tuple[int, ...]  # offsets overtaken by a nearer one: recorded, never sent


def due_reminder(
    due: date, days_before: Sequence[int], *, today: date, done: Sequence[int] | set[int]
) -> ReminderDecision:
    """Which reminder to send for a deadline on `due` (offsets from dev.reminder.days_before).

    A reminder is due from its day until the deadline (the deadline day included); a late run or
    a deadline that appeared late still sends it. When several are due only the nearest to the
    deadline is sent and the earlier ones are skipped, so nobody gets "30 days left" after
    "7 days left". `done`: offsets already sent or skipped for this deadline."""
    if today > due:
        return ReminderDecision(None, ())
    pending = [d for d in days_before if due - timedelta(days=d) <= today and d not in done]
    if not pending:
        return ReminderDecision(None, ())
    send = min(pending)
    return ReminderDecision(send, tuple(sorted((d for d in pending if d != send), reverse=True)))
