"""Privacy-budget ledger: reserve → commit | release, composed per dataset by one accountant.

Each dataset *name* has a budget (ε_total, δ). Every run that touches a dataset stores its
mechanism history ``[(noise_multiplier, sample_rate, steps)]``. A dataset's spend is the
composition of the histories of all its committed **and** reserved runs, recomputed by the
accountant (PRV by default) at the budget's δ — never a sum of printed values. A reservation
that would push the composed ε over the budget is refused with spent / planned / remaining.

What is charged: at least every mechanism that ran on the rows, whatever ends the run. A run
records what it has executed *before* it executes it (``record_executed``, write-ahead, in
blocks of steps), so a killed process leaves a charge no smaller than what ran. A run that
fails is settled with what it executed (``settle``: committed with its executed history, or
released at zero only if nothing ran); ``reconcile`` does the same for dead processes. A
resumed run extends its reservation (``extend``) to cover the steps it repeats.

Non-private runs: their history has noise multiplier 0, which composes to ε = ∞. They are
admitted without a budget check (the caller gates them), and from then on the dataset's spend
is ∞: every later DP reservation is refused, and status/history/reports say ε = ∞.

Race safety: reservations run in a write transaction that serialises writers (SQLite
``BEGIN IMMEDIATE``; PostgreSQL ``SELECT … FOR UPDATE`` on the budget rows, taken in name
order), and the check counts every reservation already made, so concurrent runs can never
overspend together.
"""

from __future__ import annotations

import functools
import json
import math
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
from privtrain.catalog._integrity import budget_names, budget_of, ledger_runs
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

    @property
    def non_private(self) -> bool:
        """A non-private run touched the dataset: its spend is ε = ∞."""
        return math.isinf(self.epsilon_spent) or math.isinf(self.epsilon_reserved)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: an infinite ε is the string ``"inf"`` (JSON has no infinity)."""
        d = {k: json_float(v) for k, v in self.__dict__.items()}
        d["epsilon_remaining"] = self.remaining
        d["non_private"] = self.non_private
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


def json_float(v: Any) -> Any:
    """``v``, with a non-finite float as the string ``"inf"`` / ``"-inf"`` / ``"nan"``."""
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


def format_epsilon(v: float | None, digits: int = 4) -> str:
    """ε for people: ``∞`` for a non-private spend."""
    if v is None:
        return ""
    return "∞ (non-private)" if math.isinf(v) else f"{v:.{digits}f}"


def _norm_history(history: Iterable[Sequence[float]]) -> History:
    out: History = []
    for i, h in enumerate(history):
        try:
            sigma, q, steps = float(h[0]), float(h[1]), int(h[2])
        except (TypeError, ValueError, IndexError) as e:
            raise InputError(
                f"mechanism history entry {i} is not (noise, rate, steps): {h!r}"
            ) from e
        # noise 0 is a non-private mechanism (ε = ∞); reserve() admits it only when asked to
        if not (sigma >= 0) or not math.isfinite(sigma) or not (0 < q <= 1) or steps < 0:
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
                if math.isinf(spent):
                    raise BudgetExceeded(
                        f"the budget of {dataset!r} cannot be changed: a non-private run on it "
                        "spent ε=∞"
                    )
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
            b = budget_of(s, dataset)
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
            names = budget_names(s)
        return [self.status(n) for n in names]

    def spend_with(self, dataset: str, history: Iterable[Sequence[float]]) -> float:
        """The dataset's committed spend composed with ``history`` (a run about to commit)."""
        hist = _norm_history(history)
        with self.catalog.session() as s:
            b = budget_of(s, dataset)
            if b is None:
                raise NotFoundError(f"no privacy budget set for dataset {dataset!r}")
            prior = self._histories(s, dataset, ("committed",))
            return compose(prior + hist, float(b.delta), self.accountant)

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
        non_private: bool = False,
        lease: float | None = None,
    ) -> Reservation:
        """Reserve the planned cost on every dataset, or refuse (BudgetExceeded).

        ``non_private``: the history has noise-0 entries (ε = ∞); the run is admitted without
        a budget check — the caller has gated it — and makes the datasets' spend ∞. Without
        it, a history that composes to ∞ is refused.

        ``lease`` (seconds): the run is continued by processes that come and go (a federated
        job: one ClientApp process per message), not by the reserving process. It stays live
        until its lease expires — renewed by :meth:`record_executed` — and ``reconcile``
        settles it only then, whatever became of the reserving process."""
        hist = _norm_history(planned_history)
        if lease is not None:
            meta = {**(meta or {}), **_lease_meta(lease)}
        if non_private != any(h[0] == 0.0 for h in hist):
            raise InputError(
                "a non-private run's history has noise 0 (and only such a run's): "
                f"non_private={non_private} does not match {hist}"
            )
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
                        datasets,
                        hist,
                        names,
                        run_id,
                        per,
                        delta,
                        kind,
                        meta,
                        neighbouring,
                        non_private,
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
            {
                "spent": json_float(round(before, 6)),
                "planned": json_float(round(planned, 6)),
                "budget": total,
            },
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
        non_private: bool = False,
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
                if non_private:
                    continue
                if math.isinf(before):
                    raise _Refused(
                        f"run refused: dataset {name!r} has spent ε=∞ (a non-private run was "
                        "trained on it); no further DP run can be charged to it",
                        (name, before, planned, total),
                    )
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
                executed_json=[],
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
                {
                    "datasets": names,
                    "epsilon_planned": json_float(run.epsilon_planned),
                    "kind": kind,
                    "non_private": non_private,
                },
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
        against the budget. It is never cheaper than what the run recorded as executed
        (``record_executed``): then the recorded history is charged. With ``session`` the
        commit joins the caller's write transaction (the model registration, so model and
        charge land together or not at all)."""
        hist = _norm_history(actual_history)
        with self.catalog.session() as s:  # compose outside the write lock
            run = s.get(Run, run_id)
            if run is not None:
                planned = [tuple(h) for h in run.history_json]
                compose(planned, run.delta, run.accountant)  # type: ignore[arg-type]
                compose(hist, run.delta, run.accountant)
                compose(_executed(run), run.delta, run.accountant)
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
        action: str = "run.commit",
        floor_recorded: bool = True,
    ) -> dict[str, Any]:
        run = self._reserved(s, run_id)
        planned = [(float(a), float(b), int(c)) for a, b, c in run.history_json]
        if any(h[0] == 0.0 for h in planned) and not any(h[0] == 0.0 for h in hist):
            # a non-private run that commits ran non-privately: ε = ∞, whatever it reports
            hist = [*hist, *(h for h in planned if h[0] == 0.0)]
        actual_eps = compose(hist, run.delta, run.accountant)
        if actual_eps > compose(planned, run.delta, run.accountant) * (1 + 1e-6) + 1e-12:
            raise ConflictError(f"run {run_id}: the actual history costs more than the reservation")
        recorded = _executed(run)
        if (
            floor_recorded
            and not _dominated(recorded, hist)
            and compose(recorded, run.delta, run.accountant) > actual_eps * (1 + 1e-9) + 1e-12
        ):
            hist, actual_eps = recorded, compose(recorded, run.delta, run.accountant)
        run.history_json = [list(h) for h in hist]
        run.executed_json = [list(h) for h in hist]
        run.status = "committed"
        run.epsilon_actual = actual_eps if epsilon is None or math.isinf(actual_eps) else epsilon
        run.model_id = model_id
        run.meta_json = {**(run.meta_json or {}), **(meta or {})}
        run.updated_at = datetime.now(UTC)
        self._audit(
            action,
            f"run:{run_id}",
            {
                "epsilon": json_float(run.epsilon_actual),
                "model_id": model_id,
                "history": [list(h) for h in hist],
                **({"reason": (meta or {}).get("failed")} if action == "run.fail" else {}),
            },
            s,
        )
        return _run_dict(run)

    def record_executed(
        self,
        run_id: str,
        executed_history: Iterable[Sequence[float]],
        *,
        meta: dict[str, Any] | None = None,
        lease: float | None = None,
    ) -> None:
        """Write-ahead: record that the reserved run has executed (or is about to execute)
        ``executed_history`` on the rows. Called before the mechanisms run, so a run killed
        at any point is charged at least what it executed (``settle`` / ``reconcile``). Never
        beyond the reservation (ConflictError) and never less than recorded before.
        ``lease`` (seconds from now) renews a leased run's lease (see :meth:`reserve`)."""
        hist = _norm_history(executed_history)
        if lease is not None:
            meta = {**(meta or {}), **_lease_meta(lease)}
        with self.catalog.session() as s:  # compose outside the write lock (if needed at all)
            run = s.get(Run, run_id)
            if run is not None:
                planned = [(float(a), float(b), int(c)) for a, b, c in run.history_json]
                if not _dominated(hist, planned):
                    compose(planned, run.delta, run.accountant)
                    compose(hist, run.delta, run.accountant)
        with self.catalog.write_transaction() as s:
            run = self._reserved(s, run_id)
            planned = [(float(a), float(b), int(c)) for a, b, c in run.history_json]
            recorded = _executed(run)
            # Fast path: more steps of the same mechanisms cost more (ε is monotone in steps),
            # so entry-wise dominance decides without running the accountant.
            if not _dominated(hist, planned):
                eps = compose(hist, run.delta, run.accountant)
                if eps > compose(planned, run.delta, run.accountant) * (1 + 1e-6) + 1e-12:
                    raise ConflictError(
                        f"run {run_id}: the executed history would cost more than the reservation"
                    )
            if not _dominated(recorded, hist) and compose(
                hist, run.delta, run.accountant
            ) + 1e-12 < compose(recorded, run.delta, run.accountant):
                raise ConflictError(f"run {run_id}: the executed history cannot shrink")
            run.executed_json = [list(h) for h in hist]
            if meta:
                run.meta_json = {**(run.meta_json or {}), **meta}
            run.updated_at = datetime.now(UTC)

    def extend(self, run_id: str, planned_history: Iterable[Sequence[float]]) -> Reservation:
        """Replace a reserved run's planned history by a larger one (a resumed run repeats the
        steps after its last checkpoint): checked against every dataset's budget like a new
        reservation (BudgetExceeded). The new plan must cover what was already executed."""
        hist = _norm_history(planned_history)
        with self.catalog.session() as s:
            run0 = s.get(Run, run_id)
            names = sorted(
                set(s.scalars(select(RunDataset.dataset_name).where(RunDataset.run_id == run_id)))
            )
        if run0 is None:
            raise NotFoundError(f"no run {run_id!r} in the ledger")
        self._precompute(names, hist)
        per: dict[str, dict[str, float]] = {}
        with self.catalog.write_transaction() as s:
            for name in names:
                s.get(Budget, name, with_for_update=True)
            run = self._reserved(s, run_id)
            if any(h[0] == 0.0 for h in hist) != any(float(h[0]) == 0.0 for h in run.history_json):
                raise InputError(f"run {run_id}: cannot change whether the run is private")
            non_private = any(h[0] == 0.0 for h in hist)
            if compose(hist, run.delta, run.accountant) + 1e-12 < compose(
                _executed(run), run.delta, run.accountant
            ):
                raise ConflictError(f"run {run_id}: the new plan is smaller than what it ran")
            for name in names:
                b = s.get(Budget, name)
                if b is None:
                    raise NotFoundError(f"no privacy budget set for dataset {name!r}")
                others = [
                    (float(a), float(q), int(n))
                    for r in self._runs(s, name, ("committed", "reserved"))
                    if r.id != run_id
                    for a, q, n in r.history_json
                ]
                before = compose(others, b.delta, self.accountant)
                after = compose(others + hist, b.delta, self.accountant)
                planned = compose(hist, b.delta, self.accountant)
                total = float(b.epsilon_total)
                per[name] = {"spent": before, "planned": planned, "after": after, "budget": total}
                if not non_private and (math.isinf(before) or after > total * (1 + _EPS_SLACK)):
                    raise BudgetExceeded(
                        f"resuming run {run_id} refused: dataset {name!r} has "
                        f"ε={format_epsilon(before)} spent or reserved by other runs of "
                        f"{total:g}; the resumed run needs ε={planned:.4f} (composed "
                        f"{after:.4f}); settle it with `privtrain budget reconcile --release`"
                    )
            run.history_json = [list(h) for h in hist]
            run.epsilon_planned = max((p["planned"] for p in per.values()), default=0.0)
            run.updated_at = datetime.now(UTC)
            self._audit(
                "run.extend",
                f"run:{run_id}",
                {"epsilon_planned": json_float(run.epsilon_planned)},
                s,
            )
            return Reservation(
                run_id=run_id,
                datasets=[],
                planned_history=hist,
                delta=run.delta,
                accountant=self.accountant,
                epsilon_planned=run.epsilon_planned,
                per_dataset=per,
            )

    def settle(
        self,
        run_id: str,
        reason: str,
        *,
        executed_history: Iterable[Sequence[float]] | None = None,
    ) -> dict[str, Any]:
        """End a reserved run that will not commit a model (failed, killed, abandoned).

        It is charged what it executed: ``executed_history`` when the caller knows it exactly
        (an in-process failure), else what it recorded write-ahead (``record_executed``). A run
        that executed something is committed with that history (``meta.failed`` holds the
        reason, no model); only a run that executed nothing is released at zero cost."""
        with self.catalog.session() as s:
            run0 = s.get(Run, run_id)
            recorded = _executed(run0) if run0 is not None else []
        hist = _norm_history(executed_history) if executed_history is not None else recorded
        if not hist:
            with self.catalog.write_transaction() as s:
                run = self._reserved(s, run_id)
                if _executed(run):  # recorded meanwhile: charge it
                    hist = _executed(run)
                else:
                    run.status = "released"
                    run.meta_json = {**(run.meta_json or {}), "release_reason": reason[:500]}
                    run.updated_at = datetime.now(UTC)
                    self._audit("run.release", f"run:{run_id}", {"reason": reason[:200]}, s)
                    return _run_dict(run)
        with self.catalog.session() as s:
            run0 = s.get(Run, run_id)
            if run0 is not None:
                compose(hist, run0.delta, run0.accountant)
        with self.catalog.write_transaction() as s:
            return self._commit(
                s,
                run_id,
                hist,
                None,
                None,
                {"failed": reason[:500]},
                action="run.fail",
                floor_recorded=executed_history is None,
            )

    def release(self, run_id: str, reason: str) -> dict[str, Any]:
        """Settle a run that will not commit (see :meth:`settle`): released at zero cost only
        if it executed nothing, else charged what it executed."""
        return self.settle(run_id, reason)

    def reconcile(
        self,
        *,
        host: str | None = None,
        recoverable: Callable[[str], bool] | None = None,
        now: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Settle reservations whose owning process on this host is gone (killed runs).

        A run for which ``recoverable(run_id)`` is true (it left an encrypted checkpoint) stays
        reserved — still counted against the budget — and is reported ``recoverable``: resume
        it, or settle it by reconciling without ``recoverable``. Every other orphan is settled:
        ``charged`` what it recorded as executed, or ``released`` if it executed nothing. Runs
        owned by other hosts are listed, not touched: only their host can tell.

        A leased run (a federated job at a site, see :meth:`reserve`) is decided by its lease
        alone: ``left`` while the lease runs (the job can still continue), settled like an
        orphan once it expired (``now``: the time to judge by, default the clock). The runs
        and their leases are read from the verified ledger groups (row MACs and sealed heads):
        a lease edited outside privtrain is an IntegrityError, not a decision.
        """
        from privtrain.workspace import pid_alive

        host = host or socket.gethostname()
        now = now or datetime.now(UTC)
        out = []
        with self.catalog.session() as s:
            seen: dict[str, Run] = {}
            for name in budget_names(s):
                for r in self._runs(s, name, ("reserved",)):
                    seen[r.id] = r
            runs = sorted(seen.values(), key=lambda r: (r.created_at, r.id))
        for r in runs:
            owner = f"{r.owner_host}:{r.owner_pid}"
            until = _lease_until(r)
            if until is not None:
                owner = f"lease until {until.isoformat(timespec='seconds')}"
                if now < until:
                    out.append({"run_id": r.id, "action": "left", "owner": owner})
                    continue
                done = self.settle(
                    r.id, f"its lease expired at {until.isoformat(timespec='seconds')} (reconciled)"
                )
                action = "released" if done["status"] == "released" else "charged"
                out.append({"run_id": r.id, "action": action, "owner": owner})
                continue
            if r.owner_host != host or pid_alive(int(r.owner_pid)):
                out.append({"run_id": r.id, "action": "left", "owner": owner})
            elif recoverable is not None and recoverable(r.id):
                out.append({"run_id": r.id, "action": "recoverable", "owner": owner})
            else:
                done = self.settle(
                    r.id, f"owner process {r.owner_pid} on {host} is gone (reconciled)"
                )
                action = "released" if done["status"] == "released" else "charged"
                out.append({"run_id": r.id, "action": action, "owner": owner})
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
        # Every run of the dataset, verified against its sealed ledger head; filtered here.
        return [r for r in ledger_runs(s, dataset) if r.status in statuses]

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


def _dominated(a: History, b: History) -> bool:
    """Every mechanism of ``a`` (noise, rate) runs at most as many steps as in ``b``: then
    ``a`` costs no more than ``b`` under any accountant."""
    steps: dict[tuple[float, float], int] = {}
    for sigma, q, n in b:
        steps[(sigma, q)] = steps.get((sigma, q), 0) + n
    for sigma, q, n in a:
        steps[(sigma, q)] = steps.get((sigma, q), 0) - n
    return all(v >= 0 for v in steps.values())


def _lease_meta(seconds: float) -> dict[str, str]:
    if not (0 < seconds < 366 * 86400):
        raise InputError(f"a lease must be between 0 s and a year, got {seconds!r}")
    until = datetime.now(UTC).timestamp() + float(seconds)
    return {"lease_until": datetime.fromtimestamp(until, UTC).isoformat()}


def _lease_until(r: Run) -> datetime | None:
    """The lease of a leased run (authenticated with the row), or None."""
    text = (r.meta_json or {}).get("lease_until")
    if text is None:
        return None
    try:
        until = datetime.fromisoformat(str(text))
    except ValueError:
        raise ConflictError(f"run {r.id}: its lease {text!r} is not a time") from None
    return until if until.tzinfo else until.replace(tzinfo=UTC)


def _executed(r: Run) -> History:
    return [(float(a), float(b), int(c)) for a, b, c in (r.executed_json or [])]


def _run_dict(r: Run) -> dict[str, Any]:
    """One run, JSON-safe (an infinite ε is ``"inf"``)."""
    hist = r.history_json or []
    return {
        "run_id": r.id,
        "kind": r.kind,
        "status": r.status,
        "history": hist,
        "executed": r.executed_json or [],
        "non_private": any(float(h[0]) == 0.0 for h in hist),
        "failed": (r.meta_json or {}).get("failed"),
        "delta": r.delta,
        "accountant": r.accountant,
        "neighbouring": r.neighbouring,
        "epsilon_planned": json_float(r.epsilon_planned),
        "epsilon_actual": json_float(r.epsilon_actual),
        "model_id": r.model_id,
        "created_at": r.created_at.isoformat() if r.created_at else None,
        "updated_at": r.updated_at.isoformat() if r.updated_at else None,
        "meta": r.meta_json,
    }
