"""Queries of learning progress: the only place that builds them. Row-level security scopes every
statement to the caller's tenant; queries also name the tenant (defence in depth).

The hot path (one player report) is two statements, written once as plain SQL and sent to the
driver as they are: the report context (the learner's place in the trees, the item, its course
and the audience rule, checkpoint counts, the learner's other live sessions, the settings and the
current progress row) and one upsert guarded by the row's revision.
"""

from __future__ import annotations

import base64
import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from hongyun_platform.errors import InvalidArgument
from hongyun_platform.grpc.context import CallerContext
from hongyun_platform.ids import new_id
from sqlalchemy import (
    and_,
    any_,
    false,
    func,
    literal,
    null,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by, array_agg
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from learning_service.course_access import visible_condition
from learning_service.course_models import Chapter, Checkpoint, Course, Item
from learning_service.domain import progress as d
from learning_service.learner import Learner
from learning_service.models import SCHEMA, OrgPath, TenantAncestry
from learning_service.progress_models import (
    SETTING_FIELDS,
    CheckpointAnswer,
    CourseCompletionRecord,
    ItemProgress,
    PointsEntry,
    ProgressFlag,
    ProgressRuleDefaults,
    ProgressSettingsRow,
)

P = ItemProgress.__table__
_P_PREFIX = "p_"
_MEDIA = sorted(d.MEDIA_KINDS)


def encode_key(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def decode_key(token: str) -> str | None:
    if not token:
        return None
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument(
            "分页标记无效 (page token is not valid)", code="invalid_page_token"
        ) from exc


@dataclass(frozen=True)
class Settings:
    rules: d.ProgressRules
    points: d.PointsRules
    citation: str
    overridden: frozenset[str]


@dataclass(frozen=True)
class ReportContext:
    item_id: uuid.UUID
    course_id: uuid.UUID
    course_title: str
    course_version: int
    class_hours_hundredths: int
    material_version: int
    item: d.ItemFacts
    checkpoints_correct: int
    other_session_advanced_at: datetime | None
    settings: Settings
    row: dict[str, Any] | None  # the current item_progress row, if started


@dataclass(frozen=True)
class CheckpointFacts:
    id: uuid.UUID
    item_id: uuid.UUID
    kind: str
    options: int
    answer: list[int]
    explanation: str
    attempts: int
    correct: bool


@dataclass(frozen=True)
class CourseRow:
    id: uuid.UUID
    title: str
    version: int
    class_hours_hundredths: int


@dataclass(frozen=True)
class LearnerRow:
    learner_id: str
    org_id: uuid.UUID | None
    items_started: int
    items_completed: int
    required_completed: int
    last_report_at: datetime
    completion: CourseCompletionRecord | None
    flags: int


def _settings_columns() -> list[Any]:
    d_, s_ = ProgressRuleDefaults, ProgressSettingsRow
    cols: list[Any] = []
    for name in SETTING_FIELDS:
        cols.append(func.coalesce(getattr(s_, name), getattr(d_, name)).label(f"s_{name}"))
        cols.append((getattr(s_, name).is_not(None)).label(f"o_{name}"))
    cols.append(d_.citation.label("s_citation"))
    return cols


def _settings_from(m: Any) -> Settings:
    """From a row mapping with the `_settings_sql` / `_settings_columns` labels."""
    v = {name: m[f"s_{name}"] for name in SETTING_FIELDS}
    rules = d.ProgressRules(
        end_tolerance_percent=float(v["end_tolerance_percent"]),
        end_tolerance_seconds=int(v["end_tolerance_seconds"]),
        end_tolerance_pages=int(v["end_tolerance_pages"]),
        max_playback_rate=float(v["max_playback_rate"]),
        slack_seconds=float(v["slack_seconds"]),
        burst_seconds=float(v["burst_seconds"]),
        min_seconds_per_page=float(v["min_seconds_per_page"]),
        slack_pages=float(v["slack_pages"]),
        burst_pages=float(v["burst_pages"]),
        parallel_window_seconds=float(v["parallel_window_seconds"]),
        parallel_min_rate=float(v["parallel_min_rate"]),
    )
    points = d.PointsRules(
        enabled=bool(v["points_enabled"]),
        per_item=int(v["points_per_item"]),
        per_checkpoint=int(v["points_per_checkpoint"]),
        daily_cap=int(v["points_daily_cap"]),
    )
    overridden = frozenset(n for n in SETTING_FIELDS if m[f"o_{n}"])
    return Settings(rules, points, m["s_citation"], overridden)


_UPSERT_COLUMNS = tuple(c.name for c in P.c if c.name != "revision")
_KEYS = ("tenant_id", "learner_id", "item_id")


@functools.cache
def _upsert_sql() -> str:
    cols = ", ".join(_UPSERT_COLUMNS)
    values = ", ".join(f"${n}" for n in range(1, len(_UPSERT_COLUMNS) + 1))
    updates = ", ".join(
        f"{c} = EXCLUDED.{c}" for c in _UPSERT_COLUMNS if c not in _KEYS and c != "started_at"
    )
    prior = len(_UPSERT_COLUMNS) + 1
    # Built from the table's own column names only.
    return (
        f"INSERT INTO {P.fullname} ({cols}, revision) VALUES ({values}, 1) "  # noqa: S608
        f"ON CONFLICT ({', '.join(_KEYS)}) DO UPDATE SET {updates}, "
        f"revision = {P.name}.revision + 1 WHERE {P.name}.revision = ${prior} "
        f"RETURNING revision"
    )


def _settings_sql(overrides: str, defaults: str) -> str:
    cols = []
    for name in SETTING_FIELDS:
        cols.append(f"coalesce({overrides}.{name}, {defaults}.{name}) AS s_{name}")
        cols.append(f"({overrides}.{name} IS NOT NULL) AS o_{name}")
    cols.append(f"{defaults}.citation AS s_citation")
    return ", ".join(cols)


@functools.cache
def _report_context_sql() -> str:
    """$1 tenant, $2 learner, $3 item, $4 playback session (or NULL), $5 the learner's
    organisation (or NULL), $6 the learner's roles.

    One statement: the learner's place in the trees (as learner.load_learner), the item and its
    course if the learner may open it (as course_access.visible_condition; an integration test
    holds the two to the same answers), checkpoint counts, the learner's other live sessions,
    the tenant's settings and the progress row. No row: the item does not exist for this
    learner."""
    s = SCHEMA
    media = ", ".join(f"'{k}'" for k in _MEDIA)
    progress_cols = ", ".join(f"p.{c.name} AS {_P_PREFIX}{c.name}" for c in P.c)
    # Built from constants and the tables' own column names only.
    return f"""
WITH me AS (
  SELECT CASE WHEN $5::uuid IS NULL THEN '{{}}'::uuid[]
              ELSE coalesce(nullif((SELECT o.path FROM {s}.org_paths o
                                    WHERE o.org_id = $5::uuid AND o.tenant_id = $1::uuid),
                                   '{{}}'::uuid[]),
                            ARRAY[$5::uuid]) END AS org_path,
         coalesce((SELECT a.ancestors FROM {s}.tenant_ancestry a WHERE a.tenant_id = $1::uuid),
                  '{{}}'::uuid[]) AS ancestors
)
SELECT me.org_path AS me_org_path, me.ancestors AS me_ancestors,
  i.id AS item_id, i.kind, i.length, i.course_id, c.title AS course_title,
  c.version AS course_version, c.class_hours_hundredths,
  coalesce(mv.version, 0) AS material_version,
  (SELECT count(*) FROM {s}.checkpoints k WHERE k.item_id = i.id) AS cp_total,
  (SELECT count(*) FROM {s}.checkpoint_answers ca JOIN {s}.checkpoints k ON k.id = ca.checkpoint_id
    WHERE ca.tenant_id = $1::uuid AND ca.learner_id = $2::text AND ca.item_id = i.id
      AND ca.correct) AS cp_correct,
  (SELECT max(o.last_advanced_at) FROM {s}.item_progress o
    WHERE o.tenant_id = $1::uuid AND o.learner_id = $2::text AND o.item_id <> i.id
      AND o.kind IN ({media}) AND (o.session_id IS NULL OR o.session_id <> $4::uuid)
  ) AS other_advanced,
  {_settings_sql("st", "df")},
  {progress_cols}
FROM me
CROSS JOIN {s}.items i
JOIN {s}.courses c ON c.id = i.course_id
LEFT JOIN {s}.material_versions mv ON mv.id = i.current_material_id
JOIN {s}.progress_rule_defaults df ON df.id = 1
LEFT JOIN {s}.progress_settings st ON st.tenant_id = $1::uuid
LEFT JOIN {P.fullname} p ON p.tenant_id = $1::uuid AND p.learner_id = $2::text AND p.item_id = i.id
WHERE i.id = $3::uuid AND c.status = 'published'
  AND ((c.tenant_id = $1::uuid AND EXISTS (
          SELECT 1 FROM {s}.course_audiences au WHERE au.course_id = c.id AND (
            au.kind = 'tenant'
            OR (au.kind = 'org_subtree' AND au.org_id = ANY(me.org_path))
            OR (au.kind = 'role' AND au.role = ANY($6::text[]))
            OR (au.kind = 'learner' AND au.learner_id = $2::text))))
       OR (c.tenant_id = ANY(me.ancestors) AND c.shared_down <> 'none'))
"""  # noqa: S608


class ProgressRepository:
    def __init__(self, session: AsyncSession):
        self.session = session
        self._raw: Any = None

    # ---- who is learning ----

    async def load_learner(self, caller: CallerContext) -> Learner:
        """Like learner.load_learner, in one statement (the report path counts statements)."""
        tenant_id = caller.require_tenant()
        path_q: Any = null()
        if caller.scope_org_id is not None:
            path_q = (
                select(OrgPath.path)
                .where(OrgPath.org_id == caller.scope_org_id, OrgPath.tenant_id == tenant_id)
                .scalar_subquery()
            )
        anc_q = (
            select(TenantAncestry.ancestors)
            .where(TenantAncestry.tenant_id == tenant_id)
            .scalar_subquery()
        )
        row = (await self.session.execute(select(path_q.label("p"), anc_q.label("a")))).one()
        org_path: tuple[uuid.UUID, ...] = ()
        if caller.scope_org_id is not None:
            org_path = tuple(row.p) if row.p else (caller.scope_org_id,)
        return Learner(
            tenant_id=tenant_id,
            learner_id=caller.user_id,
            roles=caller.roles,
            org_id=caller.scope_org_id,
            org_path=org_path,
            tenant_ancestors=tuple(row.a or ()),
        )

    # ---- settings ----

    async def settings(self, tenant_id: uuid.UUID) -> Settings:
        stmt = (
            select(*_settings_columns())
            .select_from(ProgressRuleDefaults)
            .outerjoin(ProgressSettingsRow, ProgressSettingsRow.tenant_id == tenant_id)
            .where(ProgressRuleDefaults.id == 1)
        )
        return _settings_from((await self.session.execute(stmt)).one()._mapping)

    async def save_overrides(
        self, tenant_id: uuid.UUID, values: dict[str, Any], updated_by: str, at: datetime
    ) -> None:
        row = {name: values.get(name) for name in SETTING_FIELDS}
        stmt = pg_insert(ProgressSettingsRow).values(
            tenant_id=tenant_id, updated_by=updated_by, updated_at=at, **row
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[ProgressSettingsRow.tenant_id],
                set_={**row, "updated_by": updated_by, "updated_at": at},
            )
        )

    # ---- the report path ----

    async def _driver(self) -> Any:
        """The transaction's own asyncpg connection, for the report path's prebuilt SQL (one
        repository serves one transaction)."""
        if self._raw is None:
            conn = await self.session.connection()
            driver = (await conn.get_raw_connection()).driver_connection
            if not driver.is_in_transaction():  # the unit of work's first statement begins it
                await conn.execute(text("SELECT 1"))
            self._raw = driver
        return self._raw

    async def report_context(
        self, caller: CallerContext, item_id: uuid.UUID, session_id: uuid.UUID | None
    ) -> tuple[Learner, ReportContext] | None:
        """The learner and the item's context, if the learner may open its course; None when the
        item does not exist for them (row-level security: only the learner's tenant and
        shared-down courses; then the audience rule). One prebuilt statement."""
        tenant_id = caller.require_tenant()
        r = await (await self._driver()).fetchrow(
            _report_context_sql(), tenant_id, caller.user_id, item_id, session_id,
            caller.scope_org_id, sorted(caller.roles),
        )  # fmt: skip
        if r is None:
            return None
        learner = Learner(
            tenant_id=tenant_id,
            learner_id=caller.user_id,
            roles=caller.roles,
            org_id=caller.scope_org_id,
            org_path=tuple(r["me_org_path"]),
            tenant_ancestors=tuple(r["me_ancestors"]),
        )
        row = None
        if r[_P_PREFIX + "item_id"] is not None:
            row = {c.name: r[_P_PREFIX + c.name] for c in P.c}
        ctx = ReportContext(
            item_id=r["item_id"],
            course_id=r["course_id"],
            course_title=r["course_title"],
            course_version=r["course_version"],
            class_hours_hundredths=r["class_hours_hundredths"],
            material_version=r["material_version"],
            item=d.ItemFacts(r["kind"], r["length"], r["cp_total"]),
            checkpoints_correct=r["cp_correct"],
            other_session_advanced_at=r["other_advanced"],
            settings=_settings_from(r),
            row=row,
        )
        return learner, ctx

    async def save_progress(self, values: dict[str, Any], prior_revision: int | None) -> bool:
        """Insert or update the row; False when another report changed it first (re-read).
        One prebuilt statement: the report path must not compile SQL per call."""
        prior = prior_revision if prior_revision is not None else 0
        revision = await (await self._driver()).fetchval(
            _upsert_sql(), *[values[c] for c in _UPSERT_COLUMNS], prior
        )
        return revision is not None

    async def add_flags(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(
                pg_insert(ProgressFlag), [{"id": new_id(), **r} for r in rows]
            )

    # ---- checkpoints ----

    async def checkpoint(
        self, learner: Learner, item_id: uuid.UUID, checkpoint_id: uuid.UUID
    ) -> CheckpointFacts | None:
        stmt = (
            select(
                Checkpoint.id,
                Checkpoint.item_id,
                Checkpoint.kind,
                Checkpoint.options,
                Checkpoint.answer,
                Checkpoint.explanation,
                func.coalesce(CheckpointAnswer.attempts, 0).label("attempts"),
                func.coalesce(CheckpointAnswer.correct, false()).label("correct"),
            )
            .outerjoin(
                CheckpointAnswer,
                and_(
                    CheckpointAnswer.tenant_id == learner.tenant_id,
                    CheckpointAnswer.learner_id == learner.learner_id,
                    CheckpointAnswer.checkpoint_id == Checkpoint.id,
                ),
            )
            .where(Checkpoint.id == checkpoint_id, Checkpoint.item_id == item_id)
        )
        r = (await self.session.execute(stmt)).one_or_none()
        if r is None:
            return None
        return CheckpointFacts(
            r.id,
            r.item_id,
            r.kind,
            len(r.options or []),
            list(r.answer),
            r.explanation,
            r.attempts,
            r.correct,
        )

    async def record_answer(
        self,
        learner: Learner,
        cp: CheckpointFacts,
        selected: Sequence[int],
        correct: bool,
        at: datetime,
    ) -> int:
        """Counts the attempt; returns the number of attempts so far."""
        A = CheckpointAnswer
        stmt = pg_insert(A).values(
            tenant_id=learner.tenant_id,
            learner_id=learner.learner_id,
            checkpoint_id=cp.id,
            item_id=cp.item_id,
            attempts=1,
            correct=correct,
            first_try_correct=correct,
            last_selected=list(selected),
            first_answered_at=at,
            last_answered_at=at,
            correct_at=at if correct else None,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[A.tenant_id, A.learner_id, A.checkpoint_id],
            set_={
                "attempts": A.attempts + 1,
                "correct": A.correct | literal(correct),
                "last_selected": stmt.excluded.last_selected,
                "last_answered_at": at,
                "correct_at": func.coalesce(A.correct_at, stmt.excluded.correct_at),
            },
        ).returning(A.attempts)
        return int((await self.session.execute(stmt)).scalar_one())

    # ---- course completion ----

    async def course_summary(
        self, tenant_id: uuid.UUID, learner_id: str, course_id: uuid.UUID
    ) -> d.Summary:
        done = P.c.completed_at.is_not(None)
        stmt = (
            select(
                func.count().filter(Item.required).label("req"),
                func.count().filter(and_(Item.required, done)).label("req_done"),
                func.coalesce(
                    func.bool_or(and_(Item.required, done, P.c.completion_flagged)), False
                ).label("req_flagged"),
                func.count().label("all"),
                func.count().filter(done).label("all_done"),
                func.coalesce(func.bool_or(and_(done, P.c.completion_flagged)), False).label(
                    "all_flagged"
                ),
            )
            .select_from(Item)
            .outerjoin(
                P,
                and_(
                    P.c.tenant_id == tenant_id,
                    P.c.learner_id == learner_id,
                    P.c.item_id == Item.id,
                ),
            )
            .where(Item.course_id == course_id)
        )
        r = (await self.session.execute(stmt)).one()
        flagged = r.req_flagged if r.req > 0 else r.all_flagged
        return d.Summary(r.req, r.req_done, bool(flagged), r.all, r.all_done)

    async def course_completion(
        self, tenant_id: uuid.UUID, learner_id: str, course_id: uuid.UUID
    ) -> CourseCompletionRecord | None:
        return (
            await self.session.execute(
                select(CourseCompletionRecord).where(
                    CourseCompletionRecord.tenant_id == tenant_id,
                    CourseCompletionRecord.learner_id == learner_id,
                    CourseCompletionRecord.course_id == course_id,
                )
            )
        ).scalar_one_or_none()

    async def save_course_completion(self, values: dict[str, Any]) -> None:
        C = CourseCompletionRecord
        stmt = pg_insert(C).values(**values)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[C.tenant_id, C.learner_id, C.course_id],
                set_={
                    k: stmt.excluded[k]
                    for k in values
                    if k not in ("tenant_id", "learner_id", "course_id")
                },
            )
        )

    async def completions_of(
        self, tenant_id: uuid.UUID, learner_id: str, course_ids: Sequence[uuid.UUID]
    ) -> list[CourseCompletionRecord]:
        if not course_ids:
            return []
        C = CourseCompletionRecord
        return list(
            (
                await self.session.execute(
                    select(C).where(
                        C.tenant_id == tenant_id,
                        C.learner_id == learner_id,
                        C.course_id.in_(list(course_ids)),
                    )
                )
            ).scalars()
        )

    # ---- points ----

    async def points_on(self, tenant_id: uuid.UUID, learner_id: str, day: date) -> int:
        return int(
            (
                await self.session.execute(
                    select(func.coalesce(func.sum(PointsEntry.points), 0)).where(
                        PointsEntry.tenant_id == tenant_id,
                        PointsEntry.learner_id == learner_id,
                        PointsEntry.day == day,
                    )
                )
            ).scalar_one()
        )

    async def add_points(self, values: dict[str, Any]) -> bool:
        """False when that source already earned points (never twice)."""
        stmt = (
            pg_insert(PointsEntry)
            .values(id=new_id(), **values)
            .on_conflict_do_nothing(
                index_elements=["tenant_id", "learner_id", "source", "source_id"]
            )
            .returning(PointsEntry.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def points_totals(
        self, tenant_id: uuid.UUID, learner_id: str, day: date
    ) -> tuple[int, int]:
        stmt = select(
            func.coalesce(func.sum(PointsEntry.points), 0),
            func.coalesce(func.sum(PointsEntry.points).filter(PointsEntry.day == day), 0),
        ).where(PointsEntry.tenant_id == tenant_id, PointsEntry.learner_id == learner_id)
        total, today = (await self.session.execute(stmt)).one()
        return int(total), int(today)

    async def branch_points(
        self, tenant_id: uuid.UUID, org_id: uuid.UUID, after: str | None, limit: int
    ) -> list[tuple[str, int]]:
        stmt = (
            select(PointsEntry.learner_id, func.sum(PointsEntry.points))
            .where(PointsEntry.tenant_id == tenant_id, PointsEntry.org_id == org_id)
            .group_by(PointsEntry.learner_id)
            .order_by(PointsEntry.learner_id)  # never by points
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(PointsEntry.learner_id > after)
        return [(r[0], int(r[1])) for r in (await self.session.execute(stmt)).all()]

    # ---- the learner's own views ----

    async def course_items(
        self, tenant_id: uuid.UUID, learner_id: str, course_id: uuid.UUID
    ) -> list[tuple[Any, dict[str, Any] | None]]:
        """Items of the course in order, each with the learner's progress row (or None)."""
        stmt = (
            select(
                Item.id,
                Item.chapter_id,
                Item.title,
                Item.kind,
                Item.length,
                Item.required,
                *[c.label(_P_PREFIX + c.name) for c in P.c],
            )
            .join(Chapter, Chapter.id == Item.chapter_id)
            .outerjoin(
                P,
                and_(
                    P.c.tenant_id == tenant_id, P.c.learner_id == learner_id, P.c.item_id == Item.id
                ),
            )
            .where(Item.course_id == course_id)
            .order_by(Chapter.position, Item.position)
        )
        out = []
        for r in (await self.session.execute(stmt)).all():
            m = r._mapping
            row = None
            if m[_P_PREFIX + "item_id"] is not None:
                row = {c.name: m[_P_PREFIX + c.name] for c in P.c}
            out.append((r, row))
        return out

    async def course_checkpoints(
        self, tenant_id: uuid.UUID, learner_id: str, item_ids: Sequence[uuid.UUID]
    ) -> list[Any]:
        if not item_ids:
            return []
        A = CheckpointAnswer
        stmt = (
            select(
                Checkpoint.id,
                Checkpoint.item_id,
                Checkpoint.position,
                func.coalesce(A.attempts, 0).label("attempts"),
                func.coalesce(A.correct, false()).label("correct"),
            )
            .outerjoin(
                A,
                and_(
                    A.tenant_id == tenant_id,
                    A.learner_id == learner_id,
                    A.checkpoint_id == Checkpoint.id,
                ),
            )
            .where(Checkpoint.item_id.in_(list(item_ids)))
            .order_by(Checkpoint.item_id, Checkpoint.position, Checkpoint.id)
        )
        return list((await self.session.execute(stmt)).all())

    async def recent_unfinished(self, learner: Learner, limit: int) -> Any | None:
        """The most recent unfinished item the learner may still open."""
        stmt = (
            select(
                P.c.course_id,
                Course.title.label("course_title"),
                P.c.item_id,
                Item.title.label("item_title"),
                Item.kind,
                P.c.position,
                Item.length,
                P.c.last_report_at,
            )
            .select_from(P)
            .join(Item, Item.id == P.c.item_id)
            .join(Course, Course.id == Item.course_id)
            .where(
                P.c.tenant_id == learner.tenant_id,
                P.c.learner_id == learner.learner_id,
                or_(P.c.completed_at.is_(None), P.c.completion_flagged),
                visible_condition(learner),
            )
            .order_by(P.c.last_report_at.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).first()

    # ---- secretaries and tenant admins ----

    async def course(self, course_id: uuid.UUID) -> CourseRow | None:
        r = (
            await self.session.execute(
                select(
                    Course.id, Course.title, Course.version, Course.class_hours_hundredths
                ).where(Course.id == course_id)
            )
        ).one_or_none()
        return CourseRow(*r) if r else None

    async def org_path(self, tenant_id: uuid.UUID, org_id: uuid.UUID) -> tuple[uuid.UUID, ...]:
        path = (
            await self.session.execute(
                select(OrgPath.path).where(OrgPath.org_id == org_id, OrgPath.tenant_id == tenant_id)
            )
        ).scalar_one_or_none()
        return tuple(path) if path else (org_id,)

    async def required_items(self, course_id: uuid.UUID) -> int:
        return int(
            (
                await self.session.execute(
                    select(func.count())
                    .select_from(Item)
                    .where(Item.course_id == course_id, Item.required)
                )
            ).scalar_one()
        )

    async def course_learners(
        self,
        tenant_id: uuid.UUID,
        course_id: uuid.UUID,
        within: uuid.UUID | None,
        after: str | None,
        limit: int,
    ) -> list[LearnerRow]:
        done = P.c.completed_at.is_not(None)
        flags = (
            select(func.count())
            .select_from(ProgressFlag)
            .where(
                ProgressFlag.tenant_id == tenant_id,
                ProgressFlag.course_id == course_id,
                ProgressFlag.learner_id == P.c.learner_id,
            )
            .correlate(P)
            .scalar_subquery()
        )
        stmt = (
            select(
                P.c.learner_id,
                array_agg(aggregate_order_by(P.c.org_id, P.c.last_report_at.desc()))[1].label(
                    "org_id"
                ),
                func.count().label("started"),
                func.count().filter(done).label("completed"),
                func.count().filter(and_(done, Item.required)).label("req_done"),
                func.max(P.c.last_report_at).label("last_report_at"),
                flags.label("flags"),
            )
            .select_from(P)
            .outerjoin(Item, Item.id == P.c.item_id)
            .where(P.c.tenant_id == tenant_id, P.c.course_id == course_id)
            .group_by(P.c.learner_id)
            .order_by(P.c.learner_id)
            .limit(limit)
        )
        if within is not None:
            stmt = stmt.where(literal(within) == any_(P.c.org_path))
        if after is not None:
            stmt = stmt.where(P.c.learner_id > after)
        rows = (await self.session.execute(stmt)).all()
        completions = (
            {
                c.learner_id: c
                for c in (
                    await self.session.execute(
                        select(CourseCompletionRecord).where(
                            CourseCompletionRecord.tenant_id == tenant_id,
                            CourseCompletionRecord.course_id == course_id,
                            CourseCompletionRecord.learner_id.in_([r.learner_id for r in rows]),
                        )
                    )
                ).scalars()
            }
            if rows
            else {}
        )
        return [
            LearnerRow(
                r.learner_id,
                r.org_id,
                r.started,
                r.completed,
                r.req_done,
                r.last_report_at,
                completions.get(r.learner_id),
                int(r.flags or 0),
            )
            for r in rows
        ]

    async def learner_in_scope(
        self, tenant_id: uuid.UUID, learner_id: str, within: uuid.UUID | None
    ) -> bool:
        cond = [P.c.tenant_id == tenant_id, P.c.learner_id == learner_id]
        if within is not None:
            cond.append(literal(within) == any_(P.c.org_path))
        stmt = select(P.c.learner_id).where(*cond).limit(1)
        return (await self.session.execute(stmt)).first() is not None

    async def learner_flags(
        self,
        tenant_id: uuid.UUID,
        learner_id: str,
        within: uuid.UUID | None,
        before: uuid.UUID | None,
        limit: int,
    ) -> list[ProgressFlag]:
        F = ProgressFlag
        stmt = (
            select(F)
            .where(F.tenant_id == tenant_id, F.learner_id == learner_id)
            .order_by(F.id.desc())
            .limit(limit)
        )
        if within is not None:
            stmt = stmt.where(literal(within) == any_(F.org_path))
        if before is not None:
            stmt = stmt.where(F.id < before)
        return list((await self.session.execute(stmt)).scalars())

    async def attempt_flag_notes(
        self, tenant_id: uuid.UUID, learner_id: str, item_id: uuid.UUID, attempt: int
    ) -> list[ProgressFlag]:
        F = ProgressFlag
        stmt = (
            select(F)
            .where(
                F.tenant_id == tenant_id,
                F.learner_id == learner_id,
                F.item_id == item_id,
                F.attempt == attempt,
            )
            .order_by(F.id)
        )
        return list((await self.session.execute(stmt)).scalars())
