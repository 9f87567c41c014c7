"""Wiring of the member lifecycle (development, relationship transfers, dues — docs/adr/0014) into
the member service process: each part returns its gRPC services and its background jobs, and
app.py registers the services and runs the jobs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from hongyun.member.v1 import member_due_pb2_grpc
from hongyun_platform.db import Database
from hongyun_platform.storage import ObjectStore

from member_service import development_due, dues_due, letter_due, term_due
from member_service.config import MemberSettings
from member_service.domain.due_items import DueKind
from member_service.due_servicer import SERVICE_NAME as DUE_SERVICE
from member_service.due_servicer import DueServicer
from member_service.due_view import ListDue, WhatIsDue
from member_service.rules import RuleBook
from member_service.service import MemberDirectory

Job = Callable[[asyncio.Event], Coroutine[Any, Any, None]]  # runs until the event is set


@dataclass
class LifecycleParts:
    db: Database
    directory: MemberDirectory
    store: ObjectStore
    settings: MemberSettings
    after_commit: Callable[[], None]  # wakes the outbox relay


@dataclass
class Wired:
    services: list[tuple[Callable[..., Any], Any, str]] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)


def lifecycle_services(parts: LifecycleParts) -> Wired:
    # Imported here: each part's wiring imports this module for `Wired`.
    from member_service import development_wiring, dues_wiring, letter_wiring

    out = Wired()
    for part in (development_wiring, letter_wiring, dues_wiring):
        wired = part.wire(parts)
        out.services += wired.services
        out.jobs += wired.jobs
    due = WhatIsDue(parts.directory, RuleBook(), due_parts())
    add = member_due_pb2_grpc.add_DueServiceServicer_to_server
    out.services.append((add, DueServicer(parts.db, due), DUE_SERVICE))
    return out


def due_parts() -> dict[DueKind, ListDue]:
    """Who lists each kind of item of the "what is due" view, in the order it shows them."""
    return {
        DueKind.DEVELOPMENT_STEP: development_due.list_due,
        DueKind.LETTER_EXPIRING: letter_due.list_due,
        DueKind.COMMITTEE_TERM: term_due.list_due,
        DueKind.DUES_ARREARS: dues_due.list_due,
    }
