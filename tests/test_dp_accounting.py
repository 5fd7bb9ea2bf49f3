"""Accounting: privtrain.dp's epsilon_for against Google's dp-accounting PLD accountant."""

from __future__ import annotations

import math

import dp_accounting
import pytest
from dp_accounting.pld import PLDAccountant

from privtrain.dp import (
    ACCOUNTANTS,
    Accountant,
    PRVAccountant,
    RDPAccountant,
    calibrate_noise,
    epsilon_for,
    get_accountant,
)
from privtrain.errors import BudgetExceeded, ConfigError, InputError

DELTA = 1e-5


def pld_epsilon(history: list[tuple[float, float, int]], delta: float) -> float:
    acc = PLDAccountant(value_discretization_interval=1e-4)
    event = dp_accounting.ComposedDpEvent(
        [
            dp_accounting.SelfComposedDpEvent(
                dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma)), n
            )
            for sigma, q, n in history
        ]
    )
    acc.compose(event)
    return acc.get_epsilon(delta)


HISTORIES = [
    [(0.8, 0.05, 100)],
    [(1.0, 0.01, 5000)],
    [(2.0, 0.002, 20000)],
    [(1.5, 0.03, 1000)],
    [(1.2, 0.02, 1000), (2.0, 0.001, 3000), (0.9, 0.05, 200)],
    [(1.0, 0.03, 1000), (5.0, 1.0, 10)],  # DP-SGD composed with Gaussian histograms (q = 1)
    [(3.0, 1.0, 14)],
]


@pytest.mark.parametrize("history", HISTORIES, ids=lambda h: "+".join(f"{e}" for e in h))
def test_prv_matches_dp_accounting_pld(history: list[tuple[float, float, int]]) -> None:
    ours = epsilon_for(history, DELTA, "prv")
    ref = pld_epsilon(history, DELTA)
    assert ours == pytest.approx(ref, rel=0.01)


def test_rdp_is_a_looser_upper_bound() -> None:
    h = [(1.0, 0.01, 5000)]
    prv, rdp = epsilon_for(h, DELTA, "prv"), epsilon_for(h, DELTA, "rdp")
    assert prv < rdp < prv * 1.3


def test_registry() -> None:
    assert set(ACCOUNTANTS) == {"prv", "rdp"}
    assert ACCOUNTANTS["prv"] is PRVAccountant and ACCOUNTANTS["rdp"] is RDPAccountant
    for name, cls in ACCOUNTANTS.items():
        assert issubclass(cls, Accountant) and cls.name == name
        assert isinstance(get_accountant(name), cls)
    with pytest.raises(ConfigError, match="gdp"):
        get_accountant("gdp")
    with pytest.raises(ConfigError):
        epsilon_for([(1.0, 0.01, 10)], DELTA, "moments")


def test_composition_is_tight_and_order_free() -> None:
    a, b = (1.0, 0.02, 500), (1.5, 0.01, 800)
    ea, eb = epsilon_for([a], DELTA), epsilon_for([b], DELTA)
    both = epsilon_for([a, b], DELTA)
    assert max(ea, eb) < both < ea + eb  # never the naive sum of printed values
    assert epsilon_for([b, a], DELTA) == pytest.approx(both, rel=1e-3)
    # one entry of 2n steps == two entries of n steps
    assert epsilon_for([a, a], DELTA) == pytest.approx(
        epsilon_for([(1.0, 0.02, 1000)], DELTA), rel=2e-3
    )


def test_edge_cases() -> None:
    assert epsilon_for([], DELTA) == 0.0
    assert epsilon_for([(1.0, 0.01, 0), (1.0, 0.0, 10)], DELTA) == 0.0
    assert epsilon_for([[1.0, 0.01, 10]], DELTA) > 0  # lists as stored in JSON
    assert epsilon_for([(0.0, 0.01, 10)], DELTA) == math.inf
    for bad in ([(1.0, 1.5, 10)], [(-1.0, 0.1, 10)], [(1.0, 0.1, 2.5)], [(1.0, 0.1)]):
        with pytest.raises(InputError):
            epsilon_for(bad, DELTA)
    with pytest.raises(InputError):
        epsilon_for([(1.0, 0.1, 10)], 0.0)


def test_calibrate_noise_meets_target() -> None:
    for target in (1.0, 3.0, 8.0):
        sigma = calibrate_noise(target, DELTA, 1 / 32, 640)
        eps = epsilon_for([(sigma, 1 / 32, 640)], DELTA)
        assert target * 0.98 <= eps <= target


def test_calibrate_noise_with_prior_history() -> None:
    prior = [(8.0, 1.0, 14)]
    sigma = calibrate_noise(3.0, DELTA, 0.03, 500, prior_history=prior)
    total = epsilon_for([*prior, (sigma, 0.03, 500)], DELTA)
    assert 3.0 * 0.98 <= total <= 3.0
    assert sigma > calibrate_noise(3.0, DELTA, 0.03, 500)  # the prior costs something
    with pytest.raises(BudgetExceeded):
        calibrate_noise(0.5, DELTA, 0.03, 500, prior_history=[(1.0, 1.0, 14)])
    with pytest.raises(InputError):
        calibrate_noise(-1.0, DELTA, 0.03, 500)
    with pytest.raises(InputError):
        calibrate_noise(1.0, DELTA, 0.03, 0)


def test_calibrate_noise_rdp() -> None:
    sigma = calibrate_noise(2.0, DELTA, 0.02, 400, accountant="rdp")
    assert 2.0 * 0.98 <= epsilon_for([(sigma, 0.02, 400)], DELTA, "rdp") <= 2.0
    assert sigma > calibrate_noise(2.0, DELTA, 0.02, 400, accountant="prv")
