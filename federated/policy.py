"""Site policy (``policies/site.yaml``): what a site accepts before it trains a federated job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from privtrain._io import read_yaml_mapping
from privtrain._shipped import policies_dir
from privtrain.errors import ConfigError, NotFoundError, first_validation_error

from .job import Aggregation, Job

DEFAULT_POLICY = policies_dir() / "site.yaml"


class SitePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    require_dp: bool = True
    max_epsilon_per_job: float = Field(default=4.0, gt=0)
    max_epsilon_total: float = Field(default=10.0, gt=0)
    max_delta: float = Field(default=1e-5, gt=0, lt=1)
    aggregation: list[Aggregation] = Field(default_factory=lambda: ["he", "secagg+"])
    min_sites: int = Field(default=3, ge=1)
    models: list[str] = Field(default_factory=lambda: ["mlp"])
    # Tests only: a job that fixes the noise seed is reproducible, hence not private.
    allow_noise_seed: bool = False

    @classmethod
    def load(cls, path: str | Path | None = None) -> SitePolicy:
        p = Path(path) if path else DEFAULT_POLICY
        data = read_yaml_mapping(p, "site policy", missing=NotFoundError)
        try:
            return cls.model_validate(data)
        except ValidationError as e:
            loc, msg = first_validation_error(e)
            raise ConfigError(f"site policy {p}: {loc or 'policy'}: {msg}") from None

    def check(self, job: Job, *, epsilon_after: float | None = None) -> str | None:
        """Why the job does not conform (one line naming the policy field), else None.
        ``epsilon_after``: the dataset's composed ε if the job ran (all runs)."""
        if self.require_dp and not job.private:
            return "the job is not differentially private (policy require_dp)"
        if job.noise_seed is not None and not self.allow_noise_seed:
            return (
                "the job fixes the noise seed: its noise can be rebuilt, so it is not private "
                "(policy allow_noise_seed, for tests only)"
            )
        if job.epsilon is not None and job.epsilon > self.max_epsilon_per_job * (1 + 1e-9):
            return (
                f"the job's ε={job.epsilon:g} exceeds the site's limit "
                f"{self.max_epsilon_per_job:g} per job (policy max_epsilon_per_job)"
            )
        if job.delta > self.max_delta * (1 + 1e-9):
            return f"the job's δ={job.delta:g} exceeds {self.max_delta:g} (policy max_delta)"
        if job.aggregation not in self.aggregation:
            return (
                f"aggregation {job.aggregation!r} is not allowed; allowed: "
                f"{', '.join(self.aggregation)} (policy aggregation)"
            )
        if job.min_sites < self.min_sites:
            return (
                f"the job aggregates as few as {job.min_sites} sites; the site requires "
                f"{self.min_sites} (policy min_sites)"
            )
        if job.model not in self.models:
            return f"model {job.model!r} is not allowed (policy models: {', '.join(self.models)})"
        if epsilon_after is not None and epsilon_after > self.max_epsilon_total * (1 + 1e-9):
            return (
                f"the dataset's total ε would reach {epsilon_after:.4g}, over the site's limit "
                f"{self.max_epsilon_total:g} (policy max_epsilon_total)"
            )
        return None

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
