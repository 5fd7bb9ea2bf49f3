"""A privtrain home, assembled: settings, key provider, catalog, audit log and blob cipher.

``Workspace.init`` creates a home; ``Workspace.open`` opens an existing one (upgrading the
catalog schema in place when an older privtrain created it). Every security-relevant verb of
the library takes a Workspace.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from privtrain.access.auditlog import AuditLog
from privtrain.catalog import Catalog, DataKey, Dataset, Model
from privtrain.config import Settings
from privtrain.crypto import BlobCipher, KeyProvider, LocalKeyring, WrappedKey
from privtrain.errors import ConfigError, ConflictError

# Temp files older than this in the home's tmp/ and blobs/ are leftovers of killed processes.
_STALE_TMP_SECONDS = 15 * 60


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
        if not passphrase:
            raise ConfigError("an empty passphrase is not allowed; set PRIVTRAIN_PASSPHRASE")
        settings.ensure_home()
        keys = LocalKeyring.create(settings.keyring_path, passphrase)
        ws = cls._assemble(settings, keys)
        ws.audit.append(
            actor=settings.identity,
            action="home.init",
            resource=f"home:{settings.home.name}",
            decision="info",
            details={"kek_id": keys.active_kek_id()},
        )
        return ws

    @classmethod
    def open(cls, settings: Settings, passphrase: str) -> Workspace:
        settings.require_initialized()
        settings.ensure_home()
        keys = LocalKeyring.open(settings.keyring_path, passphrase)
        ws = cls._assemble(settings, keys)
        ws.sweep_stale_temp_files()
        return ws

    @classmethod
    def _assemble(cls, settings: Settings, keys: KeyProvider) -> Workspace:
        catalog = Catalog(settings.resolved_catalog_url)
        catalog.upgrade()
        audit = AuditLog(
            catalog, keys.signing_key("audit"), checkpoint_every=settings.audit_checkpoint_every
        )
        return cls(
            settings=settings, keys=keys, catalog=catalog, audit=audit, cipher=BlobCipher(keys)
        )

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

    def sweep_stale_temp_files(self) -> list[Path]:
        """Remove temp files (ciphertext only: privtrain never writes plaintext temps outside
        decrypt targets) that a killed process left behind."""
        removed: list[Path] = []
        now = time.time()
        for d in (self.settings.tmp_dir, self.settings.blob_dir):
            if not d.is_dir():
                continue
            for p in d.iterdir():
                if ".tmp" not in p.name:
                    continue
                try:
                    if now - p.stat().st_mtime > _STALE_TMP_SECONDS:
                        p.unlink()
                        removed.append(p)
                except FileNotFoundError:
                    pass
        return removed

    # -- key rotation -------------------------------------------------------------------
    def rotate_keys(self) -> dict[str, Any]:
        """New key-encryption key; every data key re-wrapped under it; no blob rewritten."""
        old = self.keys.active_kek_id()
        new = self.keys.rotate()
        count = 0
        with self.write() as s:
            rows = s.scalars(select(DataKey)).all()
            for row in rows:
                blob = self._blob_for_file_id(s, row.file_id)
                if blob is None:
                    continue
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
        retired = False
        retire = getattr(self.keys, "retire", None)
        if callable(retire):
            retire(old)
            retired = True
        return {"old_kek_id": old, "new_kek_id": new, "rewrapped": count, "old_retired": retired}

    def _blob_for_file_id(self, s: Session, file_id: str) -> Path | None:
        for table in (Dataset, Model):
            rel = s.scalar(select(table.blob_path).where(table.file_id == file_id))
            if rel:
                return self.blob_path(rel)
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
