"""gRPC transport of RelationshipTransferService (docs/adr/0016): proto in, use case in one unit
of work, proto out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from hongyun.member.v1 import member_letters_pb2 as pb
from hongyun.member.v1 import member_letters_pb2_grpc, rules_pb2
from hongyun_platform.db import Database
from hongyun_platform.db.caller_uow import caller_unit_of_work
from hongyun_platform.errors import InvalidArgument
from hongyun_platform.grpc.context import CallerContext, current_caller

from member_service.domain import rules as r
from member_service.domain.letters import LetterScope, LetterState, format_dues_month
from member_service.letter_events import SCOPE, STATE
from member_service.letter_print import PDF_TYPE
from member_service.letters import LetterView, RelationshipTransfers
from member_service.mappers import timestamp

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["RelationshipTransferService"].full_name
SCOPE_FROM_PB = {v: k for k, v in SCOPE.items()}
STATE_FROM_PB = {v: k for k, v in STATE.items()}
SOURCE = {
    r.RuleSource.NATIONAL.value: rules_pb2.RULE_SOURCE_NATIONAL,
    r.RuleSource.TENANT.value: rules_pb2.RULE_SOURCE_TENANT,
    r.RuleSource.INHERITED.value: rules_pb2.RULE_SOURCE_INHERITED,
}


def _day(d: date | None) -> str:
    return d.isoformat() if d else ""


def _s(value: object) -> str:
    return str(value) if value is not None else ""


def letter_to_pb(view: LetterView) -> pb.Letter:
    x = view.letter
    msg = pb.Letter(
        id=str(x.id), tenant_id=str(x.tenant_id), receiving_tenant_id=_s(x.receiving_tenant_id),
        scope=SCOPE[LetterScope(x.scope)], state=STATE[LetterState(x.state)],
        direction=(pb.LETTER_DIRECTION_OUTGOING if view.outgoing
                   else pb.LETTER_DIRECTION_INCOMING),
        member_id=str(x.member_id), member_name=x.member_name,
        member_gender=x.member_gender,  # type: ignore[arg-type]
        member_birth_date=_day(x.member_birth_date), member_ethnicity=x.member_ethnicity,
        member_category=x.member_category,  # type: ignore[arg-type]
        member_id_number=view.id_number,
        from_organization_id=str(x.from_organization_id),
        from_organization_name=x.from_organization_name,
        to_organization_id=_s(x.to_organization_id), destination=x.destination,
        placed_organization_id=_s(x.placed_organization_id),
        received_member_id=_s(x.received_member_id),
        dues_paid_until=format_dues_month(x.dues_paid_until), reason=x.reason,
        letter_number=x.letter_number or "", valid_days=x.valid_days or 0,
        issued_on=_day(x.issued_on), valid_until=_day(x.valid_until),
        reported_on=_day(x.reported_on),
        validity_source=SOURCE.get(x.validity_source, rules_pb2.RULE_SOURCE_UNSPECIFIED),
        validity_citation=x.validity_citation, created_by=x.created_by,
        approved_by=x.approved_by, issued_by=x.issued_by, received_by=x.received_by,
        receipt_by=x.receipt_by, revoked_by=x.revoked_by, revoke_reason=x.revoke_reason,
        version=x.version,
    )  # fmt: skip
    for name in ("created_at", "approved_at", "issued_at", "received_at", "receipt_at",
                 "revoked_at", "expired_at"):  # fmt: skip
        value = getattr(x, name)
        if value is not None:
            getattr(msg, name).CopyFrom(timestamp(value))
    return msg


def _scope(value: int) -> LetterScope | None:
    """None when unspecified (create refuses that; list means any)."""
    if value == pb.LETTER_SCOPE_UNSPECIFIED:
        return None
    if value not in SCOPE_FROM_PB:
        raise InvalidArgument("转接范围无效 (unknown scope)", code="invalid_enum", field="scope")
    return SCOPE_FROM_PB[value]  # type: ignore[index]


class RelationshipTransferServicer(member_letters_pb2_grpc.RelationshipTransferServiceServicer):
    def __init__(
        self,
        db: Database,
        transfers: RelationshipTransfers,
        after_commit: Callable[[], None] = lambda: None,
    ):
        self.db = db
        self.transfers = transfers
        self.after_commit = after_commit  # wakes the outbox relay

    def _uow(self, caller: CallerContext, *, writes: bool = True):
        return caller_unit_of_work(self.db, caller, self.after_commit, writes=writes)

    async def CreateLetter(
        self, request: pb.CreateLetterRequest, context
    ) -> pb.CreateLetterResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            view = await self.transfers.create(
                uow, caller, member_id=request.member_id,
                scope=_scope(request.scope),
                to_organization_id=request.to_organization_id,
                receiving_tenant_id=request.receiving_tenant_id,
                destination=request.destination, dues_paid_until=request.dues_paid_until,
                reason=request.reason,
            )  # fmt: skip
        return pb.CreateLetterResponse(letter=letter_to_pb(view))

    async def ApproveLetter(
        self, request: pb.ApproveLetterRequest, context
    ) -> pb.ApproveLetterResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            view = await self.transfers.approve(
                uow, caller, request.id, expected_version=request.expected_version
            )
        return pb.ApproveLetterResponse(letter=letter_to_pb(view))

    async def IssueLetter(self, request: pb.IssueLetterRequest, context) -> pb.IssueLetterResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            view = await self.transfers.issue(
                uow, caller, request.id, expected_version=request.expected_version
            )
        return pb.IssueLetterResponse(letter=letter_to_pb(view))

    async def ReceiveLetter(
        self, request: pb.ReceiveLetterRequest, context
    ) -> pb.ReceiveLetterResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            view, member_id = await self.transfers.receive(
                uow, caller, request.id, organization_id=request.organization_id,
                reported_on=request.reported_on, expected_version=request.expected_version,
            )  # fmt: skip
        return pb.ReceiveLetterResponse(letter=letter_to_pb(view), member_id=str(member_id))

    async def ConfirmReceipt(
        self, request: pb.ConfirmReceiptRequest, context
    ) -> pb.ConfirmReceiptResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            view = await self.transfers.confirm_receipt(
                uow, caller, request.id, reported_on=request.reported_on,
                expected_version=request.expected_version,
            )  # fmt: skip
        return pb.ConfirmReceiptResponse(letter=letter_to_pb(view))

    async def RevokeLetter(
        self, request: pb.RevokeLetterRequest, context
    ) -> pb.RevokeLetterResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            view = await self.transfers.revoke(
                uow, caller, request.id, reason=request.reason,
                expected_version=request.expected_version,
            )  # fmt: skip
        return pb.RevokeLetterResponse(letter=letter_to_pb(view))

    async def GetLetter(self, request: pb.GetLetterRequest, context) -> pb.GetLetterResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            view = await self.transfers.get(uow, caller, request.id)
        return pb.GetLetterResponse(letter=letter_to_pb(view))

    async def ListLetters(self, request: pb.ListLettersRequest, context) -> pb.ListLettersResponse:
        caller = current_caller()
        direction = request.direction
        if direction not in (pb.LETTER_DIRECTION_UNSPECIFIED, pb.LETTER_DIRECTION_OUTGOING,
                             pb.LETTER_DIRECTION_INCOMING):  # fmt: skip
            raise InvalidArgument("方向无效 (unknown direction)", code="invalid_enum",
                                  field="direction")  # fmt: skip
        state = None
        if request.state:
            if request.state not in STATE_FROM_PB:
                raise InvalidArgument("状态无效 (unknown state)", code="invalid_enum",
                                      field="state")  # fmt: skip
            state = STATE_FROM_PB[request.state]
        async with self._uow(caller, writes=False) as uow:
            views, token = await self.transfers.list_letters(
                uow, caller,
                outgoing=direction != pb.LETTER_DIRECTION_INCOMING,
                incoming=direction != pb.LETTER_DIRECTION_OUTGOING,
                state=state, scope=_scope(request.scope),
                organization_id=request.organization_id, page_size=request.page_size,
                page_token=request.page_token,
            )  # fmt: skip
        return pb.ListLettersResponse(
            letters=[letter_to_pb(v) for v in views], next_page_token=token
        )

    async def PrintLetter(self, request: pb.PrintLetterRequest, context) -> pb.PrintLetterResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:  # writes the audit row
            printed = await self.transfers.print_letter(uow, caller, request.id)
        return pb.PrintLetterResponse(
            file_name=printed.file_name, content_type=PDF_TYPE, content=printed.content
        )

    async def ListLetterDestinations(
        self, request: pb.ListLetterDestinationsRequest, context
    ) -> pb.ListLetterDestinationsResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            found = await self.transfers.destinations(uow, caller)
        return pb.ListLetterDestinationsResponse(
            destinations=[
                pb.LetterDestination(tenant_id=str(d.tenant_id), name=d.name, code=d.code)
                for d in found
            ]
        )
