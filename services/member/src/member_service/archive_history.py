"""Field-level history of a member: who changed which field when, old → new (docs/adr/0009).

Personal values (the member's ID number, phones and address, family phones, punishment content,
hardship details) are stored encrypted, each bound by AAD to its history row and side
(`member_field_changes:<id>:old|new`), and read back masked unless the caller reveals them.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from hongyun_platform.crypto import FieldCipher
from hongyun_platform.grpc.context import CallerContext
from hongyun_platform.ids import new_id
from sqlalchemy import ARRAY, Uuid, bindparam, false, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from member_service.archive_models import FieldChangeRecord
from member_service.domain.archive import FieldDiff, mask_history_value


@dataclass(frozen=True)
class FieldChangeView:
    row: FieldChangeRecord
    old: str
    new: str
    revealed: bool


class FieldHistory:
    def __init__(self, cipher: FieldCipher):
        self.cipher = cipher

    @staticmethod
    def _aad(row_id: uuid.UUID, side: str) -> bytes:
        return f"member_field_changes:{row_id}:{side}".encode()

    def record(
        self,
        session: AsyncSession,
        caller: CallerContext,
        *,
        tenant_id: uuid.UUID,
        member_id: uuid.UUID,
        source: str,
        diffs: Sequence[FieldDiff],
        personal: Collection[str] = (),
        record_id: uuid.UUID | None = None,
    ) -> list[FieldChangeRecord]:
        """One row per diff; fields named in `personal` are encrypted."""
        now = datetime.now(UTC)
        rows = []
        for d in diffs:
            rid = new_id()
            row = FieldChangeRecord(
                id=rid,
                tenant_id=tenant_id,
                member_id=member_id,
                changed_at=now,
                changed_by=caller.user_id,
                source=source,
                record_id=record_id,
                field=d.field,
                personal=d.field in personal,
                old_value="",
                new_value="",
                key_id="",
            )
            if row.personal:
                enc = self.cipher.encrypt
                row.old_enc = enc(d.old, aad=self._aad(rid, "old")) if d.old else None
                row.new_enc = enc(d.new, aad=self._aad(rid, "new")) if d.new else None
                row.key_id = self.cipher.active_key_id
            else:
                row.old_value, row.new_value = d.old, d.new
            session.add(row)
            rows.append(row)
        return rows

    @staticmethod
    async def record_bulk(
        session: AsyncSession,
        caller: CallerContext,
        *,
        tenant_id: uuid.UUID,
        member_ids: Sequence[uuid.UUID],
        source: str,
        diff: FieldDiff,
        record_id: uuid.UUID | None = None,
    ) -> None:
        """The same non-personal change made to many members at once (members moved by an
        organisation merge): one row per member, in one INSERT … SELECT over arrays of ids
        (COPY is refused under row-level security)."""
        if not member_ids:
            return
        rows = (
            func.unnest(
                bindparam("ids", [new_id() for _ in member_ids], type_=ARRAY(Uuid)),
                bindparam("members", list(member_ids), type_=ARRAY(Uuid)),
            )
            .table_valued("id", "member_id")
            .render_derived()
        )
        t = FieldChangeRecord.__table__
        now = literal(datetime.now(UTC), t.c.changed_at.type)
        values = {
            "id": rows.c.id, "tenant_id": literal(tenant_id, Uuid), "member_id": rows.c.member_id,
            "changed_at": now, "changed_by": literal(caller.user_id), "source": literal(source),
            "record_id": literal(record_id, Uuid), "field": literal(diff.field),
            "personal": false(), "old_value": literal(diff.old), "new_value": literal(diff.new),
            "key_id": literal(""),
        }  # fmt: skip
        await session.execute(insert(t).from_select(list(values), select(*values.values())))

    def view(self, row: FieldChangeRecord, *, reveal: bool) -> FieldChangeView:
        if not row.personal:
            return FieldChangeView(row, row.old_value, row.new_value, revealed=False)

        def dec(token: bytes | None, side: str) -> str:
            return self.cipher.decrypt(token, aad=self._aad(row.id, side)) if token else ""

        old, new = dec(row.old_enc, "old"), dec(row.new_enc, "new")
        if reveal:
            return FieldChangeView(row, old, new, revealed=True)
        return FieldChangeView(
            row,
            mask_history_value(row.field, old),
            mask_history_value(row.field, new),
            revealed=False,
        )
