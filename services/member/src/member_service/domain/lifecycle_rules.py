"""Rule keys and value shapes of the member lifecycle: development (发展党员), relationship
transfers (组织关系转接), dues (党费) and the working-day calendar (docs/adr/0014).

Only keys and shapes live here; the national defaults with their citations are rows seeded by
migration 20261203_0011 and overridable per tenant (docs/adr/0007).
"""

from __future__ import annotations

from member_service.domain.rule_shapes import (
    RuleSpec,
    adjusted_days,
    brackets,
    distinct_ints,
    int_fields,
    int_in,
    ordered_fields,
    rounding,
)

# ---- development (domain.md §3) ----
DEV_MIN_AGE_YEARS = "dev.application.min_age_years"
DEV_TALK_WITHIN_MONTHS = "dev.application.talk_within_months"
DEV_ACTIVIST_MIN_MONTHS_AFTER_APPLICATION = "dev.activist.min_months_after_application"
DEV_ACTIVIST_CONTACTS = "dev.activist.contacts"
DEV_ACTIVIST_REVIEW_MONTHS = "dev.activist.review_months"
DEV_CANDIDATE_MIN_ACTIVIST_MONTHS = "dev.candidate.min_activist_months"
DEV_INTRODUCERS = "dev.candidate.introducers"
DEV_TRAINING_MIN = "dev.candidate.training_min"
DEV_POLITICAL_REVIEW_VALID_MONTHS = "dev.candidate.political_review_valid_months"
DEV_PUBLICITY_MIN_WORKING_DAYS = "dev.admission.publicity_min_working_days"
DEV_BRANCH_VOTE = "dev.branch_meeting.vote"
DEV_APPROVAL_MONTHS = "dev.admission.approval_months"
DEV_PROBATION_MONTHS = "dev.probation.months"
DEV_PROBATION_EXTENSION = "dev.probation.extension"
DEV_CONVERSION_APPLY_BEFORE_MONTHS = "dev.conversion.apply_before_months"
DEV_REMINDER_DAYS = "dev.reminder.days_before"

# ---- relationship transfers (domain.md §6) ----
TRANSFER_LETTER_VALID_DAYS = "transfer.letter.valid_days"
TRANSFER_EXPIRY_REMINDER_DAYS = "transfer.letter.expiry_reminder_days"

# ---- dues (domain.md §5) ----
DUES_EMPLOYED = "dues.rate.employed"
DUES_RETIRED = "dues.rate.retired"
DUES_FIXED_MONTHLY_FEN = "dues.rate.fixed_monthly_fen"
DUES_AMOUNT_ROUNDING = "dues.amount.rounding"
DUES_ARREARS_MONTHS = "dues.arrears.flag_months"
DUES_MAX_MONTHS_AHEAD = "dues.payment.max_months_ahead"

# ---- calendar ----
CALENDAR_ADJUSTED_DAYS = "calendar.working_days.adjustments"

LETTER_SCOPES = ("within_tenant", "cross_tenant", "out_of_platform")
FIXED_DUES_GROUPS = ("farmer", "student", "unemployed", "subsistence")

SPECS: tuple[RuleSpec, ...] = (
    RuleSpec(DEV_MIN_AGE_YEARS, "申请入党最低年龄（周岁）", "Minimum age at application (years)",
             int_in(14, 30)),
    RuleSpec(DEV_TALK_WITHIN_MONTHS, "收到入党申请后派人谈话期限（月）",
             "Months within which the branch talks with an applicant", int_in(1, 12)),
    RuleSpec(DEV_ACTIVIST_MIN_MONTHS_AFTER_APPLICATION, "递交申请至确定积极分子的最短时间（月）",
             "Months from application before someone may become an activist", int_in(0, 60)),
    RuleSpec(DEV_ACTIVIST_CONTACTS, "培养联系人人数", "Number of contact persons (培养联系人)",
             ordered_fields(("min", "max"), 1, 5, ("min", "max"))),
    RuleSpec(DEV_ACTIVIST_REVIEW_MONTHS, "积极分子考察间隔（月）",
             "Months between reviews of an activist", int_in(1, 24)),
    RuleSpec(DEV_CANDIDATE_MIN_ACTIVIST_MONTHS, "积极分子列为发展对象前的最短培养时间（月）",
             "Months as activist before becoming a development candidate", int_in(1, 60)),
    RuleSpec(DEV_INTRODUCERS, "入党介绍人人数", "Number of introducers (入党介绍人)", int_in(1, 5)),
    RuleSpec(DEV_TRAINING_MIN, "发展对象集中培训最低要求（天或学时）",
             "Minimum short-term training: days or class hours",
             int_fields(("days", "class_hours"), 1, 200)),
    RuleSpec(DEV_POLITICAL_REVIEW_VALID_MONTHS, "政治审查结论有效期（月）",
             "Months a political review stays valid", int_in(1, 60)),
    RuleSpec(DEV_PUBLICITY_MIN_WORKING_DAYS, "发展对象公示最少工作日",
             "Minimum working days of public notice before admission", int_in(1, 30)),
    RuleSpec(DEV_BRANCH_VOTE, "支部大会表决：到会与赞成须超过的比例（%）",
             "Branch meeting vote: percent of voting members that attendance and yes votes must exceed",
             int_fields(("quorum_over_pct", "approve_over_pct"), 1, 99)),
    RuleSpec(DEV_APPROVAL_MONTHS, "上级党委审批期限（一般/最长，月）",
             "Months for the higher committee's approval: usual and at most",
             ordered_fields(("usual", "max"), 1, 24, ("usual", "max"))),
    RuleSpec(DEV_PROBATION_MONTHS, "预备期（月）", "Probation (months)", int_in(1, 60)),
    RuleSpec(DEV_PROBATION_EXTENSION, "延长预备期：最短/最长月数与次数",
             "Probation extension: fewest and most months, and how many times",
             ordered_fields(("min_months", "max_months", "times"), 0, 36,
                            ("min_months", "max_months"))),
    RuleSpec(DEV_CONVERSION_APPLY_BEFORE_MONTHS, "预备期满前提出转正申请的提前量（月）",
             "Months before probation ends to ask for conversion", int_in(0, 6)),
    RuleSpec(DEV_REMINDER_DAYS, "发展步骤到期提醒提前天数", "Days before a step's deadline to remind",
             distinct_ints(1, 180, 6, "day counts")),
    RuleSpec(TRANSFER_LETTER_VALID_DAYS, "组织关系介绍信有效期（天）",
             "Days an introduction letter stays valid, by scope",
             int_fields(LETTER_SCOPES, 1, 366)),
    RuleSpec(TRANSFER_EXPIRY_REMINDER_DAYS, "介绍信到期提醒提前天数",
             "Days before a letter expires to remind", int_in(1, 60)),
    RuleSpec(DUES_EMPLOYED, "在职党员党费比例（按税后月工资收入）",
             "Dues of employed members: per-mille of monthly after-tax wage by bracket", brackets),
    RuleSpec(DUES_RETIRED, "离退休党员党费比例（按月养老金）",
             "Dues of retired members: per-mille of monthly pension by bracket", brackets),
    RuleSpec(DUES_FIXED_MONTHLY_FEN, "农民、学生、下岗失业、低保党员每月党费（分）",
             "Fixed monthly dues in fen: farmers, students, unemployed, subsistence",
             int_fields(FIXED_DUES_GROUPS, 0, 10_000)),
    RuleSpec(DUES_AMOUNT_ROUNDING, "党费金额取整方式", "Rounding of a monthly dues amount", rounding),
    RuleSpec(DUES_ARREARS_MONTHS, "欠缴党费提醒月数", "Months of arrears that raise a flag",
             distinct_ints(1, 24, 6, "month counts")),
    RuleSpec(DUES_MAX_MONTHS_AHEAD, "最多可提前登记的月数（预交党费、标准、减免）",
             "Months ahead that payments, standards and hardship decisions may be recorded",
             int_in(0, 120)),
    RuleSpec(CALENDAR_ADJUSTED_DAYS, "法定节假日与调休工作日",
             "Public holidays and make-up working days (调休)", adjusted_days),
)  # fmt: skip
