"""Member search, the pure part: what a query means, and the pinyin keys of names (ADR 0008)."""

from __future__ import annotations

from datetime import date

import pytest
from hongyun_platform.errors import InvalidArgument
from hongyun_platform.validation import check_character
from member_service.domain.search import (
    MAX_NAME_VARIANTS,
    SearchMode,
    name_keys,
    parse_query,
)

TODAY = date(2026, 11, 28)


def id_number(seq: int = 21, birth: str = "19491231") -> str:
    first17 = f"110105{birth}{seq:03d}"
    return first17 + check_character(first17)


# ---- classification ----


@pytest.mark.parametrize(
    ("raw", "mode", "text"),
    [
        ("张三", SearchMode.NAME, "张三"),
        ("  张 三 ", SearchMode.NAME, "张三"),  # spaces inside a Chinese name are typing noise
        ("欧阳娜娜", SearchMode.NAME, "欧阳娜娜"),
        ("阿沛·阿旺晋美", SearchMode.NAME, "阿沛·阿旺晋美"),
        ("zhangsan", SearchMode.PINYIN, "zhangsan"),
        ("Zhang San", SearchMode.PINYIN, "zhangsan"),
        ("ZHANGSAN", SearchMode.PINYIN, "zhangsan"),
        (" zhang  SAN ", SearchMode.PINYIN, "zhangsan"),
        ("zs", SearchMode.PINYIN, "zs"),
        ("ＺＳ", SearchMode.PINYIN, "zs"),  # full-width letters from a Chinese IME
        ("xi'an", SearchMode.PINYIN, "xian"),
        ("lü", SearchMode.PINYIN, "lv"),  # pypinyin writes ü as v
        ("1234", SearchMode.NUMBER_SUFFIX, "1234"),
        ("002x", SearchMode.NUMBER_SUFFIX, "002X"),
        ("１２３４", SearchMode.NUMBER_SUFFIX, "1234"),  # full-width digits
        ("12 34", SearchMode.NUMBER_SUFFIX, "1234"),
        (id_number().lower(), SearchMode.ID_NUMBER, id_number()),
        ("张%", SearchMode.NAME, "张%"),  # wildcards are text like any other
        ("%%", SearchMode.NAME, "%%"),
        ("a_", SearchMode.NAME, "a_"),
        ("张san", SearchMode.NAME, "张san"),  # mixed script: a literal name substring
    ],
)
def test_queries_are_classified_and_normalised(raw, mode, text):
    q = parse_query(raw, today=TODAY)
    assert (q.mode, q.text) == (mode, text)


def test_suffix_with_x_can_only_be_an_id_number():
    assert parse_query("1234").may_be_phone
    assert not parse_query("123X").may_be_phone


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "query_required"),
        ("   ", "query_required"),
        ("张", "query_too_short"),
        ("z", "query_too_short"),
        ("%", "query_too_short"),
        ("_", "query_too_short"),
        ("'", "query_too_short"),
        ("张" * 51, "query_too_long"),
        ("a" * 51, "query_too_long"),
        ("123", "invalid_number_query"),
        ("12345", "invalid_number_query"),
        ("13812345678", "invalid_number_query"),  # a whole phone: use its last 4
        ("1X23", "invalid_number_query"),  # X only as an ID number's last character
        ("X1234", "invalid_number_query"),
        (id_number()[:-1] + ("0" if id_number()[-1] != "0" else "1"), "invalid_id_number"),
        ("张\x00三", "invalid_query"),
        ("张\u200b三", "invalid_query"),  # zero-width space (format character)
    ],
)
def test_bad_queries_are_invalid_arguments_on_the_query_field(raw, code):
    with pytest.raises(InvalidArgument) as e:
        parse_query(raw, today=TODAY)
    assert e.value.code == code and e.value.field == "query"


def test_fifty_characters_are_allowed():
    assert parse_query("张" * 50).text == "张" * 50
    assert parse_query("a" * 50).mode is SearchMode.PINYIN


# ---- pinyin keys ----


@pytest.mark.parametrize(
    ("name", "pinyin", "initials"),
    [
        ("张三", "zhangsan", "zs"),
        ("李建国", "lijianguo", "ljg"),
        ("王红", "wanghong", "wh"),  # no rare readings of common surnames (王 is also "yu")
        ("吕布", "lvbu", "lb"),
        ("欧阳娜娜", "ouyangnana", "oynn"),  # compound surname: initials per syllable
        ("  张三 ", "zhangsan", "zs"),
        ("John Smith", "johnsmith", "js"),
        ("阿沛·阿旺晋美", "apeiawangjinmei", "apawjm"),  # the separator dot is not a syllable
    ],
)
def test_name_keys(name, pinyin, initials):
    keys = name_keys(name)
    assert (keys.pinyin, keys.initials) == (pinyin, initials)


def test_polyphonic_surname_zeng_is_stored_in_both_readings_surname_reading_first():
    keys = name_keys("曾小明")
    assert keys.pinyin.split() == ["zengxiaoming", "cengxiaoming"]
    assert keys.initials.split() == ["zxm", "cxm"]


def test_polyphonic_surname_shan_is_stored_in_every_reading():
    keys = name_keys("单田芳")
    variants = keys.pinyin.split()
    assert variants[0] == "shantianfang"  # the surname reading
    assert "dantianfang" in variants  # what pypinyin (and many people) say
    assert {"stf", "dtf"} <= set(keys.initials.split())


def test_compound_surnames_with_special_readings():
    assert name_keys("尉迟恭").pinyin.split()[0] == "yuchigong"
    assert name_keys("长孙无忌").initials.split() == ["zswj", "cswj"]
    # Two characters only: 欧 is the surname, 阳 the given name (same pinyin either way).
    assert name_keys("欧阳").pinyin == "ouyang"


def test_variants_are_capped():
    for name in ("单于田", "单田芳", "万俟卨", "覃海"):
        assert len(name_keys(name).pinyin.split()) <= MAX_NAME_VARIANTS


def test_a_name_without_letters_or_han_has_empty_keys():
    assert name_keys("··") == name_keys("··")
    assert (name_keys("··").pinyin, name_keys("··").initials) == ("", "")


def test_queries_match_the_stored_keys():
    """What a user types, normalised, is one of the stored variants (exact match)."""
    for name, typed in [
        ("张三", "Zhang San"),
        ("张三", "ZS"),
        ("曾小明", "zeng xiaoming"),
        ("曾小明", "ceng xiao ming"),
        ("曾小明", "cxm"),
        ("单田芳", "Shan Tianfang"),
        ("单田芳", "dan tian fang"),
        ("欧阳娜娜", "OuYang NaNa"),
        ("欧阳娜娜", "oynn"),
    ]:
        keys = name_keys(name)
        text = parse_query(typed).text
        assert text in keys.pinyin.split() + keys.initials.split(), (name, typed)
