"""Member search, the pure part (docs/adr/0008): what a query means, and the name keys stored
for every member so that 张三 is found by "张三", "zhangsan", "Zhang San" and "zs".

A query is read as exactly one of:
- NUMBER_SUFFIX: 4 characters of digits (the last may be X) → last 4 of an ID number or a
  mobile number (blind indexes; X can only be an ID number);
- ID_NUMBER: a whole 18-character ID number → exact match on the existing blind index;
- PINYIN: ASCII letters (spaces and apostrophes ignored, case-insensitive, ü = v) → the start
  of a name's full pinyin or of its initials;
- NAME: anything else → a substring of the name, character for character (no wildcards).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import IntEnum
from functools import lru_cache

from hongyun_platform.errors import InvalidArgument
from hongyun_platform.validation import InvalidIdNumber, validate_id_number
from pypinyin import Style, pinyin

MAX_QUERY_LENGTH = 50
MIN_TEXT_LENGTH = 2  # names and pinyin; one character matches a tenth of a province
SUFFIX_LENGTH = 4
ID_NUMBER_LENGTH = 18
MAX_NAME_VARIANTS = 4  # pinyin readings stored per member (polyphonic surnames)
QUERY_FIELD = "query"

_DIGITS = re.compile(r"[0-9]+X?")  # X: an ID number's check character, last only
_NUMBERISH = re.compile(r"[0-9X]*[0-9][0-9X]*")
_LETTERS = re.compile(r"[a-zü' ]+")
_SPACES = re.compile(r"\s+")
_TOKENS = re.compile(r"[A-Za-zÜü]+|.", re.DOTALL)


class SearchMode(IntEnum):
    """How a query was read (numbers equal the proto enum SearchMode)."""

    UNSPECIFIED = 0
    NAME = 1
    PINYIN = 2
    NUMBER_SUFFIX = 3
    ID_NUMBER = 4


class SearchMatch(IntEnum):
    """Why a member matched (numbers equal the proto enum SearchMatch)."""

    UNSPECIFIED = 0
    NAME = 1
    PINYIN = 2
    INITIALS = 3
    ID_NUMBER_SUFFIX = 4
    MOBILE_PHONE_SUFFIX = 5
    ID_NUMBER = 6


@dataclass(frozen=True)
class SearchQuery:
    mode: SearchMode
    text: str  # normalised: the name text, lower-case pinyin letters, or digits with upper X

    @property
    def may_be_phone(self) -> bool:
        """A suffix with X is only an ID number's (check character)."""
        return self.mode is SearchMode.NUMBER_SUFFIX and self.text.isdigit()


def _bad(message: str, code: str) -> InvalidArgument:
    return InvalidArgument(message, code=code, field=QUERY_FIELD)


def parse_query(raw: str, *, today: date | None = None) -> SearchQuery:
    """Classify and normalise a search box entry; InvalidArgument (field "query") if unusable."""
    # NFKC: full-width letters and digits from Chinese IMEs ("ｚｓ", "１２３４") become ASCII.
    text = _SPACES.sub(" ", unicodedata.normalize("NFKC", raw or "")).strip()
    if not text:
        raise _bad("请输入检索内容 (the query is empty)", "query_required")
    if len(text) > MAX_QUERY_LENGTH:
        raise _bad(
            f"检索内容最多 {MAX_QUERY_LENGTH} 个字符 (at most {MAX_QUERY_LENGTH} characters)",
            "query_too_long",
        )
    if any(unicodedata.category(c).startswith("C") for c in text):
        raise _bad("检索内容含有控制字符 (the query has control characters)", "invalid_query")
    compact = text.replace(" ", "")
    upper = compact.upper()
    if _NUMBERISH.fullmatch(upper):
        return _number_query(upper, today)
    lower = compact.lower()
    if _LETTERS.fullmatch(lower):
        letters = lower.replace("'", "").replace("ü", "v")
        _require_length(letters)
        return SearchQuery(SearchMode.PINYIN, letters)
    _require_length(compact)
    return SearchQuery(SearchMode.NAME, compact)


def _require_length(text: str) -> None:
    if len(text) < MIN_TEXT_LENGTH:
        raise _bad(
            f"请至少输入 {MIN_TEXT_LENGTH} 个字符 (at least {MIN_TEXT_LENGTH} characters)",
            "query_too_short",
        )


def _number_query(digits: str, today: date | None) -> SearchQuery:
    if _DIGITS.fullmatch(digits) and len(digits) == SUFFIX_LENGTH:
        return SearchQuery(SearchMode.NUMBER_SUFFIX, digits)
    if _DIGITS.fullmatch(digits) and len(digits) == ID_NUMBER_LENGTH:
        try:
            info = validate_id_number(digits, today=today)
        except InvalidIdNumber as exc:
            raise _bad(
                f"身份证号无效 (not a valid ID number: {exc.reason})", "invalid_id_number"
            ) from exc
        return SearchQuery(SearchMode.ID_NUMBER, info.normalized)
    raise _bad(
        "号码请输入身份证号或手机号的后4位，或完整的18位身份证号 (numbers: the last 4 characters "
        "of an ID or mobile number, or a whole 18-character ID number)",
        "invalid_number_query",
    )


# ---- name keys ----

# Surnames whose surname reading differs from the everyday one, surname reading first; the
# other readings are stored too because people type them (and pypinyin picks them).
SURNAME_READINGS: dict[str, tuple[str, ...]] = {
    "单": ("shan", "dan"), "曾": ("zeng", "ceng"), "解": ("xie", "jie"), "查": ("zha", "cha"),
    "仇": ("qiu", "chou"), "区": ("ou", "qu"), "朴": ("piao", "pu"), "盖": ("ge", "gai"),
    "覃": ("qin", "tan"), "乐": ("yue", "le"), "尉": ("wei", "yu"), "缪": ("miao", "mou"),
    "翟": ("zhai", "di"), "繁": ("po", "fan"), "员": ("yun", "yuan"), "召": ("shao", "zhao"),
    "黑": ("he", "hei"), "秘": ("bi", "mi"), "种": ("chong", "zhong"), "那": ("na", "nuo"),
    "折": ("she", "zhe"), "句": ("gou", "ju"), "能": ("nai", "neng"), "宿": ("su", "xiu"),
    "祭": ("zhai", "ji"), "隗": ("wei", "kui"), "柏": ("bai", "bo"), "莘": ("shen", "xin"),
    "谌": ("chen", "shen"), "郇": ("huan", "xun"), "长": ("chang", "zhang"), "藏": ("zang", "cang"),
    "车": ("che", "ju"), "重": ("chong", "zhong"), "冼": ("xian",), "洗": ("xian", "xi"),
}  # fmt: skip
# Compound surnames (复姓), as syllables; the special readings first.
COMPOUND_SURNAMES: dict[str, tuple[tuple[str, ...], ...]] = {
    "尉迟": (("yu", "chi"), ("wei", "chi")), "万俟": (("mo", "qi"), ("wan", "si")),
    "单于": (("chan", "yu"), ("shan", "yu"), ("dan", "yu")), "长孙": (("zhang", "sun"), ("chang", "sun")),
    "澹台": (("tan", "tai"), ("dan", "tai")), "乐正": (("yue", "zheng"), ("le", "zheng")),
    "欧阳": (("ou", "yang"),), "司马": (("si", "ma"),), "上官": (("shang", "guan"),),
    "诸葛": (("zhu", "ge"),), "东方": (("dong", "fang"),), "皇甫": (("huang", "fu"),),
    "令狐": (("ling", "hu"),), "公孙": (("gong", "sun"),), "慕容": (("mu", "rong"),),
    "司徒": (("si", "tu"),), "夏侯": (("xia", "hou"),), "轩辕": (("xuan", "yuan"),),
    "宇文": (("yu", "wen"),), "呼延": (("hu", "yan"),), "端木": (("duan", "mu"),),
    "西门": (("xi", "men"),), "南宫": (("nan", "gong"),), "独孤": (("du", "gu"),),
    "钟离": (("zhong", "li"),), "闻人": (("wen", "ren"),), "赫连": (("he", "lian"),),
    "申屠": (("shen", "tu"),), "太史": (("tai", "shi"),), "濮阳": (("pu", "yang"),),
    "淳于": (("chun", "yu"),), "公冶": (("gong", "ye"),), "宗政": (("zong", "zheng"),),
    "拓跋": (("tuo", "ba"),), "百里": (("bai", "li"),), "东郭": (("dong", "guo"),),
    "鲜于": (("xian", "yu"),), "闾丘": (("lv", "qiu"),), "司空": (("si", "kong"),),
}  # fmt: skip


@dataclass(frozen=True)
class NameKeys:
    pinyin: str  # readings without tones or spaces, space-separated: "shantianfang dantianfang"
    initials: str  # first letters of each reading, same order: "stf dtf"


def _is_han(ch: str) -> bool:
    return "CJK UNIFIED IDEOGRAPH" in unicodedata.name(ch, "")


def _clean(syllable: str) -> str:
    return "".join(c for c in syllable.lower().replace("ü", "v") if "a" <= c <= "z")


@lru_cache(maxsize=32768)
def _char_readings(ch: str) -> tuple[str, ...]:
    """All readings of one Han character without tones, pypinyin's default first."""
    return tuple(
        _unique([c for c in map(_clean, pinyin(ch, heteronym=True, style=Style.NORMAL)[0]) if c])
    )


@lru_cache(maxsize=32768)
def _token_syllable(token: str) -> str:
    """A Han character's default reading, a Latin word lower-cased, anything else ""."""
    if len(token) == 1 and _is_han(token):
        readings = _char_readings(token)
        return readings[0] if readings else ""
    return _clean(token)


def _syllables(text: str) -> list[str]:
    """One syllable per Han character (its default reading), Latin words as they are, one
    entry per token of `text` ("" for separators such as "·").

    Per character rather than pypinyin's phrase segmentation: names are not phrases, and this
    is ~20x faster (bulk imports of 100k rows)."""
    return [_token_syllable(t) for t in _TOKENS.findall(text)]


def _surname_readings(name: str) -> tuple[int, list[tuple[str, ...]]]:
    """(length of the surname, its readings as syllable tuples, most likely first).

    Every reading is kept only for surnames known to read differently as surnames; for the
    others pypinyin's rarer readings are noise (王 would also be stored as "yu")."""
    if len(name) > 2 and name[:2] in COMPOUND_SURNAMES:
        return 2, list(COMPOUND_SURNAMES[name[:2]])
    first = name[:1]
    if first in SURNAME_READINGS:
        readings = [*SURNAME_READINGS[first], *_char_readings(first)]
        return 1, [(r,) for r in _unique(readings)]
    return 0, []


def _unique(items: list) -> list:
    return list(dict.fromkeys(items))


@lru_cache(maxsize=65536)  # names repeat a lot in a province (bulk imports, re-indexing)
def name_keys(name: str) -> NameKeys:
    """Full pinyin and initials of a name, one variant per surname reading (at most 4)."""
    name = unicodedata.normalize("NFKC", name).strip()
    size, readings = _surname_readings(name)
    tokens = _syllables(name)  # a surname is Han characters: one token each
    given = tuple(t for t in tokens[size:] if t)
    variants = [(*reading, *given) for reading in readings]
    variants.append(tuple(t for t in tokens if t))  # the default reading of every character
    variants = [v for v in _unique(variants) if v][:MAX_NAME_VARIANTS]
    return NameKeys(
        pinyin=" ".join(_unique(["".join(v) for v in variants])),
        initials=" ".join(_unique(["".join(s[0] for s in v) for v in variants])),
    )
