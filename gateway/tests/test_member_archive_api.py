"""The member archive's REST API (/api/v1/members/{id}/…) against an in-process fake
MemberArchiveService, and the filesystem object store's signed URLs mounted at /files."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import pytest
import pytest_asyncio
from gateway_fake_member_service import FakeMemberService
from gateway_test_helpers import assert_problem, make_settings
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from hongyun.member.v1 import member_archive_pb2 as apb
from hongyun.member.v1 import member_archive_pb2_grpc, member_pb2_grpc
from hongyun.member.v1 import member_pb2 as pb
from hongyun_gateway.main import create_app
from hongyun_platform.grpc.context import CallerContext
from hongyun_platform.storage import FilesystemObjectStore

pytestmark = pytest.mark.asyncio(loop_scope="session")

SIGNING_KEY = "archive-gateway-test-signing-key-0123456789"
TENANT = uuid.uuid4()
MEMBER = uuid.uuid4()
RECORD = uuid.uuid4()
BASE = f"/api/v1/members/{MEMBER}"


class FakeArchive(member_archive_pb2_grpc.MemberArchiveServiceServicer):
    """Records each call; answers with `replies[rpc]` (a message or request → message) or the
    empty response; `fail[rpc] = (code, reason, field)` aborts the next call like the service."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, CallerContext, Any]] = []
        self.replies: dict[str, Any] = {}
        self.fail: dict[str, tuple[grpc.StatusCode, str, str | None]] = {}

    def reset(self) -> None:
        self.calls.clear()
        self.replies.clear()
        self.fail.clear()

    def last(self, rpc: str) -> Any:
        return [r for name, _, r in self.calls if name == rpc][-1]


def _handler(name: str, response_cls: type) -> Any:
    async def handle(self: FakeArchive, request: Any, context: Any) -> Any:
        self.calls.append(
            (name, CallerContext.from_metadata(context.invocation_metadata()), request)
        )
        if name in self.fail:
            code, reason, field = self.fail.pop(name)
            md = [("x-hongyun-error-code", reason)] + (
                [("x-hongyun-error-field", field)] if field else []
            )
            await context.abort(code, f"refused: {reason}", trailing_metadata=tuple(md))
        reply = self.replies.get(name)
        return reply(request) if callable(reply) else (reply or response_cls())

    return handle


for _m in apb.DESCRIPTOR.services_by_name["MemberArchiveService"].methods:
    setattr(FakeArchive, _m.name, _handler(_m.name, getattr(apb, _m.output_type.name)))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fake_archive() -> AsyncIterator[tuple[FakeArchive, str]]:
    server = grpc.aio.server()
    archive = FakeArchive()
    member_archive_pb2_grpc.add_MemberArchiveServiceServicer_to_server(archive, server)
    # The gateway asks the member service whether a tenant is suspended; the fake says "unknown".
    member_pb2_grpc.add_MemberServiceServicer_to_server(FakeMemberService(), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield archive, f"127.0.0.1:{port}"
    await server.stop(None)


@pytest.fixture(scope="module")
def storage_root(tmp_path_factory) -> Any:
    return tmp_path_factory.mktemp("gateway-files")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def archive_app(migrated_pg, fake_archive, storage_root) -> AsyncIterator[Any]:
    env = {
        "HONGYUN_STORAGE_KIND": "filesystem",
        "HONGYUN_STORAGE_ROOT": str(storage_root),
        "HONGYUN_STORAGE_PUBLIC_URL": "http://gateway.test/files",
        "HONGYUN_STORAGE_SIGNING_KEY": SIGNING_KEY,
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the gateway reads HONGYUN_STORAGE_* as the services do
    try:
        app = create_app(make_settings(migrated_pg.app_url, fake_archive[1], migrated_pg.owner_url))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    async with app.router.lifespan_context(app):
        yield app


@pytest_asyncio.fixture(loop_scope="session")
async def client(archive_app, fake_archive) -> AsyncIterator[httpx.AsyncClient]:
    fake_archive[0].reset()
    transport = httpx.ASGITransport(app=archive_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as c:
        yield c


def bearer(app: Any, *roles: str, scope: uuid.UUID | None = None) -> dict[str, str]:
    token = app.state.gateway.access_tokens.issue(
        str(uuid.uuid4()), tenant_id=TENANT, roles=list(roles or ["tenant_admin"]),
        scope_org_id=scope,
    )  # fmt: skip
    return {"Authorization": f"Bearer {token.token}"}


@pytest.fixture
def admin(archive_app) -> dict[str, str]:
    return bearer(archive_app, "tenant_admin")


@pytest.fixture
def fake(fake_archive) -> FakeArchive:
    return fake_archive[0]


def _ts() -> Timestamp:
    ts = Timestamp()
    ts.GetCurrentTime()
    return ts


# ---- family members ----


async def test_family_member_json_to_proto_and_back(client, admin, fake):
    fake.replies["CreateFamilyMember"] = lambda req: apb.CreateFamilyMemberResponse(
        family_member=apb.FamilyMember(
            id=str(RECORD), member_id=req.member_id, name=req.family_member.name,
            relation=req.family_member.relation, phone="139****1111", created_at=_ts(),
        )
    )  # fmt: skip
    r = await client.post(f"{BASE}/family-members", headers=admin, json={
        "name": " 李梅 ", "relation": "配偶", "phone": "+86 139-0000-1111"})  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"{BASE}/family-members/{RECORD}"
    assert r.headers["cache-control"] == "no-store, private"
    body = r.json()
    assert body["phone"] == "139****1111" and body["name"] == "李梅" and body["work_unit"] is None
    sent = fake.last("CreateFamilyMember")
    assert sent.member_id == str(MEMBER) and sent.family_member.phone == "13900001111"

    r = await client.patch(f"{BASE}/family-members/{RECORD}", headers=admin,
                           json={"relation": "妻子", "phone": None})  # fmt: skip
    assert r.status_code == 200, r.text
    upd = fake.last("UpdateFamilyMember")
    assert list(upd.update_mask) == ["relation", "phone"] and upd.family_member.phone == ""
    assert upd.id == str(RECORD)

    r = await client.get(f"{BASE}/family-members", headers=admin,
                         params={"reveal": "true", "reason": "帮扶联系", "limit": 10})  # fmt: skip
    assert r.status_code == 200 and r.json() == {"items": [], "next_cursor": None}
    listed = fake.last("ListFamilyMembers")
    assert listed.reveal and listed.reveal_reason == "帮扶联系" and listed.page_size == 10

    r = await client.delete(f"{BASE}/family-members/{RECORD}", headers=admin)
    assert r.status_code == 204 and fake.last("DeleteFamilyMember").id == str(RECORD)


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/family-members", {"name": "李梅", "relation": "配偶", "phone": "12345"}, "phone"),
        ("post", "/family-members", {"name": "", "relation": "配偶"}, "name"),
        ("post", "/family-members", {"name": "李梅", "relation": "配偶", "age": 3}, "age"),
        ("patch", f"/family-members/{RECORD}", {"name": None}, "name"),
        ("patch", f"/family-members/{RECORD}", {}, "body"),
        ("post", "/awards", {"kind": "medal", "title": "x", "decided_on": "2020-01-01"}, "kind"),
        ("post", "/awards", {"kind": "award", "title": "x", "decided_on": "3000-01-01"}, "decided_on"),
        ("post", "/travels", {"destination": "日本", "departed_on": "2020/01/01"}, "departed_on"),
        ("post", "/hardships", {"kind": "illness", "since": "2020-01-01"}, "description"),
        ("post", "/status-history", {"status": "retained", "effective_on": "2020-01-01"}, "reason"),
        ("post", "/flags", {"flag": "missing", "active": True, "effective_on": "2020-01-01"}, "flag"),
        ("post", "/attachments", {"kind": "scan", "file_name": "a.pdf", "content_type": "application/pdf", "size": 0}, "size"),
        ("post", "/tags", {"tag": "x" * 21}, "tag"),
        ("get", "/family-members?reveal=true", None, "reason"),
        ("get", "/history?reveal=true&reason=x", None, "reason"),
        ("get", "/status?as_of=yesterday", None, "as_of"),
    ],
)  # fmt: skip
async def test_bad_requests_are_refused_before_any_call(
    client, admin, fake, method, path, body, field
):
    kw = {"json": body} if body is not None else {}
    r = await client.request(method.upper(), BASE + path, headers=admin, **kw)
    problem = assert_problem(r, 422)
    assert field in {e["field"] for e in problem["errors"]}, problem
    assert not fake.calls


async def test_service_errors_become_problems(client, admin, fake):
    fake.fail["ListTravels"] = (grpc.StatusCode.NOT_FOUND, "member_not_found", None)
    assert_problem(await client.get(f"{BASE}/travels", headers=admin), 404, "member_not_found")
    fake.fail["RecordFlagChange"] = (grpc.StatusCode.FAILED_PRECONDITION, "lost_contact_too_recent",
                                     "effective_on")  # fmt: skip
    r = await client.post(f"{BASE}/flags", headers=admin, json={
        "flag": "lost_contact", "active": True, "effective_on": "2026-01-01"})  # fmt: skip
    problem = assert_problem(r, 409, "lost_contact_too_recent")
    assert problem["errors"][0]["field"] == "effective_on"
    fake.fail["CompleteAttachment"] = (grpc.StatusCode.INVALID_ARGUMENT, "too_large", "file")
    assert_problem(await client.post(f"{BASE}/attachments/{RECORD}:complete", headers=admin),
                   422, "too_large")  # fmt: skip
    fake.fail["GetAttachmentDownload"] = (
        grpc.StatusCode.PERMISSION_DENIED,
        "reveal_not_allowed",
        None,
    )
    assert_problem(await client.get(f"{BASE}/attachments/{RECORD}/download", headers=admin),
                   403, "reveal_not_allowed")  # fmt: skip


async def test_login_is_required(client, fake):
    assert_problem(await client.get(f"{BASE}/history"), 401)
    assert_problem(await client.get("/api/v1/member-tags"), 401)
    assert not fake.calls


async def test_caller_identity_and_scope_reach_the_service(client, archive_app, fake):
    scope = uuid.uuid4()
    await client.get(f"{BASE}/tags", headers=bearer(archive_app, "secretary", scope=scope))
    _, caller, req = fake.calls[-1]
    assert caller.tenant_id == TENANT and caller.scope_org_id == scope
    assert caller.roles == frozenset({"secretary"}) and req.member_id == str(MEMBER)


# ---- the other records ----


async def test_awards_travels_hardships_and_enums(client, admin, fake):
    fake.replies["ListAwards"] = apb.ListAwardsResponse(awards=[
        apb.Award(id="a1", member_id=str(MEMBER), kind=apb.AWARD_KIND_PUNISHMENT,
                  decided_on="2023-03-01", redacted=True)], next_page_token="tok")  # fmt: skip
    r = await client.get(f"{BASE}/awards", headers=admin, params={"kind": "punishment"})
    body = r.json()
    assert body["items"][0] == {**body["items"][0], "kind": "punishment", "title": None,
                                "decided_on": "2023-03-01", "redacted": True}  # fmt: skip
    assert body["next_cursor"] and fake.last("ListAwards").kind == apb.AWARD_KIND_PUNISHMENT
    r = await client.get(f"{BASE}/awards", headers=admin, params={"cursor": body["next_cursor"]})
    assert fake.last("ListAwards").page_token == "tok"

    r = await client.post(f"{BASE}/awards", headers=admin, json={
        "kind": "punishment", "title": "党内警告", "decided_on": "2023-03-01",
        "document_number": "区纪〔2023〕3号"})  # fmt: skip
    assert r.status_code == 201
    sent = fake.last("CreateAward").award
    assert (sent.kind, sent.title, sent.decided_on) == (
        apb.AWARD_KIND_PUNISHMENT,
        "党内警告",
        "2023-03-01",
    )

    r = await client.post(
        f"{BASE}/travels",
        headers=admin,
        json={"destination": "新加坡", "departed_on": "2030-05-01"},
    )  # approved ahead: a future date is fine
    assert r.status_code == 201 and fake.last("CreateTravel").travel.departed_on == "2030-05-01"
    r = await client.patch(f"{BASE}/travels/{RECORD}", headers=admin, json={"returned_on": None})
    assert list(fake.last("UpdateTravel").update_mask) == ["returned_on"]

    r = await client.post(f"{BASE}/hardships", headers=admin, json={
        "kind": "illness", "description": "慢性病", "since": "2024-01-01"})  # fmt: skip
    assert (
        r.status_code == 201
        and fake.last("CreateHardship").hardship.kind == apb.HARDSHIP_KIND_ILLNESS
    )


async def test_extension_put_with_if_match(client, admin, fake):
    fake.replies["UpdateMemberExtension"] = lambda req: apb.UpdateMemberExtensionResponse(
        extension=apb.MemberExtension(
            member_id=req.member_id, school=req.extension.school, version=4
        )
    )
    r = await client.put(f"{BASE}/ext", headers={**admin, "If-Match": '"3"'},
                         json={"school": "中山大学", "photo_attachment_id": str(RECORD)})  # fmt: skip
    assert r.status_code == 200, r.text
    assert (
        r.headers["etag"] == '"4"'
        and r.json()["school"] == "中山大学"
        and r.json()["degree"] is None
    )
    sent = fake.last("UpdateMemberExtension")
    assert sent.expected_version == 3 and sent.extension.photo_attachment_id == str(RECORD)
    await client.put(f"{BASE}/ext", headers=admin, json={})
    assert fake.last("UpdateMemberExtension").expected_version == 0  # no If-Match: no check

    fake.fail["UpdateMemberExtension"] = (grpc.StatusCode.ABORTED, "version_conflict", None)
    assert_problem(await client.put(f"{BASE}/ext", headers={**admin, "If-Match": '"3"'}, json={}),
                   412, "version_conflict")  # fmt: skip


async def test_tags(client, admin, fake):
    fake.replies["AddMemberTag"] = lambda req: apb.AddMemberTagResponse(tags=[req.tag])
    r = await client.post(f"{BASE}/tags", headers=admin, json={"tag": "退役军人"})
    assert r.json() == {"tags": ["退役军人"]}
    await client.delete(f"{BASE}/tags/%E9%80%80%E5%BD%B9%E5%86%9B%E4%BA%BA", headers=admin)
    assert fake.last("RemoveMemberTag").tag == "退役军人"
    fake.replies["ListTenantTags"] = apb.ListTenantTagsResponse(
        tags=[apb.TagCount(tag="退役军人", member_count=3)]
    )
    r = await client.get("/api/v1/member-tags", headers=admin, params={"prefix": "退", "limit": 5})
    assert r.json() == {"items": [{"tag": "退役军人", "member_count": 3}]}
    assert (fake.last("ListTenantTags").prefix, fake.last("ListTenantTags").limit) == ("退", 5)


async def test_status_history_and_flags(client, admin, fake):
    fake.replies["RecordStatusChange"] = lambda req: apb.RecordStatusChangeResponse(
        change=apb.StatusChange(id="c1", member_id=req.member_id, status=req.status,
                                effective_on=req.effective_on, reason=req.reason),
        current_status=req.status)  # fmt: skip
    r = await client.post(f"{BASE}/status-history", headers=admin, json={
        "status": "retained", "effective_on": "2020-03-01", "reason": "出国定居"})  # fmt: skip
    assert r.status_code == 201, r.text
    assert (
        r.json()["current_status"] == "retained"
        and r.json()["change"]["effective_on"] == "2020-03-01"
    )
    assert fake.last("RecordStatusChange").status == pb.PARTY_STATUS_RETAINED

    fake.replies["GetStatusAsOf"] = apb.GetStatusAsOfResponse(
        status=pb.PARTY_STATUS_NORMAL, effective_on="2005-07-01"
    )
    r = await client.get(f"{BASE}/status", headers=admin, params={"as_of": "2019-12-31"})
    assert r.json() == {"status": "normal", "effective_on": "2005-07-01", "change_id": None}
    assert fake.last("GetStatusAsOf").as_of == "2019-12-31"

    fake.replies["RecordFlagChange"] = lambda req: apb.RecordFlagChangeResponse(
        change=apb.FlagChange(id="f1", member_id=req.member_id, flag=req.flag, active=True,
                              effective_on=req.effective_on, destination=req.destination),
        flags=apb.MemberFlags(floating=True, floating_destination=req.destination,
                              floating_since=req.effective_on))  # fmt: skip
    r = await client.post(f"{BASE}/flags", headers=admin, json={
        "flag": "floating", "active": True, "effective_on": "2026-01-01", "destination": "深圳"})  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["flags"] == {"lost_contact": False, "lost_contact_since": None, "floating": True,
                                 "floating_since": "2026-01-01", "floating_destination": "深圳"}  # fmt: skip
    assert fake.last("RecordFlagChange").flag == apb.MEMBER_FLAG_FLOATING


# ---- attachments, history ----


async def test_attachment_ticket_complete_download(client, admin, fake):
    fake.replies["CreateAttachment"] = lambda req: apb.CreateAttachmentResponse(
        attachment=apb.Attachment(id=str(RECORD), member_id=req.member_id, kind=req.kind,
                                  file_name=req.file_name, content_type=req.content_type,
                                  size=req.size, status=apb.ATTACHMENT_STATUS_PENDING),
        upload_url="http://gateway.test/files/k?expires=1&sig=x",
        upload_headers={"Content-Type": req.content_type}, upload_expires_at=_ts())  # fmt: skip
    r = await client.post(f"{BASE}/attachments", headers=admin, json={
        "kind": "scan", "file_name": "入党志愿书.pdf", "content_type": "application/pdf",
        "size": 1234})  # fmt: skip
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert ticket["attachment_id"] == str(RECORD) and ticket["upload_method"] == "PUT"
    assert ticket["upload_headers"] == {"Content-Type": "application/pdf"}
    assert ticket["attachment"]["status"] == "pending" and ticket["attachment"]["kind"] == "scan"

    fake.replies["CompleteAttachment"] = apb.CompleteAttachmentResponse(attachment=apb.Attachment(
        id=str(RECORD), status=apb.ATTACHMENT_STATUS_AVAILABLE, file_name="a", content_type="x"))  # fmt: skip
    r = await client.post(f"{BASE}/attachments/{RECORD}:complete", headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "available"
    assert fake.last("CompleteAttachment").id == str(RECORD)

    fake.replies["GetAttachmentDownload"] = apb.GetAttachmentDownloadResponse(
        url="http://gateway.test/files/k?expires=2&sig=y", expires_at=_ts()
    )
    r = await client.get(f"{BASE}/attachments/{RECORD}/download", headers=admin,
                         params={"reason": "审核"})  # fmt: skip
    assert r.json()["url"].startswith("http://gateway.test/files/")
    assert fake.last("GetAttachmentDownload").reason == "审核"
    assert (await client.delete(f"{BASE}/attachments/{RECORD}", headers=admin)).status_code == 204


async def test_history_page(client, admin, fake):
    fake.replies["ListMemberHistory"] = apb.ListMemberHistoryResponse(changes=[
        apb.FieldChange(id="h1", member_id=str(MEMBER), source="member", field="mobile_phone",
                        old_value="138****5678", new_value="139****1111", personal=True)])  # fmt: skip
    r = await client.get(f"{BASE}/history", headers=admin)
    item = r.json()["items"][0]
    assert item["field"] == "mobile_phone" and item["personal"] and not item["revealed"]
    assert item["old_value"] == "138****5678" and item["record_id"] is None


async def test_openapi_documents_the_archive(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    for p in ("ext", "family-members", "awards", "travels", "hardships", "tags", "status-history",
              "status", "flags", "attachments", "attachments/{attachment_id}:complete",
              "attachments/{attachment_id}/download", "history"):  # fmt: skip
        assert f"/api/v1/members/{{member_id}}/{p}" in paths, p
    summary = paths["/api/v1/members/{member_id}/family-members"]["post"]["summary"]
    assert "家庭成员" in summary and "family member" in summary


# ---- /files: the filesystem store's signed URLs ----


async def test_files_mount_serves_signed_urls(client, storage_root):
    store = FilesystemObjectStore(storage_root, base_url="http://gateway.test/files",
                                  signing_key=SIGNING_KEY)  # fmt: skip
    key = f"{TENANT}/{MEMBER}/{RECORD}"
    put_url = await store.presigned_put_url(key, expires=60)
    r = await client.put(
        put_url, content=b"%PDF-1.7 test", headers={"Content-Type": "application/pdf"}
    )
    assert r.status_code == 200, r.text
    get_url = await store.presigned_get_url(key, expires=60)
    r = await client.get(get_url)
    assert r.status_code == 200 and r.content == b"%PDF-1.7 test"
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["x-content-type-options"] == "nosniff"
    # Expired: signed by a clock an hour behind.
    past = FilesystemObjectStore(storage_root, base_url="http://gateway.test/files",
                                 signing_key=SIGNING_KEY, clock=lambda: time.time() - 3600)  # fmt: skip
    r = await client.get(await past.presigned_get_url(key, expires=60))
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    assert (await client.put(get_url, content=b"x")).status_code == 403  # a GET URL cannot PUT
