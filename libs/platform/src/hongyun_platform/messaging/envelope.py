"""The event envelope travels in NATS headers; the body is the event's protobuf payload."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

H_MSG_ID = "Nats-Msg-Id"  # JetStream de-duplication key (= event id, except for replays)
H_EVENT_ID = "Hongyun-Event-Id"  # what consumers de-duplicate on (inbox)
H_EVENT_TYPE = "Hongyun-Event-Type"  # protobuf full name, e.g. hongyun.member.v1.MemberRegistered
H_TENANT = "Hongyun-Tenant"
H_OCCURRED_AT = "Hongyun-Occurred-At"
H_TRACEPARENT = "traceparent"


@dataclass(frozen=True)
class Envelope:
    event_id: uuid.UUID
    event_type: str
    tenant_id: uuid.UUID | None
    occurred_at: datetime
    traceparent: str = ""

    def headers(self) -> dict[str, str]:
        h = {
            H_MSG_ID: str(self.event_id),
            H_EVENT_ID: str(self.event_id),
            H_EVENT_TYPE: self.event_type,
            H_OCCURRED_AT: self.occurred_at.astimezone(UTC).isoformat(),
        }
        if self.tenant_id:
            h[H_TENANT] = str(self.tenant_id)
        if self.traceparent:
            h[H_TRACEPARENT] = self.traceparent
        return h

    @classmethod
    def from_headers(cls, headers: Mapping[str, str] | None) -> Envelope:
        h = dict(headers or {})
        missing = [k for k in (H_EVENT_ID, H_EVENT_TYPE, H_OCCURRED_AT) if not h.get(k)]
        if missing:
            raise ValueError(f"event headers missing: {missing}")
        return cls(
            event_id=uuid.UUID(h[H_EVENT_ID]),
            event_type=h[H_EVENT_TYPE],
            tenant_id=uuid.UUID(h[H_TENANT]) if h.get(H_TENANT) else None,
            occurred_at=datetime.fromisoformat(h[H_OCCURRED_AT]),
            traceparent=h.get(H_TRACEPARENT, ""),
        )


def subject_for(service: str, tenant_id: uuid.UUID | None, aggregate: str, event: str) -> str:
    """<svc>.<tenant>.<aggregate>.<event>; platform-level events use tenant "_"."""
    return f"{service}.{tenant_id or '_'}.{aggregate}.{event}"
