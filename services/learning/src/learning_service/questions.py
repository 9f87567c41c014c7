"""Use cases of question banks (题库): banks and their questions, by authors (exam_scope).

A tenant admin's bank with no organisation is tenant-wide: every author of the tenant reads and
draws from it, only tenant admins change it. A bank of an organisation is managed by tenant admins
and the secretaries of that organisation or above it. Exams freeze questions per attempt, so
editing a question never changes a running attempt; deleting one that a fixed paper uses is
refused.

No transport imports; raises DomainError; never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from hongyun_platform.db import Page, UnitOfWork
from hongyun_platform.errors import (
    Conflict,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from hongyun_platform.grpc.context import CallerContext
from hongyun_platform.ids import new_id

from learning_service.domain import questions as q
from learning_service.exam_models import Question, QuestionBank
from learning_service.exam_scope import AuthorScope, author_scope, org_path_of
from learning_service.question_repository import QuestionRepository

MAX_BANK_NAME, MAX_BANK_DESCRIPTION = 100, 2000


def parse_id(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        raise InvalidArgument(
            f"{field} 不是有效的 ID (not a valid id)", code="invalid_id", field=field
        ) from None


def optional_id(value: str, field: str) -> uuid.UUID | None:
    return parse_id(value, field) if value else None


def bank_not_found() -> NotFound:
    return NotFound("题库不存在 (question bank not found)", code="question_bank_not_found")


def question_not_found() -> NotFound:
    return NotFound("题目不存在 (question not found)", code="question_not_found")


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class BankView:
    bank: QuestionBank
    question_count: int
    can_manage: bool


def spec_of(row: Question) -> q.QuestionSpec:
    return q.QuestionSpec(
        kind=row.kind,
        prompt=row.prompt,
        options=tuple(row.options),
        answer=tuple(row.answer),
        blanks=tuple(tuple(b) for b in row.blanks),
        reference_answer=row.reference_answer,
        tags=tuple(row.tags),
        difficulty=row.difficulty,
        explanation=row.explanation,
    )


def question_values(spec: q.QuestionSpec) -> dict:
    return dict(
        kind=spec.kind,
        prompt=spec.prompt,
        options=list(spec.options),
        answer=list(spec.answer),
        blanks=[list(b) for b in spec.blanks],
        reference_answer=spec.reference_answer,
        tags=list(spec.tags),
        difficulty=spec.difficulty,
        explanation=spec.explanation,
    )


def _bank_text(name: str, description: str) -> tuple[str, str]:
    name, description = name.strip(), description.strip()
    if not name or len(name) > MAX_BANK_NAME:
        raise InvalidArgument(
            f"题库名称应为 1–{MAX_BANK_NAME} 个字符 (the name has 1 to {MAX_BANK_NAME} characters)",
            code="question_bank_name",
            field="name",
        )
    if len(description) > MAX_BANK_DESCRIPTION:
        raise InvalidArgument(
            f"说明最多 {MAX_BANK_DESCRIPTION} 个字符 (the description is too long)",
            code="question_bank_description",
            field="description",
        )
    return name, description


class QuestionBanks:
    def __init__(self, clock: Callable[[], datetime] = now_utc):
        self.clock = clock

    # ---- banks ----

    async def create_bank(
        self, uow: UnitOfWork, caller: CallerContext, *, name: str, description: str, org_id: str
    ) -> BankView:
        scope = author_scope(caller)
        name, description = _bank_text(name, description)
        owner, path = await org_path_of(uow.session, scope, optional_id(org_id, "org_id"))
        now = self.clock()
        bank = QuestionBank(
            id=new_id(),
            tenant_id=scope.tenant_id,
            name=name,
            description=description,
            org_id=owner,
            org_path=list(path),
            created_by=caller.user_id,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(bank)
        await uow.session.flush()
        return BankView(bank, 0, True)

    async def get_bank(self, uow: UnitOfWork, caller: CallerContext, bank_id: str) -> BankView:
        scope = author_scope(caller)
        bank = await self._bank(uow, scope, bank_id)
        counts = await QuestionRepository(uow.session).question_counts([bank.id])
        return BankView(bank, counts.get(bank.id, 0), scope.may_manage(bank.org_path))

    async def list_banks(
        self, uow: UnitOfWork, caller: CallerContext, *, page_size: int, page_token: str
    ) -> Page[BankView]:
        scope = author_scope(caller)
        repo = QuestionRepository(uow.session)
        page = await repo.banks_page(
            scope.tenant_id, scope, page_size=page_size, page_token=page_token
        )
        counts = await repo.question_counts([b.id for b in page.items])
        return Page(
            [BankView(b, counts.get(b.id, 0), scope.may_manage(b.org_path)) for b in page.items],
            page.next_token,
        )

    async def update_bank(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        bank_id: str,
        *,
        name: str,
        description: str,
    ) -> BankView:
        scope = author_scope(caller)
        bank = await self.managed_bank(uow, scope, bank_id, lock=True)
        bank.name, bank.description = _bank_text(name, description)
        bank.updated_at = self.clock()
        await uow.session.flush()
        counts = await QuestionRepository(uow.session).question_counts([bank.id])
        return BankView(bank, counts.get(bank.id, 0), True)

    async def delete_bank(self, uow: UnitOfWork, caller: CallerContext, bank_id: str) -> None:
        scope = author_scope(caller)
        bank = await self.managed_bank(uow, scope, bank_id, lock=True)
        repo = QuestionRepository(uow.session)
        if await repo.bank_in_use(bank.id):
            raise FailedPrecondition(
                "题库正被考试使用，无法删除 (the bank is used by an exam's paper or draw rules)",
                code="question_bank_in_use",
            )
        await repo.delete_bank(bank)

    async def _bank(
        self, uow: UnitOfWork, scope: AuthorScope, bank_id: str, *, lock: bool = False
    ) -> QuestionBank:
        bank = await QuestionRepository(uow.session).bank(
            scope.tenant_id, parse_id(bank_id, "bank_id"), scope, lock=lock
        )
        if bank is None:
            raise bank_not_found()
        return bank

    async def managed_bank(
        self, uow: UnitOfWork, scope: AuthorScope, bank_id: str, *, lock: bool = False
    ) -> QuestionBank:
        """A bank the author may change. A tenant-wide bank read by a secretary is 403: they
        see it, so hiding it would be confusing."""
        bank = await self._bank(uow, scope, bank_id, lock=lock)
        if not scope.may_manage(bank.org_path):
            raise _read_only()
        return bank

    # ---- questions ----

    async def create_question(
        self, uow: UnitOfWork, caller: CallerContext, bank_id: str, spec: q.QuestionSpec
    ) -> Question:
        scope = author_scope(caller)
        bank = await self.managed_bank(uow, scope, bank_id)
        spec = q.validate_question(spec)
        now = self.clock()
        row = Question(
            id=new_id(),
            tenant_id=scope.tenant_id,
            bank_id=bank.id,
            version=1,
            created_by=caller.user_id,
            created_at=now,
            updated_at=now,
            **question_values(spec),
        )
        uow.session.add(row)
        await uow.session.flush()
        return row

    async def get_question(self, uow: UnitOfWork, caller: CallerContext, question_id: str):
        scope = author_scope(caller)
        found = await QuestionRepository(uow.session).question(
            scope.tenant_id, parse_id(question_id, "id"), scope
        )
        if found is None:
            raise question_not_found()
        return found[0]

    async def list_questions(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        bank_id: str,
        *,
        kind: str,
        tag: str,
        difficulty: int,
        page_size: int,
        page_token: str,
    ) -> Page[Question]:
        scope = author_scope(caller)
        bank = await self._bank(uow, scope, bank_id)
        if kind and kind not in q.KINDS:
            raise InvalidArgument(
                "题型无效 (unknown kind)", code="question_unknown_kind", field="kind"
            )
        if difficulty and not q.MIN_DIFFICULTY <= difficulty <= q.MAX_DIFFICULTY:
            raise InvalidArgument(
                "难度应为 1–5 (difficulty is 1 to 5)",
                code="question_difficulty_range",
                field="difficulty",
            )
        return await QuestionRepository(uow.session).questions_page(
            bank.id,
            kind=kind,
            tag=tag.strip(),
            difficulty=difficulty,
            page_size=page_size,
            page_token=page_token,
        )

    async def update_question(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        question_id: str,
        spec: q.QuestionSpec,
        *,
        expected_version: int,
    ) -> Question:
        scope = author_scope(caller)
        row = await self._managed_question(uow, scope, question_id)
        if expected_version and expected_version != row.version:
            raise Conflict(
                f"题目已被他人修改（当前版本 {row.version}），请刷新后重试 (the question was changed "
                f"meanwhile: version {row.version}; reload and retry)",
                code="question_version_mismatch",
            )
        spec = q.validate_question(spec)
        for key, value in question_values(spec).items():
            setattr(row, key, value)
        row.version += 1
        row.updated_at = self.clock()
        await uow.session.flush()
        return row

    async def delete_question(
        self, uow: UnitOfWork, caller: CallerContext, question_id: str
    ) -> None:
        scope = author_scope(caller)
        row = await self._managed_question(uow, scope, question_id)
        if await QuestionRepository(uow.session).question_on_paper(row.id):
            raise FailedPrecondition(
                "题目在考试的固定试卷中，无法删除 (the question is on an exam's fixed paper)",
                code="question_in_use",
            )
        await uow.session.delete(row)

    async def _managed_question(
        self, uow: UnitOfWork, scope: AuthorScope, question_id: str
    ) -> Question:
        found = await QuestionRepository(uow.session).question(
            scope.tenant_id, parse_id(question_id, "id"), scope, lock=True
        )
        if found is None:
            raise question_not_found()
        row, bank = found
        if not scope.may_manage(bank.org_path):
            raise _read_only()
        return row


def _read_only() -> PermissionDenied:
    return PermissionDenied(
        "该题库为全租户题库，仅租户管理员可修改 (a tenant-wide bank is changed by tenant admins "
        "only)",
        code="question_bank_read_only",
    )
