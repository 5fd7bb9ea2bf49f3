"""LocalKeyring: a passphrase-protected keyring file (PTK1), the default KeyProvider.

File layout and key handling are specified in SECURITY.md ("Key handling"). In short: a
78-byte header (magic, version, KDF id and parameters, salt, passphrase check value, nonce)
followed by AES-256-GCM(payload JSON) with the whole header as associated data. The payload
key and the check value are derived (HKDF-SHA256, distinct labels) from Argon2id(passphrase).
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import logging
import os
import re
import struct
import threading
import unicodedata
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from privtrain._io import atomic_write_bytes
from privtrain.crypto._provider import KeyProvider, WrappedKey
from privtrain.errors import (
    ConfigError,
    ConflictError,
    InputError,
    IntegrityError,
    KeyAccessError,
    NotFoundError,
)

try:  # fcntl is POSIX-only; without it cross-process updates are not serialized
    import fcntl
except ImportError:  # pragma: no cover - non-POSIX
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

T = TypeVar("T")

MAGIC = b"PTK1"
VERSION = 1
KDF_ARGON2ID = 1
KDF_SCRYPT = 2
_KDF_NAMES = {KDF_ARGON2ID: "argon2id", KDF_SCRYPT: "scrypt"}

# magic, version, kdf id, p1, p2, p3, salt, passphrase check, nonce
HEADER = struct.Struct(">4sBBIII16s32s12s")
HEADER_LEN = HEADER.size  # 78
WRAP_NONCE_LEN = 12
WRAPPED_LEN = WRAP_NONCE_LEN + 32 + 16

ENV_PROFILE = "PRIVTRAIN_KDF_PROFILE"
# (p1, p2, p3): argon2id = (memory KiB, iterations, lanes); scrypt = (log2 N, r, p)
PROFILES: dict[str, dict[int, tuple[int, int, int]]] = {
    "default": {KDF_ARGON2ID: (64 * 1024, 3, 1), KDF_SCRYPT: (16, 8, 1)},
    "fast": {KDF_ARGON2ID: (1024, 1, 1), KDF_SCRYPT: (10, 8, 1)},  # tests only, NOT production
}

LABEL_PAYLOAD_KEY = b"privtrain/PTK1/payload-key"
LABEL_CHECK = b"privtrain/PTK1/passphrase-check"
LABEL_KEK_AAD = b"privtrain/PTK1/kek\x00"
# Passphrases shorter than this are refused when a keyring is created or re-keyed through
# privtrain's verbs (Workspace.init, Workspace.change_passphrase).
MIN_PASSPHRASE_CHARS = 12

_KEK_ID = re.compile(r"^kek-(\d{4,9})$")
_PURPOSE = re.compile(r"^[a-z][a-z0-9._-]{0,63}$")
_PROJECT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def _unb64(s: object) -> bytes:
    if not isinstance(s, str):
        raise ValueError("not base64 text")
    return base64.b64decode(s.encode("ascii"), validate=True)


def _profile_name() -> str:
    name = os.environ.get(ENV_PROFILE, "default").strip().lower() or "default"
    if name not in PROFILES:
        raise ConfigError(f"{ENV_PROFILE} must be 'default' or 'fast', got {name!r}")
    return name


def _check_kdf_params(kdf: int, p1: int, p2: int, p3: int) -> bool:
    if kdf == KDF_ARGON2ID:
        return 1 <= p3 <= 64 and 8 * p3 <= p1 <= 4 * 1024 * 1024 and 1 <= p2 <= 64
    if kdf == KDF_SCRYPT:
        return (
            10 <= p1 <= 22 and 1 <= p2 <= 32 and 1 <= p3 <= 16 and 128 * p2 * (1 << p1) <= 1 << 30
        )
    return False


def _passphrase_bytes(passphrase: str) -> bytes:
    """The passphrase as NFC-normalised UTF-8; InputError (one line) when it is not text (e.g.
    an environment variable holding bytes that are not UTF-8)."""
    try:
        return unicodedata.normalize("NFC", passphrase).encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(
            "keyring passphrase is not valid UTF-8 text (check PRIVTRAIN_PASSPHRASE's encoding)"
        ) from None


def _kdf(kdf: int, p1: int, p2: int, p3: int, salt: bytes, passphrase: str) -> bytes:
    secret = _passphrase_bytes(passphrase)
    if kdf == KDF_ARGON2ID:
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

        return Argon2id(
            salt=salt, length=32, iterations=p2, lanes=p3, memory_cost=p1, ad=None, secret=None
        ).derive(secret)
    return Scrypt(salt=salt, length=32, n=1 << p1, r=p2, p=p3).derive(secret)


def _hkdf(master: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(master)


class _Sealer:
    """The payload key of one keyring file plus its (non-secret) header fields."""

    def __init__(self, kdf: int, params: tuple[int, int, int], salt: bytes, master: bytes):
        self.kdf = kdf
        self.params = params
        self.salt = salt
        self.check = _hkdf(master, LABEL_CHECK)
        self._aead = AESGCM(_hkdf(master, LABEL_PAYLOAD_KEY))

    def same_file_key(self, kdf: int, params: tuple[int, int, int], salt: bytes) -> bool:
        return (kdf, params, salt) == (self.kdf, self.params, self.salt)

    def seal(self, payload: bytes) -> bytes:
        nonce = os.urandom(12)
        header = HEADER.pack(MAGIC, VERSION, self.kdf, *self.params, self.salt, self.check, nonce)
        return header + self._aead.encrypt(nonce, payload, header)

    def open(self, blob: bytes, path: Path) -> bytes:
        header, body = blob[:HEADER_LEN], blob[HEADER_LEN:]
        try:
            return self._aead.decrypt(header[-12:], body, header)
        except InvalidTag:
            raise IntegrityError(
                f"keyring {path} is corrupt: payload failed authentication; restore it from backup"
            ) from None


def _parse_header(blob: bytes, path: Path) -> tuple[int, tuple[int, int, int], bytes, bytes]:
    if len(blob) < HEADER_LEN + 16 or blob[:4] != MAGIC:
        raise IntegrityError(f"keyring {path} is corrupt: not a PTK1 keyring file")
    _magic, version, kdf, p1, p2, p3, salt, check, _nonce = HEADER.unpack(blob[:HEADER_LEN])
    if version != VERSION:
        raise IntegrityError(f"keyring {path}: header field version is {version}; supported: 1")
    if not _check_kdf_params(kdf, p1, p2, p3):
        raise IntegrityError(f"keyring {path} is corrupt: header field kdf/parameters invalid")
    return kdf, (p1, p2, p3), salt, check


def _new_sealer(passphrase: str) -> _Sealer:
    if not isinstance(passphrase, str) or not passphrase:
        raise InputError("keyring passphrase must be a non-empty string")
    profile = PROFILES[_profile_name()]
    salt = os.urandom(16)
    for kdf in (KDF_ARGON2ID, KDF_SCRYPT):
        try:
            master = _kdf(kdf, *profile[kdf], salt, passphrase)
        except UnsupportedAlgorithm:  # OpenSSL without Argon2: fall back to scrypt
            log.info("Argon2id unavailable in this OpenSSL build; using scrypt for the keyring")
            continue
        return _Sealer(kdf, profile[kdf], salt, master)
    raise ConfigError("neither Argon2id nor scrypt is available from the cryptography backend")


def _validate_doc(doc: Any, path: Path) -> dict[str, Any]:
    try:
        if not isinstance(doc, dict) or doc.get("format") != 1:
            raise ValueError("format")
        keks, retired = doc["keks"], doc["retired_keks"]
        if not all(_KEK_ID.match(k) and len(_unb64(v["key"])) == 32 for k, v in keks.items()):
            raise ValueError("keks")
        if doc["active_kek"] not in keks or not isinstance(retired, dict):
            raise ValueError("active_kek")
        if not all(len(_unb64(v["seed"])) == 32 for v in doc["signing"].values()):
            raise ValueError("signing")
        for versions in doc["hmac"].values():
            if not all(k.isdigit() and len(_unb64(v["key"])) == 32 for k, v in versions.items()):
                raise ValueError("hmac")
        if not all(len(_unb64(v["key"])) == 32 for v in doc.get("mac", {}).values()):
            raise ValueError("mac")
        if not all(isinstance(v, str) for v in doc.get("flags", {}).values()):
            raise ValueError("flags")
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise IntegrityError(f"keyring {path} is corrupt: payload field {e} is invalid") from None
    return doc


def _atomic_write(path: Path, data: bytes, *, exclusive: bool) -> None:
    """temp (0600) + fsync + rename; with exclusive=True never replace an existing file."""
    try:
        atomic_write_bytes(path, data, exclusive=exclusive, mkdir=False)
    except FileExistsError:
        raise ConflictError(f"keyring {path} already exists; open it instead") from None


class LocalKeyring(KeyProvider):
    """Versioned KEKs, Ed25519 signing keys and HMAC pseudonym keys in one encrypted file.

    Create with :meth:`create`, open with :meth:`open`. Every change is written atomically
    (temp file, fsync, rename; mode 0600) under an exclusive lock on ``<path>.lock`` after
    re-reading the file, so concurrent processes never lose each other's keys.
    """

    def __init__(self, path: Path, sealer: _Sealer, doc: dict[str, Any]) -> None:
        self._path = path
        self._sealer = sealer
        self._doc = doc
        self._lock = threading.RLock()
        self._aeads: dict[str, AESGCM] = {}

    def __repr__(self) -> str:
        return f"LocalKeyring({str(self._path)!r})"

    @property
    def path(self) -> Path:
        return self._path

    # ---------------------------------------------------------------- create / open

    @classmethod
    def create(cls, path: Path, passphrase: str) -> LocalKeyring:
        """New keyring with one active KEK (kek-0001). ConflictError if ``path`` exists."""
        path = Path(path)
        if path.exists():
            raise ConflictError(f"keyring {path} already exists; open it instead")
        if not path.parent.is_dir():
            raise NotFoundError(f"directory {path.parent} for keyring {path.name} does not exist")
        sealer = _new_sealer(passphrase)
        now = _now()
        doc: dict[str, Any] = {
            "format": 1,
            "created_at": now,
            "active_kek": "kek-0001",
            "keks": {"kek-0001": {"key": _b64(os.urandom(32)), "created_at": now}},
            "retired_keks": {},
            "signing": {},
            "hmac": {},
            "mac": {},
        }
        _atomic_write(path, sealer.seal(_dump(doc)), exclusive=True)
        log.info("created keyring %s (kdf %s)", path, _KDF_NAMES[sealer.kdf])
        return cls(path, sealer, doc)

    @classmethod
    def open(cls, path: Path, passphrase: str) -> LocalKeyring:
        """Open an existing keyring. KeyAccessError on a wrong passphrase, IntegrityError if
        the file is corrupt, NotFoundError if it does not exist."""
        path = Path(path)
        blob = _read_file(path)
        kdf, params, salt, check = _parse_header(blob, path)
        if not isinstance(passphrase, str):
            raise InputError("keyring passphrase must be a string")
        weak = any(a < b for a, b in zip(params, PROFILES["default"][kdf], strict=True))
        if weak and _profile_name() != "fast":
            log.warning(
                "keyring %s uses weak test-only KDF parameters; re-key it with "
                "`privtrain keys passphrase` (without PRIVTRAIN_KDF_PROFILE set)",
                path,
            )
        try:
            master = _kdf(kdf, *params, salt, passphrase)
        except UnsupportedAlgorithm:
            raise KeyAccessError(
                f"keyring {path} needs {_KDF_NAMES[kdf]}, which this OpenSSL build lacks"
            ) from None
        sealer = _Sealer(kdf, params, salt, master)
        if not hmac.compare_digest(sealer.check, check):
            raise KeyAccessError(f"wrong passphrase for keyring {path}")
        doc = _validate_doc(_load_json(sealer.open(blob, path), path), path)
        return cls(path, sealer, doc)

    # ---------------------------------------------------------------- persistence

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover
            yield
            return
        lock_path = self._path.with_name(self._path.name + ".lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as e:
            raise KeyAccessError(f"cannot lock keyring {self._path}: {e.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def _reload_locked(self) -> dict[str, Any]:
        blob = _read_file(self._path)
        kdf, params, salt, check = _parse_header(blob, self._path)
        if not self._sealer.same_file_key(kdf, params, salt) or not hmac.compare_digest(
            check, self._sealer.check
        ):
            raise KeyAccessError(
                f"keyring {self._path} was re-keyed by another process; open it again"
            )
        doc = _validate_doc(_load_json(self._sealer.open(blob, self._path), self._path), self._path)
        self._doc = doc
        return doc

    def _mutate(self, fn: Callable[[dict[str, Any]], T]) -> T:
        with self._lock, self._file_lock():
            doc = self._reload_locked()
            result = fn(doc)
            _atomic_write(self._path, self._sealer.seal(_dump(doc)), exclusive=False)
            self._doc = doc
            return result

    def _refresh(self) -> None:
        with self._lock, self._file_lock():
            self._reload_locked()

    def _lookup(self, fn: Callable[[dict[str, Any]], T | None]) -> T | None:
        """fn on the in-memory state; on a miss re-read the file once (another process may
        have added the key)."""
        with self._lock:
            found = fn(self._doc)
            if found is None:
                self._refresh()
                found = fn(self._doc)
            return found

    def refresh(self) -> None:
        """Re-read the keyring file (another process may have rotated or retired a KEK)."""
        self._refresh()

    # ---------------------------------------------------------------- KEKs

    def active_kek_id(self) -> str:
        with self._lock:
            return str(self._doc["active_kek"])

    def live_kek_ids(self) -> list[str]:
        """Ids of the KEKs not yet retired (the active one included), oldest first."""
        with self._lock:
            return sorted(self._doc["keks"])

    @staticmethod
    def _kek_aad(kek_id: str, aad: bytes) -> bytes:
        kid = kek_id.encode("utf-8")
        return LABEL_KEK_AAD + bytes([len(kid)]) + kid + aad

    def _kek_aead(self, kek_id: str) -> AESGCM:
        with self._lock:
            aead = self._aeads.get(kek_id)
            if aead is not None and kek_id in self._doc["keks"]:
                return aead
            entry = self._lookup(lambda d: d["keks"].get(kek_id))
            if entry is None:
                self._aeads.pop(kek_id, None)
                retired = self._doc["retired_keks"].get(kek_id)
                if retired is not None:
                    raise KeyAccessError(
                        f"key-encryption key {kek_id} in keyring {self._path} was retired "
                        f"(destroyed) at {retired.get('retired_at')}; data keys it wrapped "
                        "are shredded"
                    )
                raise KeyAccessError(
                    f"unknown key-encryption key {kek_id!r} in keyring {self._path}"
                )
            aead = AESGCM(_unb64(entry["key"]))
            self._aeads[kek_id] = aead
            return aead

    def wrap(self, data_key: bytes, aad: bytes) -> WrappedKey:
        if len(data_key) != 32:
            raise InputError(f"data key must be 32 bytes, got {len(data_key)}")
        with self._lock:
            kek_id = self.active_kek_id()
            aead = self._kek_aead(kek_id)
        nonce = os.urandom(WRAP_NONCE_LEN)
        ct = aead.encrypt(nonce, bytes(data_key), self._kek_aad(kek_id, bytes(aad)))
        return WrappedKey(kek_id=kek_id, ciphertext=nonce + ct)

    def unwrap(self, wrapped: WrappedKey, aad: bytes) -> bytes:
        kek_id = wrapped.kek_id
        if not isinstance(kek_id, str) or not _KEK_ID.match(kek_id):
            raise KeyAccessError(f"unknown key-encryption key {kek_id!r} in keyring {self._path}")
        aead = self._kek_aead(kek_id)
        ct = bytes(wrapped.ciphertext)
        if len(ct) != WRAPPED_LEN:
            raise KeyAccessError(f"wrapped data key under {kek_id} is malformed ({len(ct)} bytes)")
        try:
            return aead.decrypt(
                ct[:WRAP_NONCE_LEN], ct[WRAP_NONCE_LEN:], self._kek_aad(kek_id, aad)
            )
        except InvalidTag:
            raise KeyAccessError(
                f"cannot unwrap data key with {kek_id} from keyring {self._path}: wrong "
                "key-encryption key, or the wrapped key belongs to another blob or was altered"
            ) from None

    def rotate(self) -> str:
        """New KEK (next id) becomes active; older KEKs stay available for unwrap/rewrap."""

        def fn(doc: dict[str, Any]) -> str:
            used = [int(_KEK_ID.match(k).group(1)) for k in (*doc["keks"], *doc["retired_keks"])]  # type: ignore[union-attr]
            new_id = f"kek-{max(used, default=0) + 1:04d}"
            doc["keks"][new_id] = {"key": _b64(os.urandom(32)), "created_at": _now()}
            doc["active_kek"] = new_id
            return new_id

        new_id = self._mutate(fn)
        log.info("keyring %s: rotated; active key-encryption key is now %s", self._path, new_id)
        return new_id

    def undo_rotate(self, new_id: str, previous_id: str) -> None:
        """Undo :meth:`rotate` after a rotation failed before any data key was re-wrapped:
        ``previous_id`` becomes active again and ``new_id`` is destroyed. Refused unless
        ``new_id`` is the active KEK and ``previous_id`` is still live."""

        def fn(doc: dict[str, Any]) -> None:
            if doc["active_kek"] != new_id or previous_id not in doc["keks"]:
                raise ConflictError(
                    f"cannot undo rotation to {new_id}: the keyring {self._path} changed since"
                )
            doc["active_kek"] = previous_id
            entry = doc["keks"].pop(new_id)
            doc["retired_keks"][new_id] = {
                "created_at": entry.get("created_at"),
                "retired_at": _now(),
                "unused": True,
            }

        self._mutate(fn)
        with self._lock:
            self._aeads.pop(new_id, None)
        log.info("keyring %s: rotation to %s undone; %s active", self._path, new_id, previous_id)

    def retire(self, kek_id: str) -> None:
        """Destroy an old (non-active) KEK: every data key wrapped only by it is shredded.

        Rewrap the blobs you want to keep (BlobCipher.rewrap) first. Idempotent.
        """

        def fn(doc: dict[str, Any]) -> None:
            if kek_id in doc["retired_keks"]:
                return
            if kek_id not in doc["keks"]:
                raise NotFoundError(f"no key-encryption key {kek_id!r} in keyring {self._path}")
            if doc["active_kek"] == kek_id:
                raise ConflictError(f"{kek_id} is the active key-encryption key; rotate first")
            entry = doc["keks"].pop(kek_id)
            doc["retired_keks"][kek_id] = {
                "created_at": entry.get("created_at"),
                "retired_at": _now(),
            }

        self._mutate(fn)
        with self._lock:
            self._aeads.pop(kek_id, None)
        log.info("keyring %s: retired key-encryption key %s", self._path, kek_id)

    # ---------------------------------------------------------------- signing keys

    def signing_key(self, purpose: str) -> Ed25519PrivateKey:
        if not isinstance(purpose, str) or not _PURPOSE.match(purpose):
            raise InputError(f"signing key purpose {purpose!r} must match [a-z][a-z0-9._-]*")
        entry = self._lookup(lambda d: d["signing"].get(purpose))
        if entry is None:

            def fn(doc: dict[str, Any]) -> dict[str, str]:
                if purpose not in doc["signing"]:  # another process may have won the race
                    doc["signing"][purpose] = {"seed": _b64(os.urandom(32)), "created_at": _now()}
                    log.info("keyring %s: created signing key for %s", self._path, purpose)
                return doc["signing"][purpose]  # type: ignore[no-any-return]

            entry = self._mutate(fn)
        return Ed25519PrivateKey.from_private_bytes(_unb64(entry["seed"]))

    # ---------------------------------------------------------------- MAC keys

    def mac_key(self, purpose: str) -> bytes:
        """A 32-byte HMAC-SHA256 key for authenticating records (``"catalog"`` rows,
        ``"audit"`` events); created on first use, persisted in the keyring, never on disk
        in clear."""
        if not isinstance(purpose, str) or not _PURPOSE.match(purpose):
            raise InputError(f"MAC key purpose {purpose!r} must match [a-z][a-z0-9._-]*")
        entry = self._lookup(lambda d: d.get("mac", {}).get(purpose))
        if entry is None:

            def fn(doc: dict[str, Any]) -> dict[str, str]:
                macs = doc.setdefault("mac", {})
                if purpose not in macs:  # another process may have won the race
                    macs[purpose] = {"key": _b64(os.urandom(32)), "created_at": _now()}
                    log.info("keyring %s: created MAC key for %s", self._path, purpose)
                return macs[purpose]  # type: ignore[no-any-return]

            entry = self._mutate(fn)
        return _unb64(entry["key"])

    # ---------------------------------------------------------------- flags

    def flag(self, name: str) -> str | None:
        """When ``name`` was set (ISO time), or None. Flags are facts the catalog cannot be
        trusted to keep, e.g. ``catalog-sealed``: the catalog's rows are authenticated."""
        with self._lock:
            found = self._doc.get("flags", {}).get(name)
        if found is None:
            self._refresh()
            with self._lock:
                found = self._doc.get("flags", {}).get(name)
        return found

    def set_flag(self, name: str) -> None:
        """Record ``name`` (idempotent)."""
        if not isinstance(name, str) or not _PURPOSE.match(name):
            raise InputError(f"flag name {name!r} must match [a-z][a-z0-9._-]*")

        def fn(doc: dict[str, Any]) -> None:
            doc.setdefault("flags", {}).setdefault(name, _now())

        self._mutate(fn)

    # ---------------------------------------------------------------- pseudonym keys

    def hmac_key(self, project: str, version: int | None = None) -> tuple[int, bytes]:
        if not isinstance(project, str) or not _PROJECT.match(project):
            raise InputError(f"project name {project!r} must match [A-Za-z0-9][A-Za-z0-9._-]*")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise InputError(f"HMAC key version must be an int, got {type(version).__name__}")

        def pick(doc: dict[str, Any]) -> tuple[int, bytes] | None:
            versions = doc["hmac"].get(project) or {}
            if version is None:
                if not versions:
                    return None
                v = max(int(k) for k in versions)
            else:
                v = version
            entry = versions.get(str(v))
            return None if entry is None else (v, _unb64(entry["key"]))

        found = self._lookup(pick)
        if found is not None:
            return found
        if version is not None:
            raise KeyAccessError(
                f"no HMAC pseudonym key version {version} for project {project!r} in keyring "
                f"{self._path}"
            )

        def fn(doc: dict[str, Any]) -> tuple[int, bytes]:
            if not doc["hmac"].get(project):
                doc["hmac"][project] = {"1": {"key": _b64(os.urandom(32)), "created_at": _now()}}
            return pick(doc)  # type: ignore[return-value]

        return self._mutate(fn)

    def rotate_hmac(self, project: str) -> int:
        """New pseudonym key version for ``project`` (becomes the latest); returns it."""
        self.hmac_key(project)  # creates version 1 first if the project has none

        def fn(doc: dict[str, Any]) -> int:
            versions = doc["hmac"][project]
            v = max(int(k) for k in versions) + 1
            versions[str(v)] = {"key": _b64(os.urandom(32)), "created_at": _now()}
            return v

        return self._mutate(fn)

    # ---------------------------------------------------------------- maintenance

    def change_passphrase(self, new_passphrase: str) -> None:
        """Re-encrypt the keyring under a new passphrase (fresh salt, current KDF profile)."""
        sealer = _new_sealer(new_passphrase)
        with self._lock, self._file_lock():
            doc = self._reload_locked()
            _atomic_write(self._path, sealer.seal(_dump(doc)), exclusive=False)
            self._sealer = sealer
        log.info("keyring %s: passphrase changed", self._path)

    def _secret_material_for_tests(self) -> Iterator[bytes]:
        """Raw KEKs, signing seeds and HMAC keys held now (tests scan files for them)."""
        with self._lock:
            doc = self._doc
            for entry in doc["keks"].values():
                yield _unb64(entry["key"])
            for entry in doc["signing"].values():
                yield _unb64(entry["seed"])
            for versions in doc["hmac"].values():
                for entry in versions.values():
                    yield _unb64(entry["key"])
            for entry in doc.get("mac", {}).values():
                yield _unb64(entry["key"])

    def describe(self) -> dict[str, Any]:
        """Non-secret metadata: KDF, KEK ids and dates, signing public keys, HMAC versions."""
        with self._lock:
            doc = self._doc
            signing = {
                p: {
                    "created_at": e["created_at"],
                    "public_key": Ed25519PrivateKey.from_private_bytes(_unb64(e["seed"]))
                    .public_key()
                    .public_bytes(Encoding.Raw, PublicFormat.Raw)
                    .hex(),
                }
                for p, e in doc["signing"].items()
            }
            return {
                "path": str(self._path),
                "kdf": {"name": _KDF_NAMES[self._sealer.kdf], "params": list(self._sealer.params)},
                "active_kek": doc["active_kek"],
                "keks": [
                    {"id": k, "created_at": v.get("created_at"), "retired_at": None}
                    for k, v in sorted(doc["keks"].items())
                ]
                + [
                    {"id": k, "created_at": v.get("created_at"), "retired_at": v.get("retired_at")}
                    for k, v in sorted(doc["retired_keks"].items())
                ],
                "signing": signing,
                "hmac": {p: sorted(int(v) for v in vs) for p, vs in doc["hmac"].items()},
                "mac": sorted(doc.get("mac", {})),
            }


def _dump(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _load_json(raw: bytes, path: Path) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise IntegrityError(f"keyring {path} is corrupt: payload is not JSON") from None


def _read_file(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(64 << 20)
    except FileNotFoundError:
        raise NotFoundError(
            f"keyring {path} does not exist; run `privtrain init` or set PRIVTRAIN_HOME"
        ) from None
    except OSError as e:
        raise KeyAccessError(f"keyring {path} is unreadable: {e.strerror}") from None
