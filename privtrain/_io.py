"""Small file helpers: atomic writes (temp in the same directory, fsync, rename)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (best effort: not every filesystem allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(
    path: Path, data: bytes, *, mode: int = 0o600, exclusive: bool = False, mkdir: bool = True
) -> None:
    """Write ``data`` to ``path`` through a temp file in the same directory, fsync, rename.

    On any failure the temp file is removed and ``path`` is untouched. With ``exclusive`` an
    existing ``path`` is never replaced (FileExistsError)."""
    path = Path(path)
    if mkdir:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        if exclusive:
            os.link(tmp, path)  # fails if path exists
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str, *, mode: int = 0o600) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def read_yaml_mapping(
    path: Path,
    what: str,
    *,
    error: type[Exception] | None = None,
    missing: type[Exception] | None = None,
    nested: str | None = None,
) -> dict[str, Any]:
    """Load a YAML file whose top level is a mapping, with one-line errors naming ``what`` and
    the file: ``missing`` (default ``error``) when it does not exist, ``error`` (default
    ConfigError) when it cannot be read, is not YAML or not a mapping. With ``nested``, a
    top-level ``{nested: {...}}`` is unwrapped."""
    import yaml

    from privtrain.errors import ConfigError

    error = error or ConfigError
    missing = missing or error
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise missing(f"{what} {p} not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise error(f"{what} {p} cannot be read: {e}") from None
    except yaml.YAMLError as e:
        raise error(f"{what} {p} is not valid YAML: {str(e).splitlines()[0]}") from None
    if nested and isinstance(data, dict) and isinstance(data.get(nested), dict):
        data = data[nested]
    if not isinstance(data, dict):
        raise error(f"{what} {p}: expected a mapping at the top level")
    return data
