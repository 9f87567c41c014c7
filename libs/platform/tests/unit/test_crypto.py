import base64

import pytest
from hongyun_platform.crypto import (
    TOKEN_VERSION,
    DecryptionError,
    FieldCipher,
    Keyring,
    KeyringError,
    encode_key,
    generate_key,
)

ALGORITHMS = ["AES-GCM", "SM4-GCM"]
AAD = b"member:0190f0c2-7a1b-7c3d-8e4f-123456789abc:id_number"
INDEX_KEY = bytes(range(32))


def make_cipher(algorithm, *ids, active=None):
    ids = ids or ("k1",)
    keyring = Keyring(
        active_key_id=active or ids[0],
        keys={key_id: generate_key(algorithm) for key_id in ids},
        algorithm=algorithm,
    )
    return FieldCipher(keyring, index_key=INDEX_KEY)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(
    "plaintext", ["11010519491231002X", "13812345678", "广东省深圳市南山区", ""]
)
def test_round_trip(algorithm, plaintext):
    cipher = make_cipher(algorithm)
    token = cipher.encrypt(plaintext, aad=AAD)
    assert plaintext.encode() not in token or plaintext == ""
    assert cipher.decrypt(token, aad=AAD) == plaintext


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_token_layout_is_self_describing(algorithm):
    cipher = make_cipher(algorithm, "key-2024")
    token = cipher.encrypt("abc", aad=AAD)
    assert token[0] == TOKEN_VERSION
    assert token[1] == len(b"key-2024")
    assert token[2:10] == b"key-2024"
    assert len(token) == 2 + 8 + 12 + 3 + 16
    assert cipher.key_id_of(token) == "key-2024"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_decrypt_accepts_memoryview(algorithm):
    cipher = make_cipher(algorithm)
    token = cipher.encrypt("13812345678", aad=AAD)
    assert cipher.decrypt(memoryview(token), aad=AAD) == "13812345678"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_two_encryptions_of_same_value_differ(algorithm):
    cipher = make_cipher(algorithm)
    a, b = cipher.encrypt("same", aad=AAD), cipher.encrypt("same", aad=AAD)
    assert a != b
    assert a[4:16] != b[4:16]  # nonce


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("position", [0, 3, 5, 16, -1])
def test_tampering_is_detected(algorithm, position):
    cipher = make_cipher(algorithm)
    token = bytearray(cipher.encrypt("13812345678", aad=AAD))
    token[position] ^= 0x01
    with pytest.raises(DecryptionError):
        cipher.decrypt(bytes(token), aad=AAD)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_truncated_or_garbage_token_is_rejected(algorithm):
    cipher = make_cipher(algorithm)
    token = cipher.encrypt("13812345678", aad=AAD)
    for bad in (b"", b"\x01", token[:-1], token[:20], b"\x09" + token[1:]):
        with pytest.raises(DecryptionError):
            cipher.decrypt(bad, aad=AAD)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_wrong_aad_fails_so_values_cannot_move_between_rows(algorithm):
    cipher = make_cipher(algorithm)
    token = cipher.encrypt("11010519491231002X", aad=b"member:1:id_number")
    with pytest.raises(DecryptionError):
        cipher.decrypt(token, aad=b"member:2:id_number")
    with pytest.raises(DecryptionError):
        cipher.decrypt(token, aad=b"member:1:phone")


def test_empty_aad_is_refused():
    cipher = make_cipher("AES-GCM")
    with pytest.raises(ValueError, match="aad"):
        cipher.encrypt("x", aad=b"")
    token = cipher.encrypt("x", aad=AAD)
    with pytest.raises(ValueError, match="aad"):
        cipher.decrypt(token, aad=b"")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_rotation_old_tokens_still_decrypt_new_writes_use_active_key(algorithm):
    keys = {"k1": generate_key(algorithm), "k2": generate_key(algorithm)}
    before = FieldCipher(Keyring("k1", keys, algorithm), index_key=INDEX_KEY)
    old = before.encrypt("13812345678", aad=AAD)
    assert before.key_id_of(old) == "k1"
    assert not before.needs_rotation(old)

    after = FieldCipher(Keyring("k1", keys, algorithm).with_active("k2"), index_key=INDEX_KEY)
    assert after.active_key_id == "k2"
    assert after.decrypt(old, aad=AAD) == "13812345678"
    assert after.needs_rotation(old)

    new = after.encrypt("13812345678", aad=AAD)
    assert after.key_id_of(new) == "k2"
    assert not after.needs_rotation(new)

    rotated = after.reencrypt(old, aad=AAD)
    assert after.key_id_of(rotated) == "k2"
    assert after.decrypt(rotated, aad=AAD) == "13812345678"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_unknown_key_id_is_a_decryption_error(algorithm):
    writer = make_cipher(algorithm, "k1")
    reader = make_cipher(algorithm, "k2")
    token = writer.encrypt("13812345678", aad=AAD)
    assert reader.key_id_of(token) == "k1"
    with pytest.raises(DecryptionError, match="not in the keyring"):
        reader.decrypt(token, aad=AAD)


def test_same_key_id_with_different_key_fails_authentication():
    token = make_cipher("AES-GCM", "k1").encrypt("x", aad=AAD)
    with pytest.raises(DecryptionError):
        make_cipher("AES-GCM", "k1").decrypt(token, aad=AAD)


def test_blind_index_is_stable_keyed_and_context_separated():
    keyring = Keyring("k1", {"k1": generate_key("AES-GCM")}, "AES-GCM")
    cipher = FieldCipher(keyring, index_key=INDEX_KEY)
    idx = cipher.blind_index("11010519491231002X", context="member.id_number")
    assert len(idx) == 64
    assert int(idx, 16) >= 0
    # Stable, and independent of the data keys (rotating them must not break lookups).
    other_data_keys = Keyring("k9", {"k9": generate_key("AES-GCM")}, "AES-GCM")
    same_index_key = FieldCipher(other_data_keys, index_key=INDEX_KEY)
    assert same_index_key.blind_index("11010519491231002X", context="member.id_number") == idx
    assert cipher.blind_index("11010519491231002X", context="member.id_number") == idx

    other_index_key = FieldCipher(keyring, index_key=bytes(32))
    assert other_index_key.blind_index("11010519491231002X", context="member.id_number") != idx
    assert cipher.blind_index("11010519491231002X", context="member.phone") != idx
    assert cipher.blind_index("110105194912310021", context="member.id_number") != idx


def test_blind_index_rejects_short_key_and_empty_context():
    keyring = Keyring("k1", {"k1": generate_key("AES-GCM")}, "AES-GCM")
    with pytest.raises(KeyringError):
        FieldCipher(keyring, index_key=b"short")
    with pytest.raises(ValueError):
        FieldCipher(keyring, index_key=INDEX_KEY).blind_index("x", context="")


@pytest.mark.parametrize(("algorithm", "size"), [("AES-GCM", 32), ("SM4-GCM", 16)])
def test_generate_key_sizes(algorithm, size):
    assert len(generate_key(algorithm)) == size
    assert generate_key(algorithm) != generate_key(algorithm)


def test_keyring_validates_sizes_ids_and_active():
    with pytest.raises(KeyringError, match="32 bytes"):
        Keyring("k1", {"k1": generate_key("SM4-GCM")}, "AES-GCM")
    with pytest.raises(KeyringError, match="16 bytes"):
        Keyring("k1", {"k1": generate_key("AES-GCM")}, "SM4-GCM")
    with pytest.raises(KeyringError, match="not in the keyring"):
        Keyring("k2", {"k1": generate_key("AES-GCM")}, "AES-GCM")
    with pytest.raises(KeyringError, match="invalid key id"):
        Keyring("k 1", {"k 1": generate_key("AES-GCM")}, "AES-GCM")
    with pytest.raises(KeyringError, match="unsupported algorithm"):
        Keyring("k1", {"k1": generate_key("AES-GCM")}, "DES")


def test_keyring_repr_and_errors_do_not_leak_keys():
    key = generate_key("AES-GCM")
    keyring = Keyring("k1", {"k1": key}, "AES-GCM")
    assert base64.b64encode(key).decode() not in repr(keyring)
    assert repr(key) not in repr(keyring)
    with pytest.raises(KeyringError) as exc:
        Keyring.from_env_string("k1:" + base64.b64encode(key[:20]).decode(), algorithm="AES-GCM")
    assert base64.b64encode(key[:20]).decode() not in str(exc.value)


def test_keyring_is_immutable_copy():
    keys = {"k1": generate_key("AES-GCM")}
    keyring = Keyring("k1", keys, "AES-GCM")
    keys["k2"] = generate_key("AES-GCM")
    assert set(keyring.keys) == {"k1"}
    with pytest.raises(TypeError):
        keyring.keys["k3"] = generate_key("AES-GCM")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_from_env_string_first_entry_is_active_by_default(algorithm):
    k1, k2 = generate_key(algorithm), generate_key(algorithm)
    env = f"{encode_key('k1', k1)}, {encode_key('k2', k2)}"
    keyring = Keyring.from_env_string(env, algorithm=algorithm)
    assert keyring.active_key_id == "k1"
    assert dict(keyring.keys) == {"k1": k1, "k2": k2}
    assert Keyring.from_env_string(env, algorithm=algorithm, active="k2").active_key_id == "k2"


@pytest.mark.parametrize(
    "env",
    ["", "k1", "k1:not-base64!", f"k1:{base64.b64encode(bytes(32)).decode()},k1:AAAA", ":AAAA"],
)
def test_from_env_string_rejects_malformed_input(env):
    with pytest.raises(KeyringError):
        Keyring.from_env_string(env, algorithm="AES-GCM")


def test_from_env_string_rejects_unknown_active():
    env = encode_key("k1", generate_key("AES-GCM"))
    with pytest.raises(KeyringError, match="not in the keyring"):
        Keyring.from_env_string(env, algorithm="AES-GCM", active="k9")
