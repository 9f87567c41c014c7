"""The archive's thresholds, read as rule data (docs/adr/0007, 0009).

The only one so far is how long a member must have been out of contact before being recorded as
失联 (domain.md §2: ≥ 6 months). The national default is seeded by migration 20261128_0006 with
its citation; tenants (and their ancestors) override it through the rules API.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from member_service.domain.rules import LOST_CONTACT_MIN_MONTHS
from member_service.rules import RuleBook


@dataclass(frozen=True)
class Threshold:
    value: int
    citation: str
    source: str  # national | tenant | inherited


async def lost_contact_min_months(
    session: AsyncSession, tenant_id: uuid.UUID, as_of: date
) -> Threshold:
    rule = await RuleBook().effective_rule(session, tenant_id, LOST_CONTACT_MIN_MONTHS, as_of)
    return Threshold(int(rule.value), rule.citation, str(rule.source))
