"""Seeds the demo tenant through the member service's public gRPC API (idempotent).

Demo data only: fictitious names and ID numbers whose check digits are computed, never real people.
"""

from __future__ import annotations

from datetime import timedelta

import grpc
from hongyun.member.v1 import member_development_pb2 as devpb
from hongyun.member.v1 import (
    member_development_pb2_grpc,
    member_dues_pb2_grpc,
    member_pb2_grpc,
    organization_admin_pb2_grpc,
)
from hongyun.member.v1 import member_dues_pb2 as duespb
from hongyun.member.v1 import member_pb2 as pb
from hongyun.member.v1 import organization_admin_pb2 as opb
from hongyun_platform.grpc.context import ROLE_PLATFORM_ADMIN, ROLE_TENANT_ADMIN, CallerContext
from hongyun_platform.validation import check_character
from member_service.domain.dates import add_months, china_today

DEMO_CODE = "demo"
BRANCHES = ("第一党支部", "第二党支部")
MEMBERS = (  # name, birth, sequence (odd = male, GB 11643), branch index, category
    ("王红", "19750312", 2, 0, pb.MEMBER_CATEGORY_FULL),
    ("李建国", "19620701", 3, 0, pb.MEMBER_CATEGORY_FULL),
    ("赵晓云", "19980518", 4, 0, pb.MEMBER_CATEGORY_PROBATIONARY),
    ("陈立新", "19830920", 5, 1, pb.MEMBER_CATEGORY_FULL),
    ("刘芳", "19901103", 6, 1, pb.MEMBER_CATEGORY_FULL),
)


def demo_id_number(birth: str, seq: int) -> str:
    first17 = f"110105{birth}{seq:03d}"
    return first17 + check_character(first17)


async def seed(target: str) -> dict[str, str]:
    """Returns ids the accounts need: tenant, root organisation, first branch."""
    ops = CallerContext(user_id="seed", tenant_id=None, roles=frozenset({ROLE_PLATFORM_ADMIN}))
    async with grpc.aio.insecure_channel(target) as channel:
        stub = member_pb2_grpc.MemberServiceStub(channel)
        md = ops.to_metadata()
        tenants = (
            await stub.ListTenants(pb.ListTenantsRequest(page_size=200), metadata=md)
        ).tenants
        tenant = next((t for t in tenants if t.code == DEMO_CODE), None)
        if tenant is None:
            tenant = (
                await stub.CreateTenant(
                    pb.CreateTenantRequest(name="红云示范租户", code=DEMO_CODE), metadata=md
                )
            ).tenant
        admin = CallerContext(
            user_id="seed", tenant_id=_uuid(tenant.id), roles=frozenset({ROLE_TENANT_ADMIN})
        ).to_metadata()
        orgs = {
            o.name: o
            for o in (
                await stub.ListOrganizations(
                    pb.ListOrganizationsRequest(page_size=200), metadata=admin
                )
            ).organizations
        }
        root = (
            orgs.get("红云示范党委")
            or (
                await stub.CreateOrganization(
                    pb.CreateOrganizationRequest(
                        name="红云示范党委", type=pb.ORGANIZATION_TYPE_COMMITTEE
                    ),
                    metadata=admin,
                )
            ).organization
        )
        branches = []
        for name in BRANCHES:
            branches.append(
                orgs.get(name)
                or (
                    await stub.CreateOrganization(
                        pb.CreateOrganizationRequest(
                            parent_id=root.id, name=name, type=pb.ORGANIZATION_TYPE_BRANCH
                        ),
                        metadata=admin,
                    )
                ).organization
            )
        existing = (
            await stub.ListMembers(pb.ListMembersRequest(page_size=200), metadata=admin)
        ).members
        if not existing:
            for name, birth, seq, branch, category in MEMBERS:
                await stub.CreateMember(
                    pb.CreateMemberRequest(
                        organization_id=branches[branch].id,
                        profile=pb.MemberProfile(
                            name=name,
                            id_number=demo_id_number(birth, seq),
                            ethnicity="汉族",
                            education="本科",
                            category=category,
                            joined_on="2020-07-01"
                            if category == pb.MEMBER_CATEGORY_PROBATIONARY
                            else "2001-07-01",
                            converted_on=""
                            if category == pb.MEMBER_CATEGORY_PROBATIONARY
                            else "2002-07-01",
                            mobile_phone=f"1380013{seq:04d}",
                            home_address="北京市西城区示范路1号",
                            job_post="职员",
                        ),
                    ),
                    metadata=admin,
                )
            await _seed_lifecycle(channel, admin, branches[0].id)
    return {"tenant_id": tenant.id, "root_id": root.id, "branch_id": branches[0].id}


async def _seed_lifecycle(channel: grpc.aio.Channel, admin, branch_id: str) -> None:
    """Something in each part of the first branch's 待办提醒: its committee term ends in two
    months, an applicant waits for the talk, and every member has a dues standard."""
    today = china_today()
    await organization_admin_pb2_grpc.OrganizationAdminServiceStub(channel).RecordCommitteeTerm(
        opb.RecordCommitteeTermRequest(
            organization_id=branch_id, unit_kind=opb.COMMITTEE_UNIT_KIND_OTHER,
            started_on=add_months(today, -34).isoformat(), committee_members=3,
        ),
        metadata=admin,
    )  # fmt: skip
    await member_development_pb2_grpc.DevelopmentServiceStub(channel).OpenDevelopmentCase(
        devpb.OpenDevelopmentCaseRequest(
            organization_id=branch_id, name="孙志远", id_number=demo_id_number("20020415", 7),
            ethnicity="汉族", education="本科",
            application_date=(today - timedelta(days=20)).isoformat(), acting="本人",
            late_reason="示范数据 (demo data)",
        ),
        metadata=admin,
    )  # fmt: skip
    dues = member_dues_pb2_grpc.DuesServiceStub(channel)
    members = await member_pb2_grpc.MemberServiceStub(channel).ListMembers(
        pb.ListMembersRequest(page_size=200), metadata=admin
    )
    for m in members.members:
        await dues.SetStandard(
            duespb.SetStandardRequest(
                member_id=m.id, group=duespb.DUES_GROUP_EMPLOYED, declared_base_fen=600_000
            ),
            metadata=admin,
        )


def _uuid(value: str):
    import uuid

    return uuid.UUID(value)
