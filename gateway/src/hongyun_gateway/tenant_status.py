"""Whether a tenant is suspended, asked of the member service (the source of truth) and cached
briefly per gateway replica: a suspension takes effect everywhere within `ttl` seconds, and at
once on the replica that made it."""

from __future__ import annotations

import time
import uuid

import grpc
from hongyun.member.v1 import member_pb2 as pb
from hongyun_platform.grpc.context import ROLE_PLATFORM_ADMIN, CallerContext

from hongyun_gateway.member_client import MemberClient

# The gateway asks as itself: it is the trust boundary that checks every caller.
_GATEWAY = CallerContext(user_id="gateway", tenant_id=None, roles=frozenset({ROLE_PLATFORM_ADMIN}))


class TenantStatusCache:
    def __init__(self, client: MemberClient, ttl_seconds: float = 15.0):
        self.client = client
        self.ttl = ttl_seconds
        self._seen: dict[uuid.UUID, tuple[float, bool]] = {}

    async def suspended(self, tenant_id: uuid.UUID) -> bool:
        hit = self._seen.get(tenant_id)
        now = time.monotonic()
        if hit and now - hit[0] < self.ttl:
            return hit[1]
        try:
            resp = await self.client.get_tenant(_GATEWAY, pb.GetTenantRequest(id=str(tenant_id)))
            value = resp.tenant.status == pb.TENANT_STATUS_SUSPENDED
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:
                raise  # member service unavailable: the request fails with a 503 problem
            value = False
        self._seen[tenant_id] = (now, value)
        return value

    def forget(self, tenant_ids: list[str]) -> None:
        for t in tenant_ids:
            self._seen.pop(uuid.UUID(t), None)
