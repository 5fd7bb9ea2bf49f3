"""`privtrain datasets ...`."""

from __future__ import annotations

from pathlib import Path

import typer

from privtrain.cli._common import console, emit_json, human_bytes, state, table

app = typer.Typer(no_args_is_help=True)

JSON = typer.Option(False, "--json", help="machine-readable output")


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="file to store encrypted (kept as-is, registered raw)"),
    name: str = typer.Option(..., "--name", "-n", help="dataset name"),
    site: str = typer.Option("local", "--site", help="site that holds the data"),
    json_out: bool = JSON,
) -> None:
    """Store FILE encrypted in the catalog as a `raw` dataset (new version if NAME exists)."""
    from privtrain import datasets

    ws = state(ctx).workspace()
    with console.status(f"encrypting {file.name}…"):
        info = datasets.import_file(ws, file, name, site=site)
    if json_out:
        emit_json(info.to_dict())
    else:
        size = human_bytes(info.plaintext_bytes)
        console.print(f"imported [bold]{info.ref}[/] ({size}, {info.sensitivity})")


@app.command("ls")
def ls(ctx: typer.Context, json_out: bool = JSON) -> None:
    """List datasets (every version)."""
    from privtrain import datasets

    infos = datasets.list_datasets(state(ctx).workspace())
    if json_out:
        emit_json([i.to_dict() for i in infos])
        return
    table(
        "datasets",
        ["ref", "sensitivity", "status", "size", "site", "created", "by"],
        [
            [
                i.ref,
                i.sensitivity,
                i.status,
                human_bytes(i.plaintext_bytes),
                i.site,
                i.created_at[:19],
                i.created_by,
            ]
            for i in infos
        ],
    )


@app.command("show")
def show(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="NAME, NAME@vN or id"),
    json_out: bool = JSON,
) -> None:
    """Show one dataset."""
    from privtrain import datasets

    info = datasets.show(state(ctx).workspace(), ref)
    if json_out:
        emit_json(info.to_dict())
        return
    for k, v in info.to_dict().items():
        if k != "schema":
            console.print(f"[bold]{k:>18}[/]  {v}")
    if info.schema:
        cols = info.schema.get("columns", {})
        shown = ", ".join(f"{k}: {v}" for k, v in cols.items()) if cols else ""
        console.print(f"[bold]{'columns':>18}[/]  {shown}")
        if "plan_sha256" in info.schema:
            console.print(
                f"[bold]{'deid plan':>18}[/]  {info.schema.get('plan_source')} "
                f"(sha256 {str(info.schema['plan_sha256'])[:16]}…; full plan in --json)"
            )


@app.command("export")
def export(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="NAME, NAME@vN or id"),
    out: Path = typer.Option(..., "--out", "-o", help="destination file (written atomically)"),
    json_out: bool = JSON,
) -> None:
    """Decrypt a dataset to OUT (after every segment verifies)."""
    from privtrain import datasets

    info = datasets.export(state(ctx).workspace(), ref, out)
    if json_out:
        emit_json({"ref": info.ref, "out": str(out)})
    else:
        console.print(f"exported {info.ref} to {out}")


@app.command("shred")
def shred(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="NAME@vN or id (a bare NAME means the latest version)"),
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask for confirmation"),
    json_out: bool = JSON,
) -> None:
    """Crypto-shred a dataset: destroy its data key; the blob becomes unreadable forever."""
    from privtrain import datasets

    ws = state(ctx).workspace()
    row = datasets.get(ws, ref)
    if not yes:
        typer.confirm(f"shred {row.name}@v{row.version} forever?", abort=True)
    info = datasets.shred(ws, ref)
    if json_out:
        emit_json(info.to_dict())
    else:
        console.print(f"shredded {info.ref}: its data key is destroyed")
