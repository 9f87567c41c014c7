"""Pure rules of learning progress: the covered span only grows at a plausible pace (server
clock), seeks do not count, anti-gaming flags, the end with its tolerance, checkpoints, completion
transitions and capped optional points."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hongyun_platform.errors import InvalidArgument
from learning_service.domain import progress as d

RULES = d.ProgressRules(
    end_tolerance_percent=2.0, end_tolerance_seconds=5, end_tolerance_pages=1,
    max_playback_rate=2.0, slack_seconds=5.0, burst_seconds=90.0,
    min_seconds_per_page=3.0, slack_pages=1.0, burst_pages=5.0,
    parallel_window_seconds=90.0, parallel_min_rate=0.5,
)  # fmt: skip
POINTS = d.PointsRules(enabled=True, per_item=5, per_checkpoint=1, daily_cap=20)
T0 = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
VIDEO_40_MIN = d.ItemFacts("video", 2400)


class Player:
    """One learner's player on one item, driven by the server clock of the test."""

    def __init__(self, item: d.ItemFacts, rules: d.ProgressRules = RULES):
        self.item, self.rules = item, rules
        self.track = d.Track()
        self.session = uuid.uuid4()
        self.now = T0
        self.steps: list[d.Step] = []

    def new_session(self) -> uuid.UUID:
        self.session = uuid.uuid4()
        return self.session

    def report(self, position: int, *, after: float = 0, other: datetime | None = None,
               seeked: bool = False, rate: float | None = None,
               session: uuid.UUID | None = None) -> d.Step:  # fmt: skip
        self.now += timedelta(seconds=after)
        step = d.apply_report(
            self.track, self.item,
            d.Report(position, session or self.session, self.now, rate, seeked),
            self.rules, other_session_advanced_at=other,
        )  # fmt: skip
        self.track = step.track
        self.steps.append(step)
        return step

    @property
    def furthest(self) -> int:
        return self.steps[-1].furthest if self.steps else 0

    @property
    def flags(self) -> list[str]:
        return [f.kind.value for s in self.steps for f in s.new_flags]

    @property
    def milestones(self) -> list[int]:
        return [m for s in self.steps for m in s.milestones]

    def reached_end(self) -> bool:
        return d.reached_end(self.item, self.furthest, True, self.rules)

    def play(self, until: int, *, every: int = 30, speed: float = 1.0) -> None:
        while self.track.position < until:
            nxt = min(until, self.track.position + int(every * speed))
            self.report(nxt, after=(nxt - self.track.position) / speed)


def test_a_40_minute_video_completed_in_30_seconds_is_flagged_and_not_counted():
    p = Player(VIDEO_40_MIN)
    p.report(0)
    step = p.report(2400, after=30)
    assert p.flags == ["too_fast"]
    assert "2400" in step.new_flags[0].detail and "30" in step.new_flags[0].detail
    assert p.furthest == 0 and not p.reached_end()
    assert p.track.position == 2400  # the resume point follows the player anyway
    assert p.milestones == []


def test_watching_at_normal_speed_covers_the_video_and_reaches_the_end():
    p = Player(VIDEO_40_MIN)
    p.report(0)
    p.play(2400)
    assert p.flags == [] and p.furthest == 2400 and p.reached_end()
    assert p.milestones == [25, 50, 75]  # once each, in order


def test_double_speed_is_plausible_even_with_network_jitter():
    p = Player(VIDEO_40_MIN)
    p.report(0)
    for i in range(10):
        p.report(p.track.position + 60, after=29.5 if i % 2 else 30.5)  # 2×, reports jitter
    assert p.flags == [] and p.furthest == 600


def test_faster_than_the_tenants_max_rate_is_flagged_but_the_learner_can_continue():
    p = Player(VIDEO_40_MIN)
    p.report(0)
    p.report(300, after=30)  # 10×
    assert p.flags == ["too_fast"] and p.furthest == 0
    p.report(0, after=5, seeked=True)  # go back and watch properly
    p.play(2400)
    assert p.reached_end() and p.flags == ["too_fast"]  # recorded once, never blocking
    assert "too_fast" in p.track.flags  # the attempt stays flagged


def test_a_reported_playback_rate_above_the_limit_is_flagged():
    p = Player(VIDEO_40_MIN)
    p.report(0, rate=3.0)
    assert p.flags == ["too_fast"]
    ok = Player(VIDEO_40_MIN)
    ok.report(0, rate=1.5)
    assert ok.flags == []


def test_seeking_to_the_end_counts_only_the_covered_span():
    p = Player(VIDEO_40_MIN)
    p.report(0)
    p.report(600, after=600)  # watched the first 10 minutes
    p.report(2390, after=1, seeked=True)  # then jumped
    p.report(2400, after=10)
    assert p.flags == []  # a declared seek is allowed ...
    assert p.furthest == 600 and not p.reached_end()  # ... but is not watched
    assert p.track.covered == ((0, 600), (2390, 2400))
    # Coming back to fill the middle joins the spans.
    p.report(600, after=5, seeked=True)
    p.play(2390)
    assert p.furthest == 2400 and p.reached_end()


def test_a_repeated_report_at_the_same_position_changes_nothing_that_matters():
    p = Player(VIDEO_40_MIN)
    p.report(0)
    p.play(700)
    before = (p.furthest, p.track.covered, p.track.milestone, p.track.flags)
    step = p.report(700, after=30)
    assert (step.furthest, step.track.covered, step.track.milestone, step.track.flags) == before
    assert step.milestones == () and step.new_flags == () and not step.advanced


def test_rapid_reports_cannot_save_up_credit_beyond_the_slack():
    p = Player(VIDEO_40_MIN)
    p.report(0)
    for pos in range(1, 200):
        p.report(pos, after=0.01)  # a script hammering the endpoint
    assert p.furthest <= RULES.slack_seconds + 1
    assert p.flags == ["too_fast"]


def test_switching_sessions_quickly_earns_nothing():
    p = Player(VIDEO_40_MIN)
    for pos in range(0, 600, 10):
        p.new_session()
        p.report(pos, after=0.1)  # every report from a fresh session
    assert p.furthest == 0


def test_parallel_playback_of_two_items_is_flagged():
    a = Player(VIDEO_40_MIN)
    a.report(0)
    a.report(30, after=30)
    # Meanwhile another session advanced on another item 10 s ago.
    step = a.report(60, after=30, other=a.now + timedelta(seconds=20))
    assert [f.kind.value for f in step.new_flags] == ["parallel_playback"]
    assert a.furthest == 60  # each item still covers what it plausibly played


def test_moving_from_one_item_to_the_next_is_not_parallel():
    a = Player(VIDEO_40_MIN)
    a.report(0)
    a.report(30, after=30)
    left_a = a.now
    # The learner opened item B and played it; then comes back to A in a new session.
    a.new_session()
    a.report(30, after=300, other=left_a + timedelta(seconds=280))
    a.report(60, after=30, other=left_a + timedelta(seconds=280))
    assert a.flags == []


def test_a_paused_session_resuming_is_not_parallel():
    a = Player(VIDEO_40_MIN)
    a.report(0)
    a.report(30, after=30)
    paused_at = a.now
    # Paused 60 s while something else played, then 20 s of play: mostly idle → not parallel.
    a.report(50, after=80, other=paused_at + timedelta(seconds=30))
    assert a.flags == []


def test_two_sessions_taking_turns_on_one_item_are_flagged_and_cover_nothing():
    p = Player(VIDEO_40_MIN)
    s1, s2 = uuid.uuid4(), uuid.uuid4()
    p.report(0, session=s1)
    p.report(30, after=30, session=s1)
    p.report(0, after=1, session=s2)
    p.report(30, after=29, session=s2)
    step = p.report(90, after=1, session=s1)  # s1 is still playing
    assert [f.kind.value for f in step.new_flags] == ["parallel_playback"]
    p.report(60, after=29, session=s2)
    p.report(120, after=1, session=s1)
    assert p.furthest == 30  # only what s1 played before s2 appeared
    assert p.flags == ["parallel_playback"]  # once per attempt


def test_documents_advance_page_by_page_at_a_plausible_pace():
    doc = d.ItemFacts("document", 20)
    p = Player(doc)
    p.report(0)
    for page in range(1, 20):
        p.report(page, after=20)
    assert p.flags == [] and p.furthest == 19 and p.reached_end()  # last page = the end

    skim = Player(doc)
    skim.report(0)
    skim.report(19, after=2)  # 19 pages in 2 seconds
    assert skim.flags == ["too_fast"] and not skim.reached_end()


def test_end_tolerance_is_the_larger_of_the_percentage_and_the_seconds():
    assert d.end_tolerance(VIDEO_40_MIN, RULES) == 48  # 2 % of 2400 s
    assert d.end_tolerance(d.ItemFacts("video", 60), RULES) == 5  # a few seconds
    assert d.end_tolerance(d.ItemFacts("document", 10), RULES) == 1
    assert d.reached_end(VIDEO_40_MIN, 2352, True, RULES)
    assert not d.reached_end(VIDEO_40_MIN, 2351, True, RULES)
    strict = replace(RULES, end_tolerance_percent=0, end_tolerance_seconds=0)
    assert not d.reached_end(VIDEO_40_MIN, 2399, True, strict)  # a tenant's override


def test_rich_text_and_link_complete_when_opened():
    rich = d.ItemFacts("rich_text", 0, checkpoints_total=2)
    assert d.reached_end(rich, 0, True, RULES) and not d.reached_end(rich, 0, False, RULES)
    assert not d.is_complete(rich, True, 1) and d.is_complete(rich, True, 2)
    link = d.ItemFacts("link", 0, checkpoints_total=1)
    assert d.is_complete(link, True, 0)  # a link only needs opening


def test_completion_needs_every_checkpoint_answered_correctly():
    video = d.ItemFacts("video", 600, checkpoints_total=2)
    assert not d.is_complete(video, True, 1)
    assert d.is_complete(video, True, 2)
    assert not d.is_complete(video, False, 2)  # never time or answers alone


def test_checkpoint_answers():
    assert d.check_answer("single", 4, [2], [2])
    assert not d.check_answer("single", 4, [2], [1])  # wrong: recorded, retry allowed
    assert d.check_answer("multiple", 4, [0, 3], [3, 0])
    assert not d.check_answer("multiple", 4, [0, 3], [0])
    assert d.check_answer("true_false", 2, [1], [1])
    for kind, selected in (("single", [0, 1]), ("single", []), ("multiple", [4]),
                           ("multiple", [1, 1]), ("true_false", [-1])):  # fmt: skip
        with pytest.raises(InvalidArgument) as e:
            d.check_answer(kind, 4 if kind != "true_false" else 2, [0], selected)
        assert e.value.code == "checkpoint_invalid_selection" and e.value.field == "selected"


def test_completion_is_recorded_once_and_a_flagged_one_can_be_redone():
    t1, t2, t3 = T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2)
    first = d.completion_transition(None, False, True, True, t1)
    assert first == d.Completion(t1, True, True)  # flagged completion
    again = d.completion_transition(t1, True, True, True, t2)
    assert not again.changed  # still flagged: nothing new
    redone = d.completion_transition(t1, True, True, False, t3)
    assert redone == d.Completion(t3, False, True)
    kept = d.completion_transition(t3, False, True, True, t3 + timedelta(hours=1))
    assert kept == d.Completion(t3, False, False)  # a clean completion is never undone
    assert not d.completion_transition(None, False, False, False, t1).changed


def test_points_are_off_by_default_and_capped_per_day():
    off = replace(POINTS, enabled=False)
    assert d.points_to_award(5, 0, off) == 0
    assert d.points_to_award(5, 0, POINTS) == 5
    assert d.points_to_award(5, 18, POINTS) == 2  # only up to the cap
    assert d.points_to_award(5, 20, POINTS) == 0
    assert d.china_day(datetime(2026, 12, 3, 16, 30, tzinfo=UTC)).isoformat() == "2026-12-04"


def test_positions_and_settings_are_validated():
    d.validate_position(VIDEO_40_MIN, 2400)
    for bad in (-1, 2401):
        with pytest.raises(InvalidArgument) as e:
            d.validate_position(VIDEO_40_MIN, bad)
        assert e.value.code == "progress_position_out_of_range"
    d.validate_overrides({"max_playback_rate": 3.0, "points_enabled": True, "slack_pages": None})
    with pytest.raises(InvalidArgument) as e:
        d.validate_overrides({"max_playback_rate": 0.5})
    assert e.value.field == "max_playback_rate" and "1" in e.value.message


def test_a_course_completes_with_its_required_items_or_all_when_none_is_required():
    assert d.Summary(2, 2, False, 3, 2).complete
    assert not d.Summary(2, 1, False, 3, 3).complete
    assert d.Summary(0, 0, False, 2, 2).complete
    assert not d.Summary(0, 0, False, 0, 0).complete


def test_covered_segments_merge():
    assert d.add_segment(((0, 10), (20, 30)), 10, 20) == ((0, 30),)
    assert d.add_segment(((0, 10),), 11, 15) == ((0, 15),)  # integer positions touch
    assert d.add_segment(((0, 10),), 13, 15) == ((0, 10), (13, 15))
    assert d.unflatten(d.flatten(((0, 10), (13, 15)))) == ((0, 10), (13, 15))
    assert d.furthest(((3, 40),), start_slack=5) == 40 and d.furthest(((8, 40),), 5) == 0
