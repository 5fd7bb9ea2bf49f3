"""The federated job: run settings shared by the ServerApp and every site.

The ServerApp reads them from the run config (``[tool.flwr.app.config]`` in ``pyproject.toml``,
overridden by ``flwr run --run-config``) and sends them with every instruction, so each site
checks against its own policy exactly the job it is asked to train.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from privtrain.errors import ConfigError, first_validation_error

Aggregation = Literal["none", "he", "secagg+"]
AGGREGATIONS: tuple[str, ...] = ("none", "he", "secagg+")
SITE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

# Keys of the run config (kebab-case, as Flower writes them) -> Job fields.
_KEYS = {
    "num-server-rounds": "rounds",
    "local-steps": "local_steps",
    "epsilon": "epsilon",
    "delta": "delta",
    "aggregation": "aggregation",
    "min-sites": "min_sites",
    "model": "model",
    "hidden": "hidden",
    "batch-size": "batch_size",
    "lr": "lr",
    "optimizer": "optimizer",
    "max-grad-norm": "max_grad_norm",
    "target": "target",
    "features": "features",
    "seed": "seed",
    "noise-seed": "noise_seed",
    "validation-fraction": "validation_fraction",
    "reply-timeout": "reply_timeout",
    "setup-timeout": "setup_timeout",
    "model-name": "model_name",
    "coordinator-home": "coordinator_home",
    "events-path": "events_path",
    "summary-path": "summary_path",
    "he-public-context": "he_public_context",
    "secagg-shares": "secagg_shares",
    "secagg-threshold": "secagg_threshold",
    "secagg-clipping-range": "secagg_clipping_range",
    "secagg-max-weight": "secagg_max_weight",
    "federation": "federation",
}


class Job(BaseModel):
    """One federated training job (per-site ε: each site pays ``epsilon`` for the whole job)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rounds: int = Field(default=3, ge=1, le=10_000)
    local_steps: int = Field(default=10, ge=1)
    epsilon: float | None = Field(default=1.0, gt=0)  # None: a non-private job
    delta: float = Field(default=1e-5, gt=0, lt=1)
    aggregation: Aggregation = "he"
    min_sites: int = Field(default=2, ge=1)
    model: str = "mlp"
    hidden: list[int] = Field(default_factory=lambda: [64])
    batch_size: int = Field(default=256, ge=1)
    lr: float = Field(default=2e-3, gt=0)
    optimizer: Literal["adam", "sgd"] = "adam"
    max_grad_norm: float = Field(default=1.0, gt=0)
    target: str = "class"
    features: str = "examples/adult_features.yaml"
    seed: int = 0
    noise_seed: int | None = None  # tests only: reproducible noise at every site
    validation_fraction: float = Field(default=0.0, ge=0, lt=1)
    reply_timeout: float = Field(default=120.0, gt=0)  # a training round
    setup_timeout: float = Field(default=300.0, gt=0)  # offer and finish (accounting is slow)
    model_name: str = "federated"
    coordinator_home: str = ""
    events_path: str = ""
    summary_path: str = ""
    he_public_context: str = ""
    secagg_shares: int = Field(default=3, ge=2)
    secagg_threshold: int = Field(default=2, ge=1)
    secagg_clipping_range: float = Field(default=8.0, gt=0)
    # SecAgg+ scales each update by weight / max-weight before quantizing (step 16 / 2^22):
    # keep it at the largest site weight, or the aggregate loses precision by that factor.
    secagg_max_weight: float = Field(default=1.0, gt=0)
    federation: str = "local"

    @classmethod
    def from_run_config(cls, cfg: dict[str, Any], *, where: str = "run config") -> Job:
        data: dict[str, Any] = {}
        for k, v in cfg.items():
            if k not in _KEYS:
                raise ConfigError(f"{where}: unknown key {k!r}")
            data[_KEYS[k]] = v
        if isinstance(data.get("hidden"), str):
            try:
                data["hidden"] = [int(h) for h in data["hidden"].split(",") if h.strip()]
            except ValueError:
                raise ConfigError(f"{where}: hidden: expected comma-separated ints") from None
        for key in ("epsilon", "noise_seed"):  # TOML has no null: a negative value means none
            if isinstance(data.get(key), int | float) and data[key] < 0:
                data[key] = None
        return cls.parse(data, where=where)

    @classmethod
    def parse(cls, data: dict[str, Any], *, where: str = "job") -> Job:
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            loc, msg = first_validation_error(e)
            raise ConfigError(f"{where}: {loc or 'job'}: {msg}") from None

    @property
    def private(self) -> bool:
        return self.epsilon is not None

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Job:
        try:
            data = json.loads(text)
        except (TypeError, ValueError):
            raise ConfigError("job: not valid JSON") from None
        if not isinstance(data, dict):
            raise ConfigError("job: expected a JSON object")
        return cls.parse(data)

    def train_config(self, *, delta: float | None = None) -> Any:
        """The privtrain.dp TrainConfig every site trains with."""
        from privtrain.dp import TrainConfig

        return TrainConfig.from_dict(
            {
                "epsilon": self.epsilon,
                "delta": self.delta if delta is None else delta,
                "no_dp": not self.private,
                "batch_size": self.batch_size,
                "lr": self.lr,
                "optimizer": self.optimizer,
                "max_grad_norm": self.max_grad_norm,
                "model": self.model,
                "hidden": list(self.hidden),
                "seed": self.seed,
                "noise_seed": self.noise_seed,
                "validation_fraction": self.validation_fraction,
                "steps": self.rounds * self.local_steps,
            },
            where="federated job",
        )
