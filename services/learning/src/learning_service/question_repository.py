"""Queries of question banks and questions. Row-level security scopes every row to the
transaction's tenant; these queries filter by tenant and by the author's organisation subtree as
well (defence in depth)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from hongyun_platform.db import Page
from hongyun_platform.db.repository import clamp_page_size, decode_token, encode_token
from sqlalchemy import delete, exists, false, func, insert, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from learning_service.domain.exams import Candidate
from learning_service.exam_models import ExamDrawRule, ExamPaperItem, Question, QuestionBank
from learning_service.exam_scope import AuthorScope


def readable_banks(scope: AuthorScope) -> ColumnElement[bool]:
    """Banks an author may read and draw from: all (admins), else tenant-wide or in the subtree."""
    if scope.admin:
        return true()
    return or_(
        func.cardinality(QuestionBank.org_path) == 0,
        QuestionBank.org_path.any(scope.org_id) if scope.org_id else false(),
    )


class QuestionRepository:
    def __init__(self, session: AsyncSession):
        self.session = session

    # ---- banks ----

    async def bank(
        self, tenant_id: uuid.UUID, bank_id: uuid.UUID, scope: AuthorScope, *, lock: bool = False
    ) -> QuestionBank | None:
        stmt = select(QuestionBank).where(
            QuestionBank.id == bank_id,
            QuestionBank.tenant_id == tenant_id,
            readable_banks(scope),
        )
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def banks_page(
        self, tenant_id: uuid.UUID, scope: AuthorScope, *, page_size: int, page_token: str
    ) -> Page[QuestionBank]:
        size = clamp_page_size(page_size)
        stmt = select(QuestionBank).where(
            QuestionBank.tenant_id == tenant_id, readable_banks(scope)
        )
        after = decode_token(page_token)
        if after is not None:
            stmt = stmt.where(QuestionBank.id > after)
        rows = list(
            (await self.session.execute(stmt.order_by(QuestionBank.id).limit(size + 1))).scalars()
        )
        more = len(rows) > size
        rows = rows[:size]
        return Page(rows, encode_token(rows[-1].id) if more else "")

    async def question_counts(self, bank_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        if not bank_ids:
            return {}
        rows = await self.session.execute(
            select(Question.bank_id, func.count())
            .where(Question.bank_id.in_(bank_ids))
            .group_by(Question.bank_id)
        )
        return {b: n for b, n in rows.all()}

    async def readable_bank_ids(
        self, tenant_id: uuid.UUID, scope: AuthorScope, bank_ids: Iterable[uuid.UUID]
    ) -> set[uuid.UUID]:
        ids = list(set(bank_ids))
        if not ids:
            return set()
        rows = await self.session.execute(
            select(QuestionBank.id).where(
                QuestionBank.id.in_(ids),
                QuestionBank.tenant_id == tenant_id,
                readable_banks(scope),
            )
        )
        return set(rows.scalars())

    async def bank_in_use(self, bank_id: uuid.UUID) -> bool:
        """A question of the bank is on a fixed paper, or a draw rule names the bank."""
        on_paper = exists().where(
            ExamPaperItem.question_id == Question.id, Question.bank_id == bank_id
        )
        drawn = exists().where(ExamDrawRule.bank_ids.any(bank_id))
        return bool((await self.session.execute(select(or_(on_paper, drawn)))).scalar())

    async def delete_bank(self, bank: QuestionBank) -> None:
        await self.session.execute(delete(Question).where(Question.bank_id == bank.id))
        await self.session.delete(bank)

    # ---- questions ----

    async def question(
        self,
        tenant_id: uuid.UUID,
        question_id: uuid.UUID,
        scope: AuthorScope,
        *,
        lock: bool = False,
    ) -> tuple[Question, QuestionBank] | None:
        stmt = (
            select(Question, QuestionBank)
            .join(QuestionBank, QuestionBank.id == Question.bank_id)
            .where(
                Question.id == question_id, Question.tenant_id == tenant_id, readable_banks(scope)
            )
        )
        if lock:
            stmt = stmt.with_for_update(of=Question)
        row = (await self.session.execute(stmt)).one_or_none()
        return (row[0], row[1]) if row else None

    async def questions_page(
        self,
        bank_id: uuid.UUID,
        *,
        kind: str,
        tag: str,
        difficulty: int,
        page_size: int,
        page_token: str,
    ) -> Page[Question]:
        size = clamp_page_size(page_size)
        stmt = select(Question).where(Question.bank_id == bank_id)
        if kind:
            stmt = stmt.where(Question.kind == kind)
        if tag:
            stmt = stmt.where(Question.tags.any(tag))
        if difficulty:
            stmt = stmt.where(Question.difficulty == difficulty)
        after = decode_token(page_token)
        if after is not None:
            stmt = stmt.where(Question.id > after)
        rows = list(
            (await self.session.execute(stmt.order_by(Question.id).limit(size + 1))).scalars()
        )
        more = len(rows) > size
        rows = rows[:size]
        return Page(rows, encode_token(rows[-1].id) if more else "")

    async def question_on_paper(self, question_id: uuid.UUID) -> bool:
        stmt = select(exists().where(ExamPaperItem.question_id == question_id))
        return bool((await self.session.execute(stmt)).scalar())

    async def insert_questions(self, rows: Sequence[dict[str, Any]]) -> None:
        """Many questions in one statement (imports)."""
        if rows:
            await self.session.execute(insert(Question), list(rows))

    async def questions_by_id(
        self, tenant_id: uuid.UUID, ids: Iterable[uuid.UUID], scope: AuthorScope | None = None
    ) -> dict[uuid.UUID, Question]:
        """Questions by id; with `scope`, only those of banks the author may read."""
        wanted = list(set(ids))
        if not wanted:
            return {}
        stmt = select(Question).where(Question.id.in_(wanted), Question.tenant_id == tenant_id)
        if scope is not None:
            stmt = stmt.join(QuestionBank, QuestionBank.id == Question.bank_id).where(
                readable_banks(scope)
            )
        return {qn.id: qn for qn in (await self.session.execute(stmt)).scalars()}

    async def candidates(
        self, tenant_id: uuid.UUID, bank_ids: Iterable[uuid.UUID]
    ) -> list[Candidate]:
        """What a random draw chooses from: ids and the attributes rules filter on."""
        ids = list(set(bank_ids))
        if not ids:
            return []
        rows = await self.session.execute(
            select(
                Question.id, Question.bank_id, Question.kind, Question.tags, Question.difficulty
            ).where(Question.bank_id.in_(ids), Question.tenant_id == tenant_id)
        )
        return [Candidate(r.id, r.bank_id, r.kind, tuple(r.tags), r.difficulty) for r in rows]
