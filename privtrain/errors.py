"""One exception hierarchy for privtrain.

Every error carries a stable process exit code (documented in README.md, "Exit codes").
Messages are one line and name the file / field / id at fault and, where possible, what to do
next. The CLI prints ``error: <message>`` and exits with ``exit_code``; the library only raises.
Messages never contain secrets or original PII values.
"""

from __future__ import annotations


class PrivtrainError(Exception):
    """Base class. ``exit_code`` is stable across releases."""

    exit_code: int = 1
    kind: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(PrivtrainError):
    """Settings, home directory or policy file are missing or invalid."""

    exit_code = 10
    kind = "config"


class InputError(PrivtrainError):
    """A user-supplied file, field or argument is malformed (names file/row/column)."""

    exit_code = 3
    kind = "input"


class NotFoundError(PrivtrainError):
    """A dataset, model, run, key or file that was named does not exist."""

    exit_code = 4
    kind = "not-found"


class ConflictError(PrivtrainError):
    """The thing being created already exists, or the state does not allow the operation."""

    exit_code = 11
    kind = "conflict"


class IntegrityError(PrivtrainError):
    """Authenticated data failed verification: tampering, truncation, broken audit chain,
    a model card whose signature or subject does not match."""

    exit_code = 5
    kind = "integrity"


class KeyAccessError(PrivtrainError):
    """A key cannot be used: wrong passphrase, unknown or shredded key, keyring unreadable."""

    exit_code = 6
    kind = "key"


class AccessDenied(PrivtrainError):
    """The access layer denied the request (the decision is in the audit log)."""

    exit_code = 7
    kind = "access-denied"


class BudgetExceeded(PrivtrainError):
    """A run would push a dataset's composed privacy cost over its budget."""

    exit_code = 8
    kind = "budget"


class BusyError(PrivtrainError):
    """Another process holds the catalog or a resource; retry later."""

    exit_code = 9
    kind = "busy"


class TrainingError(PrivtrainError):
    """Training failed (model/config problem); any reservation has been released."""

    exit_code = 12
    kind = "training"


ALL_ERRORS: tuple[type[PrivtrainError], ...] = (
    PrivtrainError,
    InputError,
    NotFoundError,
    IntegrityError,
    KeyAccessError,
    AccessDenied,
    BudgetExceeded,
    BusyError,
    ConfigError,
    ConflictError,
    TrainingError,
)


def first_validation_error(e: Exception, *, skip_loc: int = 0) -> tuple[str, str]:
    """``(location, message)`` of the first error of a pydantic ``ValidationError``, for the
    one-line messages above (location dotted, its first ``skip_loc`` parts dropped)."""
    err = e.errors()[0]  # type: ignore[attr-defined]
    loc = ".".join(str(x) for x in tuple(err.get("loc", ()))[skip_loc:])
    return loc, str(err.get("msg"))
