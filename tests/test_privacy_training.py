"""Attacks through `privtrain train` on a catalog dataset: a seed in train.yaml, a run that fails
after k steps, a non-private run, δ against N, exact metrics, and `features plan`."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest

from privtrain import datasets, models, training
from privtrain.config import load_settings
from privtrain.errors import BudgetExceeded, ConfigError
from privtrain.ledger import Ledger, compose
from privtrain.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
FEATURES = REPO / "examples" / "adult_features.yaml"
PASS = "privacy tests passphrase"


@pytest.fixture(scope="module")
def adult_csv(adult_head: Callable[[int], Path]) -> Path:
    return adult_head(1500)


@pytest.fixture()
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, adult_csv: Path) -> Workspace:
    monkeypatch.setenv("PRIVTRAIN_KDF_PROFILE", "fast")
    s = load_settings(home=str(tmp_path / "home"), identity="officer")
    w = Workspace.init(s, PASS)
    datasets.import_file(w, adult_csv, "adult")
    Ledger(w.catalog).set_budget("adult", 6.0, 1e-5)
    return w


def _opts(**kw: object) -> training.TrainOptions:
    base: dict[str, object] = dict(
        dataset="adult",
        target="class",
        epsilon=2.0,
        features_path=FEATURES,
        overrides={"batch_size": 256, "hidden": [16], "steps": 8, "checkpoint_every": 2},
    )
    base.update(kw)
    return training.TrainOptions(**base)  # type: ignore[arg-type]


def _cli(ws: Workspace, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    """Run the CLI in-process; returns (exit code, stdout)."""
    import io
    from contextlib import redirect_stdout

    from privtrain.cli import main

    monkeypatch.setenv("PRIVTRAIN_HOME", str(ws.settings.home))
    monkeypatch.setenv("PRIVTRAIN_PASSPHRASE", PASS)
    buf = io.StringIO()
    with redirect_stdout(buf), pytest.raises(SystemExit) as e:
        main(list(args))
    return int(e.value.code or 0), buf.getvalue()


def test_noise_seed_in_train_yaml_is_refused(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "train.yaml"
    cfg.write_text("noise_seed: 7\nbatch_size: 256\nhidden: [16]\nsteps: 4\n")
    with pytest.raises(ConfigError, match=r"train\.yaml: noise_seed"):
        training.train(ws, _opts(config_path=cfg, overrides=None))
    code, _ = _cli(
        ws, monkeypatch, "train", "-d", "adult", "-t", "class", "-e", "1",
        "--features", str(FEATURES), "--config", str(cfg),
    )  # fmt: skip
    assert code == 10
    assert Ledger(ws.catalog).history("adult") == []  # nothing reserved, nothing trained
    assert models.list_models(ws) == []


def test_run_failing_after_k_steps_is_charged_for_them(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old code released the whole reservation when a checkpoint write failed."""
    calls = {"n": 0}
    real_save = training._EncryptedCheckpoint.save

    def failing_save(self: training._EncryptedCheckpoint, data: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the checkpoint after step 4
            raise OSError("No space left on device")
        real_save(self, data)

    monkeypatch.setattr(training._EncryptedCheckpoint, "save", failing_save)
    with pytest.raises(Exception, match="charged for what it executed"):
        training.train(ws, _opts())
    led = Ledger(ws.catalog)
    (run,) = led.history("adult")
    assert run["status"] == "committed" and run["failed"] and run["model_id"] is None
    assert len(run["history"]) == 1 and run["history"][0][2] == 4  # exactly the steps that ran
    st = led.status("adult")
    expected = compose([tuple(run["history"][0])], 1e-5)
    assert st.epsilon_spent == pytest.approx(expected, rel=1e-9) and st.epsilon_spent > 0
    assert models.list_models(ws) == []


def test_non_private_run_spends_infinity(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    res = training.train(ws, _opts(no_dp=True, epsilon=None, allow_non_private=True))
    assert res["non_private"] and res["epsilon"] is None
    st = Ledger(ws.catalog).status("adult")
    assert math.isinf(st.epsilon_spent) and st.non_private  # the old code said ε=0.0
    code, out = _cli(ws, monkeypatch, "budget", "show", "adult", "--json")
    assert code == 0 and json.loads(out)["epsilon_spent"] == "inf"
    code, out = _cli(ws, monkeypatch, "budget", "show")
    assert code == 0 and "∞" in out
    from privtrain.report import budget_report_html

    html = budget_report_html(ws, Ledger(ws.catalog), tmp_path / "r.html").read_text()
    assert "ε = ∞" in html
    with pytest.raises(BudgetExceeded, match="ε=∞"):  # no DP run can be charged any more
        training.train(ws, _opts())
    later = training.train(ws, _opts(no_dp=True, epsilon=None, allow_non_private=True))
    card = models.verified_card(ws, later["model"])
    assert card["privacy"]["non_private"] is True and card["privacy"]["epsilon"] is None
    assert card["datasets"][0]["epsilon_spent"] == "inf"


def test_delta_not_small_against_n_is_refused(
    ws: Workspace, adult_head: Callable[[int], Path]
) -> None:
    datasets.import_file(ws, adult_head(100), "tiny")
    Ledger(ws.catalog).set_budget("tiny", 5.0, 0.1)
    with pytest.raises(ConfigError, match=r"δ=0\.1.*1/\(10·N\), e\.g\. δ=1e-03"):
        training.train(ws, _opts(dataset="tiny"))
    assert Ledger(ws.catalog).history("tiny") == []


def test_exact_metrics_are_an_audited_opt_in_stated_on_the_card(ws: Workspace) -> None:
    dp = training.train(ws, _opts())
    q = models.verified_card(ws, dp["model"])["quality"]
    assert q["release"] == "gaussian" and "n_train" not in q
    assert "majority_rate" in q and isinstance(q["n_validation"], int)
    res = training.train(ws, _opts(exact_metrics=True))
    card = models.verified_card(ws, res["model"])
    assert card["quality"]["release"].startswith("exact")
    assert "not differentially private" in card["quality"]["note"]
    assert "officer" in card["quality"]["note"]
    assert card["training"]["config"]["exact_metrics"] is True
    events = ws.audit.events(action="train.exact_metrics")
    assert len(events) == 1 and events[0]["resource"] == f"run:{res['run_id']}"


def test_features_plan_is_dp_and_charged_or_a_free_skeleton(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from privtrain.dp import FeatureSpec

    out = tmp_path / "features.yaml"
    code, _ = _cli(
        ws, monkeypatch, "features", "plan", "-d", "adult", "-t", "class", "-e", "1",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0
    text = out.read_text()
    assert text.startswith("# Feature spec for adult@v1") and "charged to 'adult'" in text
    spec = FeatureSpec.from_yaml(out)  # a valid spec, ready to review
    assert set(spec.target_classes or []) == {"<=50K", ">50K"}
    cols = {c.name: c for c in spec.columns}
    assert "Private" in cols["workclass"].vocabulary  # type: ignore[union-attr]
    assert cols["age"].lower <= 20 and cols["age"].upper >= 60  # type: ignore[union-attr]
    (run,) = Ledger(ws.catalog).history("adult")
    assert run["status"] == "committed" and run["meta"]["purpose"] == "features-plan"
    assert run["history"][0][1] == 1.0 and run["history"][0][2] == 15  # 14 columns + classes
    assert compose([tuple(run["history"][0])], 1e-5) <= 1.0 * 1.01
    res = training.train(ws, _opts(features_path=out))  # the reviewed spec trains
    assert res["epsilon"] <= 2.0 + 1e-6
    # skeleton: schema only, nothing spent, and it does not train until filled in
    skel = tmp_path / "skeleton.yaml"
    code, _ = _cli(
        ws, monkeypatch, "features", "plan", "-d", "adult", "-t", "class", "--skeleton",
        "--out", str(skel),
    )  # fmt: skip
    assert code == 0 and "SKELETON" in skel.read_text()
    assert len(Ledger(ws.catalog).history("adult")) == 2  # the plan and the training run only
    with pytest.raises(ConfigError):
        FeatureSpec.from_yaml(skel)
