"""Privacy accounting over mechanism histories.

A *history* is a plain list of ``(noise_multiplier, sample_rate, steps)`` entries: ``steps``
compositions of a Poisson-subsampled Gaussian mechanism with L2 sensitivity 1 (DP-SGD steps use
``sample_rate < 1``; a plain Gaussian release such as a noisy histogram uses ``sample_rate = 1``).
All entries of a history are composed together by ONE accountant; values printed for parts of a
history are never added up.

Accountants live behind a registry (``ACCOUNTANTS``: name -> class), one small class each, in the
spirit of ``opacus.accountants``. Neighbouring relation: add/remove one record (the Opacus
convention).
"""

from __future__ import annotations

import logging
import math
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import ClassVar

import numpy as np

from privtrain.errors import BudgetExceeded, ConfigError, InputError

logger = logging.getLogger(__name__)

MechanismEntry = tuple[float, float, int]
History = list[MechanismEntry]

NEIGHBOURING = "add_remove"


def normalize_history(history: Iterable[Sequence[float | int]]) -> History:
    """Validate a history and return it as a list of ``(float, float, int)`` tuples.

    Entries with ``steps == 0`` or ``sample_rate == 0`` are kept (they cost nothing) but must
    still be well-formed. Raises :class:`InputError` naming the bad entry.
    """
    out: History = []
    for i, entry in enumerate(history):
        try:
            sigma, q, steps = entry
            sigma_f, q_f = float(sigma), float(q)
            steps_i = int(steps)
        except (TypeError, ValueError) as e:
            raise InputError(
                f"history[{i}]: expected [noise_multiplier, sample_rate, steps], got {entry!r}"
            ) from e
        if steps_i != steps or steps_i < 0:
            raise InputError(f"history[{i}]: steps must be a non-negative integer, got {steps!r}")
        if not (math.isfinite(sigma_f) or sigma_f == math.inf) or sigma_f < 0:
            raise InputError(f"history[{i}]: noise_multiplier must be >= 0, got {sigma!r}")
        if not math.isfinite(q_f) or not 0.0 <= q_f <= 1.0:
            raise InputError(f"history[{i}]: sample_rate must be in [0, 1], got {q!r}")
        out.append((sigma_f, q_f, steps_i))
    return out


def _effective(history: History) -> History:
    """Entries that actually cost privacy (drop zero steps / zero rate / infinite noise)."""
    return [(s, q, n) for s, q, n in history if n > 0 and q > 0.0 and s != math.inf]


class Accountant(ABC):
    """One accounting method: composes a whole history into one epsilon for a delta."""

    name: ClassVar[str]

    @abstractmethod
    def epsilon(self, history: History, delta: float) -> float:
        """Epsilon of the composition of every entry of ``history`` (already normalised,
        non-empty, every entry with noise > 0 and positive steps/rate)."""


class RDPAccountant(Accountant):
    """Rényi-DP accountant (Opacus ``RDPAccountant``, default orders)."""

    name = "rdp"

    def epsilon(self, history: History, delta: float) -> float:
        from opacus.accountants import RDPAccountant as _OpacusRDP

        acc = _OpacusRDP()
        acc.history = list(history)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return float(acc.get_epsilon(delta))


class PRVAccountant(Accountant):
    """Privacy-loss random variable accountant (Opacus ``PRVAccountant``, Gopi et al. 2021).

    Opacus' PRV returns an *upper bound* ``estimate + eps_error``; its ``eps_error`` is absolute.
    We pick it relative to the size of epsilon (``rel_error``, 0.4 %) so small epsilons stay
    accurate and large ones stay cheap: a first pass with an error derived from the (fast, looser)
    RDP bound, a second pass only if the result turned out much smaller than that bound.

    Degenerate regimes where the PRV discretisation becomes impractically slow or numerically
    unreliable (the RDP bound above ``rdp_cutoff``, or a PRV failure) report the RDP bound
    instead, which is still a valid upper bound on the true epsilon (never less than the truth).
    """

    name = "prv"
    rel_error: ClassVar[float] = 0.004
    min_eps_error: ClassVar[float] = 5e-4
    max_eps_error: ClassVar[float] = 0.25
    rdp_cutoff: ClassVar[float] = 80.0

    def _eps_error(self, eps_guess: float) -> float:
        return min(self.max_eps_error, max(self.min_eps_error, self.rel_error * eps_guess))

    def _prv(self, history: History, delta: float, eps_error: float) -> float:
        from opacus.accountants import PRVAccountant as _OpacusPRV

        acc = _OpacusPRV()
        acc.history = list(history)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return float(acc.get_epsilon(delta, eps_error=eps_error))

    def epsilon(self, history: History, delta: float) -> float:
        rdp = RDPAccountant().epsilon(history, delta)
        if not math.isfinite(rdp) or rdp > self.rdp_cutoff:
            logger.warning(
                "epsilon beyond %.0f (RDP bound %.4g): PRV skipped, reporting the RDP upper bound",
                self.rdp_cutoff,
                rdp,
            )
            return rdp
        try:
            err = self._eps_error(rdp)
            eps = self._prv(history, delta, err)
            finer = self._eps_error(eps - err)
            if finer < 0.5 * err:
                eps = self._prv(history, delta, finer)
        except (ValueError, RuntimeError, FloatingPointError, MemoryError) as e:
            logger.warning("PRV accountant failed (%s); reporting the RDP upper bound", e)
            return rdp
        if not math.isfinite(eps) or eps > rdp:
            # PRV is normally tighter than RDP; both are upper bounds, so keep the smaller one.
            return rdp if math.isfinite(rdp) else eps
        return max(eps, 0.0)


ACCOUNTANTS: dict[str, type[Accountant]] = {
    PRVAccountant.name: PRVAccountant,
    RDPAccountant.name: RDPAccountant,
}


def get_accountant(name: str) -> Accountant:
    """Instantiate the accountant registered under ``name`` (ConfigError if unknown)."""
    try:
        return ACCOUNTANTS[name]()
    except KeyError:
        known = ", ".join(sorted(ACCOUNTANTS))
        raise ConfigError(f"accountant {name!r} is not known; use one of: {known}") from None


def _check_delta(delta: float) -> float:
    d = float(delta)
    if not 0.0 < d < 1.0:
        raise InputError(f"delta must be in (0, 1), got {delta!r}")
    return d


def epsilon_for(
    history: Iterable[Sequence[float | int]], delta: float, accountant: str = "prv"
) -> float:
    """Epsilon of the composition of every entry of ``history`` at ``delta``.

    ``history`` is ``[(noise_multiplier, sample_rate, steps), ...]``; entries may differ from one
    another (heterogeneous composition). An empty history costs 0; an entry with zero noise and
    positive steps costs infinity.
    """
    acc = get_accountant(accountant)
    d = _check_delta(delta)
    hist = _effective(normalize_history(history))
    if not hist:
        return 0.0
    if any(s == 0.0 for s, _, _ in hist):
        return math.inf
    return acc.epsilon(hist, d)


def calibrate_noise(
    target_epsilon: float,
    delta: float,
    sample_rate: float,
    steps: int,
    accountant: str = "prv",
    prior_history: Iterable[Sequence[float | int]] | None = None,
    *,
    rel_tolerance: float = 0.01,
) -> float:
    """Smallest noise multiplier (within ``rel_tolerance`` on epsilon) such that
    ``epsilon_for(prior_history + [(sigma, sample_rate, steps)], delta) <= target_epsilon``.

    The returned value always satisfies the inequality with the same :func:`epsilon_for` the
    ledger uses. Raises :class:`BudgetExceeded` if ``prior_history`` alone already spends the
    target, :class:`InputError` for malformed arguments.
    """
    target = float(target_epsilon)
    if not math.isfinite(target) or target <= 0:
        raise InputError(f"target_epsilon must be a positive finite number, got {target_epsilon!r}")
    d = _check_delta(delta)
    q = float(sample_rate)
    if not 0.0 < q <= 1.0:
        raise InputError(f"sample_rate must be in (0, 1], got {sample_rate!r}")
    if int(steps) != steps or steps <= 0:
        raise InputError(f"steps must be a positive integer, got {steps!r}")
    get_accountant(accountant)
    prior = normalize_history(prior_history or [])
    prior_eps = epsilon_for(prior, d, accountant) if prior else 0.0
    if prior_eps >= target:
        raise BudgetExceeded(
            f"prior mechanisms already spend epsilon={prior_eps:.4g} >= target {target:.4g}; "
            "raise the target or drop the prior mechanisms"
        )

    def eps(sigma: float) -> float:
        return epsilon_for([*prior, (sigma, q, int(steps))], d, accountant)

    # Bracket: hi satisfies the target, lo does not.
    hi = 1.0
    e_hi = eps(hi)
    while e_hi > target:
        hi *= 2.0
        if hi > 1e6:
            raise InputError(
                f"target epsilon {target:.4g} cannot be met with sample_rate={q:.4g}, "
                f"steps={steps} (noise multiplier would exceed 1e6)"
            )
        e_hi = eps(hi)
    lo = hi / 2.0
    e_lo = eps(lo)
    while e_lo <= target:
        hi, e_hi = lo, e_lo
        lo /= 2.0
        if lo < 1e-3:
            return hi
        e_lo = eps(lo)

    # Illinois (regula falsi) on log(eps) vs log(sigma), keeping the bracket.
    lt = math.log(target)
    x_lo, x_hi = math.log(lo), math.log(hi)
    f_lo = math.log(e_lo) - lt if math.isfinite(e_lo) else 50.0
    f_hi = math.log(max(e_hi, 1e-300)) - lt
    s_hi = hi
    side = 0
    for _ in range(60):
        if e_hi >= target * (1.0 - rel_tolerance) or (x_hi - x_lo) < 1e-6:
            break
        x = (x_lo * f_hi - x_hi * f_lo) / (f_hi - f_lo)
        if not x_lo < x < x_hi:
            x = 0.5 * (x_lo + x_hi)
        s = math.exp(x)
        e = eps(s)
        f = (math.log(e) - lt) if (math.isfinite(e) and e > 0) else (50.0 if e > 0 else -50.0)
        if f <= 0:
            x_hi, f_hi, e_hi, s_hi = x, f, e, s
            if side == -1:
                f_lo /= 2.0
            side = -1
        else:
            x_lo, f_lo = x, f
            if side == 1:
                f_hi /= 2.0
            side = 1
    return s_hi
