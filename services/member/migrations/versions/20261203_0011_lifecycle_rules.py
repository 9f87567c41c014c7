"""Seed the national defaults of the member lifecycle rules (development, relationship transfers,
dues, working-day calendar) with their citations — docs/adr/0014. Keys and value shapes are in
member_service.domain.lifecycle_rules; tenants override them through the rules API.

Citations: 《中国共产党章程》(党章), 《中国共产党发展党员工作细则》(2014, 细则), 中共中央组织部
《关于中国共产党党费收缴、使用和管理的规定》(2008, 党费规定), as quoted in domain.md. Where a rule
is local practice rather than national, the note says so and tenants are expected to override it.

Revision ID: 20261203_0011
Revises: 20261203_0010
Create Date: 2026-12-03
"""

import datetime
import uuid

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "20261203_0011"
down_revision = "20261203_0010"
branch_labels = None
depends_on = None

XIZE = datetime.date(2014, 6, 10)  # 发展党员工作细则 issued
DANGZHANG = datetime.date(2022, 10, 22)  # 党章 as amended by the 20th Congress
DUES = datetime.date(2008, 2, 27)  # 党费规定
ORIGIN = datetime.date(1900, 1, 1)  # local practice or platform default: no national date

# (key, value, citation, effective_from, note)
NATIONAL = [
    ("dev.application.min_age_years", 18,
     "《中国共产党章程》第一条；《中国共产党发展党员工作细则》第五条：年满十八岁",
     DANGZHANG, "按周岁计算（日历算法，2月29日出生者以2月28日为周年日，《民法典》第二百零一条）"),
    ("dev.application.talk_within_months", 1,
     "《中国共产党发展党员工作细则》第七条：党组织收到入党申请书后，应当在一个月内派人同入党申请人谈话",
     XIZE, ""),
    ("dev.activist.min_months_after_application", 0,
     "全国无统一规定（domain.md §3）", ORIGIN,
     "递交申请至确定积极分子的等待期由各地规定（常见为6个月），请按本地规定覆盖"),
    ("dev.activist.contacts", {"min": 1, "max": 2},
     "《中国共产党发展党员工作细则》第十一条：指定一至两名正式党员作为培养联系人", XIZE, ""),
    ("dev.activist.review_months", 6,
     "《中国共产党发展党员工作细则》第十三条：党支部每半年对入党积极分子进行一次考察", XIZE, ""),
    ("dev.candidate.min_activist_months", 12,
     "《中国共产党发展党员工作细则》第十四条：经过一年以上培养教育和考察", XIZE, ""),
    ("dev.candidate.introducers", 2,
     "《中国共产党章程》第五条：发展党员，必须经过党的支部，坚持个别吸收的原则。申请入党的人，要有两名正式党员作介绍人",
     DANGZHANG, ""),
    ("dev.candidate.training_min", {"days": 3, "class_hours": 24},
     "《中国共产党发展党员工作细则》第十九条：集中培训时间一般不少于3天（或不少于24个学时）",
     XIZE, "满足天数或学时之一即可"),
    ("dev.candidate.political_review_valid_months", 12,
     "《中国共产党发展党员工作细则》第十八条（政治审查）；有效期为各地规定", ORIGIN,
     "政审结论有效期由各地规定（常见为1年），请按本地规定覆盖"),
    ("dev.admission.publicity_min_working_days", 5,
     "《中国共产党发展党员工作细则》第二十一条（发展对象公示）", XIZE,
     "公示期各地为5至7个工作日不等"),
    ("dev.branch_meeting.vote", {"quorum_over_pct": 50, "approve_over_pct": 50},
     "《中国共产党发展党员工作细则》第二十四条：有表决权的到会人数必须超过应到会有表决权人数的半数；"
     "赞成人数超过应到会有表决权的正式党员的半数",
     XIZE, "一次只讨论一名发展对象"),
    ("dev.admission.approval_months", {"usual": 3, "max": 6},
     "《中国共产党发展党员工作细则》第二十七条：上级党委应当在三个月内审批，特殊情况可适当延长，但不得超过六个月",
     XIZE, ""),
    ("dev.probation.months", 12,
     "《中国共产党章程》第七条：预备期为一年，从支部大会通过其为预备党员之日算起", DANGZHANG, ""),
    ("dev.probation.extension", {"min_months": 6, "max_months": 12, "times": 1},
     "《中国共产党章程》第七条；《中国共产党发展党员工作细则》第三十二条：延长预备期不能少于半年，最长不超过一年",
     XIZE, "只能延长一次"),
    ("dev.conversion.apply_before_months", 1,
     "常见做法：预备期满前一个月左右提出书面转正申请（domain.md §3 [C]）", ORIGIN, ""),
    ("dev.reminder.days_before", [30, 7],
     "平台默认提醒时间（非规定）", ORIGIN, "可按本地习惯调整"),
    ("transfer.letter.valid_days",
     {"within_tenant": 30, "cross_tenant": 90, "out_of_platform": 90},
     "各地规定不一：约10天至3个月，跨省最长6个月（domain.md §6）", ORIGIN,
     "请按本地组织部门规定覆盖"),
    ("transfer.letter.expiry_reminder_days", 7, "平台默认提醒时间（非规定）", ORIGIN, ""),
    ("dues.rate.employed",
     [{"up_to_yuan": 3000, "per_mille": 5}, {"up_to_yuan": 5000, "per_mille": 10},
      {"up_to_yuan": 10000, "per_mille": 15}, {"up_to_yuan": None, "per_mille": 20}],
     "中共中央组织部《关于中国共产党党费收缴、使用和管理的规定》（2008）第二条：在职党员按税后月工资收入的比例交纳",
     DUES, "区间上限含本数：3000元以下（含）0.5%，3000–5000元（含）1%，5000–10000元（含）1.5%，10000元以上2%"),
    ("dues.rate.retired",
     [{"up_to_yuan": 5000, "per_mille": 5}, {"up_to_yuan": None, "per_mille": 10}],
     "中共中央组织部《关于中国共产党党费收缴、使用和管理的规定》（2008）第三条：离退休干部职工按月养老金收入交纳",
     DUES, "5000元以下（含）0.5%，5000元以上1%"),
    ("dues.rate.fixed_monthly_fen", {"farmer": 20, "student": 20, "unemployed": 20, "subsistence": 20},
     "中共中央组织部《关于中国共产党党费收缴、使用和管理的规定》（2008）第四条、第五条", DUES,
     "农民党员每月0.2至1元，由省级党委组织部门确定，请按本省规定覆盖"),
    ("dues.amount.rounding", {"step_fen": 1, "mode": "half_up", "min_fen": 1},
     "规定未作要求（domain.md §5）：平台默认按分四舍五入", ORIGIN,
     "部分地区向上取整到角、最低0.1元：可设为 step_fen 10, mode up, min_fen 10"),
    ("dues.arrears.flag_months", [6, 3],
     "《中国共产党章程》第九条：连续六个月不交纳党费的，视为自行脱党", DANGZHANG,
     "3个月提醒、6个月标记，便于党组织及早谈心谈话"),
    ("dues.payment.max_months_ahead", 12,
     "规定未作要求：平台默认最多提前12个月预交党费、登记标准或困难减免（非规定）", ORIGIN,
     "可按本地规定覆盖，例如只允许预交当年"),
    ("calendar.working_days.adjustments", {"holidays": [], "workdays": []},
     "国务院办公厅每年发布的部分节假日安排通知", ORIGIN,
     "列出落在工作日的法定节假日和周末调休上班日；计算“工作日”时使用"),
]  # fmt: skip


def _id(key: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"hongyun:rule:{key}:national")


def upgrade() -> None:
    rules = sa.table(
        "rules",
        sa.column("id", sa.Uuid()), sa.column("key", sa.String()), sa.column("tenant_id", sa.Uuid()),
        sa.column("value", postgresql.JSONB()), sa.column("citation", sa.Text()),
        sa.column("effective_from", sa.Date()), sa.column("note", sa.Text()),
        sa.column("created_by", sa.String()),
        schema="member",
    )  # fmt: skip
    op.bulk_insert(
        rules,
        [
            {
                "id": _id(key),
                "key": key,
                "tenant_id": None,
                "value": value,
                "citation": citation,
                "effective_from": since,
                "note": note,
                "created_by": "migration:20261203_0011",
            }
            for key, value, citation, since, note in NATIONAL
        ],
        multiinsert=False,
    )


def downgrade() -> None:
    ids = ", ".join(f"'{_id(key)}'" for key, *_ in NATIONAL)
    op.execute(f"DELETE FROM member.rules WHERE id IN ({ids})")
