"""待办提醒 through HTTP on the platform as `make run` starts it: committee terms ending in a
subtree, earliest first with the rule behind each date, and scope refusals as problem+json."""

from __future__ import annotations

import uuid

import pytest
from member_service.domain.dates import add_months, add_years, china_today

pytestmark = pytest.mark.e2e
ORGS = "/api/v1/organizations"
URL = "/api/v1/due-items"


@pytest.fixture(scope="module")
def admin(platform):
    with platform.client("demo-admin") as c:
        yield c


@pytest.fixture(scope="module")
def branches(platform, admin):
    """A general branch under the demo root with two branches: one whose term ended in 2023, one
    whose term ends in two months."""
    s = uuid.uuid4().hex[:4]

    def create(name, type_, parent):
        r = admin.post(ORGS, json={"name": f"{name}-{s}", "type": type_, "parent_id": parent})
        assert r.status_code == 201, r.text
        return r.json()["id"]

    g = create("待办总支", "general_branch", platform.info["root_org_id"])
    old, soon = create("逾期支部", "branch", g), create("将到期支部", "branch", g)
    soon_start = add_months(china_today(), -34)
    for org, started in ((old, "2020-01-01"), (soon, soon_start.isoformat())):
        r = admin.post(f"{ORGS}/{org}/committee-terms",
                       json={"unit_kind": "other", "started_on": started})  # fmt: skip
        assert r.status_code == 201, r.text
    return {"g": g, "old": old, "soon": soon, "soon_ends": add_years(soon_start, 3)}


def test_terms_ending_in_a_subtree_with_their_rule(admin, branches):
    r = admin.get(URL, params={"organization_id": branches["g"], "kind": "committee_term"})
    assert r.status_code == 200, r.text
    (terms,) = r.json()["sections"]
    assert (terms["kind"], terms["total"], terms["overdue"]) == ("committee_term", 2, 1)
    first, second = terms["items"]
    assert (first["organization_id"], first["due_on"], first["overdue"]) == (
        branches["old"], "2023-01-01", True)  # fmt: skip
    assert first["days_left"] < 0 and first["rule_key"] == "org.committee.term_years"
    assert "支部工作条例" in first["rule_citation"] and first["rule_source"] == "national"
    assert (second["organization_id"], second["due_on"], second["overdue"]) == (
        branches["soon"], branches["soon_ends"].isoformat(), False)  # fmt: skip
    # The whole tenant holds at least these two, and every kind has a section.
    whole = admin.get(URL).json()
    assert [s["kind"] for s in whole["sections"]] == [
        "development_step", "letter_expiring", "committee_term", "dues_arrears"]  # fmt: skip
    assert {s["kind"]: s for s in whole["sections"]}["committee_term"]["total"] >= 2


def test_outside_the_scope_and_bad_queries_are_problems(platform, admin, branches):
    with platform.client("demo-secretary") as sec:
        r = sec.get(URL, params={"organization_id": branches["g"]})
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
        own = sec.get(URL, params={"kind": "committee_term"})
        assert own.status_code == 200
        assert branches["old"] not in {
            i["organization_id"] for i in own.json()["sections"][0]["items"]
        }
    r = admin.get(URL, params={"limit": 500})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"


def test_the_demo_secretary_finds_work_due_in_their_branch(platform):
    """`make run` seeds the demo branch so the view is not empty: a term ending in two months
    and an applicant waiting for the talk (talk within one month of the application)."""
    with platform.client("demo-secretary") as sec:
        r = sec.get(URL)
        assert r.status_code == 200, r.text
        sections = {s["kind"]: s for s in r.json()["sections"]}
    terms = [i for i in sections["committee_term"]["items"]
             if i["organization_id"] == platform.info["branch_id"]]  # fmt: skip
    assert terms and not terms[0]["overdue"] and terms[0]["days_left"] > 0
    talks = [i for i in sections["development_step"]["items"] if i["subject_label"] == "孙志远"]
    assert talks and talks[0]["rule_key"] == "dev.application.talk_within_months"
