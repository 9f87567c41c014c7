"""Chinese segmentation for course search: the indexed document and the query tokens."""

from __future__ import annotations

from learning_service import course_search as s


def _found(title: str, query: str, summary: str = "", tags: tuple[str, ...] = ()) -> bool:
    """What plainto_tsquery('simple') over the document would answer: every token present."""
    doc = set(s.document(title, summary, tags).split())
    tokens = s.query_tokens(query)
    return bool(tokens) and all(t in doc for t in tokens)


def test_segments_words_and_the_words_inside_them():
    tokens = s.segment("学习贯彻党的二十大精神")
    assert {"学习", "贯彻", "二十大", "二十", "精神"} <= set(tokens)
    assert len(tokens) == len(set(tokens))


def test_punctuation_and_spaces_are_not_tokens():
    assert s.segment("《党章》， 学习！") == ["党章", "学习"]
    assert s.segment("") == [] and s.segment("  。，") == []


def test_latin_words_are_lower_cased():
    assert s.segment("Python 入门") == ["python", "入门"]


def test_a_course_is_found_by_its_words_not_by_others():
    title = "学习贯彻党的二十大精神"
    assert _found(title, "二十大")
    assert _found(title, "精神")
    assert _found(title, "二十大 精神")
    assert not _found(title, "党费")
    assert not _found(title, "二十大 党费")  # every word must match


def test_tags_and_summary_are_indexed():
    assert _found("专题党课", "党史", tags=("党史",))
    assert _found("专题党课", "社会主义", summary="习近平新时代中国特色社会主义思想")
    assert not _found("专题党课", "党史")


def test_an_empty_query_matches_nothing_itself():
    assert s.matches("   ") is None and s.matches("，。") is None
    assert s.matches("二十大") is not None


def test_queries_are_bounded():
    assert len("".join(s.query_tokens("党" * 10_000))) <= s.MAX_QUERY
