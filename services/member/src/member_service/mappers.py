"""proto ↔ domain conversions (transport layer only)."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp
from hongyun.member.v1 import member_pb2 as pb
from hongyun_platform.errors import InvalidArgument

from member_service.domain.profile import Category, Gender, PartyStatus, Profile, parse_date
from member_service.models import Organization, Tenant
from member_service.service import MemberView

TENANT_STATUS = {"active": pb.TENANT_STATUS_ACTIVE, "suspended": pb.TENANT_STATUS_SUSPENDED}
DATE_FIELDS = ("birth_date", "joined_on", "converted_on", "lost_contact_since")


def timestamp(dt: datetime | None) -> Timestamp:
    ts = Timestamp()
    if dt:
        ts.FromDatetime(dt.astimezone(UTC))
    return ts


def tenant_to_pb(t: Tenant) -> pb.Tenant:
    return pb.Tenant(
        id=str(t.id),
        name=t.name,
        code=t.code,
        parent_id=str(t.parent_id or ""),
        created_at=timestamp(t.created_at),
        status=TENANT_STATUS.get(t.status, pb.TENANT_STATUS_UNSPECIFIED),
    )


def organization_to_pb(o: Organization) -> pb.Organization:
    return pb.Organization(
        id=str(o.id),
        tenant_id=str(o.tenant_id),
        parent_id=str(o.parent_id or ""),
        name=o.name,
        type=o.type,  # type: ignore[arg-type]
        depth=o.depth,
        created_at=timestamp(o.created_at),
    )


def profile_from_pb(p: pb.MemberProfile) -> Profile:
    dates = {f: parse_date(getattr(p, f), f) for f in DATE_FIELDS}
    return Profile(
        name=p.name,
        gender=Gender(p.gender) if p.gender in Gender._value2member_map_ else _bad("gender"),
        id_number=p.id_number,
        ethnicity=p.ethnicity,
        education=p.education,
        category=Category(p.category)
        if p.category in Category._value2member_map_
        else _bad("category"),
        job_post=p.job_post,
        mobile_phone=p.mobile_phone,
        landline=p.landline,
        home_address=p.home_address,
        party_status=PartyStatus(p.party_status)
        if p.party_status in PartyStatus._value2member_map_
        else _bad("party_status"),
        lost_contact=p.lost_contact,
        floating=p.floating,
        floating_destination=p.floating_destination,
        **dates,
    )


def _bad(field: str):
    raise InvalidArgument(f"{field}: 取值无效 (unknown value)", code="invalid_enum", field=field)


def profile_to_pb(p: Profile) -> pb.MemberProfile:
    return pb.MemberProfile(
        name=p.name,
        gender=int(p.gender),  # type: ignore[arg-type]
        id_number=p.id_number,
        ethnicity=p.ethnicity,
        birth_date=p.birth_date.isoformat() if p.birth_date else "",
        education=p.education,
        category=int(p.category),  # type: ignore[arg-type]
        joined_on=p.joined_on.isoformat() if p.joined_on else "",
        converted_on=p.converted_on.isoformat() if p.converted_on else "",
        job_post=p.job_post,
        mobile_phone=p.mobile_phone,
        landline=p.landline,
        home_address=p.home_address,
        party_status=int(p.party_status),  # type: ignore[arg-type]
        lost_contact=p.lost_contact,
        lost_contact_since=p.lost_contact_since.isoformat() if p.lost_contact_since else "",
        floating=p.floating,
        floating_destination=p.floating_destination,
    )


def member_to_pb(v: MemberView) -> pb.Member:
    m = v.member
    return pb.Member(
        id=str(m.id),
        tenant_id=str(m.tenant_id),
        organization_id=str(m.organization_id),
        profile=profile_to_pb(v.profile),
        revealed=v.revealed,
        version=m.version,
        created_at=timestamp(m.created_at),
        updated_at=timestamp(m.updated_at),
    )
