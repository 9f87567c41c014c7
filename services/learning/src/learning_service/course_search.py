"""Chinese search of courses (docs/adr/0018): jieba's search-mode segmentation (words and the
shorter words inside long ones, e.g. 二十大 → 二十, 十大, 二十大) joined by spaces into a
`to_tsvector('simple', ...)` on every write; a query is segmented the same way and every token
must match (`plainto_tsquery('simple', ...)` is an AND). PostgreSQL's own parser knows no Chinese
words, so both sides are segmented here."""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Iterable

import jieba
from sqlalchemy import Text, func, literal
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from learning_service.course_models import Course

MAX_QUERY = 100  # characters of a search query
_init_lock = threading.Lock()
_ready = False


def warm_up() -> None:
    """Load jieba's dictionary (about a second) now rather than in the first request."""
    global _ready
    with _init_lock:
        if not _ready:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _ready = True


def _is_word(token: str) -> bool:
    # Drop whitespace and punctuation-only tokens; 'simple' would keep some as lexemes.
    return any(unicodedata.category(c)[0] in ("L", "N") for c in token)


def segment(text: str) -> list[str]:
    """Search-mode tokens of `text`, lower case, in order, each once."""
    warm_up()
    out: list[str] = []
    for token in jieba.lcut_for_search(text or ""):
        token = token.strip().lower()
        if token and _is_word(token) and token not in out:
            out.append(token)
    return out


def document(title: str, summary: str, tags: Iterable[str]) -> str:
    """The text indexed for a course: title, tags and summary segmented."""
    tokens: list[str] = []
    for part in (title, " ".join(tags), summary):
        for token in segment(part):
            if token not in tokens:
                tokens.append(token)
    return " ".join(tokens)


def search_vector(title: str, summary: str, tags: Iterable[str]) -> ColumnElement:
    return func.to_tsvector("simple", document(title, summary, tags))


def query_tokens(query: str) -> list[str]:
    return segment((query or "")[:MAX_QUERY])


def matches(query: str) -> ColumnElement[bool] | None:
    """Condition on Course rows matching every word of `query`; None for an empty query."""
    tokens = query_tokens(query)
    if not tokens:
        return None
    return Course.search_terms.op("@@")(func.plainto_tsquery("simple", " ".join(tokens)))


def has_tag(tag: str) -> ColumnElement[bool]:
    """Exact tag (the GIN index on tags answers `tags @> ARRAY[tag]`)."""
    return Course.tags.op("@>")(literal([tag], type_=ARRAY(Text)))
