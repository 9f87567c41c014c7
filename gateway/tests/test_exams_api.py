"""/api/v1/question-banks and /api/v1/exams through the gateway against the real learning
service: the import template and an all-or-nothing import whose every bad cell is listed,
questions with validation as problem+json (Chinese first), taking an exam (start, autosave,
reconnect, submit, the deadline, the attempts limit), grading, statistics, and other tenants or
learners outside the audience getting 404 with nothing written."""

from __future__ import annotations

import io
import uuid
from typing import Any

import httpx
import pytest
from gateway_test_helpers import Login, MakeAccount, assert_problem
from openpyxl import Workbook, load_workbook

pytestmark = pytest.mark.asyncio(loop_scope="session")
BANKS = "/api/v1/question-banks"
EXAMS = "/api/v1/exams"
DB = "gateway_learning_test"
HEADERS = ["题型", "题干", "选项A", "选项B", "选项C", "答案", "标签", "难度"]


@pytest.fixture
def sql(postgres, learning_service):
    def run(statement: str) -> str:
        return postgres.psql(statement, DB).strip()

    return run


@pytest.fixture
async def world(sql, make_account: MakeAccount, login: Login) -> dict[str, Any]:
    a, b = uuid.uuid4(), uuid.uuid4()
    root, br1, br2 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    sql(
        "INSERT INTO learning.org_paths (tenant_id, org_id, path) VALUES "
        f"('{a}', '{root}', ARRAY['{root}']::uuid[]), "
        f"('{a}', '{br1}', ARRAY['{root}','{br1}']::uuid[]), "
        f"('{a}', '{br2}', ARRAY['{root}','{br2}']::uuid[]);"
    )
    tag = uuid.uuid4().hex[:6]
    ids, headers = {}, {}
    for key, roles, tenant, org in (
        ("admin", ["tenant_admin"], a, None),
        ("sec1", ["secretary"], a, br1),
        ("l1", ["member"], a, br1),
        ("l2", ["member"], a, br2),
        ("admin_b", ["tenant_admin"], b, None),
        ("lb", ["member"], b, None),
    ):
        ids[key] = await make_account(
            f"{key}.{tag}", roles=roles, tenant_id=tenant, scope_org_id=org
        )
        headers[key] = await login(f"{key}.{tag}")
    return dict(a=a, b=b, br1=br1, br2=br2, ids=ids, h=headers)


async def bank(api: httpx.AsyncClient, w, name="题库") -> dict[str, Any]:
    resp = await api.post(BANKS, json={"name": name}, headers=w["h"]["admin"])
    assert resp.status_code == 201, resp.text
    return resp.json()


async def add(api, w, bank_id, **body) -> dict[str, Any]:
    resp = await api.post(f"{BANKS}/{bank_id}/questions", json=body, headers=w["h"]["admin"])
    assert resp.status_code == 201, resp.text
    return resp.json()


def xlsx(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "题目"
    ws.append(HEADERS)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def test_the_import_template_downloads(api, world):
    resp = await api.get(f"{BANKS}/import-template.xlsx", headers=world["h"]["admin"])
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in resp.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(resp.content))
    assert wb.sheetnames == ["题目", "填写说明"] and wb["题目"]["A1"].value == "题型"
    assert (await api.get(f"{BANKS}/import-template.xlsx")).status_code == 401


async def test_questions_crud_and_validation(api, world, sql):
    w = world
    b = await bank(api, w)
    assert b["org_id"] is None and b["can_manage"] and b["question_count"] == 0
    q = await add(
        api,
        w,
        b["id"],
        kind="single",
        prompt="党的根本宗旨？",
        options=["为人民服务", "其他"],
        answer=[0],
        tags=["党章"],
    )
    assert q["difficulty"] == 3 and q["version"] == 1
    bad = await api.post(
        f"{BANKS}/{b['id']}/questions",
        headers=w["h"]["admin"],
        json={"kind": "single", "prompt": "x", "options": ["a", "b"], "answer": [12]},
    )
    body = assert_problem(bad, 422, "validation_failed")  # le=9 is checked at the gateway
    bad = await api.post(
        f"{BANKS}/{b['id']}/questions",
        headers=w["h"]["admin"],
        json={"kind": "single", "prompt": "x", "options": ["a", "b"], "answer": [2]},
    )
    body = assert_problem(bad, 422, "question_answer_out_of_range")
    assert body["detail"].startswith("答案不在选项范围内")
    assert_problem(
        await api.post(
            f"{BANKS}/{b['id']}/questions",
            headers=w["h"]["admin"],
            json={"kind": "essay", "prompt": "x"},
        ),
        422,
    )
    put = await api.put(
        f"{BANKS}/{b['id']}/questions/{q['id']}",
        headers=w["h"]["admin"],
        json={"kind": "true_false", "prompt": "判断", "answer": [1], "expected_version": 1},
    )
    assert put.status_code == 200 and put.json()["options"] == ["正确", "错误"]
    stale = await api.put(
        f"{BANKS}/{b['id']}/questions/{q['id']}",
        headers=w["h"]["admin"],
        json={"kind": "true_false", "prompt": "判断", "answer": [0], "expected_version": 1},
    )
    assert_problem(stale, 409, "question_version_mismatch")
    other = await bank(api, w, "另一题库")
    assert_problem(
        await api.get(f"{BANKS}/{other['id']}/questions/{q['id']}", headers=w["h"]["admin"]),
        404,
        "question_not_found",
    )
    listed = await api.get(
        f"{BANKS}/{b['id']}/questions", params={"kind": "true_false"}, headers=w["h"]["admin"]
    )
    assert [x["id"] for x in listed.json()["items"]] == [q["id"]]
    # Another tenant: 404, nothing changed.
    for resp in (
        await api.get(f"{BANKS}/{b['id']}", headers=w["h"]["admin_b"]),
        await api.put(f"{BANKS}/{b['id']}", json={"name": "改"}, headers=w["h"]["admin_b"]),
        await api.delete(f"{BANKS}/{b['id']}/questions/{q['id']}", headers=w["h"]["admin_b"]),
    ):
        assert_problem(resp, 404)
    assert sql(f"SELECT name FROM learning.question_banks WHERE id = '{b['id']}'") == "题库"
    # Learners do not author.
    assert_problem(await api.get(BANKS, headers=w["h"]["l1"]), 403, "exam_author_required")
    deleted = await api.delete(f"{BANKS}/{b['id']}/questions/{q['id']}", headers=w["h"]["admin"])
    assert deleted.status_code == 204


async def test_an_import_is_all_or_nothing_and_lists_every_bad_cell(api, world, sql):
    w = world
    b = await bank(api, w, "导入")
    url = f"{BANKS}/{b['id']}/questions/import"
    bad = xlsx(
        [
            ["单选", "好题", "甲", "乙", "", "A", "", ""],
            ["单选", "坏题一", "甲", "乙", "", "D", "", ""],
            ["问答题型", "坏题二", "", "", "", "", "", "9"],
        ]
    )
    resp = await api.post(url, files={"file": ("题目.xlsx", bad)}, headers=w["h"]["admin"])
    body = assert_problem(resp, 422, "question_import_rejected")
    assert body["detail"].startswith("导入失败：2 行有错误")
    assert [(e["row"], e["column"], e["reason"]) for e in body["errors"]] == [
        (3, "答案", "question_answer_format"),
        (4, "题型", "question_unknown_kind"),
        (4, "难度", "question_difficulty_range"),
    ]
    assert body["errors"][0]["field"] == "rows[3].答案"
    assert sql(f"SELECT count(*) FROM learning.questions WHERE bank_id = '{b['id']}'") == "0"

    good = xlsx(
        [
            ["单选", "好题", "甲", "乙", "", "A", "", ""],
            ["多选", "多选题", "甲", "乙", "丙", "AB", "", ""],
            ["填空", "填空题", "", "", "", "1921", "", ""],
        ]
    )
    dry = await api.post(
        url, files={"file": ("题目.xlsx", good)}, data={"dry_run": "true"}, headers=w["h"]["admin"]
    )
    assert dry.status_code == 200 and dry.json() == {
        "accepted": True,
        "dry_run": True,
        "row_count": 3,
        "imported_count": 0,
    }
    done = await api.post(url, files={"file": ("题目.xlsx", good)}, headers=w["h"]["admin"])
    assert done.status_code == 200 and done.json()["imported_count"] == 3
    assert sql(f"SELECT count(*) FROM learning.questions WHERE bank_id = '{b['id']}'") == "3"

    assert_problem(await api.post(url, json={}, headers=w["h"]["admin"]), 415)
    assert_problem(
        await api.post(url, files={"file": ("x.xlsx", b"junk")}, headers=w["h"]["admin"]),
        422,
        "question_import_bad_file",
    )
    assert_problem(
        await api.post(
            url, files={"file": ("x.xlsx", b"0" * (5 * 1024 * 1024 + 1))}, headers=w["h"]["admin"]
        ),
        413,
        "file_too_large",
    )
    assert_problem(
        await api.post(url, files={"file": ("题目.xlsx", good)}, headers=w["h"]["admin_b"]), 404
    )


async def exam_with(api, w, items, **spec) -> dict[str, Any]:
    body = {
        "title": "党章测验",
        "time_limit_minutes": 30,
        "items": items,
        "audiences": [{"kind": "org_subtree", "org_id": str(w["br1"])}],
        **spec,
    }
    resp = await api.post(EXAMS, json=body, headers=w["h"]["admin"])
    assert resp.status_code == 201, resp.text
    published = await api.post(f"{EXAMS}/{resp.json()['id']}/publish", headers=w["h"]["admin"])
    assert published.status_code == 200, published.text
    return published.json()


async def test_taking_an_exam(api, world, sql):
    w = world
    b = await bank(api, w)
    q1 = await add(
        api,
        w,
        b["id"],
        kind="single",
        prompt="宗旨？",
        options=["为人民服务", "发展", "开放"],
        answer=[0],
    )
    q2 = await add(
        api, w, b["id"], kind="fill_in", prompt="成立于____年", blanks=[["1921", "一九二一"]]
    )
    exam = await exam_with(
        api,
        w,
        [{"question_id": q1["id"], "points": 6}, {"question_id": q2["id"], "points": 4}],
        pass_score=6,
        shuffle_options=True,
        max_attempts=1,
    )
    assert exam["status"] == "published" and exam["total_score"] == 10.0
    l1 = w["h"]["l1"]
    available = (await api.get(f"{EXAMS}/available", headers=l1)).json()["items"]
    assert [(e["id"], e["can_start"], e["attempts_used"]) for e in available] == [
        (exam["id"], True, 0)
    ]

    started = await api.post(f"{EXAMS}/{exam['id']}/attempts", headers=l1)
    assert started.status_code == 201 and started.headers["cache-control"] == "no-store, private"
    attempt = started.json()["attempt"]
    assert attempt["status"] == "in_progress" and attempt["remaining_seconds"] > 1700
    again = await api.post(f"{EXAMS}/{exam['id']}/attempts", headers=l1)
    assert again.status_code == 200 and again.json()["resumed"]
    assert again.json()["attempt"]["id"] == attempt["id"]

    base = f"{EXAMS}/attempts/{attempt['id']}"
    by_prompt = {q["prompt"]: q for q in attempt["questions"]}
    single = by_prompt["宗旨？"]
    right = single["options"].index("为人民服务")
    saved = await api.put(
        f"{base}/answers/{single['position']}", json={"choices": [right], "version": 1}, headers=l1
    )
    assert saved.status_code == 200 and saved.json()["stored"] and saved.json()["version"] == 1
    retry = await api.put(
        f"{base}/answers/{single['position']}", json={"choices": [right], "version": 1}, headers=l1
    )
    assert retry.json()["stored"] is False
    fill = by_prompt["成立于____年"]
    await api.put(
        f"{base}/answers/{fill['position']}",
        json={"blanks": ["１９２１ "], "version": 1},
        headers=l1,
    )
    assert_problem(
        await api.put(f"{base}/answers/{fill['position']}", json={"blanks": ["x"]}, headers=l1),
        422,
        "validation_failed",
    )  # version required
    resumed = (await api.get(base, headers=l1)).json()
    assert [q["options"] for q in resumed["questions"]] == [
        q["options"] for q in attempt["questions"]
    ]
    assert resumed["questions"][single["position"]]["answer"]["choices"] == [right]
    assert resumed["deadline_at"] == attempt["deadline_at"]

    result = await api.post(f"{base}/submit", headers=l1)
    assert result.status_code == 200
    r = result.json()
    assert r["status"] == "graded" and r["score"] == 10.0 and r["passed"] is True
    assert all(q["correct"] for q in r["questions"])
    assert (await api.post(f"{base}/submit", headers=l1)).json() == r
    assert_problem(
        await api.put(f"{base}/answers/0", json={"choices": [0], "version": 9}, headers=l1),
        409,
        "exam_attempt_closed",
    )
    used_up = await api.post(f"{EXAMS}/{exam['id']}/attempts", headers=l1)
    body = assert_problem(used_up, 409, "exam_attempts_used_up")
    assert body["detail"].startswith("作答次数已用完")
    mine = (await api.get(f"{EXAMS}/{exam['id']}/attempts/mine", headers=l1)).json()
    assert [a["score"] for a in mine] == [10.0]

    # Outside the audience, another tenant, someone else's attempt: 404, nothing written.
    before = sql(f"SELECT count(*) FROM learning.exam_attempts WHERE exam_id = '{exam['id']}'")
    for who in ("l2", "lb", "admin_b"):
        assert_problem(
            await api.post(f"{EXAMS}/{exam['id']}/attempts", headers=w["h"][who]),
            404,
            "exam_not_found",
        )
        assert_problem(await api.get(base, headers=w["h"][who]), 404, "exam_attempt_not_found")
    assert_problem(await api.get(f"{EXAMS}/{exam['id']}", headers=w["h"]["admin_b"]), 404)
    assert (
        sql(f"SELECT count(*) FROM learning.exam_attempts WHERE exam_id = '{exam['id']}'") == before
    )

    stats = (await api.get(f"{EXAMS}/{exam['id']}/statistics", headers=w["h"]["admin"])).json()
    assert stats["submitted_attempts"] == 1 and stats["passed_attempts"] == 1
    assert [(q["prompt"], q["correct_rate"]) for q in stats["questions"]] == [
        ("宗旨？", 1.0),
        ("成立于____年", 1.0),
    ]
    assert str(w["ids"]["l1"]) not in str(stats)


async def test_answers_after_the_deadline_are_refused(api, world, sql):
    w = world
    b = await bank(api, w)
    q = await add(api, w, b["id"], kind="true_false", prompt="对吗？", answer=[0])
    exam = await exam_with(api, w, [{"question_id": q["id"], "points": 1}], time_limit_minutes=1)
    l1 = w["h"]["l1"]
    attempt = (await api.post(f"{EXAMS}/{exam['id']}/attempts", headers=l1)).json()["attempt"]
    sql(
        "UPDATE learning.exam_attempts SET started_at = now() - interval '2 minutes', "
        f"deadline_at = now() - interval '1 minute' WHERE id = '{attempt['id']}'"
    )
    late = await api.put(
        f"{EXAMS}/attempts/{attempt['id']}/answers/0",
        json={"choices": [0], "version": 1},
        headers=l1,
    )
    body = assert_problem(late, 409, "exam_attempt_time_up")
    assert body["detail"].startswith("考试时间已到")
    assert (
        sql(f"SELECT count(*) FROM learning.exam_answers WHERE attempt_id = '{attempt['id']}'")
        == "0"
    )
    result = (await api.get(f"{EXAMS}/attempts/{attempt['id']}/result", headers=l1)).json()
    assert result["submitted_by"] == "deadline" and result["score"] == 0.0


async def test_grading_a_short_answer(api, world):
    w = world
    b = await bank(api, w)
    q = await add(api, w, b["id"], kind="short_answer", prompt="谈体会", reference_answer="要点")
    exam = await exam_with(api, w, [{"question_id": q["id"], "points": 10}], pass_score=6)
    l1 = w["h"]["l1"]
    attempt = (await api.post(f"{EXAMS}/{exam['id']}/attempts", headers=l1)).json()["attempt"]
    base = f"{EXAMS}/attempts/{attempt['id']}"
    await api.put(f"{base}/answers/0", json={"text": "学习实践", "version": 1}, headers=l1)
    submitted = (await api.post(f"{base}/submit", headers=l1)).json()
    assert submitted["status"] == "submitted" and submitted["pending_grades"] == 1
    assert submitted["passed"] is None

    queue = (await api.get(f"{EXAMS}/{exam['id']}/grading-queue", headers=w["h"]["sec1"])).json()[
        "items"
    ]
    assert [(i["answer_text"], i["points"], i["reference_answer"]) for i in queue] == [
        ("学习实践", 10, "要点")
    ]
    assert_problem(
        await api.post(f"{base}/answers/0/grade", json={"score": 7.5}, headers=l1),
        403,
        "exam_author_required",
    )
    assert_problem(
        await api.post(f"{base}/answers/0/grade", json={"score": 7.555}, headers=w["h"]["sec1"]),
        422,
        "validation_failed",
    )
    assert_problem(
        await api.post(f"{base}/answers/0/grade", json={"score": 11}, headers=w["h"]["sec1"]),
        422,
        "exam_grade_score_range",
    )
    graded = await api.post(
        f"{base}/answers/0/grade", json={"score": 7.5, "comment": "好"}, headers=w["h"]["sec1"]
    )
    assert graded.status_code == 200, graded.text
    assert graded.json()["attempt_status"] == "graded" and graded.json()["item"]["score"] == 7.5
    assert_problem(
        await api.post(f"{base}/answers/0/grade", json={"score": 1}, headers=w["h"]["admin"]),
        409,
        "exam_answer_already_graded",
    )
    final = (await api.get(f"{base}/result", headers=l1)).json()
    assert final["score"] == 7.5 and final["passed"] is True
    assert final["questions"][0]["grader_comment"] == "好"
