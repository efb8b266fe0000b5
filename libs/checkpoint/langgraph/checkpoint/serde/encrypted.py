"""`EncryptedSerializer`: encrypts what another serializer produces."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable
from typing import Any

from langgraph.checkpoint.errors import InvalidConfigError, SerializationError
from langgraph.checkpoint.serde.base import CipherProtocol, SerializerProtocol
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

__all__ = ["CipherProtocol", "EncryptedSerializer", "JsonPlusSerializer", "SerializerProtocol"]


class EncryptedSerializer(SerializerProtocol):
    """Wraps a serializer and encrypts its bytes with `cipher`.

    The stored type becomes `"<inner type>+<cipher name>"`, so values written
    before encryption was turned on (no `+`) still read back.
    """

    def __init__(
        self, cipher: CipherProtocol, serde: SerializerProtocol = JsonPlusSerializer()
    ) -> None:
        self.cipher = cipher
        self.serde = serde

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        type_, data = self.serde.dumps_typed(obj)
        ciphername, ciphertext = self.cipher.encrypt(data)
        return f"{type_}+{ciphername}", ciphertext

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        type_, payload = data
        if "+" not in type_:
            return self.serde.loads_typed(data)
        inner_type, ciphername = type_.split("+", 1)
        return self.serde.loads_typed((inner_type, self.cipher.decrypt(ciphername, payload)))

    def with_msgpack_allowlist(
        self, extra_allowlist: Iterable[tuple[str, ...] | type]
    ) -> EncryptedSerializer:
        """A copy (of the same class) with the same cipher and the inner
        serializer widened (when it supports allowlists)."""
        widen = getattr(self.serde, "with_msgpack_allowlist", None)
        if widen is None:
            return self
        clone = copy.copy(self)
        clone.serde = widen(extra_allowlist)
        return clone

    @classmethod
    def from_pycryptodome_aes(
        cls, serde: SerializerProtocol = JsonPlusSerializer(), **kwargs: Any
    ) -> EncryptedSerializer:
        """Authenticated AES with pycryptodome (`pip install langgraph-checkpoint[crypto]`).

        The key comes from `key=` (16, 24 or 32 bytes) or the `LANGGRAPH_AES_KEY`
        environment variable. The default mode is EAX, which is what the
        reference package writes, so encrypted databases move between the two;
        pass `mode=AES.MODE_GCM` for GCM. Other keyword arguments go to `AES.new`.
        """
        try:
            from Crypto.Cipher import AES
        except ImportError as exc:
            raise ImportError(
                "EncryptedSerializer.from_pycryptodome_aes needs pycryptodome: "
                "pip install 'langgraph-checkpoint[crypto]'"
            ) from exc
        key = kwargs.pop("key", None)
        if key is None:
            env_key = os.getenv("LANGGRAPH_AES_KEY")
            if not env_key:
                raise InvalidConfigError("no AES key: pass key=... or set LANGGRAPH_AES_KEY")
            key = env_key.encode()
        if isinstance(key, str):
            key = key.encode()
        if len(key) not in (16, 24, 32):
            raise InvalidConfigError(f"AES key must be 16, 24 or 32 bytes long, got {len(key)}")
        return cls(_AesCipher(AES, key, kwargs), serde)


class _AesCipher(CipherProtocol):
    """AES in an authenticated mode; stored as nonce (16) + tag (16) + ciphertext."""

    name = "aes"

    def __init__(self, aes_module: Any, key: bytes, options: dict[str, Any]) -> None:
        self._aes = aes_module
        self._key = key
        self._options = {"mode": aes_module.MODE_EAX, **options}

    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        cipher = self._aes.new(self._key, **self._options)
        ciphertext, tag = cipher.encrypt_and_digest(plaintext)
        return self.name, cipher.nonce + tag + ciphertext

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes:
        if ciphername != self.name:
            raise SerializationError(f"unsupported cipher {ciphername!r}: this serializer uses AES")
        nonce, tag, body = ciphertext[:16], ciphertext[16:32], ciphertext[32:]
        cipher = self._aes.new(self._key, nonce=nonce, **self._options)
        try:
            return cipher.decrypt_and_verify(body, tag)
        except ValueError as exc:  # wrong key, or the stored bytes were altered
            raise SerializationError(str(exc)) from exc
