"""An in-memory RelationshipTransferService for gateway tests (same server and store as
FakeMemberService): roles, tenant and scope (outside is NOT_FOUND), the letter states with their
refusals (FAILED_PRECONDITION letter_state / letter_scope / open_letter_exists, ABORTED
version_conflict), members moving on receive, and a fake PDF. The real rules live in the member
service (member_service.letters); this only mimics its contract as the gateway sees it."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from hongyun.member.v1 import member_letters_pb2 as lpb
from hongyun.member.v1 import member_letters_pb2_grpc
from hongyun.member.v1 import member_pb2 as pb
from hongyun_platform.grpc.context import ROLE_SECRETARY, ROLE_TENANT_ADMIN

FAKE_PDF = b"%PDF-1.4\n% fake three-part letter\n%%EOF\n"
OPEN = {lpb.LETTER_STATE_DRAFT, lpb.LETTER_STATE_APPROVED, lpb.LETTER_STATE_ISSUED}
STATE_NAMES = {v: k.removeprefix("LETTER_STATE_").lower() for k, v in lpb.LetterState.items()}
# (state, step) → next state; the scope rules of receive / receipt are checked separately.
MOVES = {
    (lpb.LETTER_STATE_DRAFT, "approve"): lpb.LETTER_STATE_APPROVED,
    (lpb.LETTER_STATE_APPROVED, "issue"): lpb.LETTER_STATE_ISSUED,
    (lpb.LETTER_STATE_ISSUED, "receive"): lpb.LETTER_STATE_RECEIVED,
    (lpb.LETTER_STATE_RECEIVED, "receipt"): lpb.LETTER_STATE_RECEIPT_RETURNED,
    (lpb.LETTER_STATE_ISSUED, "receipt"): lpb.LETTER_STATE_RECEIPT_RETURNED,
    **{(s, "revoke"): lpb.LETTER_STATE_REVOKED for s in (*OPEN, lpb.LETTER_STATE_EXPIRED)},
}


def _now() -> Timestamp:
    ts = Timestamp()
    ts.GetCurrentTime()
    return ts


class FakeLetters(member_letters_pb2_grpc.RelationshipTransferServiceServicer):
    def __init__(self, members: Any) -> None:
        self.members = members
        self._store: Any = None
        self._letters: dict[str, lpb.Letter] = {}
        self.counter = 0

    @property
    def letters(self) -> dict[str, lpb.Letter]:
        if self._store is not self.members.store:  # the member fake was reset
            self._store, self._letters = self.members.store, {}
        return self._letters

    # ---- helpers ----

    async def _caller(self, method: str, request: Any, context: Any) -> Any:
        svc = self.members
        caller = await svc._begin(method, request, context)
        if not caller.has_role(ROLE_TENANT_ADMIN, ROLE_SECRETARY):
            await svc._fail(context, grpc.StatusCode.PERMISSION_DENIED, "permission_denied",
                            "requires one of the roles: secretary, tenant_admin")  # fmt: skip
        await svc._tenant(caller, context)
        return caller

    async def _not_found(self, context: Any) -> None:
        await self.members._fail(context, grpc.StatusCode.NOT_FOUND, "letter_not_found",
                                 "介绍信不存在 (letter not found)")  # fmt: skip

    def _outgoing(self, caller: Any, x: lpb.Letter) -> bool:
        return x.tenant_id == str(caller.tenant_id) and self.members._in_scope(
            caller, x.from_organization_id
        )

    def _incoming(self, caller: Any, x: lpb.Letter) -> bool:
        svc, tenant = self.members, str(caller.tenant_id)
        if x.receiving_tenant_id == tenant and x.issued_on:
            return caller.scope_org_id is None
        return (
            x.tenant_id == tenant
            and x.scope == lpb.LETTER_SCOPE_WITHIN_TENANT
            and svc._in_scope(caller, x.to_organization_id)
        )

    def _view(self, caller: Any, x: lpb.Letter) -> lpb.Letter:
        out = lpb.Letter()
        out.CopyFrom(x)
        out.direction = (
            lpb.LETTER_DIRECTION_OUTGOING if self._outgoing(caller, x)
            else lpb.LETTER_DIRECTION_INCOMING
        )  # fmt: skip
        return out

    async def _letter(self, caller: Any, letter_id: str, context: Any, *, sender: bool) -> Any:
        x = self.letters.get(letter_id)
        if x is None or not (
            self._outgoing(caller, x) or (not sender and self._incoming(caller, x))
        ):
            await self._not_found(context)
        return x

    async def _step(self, context: Any, x: lpb.Letter, step: str, expected: int) -> None:
        if expected and expected != x.version:
            await self.members._fail(context, grpc.StatusCode.ABORTED, "version_conflict",
                                     f"介绍信已被他人处理 (version {x.version})")  # fmt: skip
        nxt = MOVES.get((x.state, step))
        if nxt is None:
            state = STATE_NAMES[x.state]
            await self.members._fail(context, grpc.StatusCode.FAILED_PRECONDITION, "letter_state",
                                     f"介绍信状态为{state}，不能办理 (a letter in state {state} "
                                     f"cannot be {step}d)")  # fmt: skip
        x.state = nxt
        x.version += 1

    # ---- RPCs ----

    async def CreateLetter(self, request: lpb.CreateLetterRequest, context: Any) -> Any:
        caller = await self._caller("CreateLetter", request, context)
        svc, tenant = self.members, str(caller.tenant_id)
        m = await svc._member(caller, request.member_id, context)
        if any(x.member_id == m.id and x.state in OPEN for x in self.letters.values()):
            await svc._fail(context, grpc.StatusCode.FAILED_PRECONDITION, "open_letter_exists",
                            "该党员已有未完成的介绍信 (the member already has an open letter)")  # fmt: skip
        dest = request.destination
        if request.scope == lpb.LETTER_SCOPE_WITHIN_TENANT:
            org = svc.store.organizations.get(request.to_organization_id)
            if org is None or org.tenant_id != tenant:
                await svc._fail(context, grpc.StatusCode.NOT_FOUND, "organization_not_found",
                                "接收组织不存在", "to_organization_id")  # fmt: skip
            dest = org.name
        elif request.scope == lpb.LETTER_SCOPE_CROSS_TENANT:
            sibling = {t.id: t for t in self._siblings(tenant)}.get(request.receiving_tenant_id)
            if sibling is None:
                await svc._fail(context, grpc.StatusCode.NOT_FOUND, "receiving_tenant_not_found",
                                "接收租户不存在或不是同级租户", "receiving_tenant_id")  # fmt: skip
            dest = dest or sibling.name
        from_org = svc.store.organizations[m.organization_id]
        x = lpb.Letter(
            id=str(uuid.uuid4()), tenant_id=tenant, receiving_tenant_id=request.receiving_tenant_id,
            scope=request.scope, state=lpb.LETTER_STATE_DRAFT, member_id=m.id,
            member_name=m.profile.name, member_gender=m.profile.gender,
            member_birth_date=m.profile.birth_date, member_ethnicity=m.profile.ethnicity,
            member_category=m.profile.category, member_id_number="1101**********0011",
            from_organization_id=from_org.id, from_organization_name=from_org.name,
            to_organization_id=request.to_organization_id, destination=dest,
            dues_paid_until=request.dues_paid_until, reason=request.reason,
            created_at=_now(), created_by=caller.user_id, version=1,
        )  # fmt: skip
        self.letters[x.id] = x
        return lpb.CreateLetterResponse(letter=self._view(caller, x))

    async def ApproveLetter(self, request: lpb.ApproveLetterRequest, context: Any) -> Any:
        caller = await self._caller("ApproveLetter", request, context)
        x = await self._letter(caller, request.id, context, sender=True)
        await self._step(context, x, "approve", request.expected_version)
        x.approved_by = caller.user_id
        x.approved_at.CopyFrom(_now())
        return lpb.ApproveLetterResponse(letter=self._view(caller, x))

    async def IssueLetter(self, request: lpb.IssueLetterRequest, context: Any) -> Any:
        caller = await self._caller("IssueLetter", request, context)
        x = await self._letter(caller, request.id, context, sender=True)
        await self._step(context, x, "issue", request.expected_version)
        self.counter += 1
        today = date.today()
        x.letter_number = f"〔{today.year}〕第{self.counter:05d}号"
        x.valid_days, x.issued_on = 30, today.isoformat()
        x.valid_until = (today + timedelta(days=30)).isoformat()
        x.validity_source, x.validity_citation = 1, "各地规定不一（domain.md §6）"
        x.issued_by = caller.user_id
        x.issued_at.CopyFrom(_now())
        return lpb.IssueLetterResponse(letter=self._view(caller, x))

    async def ReceiveLetter(self, request: lpb.ReceiveLetterRequest, context: Any) -> Any:
        caller = await self._caller("ReceiveLetter", request, context)
        svc, tenant = self.members, str(caller.tenant_id)
        x = await self._letter(caller, request.id, context, sender=False)
        if x.scope == lpb.LETTER_SCOPE_OUT_OF_PLATFORM:
            await svc._fail(context, grpc.StatusCode.FAILED_PRECONDITION, "letter_scope",
                            "转出平台的介绍信没有平台内的接收方")  # fmt: skip
        org = svc.store.organizations.get(request.organization_id)
        if org is None or org.tenant_id != tenant or not svc._in_scope(caller, org.id):
            await svc._fail(context, grpc.StatusCode.NOT_FOUND, "organization_not_found",
                            "接收组织不存在", "organization_id")  # fmt: skip
        await self._step(context, x, "receive", request.expected_version)
        m = svc.store.members[x.member_id]
        if x.scope == lpb.LETTER_SCOPE_WITHIN_TENANT:
            m.organization_id = org.id
            received = m.id
        else:
            copy = pb.Member()
            copy.CopyFrom(m)
            copy.id, copy.tenant_id, copy.organization_id = str(uuid.uuid4()), tenant, org.id
            svc.store.members[copy.id] = copy
            del svc.store.members[m.id]  # departed: no longer listed in the sending tenant
            received = copy.id
        x.placed_organization_id, x.received_member_id = org.id, received
        x.reported_on = request.reported_on or date.today().isoformat()
        x.received_by = caller.user_id
        x.received_at.CopyFrom(_now())
        return lpb.ReceiveLetterResponse(letter=self._view(caller, x), member_id=received)

    async def ConfirmReceipt(self, request: lpb.ConfirmReceiptRequest, context: Any) -> Any:
        caller = await self._caller("ConfirmReceipt", request, context)
        svc = self.members
        x = await self._letter(caller, request.id, context, sender=True)
        out = x.scope == lpb.LETTER_SCOPE_OUT_OF_PLATFORM
        if x.state == lpb.LETTER_STATE_ISSUED and not out:
            await svc._fail(context, grpc.StatusCode.FAILED_PRECONDITION, "letter_scope",
                            "平台内的介绍信须先由接收方报到")  # fmt: skip
        if out and not request.reported_on:
            await svc._fail(context, grpc.StatusCode.INVALID_ARGUMENT, "required",
                            "请填写回执上的报到日期", "reported_on")  # fmt: skip
        await self._step(context, x, "receipt", request.expected_version)
        if out:
            x.reported_on = request.reported_on
            svc.store.members.pop(x.member_id, None)
        x.receipt_by = caller.user_id
        x.receipt_at.CopyFrom(_now())
        return lpb.ConfirmReceiptResponse(letter=self._view(caller, x))

    async def RevokeLetter(self, request: lpb.RevokeLetterRequest, context: Any) -> Any:
        caller = await self._caller("RevokeLetter", request, context)
        x = await self._letter(caller, request.id, context, sender=True)
        if not request.reason.strip():
            await self.members._fail(context, grpc.StatusCode.INVALID_ARGUMENT, "required",
                                     "请填写撤销原因", "reason")  # fmt: skip
        await self._step(context, x, "revoke", request.expected_version)
        x.revoke_reason, x.revoked_by = request.reason, caller.user_id
        x.revoked_at.CopyFrom(_now())
        return lpb.RevokeLetterResponse(letter=self._view(caller, x))

    async def GetLetter(self, request: lpb.GetLetterRequest, context: Any) -> Any:
        caller = await self._caller("GetLetter", request, context)
        x = await self._letter(caller, request.id, context, sender=False)
        return lpb.GetLetterResponse(letter=self._view(caller, x))

    async def ListLetters(self, request: lpb.ListLettersRequest, context: Any) -> Any:
        caller = await self._caller("ListLetters", request, context)
        want_out = request.direction != lpb.LETTER_DIRECTION_INCOMING
        want_in = request.direction != lpb.LETTER_DIRECTION_OUTGOING
        items = [
            self._view(caller, x)
            for x in self.letters.values()
            if ((want_out and self._outgoing(caller, x)) or (want_in and self._incoming(caller, x)))
            and (not request.state or x.state == request.state)
            and (not request.scope or x.scope == request.scope)
        ]
        chunk, nxt = self.members._page(items, request.page_size, request.page_token)
        return lpb.ListLettersResponse(letters=chunk, next_page_token=nxt)

    async def PrintLetter(self, request: lpb.PrintLetterRequest, context: Any) -> Any:
        caller = await self._caller("PrintLetter", request, context)
        x = await self._letter(caller, request.id, context, sender=True)
        if not x.letter_number or x.state == lpb.LETTER_STATE_REVOKED:
            await self.members._fail(context, grpc.StatusCode.FAILED_PRECONDITION, "letter_state",
                                     "开具后方可打印 (only an issued letter can be printed)")  # fmt: skip
        return lpb.PrintLetterResponse(
            file_name=f"介绍信-{x.letter_number}-{x.member_name}.pdf",
            content_type="application/pdf",
            content=FAKE_PDF,
        )

    def _siblings(self, tenant_id: str) -> list[pb.Tenant]:
        tenants = self.members.store.tenants
        own = tenants.get(tenant_id)
        if own is None or not own.parent_id:
            return []
        return [t for t in tenants.values() if t.parent_id == own.parent_id and t.id != tenant_id]

    async def ListLetterDestinations(
        self, request: lpb.ListLetterDestinationsRequest, context: Any
    ) -> Any:
        caller = await self._caller("ListLetterDestinations", request, context)
        return lpb.ListLetterDestinationsResponse(
            destinations=[
                lpb.LetterDestination(tenant_id=t.id, name=t.name, code=t.code)
                for t in self._siblings(str(caller.tenant_id))
            ]
        )


def add_letters_fake(server: grpc.aio.Server, members: Any) -> FakeLetters:
    fake = FakeLetters(members)
    member_letters_pb2_grpc.add_RelationshipTransferServiceServicer_to_server(fake, server)
    members.letters_fake = fake
    return fake
