"""The key-provider interface: what BlobCipher and the rest of privtrain need from a keyring.

LocalKeyring (a passphrase-protected file) implements it today; a KMS-backed provider can
replace it without touching callers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


@dataclass(frozen=True)
class WrappedKey:
    """A data key encrypted under the key-encryption key ``kek_id``.

    ``ciphertext`` is opaque to callers (for LocalKeyring: 12-byte nonce || AES-GCM(data key)).
    Store it next to the blob's record (catalog table ``data_keys``); deleting it shreds the blob.
    """

    kek_id: str
    ciphertext: bytes

    def __repr__(self) -> str:  # never print key material, even wrapped
        return f"WrappedKey(kek_id={self.kek_id!r}, ciphertext=<{len(self.ciphertext)} bytes>)"


@runtime_checkable
class KeyProvider(Protocol):
    """Key-encryption keys, signing keys and pseudonym keys, never handed out for KEKs."""

    def active_kek_id(self) -> str:
        """Id of the KEK that ``wrap`` uses now."""
        ...

    def wrap(self, data_key: bytes, aad: bytes) -> WrappedKey:
        """Encrypt ``data_key`` under the active KEK, binding ``aad`` and the KEK id."""
        ...

    def unwrap(self, wrapped: WrappedKey, aad: bytes) -> bytes:
        """Recover a data key; KeyAccessError if the KEK is unknown/retired or ``aad`` differs."""
        ...

    def rotate(self) -> str:
        """Create a new KEK, make it active and return its id; old KEKs stay for unwrap."""
        ...

    def signing_key(self, purpose: str) -> Ed25519PrivateKey:
        """Ed25519 key for ``purpose`` ("audit", "model", ...); created on first use, persisted."""
        ...

    def hmac_key(self, project: str, version: int | None = None) -> tuple[int, bytes]:
        """(version, key) of a project's pseudonym key; None = latest, created on first use."""
        ...

    def mac_key(self, purpose: str) -> bytes:
        """32-byte HMAC-SHA256 key for ``purpose`` ("catalog" rows, "audit" events); created
        on first use, persisted."""
        ...
