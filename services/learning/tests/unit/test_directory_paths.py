"""The member service's paths arrive as UUID-hex labels; the projection stores them as ids."""

from __future__ import annotations

import uuid

import pytest
from learning_service.directory_projection import parse_path


def test_parse_path_reads_hex_labels_root_first():
    a, b = uuid.uuid4(), uuid.uuid4()
    assert parse_path(f"{a.hex}.{b.hex}") == [a, b]
    assert parse_path(a.hex) == [a]
    assert parse_path("") == []


def test_parse_path_refuses_a_label_that_is_not_an_id():
    with pytest.raises(ValueError):
        parse_path("not-a-uuid")
