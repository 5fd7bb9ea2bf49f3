"""`privtrain users|tokens|access ...`, `privtrain serve`, `privtrain get`."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import typer

from privtrain.cli._common import console, emit_json, state, table
from privtrain.errors import InputError

JSON = typer.Option(False, "--json", help="machine-readable output")

users = typer.Typer(no_args_is_help=True)
tokens = typer.Typer(no_args_is_help=True)
access_app = typer.Typer(no_args_is_help=True)

_TTL = re.compile(r"^(\d+)([smhd])$")


def _ttl(value: str) -> timedelta:
    m = _TTL.match(value.strip())
    if not m:
        raise InputError(f"--ttl {value!r}: use a number and a unit s, m, h or d (e.g. 30d)")
    n, unit = int(m.group(1)), m.group(2)
    return timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[unit]: n})


# ----------------------------------------------------------------------------- users
@users.command("add")
def users_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="principal name (user or service)"),
    role: list[str] = typer.Option(
        [],
        "--role",
        "-r",
        help="role (repeatable): data-scientist, privacy-officer, admin, ingestion, trainer, "
        "federated-client",
    ),
    site: str = typer.Option("local", "--site", help="the principal's site"),
    service: bool = typer.Option(False, "--service", help="a service, not a person"),
    json_out: bool = JSON,
) -> None:
    """Register a principal (needs the custodian's passphrase)."""
    from privtrain import access

    info = access.add_principal(
        state(ctx).workspace(),
        name,
        roles=role,
        site=site,
        kind="service" if service else "user",
    )
    if json_out:
        emit_json(info.to_dict())
    else:
        console.print(
            f"added {info.kind} [bold]{info.name}[/] (site {info.site}, roles "
            f"{', '.join(info.roles) or '-'})"
        )


@users.command("ls")
def users_ls(ctx: typer.Context, json_out: bool = JSON) -> None:
    """List principals (a row whose MAC does not verify is marked and grants nothing)."""
    from privtrain import access

    rows = access.list_principals(state(ctx).workspace())
    if json_out:
        emit_json([{**p.to_dict(), "authentic": ok} for p, ok in rows])
        return
    table(
        "principals",
        ["name", "kind", "site", "roles", "status", "authentic", "created"],
        [
            [
                p.name,
                p.kind,
                p.site,
                ", ".join(p.roles),
                p.status,
                "yes" if ok else "NO",
                p.created_at,
            ]
            for p, ok in rows
        ],
    )


def _set_status(ctx: typer.Context, name: str, status: str, json_out: bool, said: str) -> None:
    from privtrain import access

    info = access.set_status(state(ctx).workspace(), name, status)
    if json_out:
        emit_json(info.to_dict())
    else:
        console.print(said.format(name=f"[bold]{info.name}[/]"))


@users.command("disable")
def users_disable(
    ctx: typer.Context, name: str = typer.Argument(...), json_out: bool = JSON
) -> None:
    """Disable a principal and revoke all its tokens."""
    _set_status(ctx, name, "disabled", json_out, "disabled {name}; its tokens are revoked")


@users.command("enable")
def users_enable(
    ctx: typer.Context, name: str = typer.Argument(...), json_out: bool = JSON
) -> None:
    """Re-enable a disabled principal (its old tokens stay revoked)."""
    _set_status(ctx, name, "active", json_out, "enabled {name}")


# ----------------------------------------------------------------------------- tokens
@tokens.command("issue")
def tokens_issue(
    ctx: typer.Context,
    principal: str = typer.Argument(..., help="principal the token acts as"),
    ttl: str = typer.Option("30d", "--ttl", help="lifetime: e.g. 3600s, 12h, 30d (max 366d)"),
    scope: list[str] = typer.Option(
        [], "--scope", help="catalog:read, datasets:read, models:read (repeatable; default all)"
    ),
    json_out: bool = JSON,
) -> None:
    """Issue a bearer token. It is printed once and stored only as a hash."""
    from privtrain import access

    issued = access.issue_token(
        state(ctx).workspace(),
        principal,
        ttl=_ttl(ttl),
        scope=scope or access.DEFAULT_SCOPE,
    )
    if json_out:
        emit_json({"token": issued.token, **issued.info.to_dict()})
        return
    i = issued.info
    console.print(
        f"token [bold]{i.id}[/] for {i.principal} (scope {', '.join(i.scope)}; expires "
        f"{i.expires_at}). Shown once, keep it secret:",
        highlight=False,
    )
    typer.echo(issued.token)


@tokens.command("revoke")
def tokens_revoke(
    ctx: typer.Context,
    token_id: str = typer.Argument(..., help="token id (see `privtrain tokens ls`)"),
    json_out: bool = JSON,
) -> None:
    """Revoke a token: it is refused (401) from now on."""
    from privtrain import access

    info = access.revoke_token(state(ctx).workspace(), token_id)
    if json_out:
        emit_json(info.to_dict())
    else:
        console.print(f"revoked token [bold]{info.id}[/] of {info.principal}")


@tokens.command("ls")
def tokens_ls(
    ctx: typer.Context,
    principal: str = typer.Argument(None, help="only this principal's tokens"),
    json_out: bool = JSON,
) -> None:
    """List tokens (ids, scope, expiry; never the secret)."""
    from privtrain import access

    infos = access.list_tokens(state(ctx).workspace(), principal)
    if json_out:
        emit_json([i.to_dict() for i in infos])
        return
    table(
        "tokens",
        ["id", "principal", "scope", "expires", "revoked"],
        [[i.id, i.principal, ", ".join(i.scope), i.expires_at, i.revoked_at or ""] for i in infos],
    )


# ----------------------------------------------------------------------------- access
@access_app.command("check")
def access_check(
    ctx: typer.Context,
    principal: str = typer.Argument(..., help="principal name (or the custodian's identity)"),
    action: str = typer.Argument(
        ..., help="dataset.show|read|export|shred, model.show|export, keys.rotate, budget.set"
    ),
    resource: str = typer.Argument(
        ..., help="dataset:NAME[@vN], model:NAME[@vN], keyring or budget:NAME"
    ),
    json_out: bool = JSON,
) -> None:
    """Explain a decision: allow/deny, the deciding policies and the resource's attributes.
    Exit code 7 when denied (the check itself is audited)."""
    from privtrain import access
    from privtrain.errors import AccessDenied

    dec = access.check(state(ctx).workspace(), principal, action, resource)
    if json_out:
        emit_json(dec.to_dict())
    else:
        color = "green" if dec.allowed else "red"
        console.print(
            f"[bold {color}]{dec.decision.upper()}[/] {dec.principal} ({dec.principal_type}) "
            f"{dec.action} {dec.resource}",
            highlight=False,
        )
        console.print(f"  reason: {dec.reason}", highlight=False)
        if dec.entity:
            attrs = ", ".join(f"{k}={_attr(v)}" for k, v in sorted(dec.entity.items()))
            console.print(f"  resource: {attrs}", highlight=False)
        for e in dec.errors:
            console.print(f"  evaluation error: {e}", highlight=False)
    if not dec.allowed:
        raise AccessDenied(f"{principal} may not {action} {resource}: {dec.reason}")


def _attr(v: object) -> str:
    if isinstance(v, dict) and "__extn" in v:
        return str(v["__extn"].get("arg"))
    if isinstance(v, list):
        return "[" + ", ".join(_attr(x) for x in v) + "]"
    if isinstance(v, dict) and "__entity" in v:
        return str(v["__entity"].get("id"))
    return str(v)


@access_app.command("policies")
def access_policies(ctx: typer.Context, json_out: bool = JSON) -> None:
    """Validate the access policies against their schema and list their ids."""
    from privtrain import access
    from privtrain.access._authorizer import policy_ids

    s = state(ctx).settings()
    ws = state(ctx).workspace() if s.keyring_path.exists() else None
    d = access.policy_dir(ws)
    _, _, text, _ = access.load_policies(d)
    ids = policy_ids(text)
    if json_out:
        emit_json({"directory": str(d), "valid": True, "policies": ids})
        return
    console.print(f"{d}: {len(ids)} policies, valid against the schema", highlight=False)
    for i in ids:
        console.print(f"  {i}", highlight=False)


@access_app.command("model-key")
def access_model_key(ctx: typer.Context, json_out: bool = JSON) -> None:
    """The model-signing public key, for clients to pin (`privtrain get --model-key`)."""
    from privtrain.access.service import _public_key_info

    info = _public_key_info(state(ctx).workspace())
    if json_out:
        emit_json(info)
    else:
        console.print(f"{info['keyid']}", highlight=False)
        typer.echo(info["public_key_hex"])


# ----------------------------------------------------------------------------- serve / get
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on"),
    port: int = typer.Option(8750, "--port", help="TCP port"),
    tls_cert: Path = typer.Option(None, "--tls-cert", help="PEM certificate (enables HTTPS)"),
    tls_key: Path = typer.Option(None, "--tls-key", help="PEM private key for --tls-cert"),
) -> None:
    """Run the registry service (holds the home; decrypts server-side for authorized tokens)."""
    from privtrain.access import authorizer_for
    from privtrain.access.service import serve as run

    ws = state(ctx).workspace()
    st = authorizer_for(ws).state(ws)  # an invalid policy stops here, with the validator's words
    scheme = "https" if tls_cert else "http"
    console.print(
        f"serving {ws.settings.home} on {scheme}://{host}:{port} "
        f"({st.n_policies} policies, {st.n_entities} entities); Ctrl-C stops",
        highlight=False,
    )
    run(
        ws,
        host=host,
        port=port,
        tls_cert=str(tls_cert) if tls_cert else None,
        tls_key=str(tls_key) if tls_key else None,
    )


def get(
    kind: str = typer.Argument(..., help="dataset or model"),
    ref: str = typer.Argument(..., help="NAME or NAME@vN"),
    server: str = typer.Option(
        None, "--server", help="registry URL [env: PRIVTRAIN_SERVER; default http://127.0.0.1:8750]"
    ),
    out: Path = typer.Option(..., "--out", "-o", help="destination (appears only once verified)"),
    model_key: str = typer.Option(
        None,
        "--model-key",
        help="pinned model-signing public key, hex [env: PRIVTRAIN_MODEL_KEY]; "
        "default: fetched from the server",
    ),
    cacert: Path = typer.Option(None, "--cacert", help="CA bundle to verify an HTTPS server"),
    purpose: str = typer.Option(
        "export", "--purpose", help="dataset only: export (a copy to keep) or read (to train on)"
    ),
    json_out: bool = JSON,
) -> None:
    """Download a dataset or model from a registry service with the token in PRIVTRAIN_TOKEN."""
    from privtrain.access.client import fetch

    res = fetch(
        server or os.environ.get("PRIVTRAIN_SERVER") or "http://127.0.0.1:8750",
        kind,
        ref,
        out,
        token=os.environ.get("PRIVTRAIN_TOKEN"),
        model_key=model_key or os.environ.get("PRIVTRAIN_MODEL_KEY"),
        verify_tls=str(cacert) if cacert else True,
        purpose=purpose,
    )
    if json_out:
        emit_json(res.to_dict())
        return
    extra = ""
    if res.card is not None:
        eps = (res.card.get("privacy") or {}).get("epsilon")
        extra = f"; card verified with {res.keyid} (ε = {eps})"
    console.print(f"fetched {res.kind} {res.ref} to {res.out} ({res.bytes} bytes{extra})")


def register(app: typer.Typer) -> None:
    app.add_typer(users, name="users", help="Principals: users and services.")
    app.add_typer(tokens, name="tokens", help="Bearer tokens of principals.")
    app.add_typer(access_app, name="access", help="Access policies and decisions.")
    app.command("serve")(serve)
    app.command("get")(get)
