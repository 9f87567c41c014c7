import pytest
from hongyun_platform.errors import InvalidArgument
from member_service.domain.masking import (
    InvalidPhone,
    mask_address,
    mask_id_number,
    mask_landline,
    mask_phone,
    validate_mobile_phone,
)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("110105194912310021", "1101**********0021"),
        ("11010519491231002X", "1101**********002X"),
        ("", ""),
        ("12345678", "********"),  # too short to keep both ends: hide it all
    ],
)
def test_mask_id_number(value, masked):
    assert mask_id_number(value) == masked


def test_masked_id_number_hides_the_birth_date():
    assert "19491231" not in mask_id_number("11010519491231002X")


@pytest.mark.parametrize(
    ("value", "masked"),
    [("13812345678", "138****5678"), ("", ""), ("1234567", "*******")],
)
def test_mask_phone(value, masked):
    assert mask_phone(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("010-12345678", "010-****5678"),
        ("021 6123 4567", "021 **** 4567"),
        ("0755-8765432", "0755-***5432"),
        ("075587654321", "0755****4321"),
        ("87654321", "****4321"),
        ("0755-1234", "0755-****"),
        ("0755", "****"),
        ("", ""),
    ],
)
def test_mask_landline(value, masked):
    assert mask_landline(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("广东省深圳市南山区科技园路1号", "广东省深圳市****"),
        ("北京市海淀区中关村大街27号", "北京市海淀区****"),
        ("  广东省深圳市南山区  ", "广东省深圳市****"),
        ("广东省深圳市", "广东省****"),  # never shows a whole address
        ("朝阳区", "朝****"),
        ("", ""),
    ],
)
def test_mask_address(value, masked):
    assert mask_address(value) == masked


@pytest.mark.parametrize(
    "value",
    [
        "13812345678",
        "+8613812345678",
        "+86 138 1234 5678",
        "8613812345678",
        "008613812345678",
        "138-1234-5678",
        "１３８１２３４５６７８",
    ],
)
def test_valid_mobile_phones_normalise_to_11_digits(value):
    assert validate_mobile_phone(value) == "13812345678"


@pytest.mark.parametrize("prefix", ["13", "14", "15", "16", "17", "18", "19"])
def test_all_mobile_prefixes(prefix):
    assert validate_mobile_phone(prefix + "812345678") == prefix + "812345678"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "12812345678",  # 1[3-9] only
        "1381234567",
        "138123456789",
        "+85213812345678",
        "010-12345678",
        "1381234567a",
        "+86",
        "13812345678\n1",
    ],
)
def test_invalid_mobile_phones(value):
    with pytest.raises(InvalidPhone) as exc:
        validate_mobile_phone(value)
    assert exc.value.reason == "format"
    assert isinstance(exc.value, InvalidArgument)
    assert exc.value.field == "mobile_phone"
    assert "手机号码" in exc.value.message
