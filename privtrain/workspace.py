"""A privtrain home, assembled: settings, key provider, catalog, audit log and blob cipher.

``Workspace.init`` creates a home; ``Workspace.open`` opens an existing one (upgrading the
catalog schema in place when an older privtrain created it). Every security-relevant verb of
the library takes a Workspace.

The workspace attaches the keyring's ``catalog`` MAC key to the catalog (every row the
ledger and the registry compute from is sealed and verified, see
:mod:`privtrain.catalog._integrity`) and the ``audit`` MAC key to the audit log. The home is
kept private: directories 0700, files 0600, whatever the umask.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from privtrain._io import atomic_write_text
from privtrain.access.auditlog import AuditLog
from privtrain.catalog import AuditEvent, Catalog, DataKey, Dataset, IntegrityHead, Model
from privtrain.catalog._integrity import META, RowSealer, seal_all, unsealed_rows
from privtrain.config import Settings
from privtrain.crypto import BlobCipher, KeyProvider, LocalKeyring, WrappedKey
from privtrain.crypto._keyring import MIN_PASSPHRASE_CHARS
from privtrain.errors import (
    ConfigError,
    ConflictError,
    InputError,
    IntegrityError,
    PrivtrainError,
)

try:  # POSIX only; without it rotation is not serialized with writers across processes
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

# Temp files older than this in the home's tmp/ and blobs/ are leftovers of killed processes.
_STALE_TMP_SECONDS = 15 * 60
# What privtrain's writers name their temp files: _io.atomic_write_bytes (".NAME.XXXX.tmp")
# and the blob writer (".NAME.XXXX.ptb-tmp").
_TEMP_SUFFIXES = (".tmp", ".ptb-tmp")
# The sealed marker "this catalog's rows are authenticated" (written by init / seal-catalog).
_SEALED_MARKER = (META, "sealed")
_SEALED_FLAG = "catalog-sealed"


def check_passphrase(passphrase: object) -> str:
    """InputError unless ``passphrase`` is acceptable for a new keyring (>= 12 characters of
    text that encodes as UTF-8)."""
    if not isinstance(passphrase, str) or not passphrase:
        raise ConfigError("an empty passphrase is not allowed; set PRIVTRAIN_PASSPHRASE")
    try:
        passphrase.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(
            "the passphrase is not valid UTF-8 text (check PRIVTRAIN_PASSPHRASE's encoding)"
        ) from None
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        raise InputError(
            f"the passphrase has {len(passphrase)} characters; use at least "
            f"{MIN_PASSPHRASE_CHARS} (a few random words)"
        )
    return passphrase


@dataclass
class Workspace:
    settings: Settings
    keys: KeyProvider
    catalog: Catalog
    audit: AuditLog
    cipher: BlobCipher

    # -- construction -------------------------------------------------------------------
    @classmethod
    def init(cls, settings: Settings, passphrase: str) -> Workspace:
        """Create a new home: keyring, migrated catalog, first audit event."""
        if settings.keyring_path.exists():
            raise ConflictError(
                f"privtrain home {settings.home} is already initialized "
                f"({settings.keyring_path.name} exists)"
            )
        check_passphrase(passphrase)
        settings.ensure_home()
        keys = LocalKeyring.create(settings.keyring_path, passphrase)
        ws = cls._assemble(settings, keys)
        ws._ensure_sealed()
        ws.audit.append(
            actor=settings.identity,
            action="home.init",
            resource=f"home:{settings.home.name}",
            decision="info",
            details={"kek_id": keys.active_kek_id()},
        )
        return ws

    @classmethod
    def open(cls, settings: Settings, passphrase: str, *, sealing: bool = False) -> Workspace:
        """Open an existing home. ``sealing``: for :meth:`seal_catalog` only (an old catalog
        whose rows have no MACs yet is opened instead of refused)."""
        settings.require_initialized()
        settings.ensure_home()
        keys = LocalKeyring.open(settings.keyring_path, passphrase)
        ws = cls._assemble(settings, keys)
        ws.sweep_stale_temp_files()
        if not sealing:
            ws._ensure_sealed()
        return ws

    @classmethod
    def _assemble(cls, settings: Settings, keys: KeyProvider) -> Workspace:
        _harden_home(settings)
        catalog = Catalog(settings.resolved_catalog_url)
        catalog.upgrade()
        _harden_home(settings)  # SQLite may have created the WAL/SHM files just now
        catalog.attach_sealer(RowSealer(keys.mac_key("catalog")))
        audit = AuditLog(
            catalog,
            keys.signing_key("audit"),
            checkpoint_every=settings.audit_checkpoint_every,
            mac_key=keys.mac_key("audit"),
        )
        return cls(
            settings=settings, keys=keys, catalog=catalog, audit=audit, cipher=BlobCipher(keys)
        )

    # -- authenticated catalog ----------------------------------------------------------
    def _ensure_sealed(self) -> None:
        """A catalog is either sealed (marker present: every row must verify) or empty (then
        it is marked sealed now). An older catalog holding unauthenticated rows is refused
        until the custodian seals it once (:meth:`seal_catalog`)."""
        with self.catalog.session() as s:  # the common case: no write lock needed
            if s.get(IntegrityHead, _SEALED_MARKER) is not None:
                self._set_keyring_flag()
                return
        if self._keyring_flag() is not None:
            raise IntegrityError(
                f"catalog {self.catalog.safe_url}: its sealed marker is missing, but the "
                "keyring says this catalog was sealed: it was tampered with (or belongs to "
                "another home); restore it from a backup"
            )
        with self.write() as s:
            if s.get(IntegrityHead, _SEALED_MARKER) is not None:
                return
            pending = unsealed_rows(s) + int(
                s.scalar(
                    select(func.count()).select_from(AuditEvent).where(AuditEvent.mac.is_(None))
                )
                or 0
            )
            if pending:
                raise ConfigError(
                    f"catalog {self.catalog.safe_url} holds {pending} rows written by an older "
                    "privtrain, without MACs; check it (privtrain audit verify), then run "
                    "`privtrain keys seal-catalog` once. If this catalog was sealed before, "
                    "its sealed marker was deleted: restore it from a backup instead"
                )
            s.add(IntegrityHead(kind=_SEALED_MARKER[0], name=_SEALED_MARKER[1], count=1, acc="0"))
        self._set_keyring_flag()

    def _keyring_flag(self) -> str | None:
        flag = getattr(self.keys, "flag", None)
        return flag(_SEALED_FLAG) if callable(flag) else None

    def _set_keyring_flag(self) -> None:
        """The keyring (which the catalog's attacker cannot edit) remembers that this home's
        catalog is sealed, so stripping every MAC and the marker cannot pass for an old
        catalog that needs sealing."""
        if self._keyring_flag() is None:
            set_flag = getattr(self.keys, "set_flag", None)
            if callable(set_flag):
                set_flag(_SEALED_FLAG)

    def seal_catalog(self) -> dict[str, Any]:
        """Authenticate a catalog written by a privtrain without row MACs (custodian, once).

        Refused when any audit event already carries a MAC (the catalog was sealed before:
        rows without MACs there were inserted or stripped by someone else) and when the audit
        chain or its signed checkpoints do not verify. Whatever the rows say now becomes
        authenticated: check them first."""
        with self.catalog.session() as s:
            if s.get(IntegrityHead, _SEALED_MARKER) is not None:
                raise ConflictError("the catalog is already sealed; nothing to do")
        if self._keyring_flag() is not None:
            raise IntegrityError(
                "refusing to seal: the keyring says this catalog was sealed before, so its "
                "rows without MACs were stripped or planted; restore it from a backup"
            )
        rep = AuditLog(
            self.catalog, self.keys.signing_key("audit"), self.settings.audit_checkpoint_every
        ).verify()
        if not rep.ok and rep.kind != "unsigned_tail":
            rep.raise_for_problem()
        with self.write() as s:
            if s.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.mac.is_not(None))
            ):
                raise IntegrityError(
                    "refusing to seal: audit events already carry MACs, so this catalog was "
                    "sealed before and its unauthenticated rows were tampered with"
                )
            counts = seal_all(s, self.catalog.sealer)
            mac_key = self.keys.mac_key("audit")
            from privtrain.access.auditlog import event_mac

            events = 0
            for ev in s.scalars(select(AuditEvent).order_by(AuditEvent.seq)):
                ev.mac = event_mac(mac_key, ev.hash)
                head_seq, head_hash = int(ev.seq), ev.hash
                events += 1
            if events:
                s.add(IntegrityHead(kind="audit", name="head", count=head_seq, acc=head_hash))
            s.add(IntegrityHead(kind=_SEALED_MARKER[0], name=_SEALED_MARKER[1], count=1, acc="0"))
            s.flush()
            self.record(
                "catalog.seal",
                "catalog",
                decision="info",
                details={"rows": counts, "audit_events": events},
                session=s,
            )
        self._set_keyring_flag()
        return {"rows": counts, "audit_events": events}

    # -- helpers ------------------------------------------------------------------------
    def blob_path(self, relative: str) -> Path:
        return self.settings.home / relative

    def record(
        self,
        action: str,
        resource: str,
        *,
        decision: str = "allow",
        details: dict[str, Any] | None = None,
        session: Session | None = None,
    ) -> None:
        self.audit.append(
            actor=self.settings.identity,
            action=action,
            resource=resource,
            decision=decision,
            details=details or {},
            session=session,
        )

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self.catalog.write_transaction() as s:
            yield s

    def sweep_stale_temp_files(self, max_age_s: float = _STALE_TMP_SECONDS) -> list[Path]:
        """Remove temp files that a killed process left in the home (``*.tmp`` from atomic
        writes, ``*.ptb-tmp`` from the blob writer; ciphertext only: plaintext is never
        written inside the home) once they are older than ``max_age_s``. Only regular files
        are removed; directories, whatever their name, are left alone."""
        removed: list[Path] = []
        now = time.time()
        for d in (self.settings.tmp_dir, self.settings.blob_dir):
            if not d.is_dir():
                continue
            for p in d.rglob("*"):
                if not p.name.endswith(_TEMP_SUFFIXES):
                    continue
                try:
                    st = p.lstat()
                    if not _is_regular(st.st_mode) or now - st.st_mtime <= max_age_s:
                        continue
                    p.unlink()
                    removed.append(p)
                except OSError:  # vanished, or not ours to remove: never fail the command
                    continue
        return removed

    # -- passphrase -----------------------------------------------------------------------
    def change_passphrase(self, new_passphrase: str) -> None:
        """Re-encrypt the keyring under a new passphrase (>= 12 characters); audited."""
        check_passphrase(new_passphrase)
        change = getattr(self.keys, "change_passphrase", None)
        if not callable(change):
            raise ConfigError("this key provider has no passphrase to change")
        change(new_passphrase)
        self.record("keys.passphrase", "keyring", decision="info", details={"changed": True})

    # -- writers vs rotation --------------------------------------------------------------
    @contextmanager
    def _keys_lock(self, exclusive: bool) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover
            yield
            return
        path = self.settings.home / "rotation.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)

    @contextmanager
    def key_use(self) -> Iterator[None]:
        """Held by a writer from wrapping a new data key until it is registered: a rotation
        waits for it (and it for a rotation), so no data key is wrapped under a KEK that a
        concurrent rotation then destroys."""
        with self._keys_lock(exclusive=False):
            yield

    def current_wrap(self, blob: Path, wrapped: WrappedKey) -> WrappedKey:
        """``wrapped`` re-wrapped under the active KEK if a rotation happened since it was
        wrapped (called by writers inside their registering transaction)."""
        refresh = getattr(self.keys, "refresh", None)
        if callable(refresh):
            refresh()
        if wrapped.kek_id == self.keys.active_kek_id():
            return wrapped
        return self.cipher.rewrap(blob, wrapped)

    # -- key rotation -------------------------------------------------------------------
    def rotate_keys(self) -> dict[str, Any]:
        """New key-encryption key; every data key re-wrapped under it; every older KEK
        destroyed; no blob rewritten.

        Exclusive with writers (:meth:`key_use`) and all-or-nothing: if re-wrapping fails,
        the catalog is rolled back, the new KEK is destroyed and the old one stays active;
        the failed attempt is audited. KEKs left live by an earlier interrupted rotation are
        destroyed too once nothing in the catalog is wrapped under them."""
        with self._keys_lock(exclusive=True):
            refresh = getattr(self.keys, "refresh", None)
            if callable(refresh):
                refresh()
            old = self.keys.active_kek_id()
            new: str | None = None
            try:
                new = self.keys.rotate()
                count = 0
                with self.write() as s:
                    if self.catalog.dialect_name == "postgresql":
                        s.execute(text("LOCK TABLE data_keys IN EXCLUSIVE MODE"))
                    for row in s.scalars(select(DataKey).where(DataKey.kek_id != new)).all():
                        blob = self._blob_for_file_id(s, row.file_id)
                        if blob is None:
                            continue  # its blob is gone: nothing left to decrypt
                        old_key = WrappedKey(kek_id=row.kek_id, ciphertext=bytes(row.wrapped))
                        wrapped = self.cipher.rewrap(blob, old_key)
                        row.kek_id = wrapped.kek_id
                        row.wrapped = wrapped.ciphertext
                        row.rotated_at = datetime.now(UTC)
                        count += 1
                    self.record(
                        "keys.rotate",
                        "keyring",
                        decision="info",
                        details={"old_kek_id": old, "new_kek_id": new, "rewrapped": count},
                        session=s,
                    )
            except BaseException as e:
                if new is not None:
                    undo = getattr(self.keys, "undo_rotate", None)
                    if callable(undo):
                        try:
                            undo(new, old)
                        except PrivtrainError:
                            log.exception("could not undo the rotation to %s", new)
                with contextlib.suppress(Exception):
                    self.record(
                        "keys.rotate",
                        "keyring",
                        decision="deny",
                        details={
                            "ok": False,
                            "old_kek_id": old,
                            "error": type(e).__name__,
                            "message": str(e)[:200],
                        },
                    )
                raise
            checkpoints = self._rewrap_checkpoints(new)
            retired = self._retire_inactive()
        return {
            "old_kek_id": old,
            "new_kek_id": new,
            "rewrapped": count,
            "checkpoints_rewrapped": checkpoints,
            "retired": retired,
            "old_retired": old in retired,
        }

    def _rewrap_checkpoints(self, new: str) -> int:
        """Re-wrap the data keys of encrypted training checkpoints (tmp/runs/*/ckpt-N.key)."""
        n = 0
        runs = self.settings.tmp_dir / "runs"
        if not runs.is_dir():
            return 0
        for keyfile in runs.glob("*/ckpt-*.key"):
            blob = keyfile.with_suffix(".ptb")
            try:
                meta = json.loads(keyfile.read_text())
                if meta.get("kek_id") == new or not blob.is_file():
                    continue
                old = WrappedKey(
                    kek_id=meta["kek_id"], ciphertext=base64.b64decode(meta["wrapped"])
                )
                w = self.cipher.rewrap(blob, old)
                atomic_write_text(
                    keyfile,
                    json.dumps(
                        {"kek_id": w.kek_id, "wrapped": base64.b64encode(w.ciphertext).decode()}
                    ),
                )
                n += 1
            except (OSError, ValueError, KeyError, PrivtrainError) as e:
                log.warning("checkpoint %s could not be re-wrapped (%s)", keyfile, e)
        return n

    def _retire_inactive(self) -> list[str]:
        """Destroy every live KEK but the active one that no data key row still uses."""
        live = getattr(self.keys, "live_kek_ids", None)
        retire = getattr(self.keys, "retire", None)
        if not callable(live) or not callable(retire):
            return []
        active = self.keys.active_kek_id()
        done = []
        with self.catalog.session() as s:
            used = set(s.scalars(select(DataKey.kek_id).distinct()))
        for kek in live():
            if kek == active:
                continue
            if kek in used:
                log.warning("key-encryption key %s still wraps data keys; not retired", kek)
                continue
            retire(kek)
            done.append(kek)
        if done:
            self.record("keys.retire", "keyring", decision="info", details={"retired": done})
        return done

    def _blob_for_file_id(self, s: Session, file_id: str) -> Path | None:
        for table in (Dataset, Model):
            rel = s.scalar(select(table.blob_path).where(table.file_id == file_id))
            if rel:
                return self.blob_path(rel)
        return None


def _is_regular(mode: int) -> bool:
    import stat

    return stat.S_ISREG(mode)


def _harden_home(settings: Settings) -> None:
    """Directories of the home 0700, its files 0600, whatever the umask they were made
    under; the SQLite catalog file is created 0600 before SQLite opens it."""
    home = settings.home
    db = home / "catalog.db"
    if settings.catalog_url is None and home.is_dir():
        with contextlib.suppress(FileExistsError, OSError):
            os.close(os.open(db, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for d in (home, settings.blob_dir, settings.tmp_dir):
        _chmod(d, 0o700)
    if home.is_dir():  # privtrain's own files only: a home may sit next to the user's files
        for p in home.iterdir():
            if p.name.startswith(("catalog.db", "keyring.enc")) or p.name == "rotation.lock":
                _chmod(p, 0o600)
    for d in (settings.blob_dir, settings.tmp_dir):
        if d.is_dir():
            for p in d.rglob("*"):
                _chmod(p, 0o700 if p.is_dir() else 0o600)


def _chmod(p: Path, mode: int) -> None:
    with contextlib.suppress(OSError):
        st = p.lstat()
        import stat

        if stat.S_ISLNK(st.st_mode):
            return
        if stat.S_IMODE(st.st_mode) != mode:
            os.chmod(p, mode)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
