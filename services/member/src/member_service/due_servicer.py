"""gRPC transport of DueService (docs/adr/0014)."""

from __future__ import annotations

from functools import partial

from hongyun.member.v1 import member_due_pb2 as pb
from hongyun.member.v1 import member_due_pb2_grpc
from hongyun_platform.db import Database
from hongyun_platform.errors import InvalidArgument
from hongyun_platform.grpc.context import ROLE_PLATFORM_ADMIN, current_caller

from member_service.domain.due_items import DueItem, DueKind
from member_service.due_view import WhatIsDue

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["DueService"].full_name
KIND_PB = {
    DueKind.DEVELOPMENT_STEP: pb.DUE_KIND_DEVELOPMENT_STEP,
    DueKind.LETTER_EXPIRING: pb.DUE_KIND_LETTER_EXPIRING,
    DueKind.COMMITTEE_TERM: pb.DUE_KIND_COMMITTEE_TERM,
    DueKind.DUES_ARREARS: pb.DUE_KIND_DUES_ARREARS,
}
KIND_FROM_PB = {v: k for k, v in KIND_PB.items()}


def _kind(value: int) -> DueKind:
    kind = KIND_FROM_PB.get(value)
    if kind is None:
        raise InvalidArgument("待办类型无效 (invalid kind)", code="invalid_kind", field="kinds")
    return kind


class DueServicer(member_due_pb2_grpc.DueServiceServicer):
    def __init__(self, db: Database, due: WhatIsDue):
        self.db = db
        self.due = due

    async def ListDue(self, request: pb.ListDueRequest, context) -> pb.ListDueResponse:
        caller = current_caller()
        kinds = [_kind(k) for k in request.kinds]
        view = await self.due.view(
            partial(self.db.unit_of_work, caller.tenant_id,
                    platform_admin=caller.has_role(ROLE_PLATFORM_ADMIN), read_only=True),
            caller, organization_id=request.organization_id, kinds=kinds, limit=request.limit,
        )  # fmt: skip
        return pb.ListDueResponse(
            as_of=view.as_of.isoformat(),
            sections=[
                pb.DueSection(
                    kind=KIND_PB[s.kind],
                    total=s.page.total,
                    overdue=s.page.overdue,
                    items=[_item(i, view.as_of) for i in s.page.items],
                )
                for s in view.sections
            ],
        )


def _item(i: DueItem, today) -> pb.DueItem:
    return pb.DueItem(
        kind=KIND_PB[i.kind],
        organization_id=str(i.organization_id),
        subject_id=str(i.subject_id),
        subject_label=i.subject_label,
        title=i.title,
        due_on=i.due_on.isoformat(),
        overdue=i.overdue(today),
        days_left=i.days_left(today),
        rule_key=i.rule_key,
        rule_citation=i.rule_citation,
        rule_source=i.rule_source,
        detail=i.detail,
    )
