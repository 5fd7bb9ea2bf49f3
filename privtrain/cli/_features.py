"""`privtrain features plan`: a reviewable feature spec (features.yaml) for a dataset."""

from __future__ import annotations

from pathlib import Path

import typer

from privtrain.cli._common import console, emit_json, state

app = typer.Typer(no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="features", help="Feature specs (vocabularies, bounds) for training.")


@app.command("plan")
def plan(
    ctx: typer.Context,
    dataset: str = typer.Option(..., "--dataset", "-d", help="dataset NAME or NAME@vN"),
    target: str = typer.Option(..., "--target", "-t", help="label column"),
    epsilon: float = typer.Option(
        None, "--epsilon", "-e", help="ε for the DP statistics (charged to the dataset's budget)"
    ),
    skeleton: bool = typer.Option(
        False, "--skeleton", help="schema only (names, types): no statistic released, nothing spent"
    ),
    out: Path = typer.Option(None, "--out", "-o", help="write the spec here (default: stdout)"),
    json_out: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Write a reviewable features.yaml: categories by DP partition selection and numeric
    bounds by DP quantiles, charged to the dataset (--epsilon), or a skeleton (--skeleton)."""
    from privtrain import training
    from privtrain._io import atomic_write_text

    ws = state(ctx).workspace()
    with console.status("computing DP feature statistics…" if not skeleton else "reading schema…"):
        res = training.plan_features(ws, dataset, target, epsilon=epsilon, skeleton=skeleton)
    if out is not None:
        atomic_write_text(Path(out), res["yaml"])
    if json_out:
        emit_json({k: v for k, v in res.items() if k != "yaml"} | {"out": str(out or "")})
        return
    if out is None:
        typer.echo(res["yaml"], nl=False)
        return
    spent = (
        "nothing spent (skeleton)"
        if res["run_id"] is None
        else f"charged ε={res['epsilon']:.4f} (run {res['run_id'][:12]})"
    )
    console.print(f"wrote {out}: {len(res['spec']['columns'])} columns; {spent}")
    for n in res["notes"]:
        console.print(f"  left out {n}")
