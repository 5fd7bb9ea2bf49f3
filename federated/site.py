"""One site of a federation: its home, dataset, policy and ledger (no Flower types here).

A site is configured by its SuperNode's node config::

    site="hospital-a" home="/srv/privtrain" dataset="patients" [policy="/etc/site.yaml"]
    [weight=1.0] [threads=N]

(``threads``: torch threads for the site's local steps; default torch's own, one per core).

and the keyring passphrase of its home in ``PRIVTRAIN_PASSPHRASE`` (the SuperNode's
environment). Every read of the dataset is made as the ``federated-client`` principal.

The life of a job at a site: **offer** — check the job against ``policies/site.yaml`` and the
ledger, then reserve the whole job's planned mechanism history (refused: nothing reserved);
**train** — per round, k local DP-SGD steps from the global weights (``privtrain.dp``);
**finish** — commit the history of the rounds that ran (the reservation is released when
none ran). A site killed mid-job leaves its reservation reserved (counted against its budget)
until ``privtrain budget reconcile`` settles it: never charged less than it spent.

The reservation is leased (:meth:`privtrain.ledger.Ledger.reserve`): Flower starts a process
per message, so no process of the site lives as long as the job. The offer and every round's
write-ahead record renew the lease to :func:`lease_seconds` — longer than the server can wait
before its next message to the site — so ``budget reconcile`` leaves a job that can still
continue alone, and settles it (charged what it recorded) once it no longer can.
"""

from __future__ import annotations

import logging
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from privtrain.errors import ConfigError, PrivtrainError

from .job import SITE_NAME, Job
from .policy import SitePolicy

logger = logging.getLogger(__name__)

PRINCIPAL = "federated-client"


LEASE_MARGIN = 60.0  # seconds of server work between two exchanges (aggregation, HE sums)


def lease_seconds(job: Job) -> float:
    """How long after a site's last message a job may still send it the next one: the
    offer's wait (setup timeout), then the exchanges before the site's next train or finish
    message — with SecAgg+ the rest of the round (train, unmask) and the next round's setup
    and share-keys stages, otherwise the train exchange and the finish — each waited for at
    most the reply timeout, plus a margin for the server's own work."""
    exchanges = 4 if job.aggregation == "secagg+" else 2
    return job.setup_timeout + exchanges * job.reply_timeout + LEASE_MARGIN


class Refused(PrivtrainError):
    """The site does not take the job (policy, budget or access); the message is the reason."""

    exit_code = 7


@dataclass(frozen=True)
class SiteConfig:
    name: str
    home: Path
    dataset: str
    policy: Path | None
    weight: float
    threads: int | None = None

    @classmethod
    def from_node_config(cls, cfg: dict[str, Any]) -> SiteConfig:
        name = str(cfg.get("site", "") or "")
        if not SITE_NAME.match(name):
            raise ConfigError(f"node config: site {name!r} must match [A-Za-z0-9][A-Za-z0-9._-]*")
        home = str(cfg.get("home", "") or "")
        dataset = str(cfg.get("dataset", "") or "")
        if not home or not dataset:
            raise ConfigError(f"node config of site {name!r}: `home` and `dataset` are required")
        try:
            weight = float(cfg.get("weight", 1.0))
        except (TypeError, ValueError):
            raise ConfigError(f"node config of site {name!r}: weight must be a number") from None
        if not (0 < weight <= 1e3):
            raise ConfigError(f"node config of site {name!r}: weight must be in (0, 1000]")
        threads = cfg.get("threads")
        if threads is not None:
            try:
                threads = int(threads)
            except (TypeError, ValueError):
                threads = 0
            if not (1 <= threads <= 1024):
                raise ConfigError(
                    f"node config of site {name!r}: threads must be an integer in [1, 1024]"
                )
        policy = cfg.get("policy")
        return cls(
            name=name,
            home=Path(home),
            dataset=dataset,
            policy=Path(str(policy)) if policy else None,
            weight=weight,
            threads=threads,
        )


class Site:
    def __init__(self, cfg: SiteConfig):
        self.cfg = cfg
        self._ws: Any = None
        self._he: dict[str, Any] = {}

    @property
    def name(self) -> str:
        return self.cfg.name

    def workspace(self) -> Any:
        if self._ws is None:
            from privtrain.config import load_settings
            from privtrain.workspace import Workspace

            settings = load_settings(home=str(self.cfg.home), identity=PRINCIPAL)
            settings.require_initialized()
            if settings.passphrase is None:
                raise ConfigError(
                    f"site {self.name}: no passphrase for home {self.cfg.home} "
                    "(set PRIVTRAIN_PASSPHRASE in the SuperNode's environment)"
                )
            self._ws = Workspace.open(settings, settings.passphrase.get_secret_value())
        return self._ws

    def he_context(self, federation: str) -> Any:
        """The federation's secret CKKS context from this site's home, loaded once per Site
        (a train message decrypts the aggregate and encrypts its update with it)."""
        if federation not in self._he:
            from . import he

            self._he[federation] = he.load_secret_from_home(self.workspace(), federation)
        return self._he[federation]

    def ledger(self) -> Any:
        from privtrain.ledger import Ledger

        ws = self.workspace()
        return Ledger(ws.catalog, identity=PRINCIPAL, audit=ws.audit)

    # -- data ----------------------------------------------------------------------------
    def load_table(self) -> tuple[Any, Any]:
        """(DatasetInfo, pyarrow.Table) of the site's dataset, read through the access layer
        as the ``federated-client`` principal (Cedar: de-identified data of its own site only;
        the decision is audited). The site's custodian grants it by creating that principal
        (``privtrain.access.ensure_service_principal``); a site never grants itself."""
        from privtrain import access, datasets
        from privtrain.errors import AccessDenied, NotFoundError

        ws = self.workspace()
        row = datasets.get(ws, self.cfg.dataset, include_shredded=True)
        try:
            access.get_principal(ws, PRINCIPAL)
        except NotFoundError:
            raise Refused(
                f"this home has no {PRINCIPAL!r} principal: the site's custodian has not "
                "enabled federated training"
            ) from None
        try:
            with access.acting_as(PRINCIPAL, via="federated"):
                return datasets.read_table(ws, row.id, purpose="dataset.read.federated")
        except AccessDenied as e:
            raise Refused(f"access denied: {e.message}") from None

    # -- job -----------------------------------------------------------------------------
    def offer(self, job: Job, job_id: str, features: Any) -> dict[str, Any]:
        """Check the job, then reserve its planned cost. Raises :class:`Refused` with the
        reason (nothing reserved)."""
        from privtrain.dp._local import plan_local
        from privtrain.errors import BudgetExceeded, NotFoundError
        from privtrain.ledger import DatasetRef

        policy = SitePolicy.load(self.cfg.policy)
        why = policy.check(job)
        if why:
            raise Refused(why)
        ledger = self.ledger()
        info, table = self.load_table()
        if job.target not in table.column_names:
            raise Refused(f"dataset {info.ref} has no column {job.target!r} (the job's target)")
        cfg = job.train_config(delta=job.delta)
        plan = plan_local(table.num_rows, cfg, rounds=job.rounds, local_steps=job.local_steps)
        try:
            res = ledger.reserve(
                [DatasetRef(name=info.name, id=info.id, version=info.version)],
                plan.history,
                delta=job.delta,
                kind="federated",
                meta={
                    "federated_job": job_id,
                    "site": self.name,
                    "rounds": job.rounds,
                    "local_steps": job.local_steps,
                    "aggregation": job.aggregation,
                    "planned_noise": plan.noise_multiplier,
                },
                lease=lease_seconds(job),
            )
        except (BudgetExceeded, NotFoundError) as e:
            raise Refused(str(e)) from None
        # The reservation composed the dataset's ε after this job (every run, one accountant):
        # the policy's total limit is checked against it, and the reservation released if over.
        after = max(p["after"] for p in res.per_dataset.values()) if job.private else None
        why = policy.check(job, epsilon_after=after)
        if why:
            ledger.settle(res.run_id, f"site policy: {why}")
            raise Refused(why)
        return {
            "run_id": res.run_id,
            "dataset": info.ref,
            "dataset_id": info.id,
            "ciphertext_sha256": info.ciphertext_sha256,
            "noise_multiplier": plan.noise_multiplier,
            "sample_rate": plan.sample_rate,
            "epsilon_planned": res.epsilon_planned,
        }

    def train_round(
        self,
        job: Job,
        features: Any,
        weights: dict[str, np.ndarray] | None,
        rnd: int,
        noise_multiplier: float,
    ) -> Any:
        from privtrain.dp._local import train_local_steps

        _, table = self.load_table()
        cfg = job.train_config()
        if self.cfg.threads is not None:
            cfg = cfg.model_copy(update={"threads": self.cfg.threads})
        if cfg.noise_seed is not None:  # reproducible runs (tests): distinct per site and round
            offset = zlib.crc32(self.name.encode()) % 1_000_003
            cfg = cfg.model_copy(update={"noise_seed": cfg.noise_seed + 10_007 * rnd + offset})
        return train_local_steps(
            table,
            target=job.target,
            features=features,
            config=cfg,
            weights=weights,
            steps=job.local_steps,
            noise_multiplier=noise_multiplier,
        )

    def record(
        self, run_id: str, history: list[tuple[float, float, int]], rnd: int, job: Job
    ) -> None:
        """Write-ahead: the ledger learns what this round will execute before it runs, so a
        site killed mid-round is charged at least what ran (``budget reconcile``); the
        reservation's lease is renewed in the same write."""
        self.ledger().record_executed(
            run_id, history, meta={"federated_round": rnd}, lease=lease_seconds(job)
        )

    def finish(self, run_id: str, history: list[tuple[float, float, int]], job: Job) -> float:
        """Commit the rounds that ran (ε spent), or settle at zero if none ran."""
        from privtrain.ledger import compose

        ledger = self.ledger()
        run = {r["run_id"]: r for r in self._runs(ledger)}.get(run_id)
        if run is not None and run["status"] != "reserved":  # finished before (idempotent)
            return float(run.get("epsilon_actual") or 0.0)
        if not history:
            ledger.settle(run_id, "federated job ended before this site trained")
            return 0.0
        out = ledger.commit(run_id, history, meta={"rounds_completed": len(history)})
        eps = out.get("epsilon_actual")
        return float(eps) if eps is not None else compose(history, job.delta)

    def _runs(self, ledger: Any) -> list[dict[str, Any]]:
        return ledger.history(self.cfg.dataset.split("@v")[0])


def passphrase_present() -> bool:
    return bool(os.environ.get("PRIVTRAIN_PASSPHRASE"))
