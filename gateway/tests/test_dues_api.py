"""/api/v1/dues through the gateway against the fake DuesService (gateway_fake_dues.py): money as
yuan strings both ways, validation before the service is called, refusals as problem+json with
the service's reason code, pagination cursors, roles and data scope."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from gateway_fake_member_service import RunningFake
from gateway_test_helpers import Login, MakeAccount, assert_problem, make_id_number
from hongyun.member.v1 import member_dues_pb2 as dpb
from hongyun.member.v1 import member_pb2 as pb
from hongyun_gateway.schemas.dues import from_fen, to_fen

pytestmark = pytest.mark.asyncio(loop_scope="session")
DUES = "/api/v1/dues"


def month(k: int = 0) -> str:
    today = datetime.now(timezone(timedelta(hours=8))).date()
    index = today.year * 12 + today.month - 1 + k
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@pytest.fixture
async def world(
    fake_member: RunningFake, api: httpx.AsyncClient, make_account: MakeAccount, login: Login
) -> dict[str, Any]:
    t = pb.Tenant(id=str(uuid.uuid4()), name="示范党委", code="demo")
    fake_member.service.store.tenants[t.id] = t
    tenant = uuid.UUID(t.id)
    await make_account("d.admin", roles=["tenant_admin"], tenant_id=tenant)
    admin = await login("d.admin")

    async def org(**body: Any) -> dict[str, Any]:
        resp = await api.post(
            "/api/v1/organizations", json={"type": "branch", **body}, headers=admin
        )
        assert resp.status_code == 201, resp.text
        return resp.json()  # type: ignore[no-any-return]

    root = await org(name="党委", type="committee")
    br1, br2 = await org(name="一支部", parent_id=root["id"]), await org(
        name="二支部", parent_id=root["id"])  # fmt: skip
    members = {}
    for key, org_id, seq in (("a", br1["id"], "201"), ("b", br1["id"], "203"),
                             ("c", br2["id"], "205")):  # fmt: skip
        body = {"organization_id": org_id, "name": f"党员{seq}", "category": "full",
                "id_number": make_id_number("19800101", seq), "joined_on": "2005-07-01"}  # fmt: skip
        resp = await api.post("/api/v1/members", json=body, headers=admin)
        assert resp.status_code == 201, resp.text
        members[key] = resp.json()
    await make_account("d.sec", roles=["secretary"], tenant_id=tenant,
                       scope_org_id=uuid.UUID(br1["id"]))  # fmt: skip
    await make_account("d.member", roles=["member"], tenant_id=tenant)
    return dict(admin=admin, sec=await login("d.sec"), member=await login("d.member"),
                br1=br1, br2=br2, m=members)  # fmt: skip


async def _standard(api, headers, member_id, **body) -> httpx.Response:
    return await api.put(f"{DUES}/members/{member_id}/standard",
                         json={"group": "employed", "declared_base": "3000.00", **body},
                         headers=headers)  # fmt: skip


async def test_money_converts_exactly():
    assert to_fen("12.5") == 1250 and to_fen("0.01") == 1 and to_fen("3000") == 300000
    assert to_fen("999999999.99") == 99999999999 and to_fen(None) == 0
    assert from_fen(1500) == "15.00" and from_fen(5) == "0.05" and from_fen(0) == "0.00"


async def test_a_standard_is_declared_in_yuan_and_computed_in_fen(
    api: httpx.AsyncClient, world: dict[str, Any], fake_member: RunningFake
) -> None:
    a = world["m"]["a"]["id"]
    resp = await _standard(api, world["sec"], a, effective_month=month())
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store, private"
    body = resp.json()
    s = body["standard"]
    assert s["monthly_amount"] == "15.00" and s["declared_base"] == "3000.00"
    assert s["group"] == "employed" and s["rate_per_mille"] == 5
    assert s["rate_rule"]["key"] == "dues.rate.employed" and "党费" in s["rate_rule"]["citation"]
    assert s["rate_rule"]["source"] == "national" and s["rounding_rule"]["key"]
    assert body["account"]["amount_owed"] == "15.00" and body["account"]["paid_through"] is None
    (call,) = fake_member.service.calls_to("SetStandard")
    assert call.request.declared_base_fen == 300000
    assert call.request.group == dpb.DUES_GROUP_EMPLOYED
    assert call.request.effective_month == month()

    hidden = (await api.get(f"{DUES}/members/{a}/standard", headers=world["sec"])).json()
    assert hidden["declared_base"] is None and hidden["monthly_amount"] == "15.00"
    shown = await api.get(f"{DUES}/members/{a}/standard",
                          params={"reveal": "true", "reason": "核对"}, headers=world["sec"])  # fmt: skip
    assert shown.json()["declared_base"] == "3000.00"
    assert fake_member.service.calls_to("GetStandard")[-1].request.reason == "核对"

    student = await _standard(api, world["admin"], a, group="student", declared_base=None)
    assert student.json()["standard"]["monthly_amount"] == "0.20"
    assert student.json()["standard"]["rounding_rule"] is None


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"declared_base": "-1.00"}, "declared_base", "negative"),
        ({"declared_base": "12.345"}, "declared_base", "format"),
        ({"declared_base": 3000}, "declared_base", "type"),
        ({"declared_base": "3,000"}, "declared_base", "format"),
        ({"group": "worker"}, "group", "enum"),
        ({"effective_month": "2026-13"}, "effective_month", "format"),
        ({"effective_month": "2026-1"}, "effective_month", "format"),
        ({"surprise": 1}, "surprise", "extra_forbidden"),
    ],
)
async def test_bad_standards_are_422_before_the_service_is_called(
    api: httpx.AsyncClient, world: dict[str, Any], fake_member: RunningFake, body, field, reason
) -> None:
    resp = await _standard(api, world["admin"], world["m"]["a"]["id"], **body)
    problem = assert_problem(resp, 422, "validation_failed")
    assert problem["errors"][0]["field"] == field and problem["errors"][0]["reason"] == reason
    assert fake_member.service.calls_to("SetStandard") == []


async def test_the_services_refusals_keep_their_code_and_field(
    api: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    a = world["m"]["a"]["id"]
    zero = assert_problem(await _standard(api, world["admin"], a, declared_base="0"), 422,
                          "dues_invalid_base")  # fmt: skip
    assert zero["errors"][0]["field"] == "declared_base" and "正数" in zero["detail"]
    farmer = await _standard(api, world["admin"], a, group="farmer")
    assert_problem(farmer, 422, "dues_base_not_used")
    no_std = await api.post(f"{DUES}/members/{a}/payments",
                            json={"first_month": month(), "amount": "15.00"},
                            headers=world["admin"])  # fmt: skip
    assert_problem(no_std, 409, "dues_no_standard")


async def test_payments_duplicates_order_and_short_amounts(
    api: httpx.AsyncClient, world: dict[str, Any], fake_member: RunningFake
) -> None:
    a = world["m"]["a"]["id"]
    assert (await _standard(api, world["sec"], a, effective_month=month(-1))).status_code == 200
    url = f"{DUES}/members/{a}/payments"
    resp = await api.post(url, json={"first_month": month(-1), "last_month": month(),
                                     "amount": "30", "method": "微信", "receipt_number": "R1"},
                          headers=world["sec"])  # fmt: skip
    assert resp.status_code == 201, resp.text
    body = resp.json()
    p = body["payment"]
    assert (p["amount"], p["due"], p["months"], p["method"]) == ("30.00", "30.00", 2, "微信")
    assert body["account"]["paid_through"] == month() and body["account"]["months_owed"] == 0
    call = fake_member.service.calls_to("RecordPayment")[-1]
    assert call.request.amount_fen == 3000 and call.request.receipt_number == "R1"

    dup = await api.post(url, json={"first_month": month(), "amount": "15.00"},
                         headers=world["sec"])  # fmt: skip
    problem = assert_problem(dup, 409, "dues_month_already_paid")
    assert problem["errors"][0]["field"] == "first_month"
    skip = await api.post(url, json={"first_month": month(2), "amount": "15.00"},
                          headers=world["sec"])  # fmt: skip
    assert_problem(skip, 409, "dues_month_order")
    short = await api.post(url, json={"first_month": month(1), "amount": "14.99"},
                           headers=world["sec"])  # fmt: skip
    assert "15.00" in assert_problem(short, 422, "dues_amount_short")["detail"]
    for bad, field in (({"first_month": month(1), "amount": "1.001"}, "amount"),
                       ({"first_month": month(1), "amount": 15}, "amount"),
                       ({"first_month": "2026/01", "amount": "15.00"}, "first_month"),
                       ({"first_month": month(1), "amount": "15.00", "paid_on": "2999-01-01"},
                        "paid_on"),
                       ({"first_month": month(1), "amount": "15.00", "method": "x" * 41},
                        "method")):  # fmt: skip
        problem = assert_problem(await api.post(url, json=bad, headers=world["sec"]), 422)
        assert problem["errors"][0]["field"] == field, bad

    listed = await api.get(f"{DUES}/payments", params={"member_id": a}, headers=world["sec"])
    assert [i["amount"] for i in listed.json()["items"]] == ["30.00"]
    member = (await api.get(f"{DUES}/members/{a}", headers=world["sec"])).json()
    assert member["account"]["paid_through"] == month() and member["member_name"] == "党员201"
    assert member["standard"]["declared_base"] is None


async def test_hardship_request_and_approval(
    api: httpx.AsyncClient, world: dict[str, Any], fake_member: RunningFake
) -> None:
    a = world["m"]["a"]["id"]
    await _standard(api, world["admin"], a, effective_month=month(-2))
    url = f"{DUES}/members/{a}/hardships"
    bad = await api.post(url, json={"first_month": month(-2), "last_month": month(),
                                    "waived": True, "reason": ""}, headers=world["sec"])  # fmt: skip
    assert assert_problem(bad, 422)["errors"][0]["field"] == "reason"
    resp = await api.post(url, json={"first_month": month(-2), "last_month": month(-1),
                                     "waived": True, "reason": "重病住院"},
                          headers=world["sec"])  # fmt: skip
    assert resp.status_code == 201, resp.text
    h = resp.json()
    assert h["status"] == "requested" and h["reason"] == "重病住院" and h["reduced_monthly"] is None
    own = await api.post(f"{DUES}/hardships/{h['id']}:approve", headers=world["sec"])
    assert_problem(own, 403, "dues_approver_is_requester")
    ok = await api.post(f"{DUES}/hardships/{h['id']}:approve", headers=world["admin"])
    assert ok.status_code == 200, ok.text
    assert ok.json()["hardship"]["status"] == "approved"
    assert ok.json()["account"]["paid_through"] == month(-1)
    assert fake_member.service.calls_to("ApproveHardship")[-1].request.approved is True
    red = await api.post(url, json={"first_month": month(), "last_month": month(2),
                                    "reduced_monthly": "5.00", "reason": "收入下降"},
                         headers=world["sec"])  # fmt: skip
    assert red.json()["reduced_monthly"] == "5.00"
    assert fake_member.service.calls_to("RequestHardship")[-1].request.reduced_monthly_fen == 500
    rej = await api.post(f"{DUES}/hardships/{red.json()['id']}:reject", headers=world["admin"])
    assert rej.json()["hardship"]["status"] == "rejected"
    assert fake_member.service.calls_to("ApproveHardship")[-1].request.approved is False
    assert_problem(await api.post(f"{DUES}/hardships/not-an-id:approve",
                                  headers=world["admin"]), 422)  # fmt: skip


async def test_arrears_and_the_month_roll_page_with_cursors(
    api: httpx.AsyncClient, world: dict[str, Any], fake_member: RunningFake
) -> None:
    for key, k in (("a", -7), ("b", -3), ("c", -4)):
        await _standard(api, world["admin"], world["m"][key]["id"], effective_month=month(k))
    first = await api.get(f"{DUES}/arrears", params={"limit": 1}, headers=world["admin"])
    assert first.status_code == 200, first.text
    page = first.json()
    assert page["total"] == 3 and page["min_months"] == 3 and page["next_cursor"]
    assert page["flag_rule"]["key"] == "dues.arrears.flag_months"
    assert page["flag_rule"]["value"] == [6, 3] and "第九条" in page["flag_rule"]["citation"]
    row = page["items"][0]
    assert (row["member_id"], row["months_owed"], row["amount_owed"], row["flag_months"]) == (
        world["m"]["a"]["id"], 8, "120.00", 6)  # fmt: skip
    rest = await api.get(f"{DUES}/arrears", params={"limit": 5, "cursor": page["next_cursor"]},
                         headers=world["admin"])  # fmt: skip
    assert len(rest.json()["items"]) == 2 and rest.json()["next_cursor"] is None
    mine = await api.get(f"{DUES}/arrears", params={"min_months": 5}, headers=world["sec"])
    assert [i["member_id"] for i in mine.json()["items"]] == [world["m"]["a"]["id"]]
    assert fake_member.service.calls_to("ListArrears")[-1].request.min_months == 5
    assert_problem(await api.get(f"{DUES}/arrears", params={"min_months": -1},
                                 headers=world["admin"]), 422)  # fmt: skip
    assert_problem(await api.get(f"{DUES}/arrears", params={"cursor": "garbage"},
                                 headers=world["admin"]), 422)  # fmt: skip

    roll = await api.get(f"{DUES}/roll", params={"organization_id": world["br1"]["id"],
                                                 "month": month(), "limit": 1},
                         headers=world["sec"])  # fmt: skip
    assert roll.status_code == 200, roll.text
    body = roll.json()
    assert body["month"] == month() and len(body["items"]) == 1 and body["next_cursor"]
    assert body["items"][0]["status"] == "unpaid" and body["items"][0]["due"] == "15.00"
    assert body["due_total"] == "30.00" and body["members"] == 2  # 一支部: a and b
    assert fake_member.service.calls_to("ListMonthRoll")[-1].request.page_size == 1
    assert_problem(await api.get(f"{DUES}/roll", params={"month": "12-2026"},
                                 headers=world["sec"]), 422)  # fmt: skip


async def test_scope_roles_and_authentication(
    api: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    c = world["m"]["c"]["id"]  # in 二支部, outside the secretary's scope
    await _standard(api, world["admin"], c)
    assert_problem(await api.get(f"{DUES}/members/{c}", headers=world["sec"]), 404,
                   "member_not_found")  # fmt: skip
    assert_problem(await _standard(api, world["sec"], c), 404, "member_not_found")
    outside = await api.get(f"{DUES}/arrears", params={"organization_id": world["br2"]["id"]},
                            headers=world["sec"])  # fmt: skip
    assert_problem(outside, 404, "organization_not_found")
    assert_problem(await api.get(f"{DUES}/members/{c}", headers=world["member"]), 403)
    assert_problem(await api.get(f"{DUES}/members/{c}"), 401)
    assert_problem(await api.get(f"{DUES}/members/not-a-uuid", headers=world["admin"]), 422)


async def test_routes_are_documented_with_chinese_and_english_summaries(
    api: httpx.AsyncClient,
) -> None:
    spec = (await api.get("/openapi.json")).json()
    ops = [op for path, item in spec["paths"].items() if path.startswith(DUES)
           for op in item.values()]  # fmt: skip
    assert len(ops) == 10
    for op in ops:
        summary = op["summary"]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in summary) and any(
            ch.isascii() and ch.isalpha() for ch in summary), summary  # fmt: skip
        assert "422" in op["responses"] or op["operationId"].startswith("member_dues")
