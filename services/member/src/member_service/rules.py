"""Use cases of rules as data (docs/adr/0007): which rule applies to a tenant on a day and why,
and a tenant's own overrides. Other use cases ask `RuleBook.effective(...)` for their thresholds
and timings; nothing keeps such a number in code.

No transport imports; raises DomainError; never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import date

from hongyun_platform.db import UnitOfWork
from hongyun_platform.errors import AlreadyExists, InvalidArgument, NotFound
from hongyun_platform.grpc.context import (
    KNOWN_ROLES,
    ROLE_PLATFORM_ADMIN,
    ROLE_TENANT_ADMIN,
    CallerContext,
)
from hongyun_platform.ids import new_id
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from member_service.domain import rules as r
from member_service.domain.dates import china_today
from member_service.domain.profile import parse_date
from member_service.models import AuditEntry
from member_service.org_models import Rule
from member_service.org_repository import RuleRepository

MAY_OVERRIDE = (ROLE_TENANT_ADMIN, ROLE_PLATFORM_ADMIN)
MAX_CITATION = 1000
MAX_NOTE = 1000


class RuleBook:
    def __init__(self, today: Callable[[], date] = china_today):
        self.today = today

    # ---- for other use cases ----

    async def effective(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        keys: Iterable[str],
        as_of: date | None = None,
    ) -> dict[str, r.EffectiveRule]:
        """The rules for `keys` that apply to the tenant on `as_of` (default today)."""
        keys = list(keys)
        repo = RuleRepository(session)
        chain = await repo.tenant_chain(tenant_id)
        rows = await repo.rows(keys, chain)
        return r.resolve_all(keys, rows, chain, as_of or self.today())

    async def effective_rule(
        self, session: AsyncSession, tenant_id: uuid.UUID, key: str, as_of: date | None = None
    ) -> r.EffectiveRule:
        return (await self.effective(session, tenant_id, [key], as_of))[key]

    # ---- API ----

    async def list_rules(
        self, uow: UnitOfWork, caller: CallerContext, *, as_of: str, key_prefix: str
    ) -> list[r.EffectiveRule]:
        caller.require_role(*KNOWN_ROLES)
        tenant_id = caller.require_tenant()
        day = self._day(as_of, "as_of")
        repo = RuleRepository(uow.session)
        chain = await repo.tenant_chain(tenant_id)
        rows = await repo.rows(None, chain)
        keys = sorted({*r.SPECS, *(row.key for row in rows)})
        out = []
        for key in keys:
            if not key.startswith(key_prefix):
                continue
            try:
                out.append(r.resolve(key, rows, chain, day))
            except r.RuleMissing:
                continue  # not in force on that day
        return out

    async def get_rule(
        self, uow: UnitOfWork, caller: CallerContext, *, key: str, as_of: str
    ) -> r.EffectiveRule:
        caller.require_role(*KNOWN_ROLES)
        tenant_id = caller.require_tenant()
        day = self._day(as_of, "as_of")
        repo = RuleRepository(uow.session)
        chain = await repo.tenant_chain(tenant_id)
        rows = await repo.rows([key], chain)
        if not rows and key not in r.SPECS:
            raise NotFound(f"规则不存在 (unknown rule key {key!r})", code="rule_not_found")
        return r.resolve(key, rows, chain, day)

    async def set_override(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        key: str,
        value_json: str,
        citation: str,
        effective_from: str,
        note: str,
    ) -> r.EffectiveRule:
        caller.require_role(*MAY_OVERRIDE)
        tenant_id = caller.require_tenant()
        value = r.parse_value(key, value_json)
        citation, note = citation.strip(), note.strip()
        if not 1 <= len(citation) <= MAX_CITATION:
            raise InvalidArgument(
                "覆盖规则须注明依据 (citation: the basis of the override, 1–1000 characters)",
                code="citation_required",
                field="citation",
            )
        if len(note) > MAX_NOTE:
            raise InvalidArgument("备注过长 (note: at most 1000 characters)", field="note")
        day = self._day(effective_from, "effective_from")
        repo = RuleRepository(uow.session)
        existing = await repo.own(tenant_id, key, day)
        if existing is None:
            row = Rule(
                id=new_id(),
                key=key,
                tenant_id=tenant_id,
                value=value,
                citation=citation,
                effective_from=day,
                note=note,
                created_by=caller.user_id,
            )
            repo.add(row)
        else:
            row = existing
            row.value, row.citation, row.note = value, citation, note
            row.created_by = caller.user_id
        try:
            async with uow.session.begin_nested():
                await uow.session.flush()
        except IntegrityError as exc:
            raise AlreadyExists(
                "该规则同一日期的覆盖正被他人修改 (a concurrent override of this rule and date)",
                code="rule_override_conflict",
            ) from exc
        self._audit(uow, caller, tenant_id, "rule_override", row.id, key, citation)
        return await self.effective_rule(uow.session, tenant_id, key, day)

    async def delete_override(
        self, uow: UnitOfWork, caller: CallerContext, *, key: str, reason: str
    ) -> r.EffectiveRule:
        caller.require_role(*MAY_OVERRIDE)
        tenant_id = caller.require_tenant()
        r.spec_for(key)
        deleted = await RuleRepository(uow.session).delete_own(tenant_id, key)
        if not deleted:
            raise NotFound(
                "本租户没有覆盖该规则 (this tenant has no override of the rule)",
                code="rule_override_not_found",
            )
        for rule_id in deleted:
            self._audit(uow, caller, tenant_id, "rule_override_delete", rule_id, key, reason)
        return await self.effective_rule(uow.session, tenant_id, key)

    # ---- helpers ----

    def _day(self, value: str, field: str) -> date:
        return parse_date(value, field) or self.today()

    @staticmethod
    def _audit(
        uow: UnitOfWork,
        caller: CallerContext,
        tenant_id: uuid.UUID,
        action: str,
        rule_id: uuid.UUID,
        key: str,
        reason: str,
    ) -> None:
        uow.session.add(
            AuditEntry(
                id=new_id(),
                tenant_id=tenant_id,
                actor=caller.user_id,
                actor_roles=sorted(caller.roles),
                action=action,
                target_type="rule",
                target_id=rule_id,
                fields=[key],
                reason=reason[:500],
            )
        )
