"""The search columns of member.members (docs/adr/0008), derived from a member's profile.

Written wherever a profile is written (MemberDirectory.write_profile: create, update, bulk
import), and by `hongyun-member reindex-search` for rows written before they existed or after
the blind-index key changed.

- name_pinyin / name_initials: plain text (a name is not secret from those who may search it;
  the name column itself is plaintext). Several readings for polyphonic surnames.
- id_number_suffix_index / mobile_phone_suffix_index: keyed HMACs (FieldCipher.blind_index) of
  the last 4 characters, never the characters themselves. The context names the column and the
  tenant, so equal suffixes are not linkable across columns or tenants.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from hongyun_platform.crypto import FieldCipher

from member_service.domain.search import SUFFIX_LENGTH, name_keys
from member_service.models import Member

ID_NUMBER_SUFFIX_CONTEXT = "member.id_number_suffix"
MOBILE_PHONE_SUFFIX_CONTEXT = "member.mobile_phone_suffix"


@dataclass(frozen=True)
class SearchKeys:
    name_pinyin: str
    name_initials: str
    id_number_suffix_index: str | None
    mobile_phone_suffix_index: str | None


def suffix_index(cipher: FieldCipher, tenant_id: uuid.UUID, context: str, suffix: str) -> str:
    return cipher.blind_index(suffix.upper(), context=f"{context}:{tenant_id}")


def id_number_suffix_index(cipher: FieldCipher, tenant_id: uuid.UUID, suffix: str) -> str:
    return suffix_index(cipher, tenant_id, ID_NUMBER_SUFFIX_CONTEXT, suffix)


def mobile_phone_suffix_index(cipher: FieldCipher, tenant_id: uuid.UUID, suffix: str) -> str:
    return suffix_index(cipher, tenant_id, MOBILE_PHONE_SUFFIX_CONTEXT, suffix)


def search_keys(
    cipher: FieldCipher, tenant_id: uuid.UUID, *, name: str, id_number: str, mobile_phone: str
) -> SearchKeys:
    """Keys for normalised values (validate_profile's output)."""
    keys = name_keys(name)
    id_suffix = id_number.strip()[-SUFFIX_LENGTH:]
    phone_suffix = mobile_phone.strip()[-SUFFIX_LENGTH:]
    return SearchKeys(
        name_pinyin=keys.pinyin,
        name_initials=keys.initials,
        id_number_suffix_index=(
            id_number_suffix_index(cipher, tenant_id, id_suffix)
            if len(id_suffix) == SUFFIX_LENGTH
            else None
        ),
        mobile_phone_suffix_index=(
            mobile_phone_suffix_index(cipher, tenant_id, phone_suffix)
            if len(phone_suffix) == SUFFIX_LENGTH
            else None
        ),
    )


def apply_search_keys(
    member: Member, cipher: FieldCipher, *, name: str, id_number: str, mobile_phone: str
) -> None:
    keys = search_keys(
        cipher, member.tenant_id, name=name, id_number=id_number, mobile_phone=mobile_phone
    )
    member.name_pinyin = keys.name_pinyin
    member.name_initials = keys.name_initials
    member.id_number_suffix_index = keys.id_number_suffix_index
    member.mobile_phone_suffix_index = keys.mobile_phone_suffix_index
