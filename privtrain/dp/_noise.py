"""Noise for DP mechanisms, drawn from a cryptographically secure source.

Every DP release in privtrain (DP-SGD gradients, DP feature statistics, DP quality metrics)
draws its Gaussian noise through :func:`gaussian`. The production source, :class:`SecureNoise`,
is an AES-256-CTR keystream (``cryptography``/OpenSSL) under a fresh ``os.urandom`` key and
nonce per source, never stored: nobody — not whoever reads a checkpoint, a card or the code —
can predict or replay the draws.

Keystream → Gaussians: each 64-bit word gives a 53-bit uniform ``u``; Box-Muller turns a pair
``(u1, u2)`` (``u1`` in (0, 1]) into two independent N(0, 1) samples in float64. Against the
floating-point attacks on Gaussian noise (Jin et al. 2021, arXiv:2112.05307; the mitigation of
Holohan & Braghin 2021, arXiv:2107.10138 §5.1, which is what Opacus' ``secure_mode`` does), each
released noise value is the sum of four independent samples of N(0, σ²) divided by 2 (again
N(0, σ²)): the set of floats the sampler can output is then dense, so an observed ``x + noise``
does not reveal ``x`` by which values are reachable. Sums are taken in float64 and rounded once
to the gradient's dtype. With 53-bit uniforms the Box-Muller radius is bounded by
sqrt(2·ln 2^53) ≈ 8.6: the sampler misses at most 2^-53 of the Gaussian's mass per pair.

:class:`SeededNoise` (a seeded ``torch.Generator``) exists for reproducible tests only; anything
trained with it is reported as non-private (ε = ∞) by the trainer, and the catalog path
(``privtrain train``) refuses a seed outright.

Hand-written here: the keystream-to-Gaussian transform (Box-Muller + the 4-sample sum). No
maintained library offers Gaussian sampling from a caller-supplied CSPRNG on this platform
(``torchcsprng`` has no wheel for this torch).
"""

from __future__ import annotations

import math
import os
import threading
from typing import Protocol, runtime_checkable

import numpy as np
import torch
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_TWO_PI = 2.0 * math.pi
_U53 = 2.0**-53


@runtime_checkable
class NoiseSource(Protocol):
    """Where Gaussian noise comes from. ``secure`` is false for reproducible (test) sources."""

    secure: bool

    def gaussian(self, shape: tuple[int, ...], std: float, dtype: torch.dtype) -> torch.Tensor:
        """N(0, std²) noise of ``shape`` (floating-point-attack mitigated for secure sources)."""
        ...


class SecureNoise:
    """Gaussian noise from an AES-256-CTR keystream under a fresh random key (see module doc).

    Thread-safe: one lock serialises keystream use, so one source may serve several callers.
    """

    secure = True

    def __init__(self) -> None:
        key, nonce = os.urandom(32), os.urandom(16)
        self._enc = Cipher(algorithms.AES(key), modes.CTR(nonce)).encryptor()
        del key
        self._lock = threading.Lock()
        self._zeros = b""

    def __repr__(self) -> str:
        return "SecureNoise(AES-256-CTR, os.urandom key)"

    def _words(self, n: int) -> np.ndarray:
        """``n`` uniformly random 64-bit words from the keystream (read-only array)."""
        nbytes = 8 * n
        with self._lock:
            if len(self._zeros) < nbytes:
                self._zeros = bytes(nbytes)
            ks = self._enc.update(memoryview(self._zeros)[:nbytes])
        return np.frombuffer(ks, dtype=np.uint64, count=n)

    def uniform(self, n: int) -> np.ndarray:
        """``n`` floats uniform on [0, 1) with 53 random bits each."""
        return (self._words(n) >> np.uint64(11)).astype(np.float64) * _U53

    def standard_normal(self, n: int) -> np.ndarray:
        """``n`` independent N(0, 1) float64 samples (Box-Muller; no 4-sample mitigation)."""
        pairs = (n + 1) // 2
        w = self._words(2 * pairs) >> np.uint64(11)
        u = torch.from_numpy(w.astype(np.float64))
        u1 = u[:pairs].add_(1.0).mul_(_U53)  # (0, 1]: log is finite
        theta = u[pairs:].mul_(_U53 * _TWO_PI)
        r = u1.log_().mul_(-2.0).sqrt_()
        out = torch.cat([r * torch.cos(theta), r.mul_(torch.sin(theta))])
        return out[:n].numpy()

    def mitigated_normal(self, n: int) -> torch.Tensor:
        """``n`` float64 samples of N(0, 1), each (z1 + z2 + z3 + z4) / 2 of independent
        standard normals (the floating-point-attack mitigation)."""
        # Two Box-Muller pairs per output: its four normals come from two different pairs' cos
        # and sin terms, each rounded on its own. Uniforms have 53 random bits; the radius
        # uniform is (k + 1/2)·2^-53 ∈ (0, 1), so the log is finite. The radius is computed in
        # float64 (the tail is what privacy depends on); cos/sin in float32 — the precision
        # the noise is added in — like Opacus' secure mode, which works in float32 throughout.
        w = (self._words(4 * n) >> np.uint64(11)).view(np.int64)
        u = torch.from_numpy(w.astype(np.float64))
        r = u[: 2 * n].add_(0.5).mul_(_U53).log_().mul_(-2.0).sqrt_()
        theta = u[2 * n :].mul_(_U53 * _TWO_PI).to(torch.float32)
        z = torch.cos(theta).mul_(r)  # float64 (type promotion)
        z.add_(theta.sin_().to(torch.float64).mul_(r))
        return z[:n].add_(z[n:]).mul_(0.5)

    def gaussian(self, shape: tuple[int, ...], std: float, dtype: torch.dtype) -> torch.Tensor:
        n = math.prod(shape)
        if n == 0:
            return torch.zeros(shape, dtype=dtype)
        return self.mitigated_normal(n).mul_(float(std)).to(dtype).reshape(shape)


class SeededNoise:
    """Reproducible noise from a seeded ``torch.Generator``: for tests only. Its draws can be
    recomputed from the seed, so a run using it has no privacy guarantee (ε = ∞)."""

    secure = False

    def __init__(self, seed: int | None = None, generator: torch.Generator | None = None):
        if generator is None:
            generator = torch.Generator()
            generator.manual_seed(int(seed or 0))
        self.generator = generator

    def __repr__(self) -> str:
        return "SeededNoise(reproducible, not private)"

    def gaussian(self, shape: tuple[int, ...], std: float, dtype: torch.dtype) -> torch.Tensor:
        return torch.normal(0.0, float(std), size=shape, generator=self.generator, dtype=dtype)

    def standard_normal(self, n: int) -> np.ndarray:
        return torch.randn(n, generator=self.generator, dtype=torch.float64).numpy()


def default_source() -> SecureNoise:
    """A fresh secure noise source (new random key)."""
    return SecureNoise()


def gaussian(
    shape: tuple[int, ...] | torch.Size,
    std: float,
    *,
    source: NoiseSource | torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """N(0, std²) noise of ``shape`` from ``source`` (default: a fresh :class:`SecureNoise`).

    A ``torch.Generator`` is accepted as a :class:`SeededNoise` (reproducible, not private)."""
    if isinstance(source, torch.Generator):
        source = SeededNoise(generator=source)
    src = source if source is not None else default_source()
    return src.gaussian(tuple(shape), float(std), dtype)
