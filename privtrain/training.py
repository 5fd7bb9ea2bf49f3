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
    raw = read_yaml_mapping(p, "feature spec")
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


def _config(opts: TrainOptions, budget_delta: float) -> Any:
    """TrainConfig from (lowest first) defaults, the budget's δ, train.yaml, CLI options."""
    from privtrain.dp import TrainConfig

    data: dict[str, Any] = {"delta": budget_delta}
    if opts.config_path is not None:
        data.update(read_yaml_mapping(Path(opts.config_path), "train config", nested="train"))
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
    """Plan, reserve, train, store + commit (or release). Returns a JSON-able summary."""
    from privtrain.dp import plan_run

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

    info, table = _load_table(ws, row.id)
    if opts.target not in table.column_names:
        raise InputError(f"dataset {info.ref} has no column {opts.target!r} (the --target)")
    spec, prior = _features(opts, cfg, table)
    plan = plan_run(table.num_rows, cfg, prior)
    model_name = opts.model_name or f"{info.name}-{opts.target}"
    reservation = ledger.reserve(
        [DatasetRef(name=info.name, id=info.id, version=info.version)],
        plan.history,
        delta=cfg.delta,
        kind="train",
        meta={
            "target": opts.target,
            "non_private": bool(cfg.no_dp),
            "planned_noise": plan.noise_multiplier,
            "planned_steps": plan.steps,
            # what a resume needs (no data values: the config and the public/DP feature spec)
            "resume": {
                "dataset_id": info.id,
                "model_name": model_name,
                "config": cfg.model_dump(mode="json"),
                "features": spec.to_dict(),
                "prior": [list(h) for h in prior],
            },
        },
    )
    return _execute(
        ws,
        ledger,
        reservation.run_id,
        info,
        table,
        cfg,
        spec,
        prior,
        opts.target,
        model_name,
        progress,
    )


def resume(ws: Workspace, run_id: str, *, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Resume a killed run from its encrypted checkpoint, under its existing reservation."""
    from privtrain.dp import FeatureSpec, TrainConfig

    ledger = Ledger(ws.catalog, identity=ws.settings.identity, audit=ws.audit)
    run = ledger.adopt(run_id)
    meta = (run.get("meta") or {}).get("resume")
    if not meta:
        raise ConfigError(f"run {run_id} cannot be resumed: it has no resume information")
    if not has_checkpoint(ws, run_id):
        logger.warning("run %s has no checkpoint: it restarts from step 0", run_id)
    cfg = TrainConfig.from_dict(meta["config"], where=f"run {run_id}")
    spec = FeatureSpec.from_dict(meta["features"], where=f"run {run_id}")
    prior = [tuple(h) for h in meta["prior"]]
    info, table = _load_table(ws, meta["dataset_id"])
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
    )


def reconcile(ws: Workspace, *, release_recoverable: bool = False) -> list[dict[str, Any]]:
    """Settle runs whose process died: resumable ones (with a checkpoint) stay reserved and
    are reported, unless ``release_recoverable``; the rest are released, checkpoints removed."""
    ledger = Ledger(ws.catalog, identity=ws.settings.identity, audit=ws.audit)
    keep = None if release_recoverable else (lambda rid: has_checkpoint(ws, rid))
    out = ledger.reconcile(recoverable=keep)
    for o in out:
        if o["action"] == "released":
            _EncryptedCheckpoint(ws, o["run_id"]).clear()
    return out


def _load_table(ws: Workspace, dataset_id: str) -> tuple[datasets.DatasetInfo, Any]:
    info, data = datasets.read_bytes(ws, dataset_id, purpose="dataset.read.train")
    return info, _read_table(info, data)


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
) -> dict[str, Any]:
    from privtrain.dp import train_tabular

    store = _EncryptedCheckpoint(ws, run_id)
    try:
        result = train_tabular(
            table,
            target=target,
            config=cfg,
            features=spec,
            progress=progress,
            prior_history=prior,
            checkpoint_path=store,
        )
        history = [tuple(h) for h in result.history]
        predicate = _predicate(result, info, cfg, history)

        def _commit(session: Any, model_id: str) -> None:
            ledger.commit(
                run_id,
                history,
                epsilon=None if cfg.no_dp else result.epsilon,
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
            epsilon=None if result.non_private else result.epsilon,
            delta=result.delta,
            accountant=result.accountant,
            session_hook=_commit,
        )
    except BaseException as e:
        reason = f"{type(e).__name__}: {e}"[:300]
        try:
            ledger.release(run_id, reason)
        except PrivtrainError:
            logger.exception("could not release reservation %s", run_id)
        store.clear()
        if isinstance(e, PrivtrainError) or not isinstance(e, Exception):
            raise
        raise TrainingError(
            f"training on {info.ref} failed ({reason}); reservation released"
        ) from e
    store.clear()
    return {
        "model": minfo.ref,
        "model_id": minfo.id,
        "dataset": info.ref,
        "run_id": run_id,
        "non_private": bool(result.non_private),
        "epsilon": None if result.non_private else result.epsilon,
        "delta": result.delta,
        "noise_multiplier": result.noise_multiplier,
        "sample_rate": result.sample_rate,
        "steps": result.steps,
        "quality": predicate["quality"],
        "budget": ledger.status(info.name).to_dict(),
    }
