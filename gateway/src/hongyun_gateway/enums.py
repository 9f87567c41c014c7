"""Lower-case JSON names for the member service's proto enums, and the mapping both ways.

JSON uses the proto value name without its prefix, lower-cased: ORGANIZATION_TYPE_BRANCH ↔
"branch". ``*_UNSPECIFIED`` has no JSON name: it is "not given" (null / omitted).
tests/test_enums.py checks these classes against the proto descriptors.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from hongyun.member.v1 import member_pb2


class OrganizationType(StrEnum):
    COMMITTEE = "committee"  # 党委
    GENERAL_BRANCH = "general_branch"  # 党总支
    BRANCH = "branch"  # 党支部
    GROUP = "group"  # 党小组
    JOINT_BRANCH = "joint_branch"  # 联合支部


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"


class MemberCategory(StrEnum):
    FULL = "full"  # 正式党员
    PROBATIONARY = "probationary"  # 预备党员


class PartyStatus(StrEnum):
    NORMAL = "normal"  # 正常
    RETAINED = "retained"  # 保留
    RESTORED = "restored"  # 恢复
    SUSPENDED = "suspended"  # 停止
    EXPELLED = "expelled"  # 开除/出党
    DECEASED = "deceased"  # 死亡


# JSON enum class → (proto enum wrapper, proto value-name prefix)
PROTO_ENUMS = {
    OrganizationType: (member_pb2.OrganizationType, "ORGANIZATION_TYPE_"),
    Gender: (member_pb2.Gender, "GENDER_"),
    MemberCategory: (member_pb2.MemberCategory, "MEMBER_CATEGORY_"),
    PartyStatus: (member_pb2.PartyStatus, "PARTY_STATUS_"),
}

E = TypeVar("E", OrganizationType, Gender, MemberCategory, PartyStatus)


def to_proto(value: StrEnum | None, enum_cls: type[StrEnum] | None = None) -> int:
    """JSON enum → proto number; None → 0 (UNSPECIFIED)."""
    if value is None:
        return 0
    wrapper, prefix = PROTO_ENUMS[enum_cls or type(value)]  # type: ignore[index]
    return int(wrapper.Value(prefix + value.name))


def from_proto(enum_cls: type[E], number: int) -> E | None:
    """Proto number → JSON enum; UNSPECIFIED (0) and numbers this gateway does not know → None."""
    wrapper, prefix = PROTO_ENUMS[enum_cls]
    if number == 0:
        return None
    try:
        return enum_cls[wrapper.Name(number).removeprefix(prefix)]
    except (ValueError, KeyError):
        return None
