"""/api/v1/courses and /api/v1/course-catalogue through the gateway against the real learning
service: authoring, an upload to the store's presigned URL, review by a second admin, the
learner's catalogue and Chinese search, the outline without answers, the download URL with
Range; refusals as problem+json (Chinese first) with nothing written; another tenant and another
branch get 404."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx
import pytest
from gateway_test_helpers import Login, MakeAccount, assert_problem
from hongyun_platform.storage import make_fs_download_app

pytestmark = pytest.mark.asyncio(loop_scope="session")
C = "/api/v1/courses"
CAT = "/api/v1/course-catalogue"
DB = "gateway_learning_test"
VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20


@pytest.fixture
def sql(postgres, learning_service):
    def run(statement: str) -> str:
        return postgres.psql(statement, DB).strip()

    return run


@pytest.fixture
async def files(learning_service):
    """The learning service's store as a browser reaches it (mounted at /files)."""
    transport = httpx.ASGITransport(app=make_fs_download_app(learning_service.store),
                                    root_path="/files")  # fmt: skip
    async with httpx.AsyncClient(transport=transport) as client:
        yield client


@pytest.fixture
async def world(sql, make_account: MakeAccount, login: Login) -> dict[str, Any]:
    tenant, other = uuid.uuid4(), uuid.uuid4()
    root, br1, br2 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    sql(
        "INSERT INTO learning.org_paths (tenant_id, org_id, path) VALUES "
        f"('{tenant}', '{root}', ARRAY['{root}']::uuid[]), "
        f"('{tenant}', '{br1}', ARRAY['{root}','{br1}']::uuid[]), "
        f"('{tenant}', '{br2}', ARRAY['{root}','{br2}']::uuid[]);"
    )
    tag = uuid.uuid4().hex[:6]
    people = {
        "admin": (["tenant_admin"], tenant, None), "admin2": (["tenant_admin"], tenant, None),
        "sec": (["secretary"], tenant, br1), "m1": (["member"], tenant, br1),
        "m2": (["member"], tenant, br2), "stranger": (["tenant_admin"], other, None),
    }  # fmt: skip
    out: dict[str, Any] = dict(tenant=tenant, br1=br1, br2=br2)
    for key, (roles, t, org) in people.items():
        await make_account(f"{key}.{tag}", roles=roles, tenant_id=t, scope_org_id=org)
        out[key] = await login(f"{key}.{tag}")
    return out


async def _ok(resp: httpx.Response, code: int = 200) -> Any:
    assert resp.status_code == code, resp.text
    return resp.json() if resp.content else None


async def _course_with_video(api, headers, title="学习贯彻党的二十大精神", **extra) -> tuple:
    course = await _ok(await api.post(C, json={"title": title, "tags": ["二十大"],
                                               "class_hours": "1.5", **extra},
                                      headers=headers), 201)  # fmt: skip
    chapter = await _ok(await api.post(f"{C}/{course['id']}/chapters", json={"title": "第一章"},
                                       headers=headers), 201)  # fmt: skip
    item = await _ok(await api.post(
        f"{C}/{course['id']}/chapters/{chapter['id']}/items",
        json={"kind": "video", "title": "报告视频", "length": 600}, headers=headers), 201)  # fmt: skip
    return course, chapter, item


async def _upload(api, files, headers, course, item, data=VIDEO, **extra) -> dict:
    body = {"filename": "报告.mp4", "content_type": "video/mp4", "size_bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), **extra}  # fmt: skip
    started = await _ok(await api.post(f"{C}/{course['id']}/items/{item['id']}/materials",
                                       json=body, headers=headers), 201)  # fmt: skip
    assert started["upload"]["put_url"] and started["upload"]["upload_id"] is None
    put = await files.put(started["upload"]["put_url"], content=data,
                          headers={"content-type": "video/mp4"})  # fmt: skip
    assert put.status_code == 200, put.text
    return started["material"]


async def test_author_to_learner_through_the_api(api, world, files, sql):
    course, _, item = await _course_with_video(api, world["admin"], summary="专题学习")
    assert course["status"] == "draft" and course["class_hours"] == "1.5"
    cid, iid = course["id"], item["id"]
    text = await _ok(await api.post(
        f"{C}/{cid}/chapters/{item['chapter_id']}/items",
        json={"kind": "rich_text", "title": "导读", "body": '<p onclick="x()">要点<script>1</script></p>'},
        headers=world["admin"]), 201)  # fmt: skip
    assert text["body"] == "<p>要点</p>"
    cp = await _ok(await api.post(f"{C}/{cid}/items/{iid}/checkpoints", json={
        "position": 300, "kind": "true_false", "prompt": "二十大于2022年召开", "options": ["对", "错"],
        "answer": [0], "explanation": "2022年10月"}, headers=world["admin"]), 201)  # fmt: skip
    assert cp["answer"] == [0]

    material = await _upload(api, files, world["admin"], course, item)
    done = await _ok(await api.post(f"{C}/{cid}/items/{iid}/materials/{material['id']}/complete",
                                    json={"length": 600}, headers=world["admin"]))  # fmt: skip
    assert (
        done["material"]["status"] == "ready" and done["item"]["current_material"]["version"] == 1
    )
    aud = await _ok(await api.put(f"{C}/{cid}/audiences", json={"audiences": [
        {"kind": "org_subtree", "org_id": str(world["br1"]), "required": True,
         "due_on": "2026-12-31"}]}, headers=world["admin"]))  # fmt: skip
    assert aud["audiences"][0]["org_id"] == str(world["br1"])

    submitted = await _ok(await api.post(f"{C}/{cid}/submit", headers=world["admin"]))
    assert submitted["status"] == "in_review"
    body = assert_problem(await api.post(f"{C}/{cid}/approve", headers=world["admin"]), 403,
                          "course_review_by_submitter")  # fmt: skip
    assert body["detail"].startswith("不能审核自己提交的课程")
    approved = await _ok(await api.post(f"{C}/{cid}/approve", headers=world["admin2"]))
    assert approved["status"] == "published" and approved["version"] == 1

    # The learner of branch 1: assigned, searchable by words.
    cat = await _ok(await api.get(CAT, headers=world["m1"]))
    (entry,) = [e for e in cat["items"] if e["course_id"] == cid]
    assert entry["required"] and entry["due_on"] == "2026-12-31" and entry["class_hours"] == "1.5"
    for q, found in (("二十大", True), ("精神", True), ("党费", False)):
        hits = await _ok(await api.get(CAT, params={"q": q}, headers=world["m1"]))
        assert (cid in [e["course_id"] for e in hits["items"]]) is found, q
    required = await _ok(await api.get(CAT, params={"assignment": "required"}, headers=world["m1"]))
    assert cid in [e["course_id"] for e in required["items"]]

    outline = await _ok(await api.get(f"{CAT}/{cid}", headers=world["m1"]))
    (video, _) = outline["chapters"][0]["items"]
    (question,) = video["checkpoints"]
    assert question["prompt"] == "二十大于2022年召开" and "answer" not in question
    assert "explanation" not in question and video["material_version"] == 1

    link = await _ok(await api.get(f"{C}/{cid}/items/{iid}/download", headers=world["m1"]))
    got = await files.get(link["url"], headers={"Range": "bytes=0-15"})
    assert got.status_code == 206 and got.content == VIDEO[:16]

    # Branch 2 and another tenant: the course does not exist for them.
    for who in ("m2", "stranger"):
        assert_problem(await api.get(f"{CAT}/{cid}", headers=world[who]), 404, "course_not_found")
        assert_problem(await api.get(f"{C}/{cid}/items/{iid}/download", headers=world[who]), 404,
                       "course_not_found")  # fmt: skip
        listed = await _ok(await api.get(CAT, headers=world[who]))
        assert cid not in [e["course_id"] for e in listed["items"]]


async def test_bad_input_is_422_and_nothing_is_written(api, world, sql):
    before = sql(f"SELECT count(*) FROM learning.courses WHERE tenant_id = '{world['tenant']}'")
    for body, field in (({"title": "党" * 201}, "title"), ({"title": "x", "surprise": 1}, "surprise"),
                        ({"title": "x", "class_hours": "1.234"}, "class_hours"),
                        ({"title": "x", "tags": ["t"] * 21}, "tags")):  # fmt: skip
        problem = assert_problem(await api.post(C, json=body, headers=world["admin"]), 422)
        assert any(e["field"].startswith(field) for e in problem["errors"]), problem
    assert (
        sql(f"SELECT count(*) FROM learning.courses WHERE tenant_id = '{world['tenant']}'")
        == before
    )

    course, chapter, item = await _course_with_video(api, world["admin"], "校验")
    cid = course["id"]
    problem = assert_problem(await api.post(f"{C}/{cid}/chapters/{chapter['id']}/items", json={
        "kind": "link", "title": "坏链接", "url": "javascript:alert(1)"}, headers=world["admin"]),
        422, "item_url_invalid")  # fmt: skip
    assert problem["detail"].startswith("链接必须是") and problem["errors"][0]["field"] == "url"
    assert_problem(await api.post(f"{C}/{cid}/chapters/{chapter['id']}/items", json={
        "kind": "quiz", "title": "x"}, headers=world["admin"]), 422, "validation_failed")  # fmt: skip
    assert_problem(await api.post(f"{C}/{cid}/items/{item['id']}/checkpoints", json={
        "position": 601, "kind": "single", "prompt": "?", "options": ["a", "b"], "answer": [0]},
        headers=world["admin"]), 422, "checkpoint_position_invalid")  # fmt: skip
    assert_problem(await api.post(f"{C}/{cid}/items/{item['id']}/materials", json={
        "filename": "a.html", "content_type": "text/html", "size_bytes": 10},
        headers=world["admin"]), 422, "material_type_not_allowed")  # fmt: skip
    assert_problem(await api.post(f"{C}/{cid}/items/{item['id']}/materials", json={
        "filename": "a.mp4", "content_type": "video/mp4", "size_bytes": 10**13},
        headers=world["admin"]), 422, "material_too_large")  # fmt: skip
    assert_problem(await api.post(f"{C}/{cid}/submit", headers=world["admin"]), 409,
                   "course_without_content")  # fmt: skip
    items = sql(f"SELECT count(*) FROM learning.items WHERE course_id = '{cid}'")
    materials = sql(
        f"SELECT count(*) FROM learning.material_versions WHERE item_id = '{item['id']}'"
    )
    assert (items, materials) == ("1", "0")


async def test_a_digest_mismatch_fails_that_version(api, world, files, sql):
    course, _, item = await _course_with_video(api, world["admin"], "校验值")
    material = await _upload(api, files, world["admin"], course, item, data=VIDEO,
                             sha256=hashlib.sha256(b"other").hexdigest())  # fmt: skip
    url = f"{C}/{course['id']}/items/{item['id']}/materials"
    assert_problem(await api.post(f"{url}/{material['id']}/complete", headers=world["admin"]),
                   422, "material_sha256_mismatch")  # fmt: skip
    versions = await _ok(await api.get(url, headers=world["admin"]))
    assert [(v["version"], v["status"]) for v in versions] == [(1, "failed")]
    assert (
        sql(f"SELECT current_material_id IS NULL FROM learning.items WHERE id = '{item['id']}'")
        == "t"
    )


async def test_roles_scope_and_other_tenants(api, world, sql):
    assert_problem(await api.post(C, json={"title": "x"}, headers=world["m1"]), 403,
                   "course_author_required")  # fmt: skip
    course, _, _ = await _course_with_video(api, world["admin"], "管理员课程")
    cid = course["id"]
    # The secretary sees the tenant's drafts, edits only their own, assigns only their subtree.
    assert (await _ok(await api.get(f"{C}/{cid}", headers=world["sec"])))["course"]["id"] == cid
    assert_problem(await api.patch(f"{C}/{cid}", json={"title": "改"}, headers=world["sec"]), 403,
                   "course_not_author")  # fmt: skip
    own, _, _ = await _course_with_video(api, world["sec"], "书记课程")
    assert_problem(await api.put(f"{C}/{own['id']}/audiences", json={"audiences": [
        {"kind": "org_subtree", "org_id": str(world["br2"])}]}, headers=world["sec"]), 404,
        "organization_not_found")  # fmt: skip
    assert_problem(await api.put(f"{C}/{own['id']}/sharing", json={"shared_down": "required"},
                                 headers=world["sec"]), 403, "course_reviewer_required")  # fmt: skip
    # Another tenant's admin: 404 for everything, nothing written.
    before = sql(f"SELECT title, updated_at FROM learning.courses WHERE id = '{cid}'")
    assert_problem(await api.get(f"{C}/{cid}", headers=world["stranger"]), 404, "course_not_found")
    assert_problem(await api.patch(f"{C}/{cid}", json={"title": "改"}, headers=world["stranger"]),
                   404, "course_not_found")  # fmt: skip
    assert_problem(await api.post(f"{C}/{cid}/chapters", json={"title": "x"},
                                  headers=world["stranger"]), 404, "course_not_found")  # fmt: skip
    assert_problem(await api.post(f"{C}/{cid}/archive", headers=world["stranger"]), 404,
                   "course_not_found")  # fmt: skip
    assert sql(f"SELECT title, updated_at FROM learning.courses WHERE id = '{cid}'") == before
    listed = await _ok(await api.get(C, headers=world["stranger"]))
    assert cid not in [c["id"] for c in listed["items"]]


async def test_the_authors_list_pages_with_cursors(api, world):
    ids = [(await _ok(await api.post(C, json={"title": f"分页{n}"}, headers=world["admin"]), 201))["id"]
           for n in range(3)]  # fmt: skip
    first = await _ok(await api.get(C, params={"limit": 2, "q": "分页"}, headers=world["admin"]))
    assert [c["id"] for c in first["items"]] == ids[::-1][:2] and first["next_cursor"]
    second = await _ok(await api.get(C, params={"limit": 2, "q": "分页",
                                                "cursor": first["next_cursor"]},
                                      headers=world["admin"]))  # fmt: skip
    assert [c["id"] for c in second["items"]] == [ids[0]] and second["next_cursor"] is None
    assert_problem(await api.get(C, params={"status": "secret"}, headers=world["admin"]), 422)
