"""Bodies of rules as data (规则): which value applies to the tenant, and why (docs/adr/0007)."""

from __future__ import annotations

import json
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from hongyun.member.v1 import rules_pb2
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from hongyun_gateway.pagination import Page
from hongyun_gateway.schemas.common import IsoDate, text

RULE_KEY_PATTERN = r"^[a-z0-9_]+(\.[a-z0-9_]+)+$"


class RuleSource(StrEnum):
    NATIONAL = "national"  # 全国默认
    TENANT = "tenant"  # 本租户覆盖
    INHERITED = "inherited"  # 继承上级租户的覆盖


_SOURCE = {
    rules_pb2.RULE_SOURCE_NATIONAL: RuleSource.NATIONAL,
    rules_pb2.RULE_SOURCE_TENANT: RuleSource.TENANT,
    rules_pb2.RULE_SOURCE_INHERITED: RuleSource.INHERITED,
}


def _json(raw: str) -> Any:
    return json.loads(raw) if raw else None


class RuleRead(BaseModel):
    key: str = Field(examples=["org.branch.min_full_members"])
    title_zh: str
    title_en: str
    value: JsonValue = Field(description="The value that applies; its shape depends on the key")
    citation: str = Field(description="Why: the regulation or the tenant's basis 依据")
    effective_from: date
    note: str
    source: RuleSource | None
    source_tenant_id: str | None = Field(description="Tenant whose override applies")
    national_value: JsonValue = Field(description="The national default on the same day")
    national_citation: str | None

    @classmethod
    def from_proto(cls, r: rules_pb2.EffectiveRule) -> RuleRead:
        return cls(
            key=r.key,
            title_zh=r.title_zh,
            title_en=r.title_en,
            value=_json(r.value_json),
            citation=r.citation,
            effective_from=date.fromisoformat(r.effective_from),
            note=r.note,
            source=_SOURCE.get(r.source),
            source_tenant_id=r.source_tenant_id or None,
            national_value=_json(r.national_value_json),
            national_citation=r.national_citation or None,
        )


class RulePage(Page[RuleRead]):
    """Every rule known to the tenant (one page: the list is short)."""


class RuleOverride(BaseModel):
    """本租户覆盖规则 A tenant's own value of a rule, from a date (default today)."""

    model_config = ConfigDict(extra="forbid")

    value: JsonValue = Field(examples=[40])
    citation: Annotated[str, text(1, 1000)] = Field(
        description="The basis of the override, e.g. a provincial document 依据",
        examples=["某省委组织部〔2026〕1号"],
    )
    effective_from: IsoDate | None = None
    note: Annotated[str, text(0, 1000)] = ""

    def to_proto(self, key: str) -> rules_pb2.SetRuleOverrideRequest:
        return rules_pb2.SetRuleOverrideRequest(
            key=key,
            value_json=json.dumps(self.value, ensure_ascii=False),
            citation=self.citation,
            effective_from=self.effective_from.isoformat() if self.effective_from else "",
            note=self.note,
        )
