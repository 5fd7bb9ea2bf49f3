"""Attacks on the DP trainer itself (no catalog): each test reproduces a way to get private
information out for free, or a claim the run cannot back, and shows it caught.

- a fixed noise seed must not yield a finite ε;
- noise comes from the CSPRNG, never from torch's Mersenne Twister;
- layers that mix the samples of a batch are refused, naming the layer;
- δ ≥ 1/N is refused with a recommendation;
- progress, error messages and metrics carry nothing computed from the rows for free;
- the trainer charges write-ahead and reports what it executed when it fails.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from privtrain.dp import (
    TrainConfig,
    adult_feature_spec,
    epsilon_for,
    plan_run,
    train_tabular,
)
from privtrain.errors import ConfigError, InputError

ADULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "adult" / "adult.data.csv"


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    if not ADULT.exists():
        pytest.skip(f"UCI Adult data not found at {ADULT}")
    return pd.read_csv(ADULT).sample(n=1200, random_state=3).reset_index(drop=True)


def cfg(**kw: object) -> TrainConfig:
    base: dict[str, object] = dict(
        epsilon=2.0, steps=6, batch_size=128, hidden=[16], lr=1e-2, threads=1,
        validation_fraction=0.2, checkpoint_every=2, progress_every=1, accountant="rdp",
    )  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)  # type: ignore[arg-type]


# ---- 1. fixed noise seed ---------------------------------------------------------------


def test_seeded_run_never_claims_a_finite_epsilon(adult: pd.DataFrame) -> None:
    """With noise_seed the card would let anyone rebuild every noise draw: ε must be ∞."""
    res = train_tabular(
        adult, target="class", config=cfg(noise_seed=7), features=adult_feature_spec()
    )
    assert res.epsilon == math.inf
    assert res.non_private and res.noise == "seeded"
    assert res.to_dict()["epsilon"] is None
    assert any("noise_seed" in n for n in res.notes)
    # the mechanism that ran is still described, so a caller could see what it would have cost
    assert epsilon_for(res.history, res.delta, "rdp") < math.inf


# ---- 7. noise from a secure source -------------------------------------------------------


def test_noise_never_comes_from_torch_generators(
    adult: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reproduces 'noise from torch's Mersenne Twister': forbid torch.normal/_generate_noise
    during training; the fast path and the Opacus path must still run (they use the CSPRNG)."""
    import opacus.optimizers.optimizer as oo

    def no_mt_normal(*a: object, **k: object) -> torch.Tensor:
        raise AssertionError("noise drawn from torch's generator")

    def no_opacus_noise(*a: object, **k: object) -> torch.Tensor:
        raise AssertionError("noise drawn by Opacus' _generate_noise")

    monkeypatch.setattr(torch, "normal", no_mt_normal)
    monkeypatch.setattr(oo, "_generate_noise", no_opacus_noise)
    for clipping in ("fast", "opacus"):
        res = train_tabular(
            adult, target="class", config=cfg(clipping=clipping), features=adult_feature_spec()
        )
        assert res.noise == "aes-256-ctr" and math.isfinite(res.epsilon)


def test_secure_noise_is_gaussian_fresh_and_mitigated() -> None:
    from scipy import stats

    from privtrain.dp import SecureNoise

    a, b = SecureNoise(), SecureNoise()
    za = a.gaussian((200_000,), 2.0, torch.float64).numpy()
    zb = b.gaussian((200_000,), 2.0, torch.float64).numpy()
    assert abs(za.mean()) < 0.02 and abs(za.std() - 2.0) < 0.02
    assert stats.kstest(za / 2.0, "norm").pvalue > 1e-4
    assert not np.allclose(za[:100], zb[:100])  # a fresh key per source: no shared stream
    # fourth moment of N(0,1) is 3: the 4-sample sum is again exactly Gaussian, not flatter
    assert abs(stats.kurtosis(za / 2.0, fisher=False) - 3.0) < 0.1
    u = a.uniform(100_000)
    assert 0.0 <= u.min() and u.max() < 1.0 and stats.kstest(u, "uniform").pvalue > 1e-4
    assert a.gaussian((3, 4), 1.0, torch.float32).shape == (3, 4)


# ---- 4. layers that mix samples ------------------------------------------------------------


class BatchCenter(nn.Module):
    """Parameter-free batch centering: one added row moves every other row's activation."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - x.mean(0, keepdim=True)


def bn_noaffine(n_features: int, n_classes: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(n_features, 16), nn.BatchNorm1d(16, affine=False), nn.ReLU(),
        nn.Linear(16, n_classes),
    )  # fmt: skip


def centering(n_features: int, n_classes: int) -> nn.Module:
    return nn.Sequential(nn.Linear(n_features, 16), BatchCenter(), nn.Linear(16, n_classes))


def test_sample_mixing_layers_are_refused_naming_the_layer(adult: pd.DataFrame) -> None:
    # The attack: with such a layer, adding one row moves the others' clipped gradients.
    net = centering(4, 2)
    x = torch.randn(8, 4)
    with torch.no_grad():
        before = net(x)[:7]
        after = net(torch.cat([x[:7], 100 * torch.ones(1, 4)]))[:7]
    assert not torch.allclose(before, after)  # rows 0..6 changed although only row 7 did
    for factory, layer in ((bn_noaffine, "BatchNorm1d"), (centering, "BatchCenter")):
        with pytest.raises(ConfigError, match=rf"layer '1' \({layer}\)"):
            train_tabular(
                adult,
                target="class",
                config=cfg(model=f"{__name__}:{factory.__name__}"),
                features=adult_feature_spec(),
            )


# ---- 6. δ small against N -------------------------------------------------------------------


def test_delta_must_be_small_against_n(adult: pd.DataFrame) -> None:
    small = adult.head(100)
    with pytest.raises(ConfigError, match=r"δ=0\.1 .* use δ ≤ 1/\(10·N\), e\.g\. δ=1e-03"):
        train_tabular(small, target="class", config=cfg(delta=0.1), features=adult_feature_spec())
    with pytest.raises(ConfigError, match="delta"):
        plan_run(100, cfg(delta=0.01))
    plan_run(100, cfg(delta=1e-3))  # 1/(10·N): fine
    # non-private runs have no δ to check
    plan_run(100, cfg(delta=0.5, no_dp=True, epsilon=None))


# ---- 3. no free statistics -------------------------------------------------------------------


def test_progress_reports_steps_and_epsilon_only(adult: pd.DataFrame) -> None:
    """Two neighbouring datasets (one label flipped) must give identical progress reports: the
    old progress bar printed the exact batch loss, which tells them apart."""
    neighbour = adult.copy()
    neighbour.loc[0, "class"] = ">50K" if adult.loc[0, "class"] == "<=50K" else "<=50K"
    seen: list[list[tuple]] = []
    for df in (adult, neighbour):
        calls: list[tuple] = []
        train_tabular(
            df,
            target="class",
            config=cfg(),
            features=adult_feature_spec(),
            progress=lambda *a, calls=calls: calls.append(a),
        )
        seen.append(calls)
    assert all(len(c) == 3 for c in seen[0])  # (step, total, ε): no loss
    assert seen[0] == seen[1]


def test_label_error_names_no_count(adult: pd.DataFrame) -> None:
    bad = adult.copy()
    bad.loc[:2, "class"] = "unknown"  # three rows
    with pytest.raises(InputError) as e:
        train_tabular(bad, target="class", config=cfg(), features=adult_feature_spec())
    msg = str(e.value)
    assert "class" in msg and "target_classes" in msg
    assert not any(ch.isdigit() for ch in msg.replace("50K", ""))  # no count of rows


def test_quality_metrics_are_a_charged_dp_release(adult: pd.DataFrame) -> None:
    config = cfg(metrics_noise_multiplier=5.0)
    res = train_tabular(adult, target="class", config=config, features=adult_feature_spec())
    assert res.metrics["release"] == "gaussian"
    assert res.history[-1] == (5.0, 1.0, 1)  # charged in the same history
    assert res.epsilon == epsilon_for(res.history, res.delta, "rdp") <= 2.0
    # the release is noisy: the same model, released twice, gives different figures
    from privtrain.dp import SecureNoise
    from privtrain.dp import _trainer as T

    net = T.load_model(res.architecture, res.state_dict)
    spec = adult_feature_spec()
    x = torch.from_numpy(spec.encode(adult))
    y = spec.encode_target(adult, "class")
    a = T._dp_metrics(net, x, y, 2, config, SecureNoise())
    b = T._dp_metrics(net, x, y, 2, config, SecureNoise())
    assert a["accuracy"] != b["accuracy"] and a["release"] == "gaussian"
    exact = train_tabular(
        adult, target="class", config=cfg(exact_metrics=True), features=adult_feature_spec()
    )
    assert exact.metrics["release"].startswith("exact")
    assert len(exact.history) == 1  # nothing to charge for an exact release: it is not DP


# ---- 2. write-ahead charging ----------------------------------------------------------------


class Boom(Exception):
    pass


def test_trainer_charges_write_ahead_and_reports_what_ran(adult: pd.DataFrame) -> None:
    charged: list[list[tuple]] = []

    def progress(step: int, total: int, eps: float) -> None:
        if step == 5:
            raise Boom

    with pytest.raises(Boom) as e:
        train_tabular(
            adult,
            target="class",
            config=cfg(steps=9, checkpoint_every=3),
            features=adult_feature_spec(),
            progress=progress,
            charge=charged.append,
        )
    executed = e.value.privtrain_executed  # type: ignore[attr-defined]
    assert len(executed) == 1 and executed[0][2] == 5  # exactly the 5 steps that ran
    # write-ahead: charged in blocks of 3 before the steps ran, never behind them
    assert [h[0][2] for h in charged] == [3, 6]
    assert charged[-1][0][2] >= executed[0][2]
