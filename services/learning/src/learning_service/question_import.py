"""Importing questions from the .xlsx template (question_template) into a bank, all or nothing.

The file travels inside the gRPC call as a client stream of chunks (a spreadsheet, not a study
material: limited by `question_import_max_bytes`, 5 MB by default), is read in memory and every
row is validated; when any row — or any pair of rows with the same kind and prompt — is
rejected, nothing is written and every rejected cell is reported (row, column, reason). An
accepted file is written with one INSERT. `dry_run` validates only.

No transport imports; raises DomainError; never commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from hongyun_platform.db import UnitOfWork
from hongyun_platform.errors import InvalidArgument
from hongyun_platform.grpc.context import CallerContext
from hongyun_platform.ids import new_id

from learning_service import question_template as tpl
from learning_service.exam_scope import author_scope
from learning_service.question_repository import QuestionRepository
from learning_service.questions import QuestionBanks, now_utc, question_values

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_ROWS = 2000


@dataclass(frozen=True)
class ImportLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_rows: int = DEFAULT_MAX_ROWS


@dataclass(frozen=True)
class ImportOutcome:
    accepted: bool
    row_count: int
    imported: int
    errors: list[tpl.RowError] = field(default_factory=list)


def check_size(size: int, limits: ImportLimits) -> None:
    if size > limits.max_bytes:
        raise InvalidArgument(
            f"文件不能超过 {limits.max_bytes // (1024 * 1024)} MB (the file is larger than "
            f"{limits.max_bytes} bytes)",
            code="question_import_too_large",
            field="file",
        )


def validate_file(data: bytes, limits: ImportLimits) -> tuple[list[tpl.ParsedRow], list]:
    """Every data row parsed; the errors of all rows, duplicates within the file included."""
    check_size(len(data), limits)
    if not data:
        raise InvalidArgument(
            "文件为空 (the file is empty)", code="question_import_empty", field="file"
        )
    _, rows = tpl.read_rows(data, max_rows=limits.max_rows)
    parsed = [tpl.parse_row(number, cells) for number, cells in rows]
    if not parsed:
        raise InvalidArgument(
            "文件中没有题目 (the file has no question rows)",
            code="question_import_no_rows",
            field="file",
        )
    errors = [e for p in parsed for e in p.errors]
    first_row: dict[tuple[str, str], int] = {}
    for p in parsed:
        if p.spec is None:
            continue
        key = tpl.duplicate_key(p.spec)
        if key in first_row:
            errors.append(
                tpl.RowError(
                    p.row,
                    tpl.PROMPT,
                    "question_import_duplicate",
                    f"与第 {first_row[key]} 行题目重复 (the same question as row {first_row[key]})",
                )
            )
        else:
            first_row[key] = p.row
    errors.sort(
        key=lambda e: (e.row, tpl.HEADERS.index(e.column) if e.column in tpl.HEADERS else -1)
    )
    return parsed, errors


class QuestionImport:
    def __init__(
        self,
        banks: QuestionBanks,
        limits: ImportLimits | None = None,
        clock: Callable[[], datetime] = now_utc,
    ):
        self.banks = banks
        self.limits = limits or ImportLimits()
        self.clock = clock

    def template(self) -> tuple[bytes, str, str]:
        return tpl.build_template(), tpl.FILE_NAME, tpl.CONTENT_TYPE

    async def import_file(
        self,
        uow: UnitOfWork,
        caller: CallerContext,
        *,
        bank_id: str,
        data: bytes,
        dry_run: bool,
    ) -> ImportOutcome:
        scope = author_scope(caller)
        bank = await self.banks.managed_bank(uow, scope, bank_id)
        parsed, errors = validate_file(data, self.limits)
        if errors:
            return ImportOutcome(False, len(parsed), 0, errors)
        if dry_run:
            return ImportOutcome(True, len(parsed), 0)
        now = self.clock()
        rows = [
            dict(
                id=new_id(),
                tenant_id=scope.tenant_id,
                bank_id=bank.id,
                version=1,
                created_by=caller.user_id,
                created_at=now,
                updated_at=now,
                **question_values(p.spec),
            )
            for p in parsed
            if p.spec is not None
        ]
        await QuestionRepository(uow.session).insert_questions(rows)
        bank.updated_at = now
        return ImportOutcome(True, len(parsed), len(rows))
