"""A parent tenant's reader acting inside a descendant tenant (role descendant_reader): every unit
of work of such a call is audited in the descendant tenant and made READ ONLY by PostgreSQL, so
no code path can write on that caller's behalf."""

from __future__ import annotations

from hongyun_platform.db import UnitOfWork
from hongyun_platform.grpc.context import current_caller, current_method
from hongyun_platform.ids import new_id
from sqlalchemy import insert, text

from member_service.models import AuditEntry


async def audit_cross_tenant_access(uow: UnitOfWork) -> None:
    caller = current_caller()
    if not caller.is_cross_tenant or uow.tenant_id != caller.tenant_id or uow.tenant_id is None:
        return
    await uow.session.execute(
        insert(AuditEntry).values(
            id=new_id(), tenant_id=uow.tenant_id, actor=caller.user_id,
            actor_roles=sorted(caller.roles), action="cross_tenant_read", target_type="tenant",
            target_id=uow.tenant_id, fields=[current_method()],
            reason=f"home tenant {caller.home_tenant_id}",
        )
    )  # fmt: skip
    await uow.session.execute(text("SET TRANSACTION READ ONLY"))
