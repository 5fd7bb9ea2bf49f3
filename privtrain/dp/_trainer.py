"""DP-SGD training of tabular models on in-memory tables.

``train_tabular`` encodes a table with a :class:`FeatureSpec`, holds out a seeded validation
split, calibrates the noise multiplier so the run (plus any ``prior_history`` of the same run)
meets ``config.epsilon`` at ``config.delta`` for the planned number of steps, and trains with
Poisson-sampled DP-SGD:

- ``clipping="fast"`` (default): book-keeping clipping (``_bookkeeping``) when every trainable
  parameter is in an ``nn.Linear`` on 2-D inputs; otherwise Opacus with a logged reason.
- Opacus: ``make_private(poisson_sampling=True)`` with ``grad_sample_mode="ghost"`` where the
  model allows it, else ``"hooks"``; physical batches capped by ``BatchMemoryManager``.

Noise comes from the CSPRNG of ``_noise`` (AES-256-CTR, floating-point-attack mitigated) on
both paths; models must consist of per-sample layers (``_models.PER_SAMPLE_MODULES``); δ must
be below 1/N. Progress reports steps and ε only; the held-out metrics are a Gaussian release
charged in the run's history (``metrics_history``) unless ``exact_metrics``; a ``charge`` hook
records each block of steps before it runs (write-ahead accounting for a ledger).

No catalog or dataset I/O happens here; the only file written is the optional checkpoint.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import logging
import math
import os
import platform
import secrets
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from torch import nn
from torch.nn import functional as F

from privtrain._io import atomic_write_bytes, read_yaml_mapping
from privtrain.errors import (
    ConfigError,
    ConflictError,
    InputError,
    IntegrityError,
    NotFoundError,
    PrivtrainError,
    TrainingError,
    first_validation_error,
)

from ._accounting import History, calibrate_noise, epsilon_for, normalize_history
from ._bookkeeping import BookkeepingClipper, unsupported_reason
from ._features import FeatureSpec
from ._models import _opacus, build_model, load_model, state_dict_bytes
from ._noise import SecureNoise, SeededNoise

logger = logging.getLogger(__name__)

#: ``progress(step, total_steps, epsilon_so_far)``: public facts only (no loss on private rows).
ProgressFn = Callable[[int, int, float], None]
#: ``charge(history)``: write-ahead hook, called before private rows are used for more steps or
#: releases, with the history this call will have executed once they are done (see
#: :func:`train_tabular`).
ChargeFn = Callable[[list[tuple[float, float, int]]], None]
CHECKPOINT_FORMAT = "privtrain.dp.checkpoint/1"


class TrainConfig(BaseModel):
    """Training configuration (``train.yaml``). Defaults are tuned for UCI Adult."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    epsilon: float | None = Field(default=None, gt=0)
    delta: float = Field(default=1e-5, gt=0, lt=1)
    epochs: float = Field(default=20.0, gt=0)
    steps: int | None = Field(default=None, gt=0)  # overrides epochs when set
    batch_size: int = Field(default=1024, ge=1)  # expected logical batch size
    max_physical_batch_size: int = Field(default=2048, ge=1)
    lr: float = Field(default=2e-3, gt=0)
    optimizer: Literal["adam", "sgd"] = "adam"
    max_grad_norm: float = Field(default=1.0, gt=0)
    model: str = "mlp"
    hidden: list[int] = Field(default_factory=lambda: [256, 256])
    seed: int = 0  # split and initialisation (public: DP does not hide the initial weights)
    # Tests only: noise and sampling reproducible from this seed. A seeded run has no privacy
    # guarantee (its noise can be recomputed): the trainer reports ε = ∞ and the catalog path
    # (`privtrain train`) refuses it. None: noise from the AES-CTR CSPRNG (production).
    noise_seed: int | None = None
    accountant: Literal["prv", "rdp"] = "prv"
    validation_fraction: float = Field(default=0.1, ge=0, lt=1)
    no_dp: bool = False
    clipping: Literal["fast", "opacus"] = "fast"
    threads: int | None = Field(default=None, ge=1)
    checkpoint_every: int = Field(default=100, ge=1)
    progress_every: int | None = Field(default=None, ge=1)
    # Quality metrics on the held-out rows are released with the Gaussian mechanism (one joint
    # histogram of true class × predicted score bin, L2 sensitivity 1) and charged in the run's
    # history; exact_metrics releases them exactly instead (not DP: an audited opt-in).
    metrics_noise_multiplier: float = Field(default=20.0, gt=0)
    metrics_bins: int = Field(default=10, ge=2, le=1000)
    exact_metrics: bool = False

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if not self.no_dp and self.epsilon is None:
            raise ValueError("epsilon is required unless no_dp is true")
        if self.metrics_bins % 2:
            raise ValueError("metrics_bins must be even (the 0.5 threshold is a bin edge)")
        if any(h < 1 for h in self.hidden):
            raise ValueError("hidden sizes must be >= 1")
        return self

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "train config") -> TrainConfig:
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            loc, msg = first_validation_error(e)
            raise ConfigError(f"{where}: {loc or 'config'}: {msg}") from None

    @classmethod
    def from_yaml(cls, path: str | Path) -> TrainConfig:
        """Load from YAML: either the fields at top level or under a ``train:`` key."""
        p = Path(path)
        data = read_yaml_mapping(p, "train config", missing=NotFoundError, nested="train")
        return cls.from_dict(data, where=f"train config {p}")


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """Everything a training run produced; ``state_dict`` is ``torch.save`` bytes of the model's
    state dict, rebuildable with :func:`load_model` from ``architecture``.

    ``history`` is the full mechanism history of the run (``prior_history`` first, then the
    DP-SGD entry, then the DP release of the quality metrics when there is one);
    ``epsilon == epsilon_for(history, delta, accountant)``. ``executed`` is what *this call*
    ran on the rows (no prior entries; for a resumed run only the steps after the checkpoint):
    what a ledger charges. For ``no_dp`` runs ``history == []``, ``epsilon == inf`` and
    ``non_private`` is true; for ``noise_seed`` runs (tests) ``epsilon == inf`` and
    ``non_private`` is true although ``history`` describes the mechanism that ran.
    ``metrics`` are DP releases (``metrics["release"] == "gaussian"``) unless
    ``config.exact_metrics`` (``"exact"``) or the run is non-private.
    """

    state_dict: bytes
    architecture: dict[str, Any]
    history: list[tuple[float, float, int]]
    epsilon: float
    delta: float
    accountant: str
    noise_multiplier: float
    max_grad_norm: float
    sample_rate: float
    steps: int
    metrics: dict[str, float | int | None]
    cpu_seconds: float
    wall_seconds: float
    non_private: bool
    features: FeatureSpec
    target: str
    classes: list[str]
    clipping: str  # "fast" | "ghost" | "hooks" | "none"
    notes: list[str]
    config: TrainConfig
    n_train: int
    n_validation: int
    versions: dict[str, str]
    executed: list[tuple[float, float, int]] = dataclasses.field(default_factory=list)
    noise: str = "aes-256-ctr"  # "aes-256-ctr" | "seeded" | "none"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary (no model bytes; infinite epsilon as ``None``)."""
        return {
            "architecture": self.architecture,
            "history": [list(h) for h in self.history],
            "epsilon": self.epsilon if math.isfinite(self.epsilon) else None,
            "delta": self.delta,
            "accountant": self.accountant,
            "neighbouring": "add_remove",
            "noise_multiplier": self.noise_multiplier,
            "max_grad_norm": self.max_grad_norm,
            "sample_rate": self.sample_rate,
            "steps": self.steps,
            "metrics": self.metrics,
            "cpu_seconds": self.cpu_seconds,
            "wall_seconds": self.wall_seconds,
            "non_private": self.non_private,
            "features": self.features.to_dict(),
            "target": self.target,
            "classes": list(self.classes),
            "clipping": self.clipping,
            "notes": list(self.notes),
            "config": self.config.model_dump(mode="json"),
            "n_train": self.n_train,
            "n_validation": self.n_validation,
            "versions": dict(self.versions),
            "executed": [list(h) for h in self.executed],
            "noise": self.noise,
            "state_sha256": hashlib.sha256(self.state_dict).hexdigest(),
        }


# ---- checkpoints -------------------------------------------------------------------------------


@runtime_checkable
class CheckpointStore(Protocol):
    """Where training checkpoints go. ``FileCheckpoint`` writes a plain file atomically; a
    caller may pass its own store (e.g. one that encrypts)."""

    def load(self) -> bytes | None: ...

    def save(self, data: bytes) -> None: ...

    def clear(self) -> None: ...


class FileCheckpoint:
    """Checkpoint in one file, replaced atomically (temp file in the same directory, fsync,
    ``os.replace``). The file holds intermediate weights and optimizer state trained on private
    rows (and, for ``noise_seed`` runs only, the generator states): keep it as private as the
    data, or pass a :class:`CheckpointStore` that encrypts."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)

    def load(self) -> bytes | None:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise TrainingError(f"checkpoint {self.path}: cannot read: {e.strerror}") from None

    def save(self, data: bytes) -> None:
        try:
            atomic_write_bytes(self.path, data)
        except OSError as e:
            raise TrainingError(f"checkpoint {self.path}: cannot write: {e.strerror}") from None

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def seeded_model(
    cfg: TrainConfig, n_features: int, n_classes: int
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """``cfg.model`` with its initial weights drawn from ``cfg.seed`` (torch's global RNG state is
    left as it was): the same start for a run, its resume and every federated site."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        return build_model(
            cfg.model, n_features, n_classes, cfg.hidden, make_private_compatible=not cfg.no_dp
        )


def _store(checkpoint: str | os.PathLike[str] | CheckpointStore | None) -> CheckpointStore | None:
    if checkpoint is None:
        return None
    if isinstance(checkpoint, str | os.PathLike):
        return FileCheckpoint(checkpoint)
    if isinstance(checkpoint, CheckpointStore):
        return checkpoint
    raise InputError(f"checkpoint_path: expected a path or CheckpointStore, got {checkpoint!r}")


# ---- metrics -----------------------------------------------------------------------------------


def _average_ranks(x: np.ndarray) -> np.ndarray:
    _, inv, counts = np.unique(x, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts).astype(np.float64)
    return (upper - (counts - 1) / 2.0)[inv]


def classification_metrics(
    y_true: np.ndarray, proba: np.ndarray, n_classes: int
) -> dict[str, float | int | None]:
    """accuracy, recall, precision, f1 (binary: positive = class 1; else macro), AUC (binary,
    Mann-Whitney rank statistic with average ranks for ties), and the majority-class rate."""
    y_true = np.asarray(y_true, dtype=np.int64)
    n = int(len(y_true))
    out: dict[str, float | int | None] = {"n": n}
    if n == 0:
        return out | {"accuracy": None, "recall": None, "precision": None, "f1": None, "auc": None}
    pred = proba.argmax(1)
    out["accuracy"] = float((pred == y_true).mean())
    out["majority_rate"] = float(np.bincount(y_true, minlength=n_classes).max() / n)

    def prf(c: int) -> tuple[float, float, float]:
        tp = float(((pred == c) & (y_true == c)).sum())
        fp = float(((pred == c) & (y_true != c)).sum())
        fn = float(((pred != c) & (y_true == c)).sum())
        r = tp / (tp + fn) if tp + fn else 0.0
        p = tp / (tp + fp) if tp + fp else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return r, p, f

    if n_classes == 2:
        r, p, f = prf(1)
        pos = y_true == 1
        n_pos, n_neg = int(pos.sum()), int((~pos).sum())
        if n_pos and n_neg:
            ranks = _average_ranks(proba[:, 1].astype(np.float64))
            auc = (ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
            out["auc"] = float(auc)
        else:
            out["auc"] = None
    else:
        vals = [prf(c) for c in range(n_classes)]
        r, p, f = (float(np.mean([v[i] for v in vals])) for i in range(3))
        out["auc"] = None
    out.update(recall=r, precision=p, f1=f)
    return out


def _predict_proba(net: nn.Module, x: torch.Tensor, chunk: int = 8192) -> np.ndarray:
    was = net.training
    net.eval()
    try:
        with torch.no_grad():
            parts = [F.softmax(net(x[i : i + chunk]), dim=1) for i in range(0, len(x), chunk)]
    finally:
        net.train(was)
    if not parts:
        return np.zeros((0, 1), dtype=np.float32)
    return torch.cat(parts).numpy()


def evaluate(result: TrainResult, table: Any, *, target: str | None = None) -> dict[str, Any]:
    """Metrics of a trained model on ``table`` (encoded with ``result.features``)."""
    spec = result.features
    x = torch.from_numpy(spec.encode(table))
    y = spec.encode_target(table, target or result.target)
    net = load_model(result.architecture, result.state_dict)
    return classification_metrics(y, _predict_proba(net, x), len(result.classes))


# ---- training ----------------------------------------------------------------------------------


@dataclasses.dataclass
class _Plan:
    n_train: int
    sample_rate: float
    steps_per_epoch: int
    total_steps: int
    expected_batch_size: int
    sigma: float
    prior: History
    post: History = dataclasses.field(default_factory=list)


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[None]:
    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@contextlib.contextmanager
def _as_training_error(what: str) -> Iterator[None]:
    try:
        yield
    except PrivtrainError:
        raise
    except (RuntimeError, ValueError, TypeError, IndexError, NotImplementedError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise TrainingError(f"{what}: {type(e).__name__}: {first}") from e


def _generator(seed: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def _fingerprint(
    config: TrainConfig,
    features: FeatureSpec,
    target: str,
    x: np.ndarray,
    y: np.ndarray,
    prior: History,
    initial_state: bytes | None,
) -> str:
    h = hashlib.sha256()
    cfg = config.model_dump(mode="json", exclude={"threads", "checkpoint_every", "progress_every"})
    meta = {"config": cfg, "features": features.to_dict(), "target": target, "prior": prior}
    h.update(json.dumps(meta, sort_keys=True, separators=(",", ":")).encode())
    h.update(np.ascontiguousarray(x).tobytes())
    h.update(np.ascontiguousarray(y).tobytes())
    h.update(hashlib.sha256(initial_state or b"").digest())
    return h.hexdigest()


def _make_optimizer(config: TrainConfig, params: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr)
    return torch.optim.SGD(params, lr=config.lr, momentum=0.9)


def _opacus_mode_reason(net: nn.Module, n_features: int) -> str | None:
    """Why ghost clipping cannot be used (parameter tying / module reuse), else None."""
    seen: dict[int, str] = {}
    for mname, mod in net.named_modules(remove_duplicate=False):
        for pname, p in mod.named_parameters(recurse=False):
            if p.requires_grad:
                if id(p) in seen:
                    return f"parameter {mname}.{pname} is tied to {seen[id(p)]}"
                seen[id(p)] = f"{mname}.{pname}"
    counts: dict[nn.Module, int] = {}
    mods = [m for m in net.modules() if any(True for _ in m.parameters(recurse=False))]

    def hook(m: nn.Module, *_: Any) -> None:
        counts[m] = counts.get(m, 0) + 1

    handles = [m.register_forward_hook(hook) for m in mods]
    try:
        with torch.no_grad():
            net(torch.zeros(2, n_features))
    except Exception as e:
        return f"probe forward failed: {type(e).__name__}: {e}"
    finally:
        for h in handles:
            h.remove()
    for m in mods:
        if counts.get(m, 0) > 1:
            return f"a {type(m).__name__} runs {counts[m]} times per forward (parameter reuse)"
    return None


def _schedule(n: int, cfg: TrainConfig) -> tuple[int, int, float, int]:
    """(n_validation, n_train, sample_rate, total_steps) for ``n`` rows under ``cfg``."""
    n_val = int(round(cfg.validation_fraction * n))
    if cfg.validation_fraction > 0 and n_val == 0 and n > 1:
        n_val = 1
    if n - n_val < 1:
        raise InputError(
            "the table has too few rows to train (after the held-out validation split)"
        )
    if not cfg.no_dp:
        check_delta(cfg.delta, n)
    n_train = n - n_val
    steps_per_epoch = max(1, math.ceil(n_train / cfg.batch_size))
    q = 1.0 / steps_per_epoch
    total = cfg.steps if cfg.steps is not None else max(1, math.ceil(cfg.epochs * steps_per_epoch))
    return n_val, n_train, q, total


def check_delta(delta: float, n_rows: int) -> None:
    """Refuse δ ≥ 1/N: with such a δ a mechanism may publish a whole row and still meet
    (ε, δ). The message recommends δ ≤ 1/(10·N) rounded down to a power of ten (it does not
    print N itself)."""
    if n_rows > 0 and delta * n_rows >= 1.0:
        rec = 10.0 ** math.floor(math.log10(1.0 / (10.0 * n_rows)))
        raise ConfigError(
            f"delta: δ={delta:g} is not small against the number of rows N of this dataset "
            f"(δ must be below 1/N); use δ ≤ 1/(10·N), e.g. δ={rec:.0e}"
        )


def metrics_history(config: TrainConfig, n_validation: int) -> list[tuple[float, float, int]]:
    """The mechanism entry of the DP quality-metrics release (one Gaussian histogram), or
    nothing when no metrics are released with DP (no held-out rows, non-private run, or
    ``exact_metrics``)."""
    if config.no_dp or config.exact_metrics or n_validation <= 0:
        return []
    return [(float(config.metrics_noise_multiplier), 1.0, 1)]


@dataclasses.dataclass(frozen=True)
class PlannedRun:
    """What :func:`train_tabular` will do on ``n_rows`` rows, known before it starts: the
    ledger reserves ``history`` (prior entries + the DP-SGD entry) before any training."""

    n_rows: int
    n_train: int
    n_validation: int
    sample_rate: float
    steps: int
    noise_multiplier: float
    history: list[tuple[float, float, int]]


def plan_run(
    n_rows: int,
    config: TrainConfig,
    prior_history: Sequence[Sequence[float | int]] | None = None,
) -> PlannedRun:
    """The run's sample rate, steps and calibrated noise, exactly as training will use them.

    ``history`` is what a ledger reserves: prior entries, the DP-SGD entry and the DP release
    of the quality metrics. A non-private run's history is ``[(0.0, q, steps)]``: noise 0,
    which every accountant composes to ε = ∞."""
    n_val, n_train, q, total = _schedule(n_rows, config)
    prior = normalize_history(prior_history or [])
    if config.no_dp:
        return PlannedRun(n_rows, n_train, n_val, q, total, 0.0, [(0.0, q, total)])
    assert config.epsilon is not None
    post = metrics_history(config, n_val)
    sigma = calibrate_noise(
        config.epsilon, config.delta, q, total, config.accountant, [*prior, *post]
    )
    return PlannedRun(n_rows, n_train, n_val, q, total, sigma, [*prior, (sigma, q, total), *post])


def train_tabular(
    table: Any,
    *,
    target: str,
    config: TrainConfig,
    features: FeatureSpec,
    progress: ProgressFn | None = None,
    checkpoint_path: str | os.PathLike[str] | CheckpointStore | None = None,
    prior_history: Sequence[Sequence[float | int]] | None = None,
    initial_state: bytes | None = None,
    charge: ChargeFn | None = None,
) -> TrainResult:
    """Train a classifier on ``table`` (pyarrow.Table or pandas.DataFrame) with DP-SGD.

    - ``features``: declared or DP :class:`FeatureSpec` (must declare ``target_classes``).
    - ``progress(step, total_steps, epsilon_so_far)``: called every ``config.progress_every``
      steps (default: about 25 times per run) and at the last step. Public facts only: no
      loss or other statistic of the private rows is reported.
    - ``checkpoint_path``: file path or :class:`CheckpointStore`. Model, optimizer, accountant
      history (and, for ``noise_seed`` runs only, RNG states) are saved every
      ``config.checkpoint_every`` steps; an existing checkpoint for the same config/data is
      resumed (ConflictError if it belongs to another run); it is removed when training
      completes.
    - ``prior_history``: mechanism entries already spent by this run on the same rows (e.g.
      :func:`dp_feature_spec`'s); the noise is calibrated so prior + DP-SGD + the metrics
      release meets ``config.epsilon`` and the result's history starts with them.
    - ``initial_state``: state-dict bytes to start from (e.g. a federated round's weights).
    - ``charge(history)``: write-ahead accounting. Called *before* the rows are used for more
      DP-SGD steps (in blocks of at most ``config.checkpoint_every`` steps) and before the
      metrics release, with this call's history as it will be once they are done; a ledger
      records it so a run killed at any point is charged at least every step it executed.
      If training fails, the exception carries ``privtrain_executed``: the exact history this
      call executed.
    """
    cpu0, wall0 = time.process_time(), time.perf_counter()
    cfg = config
    if features.target_classes is None:
        raise ConfigError(
            "feature spec: target_classes is not declared; declare the label classes "
            "(they must not be read off the private rows)"
        )
    if any(c.name == target for c in features.columns):
        raise ConfigError(f"feature spec: the target column {target!r} is also a feature")
    classes = list(features.target_classes)
    x_all = features.encode(table)
    y_all = features.encode_target(table, target)
    n = len(x_all)
    n_val, _, q, total = _schedule(n, cfg)
    perm = np.random.default_rng(cfg.seed).permutation(n)
    val_idx, tr_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    x_tr, y_tr = torch.from_numpy(x_all[tr_idx]), torch.from_numpy(y_all[tr_idx])
    x_va, y_va = torch.from_numpy(x_all[val_idx]), y_all[val_idx]
    n_train = len(tr_idx)
    steps_per_epoch = max(1, math.ceil(n_train / cfg.batch_size))
    prior = normalize_history(prior_history or [])
    if cfg.no_dp and prior:
        raise ConfigError("no_dp run with a prior_history: a non-private run has no accounting")
    post = metrics_history(cfg, n_val)

    store = _store(checkpoint_path)
    fp = _fingerprint(cfg, features, target, x_all, y_all, prior, initial_state)
    ckpt = _load_checkpoint(store, fp) if store else None

    with _threads(cfg.threads):
        net, arch = seeded_model(cfg, x_all.shape[1], len(classes))
        if initial_state is not None:
            _load_state(net, initial_state)
        notes: list[str] = []
        if features.source == "dp" and features.dp is not None:
            spent = [tuple(h) for h in features.dp.history]
            if [tuple(h) for h in prior[: len(spent)]] != spent:
                msg = (
                    "the feature spec was released with DP (history "
                    f"{spent}); it is not in this run's history: charge it to the ledger"
                )
                logger.warning(msg)
                notes.append(msg)
        if arch["fixes"]:
            notes.append("ModuleValidator.fix applied: " + "; ".join(arch["fixes"]))
        mode = _choose_mode(cfg, net, x_all.shape[1], notes)
        if ckpt is not None and ckpt["mode"] != mode:
            raise ConflictError(
                f"checkpoint {_where(store)} was written in clipping mode {ckpt['mode']!r}, "
                f"this run uses {mode!r}; remove it to start over"
            )
        if ckpt is not None:
            sigma = float(ckpt["sigma"])
        elif cfg.no_dp:
            sigma = 0.0
        else:
            assert cfg.epsilon is not None
            sigma = calibrate_noise(
                cfg.epsilon, cfg.delta, q, total, cfg.accountant, [*prior, *post]
            )
        plan = _Plan(
            n_train=n_train,
            sample_rate=q,
            steps_per_epoch=steps_per_epoch,
            total_steps=total,
            expected_batch_size=max(1, int(n_train * q)),
            sigma=sigma,
            prior=prior,
            post=post,
        )
        if not cfg.no_dp:
            logger.info(
                "DP-SGD plan: %d steps, sample rate %.5g, noise multiplier %.4f, target eps %.4g",
                total,
                q,
                sigma,
                cfg.epsilon,
            )
        if cfg.noise_seed is not None:
            msg = (
                "noise_seed is set: noise and sampling are reproducible from the seed, so this "
                "run has no privacy guarantee (reported as ε = ∞); for tests only"
            )
            logger.warning(msg)
            notes.append(msg)
        start = int(ckpt["step"]) if ckpt is not None else 0
        charger = _Charger(charge, sigma, q, total - start, cfg.checkpoint_every)
        trainer = {"none": _run_nonprivate, "fast": _run_fast}.get(mode, _run_opacus)
        try:
            steps_done = trainer(
                net=net,
                mode=mode,
                cfg=cfg,
                plan=plan,
                x=x_tr,
                y=y_tr,
                progress=progress,
                store=store,
                fp=fp,
                ckpt=ckpt,
                before_step=charger.before_step,
            )
            if cfg.no_dp:
                history: History = []
                metrics = _exact_metrics(net, x_va, y_va, len(classes), "exact (non-private run)")
            elif post:
                charger.before_release(post[0])
                with _noise_source(cfg, None, salt=2) as noise:
                    metrics = _dp_metrics(net, x_va, y_va, len(classes), cfg, noise)
                history = [*prior, (sigma, q, steps_done), *post]
            else:
                metrics = (
                    _exact_metrics(net, x_va, y_va, len(classes), "exact (opted in; not DP)")
                    if n_val
                    else {"n": 0, "release": "none"}
                )
                history = [*prior, (sigma, q, steps_done)]
        except BaseException as e:
            with contextlib.suppress(AttributeError, TypeError):
                e.privtrain_executed = charger.executed()  # type: ignore[attr-defined]
            raise
        seeded = cfg.noise_seed is not None and not cfg.no_dp
        if cfg.no_dp or seeded:
            eps = math.inf
        else:
            eps = epsilon_for(history, cfg.delta, cfg.accountant)
        sd = state_dict_bytes(net)
    if store is not None:
        store.clear()
    _opacus()
    import opacus

    return TrainResult(
        state_dict=sd,
        architecture=arch,
        history=history,
        epsilon=eps,
        delta=cfg.delta,
        accountant=cfg.accountant,
        noise_multiplier=sigma,
        max_grad_norm=cfg.max_grad_norm,
        sample_rate=q,
        steps=steps_done,
        metrics=metrics,
        cpu_seconds=time.process_time() - cpu0,
        wall_seconds=time.perf_counter() - wall0,
        non_private=cfg.no_dp or seeded,
        features=features,
        target=target,
        classes=classes,
        clipping=mode,
        notes=notes,
        config=cfg,
        n_train=n_train,
        n_validation=n_val,
        versions={
            "torch": torch.__version__,
            "opacus": opacus.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        executed=charger.executed(),
        noise="none" if cfg.no_dp else ("seeded" if seeded else "aes-256-ctr"),
    )


class _Charger:
    """Write-ahead accounting of one :func:`train_tabular` call: before a DP-SGD step whose
    index passes what was last charged, charge up to ``block`` steps ahead (never beyond the
    call's total); before the metrics release, charge it. ``executed()`` is the exact history
    begun so far."""

    def __init__(self, fn: ChargeFn | None, sigma: float, q: float, total: int, block: int) -> None:
        self.fn, self.sigma, self.q = fn, float(sigma), float(q)
        self.total, self.block = max(0, int(total)), max(1, int(block))
        self.begun = 0
        self.charged = 0
        self.extra: list[tuple[float, float, int]] = []

    def _entries(self, steps: int) -> list[tuple[float, float, int]]:
        return ([(self.sigma, self.q, steps)] if steps else []) + list(self.extra)

    def executed(self) -> list[tuple[float, float, int]]:
        return self._entries(self.begun)

    def before_step(self) -> None:
        self.begun += 1
        if self.begun > self.charged:
            self.charged = max(self.begun, min(self.begun + self.block - 1, self.total))
            if self.fn is not None:
                self.fn(self._entries(self.charged))

    def before_release(self, entry: tuple[float, float, int]) -> None:
        self.extra.append(entry)
        if self.fn is not None:
            self.fn(self._entries(max(self.begun, self.charged)))


# ---- quality metrics: released with DP ---------------------------------------------------------


def _scores(net: nn.Module, x: torch.Tensor) -> np.ndarray:
    return _predict_proba(net, x) if len(x) else np.zeros((0, 1), dtype=np.float32)


def _exact_metrics(
    net: nn.Module, x: torch.Tensor, y: np.ndarray, n_classes: int, release: str
) -> dict[str, Any]:
    out: dict[str, Any] = dict(classification_metrics(y, _scores(net, x), n_classes))
    out["release"] = release
    return out


def _dp_metrics(
    net: nn.Module,
    x: torch.Tensor,
    y: np.ndarray,
    n_classes: int,
    cfg: TrainConfig,
    noise: Any,
) -> dict[str, Any]:
    """Quality metrics from one Gaussian release: the joint histogram of (true class,
    prediction cell), where the cell is the predicted class (multi-class) or the bin of the
    positive-class score among ``metrics_bins`` equal bins of [0, 1] (binary; bins below 0.5
    are the negative predictions). A row adds 1 to exactly one cell (L2 sensitivity 1); noise
    N(0, σ_m²) per cell; everything else is post-processing."""
    proba = _scores(net, x)
    y = np.asarray(y, dtype=np.int64)
    pred = proba.argmax(1) if len(y) else np.zeros(0, dtype=np.int64)
    if n_classes == 2:
        b = cfg.metrics_bins
        half = b // 2
        cell = np.clip(np.floor(proba[:, 1].astype(np.float64) * b), 0, b - 1).astype(np.int64)
        cell = np.where(pred == 1, np.maximum(cell, half), np.minimum(cell, half - 1))
        width = b
    else:
        cell, width = pred.astype(np.int64), n_classes
    hist = np.bincount(y * width + cell, minlength=n_classes * width).astype(np.float64)
    sigma = float(cfg.metrics_noise_multiplier)
    noisy = hist + noise.gaussian((hist.size,), sigma, torch.float64).numpy()
    h = np.clip(noisy, 0.0, None).reshape(n_classes, width)
    return _metrics_from_histogram(h, n_classes, sigma, width)


def _metrics_from_histogram(
    h: np.ndarray, n_classes: int, sigma: float, width: int
) -> dict[str, Any]:
    n = float(h.sum())
    rows = h.sum(1)
    out: dict[str, Any] = {
        "release": "gaussian",
        "mechanism": (
            f"Gaussian noise σ={sigma:g} on a {n_classes}×{width} histogram of (true class, "
            + ("score bin" if n_classes == 2 else "predicted class")
            + "); L2 sensitivity 1"
        ),
        "n": int(round(n)),
    }
    if n <= 0:
        return out | {"accuracy": None, "recall": None, "precision": None, "f1": None, "auc": None}

    def div(a: float, b: float) -> float:
        return float(min(1.0, max(0.0, a / b))) if b > 0 else 0.0

    out["majority_rate"] = div(float(rows.max()), n)
    if n_classes == 2:
        half = width // 2
        tn, fp = float(h[0, :half].sum()), float(h[0, half:].sum())
        fn, tp = float(h[1, :half].sum()), float(h[1, half:].sum())
        out["accuracy"] = div(tp + tn, n)
        r, p = div(tp, tp + fn), div(tp, tp + fp)
        out.update(recall=r, precision=p, f1=(2 * p * r / (p + r)) if p + r else 0.0)
        pos, neg = h[1], h[0]
        n_pos, n_neg = float(pos.sum()), float(neg.sum())
        if n_pos > 0 and n_neg > 0:
            below = np.concatenate([[0.0], np.cumsum(neg)[:-1]])
            auc = float((pos * (below + 0.5 * neg)).sum() / (n_pos * n_neg))
            out["auc"] = min(1.0, max(0.0, auc))
        else:
            out["auc"] = None
    else:
        diag = np.diag(h)
        out["accuracy"] = div(float(diag.sum()), n)
        cols = h.sum(0)
        rec = [div(float(diag[c]), float(rows[c])) for c in range(n_classes)]
        pre = [div(float(diag[c]), float(cols[c])) for c in range(n_classes)]
        f1 = [2 * a * b / (a + b) if a + b else 0.0 for a, b in zip(rec, pre, strict=True)]
        out.update(recall=float(np.mean(rec)), precision=float(np.mean(pre)), f1=float(np.mean(f1)))
        out["auc"] = None
    return out


def _where(store: CheckpointStore | None) -> str:
    return str(getattr(store, "path", "store"))


def _load_state(net: nn.Module, data: bytes) -> None:
    try:
        sd = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        net.load_state_dict(sd)
    except Exception as e:
        raise InputError(f"initial_state does not fit the model: {e}") from None


def _load_checkpoint(store: CheckpointStore, fp: str) -> dict[str, Any] | None:
    data = store.load()
    if data is None:
        return None
    try:
        ck = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as e:
        raise IntegrityError(f"checkpoint {_where(store)} is unreadable: {e}") from None
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise IntegrityError(f"checkpoint {_where(store)} is not a privtrain DP checkpoint")
    if ck.get("fingerprint") != fp:
        raise ConflictError(
            f"checkpoint {_where(store)} belongs to a different run (config, data or features "
            "differ); remove it or use another checkpoint path"
        )
    logger.info("resuming from checkpoint %s at step %d", _where(store), int(ck["step"]))
    return ck


def _save_checkpoint(
    store: CheckpointStore,
    *,
    fp: str,
    mode: str,
    plan: _Plan,
    step: int,
    net: nn.Module,
    opt: torch.optim.Optimizer,
    rng: dict[str, torch.Tensor],
) -> None:
    hist = [*plan.prior, (plan.sigma, plan.sample_rate, step)] if plan.sigma > 0 else []
    ck = {
        "format": CHECKPOINT_FORMAT,
        "fingerprint": fp,
        "mode": mode,
        "step": step,
        "total_steps": plan.total_steps,
        "sigma": plan.sigma,
        "sample_rate": plan.sample_rate,
        "history": [list(h) for h in hist],
        "model": {k: v.detach().clone() for k, v in net.state_dict().items()},
        "optimizer": opt.state_dict(),
        "rng": rng,
    }
    buf = io.BytesIO()
    torch.save(ck, buf)
    store.save(buf.getvalue())


def _choose_mode(cfg: TrainConfig, net: nn.Module, n_features: int, notes: list[str]) -> str:
    if cfg.no_dp:
        return "none"
    if cfg.clipping == "fast":
        reason = unsupported_reason(net, n_features)
        if reason is None:
            return "fast"
        msg = f"fast clipping not available ({reason}); using Opacus"
        logger.warning(msg)
        notes.append(msg)
    reason = _opacus_mode_reason(net, n_features)
    if reason is None:
        return "ghost"
    msg = f"ghost clipping not available ({reason}); using grad_sample_mode='hooks'"
    logger.warning(msg)
    notes.append(msg)
    return "hooks"


class _Reporter:
    def __init__(self, cfg: TrainConfig, plan: _Plan, progress: ProgressFn | None):
        self.cfg, self.plan, self.progress = cfg, plan, progress
        self.every = cfg.progress_every or max(1, plan.total_steps // 25)

    def __call__(self, step: int) -> None:
        if self.progress is None or (step % self.every and step != self.plan.total_steps):
            return
        if self.cfg.no_dp:
            eps = math.inf
        else:
            p = self.plan
            eps = epsilon_for(
                [*p.prior, (p.sigma, p.sample_rate, step)], self.cfg.delta, self.cfg.accountant
            )
        self.progress(step, self.plan.total_steps, eps)


def _rng_pair(cfg: TrainConfig, ckpt: dict[str, Any] | None) -> tuple[torch.Generator, Any]:
    """(sampling generator, noise source). Production: Poisson sampling from a generator seeded
    with 63 bits of OS entropy, noise from the AES-CTR CSPRNG (:class:`SecureNoise`). With
    ``noise_seed`` (tests only): both reproducible, restored from a checkpoint."""
    if cfg.noise_seed is not None:
        g_sample, g_noise = _generator(cfg.noise_seed), _generator(cfg.noise_seed + 1)
        rng = ckpt.get("rng") if ckpt is not None else None
        if rng:  # only reproducible (noise_seed) runs keep generator states in checkpoints
            g_sample.set_state(rng["sample"])
            g_noise.set_state(rng["noise"])
        return g_sample, SeededNoise(generator=g_noise)
    return _generator(secrets.randbits(63)), SecureNoise()


@contextlib.contextmanager
def _noise_source(cfg: TrainConfig, ckpt: dict[str, Any] | None, salt: int) -> Iterator[Any]:
    """A noise source for one release outside the step loop (the metrics)."""
    if cfg.noise_seed is not None:
        yield SeededNoise(cfg.noise_seed + 1000 + salt)
    else:
        yield SecureNoise()


def _rng_state(cfg: TrainConfig, g_sample: torch.Generator, noise: Any) -> dict[str, torch.Tensor]:
    """Generator states for a checkpoint. Production runs (no ``noise_seed``) store none: whoever
    read a checkpoint could otherwise predict the noise and batches of the remaining steps. Their
    resumed steps draw fresh noise and batches instead."""
    if cfg.noise_seed is None or not isinstance(noise, SeededNoise):
        return {}
    return {"sample": g_sample.get_state(), "noise": noise.generator.get_state()}


def _restore(net: nn.Module, opt: torch.optim.Optimizer, ckpt: dict[str, Any] | None) -> int:
    if ckpt is None:
        return 0
    net.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optimizer"])
    return int(ckpt["step"])


def _run_fast(
    *,
    net: nn.Module,
    cfg: TrainConfig,
    plan: _Plan,
    x: torch.Tensor,
    y: torch.Tensor,
    progress: ProgressFn | None,
    store: CheckpointStore | None,
    fp: str,
    ckpt: dict[str, Any] | None,
    mode: str,
    before_step: Callable[[], None] | None = None,
) -> int:
    _opacus()
    from opacus.utils.uniform_sampler import UniformWithReplacementSampler

    net.train()
    opt = _make_optimizer(cfg, net.parameters())
    step = _restore(net, opt, ckpt)
    g_sample, noise = _rng_pair(cfg, ckpt)
    report = _Reporter(cfg, plan, progress)
    clipper = BookkeepingClipper(net, cfg.max_grad_norm)
    remaining = plan.total_steps - step
    try:
        if remaining <= 0:
            return step
        sampler = UniformWithReplacementSampler(
            num_samples=plan.n_train,
            sample_rate=plan.sample_rate,
            generator=g_sample,
            steps=remaining,
        )
        for idx in sampler:
            if before_step is not None:
                before_step()
            with _as_training_error("DP-SGD step (fast clipping)"):
                opt.zero_grad(set_to_none=True)
                it = torch.as_tensor(idx, dtype=torch.long)
                for chunk in it.split(cfg.max_physical_batch_size):
                    clipper.accumulate(x[chunk], y[chunk])
                clipper.finalize(plan.sigma, plan.expected_batch_size, noise)
                opt.step()
            step += 1
            report(step)
            if store is not None and step % cfg.checkpoint_every == 0 and step < plan.total_steps:
                _save_checkpoint(
                    store,
                    fp=fp,
                    mode=mode,
                    plan=plan,
                    step=step,
                    net=net,
                    opt=opt,
                    rng=_rng_state(cfg, g_sample, noise),
                )
    finally:
        clipper.remove()
    return step


def _run_nonprivate(
    *,
    net: nn.Module,
    cfg: TrainConfig,
    plan: _Plan,
    x: torch.Tensor,
    y: torch.Tensor,
    progress: ProgressFn | None,
    store: CheckpointStore | None,
    fp: str,
    ckpt: dict[str, Any] | None,
    mode: str,
    before_step: Callable[[], None] | None = None,
) -> int:
    """Baseline: shuffled mini-batches (a fresh seeded permutation per epoch), no clipping and
    no noise. Not differentially private."""
    net.train()
    opt = _make_optimizer(cfg, net.parameters())
    step = _restore(net, opt, ckpt)
    report = _Reporter(cfg, plan, progress)
    bs = cfg.batch_size
    perm: torch.Tensor | None = None
    epoch = -1
    while step < plan.total_steps:
        e, k = divmod(step, plan.steps_per_epoch)
        if e != epoch or perm is None:
            epoch = e
            perm = torch.randperm(plan.n_train, generator=_generator(cfg.seed * 1_000_003 + e))
        idx = perm[k * bs : (k + 1) * bs]
        if before_step is not None:
            before_step()
        with _as_training_error("training step"):
            opt.zero_grad(set_to_none=True)
            for chunk in idx.split(cfg.max_physical_batch_size):
                lsum = F.cross_entropy(net(x[chunk]), y[chunk], reduction="sum")
                (lsum / len(idx)).backward()
            opt.step()
        step += 1
        report(step)
        if store is not None and step % cfg.checkpoint_every == 0 and step < plan.total_steps:
            _save_checkpoint(
                store, fp=fp, mode=mode, plan=plan, step=step, net=net, opt=opt, rng={}
            )
    return step


def _secure_add_noise(dp_opt: Any, noise: Any) -> None:
    """Make an Opacus DPOptimizer draw its noise from ``noise`` (our CSPRNG) instead of torch's
    generator. Same arithmetic as Opacus' ``DPOptimizer.add_noise`` (and the ghost-clipping
    optimizer's, which honours ``_adjusted_noise_multiplier``); hand-written because Opacus
    only accepts a ``torch.Generator`` and its own secure mode needs ``torchcsprng``."""
    import types

    from opacus.optimizers.optimizer import _check_processed_flag, _mark_as_processed

    def add_noise(self: Any) -> None:
        nm = getattr(self, "_adjusted_noise_multiplier", self.noise_multiplier)
        std = float(nm) * float(self.max_grad_norm)
        for p in self.params:
            _check_processed_flag(p.summed_grad)
            ref = p.summed_grad
            z = noise.gaussian(tuple(ref.shape), std, ref.dtype) if std > 0 else 0.0
            p.grad = (ref + z).view_as(p)
            _mark_as_processed(p.summed_grad)

    dp_opt.add_noise = types.MethodType(add_noise, dp_opt)


def _run_opacus(
    *,
    net: nn.Module,
    cfg: TrainConfig,
    plan: _Plan,
    x: torch.Tensor,
    y: torch.Tensor,
    progress: ProgressFn | None,
    store: CheckpointStore | None,
    fp: str,
    ckpt: dict[str, Any] | None,
    mode: str,
    before_step: Callable[[], None] | None = None,
) -> int:
    _opacus()
    from opacus import PrivacyEngine
    from opacus.utils.batch_memory_manager import BatchMemoryManager

    net.train()
    opt = _make_optimizer(cfg, net.parameters())
    step = _restore(net, opt, ckpt)
    g_sample, noise = _rng_pair(cfg, ckpt)
    report = _Reporter(cfg, plan, progress)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, y), batch_size=cfg.batch_size, generator=g_sample
    )
    with warnings.catch_warnings():
        # Opacus warns that its secure_mode is off: its noise is replaced below by ours.
        warnings.filterwarnings("ignore", message=".*Secure RNG turned off.*")
        engine = PrivacyEngine(accountant=cfg.accountant)
    criterion = nn.CrossEntropyLoss()
    common = dict(
        module=net,
        optimizer=opt,
        data_loader=loader,
        noise_multiplier=plan.sigma,
        max_grad_norm=cfg.max_grad_norm,
        poisson_sampling=True,
    )
    with _as_training_error(f"Opacus make_private ({mode})"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if mode == "ghost":
            model, dp_opt, crit, dl = engine.make_private(
                criterion=criterion, grad_sample_mode="ghost", **common
            )
        else:
            model, dp_opt, dl = engine.make_private(grad_sample_mode="hooks", **common)
            crit = criterion
    _secure_add_noise(dp_opt, noise)
    if ckpt is not None:
        engine.accountant.history = [tuple(h) for h in ckpt["history"]][len(plan.prior) :]
    if abs(dl.sample_rate - plan.sample_rate) > 1e-12:
        raise TrainingError(
            f"Opacus sample rate {dl.sample_rate} differs from the planned {plan.sample_rate}"
        )
    try:
        begun = False
        while step < plan.total_steps:
            with BatchMemoryManager(
                data_loader=dl,
                max_physical_batch_size=cfg.max_physical_batch_size,
                optimizer=dp_opt,
            ) as mdl:
                for xb, yb in mdl:
                    if not begun and before_step is not None:
                        before_step()
                    begun = True
                    with (
                        _as_training_error(f"DP-SGD step (Opacus {mode})"),
                        warnings.catch_warnings(),
                    ):
                        warnings.simplefilter("ignore")
                        dp_opt.zero_grad()
                        loss = crit(model(xb), yb)
                        loss.backward()
                        dp_opt.step()
                    if dp_opt._is_last_step_skipped:
                        continue
                    begun = False
                    step += 1
                    report(step)
                    if (
                        store is not None
                        and step % cfg.checkpoint_every == 0
                        and step < plan.total_steps
                    ):
                        _save_checkpoint(
                            store,
                            fp=fp,
                            mode=mode,
                            plan=plan,
                            step=step,
                            net=net,
                            opt=dp_opt.original_optimizer,
                            rng=_rng_state(cfg, g_sample, noise),
                        )
                    if step >= plan.total_steps:
                        break
    finally:
        with contextlib.suppress(Exception):
            model._close()
    return step
