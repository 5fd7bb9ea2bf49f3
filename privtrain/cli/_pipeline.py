"""`privtrain run pipeline.yaml` and `privtrain audit empirical`."""

from __future__ import annotations

from pathlib import Path

import typer

from privtrain.cli._common import console, emit_json, state

JSON = typer.Option(False, "--json", help="machine-readable output")


def register(app: typer.Typer) -> None:
    from privtrain.cli._audit import app as audit_app

    audit_app.command("empirical")(audit_empirical)
    app.command("run")(run)


def audit_empirical(
    ctx: typer.Context,
    dataset: str = typer.Option(..., "--dataset", "-d", help="dataset NAME or NAME@vN"),
    target: str = typer.Option(None, "--target", "-t", help="label column"),
    features: Path = typer.Option(
        None, "--features", help="features.yaml (declared; canaries are drawn from it)"
    ),
    config: Path = typer.Option(None, "--config", "-c", help="train.yaml of the audited run"),
    epsilon: float = typer.Option(None, "--epsilon", "-e", help="claimed ε of the audited run"),
    delta: float = typer.Option(None, "--delta", help="δ (default: the dataset budget's δ)"),
    epochs: float = typer.Option(None, "--epochs", help="training epochs"),
    canaries: int = typer.Option(1000, "--canaries", help="number of canaries"),
    model: str = typer.Option(
        None, "--model", help="audit the settings recorded in this model's signed card"
    ),
    html: Path = typer.Option(None, "--html", help="where to write the HTML report"),
    json_out: bool = JSON,
) -> None:
    """One-run empirical privacy audit (Steinke, Nasr & Jagielski 2023): ε lower bound vs the
    claimed ε. Its training run is charged to the dataset's budget."""
    from rich.progress import BarColumn, Progress, TextColumn

    from privtrain.empirical_audit import EmpiricalAuditOptions, audit_empirical

    ws = state(ctx).workspace()
    opts = EmpiricalAuditOptions(
        dataset=dataset,
        target=target,
        features_path=features,
        config_path=config,
        epsilon=epsilon,
        delta=delta,
        epochs=epochs,
        canaries=canaries,
        model=model,
        html=html,
    )
    with Progress(
        TextColumn("[bold]audit run[/]"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        console=console,
        disable=json_out,
        transient=True,
    ) as bar:
        task = bar.add_task("audit", total=None)

        def progress(step: int, total: int, *_: object) -> None:
            bar.update(task, completed=step, total=total)

        res = audit_empirical(ws, opts, progress=progress)
    if json_out:
        emit_json(res)
        return
    verdict = (
        "[bold red]PRIVACY BUG: ε_lower exceeds the claim[/]"
        if res["privacy_bug"]
        else "no violation found"
    )
    console.print(
        f"empirical audit of {res['dataset']}: ε_lower={res['epsilon_lower']:.3f} vs claimed "
        f"ε={res['epsilon_claimed']:.3f} (δ={res['delta']:g}, {res['canaries']} canaries, "
        f"{res['confidence']:.0%} confidence): {verdict}; report {res['report']}"
    )


def run(
    ctx: typer.Context,
    pipeline: Path = typer.Argument(..., help="pipeline.yaml"),
    force: str = typer.Option(None, "--force", help="rerun from this stage on"),
    json_out: bool = JSON,
) -> None:
    """Run a declarative pipeline (ingest, train, federated, audit, publish), resuming after
    the last completed stage and skipping stages whose inputs are unchanged."""
    from privtrain.pipeline import Pipeline, StageResult

    st = state(ctx)
    pipe = Pipeline.from_yaml(pipeline)

    def stage_line(s: StageResult) -> None:  # one line per stage, as each one ends
        if s.status == "not-run":
            line = f"{s.name:10s} {s.status:9s}"
        else:
            line = f"{s.name:10s} {s.status:9s} {s.summary} [{s.seconds:.0f} s]"
        console.print(line, highlight=False, soft_wrap=True, markup=False)

    res = pipe.run(
        settings=st.settings(),
        passphrase=st.passphrase,
        force=force,
        raise_on_error=False,
        on_stage=None if json_out else stage_line,
    )
    if json_out:
        emit_json(res.to_dict())
    else:
        from privtrain.ledger import format_epsilon

        spent = ", ".join(f"{k} {format_epsilon(v)}" for k, v in res.epsilon_spent.items())
        console.print(
            f"pipeline {res.name}: {res.status}; ε spent: {spent or '-'}; state {res.state_path}",
            soft_wrap=True,
            markup=False,
        )
    if res.error is not None:
        raise res.error
