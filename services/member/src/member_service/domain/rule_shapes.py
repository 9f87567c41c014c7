"""The shape of a rule's value: `RuleSpec` and the checks that validate overrides.

A check returns the normalised value or raises ValueError naming what is expected (the message
reaches the tenant admin who typed the override).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class RuleSpec:
    key: str
    title_zh: str
    title_en: str
    check: Callable[[Any], Any]  # normalised value, or ValueError naming what is expected


def int_in(lo: int, hi: int) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise ValueError(f"an integer from {lo} to {hi}")
        return v

    return check


def int_fields(names: Sequence[str], lo: int, hi: int) -> Callable[[Any], dict[str, int]]:
    one = int_in(lo, hi)

    def check(v: Any) -> dict[str, int]:
        if not isinstance(v, dict) or set(v) != set(names):
            raise ValueError(f"an object with exactly the fields {', '.join(names)}")
        try:
            return {n: one(v[n]) for n in names}
        except ValueError as exc:
            raise ValueError(f"each of {', '.join(names)}: {exc}") from None

    return check


def ordered_fields(
    names: Sequence[str], lo: int, hi: int, order: Sequence[str]
) -> Callable[[Any], dict[str, int]]:
    """Integer fields where the fields named in `order` must not decrease (min ≤ max …)."""
    base = int_fields(names, lo, hi)

    def check(v: Any) -> dict[str, int]:
        out = base(v)
        values = [out[n] for n in order]
        if values != sorted(values):
            raise ValueError(" ≤ ".join(order))
        return out

    return check


def distinct_ints(lo: int, hi: int, most: int, unit: str) -> Callable[[Any], list[int]]:
    """A list of 1..`most` distinct integers, largest first (offsets before a deadline)."""
    one = int_in(lo, hi)

    def check(v: Any) -> list[int]:
        if not isinstance(v, list) or not 1 <= len(v) <= most:
            raise ValueError(f"a list of 1 to {most} {unit}")
        values = [one(x) for x in v]
        if len(set(values)) != len(values):
            raise ValueError(f"distinct {unit}")
        return sorted(values, reverse=True)

    return check


def brackets(v: Any) -> list[dict[str, int | None]]:
    """Dues brackets: [{"up_to_yuan": 3000, "per_mille": 5}, …, {"up_to_yuan": null, …}].

    Upper bounds rise strictly and are inclusive; the last bracket is open (null)."""
    if not isinstance(v, list) or not 1 <= len(v) <= 10:
        raise ValueError("a list of 1 to 10 brackets")
    out: list[dict[str, int | None]] = []
    previous = 0
    for i, b in enumerate(v):
        if not isinstance(b, dict) or set(b) != {"up_to_yuan", "per_mille"}:
            raise ValueError("brackets with exactly the fields up_to_yuan, per_mille")
        per_mille = int_in(0, 1000)(b["per_mille"])
        up_to = b["up_to_yuan"]
        last = i == len(v) - 1
        if last and up_to is not None:
            raise ValueError("the last bracket open (up_to_yuan null)")
        if not last:
            up_to = int_in(1, 10_000_000)(up_to)
            if up_to <= previous:
                raise ValueError("rising up_to_yuan")
            previous = up_to
        out.append({"up_to_yuan": up_to, "per_mille": per_mille})
    return out


def iso_dates(v: Any, *, most: int = 400) -> list[str]:
    if not isinstance(v, list) or len(v) > most:
        raise ValueError(f"a list of at most {most} dates (YYYY-MM-DD)")
    try:
        days = sorted({date.fromisoformat(x).isoformat() for x in v})
    except (TypeError, ValueError):
        raise ValueError("dates written YYYY-MM-DD") from None
    return days


def adjusted_days(v: Any) -> dict[str, list[str]]:
    """Public holidays on weekdays and make-up working days on weekends (调休)."""
    if not isinstance(v, dict) or set(v) != {"holidays", "workdays"}:
        raise ValueError("an object with exactly the fields holidays, workdays")
    out = {"holidays": iso_dates(v["holidays"]), "workdays": iso_dates(v["workdays"])}
    if set(out["holidays"]) & set(out["workdays"]):
        raise ValueError("no date both a holiday and a workday")
    return out


def rounding(v: Any) -> dict[str, Any]:
    """How a computed monthly amount is rounded: step and minimum in fen, half_up or up."""
    if not isinstance(v, dict) or set(v) != {"step_fen", "mode", "min_fen"}:
        raise ValueError("an object with exactly the fields step_fen, mode, min_fen")
    if v["mode"] not in ("half_up", "up"):
        raise ValueError('mode "half_up" or "up"')
    return {
        "step_fen": int_in(1, 100)(v["step_fen"]),
        "mode": v["mode"],
        "min_fen": int_in(0, 10_000)(v["min_fen"]),
    }
