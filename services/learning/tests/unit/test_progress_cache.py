"""The per-process cache of the report path: entries expire, the least recently used goes first."""

from __future__ import annotations

from learning_service.progress import TtlCache


def test_entries_expire_and_the_least_recently_used_is_dropped():
    now = [0.0]
    cache = TtlCache(30, 2, lambda: now[0])
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recently used
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3
    now[0] = 31
    assert cache.get("a") is None and cache.get("c") is None
