"""Member request bodies: validation before any gRPC call, and the proto they produce (no I/O)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from gateway_test_helpers import make_id_number
from hongyun.member.v1 import member_pb2 as pb
from hongyun_gateway.schemas.members import MemberCreate, MemberRead, MemberUpdate
from pydantic import ValidationError

ORG = str(uuid.uuid4())


def create(**overrides: Any) -> MemberCreate:
    body = {
        "organization_id": ORG,
        "name": " 李四 ",
        "gender": "female",
        "id_number": make_id_number("19900215", "122").lower(),
        "birth_date": "1990-02-15",
        "category": "probationary",
        "joined_on": "2024-07-01",
        **overrides,
    }
    return MemberCreate.model_validate(body)


def reasons(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[str, str]]:
    return [
        (".".join(map(str, e["loc"])), e.get("ctx", {}).get("reason") or e["type"])
        for e in exc.value.errors()
    ]


def test_create_to_proto() -> None:
    m = create(mobile_phone="0086-139 1234 5678", landline="010-6512 3456", floating=True)
    req = m.to_proto()
    assert req.organization_id == ORG
    p = req.profile
    assert p.name == "李四"  # stripped
    assert p.gender == pb.GENDER_FEMALE and p.category == pb.MEMBER_CATEGORY_PROBATIONARY
    assert p.party_status == pb.PARTY_STATUS_NORMAL  # default
    assert p.birth_date == "1990-02-15" and p.joined_on == "2024-07-01" and p.converted_on == ""
    assert p.mobile_phone == "13912345678" and p.landline == "010-6512 3456"
    assert p.floating is True and p.lost_contact is False
    assert p.id_number.endswith(make_id_number("19900215", "122")[-1])


def test_full_width_id_number_is_normalised() -> None:
    full_width = make_id_number("19900215", "122").translate(
        str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
    )
    assert create(id_number=full_width).id_number == make_id_number("19900215", "122")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"id_number": "110105199002151220"}, [("id_number", "check_digit")]),
        ({"id_number": "110105900215122"}, [("id_number", "legacy_15_digit")]),
        ({"id_number": make_id_number("19900215")[:-1] + "A"}, [("id_number", "format")]),
        ({"birth_date": "1990-02-16"}, [("birth_date", "id_number_mismatch")]),
        ({"birth_date": 19900215}, [("birth_date", "format")]),
        ({"lost_contact_since": "3000-01-01"}, [("lost_contact_since", "future")]),
        ({"converted_on": "1899-12-31"}, [("converted_on", "too_early")]),
        ({"landline": "call me"}, [("landline", "format")]),
        ({"ethnicity": "汉" * 31}, [("ethnicity", "string_too_long")]),
        ({"name": ""}, [("name", "string_too_short")]),
        ({"party_status": "NORMAL"}, [("party_status", "enum")]),
        ({"version": 3}, [("version", "extra_forbidden")]),
    ],
)
def test_create_validation(overrides: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    with pytest.raises(ValidationError) as exc:
        create(**overrides)
    assert reasons(exc) == expected


def test_required_fields() -> None:
    with pytest.raises(ValidationError) as exc:
        MemberCreate.model_validate({})
    missing = {loc for loc, reason in reasons(exc) if reason == "missing"}
    # gender and birth_date are derived from the ID number when omitted
    assert missing == {"organization_id", "name", "id_number", "category", "joined_on"}


def test_gender_and_birth_date_default_from_the_id_number() -> None:
    body = MemberCreate.model_validate(
        {"organization_id": str(uuid.uuid4()), "name": "张三", "id_number": "11010519491231002X",
         "category": "full", "joined_on": "1970-07-01"}
    )  # fmt: skip
    profile = body.to_proto().profile
    assert profile.gender == 0 and profile.birth_date == ""  # the member service derives them
    with pytest.raises(ValidationError):
        MemberCreate.model_validate(
            {"organization_id": str(uuid.uuid4()), "name": "张三", "id_number": "11010519491231002X",
             "birth_date": "1950-01-01", "category": "full", "joined_on": "1970-07-01"}
        )  # fmt: skip


def test_update_mask_lists_only_fields_sent_and_null_clears() -> None:
    new_org = uuid.uuid4()
    update = MemberUpdate.model_validate(
        {
            "organization_id": str(new_org),
            "landline": None,
            "category": "full",
            "lost_contact": True,
        }
    )
    req = update.to_proto(uuid.UUID(int=7), expected_version=4)
    assert list(req.update_mask) == ["category", "landline", "lost_contact", "organization_id"]
    assert req.organization_id == str(new_org)
    assert req.profile.landline == "" and req.profile.category == pb.MEMBER_CATEGORY_FULL
    assert req.profile.lost_contact is True and req.expected_version == 4
    assert req.id == str(uuid.UUID(int=7))


@pytest.mark.parametrize("field", ["name", "gender", "id_number", "category", "organization_id"])
def test_update_cannot_null_required_fields(field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        MemberUpdate.model_validate({field: None})
    assert reasons(exc) == [(field, "null")]


def test_read_passes_masked_values_and_maps_enums() -> None:
    m = pb.Member(
        id="m1",
        tenant_id="t1",
        organization_id="o1",
        version=3,
        profile=pb.MemberProfile(
            name="王五",
            gender=pb.GENDER_MALE,
            id_number="110***********123X",
            mobile_phone="139****5678",
            party_status=99,  # a status newer than this gateway
            category=pb.MEMBER_CATEGORY_FULL,
        ),
    )
    read = MemberRead.from_proto(m).model_dump(mode="json")
    assert read["id_number"] == "110***********123X" and read["mobile_phone"] == "139****5678"
    assert read["gender"] == "male" and read["category"] == "full"
    assert read["party_status"] is None and read["home_address"] is None
    assert read["created_at"] is None and read["version"] == 3 and read["revealed"] is False
