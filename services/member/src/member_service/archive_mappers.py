"""proto ↔ domain conversions of the member archive (transport layer only)."""

from __future__ import annotations

from datetime import date
from typing import Any

from hongyun.member.v1 import member_archive_pb2 as pb

from member_service import archive_status
from member_service.archive import ExtensionView, RecordView
from member_service.archive_history import FieldChangeView
from member_service.archive_models import Attachment, FlagChange, StatusChange
from member_service.domain.archive import AWARD_FIELDS, HARDSHIP_FIELDS, TRAVEL_FIELDS
from member_service.domain.profile import parse_date
from member_service.mappers import timestamp

_DATES = {"decided_on", "departed_on", "returned_on", "since", "resolved_on"}


def _iso(d: date | None) -> str:
    return d.isoformat() if d else ""


def values_from_pb(msg: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    """Proto record → plain values: dates parsed (bad format → InvalidArgument), enums as int."""
    out: dict[str, Any] = {}
    for f in fields:
        v = getattr(msg, f)
        out[f] = parse_date(v, f) if f in _DATES else v
    return out


def _values_to_pb(view: RecordView) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f, v in view.values.items():
        if f in _DATES:
            out[f] = _iso(v)
        elif f == "kind":
            out[f] = int(v)
        else:
            out[f] = v or ""
    return out


def _common(view: RecordView) -> dict[str, Any]:
    r = view.record
    return dict(
        id=str(r.id),
        member_id=str(r.member_id),
        created_at=timestamp(r.created_at),
        updated_at=timestamp(r.updated_at),
    )


def family_member_to_pb(view: RecordView) -> pb.FamilyMember:
    return pb.FamilyMember(**_common(view), **_values_to_pb(view), revealed=view.revealed)


def award_to_pb(view: RecordView) -> pb.Award:
    assert set(view.values) == set(AWARD_FIELDS)
    return pb.Award(**_common(view), **_values_to_pb(view), redacted=view.redacted)


def travel_to_pb(view: RecordView) -> pb.Travel:
    assert set(view.values) == set(TRAVEL_FIELDS)
    return pb.Travel(**_common(view), **_values_to_pb(view))


def hardship_to_pb(view: RecordView) -> pb.Hardship:
    assert set(view.values) == set(HARDSHIP_FIELDS)
    return pb.Hardship(**_common(view), **_values_to_pb(view), redacted=view.redacted)


def extension_to_pb(view: ExtensionView) -> pb.MemberExtension:
    values = {k: str(v) if v else "" for k, v in view.values.items()}
    return pb.MemberExtension(
        member_id=str(view.member_id),
        **values,
        version=view.version,
        updated_at=timestamp(view.updated_at),
        updated_by=view.updated_by,
    )


def status_change_to_pb(c: StatusChange) -> pb.StatusChange:
    return pb.StatusChange(
        id=str(c.id),
        member_id=str(c.member_id),
        status=c.status,  # type: ignore[arg-type]
        effective_on=_iso(c.effective_on),
        reason=c.reason,
        document=c.document,
        recorded_by=c.recorded_by,
        recorded_at=timestamp(c.recorded_at),
    )


def flag_change_to_pb(c: FlagChange) -> pb.FlagChange:
    return pb.FlagChange(
        id=str(c.id),
        member_id=str(c.member_id),
        flag=c.flag,  # type: ignore[arg-type]
        active=c.active,
        effective_on=_iso(c.effective_on),
        destination=c.destination,
        reason=c.reason,
        recorded_by=c.recorded_by,
        recorded_at=timestamp(c.recorded_at),
    )


def flags_to_pb(f: archive_status.FlagsView) -> pb.MemberFlags:
    return pb.MemberFlags(
        lost_contact=f.lost_contact,
        lost_contact_since=_iso(f.lost_contact_since),
        floating=f.floating,
        floating_since=_iso(f.floating_since),
        floating_destination=f.floating_destination,
    )


def attachment_to_pb(a: Attachment) -> pb.Attachment:
    return pb.Attachment(
        id=str(a.id),
        member_id=str(a.member_id),
        kind=a.kind,  # type: ignore[arg-type]
        file_name=a.file_name,
        content_type=a.content_type,
        size=a.size,
        sha256=a.sha256,
        status=a.status,  # type: ignore[arg-type]
        reject_reason=a.reject_reason,
        created_by=a.created_by,
        created_at=timestamp(a.created_at),
        completed_at=timestamp(a.completed_at),
    )


def field_change_to_pb(v: FieldChangeView) -> pb.FieldChange:
    r = v.row
    return pb.FieldChange(
        id=str(r.id),
        member_id=str(r.member_id),
        changed_at=timestamp(r.changed_at),
        changed_by=r.changed_by,
        source=r.source,
        record_id=str(r.record_id or ""),
        field=r.field,
        old_value=v.old,
        new_value=v.new,
        personal=r.personal,
        revealed=v.revealed,
    )
