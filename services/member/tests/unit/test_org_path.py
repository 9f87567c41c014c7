from uuid import UUID, uuid4

import pytest
from member_service.domain.org_path import (
    InvalidOrgPath,
    OrgDepthExceeded,
    OrgMoveCycle,
    child_path,
    depth,
    ids_in,
    is_ancestor_or_self,
    label_for,
    rebase,
    would_create_cycle,
)

ROOT, A, B, C, D = (UUID(int=i) for i in (1, 2, 3, 4, 5))


def tree():
    """ROOT ─┬─ A ── C
    └─ B ── D"""
    root = child_path(None, ROOT)
    a = child_path(root, A)
    b = child_path(root, B)
    return root, a, b, child_path(a, C), child_path(b, D)


def test_label_is_32_lower_hex_without_dashes():
    org_id = UUID("0190F0C2-7A1B-7C3D-8E4F-123456789ABC")
    assert label_for(org_id) == "0190f0c27a1b7c3d8e4f123456789abc"


def test_child_path_and_depth():
    root, a, _, c, _ = tree()
    assert root == ROOT.hex
    assert a == f"{ROOT.hex}.{A.hex}"
    assert c == f"{ROOT.hex}.{A.hex}.{C.hex}"
    assert [depth(p) for p in (root, a, c)] == [1, 2, 3]


def test_child_path_respects_max_depth():
    _, a, _, c, _ = tree()
    assert depth(child_path(a, D, max_depth=3)) == 3
    with pytest.raises(OrgDepthExceeded) as exc:
        child_path(c, D, max_depth=3)
    assert exc.value.code == "org_depth_exceeded"
    assert exc.value.max_depth == 3
    with pytest.raises(OrgDepthExceeded):
        child_path(None, ROOT, max_depth=0)


def test_child_path_rejects_a_node_already_on_the_path():
    _, a, _, _, _ = tree()
    with pytest.raises(InvalidOrgPath):
        child_path(a, ROOT)


def test_ids_in_root_first():
    _, _, _, c, _ = tree()
    assert ids_in(c) == [ROOT, A, C]
    assert ids_in(ROOT.hex) == [ROOT]


def test_is_ancestor_or_self():
    root, a, b, c, d = tree()
    assert is_ancestor_or_self(root, c)
    assert is_ancestor_or_self(a, c)
    assert is_ancestor_or_self(c, c)
    assert not is_ancestor_or_self(c, a)
    assert not is_ancestor_or_self(b, c)
    assert not is_ancestor_or_self(a, d)


def test_siblings_sharing_most_of_their_hex_are_unrelated():
    root = ROOT.hex
    x, y = f"{root}.{'a' * 31}0", f"{root}.{'a' * 31}1"
    assert not is_ancestor_or_self(x, y)
    assert not is_ancestor_or_self(y, x)
    assert not would_create_cycle(x, y)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "not-a-path",
        "0190f0c2-7a1b-7c3d-8e4f-123456789abc",  # dashes are not ltree-safe
        "0190F0C27A1B7C3D8E4F123456789ABC",  # upper case
        f"{ROOT.hex}.",
        f".{ROOT.hex}",
        f"{ROOT.hex}..{A.hex}",
        ROOT.hex[:-1],
        f"{ROOT.hex}\n",
    ],
)
def test_malformed_paths_are_rejected(bad):
    with pytest.raises(InvalidOrgPath):
        depth(bad)
    with pytest.raises(InvalidOrgPath):
        is_ancestor_or_self(bad, ROOT.hex)
    with pytest.raises(InvalidOrgPath):
        ids_in(bad)


def test_would_create_cycle():
    root, a, b, c, _ = tree()
    assert would_create_cycle(a, a)  # under itself
    assert would_create_cycle(a, c)  # under its own child
    assert would_create_cycle(root, c)  # root under a grandchild
    assert not would_create_cycle(a, b)  # under a sibling
    assert not would_create_cycle(c, b)  # under an uncle
    assert not would_create_cycle(c, root)  # up to an ancestor
    assert not would_create_cycle(a, None)  # becoming a root


def test_rebase_moves_a_subtree_under_a_new_parent():
    _, a, b, c, _ = tree()
    new_a = child_path(b, A)  # move A (with C) under B
    assert rebase(a, a, new_a) == new_a
    assert rebase(c, a, new_a) == f"{b}.{A.hex}.{C.hex}"
    assert ids_in(rebase(c, a, new_a)) == [ROOT, B, A, C]


def test_rebase_to_root_and_from_root():
    root, a, _, c, _ = tree()
    assert rebase(c, a, child_path(None, A)) == f"{A.hex}.{C.hex}"
    new_parent = child_path(None, uuid4())
    moved_root = child_path(new_parent, ROOT)
    assert rebase(c, root, moved_root) == f"{moved_root}.{A.hex}.{C.hex}"


def test_rebase_rejects_paths_outside_the_moved_subtree():
    _, a, b, _, d = tree()
    with pytest.raises(InvalidOrgPath):
        rebase(d, a, child_path(b, A))


def test_rebase_rejects_parent_paths_given_as_prefixes():
    root, _, b, c, _ = tree()
    with pytest.raises(InvalidOrgPath):
        rebase(c, root, b)  # old/new prefix must be the moved node's own path


def test_rebase_into_own_subtree_is_a_cycle():
    _, a, _, c, _ = tree()
    with pytest.raises(OrgMoveCycle) as exc:
        rebase(c, a, f"{c}.{A.hex}")  # A under its own child C
    assert exc.value.code == "org_move_cycle"


def test_rebase_respects_max_depth():
    _, a, _, c, d = tree()
    new_a = child_path(d, A)  # A goes one level deeper than D: C ends at depth 5
    assert depth(rebase(c, a, new_a, max_depth=5)) == 5
    with pytest.raises(OrgDepthExceeded):
        rebase(c, a, new_a, max_depth=4)


def test_rebase_to_same_place_is_identity():
    _, a, _, c, _ = tree()
    assert rebase(c, a, a) == c
