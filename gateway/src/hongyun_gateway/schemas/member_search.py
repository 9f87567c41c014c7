"""Member search results (检索党员, docs/adr/0008): the member as in MemberRead (masked), why it
matched, and how the query was read."""

from __future__ import annotations

from enum import StrEnum

from hongyun.member.v1 import member_search_pb2 as spb
from pydantic import Field

from hongyun_gateway.pagination import Page
from hongyun_gateway.schemas.members import MemberRead


class SearchMode(StrEnum):
    NAME = "name"  # 姓名（任意连续的两个字以上）
    PINYIN = "pinyin"  # 全拼或首字母
    NUMBER_SUFFIX = "number_suffix"  # 身份证号或手机号后4位
    ID_NUMBER = "id_number"  # 完整的18位身份证号


class SearchMatch(StrEnum):
    NAME = "name"
    PINYIN = "pinyin"
    INITIALS = "initials"
    ID_NUMBER_SUFFIX = "id_number_suffix"
    MOBILE_PHONE_SUFFIX = "mobile_phone_suffix"
    ID_NUMBER = "id_number"


def _from_proto(enum_cls: type[StrEnum], wrapper, prefix: str, number: int):
    """Proto enum number → JSON value; UNSPECIFIED and unknown numbers → None."""
    try:
        return enum_cls[wrapper.Name(number).removeprefix(prefix)]
    except (ValueError, KeyError):
        return None


class MemberSearchHit(MemberRead):
    matched: list[SearchMatch] = Field(
        description="命中依据 why it matched: name, pinyin, initials, id_number_suffix, "
        "mobile_phone_suffix, id_number"
    )

    @classmethod
    def from_hit(cls, hit: spb.MemberSearchHit) -> MemberSearchHit:
        matched = [
            _from_proto(SearchMatch, spb.SearchMatch, "SEARCH_MATCH_", m) for m in hit.matched
        ]
        return cls(
            **MemberRead.from_proto(hit.member).model_dump(),
            matched=[m for m in matched if m is not None],
        )


class MemberSearchPage(Page[MemberSearchHit]):
    mode: SearchMode | None = Field(
        description="检索方式 how the query was read: name, pinyin, number_suffix, id_number"
    )

    @classmethod
    def from_proto(cls, resp: spb.SearchMembersResponse, next_cursor: str | None):
        return cls(
            items=[MemberSearchHit.from_hit(h) for h in resp.hits],
            next_cursor=next_cursor,
            mode=_from_proto(SearchMode, spb.SearchMode, "SEARCH_MODE_", resp.mode),
        )
