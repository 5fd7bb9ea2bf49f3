"""Privacy-budget ledger: reserve → commit | release, composed per dataset by one accountant.

Each dataset *name* has a budget (ε_total, δ). Every run that touches a dataset stores its
mechanism history ``[(noise_multiplier, sample_rate, steps)]``. A dataset's spend is the
composition of the histories of all its committed **and** reserved runs, recomputed by the
accountant (PRV by default) at the budget's δ — never a sum of printed values. A reservation
that would push the composed ε over the budget is refused with spent / planned / remaining.

Race safety: reservations run in a write transaction that serialises writers (SQLite
``BEGIN IMMEDIATE``; PostgreSQL ``SELECT … FOR UPDATE`` on the budget rows, taken in name
order), and the check counts every reservation already made, so concurrent runs can never
overspend together.
"""

from __future__ import annotations

import functools
import json
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from privtrain.catalog import Budget, Catalog, Run, RunDataset
from privtrain.errors import (
    BudgetExceeded,
    BusyError,
    ConflictError,
    InputError,
    NotFoundError,
)

History = list[tuple[float, float, int]]
DEFAULT_ACCOUNTANT = "prv"
# Accountants' own numerical error (PRV eps_error) is absorbed by this relative tolerance.
_EPS_SLACK = 1e-9
# A reservation waits this long in total for a busy catalog before giving up.
_BUSY_RETRY_SECONDS = 300.0


@dataclass(frozen=True)
class DatasetRef:
    name: str
    id: str
    version: int


@dataclass
class BudgetStatus:
    dataset: str
    epsilon_total: float
    delta: float
    epsilon_spent: float
    epsilon_reserved: float
    committed_runs: int
    reserved_runs: int
    accountant: str

    @property
    def remaining(self) -> float:
        return max(0.0, self.epsilon_total - self.epsilon_reserved)

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["epsilon_remaining"] = self.remaining
        return d


@dataclass
class Reservation:
    run_id: str
    datasets: list[DatasetRef]
    planned_history: History
    delta: float
    accountant: str
    epsilon_planned: float
    per_dataset: dict[str, dict[str, float]] = field(default_factory=dict)


def _norm_history(history: Iterable[Sequence[float]]) -> History:
    out: History = []
    for i, h in enumerate(history):
        try:
            sigma, q, steps = float(h[0]), float(h[1]), int(h[2])
        except (TypeError, ValueError, IndexError) as e:
            raise InputError(
                f"mechanism history entry {i} is not (noise, rate, steps): {h!r}"
            ) from e
        if sigma <= 0 or not (0 < q <= 1) or steps < 0:
            raise InputError(
                f"mechanism history entry {i} out of range: noise={sigma}, rate={q}, steps={steps}"
            )
        if steps:
            out.append((sigma, q, steps))
    return out


def compose(history: History, delta: float, accountant: str = DEFAULT_ACCOUNTANT) -> float:
    """ε of the composition of ``history`` at ``delta`` (order-independent, memoized)."""
    if not history:
        return 0.0
    key = tuple(sorted((float(a), float(b), int(c)) for a, b, c in history))
    return _compose_cached(key, float(delta), accountant)


@functools.lru_cache(maxsize=256)
def _compose_cached(
    history: tuple[tuple[float, float, int], ...], delta: float, accountant: str
) -> float:
    from privtrain.dp import epsilon_for

    return float(epsilon_for(list(history), delta, accountant))


class Ledger:
    def __init__(
        self,
        catalog: Catalog,
        *,
        identity: str = "unknown",
        audit: Any = None,
        accountant: str = DEFAULT_ACCOUNTANT,
    ) -> None:
        self.catalog = catalog
        self.identity = identity
        self.audit = audit
        self.accountant = accountant

    # -- budgets ---------------------------------------------------------------------------
    def set_budget(self, dataset: str, epsilon_total: float, delta: float) -> BudgetStatus:
        if not (epsilon_total > 0) or not (0 < delta < 1):
            raise InputError(
                f"budget must have ε > 0 and 0 < δ < 1 (got ε={epsilon_total}, δ={delta})"
            )
        with self.catalog.write_transaction() as s:
            b = s.get(Budget, dataset, with_for_update=True)
            if b is not None:
                spent = self._composed(s, dataset, b.delta, include_reserved=True)
                if epsilon_total + _EPS_SLACK < spent:
                    raise BudgetExceeded(
                        f"cannot lower the budget of {dataset!r} to ε={epsilon_total:g}: "
                        f"ε={spent:.4f} is already spent or reserved"
                    )
                if delta != b.delta and self._runs(s, dataset, ("committed", "reserved")):
                    raise ConflictError(f"δ of {dataset!r} is fixed at {b.delta:g} once runs exist")
                b.epsilon_total, b.delta = epsilon_total, delta
            else:
                b = Budget(dataset_name=dataset, epsilon_total=epsilon_total, delta=delta)
                s.add(b)
            b.updated_at = datetime.now(UTC)
            b.updated_by = self.identity
            self._audit(
                "budget.set",
                f"budget:{dataset}",
                {"epsilon_total": epsilon_total, "delta": delta},
                s,
            )
        return self.status(dataset)

    def status(self, dataset: str) -> BudgetStatus:
        with self.catalog.session() as s:
            b = s.get(Budget, dataset)
            if b is None:
                raise NotFoundError(
                    f"no privacy budget set for dataset {dataset!r}; "
                    f"run `privtrain budget set {dataset} --epsilon E --delta D`"
                )
            spent = self._composed(s, dataset, b.delta, include_reserved=False)
            both = self._composed(s, dataset, b.delta, include_reserved=True)
            return BudgetStatus(
                dataset=dataset,
                epsilon_total=float(b.epsilon_total),
                delta=float(b.delta),
                epsilon_spent=spent,
                epsilon_reserved=both,
                committed_runs=len(self._runs(s, dataset, ("committed",))),
                reserved_runs=len(self._runs(s, dataset, ("reserved",))),
                accountant=self.accountant,
            )

    def budgets(self) -> list[BudgetStatus]:
        with self.catalog.session() as s:
            names = list(s.scalars(select(Budget.dataset_name).order_by(Budget.dataset_name)))
        return [self.status(n) for n in names]

    def history(self, dataset: str) -> list[dict[str, Any]]:
        with self.catalog.session() as s:
            runs = self._runs(s, dataset, ("committed", "reserved", "released"))
            return [_run_dict(r) for r in runs]

    # -- runs ------------------------------------------------------------------------------
    def reserve(
        self,
        datasets: Sequence[DatasetRef],
        planned_history: Iterable[Sequence[float]],
        *,
        delta: float,
        kind: str = "train",
        meta: dict[str, Any] | None = None,
        neighbouring: str = "add_remove",
    ) -> Reservation:
        """Reserve the planned cost on every dataset, or refuse (BudgetExceeded)."""
        hist = _norm_history(planned_history)
        if not datasets:
            raise InputError("a run must name at least one dataset")
        names = sorted({d.name for d in datasets})
        run_id = uuid.uuid4().hex
        per: dict[str, dict[str, float]] = {}
        refusal: tuple[str, float, float, float] | None = None
        deadline = time.monotonic() + _BUSY_RETRY_SECONDS
        try:
            while True:
                # The accountant is slow (~1 s); compose against a snapshot first so the
                # write lock is held only to re-check (memoized) and insert.
                self._precompute(names, hist)
                try:
                    return self._reserve(
                        datasets, hist, names, run_id, per, delta, kind, meta, neighbouring
                    )
                except BusyError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(random.uniform(0.05, 0.5))
        except _Refused as r:
            refusal = r.detail
            err = BudgetExceeded(r.message)
        # Audit the refusal after the write transaction has rolled back.
        name, before, planned, total = refusal
        self._audit(
            "budget.refuse",
            f"budget:{name}",
            {"spent": round(before, 6), "planned": round(planned, 6), "budget": total},
            None,
            decision="deny",
        )
        raise err

    def _precompute(self, names: list[str], hist: History) -> None:
        with self.catalog.session() as s:
            for name in names:
                b = s.get(Budget, name)
                if b is None:
                    continue
                prior = self._histories(s, name, ("committed", "reserved"))
                for h in (prior, prior + hist, hist):
                    compose(h, float(b.delta), self.accountant)

    def _reserve(
        self,
        datasets: Sequence[DatasetRef],
        hist: History,
        names: list[str],
        run_id: str,
        per: dict[str, dict[str, float]],
        delta: float,
        kind: str,
        meta: dict[str, Any] | None,
        neighbouring: str,
    ) -> Reservation:
        with self.catalog.write_transaction() as s:
            for name in names:  # lock budget rows in a fixed order (no deadlocks)
                b = s.get(Budget, name, with_for_update=True)
                if b is None:
                    raise NotFoundError(
                        f"no privacy budget set for dataset {name!r}; "
                        f"run `privtrain budget set {name} --epsilon E --delta D` first"
                    )
                if delta > b.delta:
                    raise BudgetExceeded(
                        f"run δ={delta:g} exceeds the budget δ={b.delta:g} of dataset {name!r}"
                    )
                prior = self._histories(s, name, ("committed", "reserved"))
                before = compose(prior, b.delta, self.accountant)
                after = compose(prior + hist, b.delta, self.accountant)
                planned = compose(hist, b.delta, self.accountant)
                total = float(b.epsilon_total)
                per[name] = {"spent": before, "planned": planned, "after": after, "budget": total}
                if after > total * (1 + _EPS_SLACK):
                    raise _Refused(
                        f"run refused: dataset {name!r} has ε={before:.4f} spent or reserved of "
                        f"{total:g}; this run plans ε={planned:.4f} alone (composed {after:.4f}); "
                        f"remaining ε={max(0.0, total - before):.4f}",
                        (name, before, planned, total),
                    )
            now = datetime.now(UTC)
            run = Run(
                id=run_id,
                kind=kind,
                status="reserved",
                history_json=[list(h) for h in hist],
                delta=delta,
                accountant=self.accountant,
                neighbouring=neighbouring,
                epsilon_planned=max((p["planned"] for p in per.values()), default=0.0),
                owner_pid=os.getpid(),
                owner_host=socket.gethostname(),
                meta_json=meta or {},
                created_at=now,
                updated_at=now,
            )
            s.add(run)
            s.flush()
            for d in datasets:
                s.add(
                    RunDataset(
                        run_id=run_id,
                        dataset_name=d.name,
                        dataset_id=d.id,
                        dataset_version=d.version,
                    )
                )
            self._audit(
                "run.reserve",
                f"run:{run_id}",
                {"datasets": names, "epsilon_planned": run.epsilon_planned, "kind": kind},
                s,
            )
        return Reservation(
            run_id=run_id,
            datasets=list(datasets),
            planned_history=hist,
            delta=delta,
            accountant=self.accountant,
            epsilon_planned=max(p["planned"] for p in per.values()),
            per_dataset=per,
        )

    def commit(
        self,
        run_id: str,
        actual_history: Iterable[Sequence[float]],
        *,
        epsilon: float | None = None,
        model_id: str | None = None,
        meta: dict[str, Any] | None = None,
        session: Session | None = None,
    ) -> dict[str, Any]:
        """Commit a reserved run with the history that actually ran.

        The actual history may be shorter than planned (early stop) and never costlier: a
        history costing more than the reservation is refused, since it was never checked
        against the budget. With ``session`` the commit joins the caller's write transaction
        (the model registration, so model and charge land together or not at all)."""
        hist = _norm_history(actual_history)
        with self.catalog.session() as s:  # compose outside the write lock
            run = s.get(Run, run_id)
            if run is not None:
                planned = [tuple(h) for h in run.history_json]
                compose(planned, run.delta, run.accountant)  # type: ignore[arg-type]
                compose(hist, run.delta, run.accountant)
        if session is not None:
            return self._commit(session, run_id, hist, epsilon, model_id, meta)
        with self.catalog.write_transaction() as s:
            return self._commit(s, run_id, hist, epsilon, model_id, meta)

    def _commit(
        self,
        s: Session,
        run_id: str,
        hist: History,
        epsilon: float | None,
        model_id: str | None,
        meta: dict[str, Any] | None,
    ) -> dict[str, Any]:
        run = self._reserved(s, run_id)
        planned = [(float(a), float(b), int(c)) for a, b, c in run.history_json]
        actual_eps = compose(hist, run.delta, run.accountant)
        if actual_eps > compose(planned, run.delta, run.accountant) * (1 + 1e-6) + 1e-12:
            raise ConflictError(f"run {run_id}: the actual history costs more than the reservation")
        run.history_json = [list(h) for h in hist]
        run.status = "committed"
        run.epsilon_actual = epsilon if epsilon is not None else actual_eps
        run.model_id = model_id
        run.meta_json = {**(run.meta_json or {}), **(meta or {})}
        run.updated_at = datetime.now(UTC)
        self._audit(
            "run.commit",
            f"run:{run_id}",
            {"epsilon": run.epsilon_actual, "model_id": model_id},
            s,
        )
        return _run_dict(run)

    def release(self, run_id: str, reason: str) -> None:
        with self.catalog.write_transaction() as s:
            run = self._reserved(s, run_id)
            run.status = "released"
            run.meta_json = {**(run.meta_json or {}), "release_reason": reason[:500]}
            run.updated_at = datetime.now(UTC)
            self._audit("run.release", f"run:{run_id}", {"reason": reason[:200]}, s)

    def reconcile(
        self,
        *,
        host: str | None = None,
        recoverable: Callable[[str], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """Settle reservations whose owning process on this host is gone (killed runs).

        A run for which ``recoverable(run_id)`` is true (it left an encrypted checkpoint) stays
        reserved — still counted against the budget — and is reported ``recoverable``: resume
        it, or release it by reconciling without ``recoverable``. Every other orphan is
        released. Runs owned by other hosts are listed, not touched: only their host can tell.
        """
        from privtrain.workspace import pid_alive

        host = host or socket.gethostname()
        out = []
        with self.catalog.session() as s:
            runs = list(s.scalars(select(Run).where(Run.status == "reserved")))
        for r in runs:
            owner = f"{r.owner_host}:{r.owner_pid}"
            if r.owner_host != host or pid_alive(int(r.owner_pid)):
                out.append({"run_id": r.id, "action": "left", "owner": owner})
            elif recoverable is not None and recoverable(r.id):
                out.append({"run_id": r.id, "action": "recoverable", "owner": owner})
            else:
                self.release(r.id, f"owner process {r.owner_pid} on {host} is gone (reconciled)")
                out.append({"run_id": r.id, "action": "released", "owner": owner})
        return out

    def adopt(self, run_id: str) -> dict[str, Any]:
        """Take over a reserved run whose owner on this host is gone (to resume it)."""
        from privtrain.workspace import pid_alive

        with self.catalog.write_transaction() as s:
            run = self._reserved(s, run_id)
            me = (socket.gethostname(), os.getpid())
            if (run.owner_host, int(run.owner_pid)) != me:
                if run.owner_host != me[0]:
                    raise ConflictError(
                        f"run {run_id} belongs to host {run.owner_host}; resume it there"
                    )
                if pid_alive(int(run.owner_pid)):
                    raise ConflictError(f"run {run_id} is still running (process {run.owner_pid})")
            run.owner_pid, run.owner_host = me[1], me[0]
            run.updated_at = datetime.now(UTC)
            self._audit("run.adopt", f"run:{run_id}", {"owner_pid": me[1]}, s)
            return _run_dict(run)

    # -- internals -------------------------------------------------------------------------
    def _reserved(self, s: Session, run_id: str) -> Run:
        run = s.get(Run, run_id, with_for_update=True)
        if run is None:
            raise NotFoundError(f"no run {run_id!r} in the ledger")
        if run.status != "reserved":
            raise ConflictError(f"run {run_id} is {run.status}, not reserved")
        return run

    @staticmethod
    def _runs(s: Session, dataset: str, statuses: tuple[str, ...]) -> list[Run]:
        runs_of = select(RunDataset.run_id).where(RunDataset.dataset_name == dataset)
        q = (
            select(Run)
            .where(Run.id.in_(runs_of), Run.status.in_(statuses))
            .order_by(Run.created_at)
        )
        return list(s.scalars(q))

    def _histories(self, s: Session, dataset: str, statuses: tuple[str, ...]) -> History:
        hist: History = []
        for r in self._runs(s, dataset, statuses):
            hist.extend((float(a), float(b), int(c)) for a, b, c in r.history_json)
        return hist

    def _composed(self, s: Session, dataset: str, delta: float, *, include_reserved: bool) -> float:
        st = ("committed", "reserved") if include_reserved else ("committed",)
        return compose(self._histories(s, dataset, st), float(delta), self.accountant)

    def _audit(
        self,
        action: str,
        resource: str,
        details: dict[str, Any],
        s: Session | None,
        decision: str = "allow",
    ) -> None:
        if self.audit is not None:
            self.audit.append(
                actor=self.identity,
                action=action,
                resource=resource,
                decision=decision,
                details=json.loads(json.dumps(details)),
                session=s,
            )


class _Refused(Exception):
    def __init__(self, message: str, detail: tuple[str, float, float, float]) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


def _run_dict(r: Run) -> dict[str, Any]:
    return {
        "run_id": r.id,
        "kind": r.kind,
        "status": r.status,
        "history": r.history_json,
        "delta": r.delta,
        "accountant": r.accountant,
        "neighbouring": r.neighbouring,
        "epsilon_planned": r.epsilon_planned,
        "epsilon_actual": r.epsilon_actual,
        "model_id": r.model_id,
        "created_at": r.created_at.isoformat() if r.created_at else None,
        "updated_at": r.updated_at.isoformat() if r.updated_at else None,
        "meta": r.meta_json,
    }
