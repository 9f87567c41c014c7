"""gRPC transport of OrganizationAdminService and RuleService (docs/adr/0007): proto in, use case
in one unit of work, proto out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from hongyun.member.v1 import organization_admin_pb2 as pb
from hongyun.member.v1 import organization_admin_pb2_grpc, rules_pb2, rules_pb2_grpc
from hongyun_platform.db import Database
from hongyun_platform.db.caller_uow import caller_unit_of_work
from hongyun_platform.grpc.context import CallerContext, current_caller

from member_service.domain import org_path
from member_service.domain import rules as r
from member_service.domain.committee_terms import UnitKind
from member_service.domain.org_history import ChangeKind, OrgStatus
from member_service.mappers import timestamp
from member_service.org_models import CommitteeTerm
from member_service.organizations import OrganizationAdmin, VersionView
from member_service.rules import RuleBook

STATUS = {
    OrgStatus.ACTIVE: pb.ORGANIZATION_STATUS_ACTIVE,
    OrgStatus.DISSOLVED: pb.ORGANIZATION_STATUS_DISSOLVED,
    OrgStatus.MERGED: pb.ORGANIZATION_STATUS_MERGED,
}
CHANGE = {
    ChangeKind.CREATED: pb.ORGANIZATION_CHANGE_CREATED,
    ChangeKind.RENAMED: pb.ORGANIZATION_CHANGE_RENAMED,
    ChangeKind.MOVED: pb.ORGANIZATION_CHANGE_MOVED,
    ChangeKind.ANCESTOR_MOVED: pb.ORGANIZATION_CHANGE_ANCESTOR_MOVED,
    ChangeKind.MERGED: pb.ORGANIZATION_CHANGE_MERGED,
    ChangeKind.PARENT_MERGED: pb.ORGANIZATION_CHANGE_PARENT_MERGED,
    ChangeKind.DISSOLVED: pb.ORGANIZATION_CHANGE_DISSOLVED,
}
UNIT_KIND = {
    UnitKind.VILLAGE_COMMUNITY: pb.COMMITTEE_UNIT_KIND_VILLAGE_COMMUNITY,
    UnitKind.OTHER: pb.COMMITTEE_UNIT_KIND_OTHER,
}
UNIT_KIND_FROM_PB = {v: k for k, v in UNIT_KIND.items()}
SOURCE = {
    r.RuleSource.NATIONAL: rules_pb2.RULE_SOURCE_NATIONAL,
    r.RuleSource.TENANT: rules_pb2.RULE_SOURCE_TENANT,
    r.RuleSource.INHERITED: rules_pb2.RULE_SOURCE_INHERITED,
}


def _day(d: date | None) -> str:
    return d.isoformat() if d else ""


def version_to_pb(view: VersionView) -> pb.OrganizationVersion:
    v, s = view.version, view.version.state
    msg = pb.OrganizationVersion(
        organization_id=str(s.organization_id),
        parent_id=str(s.parent_id or ""),
        name=s.name,
        type=s.type,  # type: ignore[arg-type]
        status=STATUS[s.status],
        depth=org_path.depth(s.path),
        valid_from=_day(v.valid_from),
        valid_to=_day(v.valid_to),
        change=CHANGE[v.change],
        changed_by=v.changed_by,
        reason=v.reason,
        merged_into_id=str(s.merged_into_id or ""),
    )
    if view.recorded_at:
        msg.recorded_at.CopyFrom(timestamp(view.recorded_at))
    return msg


def term_to_pb(t: CommitteeTerm) -> pb.CommitteeTerm:
    return pb.CommitteeTerm(
        id=str(t.id),
        organization_id=str(t.organization_id),
        unit_kind=UNIT_KIND[UnitKind(t.unit_kind)],
        started_on=_day(t.started_on),
        term_years=t.term_years,
        ends_on=_day(t.ends_on),
        committee_members=t.committee_members or 0,
        rule_citation=t.rule_citation,
        note=t.note,
        created_at=timestamp(t.created_at),
        created_by=t.created_by,
    )


def rule_to_pb(e: r.EffectiveRule) -> rules_pb2.EffectiveRule:
    spec = r.SPECS.get(e.key)
    return rules_pb2.EffectiveRule(
        key=e.key,
        title_zh=spec.title_zh if spec else "",
        title_en=spec.title_en if spec else "",
        value_json=e.value_json(),
        citation=e.citation,
        effective_from=_day(e.effective_from),
        note=e.note,
        source=SOURCE[e.source],
        source_tenant_id=str(e.source_tenant_id or ""),
        national_value_json=r.dump_value(e.national.value) if e.national else "",
        national_citation=e.national.citation if e.national else "",
    )


class _Transport:
    def __init__(self, db: Database, after_commit: Callable[[], None]):
        self.db = db
        self.after_commit = after_commit  # wakes the outbox relay

    def _uow(self, caller: CallerContext, *, writes: bool = True):
        return caller_unit_of_work(self.db, caller, self.after_commit, writes=writes)


class OrganizationAdminServicer(
    _Transport, organization_admin_pb2_grpc.OrganizationAdminServiceServicer
):
    def __init__(
        self,
        db: Database,
        admin: OrganizationAdmin,
        after_commit: Callable[[], None] = lambda: None,
    ):
        super().__init__(db, after_commit)
        self.admin = admin

    async def RenameOrganization(
        self, request: pb.RenameOrganizationRequest, context
    ) -> pb.RenameOrganizationResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            v = await self.admin.rename(
                uow, caller, request.id, name=request.name,
                effective_on=request.effective_on, reason=request.reason,
            )  # fmt: skip
        return pb.RenameOrganizationResponse(organization=version_to_pb(v))

    async def MoveOrganization(
        self, request: pb.MoveOrganizationRequest, context
    ) -> pb.MoveOrganizationResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            res = await self.admin.move(
                uow, caller, request.id, new_parent_id=request.new_parent_id,
                effective_on=request.effective_on, reason=request.reason,
            )  # fmt: skip
        return pb.MoveOrganizationResponse(
            organization=version_to_pb(res.organization), moved_organizations=res.moved
        )

    async def MergeOrganization(
        self, request: pb.MergeOrganizationRequest, context
    ) -> pb.MergeOrganizationResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            res = await self.admin.merge(
                uow, caller, request.id, target_id=request.target_id,
                effective_on=request.effective_on, reason=request.reason,
            )  # fmt: skip
        return pb.MergeOrganizationResponse(
            source=version_to_pb(res.source),
            target=version_to_pb(res.target),
            moved_members=res.moved_members,
            moved_child_organizations=res.moved_children,
        )

    async def DissolveOrganization(
        self, request: pb.DissolveOrganizationRequest, context
    ) -> pb.DissolveOrganizationResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            v = await self.admin.dissolve(
                uow, caller, request.id, effective_on=request.effective_on, reason=request.reason
            )
        return pb.DissolveOrganizationResponse(organization=version_to_pb(v))

    async def ListOrganizationHistory(
        self, request: pb.ListOrganizationHistoryRequest, context
    ) -> pb.ListOrganizationHistoryResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            views, token = await self.admin.history(
                uow, caller, request.id, page_size=request.page_size, page_token=request.page_token
            )
        return pb.ListOrganizationHistoryResponse(
            versions=[version_to_pb(v) for v in views], next_page_token=token
        )

    async def GetOrganizationTree(
        self, request: pb.GetOrganizationTreeRequest, context
    ) -> pb.GetOrganizationTreeResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            page = await self.admin.tree(
                uow, caller, as_of=request.as_of, root_id=request.root_id,
                max_depth=request.max_depth, page_size=request.page_size,
                page_token=request.page_token,
            )  # fmt: skip
        return pb.GetOrganizationTreeResponse(
            as_of=page.as_of.isoformat(),
            root_id=str(page.root_id),
            organizations=[version_to_pb(v) for v in page.versions],
            next_page_token=page.next_token,
        )

    async def GetOrganizationHealth(
        self, request: pb.GetOrganizationHealthRequest, context
    ) -> pb.GetOrganizationHealthResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            h = await self.admin.health(uow, caller, request.id)
        resp = pb.GetOrganizationHealthResponse(
            organization_id=str(h.organization.id),
            type=h.organization.type,  # type: ignore[arg-type]
            full_members=h.counts.full_members,
            members=h.counts.members,
            warnings=[
                pb.OrganizationWarning(
                    code=w.code,
                    rule=rule_to_pb(w.rule),
                    message_zh=w.message_zh,
                    message_en=w.message_en,
                )
                for w in h.warnings
            ],
            as_of=h.as_of.isoformat(),
        )
        if h.latest_term is not None:
            resp.latest_term.CopyFrom(term_to_pb(h.latest_term))
        return resp

    async def RecordCommitteeTerm(
        self, request: pb.RecordCommitteeTermRequest, context
    ) -> pb.RecordCommitteeTermResponse:
        caller = current_caller()
        kind = UNIT_KIND_FROM_PB.get(request.unit_kind)
        async with self._uow(caller) as uow:
            term = await self.admin.record_term(
                uow, caller, request.organization_id,
                unit_kind=kind.value if kind else "",
                started_on=request.started_on,
                committee_members=request.committee_members or None,
                term_years_given=request.term_years, note=request.note,
            )  # fmt: skip
        return pb.RecordCommitteeTermResponse(term=term_to_pb(term))

    async def ListCommitteeTerms(
        self, request: pb.ListCommitteeTermsRequest, context
    ) -> pb.ListCommitteeTermsResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            terms, token = await self.admin.list_terms(
                uow, caller, request.organization_id,
                page_size=request.page_size, page_token=request.page_token,
            )  # fmt: skip
        return pb.ListCommitteeTermsResponse(
            terms=[term_to_pb(t) for t in terms], next_page_token=token
        )


class RuleServicer(_Transport, rules_pb2_grpc.RuleServiceServicer):
    def __init__(
        self, db: Database, rules: RuleBook, after_commit: Callable[[], None] = lambda: None
    ):
        super().__init__(db, after_commit)
        self.rules = rules

    async def ListRules(
        self, request: rules_pb2.ListRulesRequest, context
    ) -> rules_pb2.ListRulesResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            found = await self.rules.list_rules(
                uow, caller, as_of=request.as_of, key_prefix=request.key_prefix
            )
        return rules_pb2.ListRulesResponse(rules=[rule_to_pb(e) for e in found])

    async def GetRule(
        self, request: rules_pb2.GetRuleRequest, context
    ) -> rules_pb2.GetRuleResponse:
        caller = current_caller()
        async with self._uow(caller, writes=False) as uow:
            e = await self.rules.get_rule(uow, caller, key=request.key, as_of=request.as_of)
        return rules_pb2.GetRuleResponse(rule=rule_to_pb(e))

    async def SetRuleOverride(
        self, request: rules_pb2.SetRuleOverrideRequest, context
    ) -> rules_pb2.SetRuleOverrideResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            e = await self.rules.set_override(
                uow, caller, key=request.key, value_json=request.value_json,
                citation=request.citation, effective_from=request.effective_from,
                note=request.note,
            )  # fmt: skip
        return rules_pb2.SetRuleOverrideResponse(rule=rule_to_pb(e))

    async def DeleteRuleOverride(
        self, request: rules_pb2.DeleteRuleOverrideRequest, context
    ) -> rules_pb2.DeleteRuleOverrideResponse:
        caller = current_caller()
        async with self._uow(caller) as uow:
            e = await self.rules.delete_override(
                uow, caller, key=request.key, reason=request.reason
            )
        return rules_pb2.DeleteRuleOverrideResponse(rule=rule_to_pb(e))
