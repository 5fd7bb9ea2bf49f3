"""`privtrain audit ...`."""

from __future__ import annotations

from pathlib import Path

import typer

from privtrain.cli._common import console, emit_json, state, table

app = typer.Typer(no_args_is_help=True)
JSON = typer.Option(False, "--json", help="machine-readable output")


@app.command("verify")
def verify(
    ctx: typer.Context,
    witness: Path = typer.Option(
        None, "--witness", help="a checkpoint exported earlier (catches deleted newest events)"
    ),
    json_out: bool = JSON,
) -> None:
    """Verify the hash chain and every signed checkpoint; names the first broken event."""
    ws = state(ctx).workspace()
    rep = ws.audit.verify(ws.keys.signing_key("audit").public_key(), witness=witness)
    if json_out:
        emit_json(rep.to_dict())
    rep.raise_for_problem()
    if not json_out:
        console.print(
            f"audit log ok: {rep.events} events, {rep.checkpoints} signed checkpoints verified"
            + (" (and the witness checkpoint)" if witness else "")
        )


@app.command("show")
def show(
    ctx: typer.Context,
    limit: int = typer.Option(50, "--limit", "-n", help="newest N events (0 = all)"),
    json_out: bool = JSON,
) -> None:
    """Show the newest audit events."""
    ws = state(ctx).workspace()
    events = ws.audit.events()
    if limit:
        events = events[-limit:]
    if json_out:
        emit_json(events)
        return
    table(
        "audit log",
        ["seq", "time", "actor", "action", "resource", "decision"],
        [
            [e["seq"], str(e["ts"])[:19], e["actor"], e["action"], e["resource"], e["decision"]]
            for e in events
        ],
    )


@app.command("export-checkpoint")
def export_checkpoint(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", "-o", help="file to write the signed checkpoint to"),
    json_out: bool = JSON,
) -> None:
    """Write the latest signed checkpoint (for an external witness)."""
    ws = state(ctx).workspace()
    cp = ws.audit.export_checkpoint(out)
    if json_out:
        emit_json(cp)
    else:
        console.print(f"wrote checkpoint at event {cp['seq']} to {out}")
