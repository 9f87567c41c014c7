"""Authenticated field encryption for values stored at rest, with key rotation and blind indexes.

Token layout (bytes, stored as-is in a bytea column)::

    version (1) | key-id length (1) | key id (ASCII) | nonce (12) | ciphertext + GCM tag (16)

The header (version and key id) is authenticated together with the caller's AAD, so a token
cannot be re-labelled with another key id, and a token copied to another row/column whose AAD
differs fails to decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

Algorithm = Literal["AES-GCM", "SM4-GCM"]

KEY_SIZES: Mapping[Algorithm, int] = MappingProxyType({"AES-GCM": 32, "SM4-GCM": 16})
TOKEN_VERSION = 1
NONCE_SIZE = 12
TAG_SIZE = 16
MIN_INDEX_KEY_SIZE = 32

# Key ids travel inside every token and in "id:key,id:key" strings, so keep them short and plain.
_KEY_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


class KeyringError(ValueError):
    """The key configuration is unusable. Messages never contain key material."""


class DecryptionError(Exception):
    """Wrong AAD, tampered or truncated token, or unknown key id. Never says which value failed."""


def generate_key(algorithm: Algorithm) -> bytes:
    """Fresh random key of the right size for `algorithm`."""
    return os.urandom(KEY_SIZES[algorithm])


def encode_key(key_id: str, key: bytes) -> str:
    """One `id:base64` entry of the format read by `Keyring.from_env_string`."""
    return f"{key_id}:{base64.b64encode(key).decode('ascii')}"


@dataclass(frozen=True, eq=False)  # no equality on key bytes; identity hash
class Keyring:
    """Data keys by id. New tokens use `active_key_id`; any listed key still decrypts."""

    active_key_id: str
    keys: Mapping[str, bytes] = field(repr=False)
    algorithm: Algorithm

    def __post_init__(self) -> None:
        if self.algorithm not in KEY_SIZES:
            raise KeyringError(f"unsupported algorithm {self.algorithm!r}")
        size = KEY_SIZES[self.algorithm]
        for key_id, key in self.keys.items():
            if not _KEY_ID_RE.fullmatch(key_id):
                raise KeyringError(f"invalid key id {key_id!r}: use 1-64 of A-Z a-z 0-9 _ . -")
            if len(key) != size:
                raise KeyringError(f"key {key_id!r} must be {size} bytes for {self.algorithm}")
        if self.active_key_id not in self.keys:
            raise KeyringError(f"active key id {self.active_key_id!r} is not in the keyring")
        object.__setattr__(self, "keys", MappingProxyType(dict(self.keys)))

    def with_active(self, key_id: str) -> Keyring:
        return replace(self, active_key_id=key_id)

    @classmethod
    def from_env_string(
        cls, value: str, *, algorithm: Algorithm, active: str | None = None
    ) -> Keyring:
        """Parse "k1:<base64>,k2:<base64>"; the first entry is active unless `active` names one."""
        keys: dict[str, bytes] = {}
        for entry in value.split(","):
            key_id, sep, encoded = entry.strip().partition(":")
            if not sep:
                raise KeyringError("keyring entries must look like <key id>:<base64 key>")
            if key_id in keys:
                raise KeyringError(f"key id {key_id!r} appears twice")
            try:
                keys[key_id] = base64.b64decode(encoded.strip(), validate=True)
            except binascii.Error:
                raise KeyringError(f"key {key_id!r} is not valid base64") from None
        active_key_id = next(iter(keys)) if active is None else active
        return cls(active_key_id=active_key_id, keys=keys, algorithm=algorithm)


class FieldCipher:
    def __init__(self, keyring: Keyring, *, index_key: bytes) -> None:
        if len(index_key) < MIN_INDEX_KEY_SIZE:
            raise KeyringError(f"blind-index key must be at least {MIN_INDEX_KEY_SIZE} bytes")
        self._keyring = keyring
        self._index_key = index_key

    @property
    def active_key_id(self) -> str:
        return self._keyring.active_key_id

    def encrypt(self, plaintext: str, *, aad: bytes) -> bytes:
        """`aad` names where the value lives, e.g. b"member:<id>:id_number"; decrypt needs it."""
        _require_aad(aad)
        key_id = self._keyring.active_key_id
        header = _header(key_id)
        nonce = os.urandom(NONCE_SIZE)
        sealed = _seal(self._keyring, key_id, nonce, plaintext.encode("utf-8"), header + aad)
        return header + nonce + sealed

    def decrypt(self, token: bytes, *, aad: bytes) -> str:
        _require_aad(aad)
        token = bytes(token)  # also accept bytearray / memoryview from drivers
        key_id, header_len = _parse_header(token)
        if key_id not in self._keyring.keys:
            raise DecryptionError("token was encrypted with a key that is not in the keyring")
        nonce = token[header_len : header_len + NONCE_SIZE]
        sealed = token[header_len + NONCE_SIZE :]
        plain = _open(self._keyring, key_id, nonce, sealed, token[:header_len] + aad)
        try:
            return plain.decode("utf-8")
        except UnicodeDecodeError:  # authenticated, so only a writer bug gets here
            raise DecryptionError("decrypted value is not UTF-8") from None

    def key_id_of(self, token: bytes) -> str:
        return _parse_header(bytes(token))[0]

    def needs_rotation(self, token: bytes) -> bool:
        return self.key_id_of(token) != self._keyring.active_key_id

    def reencrypt(self, token: bytes, *, aad: bytes) -> bytes:
        """Re-encrypt under the active key (for a background rotation job)."""
        return self.encrypt(self.decrypt(token, aad=aad), aad=aad)

    def blind_index(self, value: str, *, context: str) -> str:
        """Keyed hash for equality lookups. Normalise `value` first; equal inputs match only
        within the same `context` (e.g. "member.id_number"), so indexes of different columns
        cannot be joined against each other."""
        if not context:
            raise ValueError("blind_index needs a context")
        context_key = hmac.digest(self._index_key, b"blind-index:" + context.encode(), "sha256")
        return hmac.new(context_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def _require_aad(aad: bytes) -> None:
    # An empty AAD would let ciphertexts be swapped between rows unnoticed.
    if not aad:
        raise ValueError("aad must identify the row and column, e.g. b'member:<id>:phone'")


def _header(key_id: str) -> bytes:
    kid = key_id.encode("ascii")
    return bytes((TOKEN_VERSION, len(kid))) + kid


def _parse_header(token: bytes) -> tuple[str, int]:
    if len(token) < 2 or token[0] != TOKEN_VERSION:
        raise DecryptionError("not a field-encryption token (unknown version)")
    header_len = 2 + token[1]
    if len(token) < header_len + NONCE_SIZE + TAG_SIZE:
        raise DecryptionError("field-encryption token is truncated")
    try:
        return token[2:header_len].decode("ascii"), header_len
    except UnicodeDecodeError:
        raise DecryptionError("field-encryption token has a malformed key id") from None


def _seal(keyring: Keyring, key_id: str, nonce: bytes, data: bytes, aad: bytes) -> bytes:
    key = keyring.keys[key_id]
    if keyring.algorithm == "AES-GCM":
        return AESGCM(key).encrypt(nonce, data, aad)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(aad)
    return enc.update(data) + enc.finalize() + enc.tag


def _open(keyring: Keyring, key_id: str, nonce: bytes, sealed: bytes, aad: bytes) -> bytes:
    key = keyring.keys[key_id]
    try:
        if keyring.algorithm == "AES-GCM":
            return AESGCM(key).decrypt(nonce, sealed, aad)
        ciphertext, tag = sealed[:-TAG_SIZE], sealed[-TAG_SIZE:]
        dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
        dec.authenticate_additional_data(aad)
        return dec.update(ciphertext) + dec.finalize()
    except InvalidTag:
        raise DecryptionError("field-encryption token failed authentication") from None
