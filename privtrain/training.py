"""Train a model on a catalog dataset under DP-SGD, charged to the privacy-budget ledger.

The order is what makes the guarantee: (1) plan the run — sample rate, steps and the noise
calibrated to the target ε, plus any DP feature statistics — before touching the model;
(2) **reserve** the planned mechanism history on the dataset's budget (refused if it would
overspend); (3) train; (4) store the encrypted model with its signed card and **commit** the
actual history in the same transaction; on any failure **release** the reservation. A run
killed between (2) and (4) stays reserved (counted against the budget) until
``privtrain budget reconcile`` releases it: never committed at zero cost.
"""

from __future__ import annotations

import io
import logging
import math
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from privtrain import datasets, models
from privtrain.errors import AccessDenied, ConfigError, InputError, PrivtrainError, TrainingError
from privtrain.ledger import DatasetRef, Ledger
from privtrain.workspace import Workspace

logger = logging.getLogger(__name__)

ProgressFn = Callable[[int, int, float, float | None], None]


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
    overrides: dict[str, Any] | None = None


def _read_table(info: datasets.DatasetInfo, data: bytes) -> Any:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    try:
        if data[:4] == b"PAR1":
            return pq.read_table(pa.BufferReader(data))
        if (info.source_name or "").lower().endswith((".jsonl", ".ndjson")):
            import pyarrow.json as pajson

            return pajson.read_json(pa.BufferReader(data))
        return pacsv.read_csv(pa.BufferReader(data))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise InputError(f"dataset {info.ref} is not a readable table: {e}") from e


def _features(
    opts: TrainOptions, cfg: Any, table: Any
) -> tuple[Any, list[tuple[float, float, int]]]:
    """Declared feature spec, or one released with DP (its cost returned as history)."""
    from privtrain.dp import FeatureSpec, dp_feature_spec

    if opts.features_path is None:
        raise ConfigError(
            "no feature spec: pass --features features.yaml declaring each feature column's "
            "vocabulary or bounds (public knowledge, not read off the private rows), or a "
            "`dp:` section to compute them with differential privacy"
        )
    p = Path(opts.features_path)
    raw = _yaml_mapping(p, "feature spec")
    if "dp" in raw and "columns" not in raw:
        section = raw["dp"] or {}
        if cfg.no_dp:
            raise ConfigError(f"feature spec {p}: a dp: section needs a DP run")
        spec, hist = dp_feature_spec(
            table,
            section.get("hints") or {},
            epsilon=section.get("epsilon"),
            noise_multiplier=section.get("noise_multiplier"),
            delta=cfg.delta,
            accountant=cfg.accountant,
            target_classes=section.get("target_classes"),
        )
        return spec, list(hist)
    return FeatureSpec.from_dict(raw, where=f"feature spec {p}"), []


def _yaml_mapping(p: Path, what: str, *, nested: str | None = None) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{what} {p} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{what} {p}: cannot read: {e}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{what} {p}: invalid YAML: {str(e).splitlines()[0]}") from None
    if nested and isinstance(data, dict) and isinstance(data.get(nested), dict):
        data = data[nested]
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {p}: expected a mapping of settings")
    return data


def _config(opts: TrainOptions, budget_delta: float) -> Any:
    """TrainConfig from (lowest first) defaults, the budget's δ, train.yaml, CLI options."""
    from privtrain.dp import TrainConfig

    data: dict[str, Any] = {"delta": budget_delta}
    if opts.config_path is not None:
        data.update(_yaml_mapping(Path(opts.config_path), "train config", nested="train"))
    data.update(opts.overrides or {})
    cli = {"epsilon": opts.epsilon, "delta": opts.delta, "epochs": opts.epochs}
    data.update({k: v for k, v in cli.items() if v is not None})
    if opts.no_dp:
        data["no_dp"] = True
    return TrainConfig.from_dict(data, where=str(opts.config_path or "train options"))


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


def _predicate(result: Any, info: datasets.DatasetInfo, cfg: Any, history: list) -> dict[str, Any]:
    from privtrain import __version__

    eps = result.epsilon if math.isfinite(result.epsilon) else None
    return {
        "privacy": {
            "non_private": bool(result.non_private),
            "mechanism": "none"
            if result.non_private
            else "DP-SGD (Poisson sampling, per-sample clipping, Gaussian noise)",
            "accountant": result.accountant,
            "epsilon": eps,
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
            }
        ],
        "quality": {
            "split": f"held-out {cfg.validation_fraction:.0%} of the dataset (seed {cfg.seed})",
            "n_train": result.n_train,
            "n_validation": result.n_validation,
            **{k: v for k, v in result.metrics.items()},
            "note": "metrics are computed on private held-out rows and are not DP",
        },
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


def train(
    ws: Workspace, opts: TrainOptions, *, progress: ProgressFn | None = None
) -> dict[str, Any]:
    """Plan, reserve, train, store + commit (or release). Returns a JSON-able summary."""
    from privtrain.dp import plan_run, train_tabular

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
            f"non-private training on {row.name}@v{row.version} refused: it spends no budget "
            "but gives no privacy guarantee; confirm with --allow-non-private (the model is "
            "recorded as non-private and cannot be exported)"
        )
    budget = ledger.status(row.name)  # NotFoundError with the fix if no budget is set
    cfg = _config(opts, budget.delta)
    if cfg.delta > budget.delta:
        raise ConfigError(f"δ={cfg.delta:g} exceeds the budget δ={budget.delta:g} of {row.name!r}")

    info, data = datasets.read_bytes(ws, row.id, purpose="dataset.read.train")
    table = _read_table(info, data)
    del data
    if opts.target not in table.column_names:
        raise InputError(f"dataset {info.ref} has no column {opts.target!r} (the --target)")
    spec, prior = _features(opts, cfg, table)
    plan = plan_run(table.num_rows, cfg, prior)
    ref = DatasetRef(name=info.name, id=info.id, version=info.version)
    reservation = ledger.reserve(
        [ref],
        plan.history,
        delta=cfg.delta,
        kind="train",
        meta={
            "target": opts.target,
            "non_private": bool(cfg.no_dp),
            "planned_noise": plan.noise_multiplier,
            "planned_steps": plan.steps,
        },
    )
    try:
        result = train_tabular(
            table,
            target=opts.target,
            config=cfg,
            features=spec,
            progress=progress,
            prior_history=prior,
        )
        history = [tuple(h) for h in result.history]
        name = opts.model_name or f"{info.name}-{opts.target}"
        predicate = _predicate(result, info, cfg, history)

        def _commit(session: Any, model_id: str) -> None:
            ledger.commit(
                reservation.run_id,
                history,
                epsilon=None if cfg.no_dp else result.epsilon,
                model_id=model_id,
                session=session,
            )

        minfo = models.store(
            ws,
            name,
            _model_bytes(result),
            predicate=predicate,
            datasets=predicate["datasets"],
            train_config=cfg.model_dump(mode="json"),
            epsilon=None if result.non_private else result.epsilon,
            delta=result.delta,
            accountant=result.accountant,
            session_hook=_commit,
        )
    except BaseException as e:
        reason = f"{type(e).__name__}: {e}"[:300]
        try:
            ledger.release(reservation.run_id, reason)
        except PrivtrainError:
            logger.exception("could not release reservation %s", reservation.run_id)
        if isinstance(e, PrivtrainError) or not isinstance(e, Exception):
            raise
        raise TrainingError(
            f"training on {info.ref} failed ({reason}); reservation released"
        ) from e
    return {
        "model": minfo.ref,
        "model_id": minfo.id,
        "dataset": info.ref,
        "run_id": reservation.run_id,
        "non_private": bool(result.non_private),
        "epsilon": None if result.non_private else result.epsilon,
        "delta": result.delta,
        "noise_multiplier": result.noise_multiplier,
        "sample_rate": result.sample_rate,
        "steps": result.steps,
        "quality": predicate["quality"],
        "budget": ledger.status(info.name).to_dict(),
    }
