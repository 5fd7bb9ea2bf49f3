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
