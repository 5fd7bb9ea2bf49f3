"""Training on catalog datasets: ledger charging, refusal, signed model cards, killed runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from privtrain import datasets, models, training
from privtrain.config import load_settings
from privtrain.errors import AccessDenied, BudgetExceeded, IntegrityError
from privtrain.ledger import Ledger
from privtrain.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
FEATURES = REPO / "examples" / "adult_features.yaml"
PASS = "training tests passphrase"


@pytest.fixture(scope="module")
def adult_small(adult_head: Callable[[int], Path]) -> Path:
    return adult_head(3000)


@pytest.fixture()
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, adult_small: Path) -> Workspace:
    monkeypatch.setenv("PRIVTRAIN_KDF_PROFILE", "fast")
    s = load_settings(home=str(tmp_path / "home"), identity="trainer")
    w = Workspace.init(s, PASS)
    datasets.import_file(w, adult_small, "adult")
    return w


def _opts(**kw: object) -> training.TrainOptions:
    base = dict(
        dataset="adult",
        target="class",
        epsilon=1.0,
        epochs=2,
        features_path=FEATURES,
        overrides={"batch_size": 256, "hidden": [32]},
    )
    base.update(kw)
    return training.TrainOptions(**base)  # type: ignore[arg-type]


def test_train_charges_ledger_and_signs_card(ws: Workspace) -> None:
    led = Ledger(ws.catalog)
    led.set_budget("adult", 3.0, 1e-5)
    seen: list[int] = []
    res = training.train(ws, _opts(), progress=lambda step, total, eps: seen.append(step))
    assert seen and seen[-1] == res["steps"]
    assert 0 < res["epsilon"] <= 1.0 + 1e-6
    assert res["quality"]["release"] == "gaussian"  # DP release, charged in the history
    st = led.status("adult")
    assert st.committed_runs == 1 and st.reserved_runs == 0
    assert st.epsilon_spent == pytest.approx(res["epsilon"], rel=1e-3)
    card = models.verified_card(ws, res["model"])
    assert card["privacy"]["epsilon"] == pytest.approx(res["epsilon"])
    assert card["privacy"]["noise_multiplier"] > 0
    assert card["datasets"][0]["ciphertext_sha256"] == datasets.show(ws, "adult").ciphertext_sha256
    for k in ("accuracy", "recall", "f1", "auc"):
        assert k in card["quality"]
    assert "n_train" not in card["quality"]
    assert card["privacy"]["history"][-1] == [20.0, 1.0, 1]  # the metrics release
    assert card["compute"]["cpu_seconds"] > 0


def test_overspend_refused_and_nothing_charged(ws: Workspace) -> None:
    led = Ledger(ws.catalog)
    led.set_budget("adult", 1.2, 1e-5)
    training.train(ws, _opts())
    before = led.status("adult")
    with pytest.raises(BudgetExceeded, match="remaining"):
        training.train(ws, _opts())
    after = led.status("adult")
    assert after.epsilon_spent == before.epsilon_spent
    assert after.committed_runs == 1 and after.reserved_runs == 0
    assert len(models.list_models(ws)) == 1


def test_failed_training_before_any_step_is_released(ws: Workspace) -> None:
    Ledger(ws.catalog).set_budget("adult", 3.0, 1e-5)
    with pytest.raises(Exception):  # noqa: B017 - any failure; what matters is the ledger after
        training.train(ws, _opts(overrides={"model": "no_such_module:factory"}))
    st = Ledger(ws.catalog).status("adult")
    assert st.reserved_runs == 0 and st.committed_runs == 0
    runs = Ledger(ws.catalog).history("adult")
    assert [r["status"] for r in runs] == ["released"]


def test_non_private_is_gated(ws: Workspace) -> None:
    Ledger(ws.catalog).set_budget("adult", 3.0, 1e-5)
    with pytest.raises(AccessDenied):
        training.train(ws, _opts(no_dp=True, epsilon=None))
    res = training.train(ws, _opts(no_dp=True, epsilon=None, allow_non_private=True))
    assert res["non_private"] and res["epsilon"] is None
    card = models.verified_card(ws, res["model"])
    assert card["privacy"]["non_private"] is True
    with pytest.raises(AccessDenied):
        models.export(ws, res["model"], ws.settings.home.parent / "m.pt")


def test_edited_card_or_model_bytes_fail_verify(ws: Workspace, tmp_path: Path) -> None:
    from privtrain.catalog import DataKey, Model

    Ledger(ws.catalog).set_budget("adult", 3.0, 1e-5)
    res = training.train(ws, _opts())
    models.verify(ws, res["model"])
    out = tmp_path / "model.pt"
    models.export(ws, res["model"], out)
    good = out.read_bytes()

    # 1. Edit the card's claimed ε inside the signed payload.
    import base64

    with ws.catalog.session() as s:
        row = s.get(Model, res["model_id"])
        env = dict(row.card_json)
        stmt = json.loads(base64.b64decode(env["payload"]))
        stmt["predicate"]["privacy"]["epsilon"] = 0.01
        env["payload"] = base64.b64encode(json.dumps(stmt).encode()).decode()
        original_card = row.card_json
        row.card_json = env
    with pytest.raises(IntegrityError):
        models.verify(ws, res["model"])
    with ws.catalog.session() as s:
        s.get(Model, res["model_id"]).card_json = original_card
    models.verify(ws, res["model"])

    # 2. Replace the model bytes by a valid encryption of edited bytes (an insider with keys).
    with ws.catalog.session() as s:
        row = s.get(Model, res["model_id"])
        ctx = models.model_context(row.id, row.name, row.version)
        blob = ws.blob_path(row.blob_path)
        old_file_id = row.file_id
    edited = bytearray(good)
    edited[len(edited) // 2] ^= 0x01
    src = tmp_path / "edited.pt"
    src.write_bytes(bytes(edited))
    sealed = ws.cipher.encrypt_file(src, blob, ctx)
    with ws.catalog.session() as s:
        s.delete(s.get(DataKey, old_file_id))
        s.flush()
        s.add(
            DataKey(
                file_id=sealed.file_id.hex(),
                kek_id=sealed.wrapped_key.kek_id,
                wrapped=sealed.wrapped_key.ciphertext,
            )
        )
        s.get(Model, res["model_id"]).file_id = sealed.file_id.hex()
    with pytest.raises(IntegrityError, match="sha256"):
        models.verify(ws, res["model"])

    # 3. Flip one ciphertext byte: decryption itself fails.
    raw = bytearray(blob.read_bytes())
    raw[-20] ^= 0x80
    blob.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError):
        models.verify(ws, res["model"])


def _start_long_run(ws: Workspace, tmp_path: Path, env: dict[str, str]) -> subprocess.Popen:
    cfg = tmp_path / "train.yaml"
    cfg.write_text("epochs: 8\nbatch_size: 64\nhidden: [64]\ncheckpoint_every: 50\n")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "privtrain",
            "train",
            "--dataset",
            "adult",
            "--target",
            "class",
            "--epsilon",
            "1",
            "--config",
            str(cfg),
            "--features",
            str(FEATURES),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_after_checkpoint(
    ws: Workspace, p: subprocess.Popen, sig: signal.Signals = signal.SIGKILL
) -> str:
    led = Ledger(ws.catalog)
    try:
        deadline = time.monotonic() + 600  # CLI start-up and calibration on a loaded host
        while True:
            assert p.poll() is None, p.stderr.read()
            assert time.monotonic() < deadline, "no checkpoint was written"
            reserved = [r for r in led.history("adult") if r["status"] == "reserved"]
            if reserved and training.has_checkpoint(ws, reserved[0]["run_id"]):
                break
            time.sleep(0.05)
        os.kill(p.pid, sig)
        if sig != signal.SIGKILL:
            p.wait(timeout=120)
    finally:
        p.kill()
        p.wait()
    return reserved[0]["run_id"]


def test_sigterm_settles_the_run_like_ctrl_c(ws: Workspace, tmp_path: Path) -> None:
    """SIGTERM (a scheduler stopping a task) is handled as Ctrl-C: exit 143, the run charged
    what it executed, its checkpoint removed, nothing left reserved."""
    led = Ledger(ws.catalog)
    led.set_budget("adult", 5.0, 1e-5)
    env = dict(
        os.environ,
        PRIVTRAIN_HOME=str(ws.settings.home),
        PRIVTRAIN_PASSPHRASE=PASS,
        PRIVTRAIN_KDF_PROFILE="fast",
    )
    p = _start_long_run(ws, tmp_path, env)
    run_id = _kill_after_checkpoint(ws, p, signal.SIGTERM)
    assert p.returncode == 143, p.stderr.read()
    assert "terminated" in p.stderr.read()
    st = led.status("adult")
    assert st.reserved_runs == 0 and st.committed_runs == 1
    (r,) = led.history("adult")
    assert r["run_id"] == run_id and r["failed"] and r["history"][0][2] >= 50
    assert not training.checkpoint_dir(ws, run_id).exists()


@pytest.mark.slow  # two CLI training runs in subprocesses, killed and resumed
def test_killed_training_is_recoverable_or_released(ws: Workspace, tmp_path: Path) -> None:
    led = Ledger(ws.catalog)
    led.set_budget("adult", 5.0, 1e-5)
    env = dict(
        os.environ,
        PRIVTRAIN_HOME=str(ws.settings.home),
        PRIVTRAIN_PASSPHRASE=PASS,
        PRIVTRAIN_KDF_PROFILE="fast",
    )

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "privtrain", *args],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )

    run_id = _kill_after_checkpoint(ws, _start_long_run(ws, tmp_path, env))
    st = led.status("adult")
    assert st.committed_runs == 0 and st.reserved_runs == 1  # counted, never free
    planned = led.history("adult")[0]["history"]
    # The checkpoint holds weights trained on private rows: only ciphertext on disk.
    for f in training.checkpoint_dir(ws, run_id).iterdir():
        assert f.suffix in (".ptb", ".key")
        if f.suffix == ".ptb":
            assert f.read_bytes()[:4] == b"PTB1"
    out = json.loads(cli("budget", "reconcile", "--json").stdout)
    assert out == [{"run_id": run_id, "action": "recoverable", "owner": out[0]["owner"]}]
    res = json.loads(cli("train", "--resume", run_id, "--json").stdout)
    assert res["run_id"] == run_id
    st = led.status("adult")
    assert st.committed_runs == 1 and st.reserved_runs == 0
    committed = led.history("adult")[0]
    # Charged every step that ran: the steps before the kill (recorded write-ahead) plus the
    # ones the resume repeated after the checkpoint — never fewer than the planned total.
    sgd = [h for h in committed["history"] if h[1] < 1.0]
    assert sum(h[2] for h in sgd) >= planned[0][2]
    assert committed["history"][-1] == [20.0, 1.0, 1]
    assert not training.checkpoint_dir(ws, run_id).exists()
    models.verify(ws, res["model"])

    # A second killed run, settled instead of resumed: charged the steps it recorded as
    # executed (at least the 50 before its checkpoint), its checkpoint destroyed.
    run2 = _kill_after_checkpoint(ws, _start_long_run(ws, tmp_path, env))
    out = json.loads(cli("budget", "reconcile", "--release", "--json").stdout)
    assert [(o["run_id"], o["action"]) for o in out] == [(run2, "charged")]
    st = led.status("adult")
    assert st.committed_runs == 2 and st.reserved_runs == 0
    r2 = next(r for r in led.history("adult") if r["run_id"] == run2)
    assert r2["failed"] and r2["model_id"] is None and r2["history"][0][2] >= 50
    assert not training.checkpoint_dir(ws, run2).exists()


def test_budget_report_html(ws: Workspace, tmp_path: Path) -> None:
    from privtrain.report import budget_report_html

    led = Ledger(ws.catalog)
    led.set_budget("adult", 4.0, 1e-5)
    training.train(ws, _opts(epsilon=1.0))
    training.train(ws, _opts(epsilon=2.0))
    out = budget_report_html(ws, led, tmp_path / "report.html")
    html = out.read_text()
    assert html.count("data:image/png;base64,") == 3  # spend over time, ε vs steps, acc vs ε
    assert "adult" in html and "committed" in html and "adult-class@v2" in html
    assert 'src="http' not in html  # self-contained


def test_dp_feature_statistics_are_charged_to_the_ledger(ws: Workspace, tmp_path: Path) -> None:
    import yaml

    from privtrain.ledger import compose

    spec = tmp_path / "dp_features.yaml"
    spec.write_text(
        yaml.safe_dump(
            {
                "dp": {
                    "epsilon": 0.3,
                    "target_classes": ["<=50K", ">50K"],
                    "hints": {
                        "age": {"type": "numeric", "lower": 0, "upper": 120},
                        "hours-per-week": {"type": "numeric", "lower": 0, "upper": 168},
                        "sex": {"type": "categorical", "candidates": ["Female", "Male", "X"]},
                        "education-num": {"type": "numeric", "lower": 0, "upper": 20},
                    },
                }
            }
        )
    )
    led = Ledger(ws.catalog)
    led.set_budget("adult", 3.0, 1e-5)
    res = training.train(ws, _opts(features_path=spec, epsilon=1.5))
    run = led.history("adult")[0]
    assert len(run["history"]) == 3 and run["history"][0][1] == 1.0  # stats, DP-SGD, metrics
    assert run["history"][0][2] == 4  # one Gaussian histogram per hinted column
    card = models.verified_card(ws, res["model"])
    assert card["privacy"]["feature_statistics"] == "dp"
    # The whole history — feature statistics included — fits the run's target ε.
    assert compose([tuple(h) for h in run["history"]], 1e-5) <= 1.5 * 1.01
    assert led.status("adult").epsilon_spent == pytest.approx(res["epsilon"], rel=1e-2)
