"""Wiring of the letter part of the member lifecycle (docs/adr/0014, 0016):
RelationshipTransferService and the letter expiry / reminder job. The "what is due" view lists
letters through member_service.letter_due.list_due."""

from __future__ import annotations

from hongyun.member.v1 import member_letters_pb2_grpc

from member_service.letter_jobs import LetterJob
from member_service.letter_servicer import SERVICE_NAME, RelationshipTransferServicer
from member_service.letters import RelationshipTransfers
from member_service.lifecycle_wiring import LifecycleParts, Wired
from member_service.rules import RuleBook


def wire(parts: LifecycleParts) -> Wired:
    rules = RuleBook()
    transfers = RelationshipTransfers(parts.directory, rules, parts.store)
    job = LetterJob(
        parts.db,
        rules,
        interval_seconds=parts.settings.lifecycle_job_interval_seconds,
        after_commit=parts.after_commit,
    )
    return Wired(
        services=[
            (
                member_letters_pb2_grpc.add_RelationshipTransferServiceServicer_to_server,
                RelationshipTransferServicer(parts.db, transfers, after_commit=parts.after_commit),
                SERVICE_NAME,
            )
        ],
        jobs=[job.run],
    )
