"""``privtrain audit empirical``: test a DP training configuration against a membership attack.

One audit = one DP training run of its own on the dataset's private rows plus synthetic canaries
(:mod:`privtrain.dp._audit`), so it is charged to the dataset's ledger as what it is — a run of
kind ``audit`` (catalog migration 0006; ``meta.purpose`` is ``empirical-audit``): plan →
**reserve** → train → **commit** the actual history, or, on failure, **settle** (charged what it
executed). The run's weights are discarded (never stored, never exported); what leaves the
process is the ε lower bound, the guess counts and the canary scores — all post-processing of
the DP model and of synthetic canaries. The HTML report shows ε_lower beside ε_claimed and
flags ``ε_lower > ε_claimed`` as a privacy bug.
"""

from __future__ import annotations

import base64
import io
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from privtrain import datasets, models
from privtrain._io import atomic_write_text, read_yaml_mapping
from privtrain.errors import ConfigError, InputError, NotFoundError, PrivtrainError, TrainingError
from privtrain.ledger import DatasetRef, Ledger
from privtrain.workspace import Workspace

logger = logging.getLogger(__name__)


@dataclass
class EmpiricalAuditOptions:
    dataset: str
    target: str | None = None
    features_path: Path | None = None
    config_path: Path | None = None
    epsilon: float | None = None
    delta: float | None = None
    epochs: float | None = None
    canaries: int = 1000
    confidence: float = 0.95
    model: str | None = None  # audit the settings recorded in this model's signed card
    html: Path | None = None
    overrides: dict[str, Any] | None = None


def _settings_from_model(ws: Workspace, ref: str) -> tuple[str, dict[str, Any], Any]:
    """(target, config dict, FeatureSpec) of a model's run, from its verified card and blob."""
    import torch

    from privtrain.dp import FeatureSpec

    _, stmt, data = models.verify_and_read(ws, ref)
    card = stmt["predicate"]
    tr = card.get("training") or {}
    if card.get("privacy", {}).get("non_private"):
        raise ConfigError(f"model {ref} is non-private: there is no DP claim to audit")
    blob = torch.load(io.BytesIO(data), weights_only=True)
    spec = FeatureSpec.from_dict(blob["features"], where=f"model {ref} features")
    return str(tr["target"]), dict(tr["config"]), spec


def _config(opts: EmpiricalAuditOptions, budget_delta: float, overrides: dict[str, Any]) -> Any:
    """TrainConfig of the audited run: (lowest first) defaults, the budget's δ, the model's
    recorded config or train.yaml, then the command-line options."""
    from privtrain.dp import TrainConfig

    data: dict[str, Any] = {"delta": budget_delta}
    where = str(opts.config_path or "audit options")
    if opts.config_path is not None:
        data.update(read_yaml_mapping(Path(opts.config_path), "train config", nested="train"))
    data.update(overrides)
    cli = {"epsilon": opts.epsilon, "delta": opts.delta, "epochs": opts.epochs}
    data.update({k: v for k, v in cli.items() if v is not None})
    cfg = TrainConfig.from_dict(data, where=where)
    if cfg.no_dp:
        raise ConfigError("an empirical audit needs a DP configuration (no_dp is set)")
    if getattr(cfg, "noise_seed", None) is not None:
        raise ConfigError(
            f"{where}: noise_seed: a seeded run has no privacy guarantee to audit; remove it"
        )
    return cfg


def _declared_spec(path: Path | None) -> Any:
    from privtrain.dp import FeatureSpec

    if path is None:
        raise ConfigError(
            "no feature spec: pass --features features.yaml (declared vocabularies and bounds; "
            "canaries are drawn from it) or --model REF"
        )
    raw = read_yaml_mapping(Path(path), "feature spec", missing=NotFoundError, nested="features")
    if "dp" in raw and "columns" not in raw:
        raise ConfigError(
            f"feature spec {path}: the audit needs a declared spec (canaries are drawn from its "
            "public vocabularies and bounds), not a dp: section"
        )
    return FeatureSpec.from_dict(raw, where=f"feature spec {path}")


def audit_empirical(
    ws: Workspace, opts: EmpiricalAuditOptions, *, progress: Any = None
) -> dict[str, Any]:
    """Run the one-run audit on ``opts.dataset``; returns a JSON-able summary with the report
    path. Charges the audit's own training run to the dataset's budget."""
    from privtrain.dp._audit import draw_membership, plan_audit, run_audit

    if opts.canaries < 2:
        raise InputError(f"--canaries must be at least 2, got {opts.canaries}")
    if not (0 < opts.confidence < 1):
        raise InputError(f"--confidence must be in (0, 1), got {opts.confidence}")
    row = datasets.get(ws, opts.dataset, include_shredded=True)
    ledger = Ledger(ws.catalog, identity=ws.settings.identity, audit=ws.audit)
    budget = ledger.status(row.name)
    overrides = dict(opts.overrides or {})
    spec: Any = None
    target = opts.target
    if opts.model is not None:
        target_m, cfg_m, spec = _settings_from_model(ws, opts.model)
        target = target or target_m
        overrides = {**cfg_m, **overrides}
    if target is None:
        raise ConfigError("no target: pass --target COL (or --model REF to audit a model's run)")
    if spec is None:
        spec = _declared_spec(opts.features_path)
    cfg = _config(opts, budget.delta, overrides)
    if cfg.delta > budget.delta:
        raise ConfigError(f"δ={cfg.delta:g} exceeds the budget δ={budget.delta:g} of {row.name!r}")
    info, table = datasets.read_table(ws, row.id, purpose="dataset.read.audit")
    if target not in table.column_names:
        raise InputError(f"dataset {info.ref} has no column {target!r} (the --target)")

    membership = draw_membership(opts.canaries)
    plan = plan_audit(table.num_rows, opts.canaries, cfg, int(membership.sum()))
    reservation = ledger.reserve(
        [DatasetRef(name=info.name, id=info.id, version=info.version)],
        plan.history,
        delta=cfg.delta,
        kind="audit",  # a DP-SGD training run of its own, for the audit (migration 0006)
        meta={
            "purpose": "empirical-audit",
            "target": target,
            "audit": "empirical one-run (Steinke, Nasr & Jagielski 2023)",
            "canaries": opts.canaries,
            "planned_noise": plan.noise_multiplier,
            "planned_steps": plan.steps,
            "audited_model": opts.model,
        },
    )
    run_id = reservation.run_id
    try:
        res = run_audit(
            table,
            target=target,
            config=cfg,
            features=spec,
            membership=membership,
            confidence=opts.confidence,
            progress=progress,
            charge=_charger(ledger, run_id),
        )
        summary = res.to_dict()
        ledger.commit(
            run_id,
            res.history,
            epsilon=res.epsilon_claimed,
            meta={"audit_result": {k: summary[k] for k in ("epsilon_lower", "privacy_bug")}},
        )
    except BaseException as e:
        reason = f"{type(e).__name__}: {e}"[:300]
        try:
            _settle(ledger, run_id, reason, getattr(e, "privtrain_executed", None))
        except PrivtrainError:
            logger.exception("could not settle audit run %s", run_id)
        if isinstance(e, PrivtrainError) or not isinstance(e, Exception):
            raise
        raise TrainingError(
            f"empirical audit on {info.ref} failed ({reason}); run {run_id} was charged for "
            "what it executed (see `privtrain budget history`)"
        ) from e
    ws.record(
        "audit.empirical",
        f"dataset:{info.ref}",
        decision="deny" if res.privacy_bug else "info",
        details={
            "run_id": run_id,
            "epsilon_claimed": res.epsilon_claimed,
            "epsilon_lower": res.epsilon_lower,
            "privacy_bug": res.privacy_bug,
            "canaries": res.canaries,
            "model": opts.model,
        },
    )
    html = opts.html or (
        ws.settings.home / "reports" / f"empirical-audit-{info.name}-{run_id[:8]}.html"
    )
    write_html(Path(html), res, dataset=info.ref, run_id=run_id, model=opts.model, target=target)
    return {
        **summary,
        "dataset": info.ref,
        "run_id": run_id,
        "model": opts.model,
        "report": str(html),
        "budget": ledger.status(info.name).to_dict(),
    }


def _charger(ledger: Ledger, run_id: str) -> Any:
    """Write-ahead accounting hook for the trainer, where the ledger offers it."""
    record = getattr(ledger, "record_executed", None)
    if record is None:
        return None
    return lambda history: record(run_id, history)


def _settle(ledger: Ledger, run_id: str, reason: str, executed: Any) -> None:
    """A failed audit run is charged what it executed (released only if nothing ran)."""
    settle = getattr(ledger, "settle", None)
    if settle is None:
        ledger.release(run_id, reason)
        return
    settle(run_id, reason, executed_history=executed)


# ---- HTML report -------------------------------------------------------------------------------

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Empirical privacy audit: {{ dataset }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
.bug{background:#fdd;border:2px solid #c00;padding:.6em}.ok{background:#efe;padding:.6em}
</style></head><body>
<h1>Empirical privacy audit of {{ dataset }}</h1>
<p>{{ when }} · run <code>{{ run_id }}</code>{% if model %} · settings of model
<code>{{ model }}</code>{% endif %} · target <code>{{ target }}</code></p>
{% if r.privacy_bug %}
<p class="bug"><b>PRIVACY BUG:</b> ε_lower = {{ "%.3f"|format(r.epsilon_lower) }} exceeds the
claimed ε = {{ "%.3f"|format(r.epsilon_claimed) }} (δ = {{ r.delta }}), at
{{ "%.0f"|format(100 * r.confidence) }}% confidence. The training run leaks more than its
accounting says.</p>
{% else %}
<p class="ok">ε_lower = {{ "%.3f"|format(r.epsilon_lower) }} ≤ claimed ε =
{{ "%.3f"|format(r.epsilon_claimed) }} (δ = {{ r.delta }}): no violation found at
{{ "%.0f"|format(100 * r.confidence) }}% confidence. A lower bound below the claim does not
prove the claim: it only says this attack did not break it.</p>
{% endif %}
<img alt="canary scores and epsilon lower bounds" src="data:image/png;base64,{{ png }}">
<h2>Method</h2>
<p>One-run audit (Steinke, Nasr &amp; Jagielski 2023, arXiv 2305.08846): {{ r.canaries }}
canaries, each included with probability ½ ({{ r.included }} were); one DP-SGD run with the
audited settings (noise multiplier {{ "%.4f"|format(r.noise_multiplier) }}, sample rate
{{ "%.5f"|format(r.sample_rate) }}, {{ r.steps }} steps, {{ r.n_private_rows }} private rows);
{{ r.design }}. For each (k_in, k_out) the top-k_in scores are guessed "in" and the bottom-k_out
"out"; the p-value of v correct out of r guesses under (ε, δ)-DP is the paper's bound, and each
of the {{ r.tests|length }} tests is run at level {{ "%.4f"|format((1 - r.confidence) /
r.tests|length) }} (Bonferroni).</p>
<table><tr><th>k_in</th><th>k_out</th><th>guesses r</th><th>correct v</th><th>ε_lower</th></tr>
{% for t in r.tests %}<tr><td>{{ t.k_in }}</td><td>{{ t.k_out }}</td><td>{{ t.r }}</td>
<td>{{ t.v }}</td><td>{{ "%.3f"|format(t.epsilon_lower) }}</td></tr>{% endfor %}
</table>
<p>The audit's own training run is charged to the ledger as a run of kind <code>audit</code>
(run <code>{{ run_id }}</code>); its weights were discarded.</p>
</body></html>
"""


def _figure(res: Any) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    scores = np.asarray(res.scores)
    mem = np.asarray(res.membership, dtype=bool)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    bins = np.linspace(scores.min(), scores.max() + 1e-12, 40)
    a1.hist(scores[mem], bins=bins, alpha=0.6, label="included canaries")
    a1.hist(scores[~mem], bins=bins, alpha=0.6, label="excluded canaries")
    a1.set_xlabel("score: loss(θ₀) − loss(θ_T)")
    a1.set_ylabel("canaries")
    a1.legend()
    rs = [t.r for t in res.tests]
    a2.plot(rs, [t.epsilon_lower for t in res.tests], "o-", label="ε_lower per (k_in, k_out)")
    claimed = res.epsilon_claimed
    a2.axhline(claimed, color="k", ls="--", label=f"ε claimed {claimed:.2f}")
    a2.axhline(res.epsilon_lower, color="r", ls=":", label=f"ε_lower {res.epsilon_lower:.2f}")
    a2.set_xscale("log")
    a2.set_xlabel("guesses r")
    a2.set_ylabel("ε")
    a2.set_ylim(bottom=0)
    a2.legend()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def write_html(
    path: Path, res: Any, *, dataset: str, run_id: str, model: str | None, target: str
) -> Path:
    import jinja2

    tmpl = jinja2.Environment(autoescape=True).from_string(_TEMPLATE)
    html = tmpl.render(
        r=res,
        png=_figure(res),
        dataset=dataset,
        run_id=run_id,
        model=model,
        target=target,
        when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    atomic_write_text(path, html)
    return path
