"""Principals (users and services) and their bearer tokens.

Rows are authenticated: each principal and token row carries an HMAC-SHA256 (``mac``) under a
key derived from the keyring's ``access`` signing key, so someone who can write the catalog but
lacks the passphrase can neither grant a role nor plant a token; a row whose MAC does not verify
is treated as absent (and the attempt is audited by the caller).

Tokens are ``ptk_`` + 32 random bytes (``secrets.token_urlsafe``), shown once; only their
SHA-256 is stored (a high-entropy secret needs no slow hash). Each has an expiry and a scope.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from privtrain.catalog._models import AccessToken, Principal, new_id
from privtrain.errors import AccessDenied, ConflictError, InputError, NotFoundError

if TYPE_CHECKING:
    from privtrain.workspace import Workspace

ROLES = (
    "data-scientist",
    "privacy-officer",
    "admin",
    "ingestion",
    "trainer",
    "federated-client",
)
KINDS = ("user", "service")
# Token scopes: which actions a token may be used for (the policy still decides).
SCOPES = {
    "catalog:read": ("dataset.show", "model.show"),
    "datasets:read": ("dataset.read", "dataset.export"),
    "models:read": ("model.export",),
}
DEFAULT_SCOPE = tuple(SCOPES)
TOKEN_PREFIX = "ptk_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SITE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_TOKEN = re.compile(r"^ptk_[A-Za-z0-9_-]{43}$")
MAX_TTL = timedelta(days=366)


class AuthenticationError(AccessDenied):
    """A bearer token is missing, malformed, unknown, expired or revoked (HTTP 401)."""

    kind = "unauthenticated"


@dataclass(frozen=True)
class PrincipalInfo:
    id: str
    name: str
    kind: str
    site: str
    roles: tuple[str, ...]
    status: str
    created_at: str

    @property
    def active(self) -> bool:
        return self.status == "active"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["roles"] = list(self.roles)
        return d


@dataclass(frozen=True)
class TokenInfo:
    id: str
    principal: str
    scope: tuple[str, ...]
    created_at: str
    expires_at: str
    revoked_at: str | None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["scope"] = list(self.scope)
        return d


@dataclass(frozen=True)
class IssuedToken:
    """A fresh token. ``token`` is the secret: shown once, never stored."""

    token: str
    info: TokenInfo


# ------------------------------------------------------------------------------ row MACs
_KEYS: dict[int, bytes] = {}


def _mac_key(ws: Workspace) -> bytes:
    k = _KEYS.get(id(ws.keys))
    if k is None:
        seed = ws.keys.signing_key("access").private_bytes_raw()
        k = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"privtrain access rows v1"
        ).derive(seed)
        _KEYS[id(ws.keys)] = k
    return k


def _mac(key: bytes, fields: dict[str, Any]) -> str:
    body = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def _ts(v: datetime | None) -> str:
    if v is None:
        return ""
    if v.tzinfo is None:
        v = v.replace(tzinfo=UTC)
    return v.astimezone(UTC).isoformat(timespec="seconds")


def _principal_fields(p: Principal) -> dict[str, Any]:
    return {
        "t": "principal",
        "id": p.id,
        "name": p.name,
        "kind": p.kind,
        "site": p.site,
        "status": p.status,
        "roles": sorted(p.roles_json or []),
    }


def _token_fields(t: AccessToken) -> dict[str, Any]:
    return {
        "t": "token",
        "id": t.id,
        "principal_id": t.principal_id,
        "token_sha256": t.token_sha256,
        "scope": sorted(t.scope_json or []),
        "expires_at": _ts(t.expires_at),
        "revoked_at": _ts(t.revoked_at),
    }


def principal_row_ok(key: bytes, p: Principal) -> bool:
    return hmac.compare_digest(p.mac or "", _mac(key, _principal_fields(p)))


def _token_row_ok(key: bytes, t: AccessToken) -> bool:
    return hmac.compare_digest(t.mac or "", _mac(key, _token_fields(t)))


def _pinfo(p: Principal) -> PrincipalInfo:
    return PrincipalInfo(
        id=p.id,
        name=p.name,
        kind=p.kind,
        site=p.site,
        roles=tuple(sorted(p.roles_json or [])),
        status=p.status,
        created_at=_ts(p.created_at),
    )


def _tinfo(t: AccessToken, principal: str) -> TokenInfo:
    return TokenInfo(
        id=t.id,
        principal=principal,
        scope=tuple(sorted(t.scope_json or [])),
        created_at=_ts(t.created_at),
        expires_at=_ts(t.expires_at),
        revoked_at=_ts(t.revoked_at) or None,
    )


# ------------------------------------------------------------------------------ principals
def check_principal_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(
            f"invalid principal name {name!r}: use 1-64 letters, digits, '.', '_' or '-'"
        )


def _check_roles(roles: list[str] | tuple[str, ...]) -> list[str]:
    out = sorted(set(roles))
    for r in out:
        if r not in ROLES:
            raise InputError(f"unknown role {r!r}: use one of {', '.join(ROLES)}")
    return out


def add_principal(
    ws: Workspace,
    name: str,
    *,
    roles: list[str] | tuple[str, ...],
    site: str = "local",
    kind: str = "user",
) -> PrincipalInfo:
    """Register a user or service principal (custodian only: it needs the home's keys)."""
    check_principal_name(name)
    if kind not in KINDS:
        raise InputError(f"principal kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if not isinstance(site, str) or not _SITE.match(site):
        raise InputError(f"invalid site {site!r}: use letters, digits, '.', '_' or '-'")
    role_list = _check_roles(roles)
    key = _mac_key(ws)
    now = datetime.now(UTC)
    row = Principal(
        id=new_id(),
        name=name,
        kind=kind,
        site=site,
        status="active",
        roles_json=role_list,
        attributes_json={},
        created_at=now,
        updated_at=now,
    )
    row.mac = _mac(key, _principal_fields(row))
    try:
        with ws.write() as s:
            if s.scalar(select(Principal.id).where(Principal.name == name)) is not None:
                raise ConflictError(f"principal {name!r} already exists (see `privtrain users ls`)")
            s.add(row)
            s.flush()
            ws.record(
                "users.add",
                f"principal:{name}",
                decision="info",
                details={"roles": role_list, "site": site, "kind": kind},
                session=s,
            )
            info = _pinfo(row)
    except SAIntegrityError as e:
        raise ConflictError(f"principal {name!r} already exists") from e
    return info


def ensure_service_principal(
    ws: Workspace, name: str, *, site: str = "local", roles: list[str] | None = None
) -> PrincipalInfo:
    """Look up the service principal ``name``, creating it (kind ``service``) if missing.

    ``roles`` defaults to ``[name]`` when ``name`` is itself a role (``ingestion``, ``trainer``,
    ``federated-client``)."""
    try:
        return get_principal(ws, name)
    except NotFoundError:
        pass
    if roles is None:
        roles = [name] if name in ROLES else []
    try:
        return add_principal(ws, name, roles=roles, site=site, kind="service")
    except ConflictError:  # created concurrently
        return get_principal(ws, name)


def _load_principal(ws: Workspace, s: Any, name: str) -> Principal:
    row = s.scalar(select(Principal).where(Principal.name == name))
    if row is None:
        raise NotFoundError(f"no principal {name!r} (see `privtrain users ls`)")
    if not principal_row_ok(_mac_key(ws), row):
        from privtrain.errors import IntegrityError

        raise IntegrityError(
            f"principal {name!r}: catalog row does not match its MAC (edited without the keys)"
        )
    return row


def get_principal(ws: Workspace, name: str) -> PrincipalInfo:
    with ws.catalog.session() as s:
        return _pinfo(_load_principal(ws, s, name))


def list_principals(ws: Workspace) -> list[tuple[PrincipalInfo, bool]]:
    """Every principal with whether its row's MAC verifies."""
    key = _mac_key(ws)
    with ws.catalog.session() as s:
        rows = s.scalars(select(Principal).order_by(Principal.name)).all()
        return [(_pinfo(r), principal_row_ok(key, r)) for r in rows]


def set_status(ws: Workspace, name: str, status: str) -> PrincipalInfo:
    """``disabled`` (or back to ``active``); disabling also revokes every token."""
    if status not in ("active", "disabled"):
        raise InputError(f"status must be active or disabled, not {status!r}")
    key = _mac_key(ws)
    now = datetime.now(UTC)
    with ws.write() as s:
        row = _load_principal(ws, s, name)
        row.status = status
        row.updated_at = now
        row.mac = _mac(key, _principal_fields(row))
        revoked = 0
        if status == "disabled":
            for t in s.scalars(
                select(AccessToken).where(
                    AccessToken.principal_id == row.id, AccessToken.revoked_at.is_(None)
                )
            ):
                t.revoked_at = now
                t.mac = _mac(key, _token_fields(t))
                revoked += 1
        ws.record(
            "users.disable" if status == "disabled" else "users.enable",
            f"principal:{name}",
            decision="info",
            details={"tokens_revoked": revoked},
            session=s,
        )
        return _pinfo(row)


# ------------------------------------------------------------------------------ tokens
def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(
    ws: Workspace,
    principal: str,
    *,
    ttl: timedelta = timedelta(days=30),
    scope: list[str] | tuple[str, ...] = DEFAULT_SCOPE,
) -> IssuedToken:
    """A new bearer token for ``principal``; the secret is returned once and never stored."""
    if ttl <= timedelta(0) or ttl > MAX_TTL:
        raise InputError(f"token lifetime must be between 1 second and {MAX_TTL.days} days")
    scopes = sorted(set(scope))
    if not scopes:
        raise InputError("a token needs at least one scope")
    for sc in scopes:
        if sc not in SCOPES:
            raise InputError(f"unknown token scope {sc!r}: use {', '.join(SCOPES)}")
    key = _mac_key(ws)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = datetime.now(UTC).replace(microsecond=0)
    with ws.write() as s:
        p = _load_principal(ws, s, principal)
        if p.status != "active":
            raise ConflictError(f"principal {principal!r} is disabled; enable it first")
        row = AccessToken(
            id=new_id()[:16],
            principal_id=p.id,
            token_sha256=token_sha256(secret),
            scope_json=scopes,
            created_at=now,
            expires_at=now + ttl,
            revoked_at=None,
            created_by=ws.settings.identity,
        )
        row.mac = _mac(key, _token_fields(row))
        s.add(row)
        s.flush()
        ws.record(
            "tokens.issue",
            f"principal:{principal}",
            decision="info",
            details={"token_id": row.id, "scope": scopes, "expires_at": _ts(row.expires_at)},
            session=s,
        )
        info = _tinfo(row, principal)
    return IssuedToken(token=secret, info=info)


def revoke_token(ws: Workspace, token_id: str) -> TokenInfo:
    key = _mac_key(ws)
    with ws.write() as s:
        row = s.get(AccessToken, token_id)
        if row is None:
            raise NotFoundError(f"no token {token_id!r} (see `privtrain tokens ls`)")
        p = s.get(Principal, row.principal_id)
        name = p.name if p is not None else "?"
        if row.revoked_at is None:
            row.revoked_at = datetime.now(UTC).replace(microsecond=0)
            row.mac = _mac(key, _token_fields(row))
        ws.record(
            "tokens.revoke",
            f"principal:{name}",
            decision="info",
            details={"token_id": row.id},
            session=s,
        )
        return _tinfo(row, name)


def list_tokens(ws: Workspace, principal: str | None = None) -> list[TokenInfo]:
    with ws.catalog.session() as s:
        q = select(AccessToken, Principal.name).join(
            Principal, Principal.id == AccessToken.principal_id
        )
        if principal is not None:
            q = q.where(Principal.name == principal)
        rows = s.execute(q.order_by(AccessToken.created_at)).all()
        return [_tinfo(t, n) for t, n in rows]


def authenticate(ws: Workspace, token: str | None) -> tuple[PrincipalInfo, TokenInfo]:
    """The principal a bearer token stands for; AuthenticationError (audited) otherwise.

    Fails for a missing, malformed, unknown, expired or revoked token, a disabled principal,
    or a token/principal row whose MAC does not verify."""
    if not token:
        _deny_auth(ws, "anonymous", "missing", None)
    if not isinstance(token, str) or not _TOKEN.match(token):
        _deny_auth(ws, "anonymous", "malformed", None)
    digest = token_sha256(token)  # type: ignore[arg-type]
    key = _mac_key(ws)
    with ws.catalog.session() as s:
        row = s.scalar(select(AccessToken).where(AccessToken.token_sha256 == digest))
        if row is None:
            _deny_auth(ws, "anonymous", "unknown", None)
        p = s.get(Principal, row.principal_id)
        if p is None or not _token_row_ok(key, row) or not principal_row_ok(key, p):
            _deny_auth(ws, "anonymous", "row-mac-mismatch", row.id)
        tinfo = _tinfo(row, p.name)
        pinfo = _pinfo(p)
        revoked, expires = row.revoked_at, row.expires_at
    if revoked is not None:
        _deny_auth(ws, pinfo.name, "revoked", tinfo.id)
    if expires is not None and (
        expires.replace(tzinfo=UTC) if expires.tzinfo is None else expires
    ) <= datetime.now(UTC):
        _deny_auth(ws, pinfo.name, "expired", tinfo.id)
    if not pinfo.active:
        _deny_auth(ws, pinfo.name, "principal-disabled", tinfo.id)
    return pinfo, tinfo


def _deny_auth(ws: Workspace, actor: str, reason: str, token_id: str | None) -> Any:
    details: dict[str, Any] = {"reason": reason}
    if token_id is not None:
        details["token_id"] = token_id
    ws.audit.append(
        actor=actor,
        action="access.authenticate",
        resource="token",
        decision="deny",
        details=details,
    )
    raise AuthenticationError(f"bearer token rejected: {reason}")


def scope_allows(tinfo: TokenInfo, action: str) -> bool:
    return any(action in SCOPES.get(sc, ()) for sc in tinfo.scope)


def catalog_revision_sql() -> Any:
    """One cheap statement whose result changes whenever an entity the policies see changes."""
    return text(
        "SELECT (SELECT count(*) FROM datasets),"
        " (SELECT count(*) FROM datasets WHERE status = 'active'),"
        " (SELECT count(*) FROM models),"
        " (SELECT count(*) FROM models WHERE status = 'active'),"
        " (SELECT count(*) FROM principals),"
        " (SELECT max(updated_at) FROM principals)"
    )
