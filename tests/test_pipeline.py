"""`privtrain run pipeline.yaml`: stages, skip/resume/force, config errors with lines, exit
codes, and a pipeline killed mid-stage that finishes without redoing or double-charging."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ADULT = REPO.parent / "shared" / "data" / "adult" / "adult.data.csv"
FEATURES = REPO / "examples" / "adult_features.yaml"
PASS = "pipeline tests passphrase"


def _env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PRIVTRAIN_HOME": str(home),
        "PRIVTRAIN_PASSPHRASE": PASS,
        "PRIVTRAIN_KDF_PROFILE": "fast",
    }


def _cli(
    home: Path, *args: str, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "privtrain", *args],
        capture_output=True,
        text=True,
        env={**_env(home), **(env or {})},
        timeout=timeout,
    )


# ---- configuration -----------------------------------------------------------------------------


def test_bad_config_names_field_and_line(tmp_path: Path) -> None:
    from privtrain.errors import ConfigError
    from privtrain.pipeline import Pipeline

    p = tmp_path / "p.yaml"
    p.write_text(
        "name: demo\n"
        "stages:\n"
        "  train:\n"
        "    target: class\n"
        f"    features: {FEATURES}\n"
        "    epsilon: -1\n"
    )
    with pytest.raises(ConfigError, match=r"p\.yaml:6: stages\.train\.epsilon: .*greater than 0"):
        Pipeline.from_yaml(p)
    p.write_text("name: demo\nstages:\n  publish:\n    out: m.pt\n    colour: blue\n")
    with pytest.raises(ConfigError, match=r"p\.yaml:5: stages\.publish\.colour: Extra inputs"):
        Pipeline.from_yaml(p)
    p.write_text("name: demo\nstages:\n  train: [unclosed\n")
    with pytest.raises(ConfigError, match=r"p\.yaml:\d+: not valid YAML"):
        Pipeline.from_yaml(p)
    p.write_text("name: 'bad name!'\nstages: {}\n")
    with pytest.raises(ConfigError, match=r"p\.yaml:1: name: "):
        Pipeline.from_yaml(p)


def test_cli_config_error_exit_code(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text("name: demo\nstages:\n  audit:\n    canaries: 1\n")
    r = _cli(tmp_path / "nohome", "run", str(p), "--json")
    assert r.returncode == 10, r.stderr
    assert "p.yaml:4: stages.audit.canaries" in r.stderr and "Traceback" not in r.stderr
    r = _cli(tmp_path / "nohome", "run", str(tmp_path / "missing.yaml"))
    assert r.returncode == 4 and "missing.yaml" in r.stderr


# ---- running ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not ADULT.exists():
        pytest.skip(f"UCI Adult data not found at {ADULT}")
    root = tmp_path_factory.mktemp("pipe")
    h = root / "home"
    r = _cli(h, "init")
    assert r.returncode == 0, r.stderr
    (root / "adult300.csv").write_text("\n".join(ADULT.read_text().splitlines()[:301]) + "\n")
    return h


def _write(path: Path, *, name: str, steps: int, extra: str = "") -> Path:
    path.write_text(
        f"name: {name}\n"
        "stages:\n"
        "  ingest:\n"
        "    file: adult300.csv\n"
        f"    name: {name}-data\n"
        "    budget: {epsilon: 5.0, delta: 1.0e-5}\n"
        "  train:\n"
        "    target: class\n"
        f"    features: {FEATURES}\n"
        "    epsilon: 1.0\n"
        f"    model: {name}-model\n"
        f"    settings: {{batch_size: 32, hidden: [16], steps: {steps}, threads: 1,"
        " checkpoint_every: 10}\n" + extra
    )
    return path


def test_run_skips_unchanged_and_forces(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import privtrain
    from privtrain import models
    from privtrain.config import load_settings
    from privtrain.ledger import Ledger
    from privtrain.workspace import Workspace

    for k, v in _env(home).items():
        monkeypatch.setenv(k, v)
    p = _write(
        home.parent / "full.yaml",
        name="full",
        steps=30,
        extra=(
            "  audit:\n    canaries: 100\n    settings: {threads: 1}\n"
            "  publish:\n    out: out/model.pt\n"
        ),
    )
    res = privtrain.Pipeline.from_yaml(p).run()
    assert [s.status for s in res.stages] == ["completed"] * 4
    out = res.to_dict()
    assert out["exit_code"] == 0 and out["models"] == ["full-model@v1"]
    audit = res.stages[2].outputs
    assert audit["epsilon_lower"] <= audit["epsilon_claimed"] and Path(audit["report"]).exists()
    published = home.parent / "out" / "model.pt"
    card = json.loads((home.parent / "out" / "model.pt.card.json").read_text())
    assert published.exists() and card["payloadType"]
    ws = Workspace.open(load_settings(), PASS)
    runs = Ledger(ws.catalog).history("full-data")
    assert [r["status"] for r in runs] == ["committed", "committed"]  # train + audit
    spent = out["epsilon_spent"]["full-data"]

    # unchanged: everything skipped, nothing charged, nothing re-ingested (through the CLI)
    r = _cli(home, "run", str(p), "--json")
    assert r.returncode == 0, r.stderr
    again = json.loads(r.stdout)
    assert [s["status"] for s in again["stages"]] == ["skipped"] * 4
    assert again["epsilon_spent"]["full-data"] == pytest.approx(spent)
    assert len(Ledger(ws.catalog).history("full-data")) == 2
    assert [m.ref for m in models.list_models(ws) if m.name == "full-model"] == ["full-model@v1"]

    # a removed output reruns its stage; --force reruns from a stage on
    published.unlink()
    res = privtrain.Pipeline.from_yaml(p).run()
    assert [s.status for s in res.stages] == ["skipped", "skipped", "skipped", "completed"]
    res = privtrain.Pipeline.from_yaml(p).run(force="audit")
    assert [s.status for s in res.stages] == ["skipped", "skipped", "completed", "completed"]
    assert len(Ledger(ws.catalog).history("full-data")) == 3  # one more audit run, charged


def test_failure_exit_code_and_json(home: Path) -> None:
    """A stage that would overspend fails with the ledger's exit code; later stages don't run."""
    data = home.parent / "adult300.csv"
    for args in (
        ["datasets", "import", str(data), "--name", "over-data"],
        ["budget", "set", "over-data", "--epsilon", "0.5"],
    ):
        r = _cli(home, *args)
        assert r.returncode == 0, r.stderr
    p = home.parent / "over.yaml"
    p.write_text(
        "name: over\n"
        "stages:\n"
        f"  train:\n    dataset: over-data\n    target: class\n    features: {FEATURES}\n"
        "    epsilon: 1.0\n"
        "  publish:\n    out: out/over.pt\n"
    )
    r = _cli(home, "run", str(p), "--json")
    assert r.returncode == 8, r.stderr
    out = json.loads(r.stdout)
    assert [s["status"] for s in out["stages"]] == ["failed", "not-run"]
    assert out["error"]["stage"] == "train" and out["error"]["kind"] == "budget"
    assert "over-data" in r.stderr and "Traceback" not in r.stderr
    assert not (home.parent / "out" / "over.pt").exists()


def test_audit_finding_a_privacy_bug_fails_the_pipeline(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mechanism whose noise is 0 while its accounting claims ε = 1: the audit stage finds
    ε_lower > ε_claimed, the pipeline exits 5 (integrity: the privacy claim is refuted) with
    the reason in its JSON, publish never runs, and the audit run stays charged as kind audit."""
    from privtrain.cli import main
    from privtrain.config import load_settings
    from privtrain.dp import _bookkeeping
    from privtrain.ledger import Ledger
    from privtrain.workspace import Workspace

    data = home.parent / "adult500.csv"
    data.write_text("\n".join(ADULT.read_text().splitlines()[:501]) + "\n")
    for args in (
        ["datasets", "import", str(data), "--name", "bug-data"],
        ["budget", "set", "bug-data", "--epsilon", "2"],
    ):
        r = _cli(home, *args)
        assert r.returncode == 0, r.stderr
    p = home.parent / "bug.yaml"
    # the settings of tests/test_empirical_audit.py's broken mechanism (ε_lower ≈ 1.4-1.7)
    p.write_text(
        "name: bug\n"
        "stages:\n"
        "  audit:\n    dataset: bug-data\n    target: class\n"
        f"    features: {FEATURES}\n    epsilon: 1.0\n    epochs: 30\n    canaries: 1000\n"
        "    html: out/bug-audit.html\n"
        "    settings: {batch_size: 64, hidden: [128, 128], lr: 0.01, threads: 1}\n"
        "  publish:\n    model: bug-model\n    out: out/bug.pt\n"
    )
    real = _bookkeeping.BookkeepingClipper.finalize

    def no_noise(self, noise_multiplier, expected_batch_size, generator=None):  # noqa: ANN001
        return real(self, 0.0, expected_batch_size, generator)

    monkeypatch.setattr(_bookkeeping.BookkeepingClipper, "finalize", no_noise)
    for k, v in _env(home).items():
        monkeypatch.setenv(k, v)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["run", str(p), "--json"])
    got = capsys.readouterr()
    assert exc.value.code == 5, got.err
    out = json.loads(got.out)
    assert out["status"] == "failed" and out["exit_code"] == 5
    assert [s["status"] for s in out["stages"]] == ["failed", "not-run"]
    assert out["error"]["stage"] == "audit" and out["error"]["kind"] == "integrity"
    why = out["error"]["message"]
    assert "privacy bug" in why and "exceeds the claimed" in why and "bug-audit.html" in why
    assert "Traceback" not in got.err
    html = (home.parent / "out" / "bug-audit.html").read_text()
    assert "PRIVACY BUG" in html
    assert not (home.parent / "out" / "bug.pt").exists()
    ws = Workspace.open(load_settings(home=str(home)), PASS)
    (run,) = Ledger(ws.catalog).history("bug-data")
    assert (run["kind"], run["status"]) == ("audit", "committed")  # the audit's cost stays charged


def test_killed_mid_train_finishes_without_double_charge(home: Path) -> None:
    from privtrain import datasets, models
    from privtrain.config import load_settings
    from privtrain.ledger import Ledger
    from privtrain.pipeline import Pipeline
    from privtrain.workspace import Workspace

    p = _write(home.parent / "kill.yaml", name="kill", steps=400)
    state = home / "pipelines" / "kill.state.json"
    runs_dir = home / "tmp" / "runs"
    before = {c.parent.name for c in runs_dir.glob("*/ckpt-*.key")}  # other tests' leftovers
    proc = subprocess.Popen(
        [sys.executable, "-m", "privtrain", "run", str(p)],
        env=_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 600
    try:
        while time.monotonic() < deadline:  # wait for this train stage's first checkpoint
            st = json.loads(state.read_text()) if state.exists() else {}
            train = (st.get("stages") or {}).get("train") or {}
            fresh = {c.parent.name for c in runs_dir.glob("*/ckpt-*.key")} - before
            if train.get("status") == "running" and fresh:
                break
            if proc.poll() is not None:
                pytest.fail(f"pipeline ended before it could be killed: {proc.stderr.read()}")
            time.sleep(0.2)
        else:
            pytest.fail("train stage never checkpointed")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()  # type: ignore[union-attr]
    assert proc.returncode == -signal.SIGKILL  # really killed, not ended on its own

    s = load_settings(home=str(home))
    ws = Workspace.open(s, PASS)
    (killed,) = Ledger(ws.catalog).history("kill-data")
    assert killed["status"] == "reserved"  # killed mid-run: reserved, neither committed nor lost
    assert fresh == {killed["run_id"]}  # the checkpoint waited for is this run's
    recorded = json.loads(state.read_text())["stages"]
    assert recorded["ingest"]["status"] == "completed"
    assert recorded["train"]["status"] == "running"

    res = Pipeline.from_yaml(p).run(settings=s, passphrase=PASS)
    assert [st.status for st in res.stages] == ["skipped", "resumed"]
    runs = Ledger(ws.catalog).history("kill-data")
    assert [(r["run_id"], r["status"]) for r in runs] == [(killed["run_id"], "committed")]
    # charged once: the spend is that one run's ε, and only one reservation was ever made
    assert Ledger(ws.catalog).status("kill-data").epsilon_spent == pytest.approx(
        runs[0]["epsilon_actual"], rel=1e-6
    )
    reserves = [
        e
        for e in ws.audit.events()
        if e["action"] == "run.reserve" and "kill-data" in (e["details"].get("datasets") or [])
    ]
    assert len(reserves) == 1
    assert [d.ref for d in datasets.list_datasets(ws) if d.name == "kill-data"] == ["kill-data@v1"]
    assert [m.ref for m in models.list_models(ws) if m.name == "kill-model"] == ["kill-model@v1"]
    # and a further rerun changes nothing
    res = Pipeline.from_yaml(p).run(settings=s, passphrase=PASS)
    assert [st.status for st in res.stages] == ["skipped", "skipped"]
    assert len(Ledger(ws.catalog).history("kill-data")) == 1


# ---- the demo's pipeline, federated stage included --------------------------------------------


@pytest.mark.slow
def test_demo_pipeline_runs_every_stage_for_real(tmp_path: Path) -> None:
    """examples/pipeline/pipeline.yaml as `make demo` runs it: de-identifying ingest, DP-SGD,
    a 3-site federated job with HE aggregation on the Deployment Engine (real SuperLink,
    SuperNodes and ClientApp processes on 127.0.0.1), the empirical audit and publish; then a
    rerun skips every stage and starts no second federated job."""
    from privtrain import models
    from privtrain.config import load_settings
    from privtrain.ledger import Ledger
    from privtrain.workspace import Workspace

    if not ADULT.exists():
        pytest.skip(f"UCI Adult data not found at {ADULT}")
    home, out = tmp_path / "home", tmp_path / "out"
    assert _cli(home, "init").returncode == 0
    csv = tmp_path / "patients.csv"
    mk = REPO / "examples" / "data" / "make_patients.py"
    r = subprocess.run(
        [sys.executable, str(mk), "--rows", "450", "--out", str(csv)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    env = {"PIPELINE_PATIENTS_CSV": str(csv), "PIPELINE_OUT": str(out)}
    yaml_path = REPO / "examples" / "pipeline" / "pipeline.yaml"
    r = _cli(home, "run", str(yaml_path), "--json", env=env, timeout=1500)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads(r.stdout)
    stages = {s["name"]: s for s in res["stages"]}
    assert [s["status"] for s in res["stages"]] == ["completed"] * 5
    fed = stages["federated"]["outputs"]
    assert fed["model"] == "federated@v1" and fed["rounds_completed"] == 3
    assert sorted((s["name"], s["status"]) for s in fed["sites"]) == [
        (f"site-{i}", "trained") for i in (1, 2, 3)
    ]
    assert all(0 < s["epsilon"] <= 1.0 + 1e-6 for s in fed["sites"])
    for f in ("deid-report.html", "empirical-audit.html", "patients-class.pt"):
        assert (out / f).exists(), f
    assert sorted(res["reports"]) == sorted(
        [str(out / "deid-report.html"), str(out / "empirical-audit.html")]
    )

    ws = Workspace.open(load_settings(home=str(home)), PASS)
    card = models.verified_card(ws, "federated@v1")  # signed; names the aggregation and rounds
    assert card["federated"]["aggregation"] == "he"
    assert card["federated"]["rounds_completed"] == 3
    assert len(card["privacy"]["sites"]) == 3
    kinds = [(r["kind"], r["status"]) for r in Ledger(ws.catalog).history("patients")]
    assert kinds == [("train", "committed"), ("audit", "committed")]

    def site_runs() -> list[list[tuple[str, str]]]:
        got = []
        for i in (1, 2, 3):
            sws = Workspace.open(
                load_settings(home=str(Path(fed["workdir"]) / f"site-{i}" / "home")), PASS
            )
            got.append([(r["kind"], r["status"]) for r in Ledger(sws.catalog).history("patients")])
        return got

    assert site_runs() == [[("federated", "committed")]] * 3  # each site charged once

    r = _cli(home, "run", str(yaml_path), "--json", env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert [s["status"] for s in json.loads(r.stdout)["stages"]] == ["skipped"] * 5
    assert site_runs() == [[("federated", "committed")]] * 3
    assert [m.ref for m in models.list_models(ws) if m.name == "federated"] == ["federated@v1"]
