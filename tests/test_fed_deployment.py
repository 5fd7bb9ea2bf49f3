"""Federated jobs on the Deployment Engine: real flower-superlink / flower-supernode processes
on 127.0.0.1, three site homes with their own ledgers, UCI Adult split three ways.

Each run starts a SuperLink, 3 SuperNodes and 3 warm ClientApp launchers, and a ClientApp
process per message: about 100 s a job on an idle 2-core machine. The 3-site HE and SecAgg+
runs that must match plaintext aggregation run with ``make test`` (in CI); the fault drills
(sites refusing, killed mid-job) and the TLS run are ``slow`` (``make test-all``).
"""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest

from federated.local import LocalFederation, LocalOptions

pytestmark = [pytest.mark.timeout(1800)]

ADULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "adult" / "adult.data.csv"
PASS = "fed-test-passphrase"
ROWS = 1800

OPEN_POLICY = """\
require_dp: true
max_epsilon_per_job: 4.0
max_epsilon_total: 10.0
max_delta: 1.0e-5
aggregation: [none, he, secagg+]
min_sites: 1
models: [mlp]
allow_noise_seed: true   # reproducible site noise, to compare with an in-process aggregation
"""


@pytest.fixture()
def coordinator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("PRIVTRAIN_PASSPHRASE", PASS)  # the sites' homes (in-process reference)
    if not ADULT.exists():
        pytest.skip(f"{ADULT} not present")
    from privtrain import datasets
    from privtrain.config import load_settings
    from privtrain.workspace import Workspace

    csv = tmp_path / "adult.csv"
    with open(ADULT) as src:
        csv.write_text("".join(next(src) for _ in range(ROWS + 1)))
    ws = Workspace.init(load_settings(home=str(tmp_path / "coord")), PASS)
    # UCI Adult is a public de-identified census extract; the federated-client principal
    # reads de-identified data only (policies/access.cedar)
    datasets.import_file(ws, csv, "adult", sensitivity="deidentified")
    csv.unlink()
    (tmp_path / "open.yaml").write_text(OPEN_POLICY)
    return ws


def _opts(tmp_path: Path, aggregation: str, **kw: Any) -> LocalOptions:
    base = dict(
        dataset="adult",
        workdir=tmp_path / "fed",
        sites=3,
        aggregation=aggregation,
        rounds=2,
        local_steps=3,
        epsilon=1.0,
        site_policy=tmp_path / "open.yaml",
        hidden="8",
        batch_size=128,
        # SGD: the update is Lipschitz in the weights, so the aggregates' tiny differences
        # (CKKS ~1e-8, SecAgg+ quantization ~4e-6) stay tiny after local training; Adam's
        # first steps are sign-like and turn a 1e-6 difference into ±lr flips.
        optimizer="sgd",
        lr=0.05,
        noise_seed=11,
        reply_timeout=400.0,
        setup_timeout=900.0,
        timeout=2400.0,
    )
    base.update(kw)
    return LocalOptions(**base)  # type: ignore[arg-type]


def _run(ws: Any, opts: LocalOptions, on_event: Any = None) -> tuple[dict[str, Any], list]:
    events: list[dict[str, Any]] = []

    def ev(e: dict[str, Any]) -> None:
        events.append(e)
        if on_event is not None:
            on_event(fed, e)

    fed = LocalFederation(ws, opts, PASS, on_event=ev)
    t0 = time.perf_counter()
    try:
        summary = fed.run()
    finally:
        fed.stop()
    summary["_seconds"] = time.perf_counter() - t0
    # no process started by the run outlives it (descendants included)
    alive = []
    for pid in fed.pids():
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    assert not alive, f"processes left running: {alive}"
    return summary, events


def _final_weights(ws: Any, ref: str, tmp_path: Path) -> dict[str, np.ndarray]:
    import torch

    from privtrain import models

    out = tmp_path / "model.pt"
    models.export(ws, ref, out)
    blob = torch.load(out, weights_only=False)
    out.unlink()
    sd = torch.load(io.BytesIO(blob["state_dict"]), weights_only=True)
    return {k: v.numpy() for k, v in sd.items()}


def _reference(opts: LocalOptions, n_sites: int) -> dict[str, np.ndarray]:
    """The same job aggregated in plaintext in this process: each site's round via the same
    Site.train_round (same seeds), FedAvg with equal weights."""
    from federated.job import Job
    from federated.server_app import _initial, load_features
    from federated.site import Site, SiteConfig
    from privtrain.dp._local import plan_local

    job = Job(
        rounds=opts.rounds,
        local_steps=opts.local_steps,
        epsilon=opts.epsilon,
        hidden=[int(h) for h in opts.hidden.split(",")],
        batch_size=opts.batch_size,
        noise_seed=opts.noise_seed,
        optimizer=opts.optimizer,
        lr=opts.lr,
        aggregation="none",
        min_sites=1,
    )
    features = load_features(job)
    sites = [
        Site(
            SiteConfig(
                name=f"site-{i + 1}",
                home=opts.workdir / f"site-{i + 1}" / "home",
                dataset="adult",
                policy=None,
                weight=1.0,
            )
        )
        for i in range(n_sites)
    ]
    sigmas = []
    for s in sites:
        _, table = s.load_table()
        sigmas.append(
            plan_local(
                table.num_rows, job.train_config(), rounds=job.rounds, local_steps=job.local_steps
            ).noise_multiplier
        )
    w = _initial(job, features)
    for rnd in range(1, job.rounds + 1):
        outs = [
            s.train_round(job, features, w, rnd, sg).weights
            for s, sg in zip(sites, sigmas, strict=True)
        ]
        w = {
            k: np.mean([o[k].astype(np.float64) for o in outs], axis=0).astype(np.float32)
            for k in w
        }
    return w


def _site_runs(opts: LocalOptions, i: int) -> list[dict[str, Any]]:
    from privtrain.config import load_settings
    from privtrain.ledger import Ledger
    from privtrain.workspace import Workspace

    ws = Workspace.open(load_settings(home=str(opts.workdir / f"site-{i}" / "home")), PASS)
    return Ledger(ws.catalog).history("adult")


@pytest.mark.parametrize("aggregation", ["he", "secagg+"])
def test_three_sites_match_plaintext_aggregation(
    coordinator: Any, tmp_path: Path, aggregation: str
) -> None:
    opts = _opts(tmp_path, aggregation)
    summary, events = _run(coordinator, opts)
    print(json.dumps({k: summary.get(k) for k in ("_seconds", "round_seconds")}))
    assert summary["status"] == "completed", (summary.get("reason"), summary.get("sites"))
    assert summary["rounds_completed"] == 2
    assert [s["status"] for s in summary["sites"]] == ["trained"] * 3
    assert [e["round"] for e in events if e["event"] == "round_end"] == [1, 2]
    got = _final_weights(coordinator, summary["model"]["ref"], tmp_path)
    want = _reference(opts, 3)
    diff = max(float(np.max(np.abs(got[k] - want[k]))) for k in want)
    assert diff < 1e-4, diff
    # each site's own ledger holds the committed federated run; the card names every site
    for i in (1, 2, 3):
        runs = [r for r in _site_runs(opts, i) if r["kind"] == "federated"]
        assert [r["status"] for r in runs] == ["committed"], runs
        assert runs[0]["epsilon_actual"] == pytest.approx(1.0, rel=0.02)
    from privtrain import models

    card = models.verified_card(coordinator, summary["model"]["ref"])
    pred = card.get("predicate", card)
    text = json.dumps(pred)
    assert all(f"site-{i}" in text for i in (1, 2, 3)) and aggregation in text
    if aggregation == "he":  # the server received ciphertexts, ~4x the fp32 update
        n = sum(v.size for v in want.values())
        for b in summary["bytes_received"].values():
            assert 3.5 * 4 * n < b < 4.5 * 4 * (n + 4096)


@pytest.mark.slow
def test_refusing_site_and_killed_site(coordinator: Any, tmp_path: Path) -> None:
    strict = tmp_path / "strict.yaml"
    strict.write_text(OPEN_POLICY.replace("max_epsilon_per_job: 4.0", "max_epsilon_per_job: 0.5"))
    opts = _opts(
        tmp_path, "none", min_sites=1, site_policies={2: strict}, rounds=2, reply_timeout=200.0
    )
    killed: list[str] = []

    def on_event(fed: LocalFederation, e: dict[str, Any]) -> None:
        if e.get("event") == "round_start" and e.get("round") == 2 and not killed:
            fed.kill_site("site-2")  # kill -9 the SuperNode and its ClientApp, mid-round
            killed.append("site-2")

    summary, events = _run(coordinator, opts, on_event)
    sites = {s["name"]: s for s in summary["sites"]}
    # the refusing site is named, with the policy's reason, and its ledger is not charged
    assert sites["site-3"]["status"] == "refused"
    assert "max_epsilon_per_job" in sites["site-3"]["reason"]
    assert [r for r in _site_runs(opts, 3) if r["status"] != "released"] == []
    # the killed site is reported lost; the run finished with the survivor and says so
    assert killed == ["site-2"]
    assert sites["site-2"]["status"] == "lost" and "round 2" in sites["site-2"]["reason"]
    assert sites["site-1"]["status"] == "trained" and sites["site-1"]["rounds"] == [1, 2]
    assert summary["status"] == "completed" and summary["rounds_completed"] == 2
    assert summary["model"] is not None
    # the killed site stays reserved with what it recorded before training (write-ahead)
    runs2 = [r for r in _site_runs(opts, 2) if r["kind"] == "federated"]
    assert [r["status"] for r in runs2] == ["reserved"]


def _site_ledger(opts: LocalOptions, i: int) -> Any:
    from privtrain.config import load_settings
    from privtrain.ledger import Ledger
    from privtrain.workspace import Workspace

    ws = Workspace.open(load_settings(home=str(opts.workdir / f"site-{i}" / "home")), PASS)
    return Ledger(ws.catalog)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("aggregation", "min_sites"), [("he", 2), ("secagg+", 2), ("he", 3)], ids=str
)
def test_site_killed_in_round_2_under_secure_aggregation(
    coordinator: Any, tmp_path: Path, aggregation: str, min_sites: int
) -> None:
    """kill -9 of one of three sites when round 2 starts: with HE the server sums the
    survivors' ciphertexts; with SecAgg+ the kill lands in the setup or share-keys stage —
    before the lost site's key shares went out, which Flower 1.42's workflow alone does not
    survive (the survivors' secaggplus_mod fails in the unmask stage and the round halts) —
    and the round is unmasked with the survivors' shares (threshold 2 of 3). Either way the
    job completes when at least min-sites answered, names the lost site with the round and
    why, and otherwise ends after round 1 with the reason. Every site is charged what it ran:
    the survivors commit their 2 rounds, the killed site stays reserved with what it recorded
    before it died (write-ahead) and `budget reconcile` charges exactly that. No process
    outlives the run (``_run``)."""
    opts = _opts(tmp_path, aggregation, min_sites=min_sites, noise_seed=None, reply_timeout=90.0)
    killed: list[str] = []

    def on_event(fed: LocalFederation, e: dict[str, Any]) -> None:
        if e.get("event") == "round_start" and e.get("round") == 2 and not killed:
            fed.kill_site("site-2")
            killed.append("site-2")

    summary, events = _run(coordinator, opts, on_event)
    sites = {s["name"]: s for s in summary["sites"]}
    print(json.dumps({k: summary.get(k) for k in ("_seconds", "round_seconds", "reason")}))
    print(json.dumps(sites["site-2"]))
    assert killed == ["site-2"]
    assert sites["site-2"]["status"] == "lost"
    assert "round 2" in sites["site-2"]["reason"], sites["site-2"]
    assert sites["site-2"]["rounds"] == [1]
    if aggregation == "secagg+":
        drops = [e for e in events if e["event"] == "secagg_drop"]
        assert [(e["site"], e["round"]) for e in drops] == [("site-2", 2)], drops
        assert drops[0]["stage"] in ("setup", "share_keys"), drops  # before its shares went out
        assert "SecAgg+" in sites["site-2"]["reason"]
    if min_sites <= 2:
        assert summary["status"] == "completed", (summary.get("reason"), sites)
        assert summary["rounds_completed"] == 2 and summary["model"] is not None
        assert summary["reason"] == ""
        for name in ("site-1", "site-3"):
            assert sites[name]["status"] == "trained" and sites[name]["rounds"] == [1, 2]
        ends = [e for e in events if e["event"] == "round_end"]
        assert ends[-1]["round"] == 2 and sorted(ends[-1]["sites"]) == ["site-1", "site-3"]
        assert ends[-1]["lost"] == ["site-2"]
        card = json.dumps(models_card(coordinator, summary["model"]["ref"]))
        assert "site-2" in card and "lost" in card  # the card names the lost site
    else:
        assert summary["status"] == "incomplete" and summary["rounds_completed"] == 1
        assert "fewer than min-sites=3" in summary["reason"], summary["reason"]
        assert summary["model"] is not None  # the model of the round that completed
    # The survivors' ledgers are charged for the rounds they ran: 2 rounds of local steps,
    # committed, within the job's ε and the site policy's per-job limit (4.0).
    ran = 2
    for i in (1, 3):
        runs = [r for r in _site_runs(opts, i) if r["kind"] == "federated"]
        assert [r["status"] for r in runs] == ["committed"], runs
        assert len(runs[0]["history"]) == ran and runs[0]["executed"] == runs[0]["history"]
        assert all(int(h[2]) == opts.local_steps for h in runs[0]["history"])
        assert runs[0]["epsilon_actual"] == pytest.approx(1.0, rel=0.02)
        assert sites[f"site-{i}"]["epsilon"] == pytest.approx(runs[0]["epsilon_actual"])
    # The killed site's reservation stays (counted against its budget) until reconciled;
    # it recorded round 1 and, at most, round 2 before training it (HE: the kill can land
    # after that record; SecAgg+: it died before its round-2 training).
    runs2 = [r for r in _site_runs(opts, 2) if r["kind"] == "federated"]
    assert [r["status"] for r in runs2] == ["reserved"], runs2
    recorded = runs2[0]["executed"]
    assert 1 <= len(recorded) <= 2 and all(int(h[2]) == opts.local_steps for h in recorded)
    if aggregation == "secagg+":
        assert len(recorded) == 1, recorded
    # The ClientApp process that reserved is gone, but the reservation is leased: reconcile
    # leaves it until the lease runs out (the job could still have reached the site), then
    # charges exactly what the site recorded.
    from datetime import datetime, timedelta

    led = _site_ledger(opts, 2)
    assert [d["action"] for d in led.reconcile()] == ["left"]
    until = datetime.fromisoformat(runs2[0]["meta"]["lease_until"])
    done = led.reconcile(now=until + timedelta(seconds=1))
    assert [d["action"] for d in done] == ["charged"], done
    after = [r for r in _site_runs(opts, 2) if r["kind"] == "federated"][0]
    assert after["status"] == "committed" and after["history"] == recorded
    assert after["epsilon_actual"] <= runs2[0]["epsilon_planned"] + 1e-9


def models_card(ws: Any, ref: str) -> dict[str, Any]:
    from privtrain import models

    card = models.verified_card(ws, ref)
    return dict(card.get("predicate", card))


@pytest.mark.slow
def test_tls_and_supernode_authentication(coordinator: Any, tmp_path: Path) -> None:
    """The path of examples/federated/ run for real on 127.0.0.1: certificates from
    make_certs.sh, the SuperLink with TLS and --enable-supernode-auth, each site's key
    registered with `flwr supernode register`, SuperNodes with --root-certificates and
    --auth-supernode-private-key, `flwr run` over TLS. A SuperNode whose key was not
    registered is refused."""
    import subprocess
    import sys

    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ec

    opts = _opts(tmp_path, "he", sites=2, rounds=1, min_sites=2, tls=True, reply_timeout=200.0)
    intruder: dict[str, Any] = {}

    def on_event(fed: LocalFederation, e: dict[str, Any]) -> None:
        if e.get("event") != "round_start" or intruder:
            return
        key = tmp_path / "intruder.key"
        key.write_bytes(
            ec.generate_private_key(ec.SECP384R1()).private_bytes(
                ser.Encoding.PEM, ser.PrivateFormat.OpenSSH, ser.NoEncryption()
            )
        )
        key.chmod(0o600)
        home = tmp_path / "intruder-flwr"
        home.mkdir()
        log = tmp_path / "intruder.log"
        with open(log, "wb") as f:
            p = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "flower-supernode"),
                    "--superlink",
                    f"127.0.0.1:{fed.port}",
                    "--root-certificates",
                    str(fed.certs / "ca.crt"),
                    "--auth-supernode-private-key",
                    str(key),
                    "--node-config",
                    'site="intruder" home="/nonexistent" dataset="x"',
                ],
                env={
                    **os.environ,
                    "FLWR_HOME": str(home),
                    "FLWR_TELEMETRY_ENABLED": "0",
                    "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
                },
                stdout=f,
                stderr=subprocess.STDOUT,
            )
            try:  # it gives up by itself once the SuperLink refuses it
                rc = p.wait(timeout=90)
            except subprocess.TimeoutExpired:
                p.kill()
                rc = p.wait()
        intruder.update(rc=rc, text=log.read_text(errors="replace"))

    summary, _ = _run(coordinator, opts, on_event)
    assert summary["status"] == "completed", (summary.get("reason"), summary.get("sites"))
    assert [s["status"] for s in summary["sites"]] == ["trained"] * 2
    logs = opts.workdir / "logs"
    assert "https://" in (logs / "superlink.log").read_text()
    assert all("registered" in (logs / f"register-site-{i}.log").read_text() for i in (1, 2))
    # refused: never activated (it exits with Flower's code 305, or is still retrying)
    assert intruder["rc"] != 0 and "Failed to activate SuperNode" in intruder["text"], intruder
