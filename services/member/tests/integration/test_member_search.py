"""MemberSearchService against a real PostgreSQL (pg_trgm, RLS) and the real member service."""

from __future__ import annotations

import re
import uuid

import grpc
import pytest
from hongyun.member.v1 import member_pb2 as pb
from hongyun.member.v1 import member_search_pb2 as spb
from hongyun.member.v1 import member_search_pb2_grpc
from hongyun_platform.grpc.context import ROLE_MEMBER, ROLE_PLATFORM_ADMIN, CallerContext
from hongyun_platform.validation import check_character

from ..conftest import PLATFORM_ADMIN, secretary, tenant_admin

pytestmark = pytest.mark.integration

NAME, PINYIN, INITIALS = spb.SEARCH_MATCH_NAME, spb.SEARCH_MATCH_PINYIN, spb.SEARCH_MATCH_INITIALS
ID_SUFFIX, PHONE_SUFFIX = spb.SEARCH_MATCH_ID_NUMBER_SUFFIX, spb.SEARCH_MATCH_MOBILE_PHONE_SUFFIX


def id_number(seq: int, birth: str = "19800101") -> str:
    first17 = f"110105{birth}{seq:03d}"
    return first17 + check_character(first17)


def seq_with_check(x: bool, start: int) -> int:
    """A sequence number whose ID number ends in X (or in a digit)."""
    return next(s for s in range(start, 999) if (id_number(s)[-1] == "X") == x)


async def call(method, request, caller):
    return await method(request, metadata=caller.to_metadata(), timeout=10)


@pytest.fixture(scope="module")
async def search_stub(member_app):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{member_app.port}") as channel:
        yield member_search_pb2_grpc.MemberSearchServiceStub(channel)


async def make_member(stub, caller, org_id, name, seq, **kw) -> pb.Member:
    profile = dict(
        name=name, id_number=id_number(seq), category=pb.MEMBER_CATEGORY_FULL,
        joined_on="2005-07-01", mobile_phone="13800005678",
    )  # fmt: skip
    profile.update(kw)
    req = pb.CreateMemberRequest(organization_id=org_id, profile=pb.MemberProfile(**profile))
    return (await call(stub.CreateMember, req, caller)).member


@pytest.fixture(scope="module")
async def world(member_stub):
    """Tenant A: root → br1, br2; tenant B: root. Names chosen for every search mode."""
    code = uuid.uuid4().hex[:8]
    a = (await call(member_stub.CreateTenant, pb.CreateTenantRequest(
        name="检索甲", code=f"sa-{code}"), PLATFORM_ADMIN)).tenant  # fmt: skip
    b = (await call(member_stub.CreateTenant, pb.CreateTenantRequest(
        name="检索乙", code=f"sb-{code}"), PLATFORM_ADMIN)).tenant  # fmt: skip
    adm_a, adm_b = tenant_admin(a.id), tenant_admin(b.id)

    async def org(caller, name, parent="", type_=pb.ORGANIZATION_TYPE_BRANCH):
        req = pb.CreateOrganizationRequest(parent_id=parent, name=name, type=type_)
        return (await call(member_stub.CreateOrganization, req, caller)).organization

    root = await org(adm_a, "检索党委", type_=pb.ORGANIZATION_TYPE_COMMITTEE)
    br1, br2 = await org(adm_a, "一支部", root.id), await org(adm_a, "二支部", root.id)
    root_b = await org(adm_b, "乙党委", type_=pb.ORGANIZATION_TYPE_COMMITTEE)

    # The suffix shared by X's ID number and Y's mobile phone (and a member of tenant B).
    x_seq = seq_with_check(False, 200)
    shared = id_number(x_seq)[-4:]
    xid_seq = seq_with_check(True, 300)  # an ID number ending in X
    m = {}
    for key, org_id, name, seq, extra in [
        ("zhangsan", br1.id, "张三", 101, {}),
        ("zhangsanfeng", br2.id, "张三丰", 102, {}),
        ("zeng", br1.id, "曾小明", 103, {}),
        ("shan", br1.id, "单田芳", 104, {"category": pb.MEMBER_CATEGORY_PROBATIONARY,
                                         "converted_on": ""}),
        ("ouyang", br1.id, "欧阳娜娜", 105, {"party_status": pb.PARTY_STATUS_RETAINED}),
        ("li", br1.id, "李建国", 106, {}),
        ("x", br1.id, "许志强", x_seq, {}),
        ("y", br1.id, "杨光", 107, {"mobile_phone": f"1390000{shared}"}),
        ("y2", br2.id, "叶青", 108, {"mobile_phone": f"1370000{shared}"}),
        ("xid", br1.id, "谢文", xid_seq, {}),
    ]:  # fmt: skip
        m[key] = await make_member(member_stub, adm_a, org_id, name, seq, **extra)
    m["b_zhangsan"] = await make_member(
        member_stub, adm_b, root_b.id, "张三", 101, mobile_phone=f"1360000{shared}"
    )
    return dict(
        a=a, b=b, adm_a=adm_a, adm_b=adm_b, root=root, br1=br1, br2=br2, root_b=root_b,
        m=m, shared=shared, xid=id_number(xid_seq),
    )  # fmt: skip


async def search(stub, caller, query, **kw) -> spb.SearchMembersResponse:
    return await call(stub.SearchMembers, spb.SearchMembersRequest(query=query, **kw), caller)


def names(resp) -> list[str]:
    return [h.member.profile.name for h in resp.hits]


async def test_chinese_name_exact_first_then_prefix_then_substring(search_stub, world):
    resp = await search(search_stub, world["adm_a"], "张三")
    assert resp.mode == spb.SEARCH_MODE_NAME
    assert names(resp) == ["张三", "张三丰"]  # exact before prefix; tenant B's 张三 is not here
    assert all(list(h.matched) == [NAME] for h in resp.hits)
    assert names(await search(search_stub, world["adm_a"], "张三丰")) == ["张三丰"]
    # Any substring of two characters or more (the name's suffixes are indexed terms).
    assert names(await search(search_stub, world["adm_a"], "三丰")) == ["张三丰"]
    assert names(await search(search_stub, world["adm_a"], "阳娜")) == ["欧阳娜娜"]
    assert names(await search(search_stub, world["adm_a"], "建国")) == ["李建国"]
    assert names(await search(search_stub, world["adm_a"], "田芳")) == ["单田芳"]
    assert names(await search(search_stub, world["adm_a"], "阳娜娜")) == ["欧阳娜娜"]
    assert names(await search(search_stub, world["adm_a"], "张 三 丰")) == ["张三丰"]


async def test_full_pinyin_in_any_case_and_spacing(search_stub, world):
    for typed in ("zhangsan", "Zhang San", "ZHANGSAN", " zhang  san "):
        resp = await search(search_stub, world["adm_a"], typed)
        assert resp.mode == spb.SEARCH_MODE_PINYIN
        assert names(resp) == ["张三", "张三丰"], typed
        assert PINYIN in resp.hits[0].matched
    # Typing on: a prefix of the pinyin. Pinyin is matched from the start (ADR 0008); a
    # given name alone is found in Chinese ("三丰"), not as "sanfeng".
    assert names(await search(search_stub, world["adm_a"], "zhangs")) == ["张三", "张三丰"]
    assert names(await search(search_stub, world["adm_a"], "zhangsanf")) == ["张三丰"]
    assert names(await search(search_stub, world["adm_a"], "sanfeng")) == []


async def test_initials_zs_finds_zhang_san(search_stub, world):
    resp = await search(search_stub, world["adm_a"], "zs")
    assert names(resp) == ["张三", "张三丰"]  # "zs" exactly, then "zsf"
    assert all(INITIALS in h.matched for h in resp.hits)
    assert names(await search(search_stub, world["adm_a"], "ZSF")) == ["张三丰"]
    assert names(await search(search_stub, world["adm_a"], "oynn")) == ["欧阳娜娜"]


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("zengxiaoming", "曾小明"), ("cengxiaoming", "曾小明"), ("zxm", "曾小明"), ("cxm", "曾小明"),
        ("shantianfang", "单田芳"), ("Dan Tianfang", "单田芳"), ("stf", "单田芳"), ("dtf", "单田芳"),
        ("ouyangnana", "欧阳娜娜"), ("lijianguo", "李建国"),
    ],
)  # fmt: skip
async def test_polyphonic_surnames_are_found_by_every_reading(search_stub, world, typed, name):
    assert names(await search(search_stub, world["adm_a"], typed)) == [name]


async def test_a_suffix_matching_an_id_number_and_a_phone_finds_both(search_stub, world):
    m = world["m"]
    resp = await search(search_stub, world["adm_a"], world["shared"])
    assert resp.mode == spb.SEARCH_MODE_NUMBER_SUFFIX
    hits = {h.member.id: list(h.matched) for h in resp.hits}
    assert hits == {
        m["x"].id: [ID_SUFFIX],
        m["y"].id: [PHONE_SUFFIX],
        m["y2"].id: [PHONE_SUFFIX],
    }  # and not tenant B's member whose phone ends the same
    for h in resp.hits:  # masked, as everywhere: the suffix is all that shows
        assert not h.member.revealed
        assert "*" in h.member.profile.id_number and "*" in h.member.profile.mobile_phone


async def test_id_number_suffix_with_x_and_a_whole_id_number(search_stub, world):
    xid = world["xid"]
    for typed in (xid[-4:], xid[-4:].lower()):
        resp = await search(search_stub, world["adm_a"], typed)
        assert [(h.member.id, list(h.matched)) for h in resp.hits] == [
            (world["m"]["xid"].id, [ID_SUFFIX])
        ]
    resp = await search(search_stub, world["adm_a"], xid.lower())
    assert resp.mode == spb.SEARCH_MODE_ID_NUMBER
    assert [h.member.id for h in resp.hits] == [world["m"]["xid"].id]
    assert list(resp.hits[0].matched) == [spb.SEARCH_MATCH_ID_NUMBER]


async def test_no_plaintext_suffix_is_stored(world, module_database, member_settings_fx):
    import base64

    from hongyun_platform.crypto import FieldCipher, Keyring
    from member_service.search_keys import id_number_suffix_index, mobile_phone_suffix_index

    m, shared = world["m"], world["shared"]
    raw = module_database.pg.psql(
        "SELECT id, id_number_suffix_index, coalesce(mobile_phone_suffix_index, ''), name_pinyin "
        f"FROM member.members WHERE id IN ('{m['x'].id}', '{m['y'].id}') ORDER BY id",
        module_database.name,
    )
    rows = {line.split("|")[0]: line.split("|")[1:] for line in raw.strip().splitlines()}
    x_id_index, _, x_pinyin = rows[m["x"].id]
    _, y_phone_index, _ = rows[m["y"].id]
    for value in (x_id_index, y_phone_index):
        assert len(value) == 64 and set(value) <= set("0123456789abcdef") and value != shared
    # The same 4 characters give different hashes in different columns (and tenants).
    assert x_id_index != y_phone_index
    assert x_pinyin == "xuzhiqiang"
    # They are keyed HMACs of the suffix, bound to column and tenant.
    s = member_settings_fx
    cipher = FieldCipher(
        Keyring.from_env_string(s.field_keys, algorithm="AES-GCM"),
        index_key=base64.b64decode(s.blind_index_key),
    )
    tenant = uuid.UUID(world["a"].id)
    assert x_id_index == id_number_suffix_index(cipher, tenant, shared)
    assert y_phone_index == mobile_phone_suffix_index(cipher, tenant, shared)
    assert y_phone_index != mobile_phone_suffix_index(cipher, uuid.UUID(world["b"].id), shared)


async def test_secretary_searches_only_their_subtree(search_stub, world):
    sec1 = secretary(world["a"].id, world["br1"].id)
    assert names(await search(search_stub, sec1, "张三")) == ["张三"]  # 张三丰 is in br2
    assert names(await search(search_stub, sec1, "zs")) == ["张三"]
    hits = {h.member.id for h in (await search(search_stub, sec1, world["shared"])).hits}
    assert hits == {world["m"]["x"].id, world["m"]["y"].id}  # not y2 (br2)
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await search(search_stub, sec1, "张三", organization_id=world["br2"].id)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND  # outside the scope looks absent
    sec2 = secretary(world["a"].id, world["br2"].id)
    assert names(await search(search_stub, sec2, "zhangsan")) == ["张三丰"]


async def test_tenant_admin_can_narrow_to_an_organisation(search_stub, world):
    resp = await search(search_stub, world["adm_a"], "张三", organization_id=world["br2"].id)
    assert names(resp) == ["张三丰"]


async def test_tenants_never_see_each_other(search_stub, world):
    adm_b = world["adm_b"]
    resp = await search(search_stub, adm_b, "张三")
    assert [h.member.id for h in resp.hits] == [world["m"]["b_zhangsan"].id]
    resp = await search(search_stub, adm_b, world["shared"])
    assert [h.member.id for h in resp.hits] == [world["m"]["b_zhangsan"].id]
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await search(search_stub, adm_b, "张三", organization_id=world["br1"].id)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


async def test_filters_category_and_party_status(search_stub, world):
    prob = await search(
        search_stub, world["adm_a"], "stf", category=pb.MEMBER_CATEGORY_PROBATIONARY
    )
    assert names(prob) == ["单田芳"]
    full = await search(search_stub, world["adm_a"], "stf", category=pb.MEMBER_CATEGORY_FULL)
    assert names(full) == []
    kept = await search(search_stub, world["adm_a"], "oynn", party_status=pb.PARTY_STATUS_RETAINED)
    assert names(kept) == ["欧阳娜娜"]
    normal = await search(search_stub, world["adm_a"], "oynn", party_status=pb.PARTY_STATUS_NORMAL)
    assert names(normal) == []


async def test_paging_by_relevance_then_id(member_stub, search_stub, world):
    adm = world["adm_a"]
    created = [
        await make_member(member_stub, adm, world["br1"].id, name, 400 + i)
        for i, name in enumerate(["测试五", "测试", "测试一", "测试二", "测试三", "测试四"])
    ]
    seen, token = [], ""
    while True:
        resp = await search(search_stub, adm, "ceshi", page_size=2, page_token=token)
        assert len(resp.hits) <= 2
        seen += [h.member.id for h in resp.hits]
        token = resp.next_page_token
        if not token:
            break
    assert len(seen) == len(set(seen)) == 6
    assert seen[0] == created[1].id  # "测试" is the exact match
    assert seen[1:] == sorted(seen[1:], key=uuid.UUID)  # the prefix matches, by id
    # A token only continues the search it came from.
    first = await search(search_stub, adm, "ceshi", page_size=2)
    for query, token in [("zhangsan", first.next_page_token), ("ceshi", "not-a-token")]:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await search(search_stub, adm, query, page_size=2, page_token=token)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("", "query_required"),
        ("张", "query_too_short"),
        ("z", "query_too_short"),
        ("%", "query_too_short"),
        ("张" * 51, "query_too_long"),
        ("12345", "invalid_number_query"),
        ("13800005678", "invalid_number_query"),
    ],
)
async def test_bad_queries_are_invalid_arguments(search_stub, world, query, code):
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await search(search_stub, world["adm_a"], query)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    md = dict(e.value.trailing_metadata())
    assert md["x-hongyun-error-field"] == "query" and md["x-hongyun-error-code"] == code


async def test_wildcards_are_literal_characters(search_stub, world):
    # If % or _ were wildcards these would match 张三 and 张三丰 (and "%%" everyone).
    for query in ("张%", "张_", "%%", "__", "%三%", "张三_"):
        resp = await search(search_stub, world["adm_a"], query)
        assert resp.mode == spb.SEARCH_MODE_NAME and names(resp) == [], query


async def test_bad_filters_and_page_size(search_stub, world):
    for kw, field in [
        ({"category": 9}, "category"),
        ({"party_status": 99}, "party_status"),
        ({"organization_id": "not-a-uuid"}, "organization_id"),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await search(search_stub, world["adm_a"], "张三", **kw)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert dict(e.value.trailing_metadata())["x-hongyun-error-field"] == field
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await search(search_stub, world["adm_a"], "张三", page_size=-1)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_roles(search_stub, world):
    tid = uuid.UUID(world["a"].id)
    plain = CallerContext(user_id="m", tenant_id=tid, roles=frozenset({ROLE_MEMBER}))
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await search(search_stub, plain, "张三")
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    ops = CallerContext(user_id="ops", tenant_id=tid, roles=frozenset({ROLE_PLATFORM_ADMIN}))
    resp = await search(search_stub, ops, world["shared"])
    assert resp.hits and all(not h.member.revealed for h in resp.hits)
    assert all("*" in h.member.profile.id_number for h in resp.hits)
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await search(search_stub, PLATFORM_ADMIN, "张三")  # no tenant chosen
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_updates_keep_the_search_columns_right(
    member_stub, search_stub, world, module_database
):
    adm = world["adm_a"]
    m = await make_member(
        member_stub, adm, world["br1"].id, "钱多多", 500, mobile_phone="13811112222"
    )
    assert names(await search(search_stub, adm, "qdd")) == ["钱多多"]
    upd = pb.UpdateMemberRequest(
        id=m.id, profile=pb.MemberProfile(name="曾多多", mobile_phone="13899993333"),
        update_mask=["name", "mobile_phone"],
    )  # fmt: skip
    await call(member_stub.UpdateMember, upd, adm)
    assert names(await search(search_stub, adm, "qdd")) == []
    assert names(await search(search_stub, adm, "zengduoduo")) == ["曾多多"]
    assert names(await search(search_stub, adm, "cdd")) == ["曾多多"]
    assert m.id not in {h.member.id for h in (await search(search_stub, adm, "2222")).hits}
    assert m.id in {h.member.id for h in (await search(search_stub, adm, "3333")).hits}
    clear = pb.UpdateMemberRequest(
        id=m.id, profile=pb.MemberProfile(mobile_phone=""), update_mask=["mobile_phone"]
    )
    await call(member_stub.UpdateMember, clear, adm)
    assert m.id not in {h.member.id for h in (await search(search_stub, adm, "3333")).hits}
    raw = module_database.pg.psql(
        f"SELECT mobile_phone_suffix_index IS NULL FROM member.members WHERE id = '{m.id}'",
        module_database.name,
    )
    assert raw.strip() == "t"


async def test_reindex_fills_rows_written_before_the_columns(
    member_app, member_settings_fx, search_stub, world, module_database
):
    from member_service.app import cipher_from_settings
    from member_service.search import reindex_search
    from member_service.service import MemberDirectory

    adm, tid = world["adm_a"], world["a"].id
    module_database.pg.psql(
        "UPDATE member.members SET name_pinyin = NULL, name_initials = NULL, "
        f"id_number_suffix_index = NULL, mobile_phone_suffix_index = NULL WHERE tenant_id = '{tid}'",
        module_database.name,
    )
    assert names(await search(search_stub, adm, "zs")) == []
    assert (await search(search_stub, adm, world["shared"])).hits == []

    directory = MemberDirectory(cipher_from_settings(member_settings_fx))
    written = await reindex_search(member_app.db, directory, batch_size=3)
    assert written >= len(world["m"]) - 1  # every member of tenant A (B's were intact)
    assert names(await search(search_stub, adm, "zs")) == ["张三", "张三丰"]
    assert len((await search(search_stub, adm, world["shared"])).hits) == 3
    assert await reindex_search(member_app.db, directory) == 0  # nothing left to do
    everything = await reindex_search(member_app.db, directory, everything=True)
    assert everything >= written  # --all rewrites every row, to the same values
    assert names(await search(search_stub, adm, "zs")) == ["张三", "张三丰"]


SEARCH_COLUMNS = re.compile(
    r"\b(term|id_number_suffix_index|mobile_phone_suffix_index|id_number_index)\b"
)


async def test_every_lookup_is_an_index_condition_under_row_level_security(member_app, world):
    """As the runtime role with the tenant set, each lookup a search makes puts its search
    condition into the index scan. Under row-level security PostgreSQL does that only for
    leakproof operators (=, <, >=): LIKE and pg_trgm's operators are not leakproof and would
    become a filter over the whole tenant, which is why they are not used (ADR 0008).
    Plans only, on the small test tables; no timing."""
    from member_service.domain.search import parse_query
    from member_service.search_repository import SearchCriteria, index_lookups

    tenant = uuid.UUID(world["a"].id)
    async with member_app.db.unit_of_work(tenant, read_only=True) as uow:
        raw = await (await uow.session.connection()).get_raw_connection()
        driver = raw.driver_connection
        # Bitmap scans only: each lookup then names the index conditions it can use.
        await driver.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off")
        dialect = member_app.db.engine.dialect
        # Name and pinyin lookups: the term table's primary key is their only index. (The
        # number lookups are plain = on indexed columns; on tables this small the planner may
        # prefer the tenant index, so their plans are checked at scale in ADR 0008 instead.)
        for query in ("张三", "三丰", "欧阳娜娜", "zs", "zhangsan", "Zhang"):
            q = parse_query(query)
            lookups = index_lookups(SearchCriteria(q.mode, q.text), tenant)
            assert lookups
            for n, stmt in enumerate(lookups):
                compiled = stmt.compile(
                    dialect=dialect, compile_kwargs={"render_postcompile": True}
                )
                params = [compiled.params[k] for k in compiled.positiontup]
                plan = "\n".join(r[0] for r in await driver.fetch(f"EXPLAIN {compiled}", *params))
                conds = [ln for ln in plan.splitlines() if "Index Cond:" in ln]
                filters = [ln for ln in plan.splitlines() if "Filter:" in ln]
                assert any(SEARCH_COLUMNS.search(ln) for ln in conds), (query, n, plan)
                assert not any(SEARCH_COLUMNS.search(ln) for ln in filters), (query, n, plan)


async def test_terms_follow_multi_row_statements_and_stay_in_their_tenant(member_app, world):
    """Bulk writes (many rows per INSERT/UPDATE statement, as an import does) keep the terms
    right: the triggers are per statement, over all its rows. Rolled back afterwards."""
    from sqlalchemy import text

    a, b = uuid.UUID(world["a"].id), uuid.UUID(world["b"].id)

    async def terms(conn, kind: int, term: str) -> set[str]:
        rows = await conn.execute(
            text(
                "SELECT m.name FROM member.member_search_terms t "
                "JOIN member.members m ON m.id = t.member_id WHERE t.kind = :k AND t.term = :t"
            ),
            {"k": kind, "t": term},
        )
        return {r[0] for r in rows}

    async with member_app.db.engine.connect() as conn:
        tx = await conn.begin()
        await conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(a)})
        copied = await conn.execute(
            text(
                "INSERT INTO member.members (id, tenant_id, organization_id, name, gender, "
                "birth_date, category, party_status, id_number_enc, id_number_index, key_id, "
                "name_pinyin, name_initials) "
                "SELECT gen_random_uuid(), tenant_id, organization_id, name || '复制', gender, "
                "birth_date, category, party_status, id_number_enc, "
                "substr(id_number_index, 1, 60) || 'copy', key_id, name_pinyin, name_initials "
                "FROM member.members WHERE name IN ('张三', '李建国')"
            )
        )
        assert copied.rowcount == 2
        assert await terms(conn, 1, "张三复制") == {"张三复制"}
        assert await terms(conn, 2, "建国复制") == {"李建国复制"}  # a suffix of the name
        renamed = await conn.execute(
            text("UPDATE member.members SET name = replace(name, '复制', '改名') "
                 "WHERE name LIKE '%复制'")
        )  # fmt: skip
        assert renamed.rowcount == 2
        assert await terms(conn, 1, "张三复制") == set()
        assert await terms(conn, 1, "张三改名") == {"张三改名"}
        assert await terms(conn, 2, "三改名") == {"张三改名"}
        gone = await conn.execute(text("DELETE FROM member.members WHERE name LIKE '%改名'"))
        assert gone.rowcount == 2
        left = await conn.execute(
            text("SELECT count(*) FROM member.member_search_terms WHERE term LIKE '%改名%'")
        )
        assert left.scalar() == 0
        # Row-level security: tenant B's transaction sees none of tenant A's terms.
        await conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(b)})
        visible = await conn.execute(
            text("SELECT count(*) FILTER (WHERE tenant_id <> :b), count(*) "
                 "FROM member.member_search_terms"), {"b": b},
        )  # fmt: skip
        other, own = visible.one()
        assert other == 0 and own > 0
        await tx.rollback()
