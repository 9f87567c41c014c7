"""ORM models of relationship transfers (组织关系转接, docs/adr/0016), on the member schema's `Base`
(migration 20261203_0013).

A letter belongs to its sending tenant (`tenant_id`); a letter to a sibling tenant is also
readable there (`receiving_tenant_id`) once issued — that is the row-level security policy. The
member's particulars printed on the letter are copied onto it when it is created and again when
it is issued, so that the receiving side reads the letter without reading the sender's member
table; the ID number is ciphertext bound to the letter (AAD letters:<id>:id_number).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    Uuid,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from member_service.models import Base


class Letter(Base):
    __tablename__ = "letters"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))  # the sender
    receiving_tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))  # sender's record
    scope: Mapped[str] = mapped_column(String(20))  # domain.letters.LetterScope
    state: Mapped[str] = mapped_column(String(20))  # domain.letters.LetterState
    from_organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"))
    from_organization_name: Mapped[str] = mapped_column(String(100))
    # Within a tenant: the organisation the letter is addressed to (chosen by the sender).
    to_organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"))
    # Addressee as printed: the organisation's name, the sibling tenant's name, or free text
    # out of the platform.
    destination: Mapped[str] = mapped_column(String(200), server_default="")
    # Where the member was received: an organisation of the receiving tenant, and the member's
    # record there (a new record for a sibling tenant, the same one within a tenant).
    placed_organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"))
    received_member_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    # The member's particulars as printed on the letter.
    member_name: Mapped[str] = mapped_column(String(50))
    member_gender: Mapped[int] = mapped_column(SmallInteger)
    member_birth_date: Mapped[date] = mapped_column(Date)
    member_ethnicity: Mapped[str] = mapped_column(String(20), server_default="")
    member_category: Mapped[int] = mapped_column(SmallInteger)
    member_id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[str] = mapped_column(String(32))
    dues_paid_until: Mapped[date] = mapped_column(Date)  # first day of the month paid up to
    reason: Mapped[str] = mapped_column(Text, server_default="")
    letter_number: Mapped[str | None] = mapped_column(String(40))
    # Validity as printed when issued: the rule in force on the day of issue binds the letter.
    valid_days: Mapped[int | None] = mapped_column(Integer)
    validity_citation: Mapped[str] = mapped_column(Text, server_default="")
    validity_source: Mapped[str] = mapped_column(String(16), server_default="")
    issued_on: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    reported_on: Mapped[date | None] = mapped_column(Date)  # the member reported in
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str] = mapped_column(String(64), server_default="")
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[str] = mapped_column(String(64), server_default="")
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    issued_by: Mapped[str] = mapped_column(String(64), server_default="")
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_by: Mapped[str] = mapped_column(String(64), server_default="")
    receipt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    receipt_by: Mapped[str] = mapped_column(String(64), server_default="")
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str] = mapped_column(String(64), server_default="")
    revoke_reason: Mapped[str] = mapped_column(Text, server_default="")
    expired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, server_default="1")


class LetterCounter(Base):
    """The last letter number given per tenant and year (one row, locked by each issue)."""

    __tablename__ = "letter_counters"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    last_no: Mapped[int] = mapped_column(Integer)


class LetterReminder(Base):
    """An expiry reminder sent (once per letter), in the transaction of its outbox row."""

    __tablename__ = "letter_reminders"

    letter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("letters.id"), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    days_before: Mapped[int] = mapped_column(Integer)
    remind_on: Mapped[date] = mapped_column(Date)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
