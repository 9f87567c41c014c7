"""Organisation history as versions over date intervals: what a change writes, the date policy,
and reconstructing an organisation's state on any past day."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import replace
from datetime import date

import pytest
from hongyun_platform.errors import InvalidArgument
from member_service.domain import org_path
from member_service.domain.org_history import (
    ChangeKind,
    ChangeOutOfOrder,
    Current,
    OrgState,
    OrgStatus,
    Transition,
    Version,
    check_effective_on,
    transition,
    valid_on,
    version_on,
    versions_of,
)

D = date.fromisoformat
ROOT, A, B, C = (uuid.uuid4() for _ in range(4))
P_ROOT = org_path.child_path(None, ROOT)
P_A = org_path.child_path(P_ROOT, A)
P_B = org_path.child_path(P_ROOT, B)


class Store:
    """What the database holds: history rows per organisation, written as the service does."""

    def __init__(self):
        self.rows: dict[uuid.UUID, list[Version]] = {}
        self.ids = itertools.count()
        self.now: dict[uuid.UUID, tuple[OrgState, date]] = {}

    def establish(self, state: OrgState, on: str) -> None:
        self.now[state.organization_id] = (state, D(on))

    def current(self, org: uuid.UUID) -> Current:
        state, established = self.now[org]
        open_ = [v for v in self.rows.get(org, []) if v.valid_to is None]
        return Current(state, established, "creator", open_[0] if open_ else None)

    def apply(self, t: Transition) -> None:
        day = t.versions[-1].valid_from
        for org, versions in self.rows.items():
            self.rows[org] = [
                replace(v, valid_to=day) if v.id in t.close_ids else v for v in versions
            ]
        for v in t.versions:
            v = replace(v, id=uuid.UUID(int=next(self.ids) + 1))
            self.rows.setdefault(v.state.organization_id, []).append(v)
            if v.valid_to is None:
                self.now[v.state.organization_id] = (v.state, self.now[v.state.organization_id][1])

    def state_on(self, org: uuid.UUID, day: str) -> OrgState | None:
        v = version_on(versions_of(self.current(org), self.rows.get(org, [])), D(day))
        return v.state if v else None


def state(org, parent, name, path) -> OrgState:
    return OrgState(org, parent, name, 3, path)


@pytest.fixture
def store() -> Store:
    s = Store()
    s.establish(OrgState(ROOT, None, "党委", 1, P_ROOT), "2020-01-01")
    s.establish(state(A, ROOT, "第一支部", P_A), "2020-01-01")
    s.establish(state(B, ROOT, "第二支部", P_B), "2021-06-01")
    return s


def test_interval_is_inclusive_start_exclusive_end():
    v = Version(state(A, ROOT, "x", P_A), D("2024-01-01"), D("2024-02-01"), ChangeKind.RENAMED)
    assert valid_on(v, D("2024-01-01")) and valid_on(v, D("2024-01-31"))
    assert not valid_on(v, D("2024-02-01")) and not valid_on(v, D("2023-12-31"))
    assert valid_on(replace(v, valid_to=None), D("2099-01-01"))


def test_first_change_writes_the_implicit_initial_version(store):
    cur = store.current(A)
    t = transition(
        [(cur, replace(cur.state, name="一支部"), ChangeKind.RENAMED)],
        day=D("2024-03-01"), actor="u1", reason="更名",
    )  # fmt: skip
    assert t.close_ids == []
    initial, new = t.versions
    assert (initial.valid_from, initial.valid_to, initial.change) == (
        D("2020-01-01"), D("2024-03-01"), ChangeKind.CREATED,
    )  # fmt: skip
    assert initial.state.name == "第一支部" and initial.changed_by == "creator"
    assert (new.valid_from, new.valid_to, new.state.name) == (D("2024-03-01"), None, "一支部")
    assert (new.changed_by, new.reason) == ("u1", "更名")


def test_later_changes_close_the_open_version(store):
    cur = store.current(A)
    store.apply(transition([(cur, replace(cur.state, name="x"), ChangeKind.RENAMED)],
                           day=D("2024-03-01"), actor="u", reason=""))  # fmt: skip
    cur = store.current(A)
    t = transition([(cur, replace(cur.state, name="y"), ChangeKind.RENAMED)],
                   day=D("2024-05-01"), actor="u", reason="")  # fmt: skip
    assert t.close_ids == [cur.open_version.id] and len(t.versions) == 1


def test_reconstructs_every_past_day_after_a_move_and_a_rename(store):
    # move A under B on 2024-03-01, rename A on 2025-01-01
    cur_a, cur_b = store.current(A), store.current(B)
    moved = replace(
        cur_a.state, parent_id=B, path=org_path.rebase(P_A, P_A, org_path.child_path(P_B, A))
    )
    store.apply(transition([(cur_a, moved, ChangeKind.MOVED)], day=D("2024-03-01"),
                           actor="u", reason="", anchors=[cur_b]))  # fmt: skip
    cur_a = store.current(A)
    store.apply(transition([(cur_a, replace(cur_a.state, name="新名"), ChangeKind.RENAMED)],
                           day=D("2025-01-01"), actor="u", reason=""))  # fmt: skip

    assert store.state_on(A, "2019-12-31") is None  # not yet established
    assert store.state_on(A, "2024-02-29") == state(A, ROOT, "第一支部", P_A)
    on_move = store.state_on(A, "2024-03-01")
    assert (on_move.parent_id, on_move.name) == (B, "第一支部")
    assert on_move.path == f"{P_B}.{A.hex}"
    assert store.state_on(A, "2025-01-01").name == "新名"
    assert [v.change for v in store.rows[A]] == [
        ChangeKind.CREATED, ChangeKind.MOVED, ChangeKind.RENAMED,
    ]  # fmt: skip


def test_two_changes_on_one_day_leave_an_empty_interval_and_the_last_wins(store):
    cur = store.current(A)
    store.apply(transition([(cur, replace(cur.state, name="甲"), ChangeKind.RENAMED)],
                           day=D("2024-03-01"), actor="u", reason=""))  # fmt: skip
    cur = store.current(A)
    store.apply(transition([(cur, replace(cur.state, name="乙"), ChangeKind.RENAMED)],
                           day=D("2024-03-01"), actor="u", reason=""))  # fmt: skip
    assert store.state_on(A, "2024-03-01").name == "乙"
    assert store.state_on(A, "2024-02-29").name == "第一支部"


def test_change_before_the_latest_recorded_one_is_refused(store):
    cur = store.current(A)
    store.apply(transition([(cur, replace(cur.state, name="甲"), ChangeKind.RENAMED)],
                           day=D("2024-03-01"), actor="u", reason=""))  # fmt: skip
    cur = store.current(A)
    with pytest.raises(ChangeOutOfOrder) as e:
        transition([(cur, replace(cur.state, name="乙"), ChangeKind.RENAMED)],
                   day=D("2024-02-01"), actor="u", reason="补录")  # fmt: skip
    assert e.value.code == "org_change_out_of_order" and e.value.not_before == D("2024-03-01")
    assert "2024-03-01" in e.value.message


def test_anchor_must_already_exist_in_its_current_form(store):
    # B was established on 2021-06-01: A cannot have moved under it before that.
    cur_a, cur_b = store.current(A), store.current(B)
    with pytest.raises(ChangeOutOfOrder) as e:
        transition([(cur_a, replace(cur_a.state, parent_id=B), ChangeKind.MOVED)],
                   day=D("2021-05-31"), actor="u", reason="补录", anchors=[cur_b])  # fmt: skip
    assert e.value.not_before == D("2021-06-01")


def test_change_before_the_organisation_existed_is_refused(store):
    cur = store.current(B)
    with pytest.raises(ChangeOutOfOrder):
        transition([(cur, replace(cur.state, status=OrgStatus.DISSOLVED), ChangeKind.DISSOLVED)],
                   day=D("2021-01-01"), actor="u", reason="补录")  # fmt: skip


@pytest.mark.parametrize(
    ("day", "reason", "code"),
    [
        ("2026-11-29", "x", "effective_on_in_future"),
        ("2026-11-27", "", "reason_required"),
        ("2026-11-27", "   ", "reason_required"),
        ("1900-01-01", "x", "effective_on_too_early"),
        ("2026-11-28", "x" * 501, "reason_too_long"),
    ],
)
def test_date_policy_refusals(day, reason, code):
    with pytest.raises(InvalidArgument) as e:
        check_effective_on(D(day), today=D("2026-11-28"), reason=reason)
    assert e.value.code == code


def test_date_policy_allows_today_without_reason_and_backdating_with_one():
    today = D("2026-11-28")
    assert check_effective_on(today, today=today, reason="") == ""
    assert check_effective_on(D("2026-01-01"), today=today, reason=" 补录 ") == "补录"
