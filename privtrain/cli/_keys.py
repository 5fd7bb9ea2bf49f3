"""`privtrain keys ...`."""

from __future__ import annotations

import typer

from privtrain.cli._common import console, emit_json, state

app = typer.Typer(no_args_is_help=True)


@app.command("rotate")
def rotate(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """New key-encryption key; every data key re-wrapped under it; no blob rewritten."""
    ws = state(ctx).workspace()
    with console.status("re-wrapping data keys…"):
        res = ws.rotate_keys()
    if json_out:
        emit_json(res)
    else:
        console.print(
            f"rotated {res['old_kek_id']} -> [bold]{res['new_kek_id']}[/]; "
            f"{res['rewrapped']} data keys re-wrapped"
            + ("; old KEK destroyed" if res["old_retired"] else "")
        )


@app.command("passphrase")
def passphrase(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Change the keyring passphrase (re-keys the keyring under the current KDF profile).

    The new passphrase comes from PRIVTRAIN_NEW_PASSPHRASE or is asked for twice."""
    import os

    from privtrain.errors import ConfigError

    st = state(ctx)
    ws = st.workspace()
    new = os.environ.get("PRIVTRAIN_NEW_PASSPHRASE")
    if new is None:
        if not os.isatty(0):
            raise ConfigError(
                "no new passphrase: set PRIVTRAIN_NEW_PASSPHRASE or run interactively"
            )
        new = typer.prompt("new keyring passphrase", hide_input=True, confirmation_prompt=True)
    ws.change_passphrase(new)
    if json_out:
        emit_json({"changed": True})
    else:
        console.print("keyring passphrase changed; old keyring backups keep the old one")


@app.command("seal-catalog")
def seal_catalog(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Authenticate (MAC) every row of a catalog written by an older privtrain, once.

    Run it only right after upgrading, after checking the catalog: whatever it holds now
    becomes authenticated. Refused when the catalog was sealed before."""
    st = state(ctx)
    st.sealing = True
    ws = st.workspace()
    res = ws.seal_catalog()
    if json_out:
        emit_json(res)
    else:
        console.print(
            f"sealed {sum(res['rows'].values())} catalog rows and {res['audit_events']} audit "
            "events"
        )
