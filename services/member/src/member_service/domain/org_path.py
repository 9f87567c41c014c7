"""Organisation tree as a materialised path (PostgreSQL ltree).

A path lists the ids of a node's ancestors and then the node itself, root first, each as 32
lowercase hex characters (ltree labels cannot contain "-"), joined by ".":
    "<root hex>.<branch hex>.<node hex>"
The string rules here mirror ltree's `@>` / `nlevel` / `subpath` so that checks done in Python
and queries done in SQL agree.
"""

from __future__ import annotations

import re
from uuid import UUID

from hongyun_platform.errors import FailedPrecondition

_PATH = re.compile(r"[0-9a-f]{32}(?:\.[0-9a-f]{32})*")


class InvalidOrgPath(ValueError):
    """A malformed path, or a path that is not under the prefix it was said to be under."""


class OrgDepthExceeded(FailedPrecondition):
    def __init__(self, max_depth: int) -> None:
        super().__init__(f"组织层级不能超过{max_depth}级", code="org_depth_exceeded")
        self.max_depth = max_depth


class OrgMoveCycle(FailedPrecondition):
    def __init__(self) -> None:
        super().__init__("不能把组织移动到它自己或它的下级组织之下", code="org_move_cycle")


def _check(path: str) -> str:
    if not isinstance(path, str) or not _PATH.fullmatch(path):
        raise InvalidOrgPath(f"not an organisation path: {path!r}")
    return path


def _check_depth(path: str, max_depth: int | None) -> str:
    if max_depth is not None and depth(path) > max_depth:
        raise OrgDepthExceeded(max_depth)
    return path


def label_for(org_id: UUID) -> str:
    return org_id.hex


def child_path(parent_path: str | None, child_id: UUID, *, max_depth: int | None = None) -> str:
    """Path of a new node; `parent_path=None` makes it a root."""
    label = label_for(child_id)
    if parent_path is None:
        return _check_depth(label, max_depth)
    if label in _check(parent_path).split("."):
        raise InvalidOrgPath("a node cannot appear twice on its own path")
    return _check_depth(f"{parent_path}.{label}", max_depth)


def depth(path: str) -> int:
    """Number of levels; a root has depth 1 (ltree `nlevel`)."""
    return _check(path).count(".") + 1


def is_ancestor_or_self(ancestor_path: str, path: str) -> bool:
    """ltree `ancestor_path @> path`. Compares whole labels, never bare string prefixes."""
    _check(ancestor_path)
    _check(path)
    return path == ancestor_path or path.startswith(ancestor_path + ".")


def ids_in(path: str) -> list[UUID]:
    """Ids from the root down to the node itself."""
    return [UUID(hex=label) for label in _check(path).split(".")]


def would_create_cycle(moving_path: str, new_parent_path: str | None) -> bool:
    """True when the new parent is the moving node itself or one of its descendants."""
    return new_parent_path is not None and is_ancestor_or_self(moving_path, new_parent_path)


def rebase(path: str, old_prefix: str, new_prefix: str, *, max_depth: int | None = None) -> str:
    """Path of `path` after the subtree rooted at `old_prefix` moved to `new_prefix`.

    Both prefixes are the moved node's own path, before and after the move:
    new_prefix = child_path(new_parent_path, moved_id). In SQL, for strict descendants:
    `new_prefix || subpath(path, nlevel(old_prefix))`.
    """
    if not is_ancestor_or_self(old_prefix, path):
        raise InvalidOrgPath("path is not inside the subtree being moved")
    if _check(new_prefix).rsplit(".", 1)[-1] != old_prefix.rsplit(".", 1)[-1]:
        raise InvalidOrgPath("both prefixes must end with the moved node's own id")
    if new_prefix != old_prefix and is_ancestor_or_self(old_prefix, new_prefix):
        raise OrgMoveCycle()
    return _check_depth(new_prefix + path[len(old_prefix) :], max_depth)
