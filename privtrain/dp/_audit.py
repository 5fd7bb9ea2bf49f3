"""Empirical privacy audit in one training run (Steinke, Nasr & Jagielski 2023, arXiv 2305.08846).

The auditor draws ``m`` canaries and includes each in the training set independently with
probability ½ (``S_i ∈ {−1, +1}``, from OS entropy). One DP training run is made with the settings
being audited; each canary then gets a membership score from the trained model, and the auditor
guesses "in" for the ``k₊`` highest scores and "out" for the ``k₋`` lowest (abstaining on the rest:
``r = k₊ + k₋`` guesses, ``v`` of them correct).

If the training run is (ε, δ)-DP in each canary, the paper's general theorem bounds the chance of
``v`` or more correct guesses (``q = e^ε / (e^ε + 1)``, ``f(v) = P[Binomial(r, q) ≥ v]``)::

    P[W ≥ v] ≤ f(v) + 2 m δ · max_{i = 1..v} (f(v − i) − f(v)) / i

:func:`p_value` computes the right-hand side, and :func:`epsilon_lower_bound` binary-searches the
largest ε whose p-value is below ``1 − confidence``: the run is not (ε, δ)-DP for any smaller ε,
with that confidence. When several ``(k₊, k₋)`` are tried, each test is run at
``(1 − confidence) / K`` (Bonferroni), so the reported maximum keeps its confidence.

Canaries here are **input-space** canaries (a black-box score on the final model, plus the
auditor's own knowledge of the initial weights, which it chose): rows drawn uniformly from the
*declared* feature spec (random category per column, uniform numbers within the declared bounds)
with a uniformly random label. They are synthetic — no private row is a canary — so the scores
and ``ε_lower`` are post-processing of the DP model and public randomness. The score of a canary
is how much training lowered its loss: ``loss(θ₀; x, y) − loss(θ_T; x, y)``.

An audit gives a *lower* bound: ``ε_lower > ε_claimed`` (beyond its 5 % error rate) proves a
privacy bug; ``ε_lower ≪ ε_claimed`` proves nothing (this attack may simply be weak).
"""

from __future__ import annotations

import dataclasses
import math
import secrets
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from privtrain.errors import ConfigError, InputError

DEFAULT_CANARIES = 1000
DEFAULT_CONFIDENCE = 0.95
# Guess budgets tried, as fractions of m; each splits evenly into k₊ "in" and k₋ "out" guesses.
DEFAULT_GUESS_FRACTIONS: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


# ---- the bound ---------------------------------------------------------------------------------


def _binom_pmf(r: int, q: float) -> np.ndarray:
    from scipy import stats

    return stats.binom.pmf(np.arange(r + 1), r, q)


def p_value(m: int, r: int, v: int, epsilon: float, delta: float) -> float:
    """Upper bound on P[≥ v of r guesses correct] for an (ε, δ)-DP run with m canaries."""
    if not (0 <= v <= r <= m):
        raise InputError(f"need 0 <= v <= r <= m, got v={v}, r={r}, m={m}")
    if epsilon < 0 or not (0 <= delta <= 1):
        raise InputError(f"need epsilon >= 0 and 0 <= delta <= 1, got {epsilon}, {delta}")
    if r == 0 or v == 0:
        return 1.0
    q = 1.0 / (1.0 + math.exp(-epsilon))
    pmf = _binom_pmf(r, q)
    # f(v) = P[Bin >= v]; summed from the top for accuracy in the far tail
    f_v = float(pmf[v:][::-1].sum())
    if delta > 0:
        # (f(v-i) - f(v)) = P[v-i <= Bin < v] = sum_{j=v-i}^{v-1} pmf[j], for i = 1..v
        below = np.cumsum(pmf[:v][::-1])  # below[i-1] = sum of pmf[v-i .. v-1]
        alpha = float(np.max(below / np.arange(1, v + 1)))
        f_v += 2.0 * m * delta * alpha
    return min(1.0, f_v)


def epsilon_lower_bound(
    m: int,
    r: int,
    v: int,
    delta: float,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    iterations: int = 60,
) -> float:
    """Largest ε at which ``p_value(m, r, v, ε, δ) < 1 − confidence`` (0 if none): with that
    confidence the run is not (ε', δ)-DP for any ε' below it."""
    if not (0 < confidence < 1):
        raise InputError(f"confidence must be in (0, 1), got {confidence}")
    alpha = 1.0 - confidence
    if p_value(m, r, v, 0.0, delta) >= alpha:
        return 0.0
    lo, hi = 0.0, 1.0
    while p_value(m, r, v, hi, delta) < alpha:
        lo, hi = hi, hi * 2
        if hi > 1e4:  # unreachable for finite m; guards a runaway loop
            return lo
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        if p_value(m, r, v, mid, delta) < alpha:
            lo = mid
        else:
            hi = mid
    return lo


@dataclasses.dataclass(frozen=True)
class GuessTest:
    k_in: int
    k_out: int
    r: int
    v: int
    epsilon_lower: float  # at the Bonferroni-corrected level


def guess_counts(
    scores: np.ndarray, included: np.ndarray, k_in: int, k_out: int
) -> tuple[int, int]:
    """(r, v): guess "in" for the ``k_in`` highest scores and "out" for the ``k_out`` lowest."""
    m = len(scores)
    if k_in < 0 or k_out < 0 or k_in + k_out > m:
        raise InputError(f"need k_in, k_out >= 0 and k_in + k_out <= {m}")
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    inc = np.asarray(included, dtype=bool)[order]
    v = int(inc[:k_in].sum()) + int((~inc[m - k_out :]).sum() if k_out else 0)
    return k_in + k_out, v


def guess_grid(
    m: int, fractions: Sequence[float] = DEFAULT_GUESS_FRACTIONS
) -> list[tuple[int, int]]:
    """(k₊, k₋) pairs tried: ``r = fraction·m`` guesses split evenly, duplicates removed."""
    out: list[tuple[int, int]] = []
    for f in fractions:
        r = max(2, min(m, int(round(f * m))))
        pair = (r - r // 2, r // 2)
        if pair not in out:
            out.append(pair)
    return out


def audit_scores(
    scores: np.ndarray,
    included: np.ndarray,
    delta: float,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    grid: Sequence[tuple[int, int]] | None = None,
) -> tuple[float, list[GuessTest]]:
    """ε lower bound from canary scores: the maximum over the ``grid`` of (k₊, k₋), each test at
    the Bonferroni-corrected level ``1 − (1 − confidence) / len(grid)``."""
    m = len(scores)
    if m == 0 or len(included) != m:
        raise InputError("scores and inclusion bits must be non-empty and of equal length")
    pairs = list(grid) if grid is not None else guess_grid(m)
    level = 1.0 - (1.0 - confidence) / len(pairs)
    tests = []
    for k_in, k_out in pairs:
        r, v = guess_counts(scores, included, k_in, k_out)
        eps = epsilon_lower_bound(m, r, v, delta, confidence=level)
        tests.append(GuessTest(k_in, k_out, r, v, eps))
    return max(t.epsilon_lower for t in tests), tests


# ---- canaries and the audit run ----------------------------------------------------------------


def make_canaries(features: Any, target: str, m: int, rng: np.random.Generator) -> Any:
    """``m`` synthetic rows drawn uniformly from the declared feature spec, random labels."""
    import pandas as pd

    from ._features import CategoricalColumn

    if features.target_classes is None:
        raise ConfigError("feature spec: target_classes must be declared to make canaries")
    cols: dict[str, Any] = {}
    for c in features.columns:
        if isinstance(c, CategoricalColumn):
            cols[c.name] = rng.choice(np.asarray(c.vocabulary, dtype=object), size=m)
        else:
            cols[c.name] = rng.uniform(c.lower, c.upper, size=m)
    cols[target] = rng.choice(np.asarray(features.target_classes, dtype=object), size=m)
    return pd.DataFrame(cols)


@dataclasses.dataclass(frozen=True)
class AuditResult:
    canaries: int
    included: int
    epsilon_claimed: float
    delta: float
    epsilon_lower: float
    confidence: float
    tests: list[GuessTest]
    scores: list[float]
    membership: list[bool]
    history: list[tuple[float, float, int]]
    noise_multiplier: float
    sample_rate: float
    steps: int
    n_private_rows: int
    design: str
    wall_seconds: float
    cpu_seconds: float

    @property
    def privacy_bug(self) -> bool:
        return self.epsilon_lower > self.epsilon_claimed

    @property
    def best(self) -> GuessTest:
        return max(self.tests, key=lambda t: t.epsilon_lower)

    def to_dict(self, *, with_scores: bool = False) -> dict[str, Any]:
        d = {
            "method": "one-run audit (Steinke, Nasr & Jagielski 2023, arXiv 2305.08846)",
            "design": self.design,
            "canaries": self.canaries,
            "canaries_included": self.included,
            "epsilon_claimed": self.epsilon_claimed,
            "delta": self.delta,
            "epsilon_lower": self.epsilon_lower,
            "confidence": self.confidence,
            "privacy_bug": self.privacy_bug,
            "best": dataclasses.asdict(self.best),
            "tests": [dataclasses.asdict(t) for t in self.tests],
            "multiple_testing": f"Bonferroni over {len(self.tests)} (k_in, k_out) pairs",
            "history": [list(h) for h in self.history],
            "noise_multiplier": self.noise_multiplier,
            "sample_rate": self.sample_rate,
            "steps": self.steps,
            "n_private_rows": self.n_private_rows,
            "wall_seconds": round(self.wall_seconds, 3),
            "cpu_seconds": round(self.cpu_seconds, 3),
        }
        if with_scores:
            d["scores"] = list(self.scores)
            d["membership"] = list(self.membership)
        return d


DESIGN = (
    "input-space canaries drawn uniformly from the declared feature spec with random labels; "
    "score = loss(initial weights) - loss(trained weights); guesses on the final model only "
    "(black-box access plus the auditor-chosen initialisation)"
)


def audit_config(config: Any) -> Any:
    """The audited settings for the audit run: same ε, δ, epochs/steps, batch size, optimizer,
    model and clipping; no validation split (every canary drawn "in" is trained on)."""
    from ._trainer import TrainConfig

    if config.no_dp:
        raise ConfigError("an empirical audit needs a DP configuration (no_dp is set)")
    data = config.model_dump()
    data["validation_fraction"] = 0.0
    return TrainConfig.from_dict(data, where="audit config")


def plan_audit(n_private_rows: int, canaries: int, config: Any, included: int) -> Any:
    """The audit run's plan (what the ledger reserves) for ``included`` canaries."""
    from ._trainer import plan_run

    return plan_run(n_private_rows + included, audit_config(config))


def draw_membership(canaries: int) -> np.ndarray:
    """Each canary in with probability ½, independently, from OS entropy."""
    if canaries < 2:
        raise InputError(f"--canaries must be at least 2, got {canaries}")
    rng = np.random.default_rng(secrets.randbits(128))
    return rng.random(canaries) < 0.5


def run_audit(
    table: Any,
    *,
    target: str,
    config: Any,
    features: Any,
    membership: np.ndarray,
    confidence: float = DEFAULT_CONFIDENCE,
    grid: Sequence[tuple[int, int]] | None = None,
    progress: Callable[..., None] | None = None,
    seed: int | None = None,
    charge: Callable[[list[tuple[float, float, int]]], None] | None = None,
) -> AuditResult:
    """One DP training run of ``config`` on ``table`` plus the canaries marked in ``membership``;
    returns the ε lower bound. No catalog I/O: the caller charges the ledger.

    ``seed`` fixes the canaries and the initial weights (tests and benchmarks only; by default
    both come from OS entropy). Noise and batch sampling follow ``config`` as in any run.
    ``charge`` is passed to the trainer (write-ahead accounting of executed steps)."""
    import pandas as pd
    import torch
    from torch.nn import functional as F

    from ._models import build_model, load_model, state_dict_bytes
    from ._trainer import train_tabular

    cpu0, wall0 = time.process_time(), time.perf_counter()
    cfg = audit_config(config)
    membership = np.asarray(membership, dtype=bool)
    m = len(membership)
    if seed is None:
        seed = secrets.randbits(63)
    rng = np.random.default_rng(seed)
    canaries = make_canaries(features, target, m, rng)
    keep = [c.name for c in features.columns] + [target]
    private = table.select(keep).to_pandas() if hasattr(table, "select") else table[keep]
    train_df = pd.concat([private, canaries[membership]], ignore_index=True)

    n_classes = len(features.target_classes)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net0, _ = build_model(cfg.model, features.n_features, n_classes, cfg.hidden)
    initial = state_dict_bytes(net0)
    result = train_tabular(
        train_df,
        target=target,
        config=cfg,
        features=features,
        progress=progress,
        initial_state=initial,
        **({"charge": charge} if charge is not None else {}),
    )
    x = torch.from_numpy(features.encode(canaries))
    y = torch.from_numpy(features.encode_target(canaries, target))
    with torch.no_grad():
        before = F.cross_entropy(load_model(result.architecture, initial)(x), y, reduction="none")
        after = F.cross_entropy(
            load_model(result.architecture, result.state_dict)(x), y, reduction="none"
        )
    scores = (before - after).numpy().astype(np.float64)
    eps_lower, tests = audit_scores(
        scores, membership, result.delta, confidence=confidence, grid=grid
    )
    return AuditResult(
        canaries=m,
        included=int(membership.sum()),
        epsilon_claimed=float(result.epsilon),
        delta=float(result.delta),
        epsilon_lower=float(eps_lower),
        confidence=confidence,
        tests=tests,
        scores=[float(s) for s in scores],
        membership=[bool(b) for b in membership],
        history=[tuple(h) for h in getattr(result, "executed", None) or result.history],
        noise_multiplier=float(result.noise_multiplier),
        sample_rate=float(result.sample_rate),
        steps=int(result.steps),
        n_private_rows=len(private),
        design=DESIGN,
        wall_seconds=time.perf_counter() - wall0,
        cpu_seconds=time.process_time() - cpu0,
    )
