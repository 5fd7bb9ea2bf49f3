"""`privtrain train`, `privtrain budget ...`, `privtrain models ...`."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from privtrain.cli._common import console, emit_json, state, table

JSON = typer.Option(False, "--json", help="machine-readable output")

budget_app = typer.Typer(no_args_is_help=True)
models_app = typer.Typer(no_args_is_help=True)


def _ledger(ctx: typer.Context):  # noqa: ANN202
    from privtrain.ledger import Ledger

    ws = state(ctx).workspace()
    return ws, Ledger(ws.catalog, identity=ws.settings.identity, audit=ws.audit)


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.add_typer(budget_app, name="budget", help="Privacy budgets and the ledger.")
    app.add_typer(models_app, name="models", help="Trained models and their signed cards.")


def train(
    ctx: typer.Context,
    dataset: str = typer.Option(None, "--dataset", "-d", help="dataset NAME or NAME@vN"),
    target: str = typer.Option(None, "--target", "-t", help="label column"),
    epsilon: float = typer.Option(None, "--epsilon", "-e", help="target ε for this run"),
    delta: float = typer.Option(None, "--delta", help="δ (default: the dataset budget's δ)"),
    epochs: int = typer.Option(None, "--epochs", help="training epochs"),
    config: Path = typer.Option(None, "--config", "-c", help="train.yaml (TrainConfig fields)"),
    features: Path = typer.Option(
        None, "--features", help="features.yaml: declared vocabularies and bounds"
    ),
    name: str = typer.Option(None, "--name", help="model name (default: DATASET-TARGET)"),
    no_dp: bool = typer.Option(False, "--no-dp", help="non-private baseline (gated)"),
    allow_non_private: bool = typer.Option(
        False,
        "--allow-non-private",
        help="confirm a --no-dp run: the dataset's spend becomes ε=∞; its model can't be exported",
    ),
    exact_metrics: bool = typer.Option(
        False,
        "--exact-metrics",
        help="put EXACT held-out metrics on the card (not DP; audited, stated on the card)",
    ),
    resume: str = typer.Option(
        None, "--resume", help="resume killed run RUN_ID from its encrypted checkpoint"
    ),
    json_out: bool = JSON,
) -> None:
    """Train a model on a catalog dataset under DP-SGD, charged to the dataset's budget."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from privtrain import training

    if resume is None and (dataset is None or target is None):
        raise typer.BadParameter("--dataset and --target are required (or --resume RUN_ID)")
    ws = state(ctx).workspace()
    opts = training.TrainOptions(
        dataset=dataset,
        target=target,
        epsilon=epsilon,
        delta=delta,
        epochs=epochs,
        config_path=config,
        features_path=features,
        model_name=name,
        no_dp=no_dp,
        allow_non_private=allow_non_private,
        exact_metrics=exact_metrics,
    )
    # Steps and ε only: a loss on private rows would be a free, noise-free statistic.
    with Progress(
        TextColumn("[bold]training[/]"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TextColumn("ε {task.fields[eps]}"),
        TimeRemainingColumn(),
        console=console,
        disable=json_out,
        transient=True,
    ) as bar:
        task = bar.add_task("train", total=None, eps="-")

        def progress(step: int, total: int, eps: float | None) -> None:
            bar.update(
                task,
                completed=step,
                total=total,
                eps="-" if eps is None else ("∞" if math.isinf(eps) else f"{eps:.3f}"),
            )

        if resume is not None:
            res = training.resume(ws, resume, progress=progress)
        else:
            res = training.train(ws, opts, progress=progress)
    if json_out:
        emit_json(res)
        return
    q = res["quality"]
    eps = (
        "non-private: the dataset's spend is now ε=∞"
        if res["non_private"]
        else f"ε={res['epsilon']:.3f}, δ={res['delta']:g}"
    )

    def fmt(v: object) -> str:
        return "n/a" if v is None else f"{v:.4f}"

    how = {"gaussian": "DP release", "none": "none"}.get(q.get("release"), "EXACT, not DP")
    console.print(
        f"trained [bold]{res['model']}[/] on {res['dataset']} ({eps}); held-out accuracy "
        f"{fmt(q.get('accuracy'))}, AUC {fmt(q.get('auc'))} ({how})"
    )


# -- budget ---------------------------------------------------------------------------------
@budget_app.command("set")
def budget_set(
    ctx: typer.Context,
    dataset: str = typer.Argument(..., help="dataset name (the budget covers every version)"),
    epsilon: float = typer.Option(..., "--epsilon", "-e", help="total ε"),
    delta: float = typer.Option(1e-5, "--delta", help="δ"),
    json_out: bool = JSON,
) -> None:
    """Set a dataset's privacy budget."""
    from privtrain import datasets

    ws, led = _ledger(ctx)
    datasets.get(ws, dataset)  # must exist
    st = led.set_budget(dataset, epsilon, delta)
    if json_out:
        emit_json(st.to_dict())
    else:
        console.print(f"budget of [bold]{dataset}[/]: ε={epsilon:g}, δ={delta:g}")


@budget_app.command("show")
def budget_show(
    ctx: typer.Context,
    dataset: str = typer.Argument(None, help="dataset name (default: all)"),
    json_out: bool = JSON,
) -> None:
    """Budget, spent and remaining ε per dataset (recomputed by the accountant)."""
    ws, led = _ledger(ctx)
    sts = [led.status(dataset)] if dataset else led.budgets()
    if json_out:
        emit_json([s.to_dict() for s in sts] if not dataset else sts[0].to_dict())
        return
    from privtrain.ledger import format_epsilon

    table(
        "privacy budgets",
        ["dataset", "budget ε", "δ", "spent ε", "spent+reserved ε", "remaining ε", "runs"],
        [
            [
                s.dataset,
                f"{s.epsilon_total:g}",
                f"{s.delta:g}",
                format_epsilon(s.epsilon_spent),
                format_epsilon(s.epsilon_reserved),
                f"{s.remaining:.4f}",
                f"{s.committed_runs} committed, {s.reserved_runs} reserved",
            ]
            for s in sts
        ],
    )


@budget_app.command("history")
def budget_history(
    ctx: typer.Context,
    dataset: str = typer.Argument(..., help="dataset name"),
    json_out: bool = JSON,
) -> None:
    """Every run charged to a dataset, with its mechanism history."""
    ws, led = _ledger(ctx)
    runs = led.history(dataset)
    if json_out:
        emit_json(runs)
        return
    from privtrain.ledger import format_epsilon

    def eps(v: object) -> str:
        return format_epsilon(None if v is None else float(v))  # type: ignore[arg-type]

    table(
        f"runs on {dataset}",
        ["run", "status", "kind", "created", "history (σ, q, steps)", "ε planned", "ε actual"],
        [
            [
                r["run_id"][:12],
                r["status"] + (" (failed)" if r.get("failed") else ""),
                r["kind"],
                (r["created_at"] or "")[:19],
                str(r["history"]),
                eps(r["epsilon_planned"] or 0.0),
                eps(r["epsilon_actual"]),
            ]
            for r in runs
        ],
    )


@budget_app.command("reconcile")
def budget_reconcile(
    ctx: typer.Context,
    release: bool = typer.Option(
        False, "--release", help="also settle killed runs that could be resumed"
    ),
    json_out: bool = JSON,
) -> None:
    """Settle reservations of runs whose process died (killed training).

    A killed run that left an encrypted checkpoint stays reserved (still counted) and is
    listed as recoverable: resume it with `privtrain train --resume RUN_ID`, or settle it
    with --release. Others are settled: charged the steps they recorded as executed, or
    released if they executed nothing."""
    from privtrain import training

    out = training.reconcile(state(ctx).workspace(), release_recoverable=release)
    if json_out:
        emit_json(out)
        return
    for o in out:
        if o["action"] == "released":
            console.print(f"released {o['run_id']} (process {o['owner']} is gone)")
        elif o["action"] == "charged":
            console.print(
                f"charged {o['run_id']} for the steps it executed (process {o['owner']} is gone)"
            )
        elif o["action"] == "recoverable":
            console.print(
                f"run {o['run_id']} is recoverable: `privtrain train --resume {o['run_id']}` "
                "or `privtrain budget reconcile --release`"
            )
        else:
            console.print(f"left {o['run_id']} (owner {o['owner']} is running or remote)")
    if not out:
        console.print("no open reservations")


@budget_app.command("report")
def budget_report(
    ctx: typer.Context,
    html: Path = typer.Option(..., "--html", help="output HTML file (self-contained)"),
) -> None:
    """HTML report: budget vs spent over time, runs, ε-vs-steps, accuracy vs ε."""
    from privtrain.report import budget_report_html

    ws, led = _ledger(ctx)
    with console.status("rendering report…"):
        budget_report_html(ws, led, html)
    console.print(f"wrote {html}")


# -- models ---------------------------------------------------------------------------------
@models_app.command("ls")
def models_ls(ctx: typer.Context, json_out: bool = JSON) -> None:
    """List models; every fact shown comes from the model's verified card (exit 5 if the
    catalog disagrees with it)."""
    from privtrain import models

    infos = models.list_models(state(ctx).workspace())
    if json_out:
        emit_json([m.to_dict() for m in infos])
        return
    table(
        "models",
        ["ref", "ε", "δ", "accountant", "datasets", "sha256", "created"],
        [
            [
                m.ref,
                "non-private" if m.non_private or m.epsilon is None else f"{m.epsilon:.4f}",
                m.delta,
                m.accountant,
                ", ".join(f"{d['name']}@v{d['version']}" for d in m.datasets),
                m.content_sha256[:16],
                m.created_at[:19],
            ]
            for m in infos
        ],
    )


@models_app.command("show")
def models_show(ctx: typer.Context, ref: str = typer.Argument(...), json_out: bool = JSON) -> None:
    """Show a model and its verified card."""
    from privtrain import models

    ws = state(ctx).workspace()
    stmt = models.verify(ws, ref)
    out = {"model": models.show(ws, ref).to_dict(), "card": stmt}
    if json_out:
        emit_json(out)
        return
    console.print_json(data=out)


@models_app.command("verify")
def models_verify(
    ctx: typer.Context, ref: str = typer.Argument(...), json_out: bool = JSON
) -> None:
    """Verify a model's signed card against its bytes; exit 5 if anything was edited."""
    from privtrain import models

    stmt = models.verify(state(ctx).workspace(), ref)
    if json_out:
        emit_json({"ok": True, "subject": stmt["subject"]})
    else:
        console.print(
            f"model card verified: {stmt['subject'][0]['name']} "
            f"sha256 {stmt['subject'][0]['digest']['sha256'][:16]}…"
        )


@models_app.command("export")
def models_export(
    ctx: typer.Context,
    ref: str = typer.Argument(...),
    out: Path = typer.Option(..., "--out", "-o", help="destination for the model file"),
) -> None:
    """Verify, then decrypt a model to OUT (torch-loadable file)."""
    from privtrain import models

    info = models.export(state(ctx).workspace(), ref, out)
    console.print(f"exported {info.ref} to {out}")
