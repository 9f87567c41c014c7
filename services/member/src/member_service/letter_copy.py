"""Copying a member's record and archive into a sibling tenant when a letter is received there
(docs/adr/0016). The copy gets new ids; every ciphertext is decrypted and encrypted again, as the
AAD binds it to its row (member:<id>:<field>, <table>:<id>:<field>); attachments are copied in
object storage under the new tenant's prefix.

The sending tenant keeps its record as departed archive. A member returning to a tenant that
still holds their departed record gets that record back, with the profile brought up to date;
its archive there is the one it had when it left.

No transport imports; never commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hongyun_platform.crypto import FieldCipher
from hongyun_platform.ids import new_id
from hongyun_platform.logging import get_logger
from hongyun_platform.storage import ObjectStore
from sqlalchemy.ext.asyncio import AsyncSession

from member_service.archive_models import (
    Attachment,
    Award,
    FamilyMember,
    FlagChange,
    Hardship,
    MemberExtension,
    MemberTag,
    StatusChange,
    Travel,
)
from member_service.domain.profile import Profile
from member_service.letter_repository import ArchiveBundle, LetterRepository
from member_service.models import Member
from member_service.service import MemberDirectory

log = get_logger(__name__)
_SKIP = {"id", "tenant_id", "member_id"}


@dataclass(frozen=True)
class SourceMember:
    member: Member
    profile: Profile  # decrypted
    archive: ArchiveBundle


def _values(row: Any) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in _SKIP}


class ArchiveCopier:
    def __init__(self, directory: MemberDirectory, store: ObjectStore):
        self.directory = directory
        self.cipher: FieldCipher = directory.cipher
        self.store = store
        self.copied_keys: list[str] = []  # objects written, removed again if the copy fails

    async def read(self, repo: LetterRepository, member: Member) -> SourceMember:
        """Everything to copy, read in the sending tenant."""
        return SourceMember(
            member=member,
            profile=self.directory.read_profile(member),
            archive=await repo.archive(member.tenant_id, member.id),
        )

    def _reencrypt(self, table: str, old_id: uuid.UUID, new_id_: uuid.UUID, values: dict) -> None:
        for key in [k for k in values if k.endswith("_enc")]:
            token = values[key]
            if token is None:
                continue
            name = key.removesuffix("_enc")
            plain = self.cipher.decrypt(token, aad=f"{table}:{old_id}:{name}".encode())
            values[key] = self.cipher.encrypt(plain, aad=f"{table}:{new_id_}:{name}".encode())
        if "key_id" in values:
            values["key_id"] = self.cipher.active_key_id

    def _rows(self, rows: list[Any], tenant_id: uuid.UUID, member_id: uuid.UUID) -> list[dict]:
        out = []
        for row in rows:
            values = _values(row)
            rid = new_id()
            self._reencrypt(row.__tablename__, row.id, rid, values)
            out.append({**values, "id": rid, "tenant_id": tenant_id, "member_id": member_id})
        return out

    async def create(
        self,
        session: AsyncSession,
        repo: LetterRepository,
        src: SourceMember,
        *,
        tenant_id: uuid.UUID,
        organization_id: uuid.UUID,
        actor: str,
    ) -> Member:
        """A new record in `tenant_id` (the transaction acts as that tenant) with the archive."""
        mid = new_id()
        member = Member(
            id=mid, tenant_id=tenant_id, organization_id=organization_id, version=1,
            created_by=actor, updated_by=actor,
        )  # fmt: skip
        self.directory.write_profile(member, src.profile)
        session.add(member)
        await session.flush()  # the archive rows reference it
        a = src.archive
        attachment_ids: dict[uuid.UUID, uuid.UUID] = {}
        attachments = []
        for att in a.attachments:
            aid = new_id()
            key = f"{tenant_id}/{mid}/{aid}"
            data = await self.store.get_object(att.object_key)
            await self.store.put_object(key, data, att.content_type)
            self.copied_keys.append(key)
            attachment_ids[att.id] = aid
            attachments.append({**_values(att), "id": aid, "tenant_id": tenant_id,
                                "member_id": mid, "object_key": key})  # fmt: skip
        await repo.add_rows(Attachment, attachments)
        if a.extension is not None:
            ext = _values(a.extension)
            photo = ext.get("photo_attachment_id")
            ext["photo_attachment_id"] = attachment_ids.get(photo) if photo else None
            ext["version"] = 1
            await repo.add_rows(
                MemberExtension, [{**ext, "member_id": mid, "tenant_id": tenant_id}]
            )
        for model, rows in (
            (FamilyMember, a.family), (Award, a.awards), (Travel, a.travels),
            (Hardship, a.hardships), (MemberTag, a.tags), (StatusChange, a.status_changes),
            (FlagChange, a.flag_changes),
        ):  # fmt: skip
            await repo.add_rows(model, self._rows(rows, tenant_id, mid))
        return member

    def reactivate(
        self, existing: Member, src: SourceMember, *, organization_id: uuid.UUID, actor: str
    ) -> None:
        """A returning member's departed record, active again with the current profile."""
        self.directory.write_profile(existing, src.profile)
        existing.organization_id = organization_id
        existing.departed_on = None
        existing.departed_reason = ""
        existing.departed_letter_id = None
        existing.version += 1
        existing.updated_at = datetime.now(UTC)
        existing.updated_by = actor

    async def discard_copies(self) -> None:
        """After a failed transaction: remove the objects this copy wrote."""
        for key in self.copied_keys:
            try:
                await self.store.delete(key)
            except Exception:  # best effort; orphans are harmless and unreachable
                log.warning("could not remove a copied attachment", key=key)
        self.copied_keys.clear()
