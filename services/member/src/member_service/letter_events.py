"""Outbox payloads of relationship transfers (docs/adr/0016), written in the caller's
transaction. Subjects are under the sending tenant: member.<tenant>.letter.<event> and
member.<tenant>.member.transferred. Ids and dates only — no names, ID numbers or reasons."""

from __future__ import annotations

import uuid
from datetime import date

from hongyun.member.v1 import member_letters_pb2 as pb
from hongyun_platform.messaging.envelope import subject_for
from hongyun_platform.messaging.outbox import add_event
from sqlalchemy.ext.asyncio import AsyncSession

from member_service.domain.letters import LetterScope, LetterState
from member_service.letter_models import Letter
from member_service.models import messaging

SCOPE = {
    LetterScope.WITHIN_TENANT: pb.LETTER_SCOPE_WITHIN_TENANT,
    LetterScope.CROSS_TENANT: pb.LETTER_SCOPE_CROSS_TENANT,
    LetterScope.OUT_OF_PLATFORM: pb.LETTER_SCOPE_OUT_OF_PLATFORM,
}
STATE = {
    LetterState.DRAFT: pb.LETTER_STATE_DRAFT,
    LetterState.APPROVED: pb.LETTER_STATE_APPROVED,
    LetterState.ISSUED: pb.LETTER_STATE_ISSUED,
    LetterState.RECEIVED: pb.LETTER_STATE_RECEIVED,
    LetterState.RECEIPT_RETURNED: pb.LETTER_STATE_RECEIPT_RETURNED,
    LetterState.REVOKED: pb.LETTER_STATE_REVOKED,
    LetterState.EXPIRED: pb.LETTER_STATE_EXPIRED,
}


def _s(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


async def _emit(
    session: AsyncSession,
    letter: Letter,
    aggregate: str,
    event: str,
    payload,
    event_id: uuid.UUID | None = None,
) -> uuid.UUID:
    return await add_event(
        session,
        messaging.outbox,
        subject=subject_for("member", letter.tenant_id, aggregate, event),
        tenant_id=letter.tenant_id,
        payload=payload,
        event_id=event_id,
    )


async def letter_issued(session: AsyncSession, letter: Letter) -> None:
    await _emit(session, letter, "letter", "issued", pb.LetterIssued(
        letter_id=_s(letter.id), tenant_id=_s(letter.tenant_id),
        receiving_tenant_id=_s(letter.receiving_tenant_id), member_id=_s(letter.member_id),
        scope=SCOPE[LetterScope(letter.scope)], from_organization_id=_s(letter.from_organization_id),
        to_organization_id=_s(letter.to_organization_id), issued_on=_s(letter.issued_on),
        valid_until=_s(letter.valid_until),
    ))  # fmt: skip


async def letter_received(session: AsyncSession, letter: Letter) -> None:
    await _emit(session, letter, "letter", "received", pb.LetterReceived(
        letter_id=_s(letter.id), tenant_id=_s(letter.tenant_id),
        receiving_tenant_id=_s(letter.receiving_tenant_id), member_id=_s(letter.member_id),
        received_member_id=_s(letter.received_member_id),
        placed_organization_id=_s(letter.placed_organization_id),
        reported_on=_s(letter.reported_on),
    ))  # fmt: skip


async def letter_receipt_returned(session: AsyncSession, letter: Letter) -> None:
    await _emit(session, letter, "letter", "receipt_returned", pb.LetterReceiptReturned(
        letter_id=_s(letter.id), tenant_id=_s(letter.tenant_id), member_id=_s(letter.member_id),
        scope=SCOPE[LetterScope(letter.scope)], reported_on=_s(letter.reported_on),
    ))  # fmt: skip


async def letter_revoked(session: AsyncSession, letter: Letter, previous: LetterState) -> None:
    await _emit(session, letter, "letter", "revoked", pb.LetterRevoked(
        letter_id=_s(letter.id), tenant_id=_s(letter.tenant_id),
        receiving_tenant_id=_s(letter.receiving_tenant_id), member_id=_s(letter.member_id),
        previous_state=STATE[previous],
    ))  # fmt: skip


async def letter_expired(session: AsyncSession, letter: Letter) -> None:
    await _emit(session, letter, "letter", "expired", pb.LetterExpired(
        letter_id=_s(letter.id), tenant_id=_s(letter.tenant_id),
        receiving_tenant_id=_s(letter.receiving_tenant_id), member_id=_s(letter.member_id),
        from_organization_id=_s(letter.from_organization_id), valid_until=_s(letter.valid_until),
    ))  # fmt: skip


async def letter_expiring(
    session: AsyncSession, letter: Letter, *, days_before: int, today: date, event_id: uuid.UUID
) -> None:
    assert letter.valid_until is not None
    await _emit(session, letter, "letter", "expiring", pb.LetterExpiring(
        letter_id=_s(letter.id), tenant_id=_s(letter.tenant_id), member_id=_s(letter.member_id),
        from_organization_id=_s(letter.from_organization_id), valid_until=_s(letter.valid_until),
        days_before=days_before, days_remaining=(letter.valid_until - today).days,
    ), event_id=event_id)  # fmt: skip


async def member_transferred(
    session: AsyncSession,
    letter: Letter,
    *,
    from_organization_id: uuid.UUID,
    to_tenant_id: uuid.UUID | None,
    to_member_id: uuid.UUID | None,
    to_organization_id: uuid.UUID | None,
) -> None:
    await _emit(session, letter, "member", "transferred", pb.MemberTransferred(
        letter_id=_s(letter.id), scope=SCOPE[LetterScope(letter.scope)],
        from_tenant_id=_s(letter.tenant_id), from_member_id=_s(letter.member_id),
        from_organization_id=_s(from_organization_id), to_tenant_id=_s(to_tenant_id),
        to_member_id=_s(to_member_id), to_organization_id=_s(to_organization_id),
        effective_on=_s(letter.reported_on),
    ))  # fmt: skip
