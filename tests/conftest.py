"""Shared fixtures: real catalogs on SQLite and on a real PostgreSQL server.

- ``pg_url`` (session): starts a throw-away PostgreSQL server from Debian's ``postgresql``
  package (``/usr/lib/postgresql/*/bin``) on a free port of 127.0.0.1 and yields
  ``postgresql+psycopg://postgres@127.0.0.1:PORT/privtrain_test``. Skips, with the reason
  shown, when the server binaries are not installed.
- ``pg_database_url``: a fresh, empty PostgreSQL database per test (dropped afterwards).
- ``catalog_url``: parametrized over ``sqlite`` and ``postgresql`` (the latter marked
  ``postgres``): the URL of a fresh database already migrated to head.
- ``catalog``: a :class:`privtrain.catalog.Catalog` on ``catalog_url``.
- ``sqlite_catalog``: a migrated SQLite catalog in ``tmp_path``.
- ``policy`` / ``engine``: the default (Safe Harbor) de-identification policy and a detection
  engine for it, loaded once per session (a module may override both, e.g. with a profile).
- ``adult_head``: ``adult_head(rows)`` is a CSV of the header and first ``rows`` rows of UCI
  Adult (``../shared/data/adult``), made once per session; skips when the data is absent.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from privtrain.catalog import Catalog

ADULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "adult" / "adult.data.csv"
PG_MISSING = "PostgreSQL server binaries not found: install Debian's postgresql package"


def _pg_bindir() -> Path | None:
    """Directory holding initdb/pg_ctl: $PRIVTRAIN_PG_BINDIR, else the newest Debian one."""
    override = os.environ.get("PRIVTRAIN_PG_BINDIR")
    if override:
        candidates = [override]
    else:

        def _major(p: str) -> float:
            try:
                return float(Path(p).parent.parent.name)
            except ValueError:
                return 0.0

        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_major, reverse=True)
        candidates = [str(Path(p).parent) for p in found]
    for c in candidates:
        if (Path(c) / "initdb").is_file() and (Path(c) / "pg_ctl").is_file():
            return Path(c)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_pg_user(cmd: list[str]) -> list[str]:
    """initdb refuses to run as root: run the server tools as the ``postgres`` user."""
    if os.geteuid() != 0:
        return cmd
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *cmd]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(cmd)]


def _run(cmd: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    p = subprocess.run(_as_pg_user(cmd), capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def _admin_connect(port: int, dbname: str = "postgres"):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(
        host="127.0.0.1", port=port, user="postgres", dbname=dbname, autocommit=True
    )


@pytest.fixture(scope="session")
def pg_server() -> Iterator[int]:
    """A real PostgreSQL server for the test session; yields its port."""
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip(PG_MISSING)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed: pip install 'privtrain[postgres]'")

    # /tmp: short socket paths, and reachable by the postgres user when we run as root.
    root = Path(tempfile.mkdtemp(prefix="privtrain-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        import pwd

        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
    os.chmod(root, 0o700)
    data = root / "data"
    logfile = root / "server.log"
    started = False
    port = 0
    try:
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )
        last_error = ""
        for _attempt in range(5):
            port = _free_port()
            opts = (
                f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=100"
            )
            p = subprocess.run(
                _as_pg_user(
                    [
                        str(bindir / "pg_ctl"),
                        "-D",
                        str(data),
                        "-l",
                        str(logfile),
                        "-o",
                        opts,
                        "-w",
                        "-t",
                        "60",
                        "start",
                    ]
                ),
                capture_output=True,
                text=True,
                timeout=120,
            )
            if p.returncode == 0:
                started = True
                break
            last_error = p.stderr.strip() or p.stdout.strip()
        if not started:
            log_tail = logfile.read_text(errors="replace")[-2000:] if logfile.exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {last_error}\n{log_tail}")
        deadline = time.monotonic() + 30
        while True:
            try:
                with _admin_connect(port) as conn:
                    conn.execute("CREATE DATABASE privtrain_test")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield port
    finally:
        if started:
            subprocess.run(
                _as_pg_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_url(pg_server: int) -> str:
    """URL of the session's PostgreSQL test database (``privtrain_test``)."""
    return f"postgresql+psycopg://postgres@127.0.0.1:{pg_server}/privtrain_test"


@pytest.fixture()
def pg_database_url(pg_server: int) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    with _admin_connect(pg_server) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{pg_server}/{name}"
    finally:
        with contextlib.suppress(Exception), _admin_connect(pg_server) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture()
def sqlite_url(tmp_path: Path) -> str:
    """URL of a not-yet-created SQLite catalog file in ``tmp_path``."""
    return f"sqlite:///{tmp_path / 'catalog.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database migrated to head, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'catalog.db'}"
    else:
        url = request.getfixturevalue("pg_database_url")
    cat = Catalog(url)
    try:
        cat.upgrade()
    finally:
        cat.close()
    return url


@pytest.fixture()
def catalog(catalog_url: str) -> Iterator[Catalog]:
    """A :class:`Catalog` on ``catalog_url`` (both backends)."""
    cat = Catalog(catalog_url)
    try:
        yield cat
    finally:
        cat.close()


@pytest.fixture()
def sqlite_catalog(tmp_path: Path) -> Iterator[Catalog]:
    """A migrated SQLite catalog in ``tmp_path``."""
    cat = Catalog(f"sqlite:///{tmp_path / 'catalog.db'}")
    cat.upgrade()
    try:
        yield cat
    finally:
        cat.close()


@pytest.fixture(scope="session")
def adult_head(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], Path]:
    made: dict[int, Path] = {}

    def head(rows: int) -> Path:
        if not ADULT.exists():
            pytest.skip(f"UCI Adult data not found at {ADULT}")
        if rows not in made:
            out = tmp_path_factory.mktemp("adult") / f"adult_{rows}.csv"
            lines = ADULT.read_text().splitlines()
            out.write_text("\n".join(lines[: rows + 1]) + "\n")
            made[rows] = out
        return made[rows]

    return head


@pytest.fixture(scope="session")
def policy():  # noqa: ANN201
    from privtrain.deid import load_policy

    return load_policy()


@pytest.fixture(scope="session")
def engine(policy):  # noqa: ANN001, ANN201
    from privtrain.deid import get_engine

    return get_engine(phone_regions=policy.detection.phone_regions)
