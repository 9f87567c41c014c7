"""Wiring of organisation management, rules and the 换届 reminder job into the member service
process (docs/adr/0007): app.py adds these services and starts the job."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hongyun.member.v1 import (
    organization_admin_pb2,
    organization_admin_pb2_grpc,
    rules_pb2,
    rules_pb2_grpc,
)
from hongyun_platform.db import Database

from member_service.config import MemberSettings
from member_service.organizations import OrganizationAdmin
from member_service.organizations_servicer import OrganizationAdminServicer, RuleServicer
from member_service.rules import RuleBook
from member_service.term_reminders import CommitteeTermReminders

ORGANIZATION_ADMIN_SERVICE = organization_admin_pb2.DESCRIPTOR.services_by_name[
    "OrganizationAdminService"
].full_name
RULE_SERVICE = rules_pb2.DESCRIPTOR.services_by_name["RuleService"].full_name


@dataclass
class OrganizationWiring:
    services: list[tuple[Callable[..., Any], Any, str]]  # (register, servicer, service name)
    term_reminders: CommitteeTermReminders


def organization_services(
    db: Database, settings: MemberSettings, after_commit: Callable[[], None]
) -> OrganizationWiring:
    rules = RuleBook()
    admin = OrganizationAdmin(rules)
    return OrganizationWiring(
        services=[
            (
                organization_admin_pb2_grpc.add_OrganizationAdminServiceServicer_to_server,
                OrganizationAdminServicer(db, admin, after_commit=after_commit),
                ORGANIZATION_ADMIN_SERVICE,
            ),
            (
                rules_pb2_grpc.add_RuleServiceServicer_to_server,
                RuleServicer(db, rules, after_commit=after_commit),
                RULE_SERVICE,
            ),
        ],
        term_reminders=CommitteeTermReminders(
            db,
            rules,
            interval_seconds=settings.term_reminder_interval_seconds,
            after_commit=after_commit,
        ),
    )
