"""`privtrain fed ...`: federated training on Flower (the app lives in ``federated/``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from privtrain.cli._common import console, console_err, emit_json, state, table

app = typer.Typer(no_args_is_help=True)
JSON = typer.Option(False, "--json", help="machine-readable output")
SHARE_ENV = "PRIVTRAIN_FED_SHARE_PASSPHRASE"


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="fed", help="Federated training across sites (Flower).")


def _share_passphrase(confirm: bool) -> str:
    value = os.environ.get(SHARE_ENV)
    if value:
        return value
    if not os.isatty(0):
        from privtrain.errors import ConfigError

        raise ConfigError(f"no key-share passphrase: set {SHARE_ENV} or run interactively")
    return typer.prompt("key-share passphrase", hide_input=True, confirmation_prompt=confirm)


@app.command("keygen")
def keygen(
    ctx: typer.Context,
    federation: str = typer.Option(..., "--federation", "-f", help="federation name"),
    public_out: Path = typer.Option(
        ..., "--public-out", help="where to write the public context (for the server)"
    ),
    share_out: Path = typer.Option(
        None,
        "--share-out",
        help="write the secret context for the other sites, encrypted "
        f"under a key-share passphrase [env: {SHARE_ENV}]",
    ),
    json_out: bool = JSON,
) -> None:
    """New CKKS context for a federation: the secret context stays in this home (encrypted);
    the server gets only the public one."""
    from federated import he
    from privtrain._io import atomic_write_bytes

    ws = state(ctx).workspace()
    pub, sec = he.keygen(ws, federation)
    atomic_write_bytes(Path(public_out), pub, mode=0o644)
    if share_out is not None:
        atomic_write_bytes(
            Path(share_out), he.export_share(federation, sec, _share_passphrase(True))
        )
    out = {
        "federation": federation,
        "public_context": str(public_out),
        "public_sha256": he.fingerprint(pub),
        "share": str(share_out) if share_out else None,
    }
    if json_out:
        emit_json(out)
    else:
        console.print(
            f"federation [bold]{federation}[/]: secret context stored in this home; public "
            f"context {public_out} (sha256 {out['public_sha256']})"
            + (f"; key share {share_out}" if share_out else "")
        )


@app.command("import-key")
def import_key(
    ctx: typer.Context,
    share: Path = typer.Argument(..., help="key share written by `fed keygen --share-out`"),
    public: Path = typer.Option(..., "--public", help="the federation's public context"),
    json_out: bool = JSON,
) -> None:
    """Store a federation's secret context (from an encrypted key share) in this home."""
    from federated import he
    from privtrain.errors import NotFoundError

    ws = state(ctx).workspace()
    try:
        data, pub = Path(share).read_bytes(), Path(public).read_bytes()
    except FileNotFoundError as e:
        raise NotFoundError(f"file not found: {e.filename}") from None
    federation, secret = he.import_share(data, _share_passphrase(False), what=str(share))
    he.load_public(pub, what=str(public))
    if he.public_bytes(he.load_secret(secret)) != pub:
        from privtrain.errors import IntegrityError

        raise IntegrityError(f"{public} is not the public context of the key share {share}")
    he.store_secret(ws, federation, secret, pub)
    if json_out:
        emit_json({"federation": federation, "public_sha256": he.fingerprint(pub)})
    else:
        console.print(f"federation [bold]{federation}[/]: secret context stored in this home")


def _describe(ev: dict[str, Any]) -> str | None:
    kind = ev.get("event")
    if kind == "site_ready":
        return f"{ev['site']}: home ready ({ev['home']})"
    if kind == "he_keys":
        return f"HE keys for federation {ev['federation']} (public {ev['public_sha256']})"
    if kind == "nodes":
        return f"{ev['count']} SuperNode(s) connected"
    if kind == "site":
        why = f": {ev['reason']}" if ev.get("reason") else ""
        return f"{ev['name']}: {ev['status']}{why}"
    if kind == "round_start":
        return f"round {ev['round']}: training at {', '.join(ev['sites'])}"
    if kind == "round_end":
        lost = f" (lost: {', '.join(ev['lost'])})" if ev.get("lost") else ""
        n, secs = len(ev["sites"]), ev["seconds"]
        return f"round {ev['round']}: aggregated {n} site(s) in {secs:.1f} s{lost}"
    if kind in ("round_failed", "aborted", "failed"):
        return f"[yellow]{ev['reason']}[/]"
    return None


@app.command("local")
def local(
    ctx: typer.Context,
    dataset: str = typer.Option(..., "--dataset", "-d", help="dataset to split across sites"),
    sites: int = typer.Option(3, "--sites", help="number of sites"),
    aggregation: str = typer.Option("he", "--aggregation", help="he | secagg+ | none"),
    rounds: int = typer.Option(3, "--rounds", help="federated rounds"),
    local_steps: int = typer.Option(10, "--local-steps", help="DP-SGD steps per site and round"),
    epsilon: float = typer.Option(1.0, "--epsilon", "-e", help="ε each site pays for the job"),
    delta: float = typer.Option(1e-5, "--delta", help="δ"),
    site_budget: float = typer.Option(10.0, "--site-budget", help="each site's total ε budget"),
    min_sites: int = typer.Option(None, "--min-sites", help="sites needed per aggregate"),
    target: str = typer.Option("class", "--target", "-t", help="label column"),
    features: Path = typer.Option(None, "--features", help="declared feature spec (YAML)"),
    site_policy: Path = typer.Option(None, "--site-policy", help="site policy for every site"),
    workdir: Path = typer.Option(
        None, "--workdir", help="site homes, Flower homes and logs (default: HOME/tmp/fed-*)"
    ),
    reply_timeout: float = typer.Option(120.0, "--reply-timeout", help="seconds per round"),
    name: str = typer.Option("federated", "--name", help="name of the final model"),
    tls: bool = typer.Option(
        False,
        "--tls",
        help="TLS and SuperNode authentication with certificates from "
        "examples/federated/make_certs.sh, as across real machines",
    ),
    json_out: bool = JSON,
) -> None:
    """Run a federated job on the Deployment Engine on this machine: one SuperLink and one
    SuperNode per site (each with its own privtrain home) on 127.0.0.1."""
    import secrets

    from federated.job import AGGREGATIONS
    from federated.local import LocalFederation, LocalOptions
    from privtrain.errors import InputError

    if aggregation not in AGGREGATIONS:
        raise InputError(
            f"--aggregation: expected one of {', '.join(AGGREGATIONS)}, got {aggregation!r}"
        )
    if not 1 <= sites <= 32 or rounds < 1 or local_steps < 1:
        raise InputError("--sites must be 1..32, --rounds and --local-steps at least 1")
    st = state(ctx)
    ws = st.workspace()
    wd = workdir or ws.settings.tmp_dir / f"fed-{secrets.token_hex(4)}"
    opts = LocalOptions(
        dataset=dataset,
        workdir=Path(wd),
        sites=sites,
        aggregation=aggregation,
        rounds=rounds,
        local_steps=local_steps,
        epsilon=epsilon,
        delta=delta,
        site_budget=site_budget,
        min_sites=min_sites,
        target=target,
        features=features,
        site_policy=site_policy,
        reply_timeout=reply_timeout,
        model_name=name,
        tls=tls,
    )

    def on_event(ev: dict[str, Any]) -> None:
        line = _describe(ev)
        if line:
            (console_err if json_out else console).print(line, highlight=False)

    fed = LocalFederation(ws, opts, st.passphrase(), on_event=on_event)
    summary = fed.run()
    out = {
        "status": summary.get("status"),
        "rounds_completed": summary.get("rounds_completed", 0),
        "rounds_planned": rounds,
        "aggregation": aggregation,
        "model": (summary.get("model") or {}).get("ref"),
        "reason": summary.get("reason") or "",
        "sites": [
            {
                "name": s["name"],
                "status": s["status"],
                "epsilon": s.get("epsilon"),
                "reason": s.get("reason") or "",
            }
            for s in summary.get("sites", [])
        ],
        "workdir": str(wd),
    }
    if json_out:
        emit_json(out)
    else:
        table(
            f"federated job: {out['status']}, {out['rounds_completed']}/{rounds} rounds, "
            f"{aggregation}",
            ["site", "status", "ε spent", "reason"],
            [
                [
                    s["name"],
                    s["status"],
                    "" if s["epsilon"] is None else f"{s['epsilon']:.4f}",
                    s["reason"],
                ]
                for s in out["sites"]
            ],
        )
        console.print(
            f"model: {out['model'] or '(none)'}" + (f" — {out['reason']}" if out["reason"] else "")
        )
    if out["status"] != "completed":
        raise typer.Exit(12)
