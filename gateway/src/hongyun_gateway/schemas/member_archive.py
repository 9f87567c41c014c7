"""Bodies of the electronic member archive (党员电子档案): extended fields, family members,
awards and punishments, travel abroad, hardship, tags, 党籍 status history, 失联/流动 flags,
attachments and the field history. snake_case; enums as lower-case strings; dates YYYY-MM-DD.

Requests are checked here for shape (lengths, formats, enums) before any gRPC call; the member
service applies the rules. Sensitive values come back masked or redacted as the service decides.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from google.protobuf.message import Message
from hongyun.member.v1 import member_archive_pb2 as apb
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from hongyun_gateway import enums
from hongyun_gateway.enums import PartyStatus
from hongyun_gateway.pagination import Page
from hongyun_gateway.schemas.common import IsoDate, MobilePhone, PastDate, opt_str, text, timestamp

# ---- enums (JSON name = proto value name without its prefix, lower-cased) ----


class AwardKind(StrEnum):
    AWARD = "award"  # 奖励
    PUNISHMENT = "punishment"  # 惩处


class HardshipKind(StrEnum):
    LIVING = "living"  # 生活困难
    ILLNESS = "illness"  # 疾病
    DISABILITY = "disability"  # 残疾
    UNEMPLOYMENT = "unemployment"  # 失业
    DISASTER = "disaster"  # 受灾
    OTHER = "other"  # 其他


class MemberFlag(StrEnum):
    LOST_CONTACT = "lost_contact"  # 失联
    FLOATING = "floating"  # 流动


class AttachmentKind(StrEnum):
    PHOTO = "photo"  # 照片
    SCAN = "scan"  # 扫描件


class AttachmentStatus(StrEnum):
    PENDING = "pending"
    AVAILABLE = "available"
    REJECTED = "rejected"


ARCHIVE_ENUMS: dict[type[StrEnum], tuple[Any, str]] = {
    AwardKind: (apb.AwardKind, "AWARD_KIND_"),
    HardshipKind: (apb.HardshipKind, "HARDSHIP_KIND_"),
    MemberFlag: (apb.MemberFlag, "MEMBER_FLAG_"),
    AttachmentKind: (apb.AttachmentKind, "ATTACHMENT_KIND_"),
    AttachmentStatus: (apb.AttachmentStatus, "ATTACHMENT_STATUS_"),
}
E = TypeVar("E", bound=StrEnum)


def to_proto(value: StrEnum | None) -> int:
    if value is None:
        return 0
    wrapper, prefix = ARCHIVE_ENUMS[type(value)]
    return int(wrapper.Value(prefix + value.name))


def from_proto(enum_cls: type[E], number: int) -> E | None:
    wrapper, prefix = ARCHIVE_ENUMS[enum_cls]
    if number == 0:
        return None
    try:
        return enum_cls[wrapper.Name(number).removeprefix(prefix)]
    except (ValueError, KeyError):
        return None


def _iso(d: date | None) -> str:
    return d.isoformat() if d else ""


def _date(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


def _not_null(*names: str):
    """Merge-patch: null clears an optional field; these cannot be cleared."""

    def check(cls: Any, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError(
                "not_nullable", "此字段不能清空 (this field cannot be null)", {"reason": "null"}
            )
        return value

    return field_validator(*names, mode="before")(classmethod(check))


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Patch(_Body):
    def changed_fields(self) -> list[str]:
        return [f for f in type(self).model_fields if f in self.model_fields_set]


def _proto_values(body: BaseModel, fields: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        v = getattr(body, f)
        if isinstance(v, StrEnum):
            out[f] = to_proto(v)
        elif isinstance(v, date):
            out[f] = v.isoformat()
        else:
            out[f] = "" if v is None else v
    return out


def _record_meta(msg: Message) -> dict[str, Any]:
    return dict(
        id=msg.id,  # type: ignore[attr-defined]
        member_id=msg.member_id,  # type: ignore[attr-defined]
        created_at=timestamp(msg, "created_at"),
        updated_at=timestamp(msg, "updated_at"),
    )


class _RecordRead(BaseModel):
    id: str
    member_id: str
    created_at: datetime | None
    updated_at: datetime | None


# ---- extended fields ----


class ExtensionWrite(_Body):
    """扩展信息 (replaces all extended fields; omitted or null = cleared)."""

    native_place: Annotated[str, text(0, 100)] | None = Field(default=None, description="籍贯")
    degree: Annotated[str, text(0, 30)] | None = Field(default=None, description="学位")
    school: Annotated[str, text(0, 100)] | None = Field(default=None, description="毕业院校")
    major: Annotated[str, text(0, 100)] | None = Field(default=None, description="专业")
    work_unit: Annotated[str, text(0, 200)] | None = Field(default=None, description="工作单位")
    position: Annotated[str, text(0, 100)] | None = Field(default=None, description="职务")
    professional_title: Annotated[str, text(0, 100)] | None = Field(
        default=None, description="职称"
    )
    party_post: Annotated[str, text(0, 100)] | None = Field(default=None, description="党内职务")
    photo_attachment_id: uuid.UUID | None = Field(
        default=None, description="照片: id of an available photo attachment of the member"
    )

    def to_proto(self, member_id: uuid.UUID, expected_version: int) -> Any:
        values = {f: str(getattr(self, f) or "") for f in type(self).model_fields}
        return apb.UpdateMemberExtensionRequest(
            member_id=str(member_id),
            extension=apb.MemberExtension(**values),
            expected_version=expected_version,
        )


class ExtensionRead(BaseModel):
    member_id: str
    native_place: str | None
    degree: str | None
    school: str | None
    major: str | None
    work_unit: str | None
    position: str | None
    professional_title: str | None
    party_post: str | None
    photo_attachment_id: str | None
    version: int = Field(description="0 until first saved; send as If-Match to update")
    updated_at: datetime | None
    updated_by: str | None

    @classmethod
    def from_proto(cls, e: Any) -> ExtensionRead:
        names = [f for f in cls.model_fields if f not in ("member_id", "version", "updated_at")]
        return cls(
            member_id=e.member_id,
            version=e.version,
            updated_at=timestamp(e, "updated_at"),
            **{f: opt_str(getattr(e, f)) for f in names},
        )


# ---- family members ----


class FamilyMemberCreate(_Body):
    """家庭成员. The phone is encrypted and comes back masked."""

    name: Annotated[str, text(1, 50)] = Field(description="姓名", examples=["李梅"])
    relation: Annotated[str, text(1, 20)] = Field(description="称谓", examples=["配偶"])
    work_unit: Annotated[str, text(0, 200)] | None = Field(
        default=None, description="工作单位及职务"
    )
    political_status: Annotated[str, text(0, 30)] | None = Field(
        default=None, description="政治面貌", examples=["群众"]
    )
    phone: MobilePhone | None = None

    def to_proto(self, member_id: uuid.UUID) -> Any:
        return apb.CreateFamilyMemberRequest(
            member_id=str(member_id),
            family_member=apb.FamilyMember(**_proto_values(self, list(type(self).model_fields))),
        )


class FamilyMemberUpdate(_Patch):
    name: Annotated[str, text(1, 50)] | None = None
    relation: Annotated[str, text(1, 20)] | None = None
    work_unit: Annotated[str, text(0, 200)] | None = None
    political_status: Annotated[str, text(0, 30)] | None = None
    phone: MobilePhone | None = None

    _required = _not_null("name", "relation")

    def to_proto(self, member_id: uuid.UUID, record_id: uuid.UUID) -> Any:
        changed = self.changed_fields()
        return apb.UpdateFamilyMemberRequest(
            member_id=str(member_id),
            id=str(record_id),
            family_member=apb.FamilyMember(**_proto_values(self, changed)),
            update_mask=changed,
        )


class FamilyMemberRead(_RecordRead):
    name: str
    relation: str
    work_unit: str | None
    political_status: str | None
    phone: str | None = Field(description="masked unless revealed")
    revealed: bool

    @classmethod
    def from_proto(cls, f: Any) -> FamilyMemberRead:
        return cls(
            **_record_meta(f),
            name=f.name,
            relation=f.relation,
            work_unit=opt_str(f.work_unit),
            political_status=opt_str(f.political_status),
            phone=opt_str(f.phone),
            revealed=f.revealed,
        )


class FamilyMemberPage(Page[FamilyMemberRead]):
    pass


# ---- awards and punishments ----


class AwardCreate(_Body):
    """奖惩. A punishment's content is sensitive: redacted in lists unless revealed."""

    kind: AwardKind = Field(examples=["award"])
    title: Annotated[str, text(1, 200)] = Field(description="名称", examples=["优秀共产党员"])
    decided_on: PastDate = Field(description="日期 YYYY-MM-DD")
    issuing_body: Annotated[str, text(0, 200)] | None = Field(default=None, description="批准机关")
    document_number: Annotated[str, text(0, 100)] | None = Field(default=None, description="文号")
    note: Annotated[str, text(0, 1000)] | None = Field(default=None, description="备注")

    def to_proto(self, member_id: uuid.UUID) -> Any:
        return apb.CreateAwardRequest(
            member_id=str(member_id),
            award=apb.Award(**_proto_values(self, list(type(self).model_fields))),
        )


class AwardUpdate(_Patch):
    kind: AwardKind | None = None
    title: Annotated[str, text(1, 200)] | None = None
    decided_on: PastDate | None = None
    issuing_body: Annotated[str, text(0, 200)] | None = None
    document_number: Annotated[str, text(0, 100)] | None = None
    note: Annotated[str, text(0, 1000)] | None = None

    _required = _not_null("kind", "title", "decided_on")

    def to_proto(self, member_id: uuid.UUID, record_id: uuid.UUID) -> Any:
        changed = self.changed_fields()
        return apb.UpdateAwardRequest(
            member_id=str(member_id),
            id=str(record_id),
            award=apb.Award(**_proto_values(self, changed)),
            update_mask=changed,
        )


class AwardRead(_RecordRead):
    kind: AwardKind | None
    title: str | None
    decided_on: date | None
    issuing_body: str | None
    document_number: str | None
    note: str | None
    redacted: bool = Field(description="true: the content is hidden (a punishment, not revealed)")

    @classmethod
    def from_proto(cls, a: Any) -> AwardRead:
        return cls(
            **_record_meta(a),
            kind=from_proto(AwardKind, a.kind),
            title=opt_str(a.title),
            decided_on=_date(a.decided_on),
            issuing_body=opt_str(a.issuing_body),
            document_number=opt_str(a.document_number),
            note=opt_str(a.note),
            redacted=a.redacted,
        )


class AwardPage(Page[AwardRead]):
    pass


# ---- travel abroad ----


class TravelCreate(_Body):
    """出国出境. Dates may lie ahead (trips are recorded when approved)."""

    destination: Annotated[str, text(1, 100)] = Field(description="前往国家（地区）")
    departed_on: IsoDate = Field(description="出境日期")
    returned_on: IsoDate | None = Field(default=None, description="入境日期")
    purpose: Annotated[str, text(0, 200)] | None = Field(default=None, description="事由")
    approval: Annotated[str, text(0, 200)] | None = Field(default=None, description="审批情况")

    def to_proto(self, member_id: uuid.UUID) -> Any:
        return apb.CreateTravelRequest(
            member_id=str(member_id),
            travel=apb.Travel(**_proto_values(self, list(type(self).model_fields))),
        )


class TravelUpdate(_Patch):
    destination: Annotated[str, text(1, 100)] | None = None
    departed_on: IsoDate | None = None
    returned_on: IsoDate | None = None
    purpose: Annotated[str, text(0, 200)] | None = None
    approval: Annotated[str, text(0, 200)] | None = None

    _required = _not_null("destination", "departed_on")

    def to_proto(self, member_id: uuid.UUID, record_id: uuid.UUID) -> Any:
        changed = self.changed_fields()
        return apb.UpdateTravelRequest(
            member_id=str(member_id),
            id=str(record_id),
            travel=apb.Travel(**_proto_values(self, changed)),
            update_mask=changed,
        )


class TravelRead(_RecordRead):
    destination: str
    departed_on: date | None
    returned_on: date | None
    purpose: str | None
    approval: str | None

    @classmethod
    def from_proto(cls, t: Any) -> TravelRead:
        return cls(
            **_record_meta(t),
            destination=t.destination,
            departed_on=_date(t.departed_on),
            returned_on=_date(t.returned_on),
            purpose=opt_str(t.purpose),
            approval=opt_str(t.approval),
        )


class TravelPage(Page[TravelRead]):
    pass


# ---- hardship ----


class HardshipCreate(_Body):
    """困难情况. Description and assistance are sensitive: redacted unless revealed."""

    kind: HardshipKind
    description: Annotated[str, text(1, 1000)] = Field(description="困难情况")
    assistance: Annotated[str, text(0, 1000)] | None = Field(default=None, description="帮扶情况")
    since: PastDate = Field(description="起始日期")
    resolved_on: PastDate | None = Field(default=None, description="解除日期")

    def to_proto(self, member_id: uuid.UUID) -> Any:
        return apb.CreateHardshipRequest(
            member_id=str(member_id),
            hardship=apb.Hardship(**_proto_values(self, list(type(self).model_fields))),
        )


class HardshipUpdate(_Patch):
    kind: HardshipKind | None = None
    description: Annotated[str, text(1, 1000)] | None = None
    assistance: Annotated[str, text(0, 1000)] | None = None
    since: PastDate | None = None
    resolved_on: PastDate | None = None

    _required = _not_null("kind", "description", "since")

    def to_proto(self, member_id: uuid.UUID, record_id: uuid.UUID) -> Any:
        changed = self.changed_fields()
        return apb.UpdateHardshipRequest(
            member_id=str(member_id),
            id=str(record_id),
            hardship=apb.Hardship(**_proto_values(self, changed)),
            update_mask=changed,
        )


class HardshipRead(_RecordRead):
    kind: HardshipKind | None
    description: str | None
    assistance: str | None
    since: date | None
    resolved_on: date | None
    redacted: bool

    @classmethod
    def from_proto(cls, h: Any) -> HardshipRead:
        return cls(
            **_record_meta(h),
            kind=from_proto(HardshipKind, h.kind),
            description=opt_str(h.description),
            assistance=opt_str(h.assistance),
            since=_date(h.since),
            resolved_on=_date(h.resolved_on),
            redacted=h.redacted,
        )


class HardshipPage(Page[HardshipRead]):
    pass


# ---- tags ----


class TagAdd(_Body):
    tag: Annotated[str, text(1, 20)] = Field(
        description="标签 1–20 characters", examples=["退役军人"]
    )


class TagList(BaseModel):
    tags: list[str]


class TagCount(BaseModel):
    tag: str
    member_count: int = Field(description="members in your data scope with the tag")


class TagCountList(BaseModel):
    items: list[TagCount]


# ---- 党籍 status ----


class StatusChangeCreate(_Body):
    """A 党籍 change: to retained (保留), restored (恢复), suspended (停止), expelled (开除/出党)
    or deceased (死亡); effective today or earlier (back-dating inserts into the history)."""

    status: PartyStatus
    effective_on: PastDate = Field(description="生效日期 YYYY-MM-DD")
    reason: Annotated[str, text(1, 500)] = Field(description="原因")
    document: Annotated[str, text(0, 200)] | None = Field(default=None, description="依据文件/文号")

    def to_proto(self, member_id: uuid.UUID) -> Any:
        return apb.RecordStatusChangeRequest(
            member_id=str(member_id),
            status=enums.to_proto(self.status),  # type: ignore[arg-type]
            effective_on=self.effective_on.isoformat(),
            reason=self.reason,
            document=self.document or "",
        )


class StatusChangeRead(BaseModel):
    id: str
    member_id: str
    status: PartyStatus | None
    effective_on: date | None
    reason: str | None
    document: str | None
    recorded_by: str | None
    recorded_at: datetime | None

    @classmethod
    def from_proto(cls, c: Any) -> StatusChangeRead:
        return cls(
            id=c.id,
            member_id=c.member_id,
            status=enums.from_proto(PartyStatus, c.status),
            effective_on=_date(c.effective_on),
            reason=opt_str(c.reason),
            document=opt_str(c.document),
            recorded_by=opt_str(c.recorded_by),
            recorded_at=timestamp(c, "recorded_at"),
        )


class StatusHistory(BaseModel):
    current_status: PartyStatus | None
    items: list[StatusChangeRead] = Field(description="newest effective date first; all of it")


class StatusChangeRecorded(BaseModel):
    change: StatusChangeRead
    current_status: PartyStatus | None


class StatusAsOfRead(BaseModel):
    status: PartyStatus | None = Field(description="null before the member's history starts")
    effective_on: date | None
    change_id: str | None

    @classmethod
    def from_proto(cls, r: Any) -> StatusAsOfRead:
        return cls(
            status=enums.from_proto(PartyStatus, r.status),
            effective_on=_date(r.effective_on),
            change_id=opt_str(r.change_id),
        )


# ---- flags ----


class FlagChangeCreate(_Body):
    """Set or clear 失联 (lost_contact) or 流动 (floating). Lost contact needs the tenant's rule
    months (national default 6) since effective_on; floating needs a destination."""

    flag: MemberFlag
    active: bool = Field(description="true = set, false = cleared")
    effective_on: PastDate = Field(description="since (set) or until (cleared)")
    destination: Annotated[str, text(0, 200)] | None = Field(default=None, description="外出流向")
    reason: Annotated[str, text(0, 500)] | None = None

    def to_proto(self, member_id: uuid.UUID) -> Any:
        return apb.RecordFlagChangeRequest(
            member_id=str(member_id),
            flag=to_proto(self.flag),  # type: ignore[arg-type]
            active=self.active,
            effective_on=self.effective_on.isoformat(),
            destination=self.destination or "",
            reason=self.reason or "",
        )


class FlagChangeRead(BaseModel):
    id: str
    member_id: str
    flag: MemberFlag | None
    active: bool
    effective_on: date | None
    destination: str | None
    reason: str | None
    recorded_by: str | None
    recorded_at: datetime | None

    @classmethod
    def from_proto(cls, c: Any) -> FlagChangeRead:
        return cls(
            id=c.id,
            member_id=c.member_id,
            flag=from_proto(MemberFlag, c.flag),
            active=c.active,
            effective_on=_date(c.effective_on),
            destination=opt_str(c.destination),
            reason=opt_str(c.reason),
            recorded_by=opt_str(c.recorded_by),
            recorded_at=timestamp(c, "recorded_at"),
        )


class FlagsRead(BaseModel):
    lost_contact: bool
    lost_contact_since: date | None
    floating: bool
    floating_since: date | None
    floating_destination: str | None

    @classmethod
    def from_proto(cls, f: Any) -> FlagsRead:
        return cls(
            lost_contact=f.lost_contact,
            lost_contact_since=_date(f.lost_contact_since),
            floating=f.floating,
            floating_since=_date(f.floating_since),
            floating_destination=opt_str(f.floating_destination),
        )


class FlagHistory(BaseModel):
    flags: FlagsRead
    items: list[FlagChangeRead] = Field(description="newest first; all of it")


class FlagChangeRecorded(BaseModel):
    change: FlagChangeRead
    flags: FlagsRead


# ---- attachments ----


class AttachmentCreate(_Body):
    """Declare a file; then PUT its bytes to upload_url with upload_headers, and complete it."""

    kind: AttachmentKind = Field(examples=["scan"])
    file_name: Annotated[str, text(1, 200)] = Field(examples=["入党志愿书.pdf"])
    content_type: Annotated[str, text(1, 100)] = Field(
        description="image/jpeg, image/png or application/pdf", examples=["application/pdf"]
    )
    size: int = Field(gt=0, description="bytes")
    sha256: Annotated[str, text(0, 64)] | None = Field(default=None, description="hex, optional")

    def to_proto(self, member_id: uuid.UUID) -> Any:
        return apb.CreateAttachmentRequest(
            member_id=str(member_id),
            kind=to_proto(self.kind),  # type: ignore[arg-type]
            file_name=self.file_name,
            content_type=self.content_type,
            size=self.size,
            sha256=self.sha256 or "",
        )


class AttachmentRead(BaseModel):
    id: str
    member_id: str
    kind: AttachmentKind | None
    file_name: str
    content_type: str
    size: int
    sha256: str | None
    status: AttachmentStatus | None
    reject_reason: str | None
    created_by: str | None
    created_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def from_proto(cls, a: Any) -> AttachmentRead:
        return cls(
            id=a.id,
            member_id=a.member_id,
            kind=from_proto(AttachmentKind, a.kind),
            file_name=a.file_name,
            content_type=a.content_type,
            size=a.size,
            sha256=opt_str(a.sha256),
            status=from_proto(AttachmentStatus, a.status),
            reject_reason=opt_str(a.reject_reason),
            created_by=opt_str(a.created_by),
            created_at=timestamp(a, "created_at"),
            completed_at=timestamp(a, "completed_at"),
        )


class AttachmentPage(Page[AttachmentRead]):
    pass


class UploadTicket(BaseModel):
    attachment_id: str
    upload_url: str = Field(description="PUT the file's bytes here before upload_expires_at")
    upload_method: str = "PUT"
    upload_headers: dict[str, str]
    upload_expires_at: datetime | None
    attachment: AttachmentRead


class DownloadTicket(BaseModel):
    url: str = Field(description="short-lived; GET it (Range supported)")
    expires_at: datetime | None


# ---- field history ----


class FieldChangeRead(BaseModel):
    id: str
    changed_at: datetime | None
    changed_by: str | None
    source: str = Field(
        description="member, extension, family_member, award, travel, hardship, tag, status, "
        "flag or attachment"
    )
    record_id: str | None
    field: str
    old_value: str | None
    new_value: str | None
    personal: bool = Field(description="personal data: masked unless revealed")
    revealed: bool

    @classmethod
    def from_proto(cls, c: Any) -> FieldChangeRead:
        return cls(
            id=c.id,
            changed_at=timestamp(c, "changed_at"),
            changed_by=opt_str(c.changed_by),
            source=c.source,
            record_id=opt_str(c.record_id),
            field=c.field,
            old_value=opt_str(c.old_value),
            new_value=opt_str(c.new_value),
            personal=c.personal,
            revealed=c.revealed,
        )


class FieldChangePage(Page[FieldChangeRead]):
    pass
