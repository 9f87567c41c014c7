from datetime import date

import pytest
from hongyun_platform.errors import InvalidArgument
from hongyun_platform.validation import (
    IdNumberInfo,
    InvalidIdNumber,
    id_number_suffix,
    validate_id_number,
)

TODAY = date(2025, 6, 1)


def with_check(first17: str) -> str:
    """Independent GB 11643 check: sum(a_i * 2^(17-i) mod 11), then (12 - sum) mod 11."""
    total = sum(int(c) * pow(2, 17 - i, 11) for i, c in enumerate(first17))
    value = (12 - total % 11) % 11
    return first17 + ("X" if value == 10 else str(value))


def wrong_check(valid: str) -> str:
    return valid[:17] + ("0" if valid[17] != "0" else "1")


def test_classic_example_is_valid():
    assert with_check("11010519491231002") == "11010519491231002X"
    info = validate_id_number("11010519491231002X", today=TODAY)
    assert info == IdNumberInfo(
        normalized="11010519491231002X",
        birth_date=date(1949, 12, 31),
        gender="female",
        region_code="110105",
    )


@pytest.mark.parametrize(
    ("first17", "born", "gender"),
    [
        ("44030519850315123", date(1985, 3, 15), "male"),
        ("51010720000229004", date(2000, 2, 29), "female"),
        ("65010219010101001", date(1901, 1, 1), "male"),
        ("33010620250601888", date(2025, 6, 1), "female"),
        ("32010219780808567", date(1978, 8, 8), "male"),
    ],
)
def test_computed_numbers_are_valid(first17, born, gender):
    number = with_check(first17)
    info = validate_id_number(number, today=TODAY)
    assert info.normalized == number
    assert info.birth_date == born
    assert info.gender == gender
    assert info.region_code == first17[:6]


def test_lower_case_x_full_width_and_spaces_are_normalised():
    assert validate_id_number(" 11010519491231002x ", today=TODAY).normalized == (
        "11010519491231002X"
    )
    full_width = "１１０１０５１９４９１２３１００２Ｘ"
    assert validate_id_number(full_width, today=TODAY).normalized == "11010519491231002X"


def reason_of(value: str) -> str:
    with pytest.raises(InvalidIdNumber) as exc:
        validate_id_number(value, today=TODAY)
    return exc.value.reason


@pytest.mark.parametrize("first17", ["11010519491231002", "44030519850315123"])
def test_wrong_check_digit(first17):
    assert reason_of(wrong_check(with_check(first17))) == "check_digit"


def test_feb_29_only_in_leap_years():
    assert validate_id_number(with_check("11010520000229001"), today=TODAY)  # 2000: leap
    assert validate_id_number(with_check("11010519960229001"), today=TODAY)
    assert reason_of(with_check("11010519000229001")) == "birth_date"  # 1900: not leap
    assert reason_of(with_check("11010520230229001")) == "birth_date"


@pytest.mark.parametrize("birth", ["19491301", "19490230", "19490400", "19491232", "00000000"])
def test_impossible_birth_dates(birth):
    assert reason_of(with_check(f"110105{birth}002")) == "birth_date"


def test_future_and_pre_1900_birth_dates():
    assert reason_of(with_check("11010520250602001")) == "birth_date"  # tomorrow
    assert validate_id_number(with_check("11010520250601001"), today=TODAY)  # today
    assert reason_of(with_check("11010518991231001")) == "birth_date"
    assert validate_id_number(with_check("11010519000101001"), today=TODAY)


def test_legacy_15_digit_number_is_rejected_with_its_own_reason():
    assert reason_of("110105491231002") == "legacy_15_digit"


@pytest.mark.parametrize("value", ["", "1101051949123100", "11010519491231002X1", "1" * 30])
def test_wrong_length(value):
    assert reason_of(value) == "length"


@pytest.mark.parametrize(
    "value",
    [
        "1101051949123100AX",  # letter in the digits
        "X10105194912310021",  # X only allowed last
        "11010519491231002Y",
        "110105-94912310021",
        "11010519491231002٣",  # Arabic-Indic digit: isdigit() but not ASCII
    ],
)
def test_letters_and_symbols(value):
    assert reason_of(value) == "format"


def test_error_is_an_invalid_argument_with_chinese_message_and_no_number():
    with pytest.raises(InvalidIdNumber) as exc:
        validate_id_number(wrong_check("11010519491231002X"), today=TODAY)
    err = exc.value
    assert isinstance(err, InvalidArgument)
    assert isinstance(err, ValueError)
    assert err.code == "check_digit"
    assert err.field == "id_number"
    assert "校验位" in err.message
    assert "110105" not in str(err)


def test_defaults_to_the_real_today():
    assert validate_id_number("11010519491231002X").birth_date == date(1949, 12, 31)


def test_suffix():
    assert id_number_suffix("11010519491231002x") == "002X"
    assert id_number_suffix("11010519491231002X", n=2) == "2X"
    for n in (0, 5):
        with pytest.raises(ValueError):
            id_number_suffix("11010519491231002X", n=n)
    with pytest.raises(ValueError):
        id_number_suffix("12", n=4)
