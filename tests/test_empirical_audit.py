"""Empirical privacy audit (one run, Steinke, Nasr & Jagielski 2023): the bound, the attack on a
deliberately broken mechanism and on honest runs, ledger charging, report and CLI."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from privtrain.dp import _audit

REPO = Path(__file__).resolve().parents[1]
ADULT = REPO.parent / "shared" / "data" / "adult" / "adult.data.csv"
FEATURES = REPO / "examples" / "adult_features.yaml"
PASS = "empirical audit tests passphrase"


# ---- the bound against an independent implementation ------------------------------------------


def _ref_p_value(m: int, r: int, v: int, eps: float, delta: float) -> float:
    """The paper's bound written out with exact binomial coefficients (no scipy):
    P[W >= v] <= f(v) + 2 m delta max_{1<=i<=v} (f(v-i) - f(v)) / i, f(u) = P[Bin(r, q) >= u]."""
    q = math.exp(eps) / (math.exp(eps) + 1)
    pmf = [math.comb(r, j) * q**j * (1 - q) ** (r - j) for j in range(r + 1)]
    tail = [math.fsum(pmf[u:]) for u in range(r + 2)]  # tail[u] = f(u) = P[Bin >= u]
    fv = tail[v]
    worst = max(((tail[v - i] - fv) / i for i in range(1, v + 1)), default=0.0)
    return min(1.0, fv + 2 * m * delta * worst)


@pytest.mark.parametrize(
    "m,r,v,eps,delta",
    [
        (1000, 100, 100, 3.0, 0.0),
        (1000, 100, 90, 1.5, 1e-5),
        (1000, 500, 420, 1.2, 1e-5),
        (200, 40, 31, 0.7, 1e-3),
        (50, 50, 25, 0.0, 1e-4),
        (1000, 1000, 707, 0.6, 1e-5),
    ],
)
def test_p_value_matches_independent_formula(
    m: int, r: int, v: int, eps: float, delta: float
) -> None:
    assert _audit.p_value(m, r, v, eps, delta) == pytest.approx(
        _ref_p_value(m, r, v, eps, delta), rel=1e-9, abs=1e-15
    )


def test_all_guesses_right_matches_closed_form() -> None:
    # delta = 0, all r guesses right: p = q^r, so eps_lower = logit(0.05^(1/r)).
    for r in (10, 50, 100, 1000):
        qr = 0.05 ** (1 / r)
        expect = math.log(qr / (1 - qr))
        got = _audit.epsilon_lower_bound(1000, r, r, 0.0)
        assert got == pytest.approx(expect, abs=1e-6)
    # the reference figure: 1,000 canaries, 100 guesses all right -> about 3.5
    assert _audit.epsilon_lower_bound(1000, 100, 100, 0.0) == pytest.approx(3.49, abs=0.01)
    # delta only ever weakens the bound; no correct guesses prove nothing
    assert _audit.epsilon_lower_bound(1000, 100, 100, 1e-5) < 3.49
    assert _audit.epsilon_lower_bound(1000, 100, 0, 0.0) == 0.0
    assert _audit.epsilon_lower_bound(1000, 100, 50, 0.0) == 0.0


def test_bound_is_tight_at_its_own_level() -> None:
    m, r, v, delta = 1000, 200, 170, 1e-5
    eps = _audit.epsilon_lower_bound(m, r, v, delta)
    assert _ref_p_value(m, r, v, eps - 1e-6, delta) < 0.05
    assert _ref_p_value(m, r, v, eps + 1e-6, delta) >= 0.05


def test_guesses_and_bonferroni() -> None:
    scores = np.array([9.0, 8.0, 7.0, 1.0, 0.5, 0.1])
    incl = np.array([True, True, False, True, False, False])
    assert _audit.guess_counts(scores, incl, 2, 0) == (2, 2)
    assert _audit.guess_counts(scores, incl, 3, 3) == (6, 4)
    assert _audit.guess_counts(scores, incl, 1, 2) == (3, 3)
    rng = np.random.default_rng(3)
    m = 1000
    incl = rng.random(m) < 0.5
    scores = incl * 2.0 + rng.normal(size=m)  # a strong but imperfect attack
    grid = _audit.guess_grid(m)
    best, tests = _audit.audit_scores(scores, incl, 1e-5, grid=grid)
    assert len(tests) == len(grid) == 7
    for t in tests:  # each test at the corrected level 1 - 0.05/K
        assert t.epsilon_lower == pytest.approx(
            _audit.epsilon_lower_bound(m, t.r, t.v, 1e-5, confidence=1 - 0.05 / len(grid))
        )
    assert best == max(t.epsilon_lower for t in tests) > 0.5
    # a single pre-chosen test is not penalised
    one, _ = _audit.audit_scores(scores, incl, 1e-5, grid=[(100, 100)])
    r, v = _audit.guess_counts(scores, incl, 100, 100)
    assert one == pytest.approx(_audit.epsilon_lower_bound(m, r, v, 1e-5))


# ---- the attack on real training runs ---------------------------------------------------------


@pytest.fixture(scope="module")
def adult_500():
    if not ADULT.exists():
        pytest.skip(f"UCI Adult data not found at {ADULT}")
    import pyarrow.csv as pacsv

    return pacsv.read_csv(ADULT).slice(0, 500)


def _audited_config():  # noqa: ANN202
    from privtrain.dp import TrainConfig

    # a small run that memorises well without noise: 480 steps of a 128x128 MLP. Noise comes
    # from the CSPRNG as in production (a noise_seed run is reported as ε = ∞).
    return TrainConfig(
        epsilon=1.0, delta=1e-5, epochs=30, batch_size=64, hidden=[128, 128], lr=0.01, threads=1
    )


def _audit_run(table, seed: int):  # noqa: ANN001, ANN202
    from privtrain.dp import FeatureSpec

    membership = np.random.default_rng(seed).random(1000) < 0.5
    return _audit.run_audit(
        table,
        target="class",
        config=_audited_config(),
        features=FeatureSpec.from_yaml(FEATURES),
        membership=membership,
        seed=seed,
    )


def test_broken_mechanism_is_flagged(adult_500, monkeypatch: pytest.MonkeyPatch) -> None:
    """Noise set to 0 while the accounting still claims ε = 1: the audit proves ε > 1."""
    from privtrain.dp import _bookkeeping

    real = _bookkeeping.BookkeepingClipper.finalize

    def no_noise(self, noise_multiplier, expected_batch_size, generator=None):  # noqa: ANN001
        return real(self, 0.0, expected_batch_size, generator)

    monkeypatch.setattr(_bookkeeping.BookkeepingClipper, "finalize", no_noise)
    res = _audit_run(adult_500, seed=11)
    assert res.epsilon_claimed <= 1.0 + 1e-6 and res.noise_multiplier > 1  # the false claim
    assert res.epsilon_lower > 1.2, res.to_dict()
    assert res.privacy_bug


@pytest.mark.parametrize(
    "seed", [1, *(pytest.param(s, marks=pytest.mark.slow) for s in (2, 3, 4, 5))]
)
def test_honest_run_stays_below_its_claim(adult_500, seed: int) -> None:
    res = _audit_run(adult_500, seed=seed)
    assert res.epsilon_claimed <= 1.0 + 1e-6
    assert res.epsilon_lower <= 1.0, res.to_dict()
    assert not res.privacy_bug


# ---- through the catalog: ledger, report, audit log, CLI --------------------------------------


@pytest.fixture()
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    if not ADULT.exists():
        pytest.skip(f"UCI Adult data not found at {ADULT}")
    from privtrain import datasets
    from privtrain.config import load_settings
    from privtrain.workspace import Workspace

    monkeypatch.setenv("PRIVTRAIN_KDF_PROFILE", "fast")
    small = tmp_path / "adult_small.csv"
    small.write_text("\n".join(ADULT.read_text().splitlines()[:1001]) + "\n")
    w = Workspace.init(load_settings(home=str(tmp_path / "home"), identity="auditor"), PASS)
    datasets.import_file(w, small, "adult")
    return w


def _opts(tmp_path: Path, **kw: object):  # noqa: ANN202
    from privtrain.empirical_audit import EmpiricalAuditOptions

    base = dict(
        dataset="adult",
        target="class",
        features_path=FEATURES,
        epsilon=1.0,
        epochs=2,
        canaries=200,
        html=tmp_path / "audit.html",
        overrides={"batch_size": 128, "hidden": [16], "threads": 1},
    )
    base.update(kw)
    return EmpiricalAuditOptions(**base)  # type: ignore[arg-type]


def test_audit_is_charged_to_the_ledger_and_reported(ws, tmp_path: Path) -> None:  # noqa: ANN001
    from privtrain.empirical_audit import audit_empirical
    from privtrain.errors import BudgetExceeded
    from privtrain.ledger import Ledger

    led = Ledger(ws.catalog)
    led.set_budget("adult", 1.2, 1e-5)
    res = audit_empirical(ws, _opts(tmp_path))
    assert res["epsilon_claimed"] <= 1.0 + 1e-6 and res["epsilon_lower"] <= res["epsilon_claimed"]
    st = led.status("adult")
    assert st.committed_runs == 1 and st.reserved_runs == 0
    assert st.epsilon_spent == pytest.approx(res["epsilon_claimed"], rel=1e-3)
    (run,) = led.history("adult")
    assert run["kind"] == "audit" and run["status"] == "committed"  # charged as what it is
    assert run["meta"]["purpose"] == "empirical-audit"
    html = Path(res["report"]).read_text()
    assert "ε_lower" in html and "data:image/png;base64," in html and "PRIVACY BUG" not in html
    ev = [e for e in ws.audit.events() if e["action"] == "audit.empirical"]
    assert ev and ev[-1]["details"]["run_id"] == res["run_id"]
    # a second audit at ε = 1 would overspend 1.2: refused before training, nothing charged
    with pytest.raises(BudgetExceeded):
        audit_empirical(ws, _opts(tmp_path))
    assert led.status("adult").committed_runs == 1 and led.status("adult").reserved_runs == 0


def test_audit_refuses_no_dp_and_dp_feature_specs(ws, tmp_path: Path) -> None:  # noqa: ANN001
    from privtrain.empirical_audit import audit_empirical
    from privtrain.errors import ConfigError, InputError
    from privtrain.ledger import Ledger

    Ledger(ws.catalog).set_budget("adult", 5.0, 1e-5)
    with pytest.raises(ConfigError, match="DP configuration"):
        audit_empirical(ws, _opts(tmp_path, overrides={"no_dp": True}))
    with pytest.raises(ConfigError, match="noise_seed"):
        audit_empirical(ws, _opts(tmp_path, overrides={"noise_seed": 1}))
    dp_spec = tmp_path / "dp_features.yaml"
    dp_spec.write_text("dp:\n  epsilon: 0.5\n  hints: {}\n")
    with pytest.raises(ConfigError, match="declared spec"):
        audit_empirical(ws, _opts(tmp_path, features_path=dp_spec))
    with pytest.raises(InputError, match="canaries"):
        audit_empirical(ws, _opts(tmp_path, canaries=1))
    with pytest.raises(InputError, match="nope"):
        audit_empirical(ws, _opts(tmp_path, target="nope"))
    assert Ledger(ws.catalog).status("adult").committed_runs == 0


def test_cli_audit_empirical_json(ws, tmp_path: Path) -> None:  # noqa: ANN001
    from privtrain.ledger import Ledger

    Ledger(ws.catalog).set_budget("adult", 3.0, 1e-5)
    cfg = tmp_path / "train.yaml"
    cfg.write_text("batch_size: 128\nhidden: [16]\nepochs: 2\nthreads: 1\n")
    env = {
        **os.environ,
        "PRIVTRAIN_HOME": str(ws.settings.home),
        "PRIVTRAIN_PASSPHRASE": PASS,
        "PRIVTRAIN_KDF_PROFILE": "fast",
    }
    cmd = [sys.executable, "-m", "privtrain", "audit", "empirical", "--dataset", "adult"]
    args = ["--target", "class", "--features", str(FEATURES), "--config", str(cfg)]
    p = subprocess.run(
        [*cmd, *args, "--epsilon", "2", "--canaries", "100", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["canaries"] == 100 and Path(out["report"]).exists()
    assert out["epsilon_lower"] <= out["epsilon_claimed"] <= 2.0 + 1e-6
    # bad input: one line, stable exit code, no traceback
    p = subprocess.run(
        [*cmd, "--target", "class", "--features", str(tmp_path / "missing.yaml")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert p.returncode in (4, 10), p.stderr
    assert "Traceback" not in p.stderr and "missing.yaml" in p.stderr


# ---- catalog migration 0006: runs of kind "audit" ---------------------------------------------


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_migration_0006_admits_audit_runs(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> None:
    from sqlalchemy import select
    from sqlalchemy.exc import IntegrityError as SAIntegrityError

    from privtrain.catalog import Catalog, Run

    url = (
        f"sqlite:///{tmp_path / 'c.db'}"
        if backend == "sqlite"
        else str(request.getfixturevalue("pg_database_url"))
    )

    def run(kind: str, status: str = "committed") -> Run:
        return Run(
            kind=kind,
            status=status,
            history_json=[[1.0, 0.01, 10]],
            delta=1e-5,
            epsilon_planned=0.5,
            owner_pid=1,
            owner_host="h",
            meta_json={"k": kind},
            row_mac="ab" * 32,
        )

    cat = Catalog(url)
    cat.upgrade("0005")
    with cat.session() as s:
        old = run("train")
        s.add(old)
        s.flush()
        old_id = old.id
    with pytest.raises(SAIntegrityError), cat.session() as s:  # 0005 refuses the new kind
        s.add(run("audit"))
    cat.close()

    cat = Catalog(url)
    cat.upgrade()
    assert cat.current_revision() == "0006"
    with cat.session() as s:  # the old row is untouched (its MAC'd columns included)
        (kept,) = s.scalars(select(Run)).all()
        assert (kept.id, kept.kind, kept.row_mac, kept.meta_json) == (
            old_id,
            "train",
            "ab" * 32,
            {"k": "train"},
        )
        s.add(run("audit"))
    for bad in (run("bogus"), run("audit", status="bogus")):  # the other checks still hold
        with pytest.raises(SAIntegrityError), cat.session() as s:
            s.add(bad)
    with cat.session() as s:
        assert sorted(r.kind for r in s.scalars(select(Run))) == ["audit", "train"]
    cat.close()
