"""Serializer protocols and the adapter from untyped to typed serializers."""

from __future__ import annotations

from typing import Any, Protocol


class UntypedSerializerProtocol(Protocol):
    """A serializer that only knows bytes: `dumps`/`loads`."""

    def dumps(self, obj: Any) -> bytes: ...

    def loads(self, data: bytes) -> Any: ...


class SerializerProtocol(Protocol):
    """A serializer that tags its bytes with a type name.

    `dumps_typed` returns `(type, bytes)`; `loads_typed` takes the same pair.
    Savers store both parts, so a reader can choose how to decode.
    """

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]: ...

    def loads_typed(self, data: tuple[str, bytes]) -> Any: ...


class CipherProtocol(Protocol):
    """Encrypts bytes, naming the cipher so that decryption can pick it."""

    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]: ...

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes: ...


class SerializerCompat(SerializerProtocol):
    """Gives an untyped serializer the typed interface (type is its class name)."""

    def __init__(self, serde: UntypedSerializerProtocol) -> None:
        self.serde = serde

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        return type(obj).__name__, self.serde.dumps(obj)

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        return self.serde.loads(data[1])


def maybe_add_typed_methods(
    serde: SerializerProtocol | UntypedSerializerProtocol,
) -> SerializerProtocol:
    """Return `serde` itself if it is typed, else wrap it in `SerializerCompat`."""
    if hasattr(serde, "dumps_typed") and hasattr(serde, "loads_typed"):
        return serde  # type: ignore[return-value]
    return SerializerCompat(serde)
