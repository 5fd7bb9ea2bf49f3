"""Ledger attacks on real SQLite and PostgreSQL: a run that touched the rows is never free,
and a non-private run spends ε = ∞ everywhere (status, history, JSON, database)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from privtrain.catalog import Catalog, Run
from privtrain.errors import BudgetExceeded, ConflictError, InputError
from privtrain.ledger import DatasetRef, Ledger, compose

D = DatasetRef(name="patients", id="b" * 32, version=1)
PLAN = [(1.1, 0.01, 1000)]
NP = [(0.0, 0.01, 1000)]  # a non-private run: noise 0


def _ledger(url: str) -> Ledger:
    # RDP keeps each composition cheap; what is charged does not depend on the accountant.
    led = Ledger(Catalog(url), identity="t", accountant="rdp")
    led.set_budget("patients", 4.0, 1e-5)
    return led


def test_non_private_run_spends_infinity_everywhere(catalog_url: str) -> None:
    led = _ledger(catalog_url)
    dp = led.reserve([D], PLAN, delta=1e-5)
    led.commit(dp.run_id, PLAN)
    with pytest.raises(InputError):  # noise 0 only with an explicit non-private reservation
        led.reserve([D], NP, delta=1e-5)
    res = led.reserve([D], NP, delta=1e-5, non_private=True)  # admitted: the caller gated it
    assert math.isinf(led.status("patients").epsilon_reserved)
    led.commit(res.run_id, NP)
    st = led.status("patients")
    assert math.isinf(st.epsilon_spent) and st.non_private and st.remaining == 0.0
    # JSON has no infinity: "inf" strings, and strict JSON serialisation works
    d = json.loads(json.dumps(st.to_dict(), allow_nan=False))
    assert d["epsilon_spent"] == "inf" and d["non_private"] is True
    hist = json.loads(json.dumps(led.history("patients"), allow_nan=False))
    assert [h["non_private"] for h in hist] == [False, True]
    assert hist[1]["epsilon_actual"] == "inf"
    # the database keeps ε = ∞ (Double 'Infinity' on PostgreSQL, inf on SQLite)
    with led.catalog.session() as s:
        row = s.get(Run, res.run_id)
        assert math.isinf(row.epsilon_planned) and math.isinf(row.epsilon_actual)
    # no DP run can be charged to the dataset any more, and the budget cannot be raised
    with pytest.raises(BudgetExceeded, match="ε=∞"):
        led.reserve([D], [(50.0, 0.001, 1)], delta=1e-5)
    with pytest.raises(BudgetExceeded, match="non-private"):
        led.set_budget("patients", 1e9, 1e-5)
    assert led.spend_with("patients", []) == math.inf
    # a non-private run cannot commit as if it were free (e.g. reporting an empty history)
    again = led.reserve([D], NP, delta=1e-5, non_private=True)
    assert led.commit(again.run_id, [])["epsilon_actual"] == "inf"


def test_failed_run_is_charged_what_it_executed(catalog_url: str) -> None:
    led = _ledger(catalog_url)
    res = led.reserve([D], PLAN, delta=1e-5)
    led.record_executed(res.run_id, [(1.1, 0.01, 100)])  # write-ahead: 100 steps
    with pytest.raises(ConflictError, match="more than the reservation"):
        led.record_executed(res.run_id, [(1.1, 0.01, 5000)])
    with pytest.raises(ConflictError, match="shrink"):
        led.record_executed(res.run_id, [(1.1, 0.01, 50)])
    done = led.release(res.run_id, "checkpoint write failed")  # the old zero-cost refund
    assert done["status"] == "committed" and done["failed"] and done["model_id"] is None
    assert done["history"] == [[1.1, 0.01, 100]]
    st = led.status("patients")
    assert st.epsilon_spent == pytest.approx(compose([(1.1, 0.01, 100)], 1e-5, "rdp"), rel=1e-9)
    assert st.epsilon_spent > 0 and st.reserved_runs == 0
    # the caller knows exactly what ran (an in-process failure): that is charged
    r2 = led.reserve([D], PLAN, delta=1e-5)
    led.record_executed(r2.run_id, [(1.1, 0.01, 200)])
    done = led.settle(r2.run_id, "boom", executed_history=[(1.1, 0.01, 117)])
    assert done["history"] == [[1.1, 0.01, 117]]
    # a run that executed nothing is released at zero cost
    r3 = led.reserve([D], PLAN, delta=1e-5)
    assert led.settle(r3.run_id, "bad config")["status"] == "released"
    # a commit is never cheaper than what the run recorded as executed
    r4 = led.reserve([D], PLAN, delta=1e-5)
    led.record_executed(r4.run_id, [(1.1, 0.01, 300)])
    assert led.commit(r4.run_id, [(1.1, 0.01, 10)])["history"] == [[1.1, 0.01, 300]]


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_killed_run_is_charged_on_reconcile_and_resume_extends(catalog_url: str) -> None:
    led = _ledger(catalog_url)
    res = led.reserve([D], PLAN, delta=1e-5)
    led.record_executed(res.run_id, [(1.1, 0.01, 200)])  # killed after ~167 of these ran
    with led.catalog.write_transaction() as s:
        s.get(Run, res.run_id).owner_pid = _dead_pid()
    # resuming from a checkpoint at step 150 repeats steps 151..1000: the reservation grows
    ext = [(1.1, 0.01, 200), (1.1, 0.01, 1000)]
    led.extend(res.run_id, ext)
    assert led.status("patients").epsilon_reserved == pytest.approx(
        compose(ext, 1e-5, "rdp"), rel=1e-9
    )
    with pytest.raises(ConflictError, match="smaller"):
        led.extend(res.run_id, [(1.1, 0.01, 10)])
    with pytest.raises(BudgetExceeded, match="resuming"):
        led.extend(res.run_id, [(1.1, 0.01, 200), (0.6, 0.01, 5000)])
    out = led.reconcile()
    assert [(o["run_id"], o["action"]) for o in out] == [(res.run_id, "charged")]
    st = led.status("patients")
    assert st.reserved_runs == 0 and st.committed_runs == 1
    assert st.epsilon_spent == pytest.approx(compose([(1.1, 0.01, 200)], 1e-5, "rdp"), rel=1e-9)


def test_leased_run_is_left_while_its_lease_runs_then_charged(catalog_url: str) -> None:
    """A federated job's reservation is made and renewed by processes that exit at once (one
    ClientApp process per message): reconcile decides it by its lease, not by that process."""
    from datetime import UTC, datetime, timedelta

    led = _ledger(catalog_url)
    res = led.reserve([D], PLAN, delta=1e-5, kind="federated", lease=600)
    with led.catalog.write_transaction() as s:
        s.get(Run, res.run_id).owner_pid = _dead_pid()  # the ClientApp that answered the offer
    led.record_executed(res.run_id, [(1.1, 0.01, 100)], lease=600)  # round 1, write-ahead
    assert [o["action"] for o in led.reconcile()] == ["left"]
    led.record_executed(res.run_id, [(1.1, 0.01, 200)], lease=600)  # round 2 still runs
    run = {r["run_id"]: r for r in led.history("patients")}[res.run_id]
    assert run["status"] == "reserved"
    until = datetime.fromisoformat(run["meta"]["lease_until"])
    assert timedelta(seconds=590) < until - datetime.now(UTC) <= timedelta(seconds=600)
    assert [o["action"] for o in led.reconcile(now=until - timedelta(seconds=1))] == ["left"]
    out = led.reconcile(now=until + timedelta(seconds=1))  # the job can no longer continue
    assert [(o["run_id"], o["action"]) for o in out] == [(res.run_id, "charged")]
    run = {r["run_id"]: r for r in led.history("patients")}[res.run_id]
    assert run["status"] == "committed" and run["history"] == [[1.1, 0.01, 200]]
    assert "lease expired" in run["failed"]
    with pytest.raises(InputError, match="lease"):
        led.reserve([D], PLAN, delta=1e-5, lease=-1)
