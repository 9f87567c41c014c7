"""Use cases of the member service. No transport imports; raises DomainError; never commits
(the caller's unit of work does, once)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from hongyun_platform.crypto import FieldCipher
from hongyun_platform.db import Page, UnitOfWork
from hongyun_platform.errors import (
    AlreadyExists,
    Conflict,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from hongyun_platform.grpc.context import (
    ROLE_PLATFORM_ADMIN,
    ROLE_SECRETARY,
    ROLE_TENANT_ADMIN,
    CallerContext,
)
from hongyun_platform.ids import new_id
from sqlalchemy.exc import IntegrityError

from member_service import archive_status, events
from member_service.domain import masking, org_path
from member_service.domain.profile import PERSONAL_FIELDS, PROFILE_FIELDS, Profile, validate_profile
from member_service.models import AuditEntry, Member, Organization, Tenant
from member_service.repository import Repositories
from member_service.search_keys import apply_search_keys

MANAGERS = (ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN, ROLE_SECRETARY)
MAY_REVEAL = (ROLE_TENANT_ADMIN, ROLE_SECRETARY)  # platform operators never see personal data
ORG_TYPES = range(1, 6)
TENANT_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
MASKERS = {
    "id_number": masking.mask_id_number,
    "mobile_phone": masking.mask_phone,
    "landline": masking.mask_landline,
    "home_address": masking.mask_address,
}


@dataclass(frozen=True)
class MemberView:
    member: Member
    profile: Profile  # personal fields masked unless revealed
    revealed: bool


class MemberDirectory:
    def __init__(self, cipher: FieldCipher, today: Callable[[], date] = date.today):
        self.cipher = cipher
        self.today = today

    # ---- tenants ----

    async def create_tenant(
        self, uow: UnitOfWork, caller: CallerContext, *, name: str, code: str, parent_id: str
    ) -> Tenant:
        caller.require_role(ROLE_PLATFORM_ADMIN)
        repos = Repositories(uow.session)
        name, code = name.strip(), code.strip().lower()
        if not 1 <= len(name) <= 100:
            raise InvalidArgument("租户名称为 1–100 个字符 (name: 1–100 characters)", field="name")
        if not TENANT_CODE.match(code):
            raise InvalidArgument(
                "租户代码只能包含小写字母、数字和连字符 (code: a-z, 0-9, '-', 2–40 chars)",
                field="code",
            )
        if await repos.tenants.by_code(code):
            raise AlreadyExists(f"租户代码已存在 (tenant code {code} exists)", field="code")
        parent = None
        if parent_id:
            parent = await repos.tenants.get(parse_uuid(parent_id, "parent_id"))
            if parent is None:
                raise NotFound("上级租户不存在 (parent tenant not found)", field="parent_id")
        tid = new_id()
        tenant = Tenant(
            id=tid,
            parent_id=parent.id if parent else None,
            name=name,
            code=code,
            path=org_path.child_path(parent.path if parent else None, tid),
            status="active",
        )
        repos.tenants.add(tenant)
        # Codes are unique platform-wide, but row-level security hides other tenants' codes.
        await _flush_or_conflict(uow, f"租户代码已存在 (tenant code {code} exists)", "code")
        return tenant

    async def get_tenant(self, uow: UnitOfWork, caller: CallerContext, tenant_id: str) -> Tenant:
        caller.require_role(ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN)
        tenant = await Repositories(uow.session).tenants.get(parse_uuid(tenant_id, "id"))
        if tenant is None:  # RLS hides tenants outside the caller's own subtree
            raise NotFound("租户不存在 (tenant not found)")
        return tenant

    async def list_tenants(
        self, uow: UnitOfWork, caller: CallerContext, *, page_size: int, page_token: str
    ) -> Page[Tenant]:
        caller.require_role(ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN)
        return await Repositories(uow.session).tenants.page_visible(
            page_size=page_size, page_token=page_token
        )

    # ---- organisations ----

    async def create_organization(
        self, uow: UnitOfWork, caller: CallerContext, *, parent_id: str, name: str, org_type: int
    ) -> Organization:
        caller.require_role(*MANAGERS)
        tenant_id = caller.require_tenant()
        repos = Repositories(uow.session)
        name = name.strip()
        if not 1 <= len(name) <= 100:
            raise InvalidArgument("组织名称为 1–100 个字符 (name: 1–100 characters)", field="name")
        if org_type not in ORG_TYPES:
            raise InvalidArgument("组织类型无效 (unknown organisation type)", field="type")
        if parent_id:
            parent = await self._org_in_scope(repos, caller, parent_id, "parent_id")
        else:
            if caller.scope_org_id is not None or not caller.has_role(
                ROLE_TENANT_ADMIN, ROLE_PLATFORM_ADMIN
            ):
                raise PermissionDenied(
                    "只有租户管理员可以创建根组织 (only tenant admins create the root)"
                )
            if await repos.organizations.root_of(tenant_id):
                raise FailedPrecondition(
                    "该租户已有根组织 (the tenant already has a root organisation)",
                    code="root_exists",
                    field="parent_id",
                )
            parent = None
        if await repos.organizations.sibling_named(tenant_id, parent.id if parent else None, name):
            raise AlreadyExists("同级组织名称重复 (a sibling has this name)", field="name")
        oid = new_id()
        path = org_path.child_path(parent.path if parent else None, oid)
        org = Organization(
            id=oid,
            tenant_id=tenant_id,
            parent_id=parent.id if parent else None,
            name=name,
            type=org_type,
            path=path,
            depth=org_path.depth(path),
            created_by=caller.user_id,
        )
        repos.organizations.add(org)
        await _flush_or_conflict(uow, "同级组织名称重复 (a sibling has this name)", "name")
        await events.organization_created(uow, org)
        return org

    async def get_organization(
        self, uow: UnitOfWork, caller: CallerContext, org_id: str
    ) -> Organization:
        caller.require_role(*MANAGERS)
        return await self._org_in_scope(Repositories(uow.session), caller, org_id, "id")

    async def list_organizations(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        root_id: str,
        page_size: int,
        page_token: str,
    ) -> Page[Organization]:
        caller.require_role(*MANAGERS)
        repos = Repositories(uow.session)
        root_path = await self.subtree_path(repos, caller, root_id)
        return await repos.organizations.page_subtree(
            caller.require_tenant(), root_path, page_size=page_size, page_token=page_token
        )

    # ---- members ----

    async def create_member(
        self, uow: UnitOfWork, caller: CallerContext, *, organization_id: str, profile: Profile
    ) -> MemberView:
        caller.require_role(*MANAGERS)
        tenant_id = caller.require_tenant()
        repos = Repositories(uow.session)
        org = await self._org_in_scope(repos, caller, organization_id, "organization_id")
        p = validate_profile(profile, today=self.today())
        index = self.id_index(p.id_number)
        if await repos.members.by_id_number_index(tenant_id, index):
            raise AlreadyExists(
                "该公民身份号码已登记 (a member with this ID number exists)",
                code="duplicate_id_number",
                field="id_number",
            )
        mid = new_id()
        member = Member(
            id=mid,
            tenant_id=tenant_id,
            organization_id=org.id,
            version=1,
            created_by=caller.user_id,
            updated_by=caller.user_id,
        )
        self.write_profile(member, p)
        repos.members.add(member)
        await _flush_or_conflict(
            uow,
            "该公民身份号码已登记 (a member with this ID number exists)",
            "id_number",
            code="duplicate_id_number",
        )
        self._audit(repos, caller, tenant_id, "create", member.id, list(PROFILE_FIELDS))
        await events.member_registered(uow, member)
        return MemberView(member, self.masked_profile(p), revealed=False)

    async def get_member(
        self, uow: UnitOfWork, caller: CallerContext, member_id: str, *, reveal: bool, reason: str
    ) -> MemberView:
        caller.require_role(*MANAGERS)
        repos = Repositories(uow.session)
        member, _ = await self.member_in_scope(repos, caller, member_id)
        profile = self.read_profile(member)
        if not reveal:
            return MemberView(member, self.masked_profile(profile), revealed=False)
        if not caller.has_role(*MAY_REVEAL) or caller.is_cross_tenant:
            raise PermissionDenied(
                "无权查看完整个人信息 (your role may not see personal data in full)",
                code="reveal_not_allowed",
            )
        shown = [f for f in PERSONAL_FIELDS if getattr(profile, f)]
        self._audit(repos, caller, member.tenant_id, "reveal", member.id, shown, reason)
        return MemberView(member, profile, revealed=True)

    async def update_member(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        member_id: str,
        *,
        changes: Profile,
        mask: list[str],
        organization_id: str,
        expected_version: int,
    ) -> MemberView:
        caller.require_role(*MANAGERS)
        repos = Repositories(uow.session)
        member, _ = await self.member_in_scope(repos, caller, member_id, for_update=True)
        if expected_version and expected_version != member.version:
            raise Conflict(
                f"记录已被他人修改 (the member changed: version {member.version})",
                code="version_conflict",
            )
        unknown = set(mask) - set(PROFILE_FIELDS) - {"organization_id"}
        if not mask or unknown:
            raise InvalidArgument(
                f"update_mask 无效 (unknown or empty update mask: {sorted(unknown)})",
                field="update_mask",
            )
        old = self.read_profile(member)
        old_org_id = member.organization_id
        new = validate_profile(
            replace(old, **{f: getattr(changes, f) for f in mask if f != "organization_id"}),
            today=self.today(),
        )
        changed = [f for f in PROFILE_FIELDS if getattr(old, f) != getattr(new, f)]
        if "organization_id" in mask:
            org = await self._org_in_scope(repos, caller, organization_id, "organization_id")
            if org.id != member.organization_id:
                member.organization_id = org.id
                changed.append("organization_id")
        if "id_number" in changed:
            dup = await repos.members.by_id_number_index(
                member.tenant_id, self.id_index(new.id_number)
            )
            if dup and dup.id != member.id:
                raise AlreadyExists(
                    "该公民身份号码已登记 (a member with this ID number exists)",
                    code="duplicate_id_number",
                    field="id_number",
                )
        if changed:
            self.write_profile(member, new)
            member.version += 1
            member.updated_at = datetime.now(UTC)
            member.updated_by = caller.user_id
            await _flush_or_conflict(
                uow,
                "该公民身份号码已登记 (a member with this ID number exists)",
                "id_number",
                code="duplicate_id_number",
            )
            self._audit(repos, caller, member.tenant_id, "update", member.id, changed)
            await events.member_updated(uow, member, changed)
            # Field history, and status / flag history rows (docs/adr/0009).
            await archive_status.after_member_update(
                uow, self.cipher, caller, member, old=old, new=new, changed=changed,
                old_organization_id=old_org_id, today=self.today(),
            )  # fmt: skip
        return MemberView(member, self.masked_profile(new), revealed=False)

    async def list_members(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        organization_id: str,
        party_status: int,
        category: int,
        page_size: int,
        page_token: str,
    ) -> tuple[list[MemberView], str]:
        caller.require_role(*MANAGERS)
        tenant_id = caller.require_tenant()
        repos = Repositories(uow.session)
        root_path = await self.subtree_path(repos, caller, organization_id)
        if root_path is None:
            root = await repos.organizations.root_of(tenant_id)
            if root is None:
                return [], ""
            root_path = root.path
        page = await repos.members.page_subtree(
            tenant_id,
            root_path,
            party_status=party_status,
            category=category,
            page_size=page_size,
            page_token=page_token,
        )
        views = [
            MemberView(m, self.masked_profile(self.read_profile(m)), revealed=False)
            for m in page.items
        ]
        return views, page.next_token

    # ---- helpers ----

    async def scope_root(self, repos: Repositories, caller: CallerContext) -> Organization | None:
        """The caller's data-scope root, or None when the caller sees the whole tenant."""
        tenant_id = caller.require_tenant()
        if caller.scope_org_id is None:
            if caller.has_role(ROLE_TENANT_ADMIN, ROLE_PLATFORM_ADMIN):
                return None
            raise PermissionDenied("没有数据范围 (no data scope assigned)", code="no_scope")
        root = await repos.organizations.in_tenant(tenant_id, caller.scope_org_id)
        if root is None:
            raise PermissionDenied("数据范围无效 (data scope not found)", code="no_scope")
        return root

    async def _org_in_scope(
        self, repos: Repositories, caller: CallerContext, org_id: str, field: str
    ) -> Organization:
        scope = await self.scope_root(repos, caller)
        org = await repos.organizations.in_tenant(
            caller.require_tenant(), parse_uuid(org_id, field)
        )
        if org is None or (scope and not org_path.is_ancestor_or_self(scope.path, org.path)):
            # Outside the scope looks exactly like absent: no existence leak.
            raise NotFound(
                "组织不存在 (organisation not found)", code="organization_not_found", field=field
            )
        return org

    async def subtree_path(
        self, repos: Repositories, caller: CallerContext, root_id: str
    ) -> str | None:
        """Path of the subtree a query covers: root_id inside the caller's scope, else the
        scope itself; None when the caller sees the whole tenant. Outside scope is NotFound."""
        if root_id:
            return (await self._org_in_scope(repos, caller, root_id, "organization_id")).path
        scope = await self.scope_root(repos, caller)
        return scope.path if scope else None

    async def member_in_scope(
        self,
        repos: Repositories,
        caller: CallerContext,
        member_id: str,
        *,
        for_update: bool = False,
    ) -> tuple[Member, Organization]:
        scope = await self.scope_root(repos, caller)
        mid = parse_uuid(member_id, "id")
        found = await repos.members.in_subtree(
            caller.require_tenant(), mid, scope.path if scope else None, for_update=for_update
        )
        if found is None:
            raise NotFound("党员不存在 (member not found)", code="member_not_found")
        return found

    def id_index(self, id_number: str) -> str:
        return self.cipher.blind_index(id_number, context="member.id_number")

    def _aad(self, member_id: uuid.UUID, field: str) -> bytes:
        return f"member:{member_id}:{field}".encode()

    def write_profile(self, m: Member, p: Profile) -> None:
        for f in PROFILE_FIELDS:
            if f not in PERSONAL_FIELDS:
                setattr(m, f, getattr(p, f))
        m.gender, m.category, m.party_status = int(p.gender), int(p.category), int(p.party_status)
        enc = self.cipher.encrypt
        m.id_number_enc = enc(p.id_number, aad=self._aad(m.id, "id_number"))
        m.id_number_index = self.id_index(p.id_number)
        for f in ("mobile_phone", "landline", "home_address"):
            value = getattr(p, f)
            setattr(m, f"{f}_enc", enc(value, aad=self._aad(m.id, f)) if value else None)
        m.key_id = self.cipher.active_key_id
        # Search columns follow every profile write (create, update, import): docs/adr/0008.
        apply_search_keys(
            m, self.cipher, name=p.name, id_number=p.id_number, mobile_phone=p.mobile_phone
        )

    def read_profile(self, m: Member) -> Profile:
        def dec(field: str) -> str:
            token = getattr(m, f"{field}_enc")
            return self.cipher.decrypt(token, aad=self._aad(m.id, field)) if token else ""

        values = {f: getattr(m, f) for f in PROFILE_FIELDS if f not in PERSONAL_FIELDS}
        return Profile(**values, **{f: dec(f) for f in PERSONAL_FIELDS})

    @staticmethod
    def masked_profile(p: Profile) -> Profile:
        return replace(p, **{f: MASKERS[f](getattr(p, f)) for f in PERSONAL_FIELDS})

    @staticmethod
    def _audit(
        repos: Repositories,
        caller: CallerContext,
        tenant_id: uuid.UUID,
        action: str,
        target_id: uuid.UUID,
        fields: list[str],
        reason: str = "",
    ) -> None:
        repos.audit.add(
            AuditEntry(
                id=new_id(),
                tenant_id=tenant_id,
                actor=caller.user_id,
                actor_roles=sorted(caller.roles),
                action=action,
                target_type="member",
                target_id=target_id,
                fields=fields,
                reason=reason[:500],
            )
        )


def parse_uuid(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidArgument(f"{field}: 不是有效的 ID (not a valid id)", field=field) from exc


async def _flush_or_conflict(uow: UnitOfWork, message: str, field: str, code: str = "") -> None:
    """Unique indexes are the final word under concurrency: a race becomes a clean 409."""
    try:
        async with uow.session.begin_nested():
            await uow.session.flush()
    except IntegrityError as exc:
        raise AlreadyExists(message, code=code or None, field=field) from exc
