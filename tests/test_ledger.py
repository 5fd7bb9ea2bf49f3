"""Privacy-budget ledger on real SQLite and PostgreSQL: reserve / commit / release, refusal,
races between processes, killed runs."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from privtrain.catalog import Catalog
from privtrain.errors import BudgetExceeded, ConflictError, NotFoundError
from privtrain.ledger import DatasetRef, Ledger, compose

D = DatasetRef(name="patients", id="a" * 32, version=1)
# ε ≈ 1.5 at δ=1e-5 on its own (computed in the tests, never assumed).
RUN = [(1.1, 0.01, 1000)]


def test_reserve_commit_status(catalog_url: str) -> None:
    led = Ledger(Catalog(catalog_url), identity="t")
    led.set_budget("patients", 4.0, 1e-5)
    res = led.reserve([D], RUN, delta=1e-5)
    st = led.status("patients")
    assert st.epsilon_spent == 0.0
    assert st.epsilon_reserved == pytest.approx(compose(RUN, 1e-5), rel=1e-6)
    led.commit(res.run_id, RUN)
    st = led.status("patients")
    assert st.epsilon_spent == pytest.approx(compose(RUN, 1e-5), rel=1e-6)
    assert st.committed_runs == 1 and st.reserved_runs == 0
    # Two runs composed cost less than twice one run, and more than one.
    led.commit(led.reserve([D], RUN, delta=1e-5).run_id, RUN)
    two = led.status("patients").epsilon_spent
    one = compose(RUN, 1e-5)
    assert one < two < 2 * one
    assert two == pytest.approx(compose(RUN + RUN, 1e-5), rel=1e-6)
    hist = led.history("patients")
    assert [h["status"] for h in hist] == ["committed", "committed"]


def test_refusal_names_spent_planned_remaining(catalog_url: str) -> None:
    led = Ledger(Catalog(catalog_url), identity="t")
    led.set_budget("patients", compose(RUN, 1e-5) * 1.1, 1e-5)
    led.commit(led.reserve([D], RUN, delta=1e-5).run_id, RUN)
    with pytest.raises(BudgetExceeded) as e:
        led.reserve([D], RUN, delta=1e-5)
    msg = str(e.value)
    assert "spent" in msg and "plans" in msg and "remaining" in msg and "patients" in msg
    assert led.status("patients").reserved_runs == 0


def test_release_and_errors(catalog_url: str) -> None:
    led = Ledger(Catalog(catalog_url), identity="t")
    with pytest.raises(NotFoundError):
        led.reserve([D], RUN, delta=1e-5)
    led.set_budget("patients", 4.0, 1e-5)
    res = led.reserve([D], RUN, delta=1e-5)
    led.release(res.run_id, "failed")
    assert led.status("patients").epsilon_reserved == 0.0
    with pytest.raises(ConflictError):
        led.commit(res.run_id, RUN)
    res = led.reserve([D], RUN, delta=1e-5)
    with pytest.raises(ConflictError):  # more steps than reserved
        led.commit(res.run_id, [(1.1, 0.01, 5000)])
    with pytest.raises(BudgetExceeded):  # the budget cannot drop below what is spent
        led.set_budget("patients", 0.1, 1e-5)


def _racer(url: str, q: mp.Queue) -> None:
    # RDP keeps each composition cheap; the locking under test is the same for every accountant.
    led = Ledger(Catalog(url), identity=f"p{os.getpid()}", accountant="rdp")
    try:
        res = led.reserve([D], RUN, delta=1e-5)
    except BudgetExceeded:
        q.put("refused")
        return
    led.commit(res.run_id, RUN)
    q.put("committed")


def test_eight_processes_race_for_budget(catalog_url: str) -> None:
    led = Ledger(Catalog(catalog_url), identity="t", accountant="rdp")
    budget = compose(RUN * 3, 1e-5, "rdp") * 1.02  # exactly three runs fit
    led.set_budget("patients", budget, 1e-5)
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["privtrain.ledger", "privtrain.dp", "privtrain.catalog"])
    q = ctx.Queue()
    procs = [ctx.Process(target=_racer, args=(catalog_url, q)) for _ in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=600)
        assert p.exitcode == 0
    outcomes = sorted(q.get(timeout=5) for _ in procs)
    assert outcomes.count("committed") == 3, outcomes
    st = led.status("patients")
    assert st.epsilon_spent <= budget
    assert st.epsilon_spent == pytest.approx(compose(RUN * 3, 1e-5, "rdp"), rel=1e-9)


_KILLED = textwrap.dedent(
    """
    import sys, time
    from privtrain.catalog import Catalog
    from privtrain.ledger import DatasetRef, Ledger
    led = Ledger(Catalog(sys.argv[1]), identity="victim")
    res = led.reserve([DatasetRef("patients", "a" * 32, 1)], [(1.1, 0.01, 1000)], delta=1e-5)
    print(res.run_id, flush=True)
    time.sleep(600)
    """
)


def test_killed_run_is_reconciled_never_committed(catalog_url: str) -> None:
    led = Ledger(Catalog(catalog_url), identity="t")
    led.set_budget("patients", 3.0, 1e-5)
    p = subprocess.Popen(
        [sys.executable, "-c", _KILLED, catalog_url], stdout=subprocess.PIPE, text=True
    )
    run_id = p.stdout.readline().strip()
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    st = led.status("patients")
    assert st.reserved_runs == 1 and st.committed_runs == 0  # held, conservatively
    out = led.reconcile()
    assert [(o["run_id"], o["action"]) for o in out] == [(run_id, "released")]
    st = led.status("patients")
    assert st.reserved_runs == 0 and st.committed_runs == 0 and st.epsilon_reserved == 0.0


def test_killed_run_with_checkpoint_stays_reserved_until_released(catalog_url: str) -> None:
    led = Ledger(Catalog(catalog_url), identity="t")
    led.set_budget("patients", 4.0, 1e-5)
    p = subprocess.Popen(
        [sys.executable, "-c", _KILLED, catalog_url], stdout=subprocess.PIPE, text=True
    )
    run_id = p.stdout.readline().strip()
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    out = led.reconcile(recoverable=lambda rid: rid == run_id)
    assert [(o["run_id"], o["action"]) for o in out] == [(run_id, "recoverable")]
    assert led.status("patients").reserved_runs == 1  # still counted against the budget
    led.adopt(run_id)  # this process takes it over ...
    assert [o["action"] for o in led.reconcile()] == ["left"]  # ... and is alive
    led.commit(run_id, RUN)
    assert led.status("patients").committed_runs == 1
