"""/api/v1/learning progress through the gateway against the real learning service: a learner's
reports, checkpoint answers and course completion as the learner sees them, refusals as
problem+json (Chinese first) with nothing written, tenancy and subtree scope, settings by the
tenant admin, and points that stay inside a branch (no list across branches, no ranking).

Content is created as the learning database's owner (the course API is tested elsewhere); the
server's clock is simulated by moving the learner's stored report times back."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from gateway_test_helpers import Login, MakeAccount, assert_problem

pytestmark = pytest.mark.asyncio(loop_scope="session")
L = "/api/v1/learning"
DB = "gateway_learning_test"


@pytest.fixture
def sql(postgres, learning_service):
    def run(statement: str) -> str:
        return postgres.psql(statement, DB)

    return run


@pytest.fixture
async def world(sql, make_account: MakeAccount, login: Login) -> dict[str, Any]:
    a, b = uuid.uuid4(), uuid.uuid4()
    root, br1, br2 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    course, chapter, video, link, cp = (uuid.uuid4() for _ in range(5))
    course_b, chapter_b, video_b = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    sql(
        f"INSERT INTO learning.org_paths (tenant_id, org_id, path) VALUES "
        f"('{a}', '{root}', ARRAY['{root}']::uuid[]), "
        f"('{a}', '{br1}', ARRAY['{root}','{br1}']::uuid[]), "
        f"('{a}', '{br2}', ARRAY['{root}','{br2}']::uuid[]);"
    )
    for t, c, ch, items in ((a, course, chapter, [(video, "video", 60, True),
                                                  (link, "link", 0, False)]),
                            (b, course_b, chapter_b, [(video_b, "video", 60, True)])):  # fmt: skip
        stmts = [
            f"INSERT INTO learning.courses (id, tenant_id, title, status, version, "
            f"class_hours_hundredths) VALUES ('{c}', '{t}', '党章学习', 'published', 1, 150);",
            f"INSERT INTO learning.chapters (id, tenant_id, course_id, position, title) "
            f"VALUES ('{ch}', '{t}', '{c}', 1, '第一章');",
            f"INSERT INTO learning.course_audiences (id, tenant_id, course_id, kind) "
            f"VALUES ('{uuid.uuid4()}', '{t}', '{c}', 'tenant');",
        ]
        for pos, (item, kind, length, required) in enumerate(items, 1):
            stmts.append(
                f"INSERT INTO learning.items (id, tenant_id, course_id, chapter_id, position, "
                f"kind, title, length, required) VALUES ('{item}', '{t}', '{c}', '{ch}', {pos}, "
                f"'{kind}', '第{pos}讲', {length}, {str(required).lower()});"
            )
        sql("\n".join(stmts))
    sql(
        f"INSERT INTO learning.checkpoints (id, tenant_id, item_id, position, kind, prompt, "
        f"options, answer, explanation) VALUES ('{cp}', '{a}', '{video}', 30, 'true_false', "
        f"'入党誓词要求永不叛党？', '[\"错\", \"对\"]', '{{1}}', '誓词：永不叛党。');"
    )
    tag = uuid.uuid4().hex[:6]
    ids = {}
    for key, roles, tenant, org in (
        ("admin", ["tenant_admin"], a, None), ("sec1", ["secretary"], a, br1),
        ("sec2", ["secretary"], a, br2), ("l1", ["member"], a, br1),
        ("l2", ["member"], a, br2), ("lb", ["member"], b, None), ("admin_b", ["tenant_admin"], b, None),
    ):  # fmt: skip
        ids[key] = await make_account(f"{key}.{tag}", roles=roles, tenant_id=tenant,
                                      scope_org_id=org)  # fmt: skip
    headers = {k: await login(f"{k}.{tag}") for k in ids}
    return dict(a=a, b=b, br1=br1, br2=br2, course=course, video=video, link=link, cp=cp,
                course_b=course_b, video_b=video_b, ids=ids, h=headers)  # fmt: skip


def elapse(sql, learner_id: uuid.UUID, seconds: int) -> None:
    cols = ("started_at", "last_report_at", "last_advanced_at", "prev_session_at")
    sets = ", ".join(f"{c} = {c} - make_interval(secs => {seconds})" for c in cols)
    sql(f"UPDATE learning.item_progress SET {sets} WHERE learner_id = '{learner_id}'")


def rows_of(sql, learner_id: uuid.UUID) -> int:
    return int(
        sql(f"SELECT count(*) FROM learning.item_progress WHERE learner_id = '{learner_id}'")
    )


async def test_a_learner_studies_a_course_to_completion(api: httpx.AsyncClient, world, sql):
    h, me = world["h"]["l1"], world["ids"]["l1"]
    session = str(uuid.uuid4())
    url = f"{L}/items/{world['video']}/progress"
    first = await api.put(url, json={"session_id": session, "position": 0}, headers=h)
    assert first.status_code == 200, first.text
    assert first.json()["progress"]["started"] is True
    for pos in (20, 40, 60):
        elapse(sql, me, 20)
        resp = await api.put(url, json={"session_id": session, "position": pos,
                                        "playback_rate": 1.0}, headers=h)  # fmt: skip
    body = resp.json()["progress"]
    assert body["reached_end"] and not body["completed"]  # one checkpoint still open
    assert body["checkpoints_total"] == 1 and body["checkpoints_correct"] == 0

    answer = f"{L}/items/{world['video']}/checkpoints/{world['cp']}/answer"
    wrong = await api.post(answer, json={"selected": [0]}, headers=h)
    assert wrong.status_code == 200, wrong.text
    assert wrong.json()["correct"] is False and wrong.json()["explanation"] is None
    assert wrong.json()["points_awarded"] is None  # points are off: not shown at all
    right = (await api.post(answer, json={"selected": [1]}, headers=h)).json()
    assert right["correct"] and right["attempts"] == 2 and "永不叛党" in right["explanation"]
    assert right["progress"]["completed"] and right["course_completed"]

    mine = await api.get(f"{L}/courses/{world['course']}/my-progress", headers=h)
    assert mine.status_code == 200 and mine.headers["cache-control"] == "no-store, private"
    view = mine.json()
    assert view["completion"]["completed"] and view["completion"]["class_hours"] == 1.5
    assert view["completion"]["flagged"] is False
    assert view["required_items"] == 1 and view["required_completed"] == 1
    video = next(i for i in view["items"] if i["item_id"] == str(world["video"]))
    assert video["checkpoints"] == [{"checkpoint_id": str(world["cp"]), "position": 30,
                                     "answered": True, "correct": True, "attempts": 2}]  # fmt: skip
    assert view["continue_item_id"] == str(world["link"])


async def test_too_fast_is_flagged_for_the_learner_and_their_secretary(
    api: httpx.AsyncClient, world, sql
):
    h, me = world["h"]["l1"], world["ids"]["l1"]
    session = str(uuid.uuid4())
    url = f"{L}/items/{world['video']}/progress"
    await api.put(url, json={"session_id": session, "position": 0}, headers=h)
    elapse(sql, me, 5)
    resp = await api.put(url, json={"session_id": session, "position": 60}, headers=h)
    body = resp.json()
    assert body["new_flags"] == ["too_fast"] and body["progress"]["furthest"] == 0
    assert body["progress"]["attempt_flags"] == ["too_fast"]
    assert "快" in body["progress"]["attempt_flag_notes"][0]

    flags = await api.get(f"{L}/learners/{me}/flags", headers=world["h"]["sec1"])
    assert flags.status_code == 200, flags.text
    (flag,) = flags.json()["items"]
    assert flag["kind"] == "too_fast" and flag["item_id"] == str(world["video"])
    # The secretary of the sibling branch does not see this learner at all.
    other = await api.get(f"{L}/learners/{me}/flags", headers=world["h"]["sec2"])
    assert_problem(other, 404, "learner_not_found")
    learners = await api.get(f"{L}/courses/{world['course']}/learners",
                             headers=world["h"]["sec1"])  # fmt: skip
    assert [x["learner_id"] for x in learners.json()["items"]] == [str(me)]
    assert learners.json()["items"][0]["flags"] == 1
    sibling = await api.get(f"{L}/courses/{world['course']}/learners",
                            headers=world["h"]["sec2"])  # fmt: skip
    assert sibling.json()["items"] == []
    assert_problem(
        await api.get(f"{L}/courses/{world['course']}/learners", headers=h), 403,
        "progress_managers_only",
    )  # fmt: skip

    restarted = await api.post(f"{L}/items/{world['video']}/progress/restart", headers=h)
    assert restarted.status_code == 200 and restarted.json()["attempt"] == 2
    assert restarted.json()["attempt_flags"] == [] and restarted.json()["position"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"position": -1}, "position"),
        ({"session_id": "abc", "position": 1}, "session_id"),
        ({"position": 1, "playback_rate": 0}, "playback_rate"),
        ({"position": 1, "surprise": True}, "surprise"),
        ({"position": "x"}, "position"),
    ],
)
async def test_malformed_reports_are_422_and_write_nothing(
    api: httpx.AsyncClient, world, sql, body, field
):
    body = {"session_id": str(uuid.uuid4()), **body}
    resp = await api.put(f"{L}/items/{world['video']}/progress", json=body,
                         headers=world["h"]["l1"])  # fmt: skip
    problem = assert_problem(resp, 422, "validation_failed")
    assert any(e["field"].endswith(field) for e in problem["errors"]), problem
    assert rows_of(sql, world["ids"]["l1"]) == 0


async def test_refusals_from_the_service_are_clear_problems(api: httpx.AsyncClient, world, sql):
    h = world["h"]["l1"]
    beyond = await api.put(f"{L}/items/{world['video']}/progress",
                           json={"session_id": str(uuid.uuid4()), "position": 61}, headers=h)  # fmt: skip
    problem = assert_problem(beyond, 422, "progress_position_out_of_range")
    assert problem["detail"].startswith("进度位置超出")
    bad_choice = await api.post(
        f"{L}/items/{world['video']}/checkpoints/{world['cp']}/answer",
        json={"selected": [0, 1]}, headers=h,
    )  # fmt: skip
    assert_problem(bad_choice, 422, "checkpoint_invalid_selection")
    empty = await api.post(f"{L}/items/{world['video']}/checkpoints/{world['cp']}/answer",
                           json={"selected": []}, headers=h)  # fmt: skip
    assert_problem(empty, 422, "validation_failed")
    assert rows_of(sql, world["ids"]["l1"]) == 0


async def test_another_tenants_content_does_not_exist(api: httpx.AsyncClient, world, sql):
    h, me = world["h"]["lb"], world["ids"]["lb"]
    resp = await api.put(f"{L}/items/{world['video']}/progress",
                         json={"session_id": str(uuid.uuid4()), "position": 0}, headers=h)  # fmt: skip
    problem = assert_problem(resp, 404, "item_not_found")
    assert problem["detail"].startswith("学习内容不存在")
    answer = await api.post(f"{L}/items/{world['video']}/checkpoints/{world['cp']}/answer",
                            json={"selected": [1]}, headers=h)  # fmt: skip
    assert_problem(answer, 404, "item_not_found")
    course = await api.get(f"{L}/courses/{world['course']}/my-progress", headers=h)
    assert assert_problem(course, 404, "course_not_found")["detail"].startswith("课程不存在")
    assert rows_of(sql, me) == 0
    # Its own tenant's course works, and tenant A's admin cannot see that learner.
    ok = await api.put(f"{L}/items/{world['video_b']}/progress",
                       json={"session_id": str(uuid.uuid4()), "position": 0}, headers=h)  # fmt: skip
    assert ok.status_code == 200
    assert_problem(await api.get(f"{L}/learners/{me}/flags", headers=world["h"]["admin"]), 404)
    assert_problem(
        await api.get(f"{L}/courses/{world['course_b']}/learners", headers=world["h"]["admin"]),
        404, "course_not_found",
    )  # fmt: skip


async def test_points_are_optional_and_never_listed_across_branches(
    api: httpx.AsyncClient, world, sql, app
):
    h = world["h"]
    assert_problem(await api.get(f"{L}/my-points", headers=h["l1"]), 409, "points_disabled")
    settings = await api.get(f"{L}/progress-settings", headers=h["admin"])
    assert settings.json()["points_enabled"] is False
    assert settings.json()["sources"]["points_enabled"] == "default"
    refused = await api.put(f"{L}/progress-settings", json={"points_enabled": True},
                            headers=h["sec1"])  # fmt: skip
    assert_problem(refused, 403, "tenant_admin_only")
    bad = await api.put(f"{L}/progress-settings", json={"max_playback_rate": 50},
                        headers=h["admin"])  # fmt: skip
    assert_problem(bad, 422, "validation_failed")
    on = await api.put(f"{L}/progress-settings",
                       json={"points_enabled": True, "points_per_item": 3}, headers=h["admin"])  # fmt: skip
    assert on.status_code == 200, on.text
    assert on.json()["points_enabled"] and on.json()["sources"]["points_per_item"] == "tenant"
    other_tenant = await api.get(f"{L}/progress-settings", headers=h["admin_b"])
    assert other_tenant.json()["points_enabled"] is False

    # A link completes when opened: the un-flagged completion earns the item's points.
    await api.put(f"{L}/items/{world['link']}/progress",
                  json={"session_id": str(uuid.uuid4()), "position": 0}, headers=h["l1"])  # fmt: skip
    mine = await api.get(f"{L}/my-points", headers=h["l1"])
    assert mine.status_code == 200 and mine.json()["total"] == 3 and mine.json()["today"] == 3
    branch = await api.get(f"{L}/points/my-branch", headers=h["sec1"])
    assert branch.status_code == 200, branch.text
    assert branch.json()["org_id"] == str(world["br1"])
    assert branch.json()["items"] == [{"learner_id": str(world["ids"]["l1"]), "total": 3}]
    assert (await api.get(f"{L}/points/my-branch", headers=h["sec2"])).json()["items"] == []
    # The tenant admin asks for a list across branches: refused, and no such route exists.
    denied = await api.get(f"{L}/points/my-branch", headers=h["admin"])
    assert_problem(denied, 403, "points_branch_only")
    for path in (f"{L}/points", f"{L}/points/ranking", f"{L}/points/branches"):
        assert (await api.get(path, headers=h["admin"])).status_code in (404, 405)
    paths = [p for p in app.openapi()["paths"] if p.startswith(f"{L}/points") or "rank" in p]
    assert paths == [f"{L}/points/my-branch"]
