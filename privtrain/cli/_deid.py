"""`privtrain ingest`, `privtrain deid plan`, `privtrain deid report`.

spaCy/presidio are imported only inside the commands that need them, so every other command
(e.g. ``privtrain datasets ls``) starts without them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from privtrain.cli._common import console, console_err, emit_json, human_bytes, state, table

JSON = typer.Option(False, "--json", help="machine-readable output")
POLICY = typer.Option(
    None,
    "--policy",
    help="de-identification policy YAML, or a shipped profile name: safe-harbor (the default, "
    "policies/deid.yaml) or pseudonymous (keeps linkable pseudonyms and city; not Safe Harbor)",
)

deid_app = typer.Typer(no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
    app.add_typer(deid_app, name="deid", help="De-identification plans and reports.")


def ingest(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV, TSV, Parquet or JSON Lines file"),
    name: str = typer.Option(..., "--name", "-n", help="dataset name"),
    plan: Path = typer.Option(
        None, "--plan", help="pinned plan YAML (from `deid plan`), used as given"
    ),
    policy: Path = POLICY,
    keep_raw: bool = typer.Option(
        False, "--keep-raw", help="also store FILE itself, encrypted, as the raw dataset NAME-raw"
    ),
    site: str = typer.Option("local", "--site", help="site that holds the data"),
    workers: int = typer.Option(
        1, "--workers", "-w", min=1, help="processes that scrub free text in parallel"
    ),
    json_out: bool = JSON,
) -> None:
    """De-identify FILE into the catalog as a `deidentified` dataset (encrypted Parquet).

    Without --plan the plan is computed from FILE and stored with the dataset (see
    `datasets show`); review and pin it with `deid plan` + `--plan`.
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from privtrain import ingest as ingest_lib

    ws = state(ctx).workspace()
    labels = {
        "plan": "planning (detecting identifiers)",
        "deid": f"de-identifying {file.name}",
        "raw": "storing the raw copy",
    }
    with Progress(
        TextColumn("[bold]{task.description}[/]"),
        BarColumn(),
        TextColumn("{task.fields[rows]}"),
        TimeElapsedColumn(),
        console=console_err,
        transient=True,
    ) as bar:
        task = bar.add_task(labels["deid"] if plan else labels["plan"], total=None, rows="")

        def progress(phase: str, done: int, total: int | None) -> None:
            rows = ""
            if phase == "deid":
                rows = f"{done:,}/{total:,} rows" if total else f"{done:,} rows"
            bar.update(task, description=labels[phase], completed=done, total=total, rows=rows)

        result = ingest_lib.ingest(
            ws,
            file,
            name,
            plan_path=plan,
            policy_path=policy,
            keep_raw=keep_raw,
            site=site,
            progress=progress,
            workers=workers,
        )
    if json_out:
        emit_json(result.to_dict())
        return
    info, rep = result.dataset, result.report
    replaced = sum(rep["entity_counts"].values())
    console.print(
        f"ingested [bold]{info.ref}[/] ({info.sensitivity}, {rep['rows']:,} rows, "
        f"{rep['columns_in']} -> {rep['columns_out']} columns, "
        f"{human_bytes(info.plaintext_bytes)} Parquet, {replaced:,} values/spans replaced)",
        highlight=False,
    )
    console.print(
        f"profile: {rep.get('profile') or '-'}; "
        f"plan: {result.plan_source} (sha256 {result.plan_sha256[:16]}); "
        f"report: privtrain deid report {info.ref} [--html FILE]",
        highlight=False,
    )
    if result.raw is not None:
        console.print(f"raw copy: [bold]{result.raw.ref}[/] (raw, encrypted)", highlight=False)


@deid_app.command("plan")
def plan(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV, TSV, Parquet or JSON Lines file"),
    out: Path = typer.Option(
        None, "--out", "-o", help="write the plan here (atomically) instead of stdout"
    ),
    policy: Path = POLICY,
    sample_rows: int = typer.Option(500, "--sample-rows", help="rows sampled to classify"),
    json_out: bool = JSON,
) -> None:
    """Classify FILE's columns and print the reviewable plan YAML (needs no home)."""
    from privtrain import ingest as ingest_lib

    settings = state(ctx).settings()
    with console_err.status(f"planning {file.name}…"):
        p = ingest_lib.plan_file(
            file, policy_path=policy, spacy_model=settings.spacy_model, sample_rows=sample_rows
        )
    if out is not None:
        p.save(out)
        if json_out:
            emit_json({"out": str(out), "plan": p.model_dump(mode="json")})
        else:
            kinds = ", ".join(f"{c.name}: {c.kind}" for c in p.columns)
            console.print(f"wrote plan for {len(p.columns)} columns to {out} ({kinds})")
        return
    if json_out:
        emit_json(p.model_dump(mode="json"))
    else:
        typer.echo(p.to_yaml(), nl=False)


@deid_app.command("report")
def report(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="dataset NAME, NAME@vN or id"),
    html: Path = typer.Option(None, "--html", help="write the HTML report here (atomically)"),
    json_out: bool = JSON,
) -> None:
    """Show a dataset's de-identification report (examples are output values only)."""
    from privtrain import datasets
    from privtrain.ingest import report_summary

    ws = state(ctx).workspace()
    info = datasets.show(ws, ref)
    rep = datasets.deid_report(ws, info.id)
    if html is not None:
        from privtrain.deid import DeidReport, render_report_html

        render_report_html(DeidReport.model_validate(rep), html)
    if json_out:
        emit_json({"dataset": info.ref, "html": str(html) if html else None, "report": rep})
        return
    if html is not None:
        console.print(f"wrote the de-identification report of {info.ref} to {html}")
        return
    _print_summary(info.ref, report_summary(rep))


def _print_summary(ref: str, s: dict[str, Any]) -> None:
    console.print(
        f"[bold]{ref}[/]: {s['rows']:,} rows from {s['source_name']} ({s['source_format']}), "
        f"{s['columns_in']} -> {s['columns_out']} columns; spaCy model {s['model_name'] or '-'}; "
        f"plan {str(s['plan_sha256'])[:16]}, policy {str(s['policy_sha256'])[:16]}, "
        f"pseudonym key v{s['pseudonym_key_version']}; profile {s.get('profile') or '-'}",
        highlight=False,
    )
    if s.get("profile_keeps"):
        console.print("keeps (not Safe Harbor): " + "; ".join(s["profile_keeps"]), highlight=False)
    if s.get("safe_harbor"):
        table(
            "HIPAA Safe Harbor identifier classes (45 CFR 164.514(b)(2))",
            ["class", "identifiers", "found", "handling", "status"],
            [
                [f"({h['key']})", h["title"], h["found"], "\n".join(h["handling"]), h["status"]]
                for h in s["safe_harbor"]
            ],
        )
    table(
        "columns",
        [
            "column",
            "class",
            "entity",
            "action",
            "non-null",
            "changed",
            "unparseable",
            "spans",
            "caught by value check",
        ],  # fmt: skip
        [
            [
                c["name"],
                c["kind"],
                c["entity"],
                c["action"] if c["in_output"] else f"{c['action']} (not in output)",
                c["non_null"],
                c["changed"],
                c["unparseable"],
                ", ".join(f"{e}: {n}" for e, n in sorted((c["spans"] or {}).items())),
                ", ".join(f"{e}: {n}" for e, n in sorted((c.get("flagged") or {}).items())),
            ]
            for c in s["columns"]
        ],
    )
    table(
        "entities replaced",
        ["entity", "count"],
        [[e, n] for e, n in sorted(s["entity_counts"].items())],
    )
