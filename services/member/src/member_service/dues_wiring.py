"""Wiring of the dues part of the member lifecycle (docs/adr/0014, 0017): DuesService and the
arrears flag job."""

from __future__ import annotations

from hongyun.member.v1 import member_dues_pb2_grpc

from member_service.dues import Dues
from member_service.dues_flags import DuesArrearsFlags
from member_service.dues_servicer import SERVICE_NAME, DuesServicer
from member_service.lifecycle_wiring import LifecycleParts, Wired
from member_service.rules import RuleBook


def wire(parts: LifecycleParts) -> Wired:
    rules = RuleBook()
    dues = Dues(parts.directory, rules)
    flags = DuesArrearsFlags(
        parts.db,
        rules,
        interval_seconds=parts.settings.lifecycle_job_interval_seconds,
        after_commit=parts.after_commit,
    )
    return Wired(
        services=[
            (
                member_dues_pb2_grpc.add_DuesServiceServicer_to_server,
                DuesServicer(parts.db, dues, after_commit=parts.after_commit),
                SERVICE_NAME,
            )
        ],
        jobs=[flags.run],
    )
