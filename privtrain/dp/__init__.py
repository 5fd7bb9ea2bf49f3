"""Differentially private training core.

Accounting::

    epsilon_for(history, delta, accountant="prv") -> float
    calibrate_noise(target_epsilon, delta, sample_rate, steps, accountant="prv",
                    prior_history=None) -> float

A history is ``[(noise_multiplier, sample_rate, steps), ...]``; every entry is composed by one
accountant from ``ACCOUNTANTS`` ("prv", "rdp"), under add/remove-one neighbouring.

Features::

    FeatureSpec (declared | dp), FeatureSpec.from_yaml(path), adult_feature_spec()
    dp_feature_spec(table, hints, noise_multiplier=... | epsilon=...) -> (FeatureSpec, history)

Noise: every DP release draws from ``SecureNoise`` (AES-256-CTR keystream under a fresh
``os.urandom`` key, Box-Muller, Opacus' 4-sample floating-point-attack mitigation).

Training (in-memory tables in, results out; no catalog or dataset I/O)::

    train_tabular(table, target=..., config=TrainConfig(...), features=spec) -> TrainResult
    evaluate(result, table) -> metrics ; load_model(result.architecture, result.state_dict)
"""

import logging as _logging

from ._accounting import (
    ACCOUNTANTS,
    NEIGHBOURING,
    Accountant,
    History,
    MechanismEntry,
    PRVAccountant,
    RDPAccountant,
    calibrate_noise,
    epsilon_for,
    get_accountant,
    normalize_history,
)
from ._bookkeeping import BookkeepingClipper, unsupported_reason
from ._features import (
    CategoricalColumn,
    CategoricalHint,
    DPProvenance,
    FeatureSpec,
    NumericColumn,
    NumericHint,
    adult_feature_spec,
    dp_feature_plan,
    dp_feature_spec,
)
from ._models import MLP, PER_SAMPLE_MODULES, build_model, load_model, mixing_layer
from ._noise import NoiseSource, SecureNoise, SeededNoise
from ._trainer import (
    CheckpointStore,
    FileCheckpoint,
    PlannedRun,
    TrainConfig,
    TrainResult,
    check_delta,
    classification_metrics,
    evaluate,
    metrics_history,
    plan_run,
    train_tabular,
)

# A library logs, the application decides where records go (no lastResort output to stderr).
_logging.getLogger(__name__).addHandler(_logging.NullHandler())

__all__ = [
    "ACCOUNTANTS",
    "NEIGHBOURING",
    "Accountant",
    "BookkeepingClipper",
    "CategoricalColumn",
    "CategoricalHint",
    "CheckpointStore",
    "DPProvenance",
    "FeatureSpec",
    "FileCheckpoint",
    "History",
    "MLP",
    "MechanismEntry",
    "NumericColumn",
    "NoiseSource",
    "NumericHint",
    "PER_SAMPLE_MODULES",
    "PlannedRun",
    "PRVAccountant",
    "RDPAccountant",
    "SecureNoise",
    "SeededNoise",
    "TrainConfig",
    "TrainResult",
    "adult_feature_spec",
    "build_model",
    "calibrate_noise",
    "check_delta",
    "classification_metrics",
    "dp_feature_plan",
    "dp_feature_spec",
    "epsilon_for",
    "evaluate",
    "get_accountant",
    "load_model",
    "metrics_history",
    "mixing_layer",
    "normalize_history",
    "plan_run",
    "train_tabular",
    "unsupported_reason",
]
