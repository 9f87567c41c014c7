"""Pure rules of learning progress (domain.md §8: measure understanding, never reward raw watch
time, anomaly flags instead of punishment).

Positions are offsets from the start of an item: seconds of a video or audio, the 0-based page
index of a document. What counts is the *covered span*: segments the learner plausibly went
through, merged. Credit comes from an allowance that grows at the tenant's plausible rate per
second of server time since the last report (max playback rate ×, or 1 page per min seconds per
page), plus what was left unused before, up to a burst; an advance may overdraw it by a small
slack (network jitter), which later reports repay. An advance
beyond it is not covered (and is flagged `too_fast` unless the player says it was a seek); a seek
never counts as covered. A new playback session starts at its first report, so two sessions
taking turns on one item cover nothing, and sessions advancing at once are flagged
`parallel_playback`. Flags explain; they never stop the learner.

Completion is reaching the end (furthest ≥ length − tolerance) and every checkpoint answered
correctly — never time spent. Rich text completes when opened (and its checkpoints answered), a
link when opened, an item of unknown length (0) like rich text.

Every number is a rule (`ProgressRules`, `PointsRules`) read from the tenant's settings with
stored defaults; nothing here is a timing constant.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum

from hongyun_platform.errors import InvalidArgument

MEDIA_KINDS = frozenset({"video", "audio"})
PAGED_KINDS = frozenset({"document"})
OPEN_KINDS = frozenset({"rich_text", "link"})  # complete when opened
CHECKPOINT_KINDS = ("single", "multiple", "true_false")
# LearningProgressed is emitted when the covered span crosses these (coarse on purpose: an event
# per report would be noise and load).
MILESTONES = (25, 50, 75)
# Daily point caps count China calendar days (UTC+8, no DST).
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")


class FlagKind(StrEnum):
    TOO_FAST = "too_fast"
    PARALLEL_PLAYBACK = "parallel_playback"


FLAG_NOTES = {
    FlagKind.TOO_FAST: "进度前进快于正常学习速度，超出部分不计入已学 "
    "(advanced faster than plausible; the part beyond it is not counted)",
    FlagKind.PARALLEL_PLAYBACK: "检测到同时播放多个内容 "
    "(two playback sessions were advancing at the same time)",
}


@dataclass(frozen=True)
class ProgressRules:
    end_tolerance_percent: float  # the last % of a video/audio counts as the end ...
    end_tolerance_seconds: int  # ... or this many seconds, whichever is larger
    end_tolerance_pages: int
    max_playback_rate: float
    slack_seconds: float
    burst_seconds: float
    min_seconds_per_page: float
    slack_pages: float
    burst_pages: float
    parallel_window_seconds: float
    parallel_min_rate: float


@dataclass(frozen=True)
class PointsRules:
    enabled: bool
    per_item: int
    per_checkpoint: int
    daily_cap: int


@dataclass(frozen=True)
class ItemFacts:
    kind: str
    length: int  # seconds or pages; 0 = unknown
    checkpoints_total: int = 0

    @property
    def tracked(self) -> bool:
        """Whether positions matter (media or document of known length)."""
        return self.length > 0 and (self.kind in MEDIA_KINDS or self.kind in PAGED_KINDS)


@dataclass(frozen=True)
class Track:
    """The stored state of one learner on one item in the current attempt."""

    position: int = 0
    covered: tuple[tuple[int, int], ...] = ()
    session_id: uuid.UUID | None = None
    last_report_at: datetime | None = None
    last_advanced_at: datetime | None = None
    prev_session_id: uuid.UUID | None = None
    prev_session_at: datetime | None = None
    prev_session_position: int = 0
    allowance: float = 0.0
    milestone: int = 0
    flags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Report:
    position: int
    session_id: uuid.UUID
    at: datetime  # the server's clock
    playback_rate: float | None = None
    seeked: bool = False


@dataclass(frozen=True)
class Flag:
    kind: FlagKind
    detail: str


@dataclass(frozen=True)
class Step:
    track: Track
    new_flags: tuple[Flag, ...] = ()
    milestones: tuple[int, ...] = ()  # newly crossed, ascending
    furthest: int = 0
    advanced: bool = False  # the covered span grew


@dataclass(frozen=True)
class _Pace:
    rate: float  # units credited per second of server time
    slack: float
    burst: float
    unit: str


def _pace(item: ItemFacts, rules: ProgressRules) -> _Pace:
    if item.kind in PAGED_KINDS:
        return _Pace(1.0 / rules.min_seconds_per_page, rules.slack_pages, rules.burst_pages, "页")
    return _Pace(rules.max_playback_rate, rules.slack_seconds, rules.burst_seconds, "秒")


# ---- covered span ----


def add_segment(
    covered: Iterable[tuple[int, int]], start: int, end: int
) -> tuple[tuple[int, int], ...]:
    """Adds [start, end] and merges segments that overlap or touch (1 unit apart: integer
    positions)."""
    segments = sorted([*covered, (start, end)])
    merged: list[tuple[int, int]] = []
    for a, b in segments:
        if merged and a <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return tuple(merged)


def furthest(covered: Sequence[tuple[int, int]], start_slack: float = 0) -> int:
    """End of the span covered from the start (a first segment starting within the slack counts
    as starting at 0: players report their first position a moment late)."""
    if covered and covered[0][0] <= start_slack:
        return covered[0][1]
    return 0


def covered_units(covered: Sequence[tuple[int, int]]) -> int:
    return sum(b - a for a, b in covered)


def flatten(covered: Sequence[tuple[int, int]]) -> list[int]:
    return [v for seg in covered for v in seg]


def unflatten(values: Sequence[int] | None) -> tuple[tuple[int, int], ...]:
    v = list(values or ())
    return tuple((v[i], v[i + 1]) for i in range(0, len(v) - 1, 2))


def percent_of(item: ItemFacts, furthest_: int) -> int:
    if item.length <= 0:
        return 0
    return min(100, furthest_ * 100 // item.length)


# ---- one report ----


def validate_position(item: ItemFacts, position: int) -> None:
    if position < 0:
        raise InvalidArgument(
            "进度位置不能为负数 (position must not be negative)",
            code="progress_position_out_of_range",
            field="position",
        )
    if item.length > 0 and position > item.length:
        raise InvalidArgument(
            f"进度位置超出内容长度 {item.length} (position beyond the end of the item)",
            code="progress_position_out_of_range",
            field="position",
        )


def _fmt(x: float) -> str:
    return f"{x:.0f}" if abs(x - round(x)) < 0.05 else f"{x:.1f}"


def apply_report(
    track: Track,
    item: ItemFacts,
    report: Report,
    rules: ProgressRules,
    *,
    other_session_advanced_at: datetime | None = None,
) -> Step:
    """The new state after one report. `other_session_advanced_at` is the latest time another
    playback session of the same learner advanced on another media item (None if never)."""
    pace = _pace(item, rules)
    elapsed = 0.0
    if track.last_report_at is not None:
        elapsed = max(0.0, (report.at - track.last_report_at).total_seconds())
    # What is left from earlier reports carries over only up to the burst (no saving up while
    # idle); the time since the last report always counts in full.
    allowance = min(pace.burst, track.allowance) + elapsed * pace.rate
    same_session = track.session_id == report.session_id
    advance = report.position - track.position
    covered = track.covered
    flags: list[Flag] = []
    advanced = False

    if item.tracked and same_session and advance > 0 and not report.seeked:
        if advance <= allowance + pace.slack:
            covered = add_segment(covered, track.position, report.position)
            allowance -= advance
            advanced = True
        else:
            flags.append(
                Flag(
                    FlagKind.TOO_FAST,
                    f"{_fmt(elapsed)} 秒内前进 {advance} {pace.unit}，超过可信进度（最多约 "
                    f"{_fmt(max(allowance, 0) + pace.slack)} {pace.unit}），未计入已学 "
                    f"(advanced {advance} in {_fmt(elapsed)} s, more than plausible; not counted)",
                )
            )
    if (
        item.kind in MEDIA_KINDS
        and report.playback_rate is not None
        and report.playback_rate > rules.max_playback_rate
    ):
        flags.append(
            Flag(
                FlagKind.TOO_FAST,
                f"播放倍速 {_fmt(report.playback_rate)} 超过上限 {_fmt(rules.max_playback_rate)} "
                f"(playback rate above the {_fmt(rules.max_playback_rate)}× limit)",
            )
        )

    if item.kind in MEDIA_KINDS and item.tracked:
        flags += _parallel_flags(track, report, rules, elapsed, advance, advanced,
                                 other_session_advanced_at)  # fmt: skip

    new_track = replace(
        track,
        position=report.position,
        covered=covered,
        session_id=report.session_id,
        last_report_at=report.at,
        last_advanced_at=report.at if advanced else track.last_advanced_at,
        allowance=allowance,
    )
    if not same_session:
        new_track = replace(
            new_track,
            prev_session_id=track.session_id,
            prev_session_at=track.last_report_at,
            prev_session_position=track.position,
        )

    # One record per kind per attempt: a script reporting every second must not write a flag
    # row per report.
    fresh: list[Flag] = []
    seen = set(track.flags)
    for f in flags:
        if f.kind.value not in seen:
            fresh.append(f)
            seen.add(f.kind.value)
    new_track = replace(new_track, flags=frozenset(seen))

    start_slack = pace.slack if item.kind in MEDIA_KINDS else 0
    far = furthest(covered, start_slack)
    crossed: tuple[int, ...] = ()
    if item.tracked:
        pct = percent_of(item, far)
        crossed = tuple(m for m in MILESTONES if m > track.milestone and pct >= m)
        if crossed:
            new_track = replace(new_track, milestone=crossed[-1])
    return Step(new_track, tuple(fresh), crossed, far, advanced)


def _parallel_flags(
    track: Track,
    report: Report,
    rules: ProgressRules,
    elapsed: float,
    advance: int,
    advanced: bool,
    other_session_advanced_at: datetime | None,
) -> list[Flag]:
    out: list[Flag] = []
    window = rules.parallel_window_seconds
    # Another item: this session kept playing (advanced at least parallel_min_rate × real time
    # since its previous report, which was recent) while another session advanced elsewhere.
    if (
        advanced
        and track.last_report_at is not None
        and elapsed <= window
        and advance >= elapsed * rules.parallel_min_rate
        and other_session_advanced_at is not None
        and other_session_advanced_at > track.last_report_at
    ):
        out.append(
            Flag(
                FlagKind.PARALLEL_PLAYBACK,
                "本内容播放期间另一内容也在播放 "
                "(another item was playing in another session at the same time)",
            )
        )
    # The same item: a session came back after another one advanced in between, both live.
    if (
        track.session_id is not None
        and report.session_id != track.session_id
        and report.session_id == track.prev_session_id
        and track.prev_session_at is not None
        and (report.at - track.prev_session_at).total_seconds() <= window
        and track.last_advanced_at is not None
        and track.last_advanced_at > track.prev_session_at
        and report.position > track.prev_session_position
    ):
        out.append(
            Flag(
                FlagKind.PARALLEL_PLAYBACK,
                "同一内容在两个播放窗口同时播放 "
                "(the same item was playing in two sessions at the same time)",
            )
        )
    return out


# ---- the end, completion ----


def end_tolerance(item: ItemFacts, rules: ProgressRules) -> int:
    if item.kind in PAGED_KINDS:
        return rules.end_tolerance_pages
    by_percent = math.ceil(item.length * rules.end_tolerance_percent / 100)
    return max(by_percent, rules.end_tolerance_seconds)


def reached_end(item: ItemFacts, furthest_: int, opened: bool, rules: ProgressRules) -> bool:
    if not opened:
        return False
    if not item.tracked:
        return True  # rich text, link, or unknown length: opening it is the whole of it
    return furthest_ >= item.length - end_tolerance(item, rules)


def is_complete(item: ItemFacts, reached: bool, checkpoints_correct: int) -> bool:
    """A link completes when opened; everything else also needs every checkpoint right."""
    if item.kind == "link":
        return reached
    return reached and checkpoints_correct >= item.checkpoints_total


# ---- checkpoints ----


def check_answer(kind: str, options: int, answer: Sequence[int], selected: Sequence[int]) -> bool:
    """Whether `selected` (option indexes) is exactly the correct set; malformed → 422."""
    chosen = list(selected)
    bad = (
        not chosen
        or len(set(chosen)) != len(chosen)
        or any(i < 0 or i >= options for i in chosen)
        or (kind in ("single", "true_false") and len(chosen) != 1)
    )
    if bad:
        raise InvalidArgument(
            "所选选项无效：请选择题目中的选项"
            + ("，单选题只能选一项" if kind in ("single", "true_false") else "")
            + " (invalid selection: choose among the options"
            + ("; exactly one" if kind in ("single", "true_false") else "")
            + ")",
            code="checkpoint_invalid_selection",
            field="selected",
        )
    return set(chosen) == set(answer)


# ---- points ----


def china_day(at: datetime) -> date:
    return at.astimezone(CHINA_TZ).date()


def points_to_award(base: int, earned_today: int, rules: PointsRules) -> int:
    """Points for one un-flagged completion or checkpoint, within the learner's daily cap."""
    if not rules.enabled or base <= 0:
        return 0
    return max(0, min(base, rules.daily_cap - earned_today))


# ---- settings ----


@dataclass(frozen=True)
class Bound:
    low: float
    high: float
    integer: bool = False


SETTING_BOUNDS: dict[str, Bound] = {
    "end_tolerance_percent": Bound(0, 20),
    "end_tolerance_seconds": Bound(0, 600, True),
    "end_tolerance_pages": Bound(0, 50, True),
    "max_playback_rate": Bound(1, 16),
    "slack_seconds": Bound(0, 120),
    "burst_seconds": Bound(10, 3600),
    "min_seconds_per_page": Bound(0.5, 600),
    "slack_pages": Bound(0, 10),
    "burst_pages": Bound(1, 100),
    "parallel_window_seconds": Bound(10, 3600),
    "parallel_min_rate": Bound(0, 1),
    "points_per_item": Bound(0, 100, True),
    "points_per_checkpoint": Bound(0, 100, True),
    "points_daily_cap": Bound(1, 1000, True),
}


def validate_overrides(values: dict[str, object]) -> None:
    for name, value in values.items():
        bound = SETTING_BOUNDS.get(name)
        if bound is None or value is None or isinstance(value, bool):
            continue
        number = float(value)  # type: ignore[arg-type]
        if not (bound.low <= number <= bound.high) or math.isnan(number):
            raise InvalidArgument(
                f"设置 {name} 应在 {_fmt(bound.low)} 到 {_fmt(bound.high)} 之间 "
                f"({name} must be between {_fmt(bound.low)} and {_fmt(bound.high)})",
                code="progress_setting_out_of_range",
                field=name,
            )


@dataclass(frozen=True)
class Summary:
    """Course completion from the learner's items."""

    required_total: int
    required_completed: int
    any_flagged: bool
    items_total: int = 0
    items_completed: int = 0

    @property
    def complete(self) -> bool:
        # A course with no required item completes when every item does.
        if self.required_total > 0:
            return self.required_completed >= self.required_total
        return self.items_total > 0 and self.items_completed >= self.items_total


@dataclass(frozen=True)
class Completion:
    completed_at: datetime | None
    flagged: bool
    changed: bool  # a new completion, or a flagged one redone without flags (ItemCompleted)


def completion_transition(
    completed_at: datetime | None,
    flagged: bool,
    complete_now: bool,
    attempt_flagged: bool,
    at: datetime,
) -> Completion:
    """A completion is recorded once; a flagged one is replaced when an attempt without flags
    completes (the learner redid it). A clean completion is never undone."""
    if not complete_now:
        return Completion(completed_at, flagged, False)
    if completed_at is None:
        return Completion(at, attempt_flagged, True)
    if flagged and not attempt_flagged:
        return Completion(at, False, True)
    return Completion(completed_at, flagged, False)
