"""A site's reservation of a federated job outlives the processes that make it.

Flower starts one ClientApp process per message, so the process that reserved a job at a site
(the one that answered the offer) exits at once. ``budget reconcile`` at the site while the
job runs must not settle the reservation (the site's next round would fail "not reserved");
once the job can no longer continue (its lease expired), reconcile charges exactly what the
site recorded write-ahead. Real site home (sealed catalog, encrypted dataset, access layer),
real ``federated.site.Site``, each message's work in its own short-lived process.
"""

from __future__ import annotations

import json
import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from federated.job import Job
from federated.site import Site, SiteConfig, lease_seconds
from privtrain.errors import IntegrityError

ADULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "adult" / "adult.data.csv"
PASS = "lease test passphrase"
POLICY = """\
require_dp: true
max_epsilon_per_job: 4.0
max_epsilon_total: 10.0
aggregation: [none, he, secagg+]
min_sites: 1
models: [mlp]
"""


def _in_child(fn: Any, *args: Any) -> Any:
    """Run ``fn(*args)`` in a process that exits when done, like a ClientApp per message."""
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()

    def target() -> None:
        try:
            q.put(("ok", fn(*args)))
        except BaseException as e:  # noqa: BLE001 - report to the test
            q.put(("err", f"{type(e).__name__}: {e}"))

    p = ctx.Process(target=target)
    p.start()
    status, value = q.get(timeout=300)
    p.join(60)
    assert status == "ok", value
    return value


def _offer(cfg: SiteConfig, job_json: str) -> dict[str, Any]:
    from federated.server_app import load_features

    job = Job.from_json(job_json)
    return Site(cfg).offer(job, "job-1", load_features(job))


def _record(cfg: SiteConfig, job_json: str, run_id: str, history: list, rnd: int) -> int:
    import os

    Site(cfg).record(run_id, [tuple(h) for h in history], rnd, Job.from_json(job_json))
    return os.getpid()


@pytest.fixture()
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[SiteConfig, Any]:
    if not ADULT.exists():
        pytest.skip(f"{ADULT} not present")
    monkeypatch.setenv("PRIVTRAIN_PASSPHRASE", PASS)
    monkeypatch.setenv("PRIVTRAIN_KDF_PROFILE", "fast")
    from privtrain import access, datasets
    from privtrain.config import load_settings
    from privtrain.ledger import Ledger
    from privtrain.workspace import Workspace

    csv = tmp_path / "adult.csv"
    with open(ADULT) as src:
        csv.write_text("".join(next(src) for _ in range(601)))
    home = tmp_path / "site-1"
    ws = Workspace.init(load_settings(home=str(home), identity="custodian"), PASS)
    datasets.import_file(ws, csv, "adult", sensitivity="deidentified", site="site-1")
    Ledger(ws.catalog, identity="custodian", audit=ws.audit).set_budget("adult", 10.0, 1e-5)
    access.ensure_service_principal(ws, "federated-client", site="site-1")
    (tmp_path / "site.yaml").write_text(POLICY)
    cfg = SiteConfig("site-1", home, "adult", tmp_path / "site.yaml", 1.0)
    return cfg, ws


def test_reconcile_leaves_a_live_federated_job_and_charges_it_once_over(
    site: tuple[SiteConfig, Any],
) -> None:
    from privtrain.ledger import Ledger

    cfg, ws = site
    job = Job.from_run_config(
        {
            "num-server-rounds": 3,
            "local-steps": 2,
            "epsilon": 1.0,
            "aggregation": "secagg+",
            "hidden": "8",
            "reply-timeout": 30.0,
            "setup-timeout": 60.0,
        }
    )
    plan = _in_child(_offer, cfg, job.to_json())  # the ClientApp that answered the offer
    run_id = plan["run_id"]
    step = [float(plan["noise_multiplier"]), float(plan["sample_rate"]), job.local_steps]
    _in_child(_record, cfg, job.to_json(), run_id, [step], 1)  # round 1, write-ahead
    led = Ledger(ws.catalog, identity="custodian", audit=ws.audit)

    def run() -> dict[str, Any]:
        return {r["run_id"]: r for r in led.history("adult")}[run_id]

    assert run()["status"] == "reserved"
    # `budget reconcile` while the job runs: both processes that wrote it are gone
    out = led.reconcile()
    assert [(o["run_id"], o["action"]) for o in out] == [(run_id, "left")], out
    assert "lease until" in out[0]["owner"]
    # ... so the site's next round still records and trains
    _in_child(_record, cfg, job.to_json(), run_id, [step, step], 2)
    r = run()
    assert r["status"] == "reserved" and r["executed"] == [step, step]
    until = datetime.fromisoformat(r["meta"]["lease_until"])
    left = until - datetime.now(UTC)
    assert (
        timedelta(seconds=lease_seconds(job) - 30) < left <= timedelta(seconds=lease_seconds(job))
    )
    assert lease_seconds(job) >= job.setup_timeout + 4 * job.reply_timeout

    # The lease is authenticated with the run's row: an edit outside privtrain is refused,
    # not decided from.
    with ws.catalog.engine.begin() as c:
        raw = c.execute(text("SELECT meta_json FROM runs WHERE id = :i"), {"i": run_id}).scalar()
        meta = raw if isinstance(raw, dict) else json.loads(raw)
        forged = {**meta, "lease_until": "2000-01-01T00:00:00+00:00"}
        c.execute(
            text("UPDATE runs SET meta_json = :m WHERE id = :i"),
            {"m": json.dumps(forged), "i": run_id},
        )
    with pytest.raises(IntegrityError, match="runs"):
        led.reconcile()
    with ws.catalog.engine.begin() as c:
        c.execute(
            text("UPDATE runs SET meta_json = :m WHERE id = :i"),
            {"m": raw if isinstance(raw, str) else json.dumps(raw), "i": run_id},
        )
    assert run()["status"] == "reserved"

    # The site died after round 2's record; once the lease expired the job can no longer
    # reach it: reconcile charges exactly the two recorded rounds.
    assert [o["action"] for o in led.reconcile(now=until - timedelta(seconds=1))] == ["left"]
    out = led.reconcile(now=until + timedelta(seconds=1))
    assert [(o["run_id"], o["action"]) for o in out] == [(run_id, "charged")], out
    r = run()
    assert r["status"] == "committed" and r["history"] == [step, step]
    assert "lease expired" in r["failed"]
    from privtrain.ledger import compose

    assert r["epsilon_actual"] == pytest.approx(compose([tuple(step)] * 2, 1e-5), rel=1e-9)
