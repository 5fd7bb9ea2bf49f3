"""Encryption at rest: streaming envelope encryption (PTB1), keyring, rotation, shredding.

Three verbs for callers::

    ring = LocalKeyring.open(path, passphrase)          # or .create(...)
    cipher = BlobCipher(ring)
    sealed = cipher.encrypt_file(src, dst, {"kind": "dataset", "id": ds_id, "version": 1})
    cipher.decrypt_file(dst, out, sealed.wrapped_key, expected_context=sealed.context)

Each blob has its own random data key; the wrapped data key (``SealedBlob.wrapped_key``) is
not stored in the blob: the catalog keeps it, and deleting it crypto-shreds the blob. The
format and key handling are specified byte by byte in SECURITY.md.
"""

from __future__ import annotations

from privtrain.crypto._format import Context
from privtrain.crypto._keyring import LocalKeyring
from privtrain.crypto._provider import KeyProvider, WrappedKey
from privtrain.crypto._stream import BlobCipher, EncryptingWriter, SealedBlob

__all__ = [
    "BlobCipher",
    "Context",
    "EncryptingWriter",
    "KeyProvider",
    "LocalKeyring",
    "SealedBlob",
    "WrappedKey",
]
