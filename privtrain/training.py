"""Train a model on a catalog dataset under DP-SGD, charged to the privacy-budget ledger.

The order is what makes the guarantee: (1) plan the run — sample rate, steps and the noise
calibrated to the target ε, the DP feature statistics and the DP release of the quality
metrics — before any row is used; (2) **reserve** the planned mechanism history on the
dataset's budget (refused if it would overspend); (3) compute the DP feature statistics and
train, recording each block of mechanisms as executed **before** it runs (write-ahead); (4)
store the encrypted model with its signed card and **commit** the executed history in the same
transaction. Whatever ends a run early — an exception, a kill, an abandoned resume — it is
charged at least every mechanism it executed on the rows (``Ledger.settle``); only a run that
executed nothing is released at zero cost. A killed run with a checkpoint stays reserved until
``privtrain train --resume`` (which extends the reservation to cover the steps it repeats) or
``privtrain budget reconcile --release``.

Nothing computed from the rows leaves the process except through a charged DP release:
progress reports steps and ε only, errors carry no counts, and the card's quality metrics are
DP releases charged in the run's history — unless the caller opts in to exact metrics
(``exact_metrics``), which is audited and stated on the card. A fixed ``noise_seed`` is
refused here (its noise could be recomputed from the card). Non-private runs (gated by
``allow_non_private``) are charged ε = ∞.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import math
import platform
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from privtrain import datasets, models
from privtrain._io import atomic_write_text, read_yaml_mapping
from privtrain.errors import AccessDenied, ConfigError, InputError, PrivtrainError, TrainingError
from privtrain.ledger import DatasetRef, Ledger
from privtrain.workspace import Workspace

logger = logging.getLogger(__name__)

#: ``progress(step, total_steps, epsilon_so_far)``: steps and ε only (nothing from the rows).
ProgressFn = Callable[[int, int, float], None]


@dataclass
class TrainOptions:
    dataset: str
    target: str
    epsilon: float | None = None
    delta: float | None = None
    epochs: float | None = None
    config_path: Path | None = None
    features_path: Path | None = None
    model_name: str | None = None
    no_dp: bool = False
    allow_non_private: bool = False
    exact_metrics: bool = False  # opt-in, audited: exact (non-DP) quality metrics on the card
    overrides: dict[str, Any] | None = None


@dataclass
class _FeaturePlan:
    """The feature spec, or — for a ``dp:`` section — how it will be computed once reserved."""

    spec: Any | None  # declared FeatureSpec, or None until the DP statistics are computed
    prior: list[tuple[float, float, int]]  # cost of the DP statistics ([] if declared)
    hints: dict[str, Any] | None = None
    sigma: float | None = None
    target_classes: list[str] | None = None


def _features(opts: TrainOptions, cfg: Any) -> _FeaturePlan:
    """Declared feature spec, or the plan of one released with DP (its cost known before any
    row is read, so it is reserved with the run)."""
    from privtrain.dp import FeatureSpec, dp_feature_plan

    if opts.features_path is None:
        raise ConfigError(
            "no feature spec: pass --features features.yaml declaring each feature column's "
            "vocabulary or bounds (public knowledge, not read off the private rows), a "
            "`dp:` section to compute them with differential privacy, or write one with "
            "`privtrain features plan`"
        )
    p = Path(opts.features_path)
    raw = read_yaml_mapping(p, "feature spec")
    if "dp" in raw and "columns" not in raw:
        section = raw["dp"] or {}
        if cfg.no_dp:
            raise ConfigError(f"feature spec {p}: a dp: section needs a DP run")
        hints = section.get("hints") or {}
        sigma, hist = dp_feature_plan(
            hints,
            epsilon=section.get("epsilon"),
            noise_multiplier=section.get("noise_multiplier"),
            delta=cfg.delta,
            accountant=cfg.accountant,
        )
        return _FeaturePlan(None, list(hist), hints, sigma, section.get("target_classes"))
    return _FeaturePlan(FeatureSpec.from_dict(raw, where=f"feature spec {p}"), [])


def _config(opts: TrainOptions, budget_delta: float) -> Any:
    """TrainConfig from (lowest first) defaults, the budget's δ, train.yaml, CLI options."""
    from privtrain.dp import TrainConfig

    data: dict[str, Any] = {"delta": budget_delta}
    where = str(opts.config_path or "train options")
    if opts.config_path is not None:
        data.update(read_yaml_mapping(Path(opts.config_path), "train config", nested="train"))
    data.update(opts.overrides or {})
    cli = {"epsilon": opts.epsilon, "delta": opts.delta, "epochs": opts.epochs}
    data.update({k: v for k, v in cli.items() if v is not None})
    if opts.no_dp:
        data["no_dp"] = True
    if opts.exact_metrics:
        data["exact_metrics"] = True
    cfg = TrainConfig.from_dict(data, where=where)
    _refuse_seed(cfg, where)
    return cfg


def _refuse_seed(cfg: Any, where: str) -> None:
    if cfg.noise_seed is not None:
        raise ConfigError(
            f"{where}: noise_seed: a fixed noise seed lets anyone who reads the model card "
            "recompute every noise draw (no privacy at all); it exists for library tests only "
            "and is refused for catalog datasets — remove it"
        )


def _model_bytes(result: Any) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save(
        {
            "format": "privtrain-model/1",
            "architecture": result.architecture,
            "state_dict": result.state_dict,
            "features": result.features.to_dict(),
            "target": result.target,
            "classes": list(result.classes),
        },
        buf,
    )
    return buf.getvalue()


def _quality(result: Any, cfg: Any, identity: str) -> dict[str, Any]:
    """The card's quality section: only released figures (DP, or exact by audited opt-in)."""
    m = dict(result.metrics)
    release = m.pop("release", "none")
    q: dict[str, Any] = {
        "split": f"held-out {cfg.validation_fraction:.0%} of the dataset (seed {cfg.seed})",
        "release": release,
    }
    if release == "gaussian":
        q["n_validation"] = m.pop("n", None)
        q["note"] = (
            "differentially private: one Gaussian release of a (true class, prediction) "
            "histogram of the held-out rows, charged as the last entry of privacy.history; "
            "n_validation is the noisy row count"
        )
    elif release.startswith("exact"):
        q["n_validation"] = m.pop("n", None)
        q["note"] = (
            "EXACT figures computed on private held-out rows: not differentially private and "
            "not covered by privacy.epsilon"
            + (
                f"; released by explicit, audited opt-in (exact_metrics) of {identity}"
                if cfg.exact_metrics
                else ""
            )
        )
    else:
        m.pop("n", None)
    q.update(m)
    return q


def _predicate(
    result: Any,
    info: datasets.DatasetInfo,
    cfg: Any,
    history: list,
    epsilon: float,
    dataset_spent: float,
    identity: str,
) -> dict[str, Any]:
    from privtrain import __version__
    from privtrain.ledger import json_float

    non_private = bool(result.non_private) or math.isinf(epsilon)
    return {
        "privacy": {
            "non_private": non_private,
            "mechanism": "none"
            if result.non_private
            else "DP-SGD (Poisson sampling, per-sample clipping, Gaussian noise)",
            "noise_source": {
                "aes-256-ctr": "AES-256-CTR keystream under a fresh os.urandom key; Box-Muller; "
                "each value the sum of 4 Gaussians / 2 (floating-point-attack mitigation)",
                "none": "none (non-private)",
            }.get(result.noise, result.noise),
            "accountant": result.accountant,
            "epsilon": None if non_private else epsilon,
            "delta": result.delta,
            "neighbouring": "add_remove",
            "noise_multiplier": result.noise_multiplier,
            "max_grad_norm": result.max_grad_norm,
            "sample_rate": result.sample_rate,
            "steps": result.steps,
            "history": [list(h) for h in history],
            "clipping": result.clipping,
            "feature_statistics": result.features.source,
        },
        "datasets": [
            {
                "name": info.name,
                "version": info.version,
                "id": info.id,
                "sensitivity": info.sensitivity,
                "ciphertext_sha256": info.ciphertext_sha256,
                # the dataset's composed spend once this run is charged ("inf" once any
                # non-private run touched it)
                "epsilon_spent": json_float(dataset_spent),
            }
        ],
        "quality": _quality(result, cfg, identity),
        "compute": {
            "cpu_seconds": round(result.cpu_seconds, 3),
            "wall_seconds": round(result.wall_seconds, 3),
            "gpu_seconds": 0.0,
        },
        "training": {
            "target": result.target,
            "classes": list(result.classes),
            "model": result.architecture,
            "config": cfg.model_dump(mode="json"),
            "notes": list(result.notes),
        },
        "code": {"privtrain": __version__, **result.versions, "python": platform.python_version()},
    }


class _EncryptedCheckpoint:
    """Training checkpoints encrypted like every other blob (``CheckpointStore`` protocol).

    Each save writes ``ckpt-N.ptb`` (PTB1, own data key) and then ``ckpt-N.key`` (the wrapped
    data key, itself encrypted under the KEK) and removes older pairs, so a crash at any point
    leaves the last complete pair readable. The checkpoint holds weights trained on private
    rows: it never exists in clear. Keys are wrapped under the KEK active at save time; a
    checkpoint taken before ``keys rotate`` cannot be resumed after it."""

    def __init__(self, ws: Workspace, run_id: str) -> None:
        self.ws = ws
        self.run_id = run_id
        self.dir = checkpoint_dir(ws, run_id)

    def __str__(self) -> str:
        return f"encrypted checkpoint of run {self.run_id}"

    def _pairs(self) -> list[int]:
        if not self.dir.is_dir():
            return []
        ns = []
        for p in self.dir.glob("ckpt-*.key"):
            stem = p.name[len("ckpt-") : -len(".key")]
            if stem.isdigit() and (self.dir / f"ckpt-{stem}.ptb").exists():
                ns.append(int(stem))
        return sorted(ns)

    def _context(self, n: int) -> dict[str, str | int]:
        return {"kind": "checkpoint", "id": self.run_id, "version": n}

    def load(self) -> bytes | None:
        from privtrain.crypto import WrappedKey

        pairs = self._pairs()
        if not pairs:
            return None
        n = pairs[-1]
        meta = json.loads((self.dir / f"ckpt-{n}.key").read_text())
        key = WrappedKey(kek_id=meta["kek_id"], ciphertext=base64.b64decode(meta["wrapped"]))
        return self.ws.cipher.decrypt_bytes(
            self.dir / f"ckpt-{n}.ptb", key, expected_context=self._context(n)
        )

    def save(self, data: bytes) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        old = self._pairs()
        n = (old[-1] + 1) if old else 1
        with self.ws.cipher.writer(self.dir / f"ckpt-{n}.ptb", self._context(n)) as w:
            w.write(data)
        wk = w.sealed.wrapped_key
        key = {"kek_id": wk.kek_id, "wrapped": base64.b64encode(wk.ciphertext).decode()}
        atomic_write_text(self.dir / f"ckpt-{n}.key", json.dumps(key))
        for m in old:
            for suffix in (".key", ".ptb"):
                with contextlib.suppress(FileNotFoundError):
                    (self.dir / f"ckpt-{m}{suffix}").unlink()

    def clear(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def checkpoint_dir(ws: Workspace, run_id: str) -> Path:
    return ws.settings.tmp_dir / "runs" / run_id


def has_checkpoint(ws: Workspace, run_id: str) -> bool:
    return bool(_EncryptedCheckpoint(ws, run_id)._pairs())


def train(
    ws: Workspace, opts: TrainOptions, *, progress: ProgressFn | None = None
) -> dict[str, Any]:
    """Plan, reserve, train, store + commit (or settle). Returns a JSON-able summary."""
    from privtrain.dp import dp_feature_spec, plan_run

    row = datasets.get(ws, opts.dataset, include_shredded=True)
    ledger = Ledger(ws.catalog, identity=ws.settings.identity, audit=ws.audit)
    resource = f"dataset:{row.name}@v{row.version}"
    if opts.no_dp and not opts.allow_non_private:
        ws.record(
            "train.non_private",
            resource,
            decision="deny",
            details={"reason": "--no-dp without --allow-non-private"},
        )
        raise AccessDenied(
            f"non-private training on {row.name}@v{row.version} refused: it spends the whole "
            "budget (ε=∞: no privacy guarantee is left for this dataset) and its model cannot "
            "be exported; confirm with --allow-non-private"
        )
    budget = ledger.status(row.name)  # NotFoundError with the fix if no budget is set
    cfg = _config(opts, budget.delta)
    if cfg.delta > budget.delta:
        raise ConfigError(f"δ={cfg.delta:g} exceeds the budget δ={budget.delta:g} of {row.name!r}")

    info, table = _load_table(ws, row.id)
    if opts.target not in table.column_names:
        raise InputError(f"dataset {info.ref} has no column {opts.target!r} (the --target)")
    fplan = _features(opts, cfg)
    plan = plan_run(table.num_rows, cfg, fplan.prior)  # refuses δ ≥ 1/N
    model_name = opts.model_name or f"{info.name}-{opts.target}"
    resume_meta: dict[str, Any] = {
        "dataset_id": info.id,
        "model_name": model_name,
        "config": cfg.model_dump(mode="json"),
        "features": fplan.spec.to_dict() if fplan.spec is not None else None,
        "prior": [list(h) for h in fplan.prior],
    }
    reservation = ledger.reserve(
        [DatasetRef(name=info.name, id=info.id, version=info.version)],
        plan.history,
        delta=cfg.delta,
        kind="train",
        non_private=bool(cfg.no_dp),
        meta={
            "target": opts.target,
            "non_private": bool(cfg.no_dp),
            "planned_noise": plan.noise_multiplier,
            "planned_steps": plan.steps,
            "exact_metrics": bool(cfg.exact_metrics),
            # what a resume needs (no data values: the config and the public/DP feature spec)
            "resume": resume_meta,
        },
    )
    run_id = reservation.run_id
    if cfg.exact_metrics and not cfg.no_dp:
        ws.record(
            "train.exact_metrics",
            f"run:{run_id}",
            details={
                "dataset": info.ref,
                "reason": "exact (non-DP) quality metrics on held-out rows, opted in",
            },
        )
    spec = fplan.spec
    if spec is None:  # DP feature statistics: charged (write-ahead) before they are computed
        try:
            ledger.record_executed(run_id, fplan.prior)
            spec, _ = dp_feature_spec(
                table,
                fplan.hints or {},
                noise_multiplier=fplan.sigma,
                delta=cfg.delta,
                accountant=cfg.accountant,
                target_classes=fplan.target_classes,
            )
            resume_meta["features"] = spec.to_dict()
            ledger.record_executed(run_id, fplan.prior, meta={"resume": resume_meta})
        except BaseException as e:
            _settle(ledger, run_id, e, None, info)
            err = _failed(e, info, run_id)
            if err is e:
                raise
            raise err from e
    return _execute(
        ws,
        ledger,
        run_id,
        info,
        table,
        cfg,
        spec,
        fplan.prior,
        opts.target,
        model_name,
        progress,
        base=list(fplan.prior),
    )


def resume(ws: Workspace, run_id: str, *, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Resume a killed run from its encrypted checkpoint, under its reservation — extended to
    cover the steps it repeats after the checkpoint (they run again with fresh noise, so they
    are charged again)."""
    from privtrain.dp import FeatureSpec, TrainConfig, plan_run

    ledger = Ledger(ws.catalog, identity=ws.settings.identity, audit=ws.audit)
    run = ledger.adopt(run_id)
    meta = (run.get("meta") or {}).get("resume")
    if not meta or not meta.get("features"):
        raise ConfigError(
            f"run {run_id} cannot be resumed: it has no resume information; settle it with "
            "`privtrain budget reconcile --release`"
        )
    if not has_checkpoint(ws, run_id):
        logger.warning("run %s has no checkpoint: it restarts from step 0", run_id)
    cfg = TrainConfig.from_dict(meta["config"], where=f"run {run_id}")
    _refuse_seed(cfg, f"run {run_id}")
    spec = FeatureSpec.from_dict(meta["features"], where=f"run {run_id}")
    prior = [tuple(h) for h in meta["prior"]]
    base = [tuple(h) for h in (run.get("executed") or [])]
    info, table = _load_table(ws, meta["dataset_id"])
    plan = plan_run(table.num_rows, cfg, prior)
    ledger.extend(run_id, [*base, *plan.history[len(prior) :]])
    return _execute(
        ws,
        ledger,
        run_id,
        info,
        table,
        cfg,
        spec,
        prior,
        run["meta"]["target"],
        meta["model_name"],
        progress,
        base=base,
    )


def reconcile(ws: Workspace, *, release_recoverable: bool = False) -> list[dict[str, Any]]:
    """Settle runs whose process died: resumable ones (with a checkpoint) stay reserved and
    are reported, unless ``release_recoverable``; the rest are settled — charged what they
    recorded as executed, or released if they executed nothing — and checkpoints removed."""
    ledger = Ledger(ws.catalog, identity=ws.settings.identity, audit=ws.audit)
    keep = None if release_recoverable else (lambda rid: has_checkpoint(ws, rid))
    out = ledger.reconcile(recoverable=keep)
    for o in out:
        if o["action"] in ("released", "charged"):
            _EncryptedCheckpoint(ws, o["run_id"]).clear()
    return out


def _load_table(ws: Workspace, dataset_id: str) -> tuple[datasets.DatasetInfo, Any]:
    return datasets.read_table(ws, dataset_id, purpose="dataset.read.train")


def _settle(
    ledger: Ledger, run_id: str, e: BaseException, base: list | None, info: Any
) -> dict[str, Any] | None:
    """Charge a failed run what it executed (exact if the trainer said, else write-ahead)."""
    executed = getattr(e, "privtrain_executed", None)
    hist = [*(base or []), *executed] if executed is not None and base is not None else None
    try:
        return ledger.settle(run_id, f"{type(e).__name__}: {e}"[:300], executed_history=hist)
    except PrivtrainError:
        logger.exception("could not settle run %s", run_id)
        return None


def _failed(e: BaseException, info: datasets.DatasetInfo, run_id: str) -> BaseException:
    if isinstance(e, PrivtrainError) or not isinstance(e, Exception):
        return e
    return TrainingError(
        f"training on {info.ref} failed ({type(e).__name__}: {e})"[:300]
        + f"; run {run_id} was charged for what it executed (see `privtrain budget history`)"
    )


def _execute(
    ws: Workspace,
    ledger: Ledger,
    run_id: str,
    info: datasets.DatasetInfo,
    table: Any,
    cfg: Any,
    spec: Any,
    prior: list,
    target: str,
    model_name: str,
    progress: ProgressFn | None,
    *,
    base: list,
) -> dict[str, Any]:
    """Train under reservation ``run_id``; ``base`` is what the run already executed (the DP
    feature statistics, and for a resumed run its earlier steps)."""
    from privtrain.dp import train_tabular
    from privtrain.ledger import compose

    store = _EncryptedCheckpoint(ws, run_id)

    def charge(call_history: list) -> None:
        ledger.record_executed(run_id, [*base, *call_history])

    try:
        result = train_tabular(
            table,
            target=target,
            config=cfg,
            features=spec,
            progress=progress,
            prior_history=prior,
            checkpoint_path=store,
            charge=charge,
        )
        charged = [tuple(h) for h in [*base, *result.executed]]
        eps = compose(charged, cfg.delta, cfg.accountant)
        spent = ledger.spend_with(info.name, charged)
        predicate = _predicate(result, info, cfg, charged, eps, spent, ws.settings.identity)

        def _commit(session: Any, model_id: str) -> None:
            ledger.commit(
                run_id,
                charged,
                epsilon=eps,
                model_id=model_id,
                session=session,
            )

        minfo = models.store(
            ws,
            model_name,
            _model_bytes(result),
            predicate=predicate,
            datasets=predicate["datasets"],
            train_config=cfg.model_dump(mode="json"),
            epsilon=None if math.isinf(eps) else eps,
            delta=result.delta,
            accountant=result.accountant,
            session_hook=_commit,
        )
    except BaseException as e:
        _settle(ledger, run_id, e, base, info)
        store.clear()
        err = _failed(e, info, run_id)
        if err is e:
            raise
        raise err from e
    store.clear()
    return {
        "model": minfo.ref,
        "model_id": minfo.id,
        "dataset": info.ref,
        "run_id": run_id,
        "non_private": predicate["privacy"]["non_private"],
        "epsilon": predicate["privacy"]["epsilon"],
        "delta": result.delta,
        "noise_multiplier": result.noise_multiplier,
        "sample_rate": result.sample_rate,
        "steps": result.steps,
        "history": [list(h) for h in charged],
        "quality": predicate["quality"],
        "budget": ledger.status(info.name).to_dict(),
    }


# ---- features plan ---------------------------------------------------------------------------

#: The partition selection of a features plan adds at most this fraction of the budget's δ
#: (split over the columns) to the δ the accountant composes: stated in the spec and run meta.
PARTITION_DELTA_FRACTION = 1e-3


def plan_features(
    ws: Workspace,
    dataset: str,
    target: str,
    *,
    epsilon: float | None = None,
    skeleton: bool = False,
) -> dict[str, Any]:
    """A reviewable feature spec for ``dataset`` (``features.yaml`` for ``privtrain train``).

    With ``epsilon``: categorical vocabularies (and the target's classes) by DP partition
    selection, numeric bounds by DP quantiles over public log-scale bins — one Gaussian
    release per column, calibrated to ``epsilon`` at the budget's δ and charged to the
    dataset's ledger like a training run (reserved, recorded write-ahead, committed). With
    ``skeleton``: column names and types only (the schema), nothing released and nothing
    charged; vocabularies, bounds and classes are left to fill from a data dictionary.

    Returns ``{"spec", "yaml", "notes", "run_id", "epsilon", "delta", "noise_multiplier"}``."""
    import pyarrow as pa

    from privtrain.dp import calibrate_noise, check_delta
    from privtrain.dp._features import _NumpyNoise, features_plan_spec
    from privtrain.ledger import compose

    row = datasets.get(ws, dataset)
    info, table = _load_table(ws, row.id)
    if target not in table.column_names:
        raise InputError(f"dataset {info.ref} has no column {target!r} (the --target)")
    numeric, categorical = [], []
    for f in table.schema:
        if f.name == target:
            continue
        is_num = pa.types.is_integer(f.type) or pa.types.is_floating(f.type)
        (numeric if is_num or pa.types.is_decimal(f.type) else categorical).append(f.name)
    head = [
        f"Feature spec for {info.ref}, target {target!r}: written by `privtrain features plan`.",
        "Review before training: drop identifiers and free text, complete vocabularies and",
        "bounds from the data dictionary, check target_classes lists every class.",
    ]
    if skeleton:
        spec: dict[str, Any] = {
            "source": "declared",
            "target_classes": [],
            "columns": [
                {"name": n, "type": "numeric", "lower": None, "upper": None}
                if n in numeric
                else {"name": n, "type": "categorical", "vocabulary": []}
                for n in table.column_names
                if n != target
            ],
        }
        head += [
            "SKELETON: only the schema (column names, types) was used, no statistic of the rows;",
            "fill every vocabulary, lower/upper and target_classes from public knowledge.",
        ]
        return _spec_result(spec, head, [], None, None, None, None)
    if epsilon is None or not epsilon > 0:
        raise ConfigError("features plan: give --epsilon E (charged to the dataset) or --skeleton")
    ledger = Ledger(ws.catalog, identity=ws.settings.identity, audit=ws.audit)
    delta = ledger.status(row.name).delta
    check_delta(delta, table.num_rows)
    k = len(numeric) + len(categorical) + 1
    sigma = calibrate_noise(epsilon, delta, 1.0, k, "prv")
    hist = [(sigma, 1.0, k)]
    d_sel = delta * PARTITION_DELTA_FRACTION / k
    res = ledger.reserve(
        [DatasetRef(name=info.name, id=info.id, version=info.version)],
        hist,
        delta=delta,
        kind="train",
        meta={"purpose": "features-plan", "target": target, "delta_partition_selection": d_sel},
    )
    try:
        ledger.record_executed(res.run_id, hist)
        spec, notes = features_plan_spec(
            table,
            target,
            sigma=sigma,
            delta_selection=d_sel,
            noise=_NumpyNoise(None),
            numeric=numeric,
            categorical=categorical,
        )
        ledger.commit(res.run_id, hist)
    except BaseException as e:
        _settle(ledger, res.run_id, e, None, info)
        raise
    eps = compose(hist, delta)
    head += [
        f"Released with differential privacy and charged to {info.name!r} as run {res.run_id}:",
        f"{k} Gaussian releases (noise multiplier {sigma:.4g}), ε={eps:.4f} at δ={delta:g};",
        f"partition selection adds δ ≤ {k * d_sel:.3g}. Categories: Gaussian thresholding;",
        "numeric bounds: noisy quantiles over public log-scale bins.",
    ]
    return _spec_result(spec, head, notes, res.run_id, eps, delta, sigma)


def _spec_result(
    spec: dict[str, Any],
    head: list[str],
    notes: list[str],
    run_id: str | None,
    eps: float | None,
    delta: float | None,
    sigma: float | None,
) -> dict[str, Any]:
    import yaml

    text = "".join(f"# {h}\n" for h in head + [f"left out: {n}" for n in notes])
    text += yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)
    return {
        "spec": spec,
        "yaml": text,
        "notes": notes,
        "run_id": run_id,
        "epsilon": eps,
        "delta": delta,
        "noise_multiplier": sigma,
    }
