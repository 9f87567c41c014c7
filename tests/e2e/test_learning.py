"""Learning through the gateway, on the platform as `make run` starts it: the demo member studies
the seeded course (catalogue, outline, the PDF by range request, page-by-page progress, the
checkpoint question), and an exam is written by the admin and taken by the member."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

pytestmark = pytest.mark.e2e

COURSE = "学习贯彻党的二十大精神"


def ok(r: httpx.Response, status: int = 200) -> dict:
    assert r.status_code == status, r.text
    return r.json() if r.content else {}


def test_the_demo_member_completes_the_seeded_course(platform):
    with platform.client("demo-admin") as admin:
        # Reading three pages in a test should not take half a minute: a tenant may say how
        # long a page needs at least (a rule setting, here for this demo tenant).
        ok(admin.put("/api/v1/learning/progress-settings",
                     json={"min_seconds_per_page": 0.5, "slack_pages": 1}))  # fmt: skip
    with platform.client("demo-member") as me:
        catalogue = ok(me.get("/api/v1/course-catalogue"))["items"]
        entry = next(e for e in catalogue if e["title"] == COURSE)
        assert entry["required"] is True and entry["class_hours"] in ("1", "1.00", 1, 1.0)
        found = ok(me.get("/api/v1/course-catalogue", params={"q": "二十大"}))["items"]
        assert [e["course_id"] for e in found] == [entry["course_id"]]
        assert ok(me.get("/api/v1/course-catalogue", params={"q": "党费"}))["items"] == []

        outline = ok(me.get(f"/api/v1/course-catalogue/{entry['course_id']}"))
        items = [i for c in outline["chapters"] for i in c["items"]]
        doc = next(i for i in items if i["kind"] == "document")
        summary = next(i for i in items if i["kind"] == "rich_text")
        checkpoint = doc["checkpoints"][0]
        assert "answer" not in checkpoint  # a learner never receives the answers
        assert doc["content_type"] == "application/pdf" and doc["length"] == 3

        url = ok(me.get(f"/api/v1/courses/{entry['course_id']}/items/{doc['id']}/download"))["url"]
        part = httpx.get(url, headers={"Range": "bytes=0-3"})
        assert part.status_code == 206 and part.content == b"%PDF"

        session = str(uuid.uuid4())
        progress_url = f"/api/v1/learning/items/{doc['id']}/progress"
        for page in range(3):
            r = ok(me.put(progress_url, json={"session_id": session, "position": page}))
            time.sleep(1.1)
        assert r["progress"]["reached_end"] is True and r["new_flags"] == []
        assert r["progress"]["completed"] is False  # the question is still open

        answer_url = f"/api/v1/learning/items/{doc['id']}/checkpoints/{checkpoint['id']}/answer"
        wrong = ok(me.post(answer_url, json={"selected": [0]}))
        assert wrong["correct"] is False and wrong["progress"]["completed"] is False
        right = ok(me.post(answer_url, json={"selected": [1]}))
        assert right["correct"] is True and right["progress"]["completed"] is True
        assert right["explanation"]

        done = ok(me.put(f"/api/v1/learning/items/{summary['id']}/progress",
                         json={"session_id": str(uuid.uuid4()), "position": 0}))  # fmt: skip
        assert done["course_completed"] is True

        mine = ok(me.get(f"/api/v1/learning/courses/{entry['course_id']}/my-progress"))
        assert mine["completion"]["completed"] is True and mine["completion"]["flagged"] is False
        assert mine["completion"]["class_hours"] == 1.0


def test_an_exam_written_by_the_admin_is_taken_by_the_member(platform):
    with platform.client("demo-admin") as admin:
        bank = ok(admin.post("/api/v1/question-banks", json={"name": "二十大精神题库"}), 201)
        single = ok(admin.post(f"/api/v1/question-banks/{bank['id']}/questions", json={
            "kind": "single", "prompt": "党的二十大在哪一年召开？",
            "options": ["2021 年", "2022 年", "2023 年"], "answer": [1]}), 201)  # fmt: skip
        judge = ok(admin.post(f"/api/v1/question-banks/{bank['id']}/questions", json={
            "kind": "true_false", "prompt": "党的二十大在北京召开。",
            "options": ["正确", "错误"], "answer": [0]}), 201)  # fmt: skip
        exam = ok(admin.post("/api/v1/exams", json={
            "title": "二十大精神小测", "time_limit_minutes": 10, "pass_score": 50,
            "items": [{"question_id": single["id"], "points": 50},
                      {"question_id": judge["id"], "points": 50}],
            "audiences": [{"kind": "tenant"}]}), 201)  # fmt: skip
        ok(admin.post(f"/api/v1/exams/{exam['id']}/publish"))
    with platform.client("demo-member") as me:
        available = ok(me.get("/api/v1/exams/available"))["items"]
        assert exam["id"] in [e["id"] for e in available]
        started = ok(me.post(f"/api/v1/exams/{exam['id']}/attempts"), 201)
        attempt = started["attempt"]
        assert started["resumed"] is False and 0 < attempt["remaining_seconds"] <= 600
        by_prompt = {q["prompt"]: q for q in attempt["questions"]}
        first = by_prompt["党的二十大在哪一年召开？"]
        right_choice = first["options"].index("2022 年")
        ok(me.put(f"/api/v1/exams/attempts/{attempt['id']}/answers/{first['position']}",
                  json={"choices": [right_choice], "version": 1}))  # fmt: skip
        # A reconnect shows the saved answer; the true/false question stays unanswered.
        again = ok(me.post(f"/api/v1/exams/{exam['id']}/attempts"))  # 200: the running one
        assert again["resumed"] is True and again["attempt"]["id"] == attempt["id"]
        saved = {q["position"]: q["answer"] for q in again["attempt"]["questions"]}
        assert saved[first["position"]]["choices"] == [right_choice]
        assert sum(1 for a in saved.values() if a is None) == 1
        ok(me.post(f"/api/v1/exams/attempts/{attempt['id']}/submit"))
        result = ok(me.get(f"/api/v1/exams/attempts/{attempt['id']}/result"))
        assert result["score"] == 50 and result["passed"] is True
        late = me.put(f"/api/v1/exams/attempts/{attempt['id']}/answers/{first['position']}",
                      json={"choices": [0], "version": 2})  # fmt: skip
        assert late.status_code == 409
        assert late.headers["content-type"].startswith("application/problem+json")
