"""Question banks through the real service (PostgreSQL under row-level security, gRPC): CRUD with
validation, authors' scopes, the import template and an all-or-nothing import, and another
tenant's bank answering NOT_FOUND with nothing written."""

from __future__ import annotations

import io
import uuid

import grpc
import pytest
from hongyun.learning.v1 import learning_exams_pb2 as pb
from hongyun.learning.v1 import learning_exams_pb2_grpc as pbg
from hongyun_platform.grpc.context import CallerContext
from openpyxl import Workbook, load_workbook

pytestmark = pytest.mark.integration

HEADERS = ["题型", "题干", "选项A", "选项B", "选项C", "答案", "标签", "难度"]


def admin(tenant) -> CallerContext:
    return CallerContext(
        user_id=f"admin-{tenant}", tenant_id=tenant, roles=frozenset({"tenant_admin"})
    )


def secretary(tenant, org, name="sec") -> CallerContext:
    return CallerContext(
        user_id=f"{name}-{org}", tenant_id=tenant, roles=frozenset({"secretary"}), scope_org_id=org
    )


def member(tenant, org) -> CallerContext:
    return CallerContext(
        user_id=f"m-{uuid.uuid4()}", tenant_id=tenant, roles=frozenset({"member"}), scope_org_id=org
    )


def code_of(err: grpc.aio.AioRpcError) -> str:
    return dict(err.trailing_metadata() or ()).get("x-hongyun-error-code", "")


class Api:
    def __init__(self, channel):
        self.stub = pbg.QuestionBankServiceStub(channel)

    async def __call__(self, caller, rpc, request):
        return await getattr(self.stub, rpc)(request, metadata=caller.to_metadata())

    async def fails(self, caller, rpc, request, status, code=None):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await self(caller, rpc, request)
        assert err.value.code() == status, err.value.details()
        if code:
            assert code_of(err.value) == code, err.value.details()
        return err.value


@pytest.fixture(scope="module")
async def api(learning_app):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{learning_app.port}") as channel:
        yield Api(channel)


@pytest.fixture
def world(owner_sql):
    tenant, root, a, b = (uuid.uuid4() for _ in range(4))
    owner_sql(
        "INSERT INTO learning.org_paths (tenant_id, org_id, path) VALUES "
        f"('{tenant}', '{root}', ARRAY['{root}']::uuid[]), "
        f"('{tenant}', '{a}', ARRAY['{root}', '{a}']::uuid[]), "
        f"('{tenant}', '{b}', ARRAY['{root}', '{b}']::uuid[])"
    )
    return dict(tenant=tenant, root=root, a=a, b=b)


def single(prompt="党的根本宗旨是什么？", **kw) -> pb.QuestionInput:
    base = dict(
        kind=pb.QUESTION_KIND_SINGLE,
        prompt=prompt,
        options=["全心全意为人民服务", "发展经济"],
        answer=[0],
        tags=["党章"],
        difficulty=2,
    )
    base.update(kw)
    return pb.QuestionInput(**base)


def scalar(owner_sql, sql: str) -> str:
    return owner_sql(sql).strip()


async def test_banks_and_questions_round_trip_with_validation(api, world, owner_sql):
    t = world["tenant"]
    bank = (
        await api(
            admin(t),
            "CreateQuestionBank",
            pb.CreateQuestionBankRequest(name=" 党章题库 ", description="基础"),
        )
    ).bank
    assert bank.name == "党章题库" and bank.org_id == "" and bank.can_manage
    made = (
        await api(
            admin(t), "CreateQuestion", pb.CreateQuestionRequest(bank_id=bank.id, question=single())
        )
    ).question
    assert made.version == 1 and made.answer == [0] and made.difficulty == 2
    fill = (
        await api(
            admin(t),
            "CreateQuestion",
            pb.CreateQuestionRequest(
                bank_id=bank.id,
                question=pb.QuestionInput(
                    kind=pb.QUESTION_KIND_FILL_IN,
                    prompt="党成立于____年",
                    blanks=[pb.QuestionBlank(accepted=["1921", "一九二一"])],
                ),
            ),
        )
    ).question
    assert [list(b.accepted) for b in fill.blanks] == [["1921", "一九二一"]]
    assert fill.difficulty == 3  # the default

    err = await api.fails(
        admin(t),
        "CreateQuestion",
        pb.CreateQuestionRequest(bank_id=bank.id, question=single(answer=[3])),
        grpc.StatusCode.INVALID_ARGUMENT,
        "question_answer_out_of_range",
    )
    assert "答案" in err.details()
    await api.fails(
        admin(t),
        "CreateQuestion",
        pb.CreateQuestionRequest(bank_id=bank.id, question=single(options=["唯一"])),
        grpc.StatusCode.INVALID_ARGUMENT,
        "question_option_count",
    )
    await api.fails(
        admin(t),
        "CreateQuestionBank",
        pb.CreateQuestionBankRequest(name=""),
        grpc.StatusCode.INVALID_ARGUMENT,
        "question_bank_name",
    )

    updated = (
        await api(
            admin(t),
            "UpdateQuestion",
            pb.UpdateQuestionRequest(
                id=made.id, question=single(prompt="改过的题干"), expected_version=1
            ),
        )
    ).question
    assert updated.version == 2 and updated.prompt == "改过的题干"
    await api.fails(
        admin(t),
        "UpdateQuestion",
        pb.UpdateQuestionRequest(id=made.id, question=single(), expected_version=1),
        grpc.StatusCode.ABORTED,
        "question_version_mismatch",
    )

    listed = await api(
        admin(t),
        "ListQuestions",
        pb.ListQuestionsRequest(bank_id=bank.id, kind=pb.QUESTION_KIND_FILL_IN),
    )
    assert [x.id for x in listed.questions] == [fill.id]
    tagged = await api(
        admin(t), "ListQuestions", pb.ListQuestionsRequest(bank_id=bank.id, tag="党章")
    )
    assert [x.id for x in tagged.questions] == [made.id]
    got = (await api(admin(t), "GetQuestionBank", pb.GetQuestionBankRequest(id=bank.id))).bank
    assert got.question_count == 2

    await api(admin(t), "DeleteQuestion", pb.DeleteQuestionRequest(id=fill.id))
    await api.fails(
        admin(t),
        "GetQuestion",
        pb.GetQuestionRequest(id=fill.id),
        grpc.StatusCode.NOT_FOUND,
        "question_not_found",
    )
    await api(admin(t), "DeleteQuestionBank", pb.DeleteQuestionBankRequest(id=bank.id))
    assert (
        scalar(owner_sql, f"SELECT count(*) FROM learning.questions WHERE tenant_id = '{t}'") == "0"
    )


async def test_authors_scopes(api, world):
    t, a, b = world["tenant"], world["a"], world["b"]
    tenant_wide = (
        await api(admin(t), "CreateQuestionBank", pb.CreateQuestionBankRequest(name="全租户题库"))
    ).bank
    branch_a = (
        await api(
            secretary(t, a), "CreateQuestionBank", pb.CreateQuestionBankRequest(name="一支部题库")
        )
    ).bank
    assert branch_a.org_id == str(a)
    # A secretary sees tenant-wide banks and their own, not another branch's.
    seen_b = await api(secretary(t, b), "ListQuestionBanks", pb.ListQuestionBanksRequest())
    assert {x.id for x in seen_b.banks} == {tenant_wide.id}
    assert not seen_b.banks[0].can_manage
    await api.fails(
        secretary(t, b),
        "GetQuestionBank",
        pb.GetQuestionBankRequest(id=branch_a.id),
        grpc.StatusCode.NOT_FOUND,
        "question_bank_not_found",
    )
    await api.fails(
        secretary(t, b),
        "CreateQuestion",
        pb.CreateQuestionRequest(bank_id=branch_a.id, question=single()),
        grpc.StatusCode.NOT_FOUND,
    )
    await api.fails(
        secretary(t, a),
        "CreateQuestion",
        pb.CreateQuestionRequest(bank_id=tenant_wide.id, question=single()),
        grpc.StatusCode.PERMISSION_DENIED,
        "question_bank_read_only",
    )
    # A secretary cannot place a bank in another branch; the root secretary sees both.
    await api.fails(
        secretary(t, a),
        "CreateQuestionBank",
        pb.CreateQuestionBankRequest(name="越权", org_id=str(b)),
        grpc.StatusCode.NOT_FOUND,
        "organization_not_found",
    )
    seen_root = await api(
        secretary(t, world["root"]), "ListQuestionBanks", pb.ListQuestionBanksRequest()
    )
    assert {x.id for x in seen_root.banks} == {tenant_wide.id, branch_a.id}
    # Learners do not author.
    await api.fails(
        member(t, a),
        "ListQuestionBanks",
        pb.ListQuestionBanksRequest(),
        grpc.StatusCode.PERMISSION_DENIED,
        "exam_author_required",
    )


async def test_another_tenants_bank_is_not_found_and_nothing_is_written(api, world, owner_sql):
    t = world["tenant"]
    bank = (
        await api(admin(t), "CreateQuestionBank", pb.CreateQuestionBankRequest(name="本租户"))
    ).bank
    other = admin(uuid.uuid4())
    for rpc, req in (
        ("GetQuestionBank", pb.GetQuestionBankRequest(id=bank.id)),
        ("UpdateQuestionBank", pb.UpdateQuestionBankRequest(id=bank.id, name="改")),
        ("DeleteQuestionBank", pb.DeleteQuestionBankRequest(id=bank.id)),
        ("CreateQuestion", pb.CreateQuestionRequest(bank_id=bank.id, question=single())),
        ("ListQuestions", pb.ListQuestionsRequest(bank_id=bank.id)),
    ):
        await api.fails(other, rpc, req, grpc.StatusCode.NOT_FOUND, "question_bank_not_found")
    assert (
        scalar(owner_sql, f"SELECT name FROM learning.question_banks WHERE id = '{bank.id}'")
        == "本租户"
    )
    assert (
        scalar(owner_sql, f"SELECT count(*) FROM learning.questions WHERE bank_id = '{bank.id}'")
        == "0"
    )


def sheet(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "题目"
    ws.append(HEADERS)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def upload(api, caller, bank_id: str, data: bytes, dry_run=False, chunk=1000):
    async def parts():
        yield pb.ImportQuestionsRequest(
            header=pb.ImportQuestionsHeader(bank_id=bank_id, file_name="题目.xlsx", dry_run=dry_run)
        )
        for i in range(0, len(data), chunk):
            yield pb.ImportQuestionsRequest(chunk=data[i : i + chunk])

    return await api.stub.ImportQuestions(parts(), metadata=caller.to_metadata())


async def test_template_and_an_all_or_nothing_import(api, world, owner_sql):
    t = world["tenant"]
    tpl = await api(admin(t), "GetQuestionImportTemplate", pb.GetQuestionImportTemplateRequest())
    assert tpl.file_name.endswith(".xlsx") and "spreadsheetml" in tpl.content_type
    assert load_workbook(io.BytesIO(tpl.content)).sheetnames == ["题目", "填写说明"]

    bank = (
        await api(admin(t), "CreateQuestionBank", pb.CreateQuestionBankRequest(name="导入题库"))
    ).bank
    good = ["单选", "宗旨？", "为人民服务", "其他", "", "A", "党章", 2]
    bad = sheet(
        [
            good,
            ["多选", "多选？", "甲", "乙", "丙", "A", "", ""],  # one answer for a multiple
            ["判断", "判断？", "", "", "", "也许", "", "7"],  # answer and difficulty
            ["填空", "填空？", "", "", "", "北京|北京市;1921", "", ""],
        ]
    )
    out = await upload(api, admin(t), bank.id, bad)
    assert not out.accepted and out.imported_count == 0 and out.row_count == 4
    assert [(e.row, e.column, e.code) for e in out.errors] == [
        (3, "答案", "question_multiple_two_answers"),
        (4, "答案", "question_true_false_answer"),
        (4, "难度", "question_difficulty_range"),
    ]
    assert (
        scalar(owner_sql, f"SELECT count(*) FROM learning.questions WHERE bank_id = '{bank.id}'")
        == "0"
    )

    fixed = sheet(
        [
            good,
            ["多选", "多选？", "甲", "乙", "丙", "AC", "", ""],
            ["判断", "判断？", "", "", "", "错", "", ""],
            ["填空", "填空？", "", "", "", "北京|北京市;1921", "", ""],
        ]
    )
    dry = await upload(api, admin(t), bank.id, fixed, dry_run=True)
    assert dry.accepted and dry.imported_count == 0
    assert (
        scalar(owner_sql, f"SELECT count(*) FROM learning.questions WHERE bank_id = '{bank.id}'")
        == "0"
    )
    done = await upload(api, admin(t), bank.id, fixed)
    assert done.accepted and done.imported_count == 4 and not done.errors
    kinds = scalar(
        owner_sql,
        "SELECT string_agg(kind, ',' ORDER BY kind) FROM learning.questions "
        f"WHERE bank_id = '{bank.id}'",
    )
    assert kinds == "fill_in,multiple,single,true_false"

    err = await api.fails(
        admin(t),
        "GetQuestionBank",
        pb.GetQuestionBankRequest(id="x"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "invalid_id",
    )
    assert err
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await upload(api, admin(t), bank.id, b"not a spreadsheet")
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert code_of(refused.value) == "question_import_bad_file"
    with pytest.raises(grpc.aio.AioRpcError) as other:
        await upload(api, admin(uuid.uuid4()), bank.id, fixed)
    assert other.value.code() == grpc.StatusCode.NOT_FOUND
