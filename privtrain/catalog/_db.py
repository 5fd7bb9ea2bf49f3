"""The catalog database: engine set-up, sessions, write transactions, migrations.

SQLite (the default, one file in the home) and PostgreSQL (``postgresql+psycopg://...``) are
both supported through one code path:

- SQLite: WAL journal, ``PRAGMA busy_timeout``, foreign keys on. pysqlite's own implicit
  transaction handling is switched off (``isolation_level = None``) and SQLAlchemy's
  ``begin`` event emits ``BEGIN`` itself -- the recipe from the SQLAlchemy SQLite docs --
  so :meth:`Catalog.write_transaction` can emit ``BEGIN IMMEDIATE`` and take the write lock
  up front (read-then-write races become waits, not failures).
- PostgreSQL: ordinary READ COMMITTED transactions; ``lock_timeout`` is set per connection
  so a stuck lock surfaces as :class:`~privtrain.errors.BusyError` instead of a hang.
  Callers that read-modify-write use ``.with_for_update()`` inside ``write_transaction``.

Database errors are mapped: "locked"/"busy"/serialization/lock-timeout become
``BusyError``; an unreachable or un-migrated database becomes ``ConfigError``. Constraint
violations stay ``sqlalchemy.exc.IntegrityError`` for the caller to translate (it alone knows
whether a duplicate means "already exists" or "another process won the race").

The schema is created and upgraded only by the Alembic migrations shipped in
``privtrain/catalog/migrations`` (:meth:`Catalog.upgrade`).
"""

from __future__ import annotations

import functools
import logging
import sqlite3
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from privtrain.errors import BusyError, ConfigError, PrivtrainError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

_IMMEDIATE = "privtrain_begin_immediate"
# Key of the PostgreSQL advisory lock that serializes concurrent `upgrade()` calls.
_PG_MIGRATION_LOCK = zlib.crc32(b"privtrain.catalog.migrations")
_UPGRADE_ATTEMPTS = 8
_PG_BUSY_SQLSTATES = {
    "40001": "serialization failure",
    "40P01": "deadlock detected",
    "55P03": "lock not available",
}


def _first_line(text: str, limit: int = 300) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line[:limit]


def _busy_reason(orig: BaseException) -> str | None:
    """Why ``orig`` means "someone else holds the database", or None."""
    if isinstance(orig, sqlite3.Error):
        name = getattr(orig, "sqlite_errorname", "") or ""
        msg = str(orig).lower()
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or (
            "database is locked" in msg
            or "database table is locked" in msg
            or "database is busy" in msg
        ):
            return "database is locked" if "locked" in msg else "database is busy"
        return None
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate in _PG_BUSY_SQLSTATES:
        return _PG_BUSY_SQLSTATES[sqlstate]
    return None


def _is_dbapi_error(e: BaseException) -> bool:
    if isinstance(e, sqlite3.Error):
        return True
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is optional
        return False
    return isinstance(e, psycopg.Error)


class Catalog:
    """The privtrain catalog (datasets, keys, budgets, runs, models, principals, audit log).

    ``Catalog(url)`` only builds the engine; call :meth:`upgrade` once to create or upgrade
    the schema (``privtrain init`` does this). Sessions commit on success and roll back on
    any exception; objects stay usable after the session closes (``expire_on_commit=False``).
    """

    def __init__(self, url: str | URL, *, busy_timeout_s: float = 15.0) -> None:
        try:
            u = make_url(url)
        except sa_exc.ArgumentError as e:
            raise ConfigError(f"invalid catalog URL: {_first_line(str(e))}") from e
        backend = u.get_backend_name()
        if backend == "postgresql" and u.drivername == "postgresql":
            u = u.set(drivername="postgresql+psycopg")
        self.url: URL = u
        self.busy_timeout_s = float(busy_timeout_s)
        self._display = u.render_as_string(hide_password=True)
        if backend == "sqlite":
            self.engine: Engine = self._sqlite_engine(u)
        elif backend == "postgresql":
            self.engine = self._postgres_engine(u)
        else:
            raise ConfigError(
                f"unsupported catalog database {backend!r} in {self._display}; "
                "use sqlite:///PATH or postgresql+psycopg://..."
            )
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if backend == "sqlite":
            self._write_engine = self.engine.execution_options(**{_IMMEDIATE: True})
        else:
            self._write_engine = self.engine
        self._write_sessions = sessionmaker(self._write_engine, expire_on_commit=False)
        # Row sealing (privtrain.catalog._integrity): set by the workspace from the keyring.
        self.sealer: Any = None

    def attach_sealer(self, sealer: Any) -> None:
        """Seal rows on write and verify them on read in every later session."""
        self.sealer = sealer

    # ------------------------------------------------------------------ engines
    def _sqlite_engine(self, u: URL) -> Engine:
        database = u.database or ""
        in_memory = database in ("", ":memory:") or "mode=memory" in str(u.query)
        if not in_memory:
            parent = Path(database).expanduser().absolute().parent
            if not parent.is_dir():
                raise ConfigError(
                    f"catalog directory {parent} does not exist; run `privtrain init` "
                    "or set PRIVTRAIN_HOME"
                )
        engine = create_engine(
            u, connect_args={"timeout": self.busy_timeout_s, "check_same_thread": False}
        )
        busy_ms = int(self.busy_timeout_s * 1000)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Hand transaction control to SQLAlchemy (see the module docstring).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            try:
                cur.execute(f"PRAGMA busy_timeout = {busy_ms}")
                cur.execute("PRAGMA foreign_keys = ON")
                # Deleted rows (shredded data keys) are overwritten, not left in free pages.
                cur.execute("PRAGMA secure_delete = ON")
                if not in_memory:
                    cur.execute("PRAGMA journal_mode = WAL")
            finally:
                cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            if conn.get_execution_options().get(_IMMEDIATE):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")

        return engine

    def _postgres_engine(self, u: URL) -> Engine:
        engine = create_engine(u, pool_pre_ping=True, connect_args={"connect_timeout": 10})
        lock_ms = int(self.busy_timeout_s * 1000)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            try:
                cur.execute(f"SET lock_timeout = {lock_ms}")
            finally:
                cur.close()
            dbapi_conn.commit()

        return engine

    # ------------------------------------------------------------------ properties
    @property
    def dialect_name(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @property
    def safe_url(self) -> str:
        """The URL with any password masked (for messages and `privtrain status`)."""
        return self._display

    def __repr__(self) -> str:
        return f"Catalog({self._display!r})"

    def close(self) -> None:
        """Close pooled connections (the catalog can still be used afterwards)."""
        self.engine.dispose()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ errors
    def _translate(self, e: BaseException) -> PrivtrainError | None:
        """Map a database exception to a privtrain error (None: not a database error)."""
        if isinstance(e, sa_exc.DBAPIError):
            orig: BaseException = e.orig if e.orig is not None else e
        elif _is_dbapi_error(e):
            orig = e
        else:
            return None
        reason = _busy_reason(orig)
        if reason is not None:
            return BusyError(f"catalog is busy ({reason}); retry")
        if isinstance(e, sa_exc.IntegrityError):
            # Constraint violations stay sqlalchemy.exc.IntegrityError: only the caller knows
            # what a duplicate means (a concurrent import, a name clash, ...).
            return None
        text = _first_line(str(orig))
        lowered = text.lower()
        if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
            return ConfigError(
                f"catalog {self._display} has no schema or an old one ({text}); "
                "run `privtrain init` (or Catalog.upgrade())"
            )
        if isinstance(e, sa_exc.OperationalError) or isinstance(orig, sqlite3.OperationalError):
            return ConfigError(f"cannot use catalog {self._display}: {text}")
        return None

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except PrivtrainError:
            raise
        except Exception as e:
            mapped = self._translate(e)
            if mapped is None:
                raise
            raise mapped from e

    # ------------------------------------------------------------------ sessions
    @contextmanager
    def _scope(self, factory: sessionmaker[Session], *, write: bool) -> Iterator[Session]:
        from privtrain.catalog._integrity import SEALER_KEY, WRITE_KEY

        with self._guard():
            s = factory(info={SEALER_KEY: self.sealer, WRITE_KEY: write})
            try:
                if not write and self.sealer is not None and self.dialect_name == "postgresql":
                    # Verifying a sealed group compares rows with their head: one snapshot.
                    s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
                yield s
                s.commit()
            except BaseException:
                try:
                    s.rollback()
                except Exception:  # the original error matters more
                    log.debug("rollback after error failed", exc_info=True)
                raise
            finally:
                s.close()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on error.

        On SQLite this is a deferred transaction: fine for reads and for writes that do not
        depend on what they read. For read-modify-write use :meth:`write_transaction`. With a
        sealer attached, PostgreSQL runs it at REPEATABLE READ (one snapshot, so a sealed
        group and its head are read consistently; a conflicting write raises BusyError).
        """
        with self._scope(self._sessions, write=False) as s:
            yield s

    @contextmanager
    def write_transaction(self) -> Iterator[Session]:
        """A unit of work that holds the write lock from its first statement.

        SQLite: ``BEGIN IMMEDIATE`` (waits up to the busy timeout for other writers, then
        raises ``BusyError``). PostgreSQL: an ordinary transaction; lock the rows you read
        with ``select(...).with_for_update()``.
        """
        with self._scope(self._write_sessions, write=True) as s:
            if self.dialect_name == "sqlite":
                s.connection()  # start the transaction (BEGIN IMMEDIATE) now
            yield s

    # ------------------------------------------------------------------ migrations
    def _alembic_config(self) -> Any:
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
        cfg.set_main_option("path_separator", "os")
        return cfg

    def upgrade(self, revision: str = "head") -> None:
        """Create or upgrade the schema in place (``alembic upgrade <revision>``).

        Safe to call concurrently from several processes: SQLite serializes through
        ``BEGIN IMMEDIATE``, PostgreSQL through an advisory transaction lock.
        """
        for attempt in range(_UPGRADE_ATTEMPTS):
            try:
                if revision == "head" and self.current_revision() == self.head_revision():
                    return  # the common case: no write lock needed
                self._upgrade_once(revision)
                break
            except BusyError:
                # SQLite may answer BUSY at once (no busy-wait) when two fresh connections
                # race to set up the schema; the loser re-checks and usually finds it done.
                if attempt == _UPGRADE_ATTEMPTS - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))
        log.info("catalog %s at revision %s", self._display, revision)

    def _upgrade_once(self, revision: str) -> None:
        from alembic import command
        from alembic.util import CommandError

        cfg = self._alembic_config()
        try:
            with self._guard(), self._write_engine.begin() as conn:
                if self.dialect_name == "postgresql":
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
        except CommandError as e:
            raise ConfigError(
                f"cannot upgrade catalog {self._display} to {revision!r}: {_first_line(str(e))}"
                " (was it created by a newer privtrain?)"
            ) from e

    def current_revision(self) -> str | None:
        """The schema revision the database is at (None: not initialized)."""
        from alembic.runtime.migration import MigrationContext

        with self._guard(), self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    @staticmethod
    @functools.cache
    def head_revision() -> str:
        """The newest schema revision this version of privtrain ships."""
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
        cfg.set_main_option("path_separator", "os")
        head = ScriptDirectory.from_config(cfg).get_current_head()
        assert head is not None
        return head

    def check_revision(self) -> None:
        """Raise ``ConfigError`` unless the database is at :meth:`head_revision`."""
        current, head = self.current_revision(), self.head_revision()
        if current != head:
            raise ConfigError(
                f"catalog {self._display} is at schema revision {current or 'none'}, "
                f"this privtrain needs {head}; run `privtrain init` to upgrade it"
            )
