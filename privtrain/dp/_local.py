"""k local DP-SGD steps from given weights: the site-side training call of federated runs.

A federated job spends one privacy plan per site: the noise multiplier is calibrated once, so
that ``rounds × local_steps`` DP-SGD steps at the site's sample rate meet the job's ε
(:func:`plan_local`). Each round then runs ``local_steps`` of those steps from the global
weights (:func:`train_local_steps`) with the very step loop of :func:`train_tabular`
(book-keeping clipping, or Opacus where the model needs it), and returns the new weights with
the mechanism history of the steps it ran. The histories of all rounds compose to the planned
one, which is what the site's ledger reserved.

No catalog or dataset I/O happens here. Nothing computed from the rows is returned except the
weights (DP-SGD outputs) and the history (public parameters of the mechanism).
"""

from __future__ import annotations

import dataclasses
import io
import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from privtrain.errors import ConfigError, InputError

from ._features import FeatureSpec
from ._trainer import PlannedRun, TrainConfig, plan_run

Weights = dict[str, np.ndarray]


@dataclasses.dataclass(frozen=True)
class LocalResult:
    """Weights after the local steps (same names, shapes and order as the model's state dict),
    the mechanism history of these steps, and the public facts of the run."""

    weights: Weights
    architecture: dict[str, Any]
    history: list[tuple[float, float, int]]
    steps: int
    noise_multiplier: float
    sample_rate: float
    clipping: str
    wall_seconds: float


def plan_local(n_rows: int, config: TrainConfig, *, rounds: int, local_steps: int) -> PlannedRun:
    """Noise calibrated for ``rounds × local_steps`` steps to meet ``config.epsilon``; the
    returned history is what a site reserves before its first round."""
    if rounds < 1 or local_steps < 1:
        raise InputError(f"rounds ({rounds}) and local steps ({local_steps}) must be >= 1")
    return plan_run(n_rows, config.model_copy(update={"steps": rounds * local_steps}))


def initial_weights(n_features: int, config: TrainConfig, n_classes: int) -> Weights:
    """The seeded initial weights of ``config.model`` (what every site starts from)."""
    from ._trainer import seeded_model

    net, _ = seeded_model(config, n_features, n_classes)
    return {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}


def _state_bytes(weights: Mapping[str, np.ndarray]) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in weights.items()}, buf)
    return buf.getvalue()


def train_local_steps(
    table: Any,
    *,
    target: str,
    features: FeatureSpec,
    config: TrainConfig,
    weights: Mapping[str, np.ndarray] | None,
    steps: int,
    noise_multiplier: float,
) -> LocalResult:
    """Run ``steps`` DP-SGD steps on ``table`` from ``weights`` (None: the seeded initial
    model) with the given noise multiplier, using the trainer of single-site runs.

    The rows and the held-out split are the ones :func:`train_tabular` would use with the
    same ``config`` (``validation_fraction``, ``seed``); the sample rate is the single-site
    one. With ``config.noise_seed`` set, sampling and noise are reproducible (tests only).
    """
    import torch

    from . import _trainer as T

    wall0 = time.perf_counter()
    if steps < 1:
        raise InputError(f"local steps must be >= 1, got {steps}")
    if not config.no_dp and not (noise_multiplier > 0 and math.isfinite(noise_multiplier)):
        raise ConfigError(f"noise multiplier must be > 0 for a DP run, got {noise_multiplier}")
    if features.target_classes is None:
        raise ConfigError("feature spec: target_classes is not declared")
    classes = list(features.target_classes)
    x_all = features.encode(table)
    y_all = features.encode_target(table, target)
    n = len(x_all)
    n_val, n_train, q, _ = T._schedule(n, config)
    perm = np.random.default_rng(config.seed).permutation(n)
    tr_idx = np.sort(perm[n_val:])
    x_tr, y_tr = torch.from_numpy(x_all[tr_idx]), torch.from_numpy(y_all[tr_idx])
    sigma = 0.0 if config.no_dp else float(noise_multiplier)
    with T._threads(config.threads):
        net, arch = T.seeded_model(config, x_all.shape[1], len(classes))
        if weights is not None:
            T._load_state(net, _state_bytes(weights))
        notes: list[str] = []
        mode = T._choose_mode(config, net, x_all.shape[1], notes)
        plan = T._Plan(
            n_train=n_train,
            sample_rate=q,
            steps_per_epoch=max(1, math.ceil(n_train / config.batch_size)),
            total_steps=steps,
            expected_batch_size=max(1, int(n_train * q)),
            sigma=sigma,
            prior=[],
        )
        run = {"none": T._run_nonprivate, "fast": T._run_fast}.get(mode, T._run_opacus)
        done = run(
            net=net,
            mode=mode,
            cfg=config,
            plan=plan,
            x=x_tr,
            y=y_tr,
            progress=None,
            store=None,
            fp="",
            ckpt=None,
        )
    out = {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}
    return LocalResult(
        weights=out,
        architecture=arch,
        history=[] if config.no_dp else [(sigma, q, int(done))],
        steps=int(done),
        noise_multiplier=sigma,
        sample_rate=q,
        clipping=mode,
        wall_seconds=time.perf_counter() - wall0,
    )
