"""DP-SGD step cost against a non-private step, measured side by side (CPU time, one thread).

    .venv/bin/python benchmarks/dp_step_cost.py                  # 50 rounds, batch 1024
    .venv/bin/python benchmarks/dp_step_cost.py --rounds 30 --no-hooks   # quick

Adult (UCI) encoded with the declared public schema, the default MLP, ``torch.set_num_threads(1)``.
Each round draws one batch (``--batch`` rows, fixed seed) and runs one optimizer step of every
method on that same batch, in a rotating order (interleaved), each on its own copy of the model:

- non-private: forward, mean cross-entropy, backward, Adam step;
- fast:        privtrain's book-keeping clipping (one forward + one backward, per-sample norms
               from layer inputs and output gradients, clipped sum as one matmul per layer),
               Gaussian noise from the CSPRNG (``SecureNoise``: AES-256-CTR keystream,
               Box-Muller, sum of 4 samples / 2 against floating-point attacks), Adam step —
               what training runs;
- fast-mt:     the same with noise from torch's Mersenne Twister (one ``torch.normal`` per
               value, no mitigation): the previous default, shown to price the CSPRNG;
- ghost:       Opacus ``grad_sample_mode="ghost"`` (two backward passes), CSPRNG noise, Adam;
- hooks:       Opacus ``grad_sample_mode="hooks"`` (materialised per-sample gradients).

It also times the noise alone (CSPRNG vs torch MT) for the model's parameter count. It reports
the median ``time.process_time()`` per step of each method over the timed rounds (after
``--warmup`` untimed rounds) and the ratio against the non-private step. The goal for the fast
path (with the CSPRNG) is <= 1.3x.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from privtrain.dp import MLP, BookkeepingClipper, SecureNoise, TrainConfig, adult_feature_spec
from privtrain.dp._models import _opacus
from privtrain.dp._trainer import _secure_add_noise

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "adult"


def _load(data_dir: Path) -> tuple[torch.Tensor, torch.Tensor]:
    df = pd.read_csv(data_dir / "adult.data.csv")
    spec = adult_feature_spec()
    return torch.from_numpy(spec.encode(df)), torch.from_numpy(spec.encode_target(df, "class"))


def _methods(
    base: nn.Module, batch: int, sigma: float, clip: float, lr: float, hooks: bool
) -> dict[str, Callable[[torch.Tensor, torch.Tensor], None]]:
    _opacus()
    from opacus import PrivacyEngine

    out: dict[str, Callable[[torch.Tensor, torch.Tensor], None]] = {}

    m_np = copy.deepcopy(base)
    o_np = torch.optim.Adam(m_np.parameters(), lr=lr)

    def nonprivate(x: torch.Tensor, y: torch.Tensor) -> None:
        o_np.zero_grad(set_to_none=True)
        F.cross_entropy(m_np(x), y).backward()
        o_np.step()

    out["non-private"] = nonprivate

    noise = SecureNoise()

    Step = Callable[[torch.Tensor, torch.Tensor], None]

    def fast_with(source: SecureNoise | torch.Generator) -> Step:
        m_f = copy.deepcopy(base)
        o_f = torch.optim.Adam(m_f.parameters(), lr=lr)
        clipper = BookkeepingClipper(m_f, clip)

        def fast(x: torch.Tensor, y: torch.Tensor) -> None:
            o_f.zero_grad(set_to_none=True)
            clipper.accumulate(x, y)
            clipper.finalize(sigma, batch, source)
            o_f.step()

        return fast

    out["fast"] = fast_with(noise)
    out["fast-mt"] = fast_with(torch.Generator().manual_seed(0))

    def opacus_step(mode: str) -> Callable[[torch.Tensor, torch.Tensor], None]:
        m = copy.deepcopy(base)
        o = torch.optim.Adam(m.parameters(), lr=lr)
        dummy = torch.utils.data.TensorDataset(torch.zeros(batch, 1), torch.zeros(batch))
        dl = torch.utils.data.DataLoader(dummy, batch_size=batch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            engine = PrivacyEngine()
            res = engine.make_private(
                module=m,
                optimizer=o,
                data_loader=dl,
                criterion=nn.CrossEntropyLoss(),
                noise_multiplier=sigma,
                max_grad_norm=clip,
                poisson_sampling=False,
                grad_sample_mode=mode,
                noise_generator=torch.Generator().manual_seed(1),
            )
        if mode == "ghost":
            model, dp_opt, crit, _ = res
        else:
            model, dp_opt, _ = res
            crit = nn.CrossEntropyLoss()
        _secure_add_noise(dp_opt, noise)  # as training does

        def step(x: torch.Tensor, y: torch.Tensor) -> None:
            dp_opt.zero_grad()
            crit(model(x), y).backward()
            dp_opt.step()

        return step

    out["ghost"] = opacus_step("ghost")
    if hooks:
        out["hooks"] = opacus_step("hooks")
    return out


def _noise_cost(n: int, rounds: int) -> dict[str, float]:
    """Median CPU ms to draw ``n`` noise values: CSPRNG (mitigated) vs torch's generator."""
    src, g = SecureNoise(), torch.Generator().manual_seed(0)
    fns = {
        "csprng": lambda: src.gaussian((n,), 1.0, torch.float32),
        "torch-mt": lambda: torch.normal(0.0, 1.0, size=(n,), generator=g),
    }
    out: dict[str, list[float]] = {k: [] for k in fns}
    for r in range(rounds + 5):
        for k, f in fns.items():
            t0 = time.process_time()
            f()
            if r >= 5:
                out[k].append(time.process_time() - t0)
    return {k: round(statistics.median(v) * 1e3, 3) for k, v in out.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="directory of adult.data.csv")
    ap.add_argument("--rounds", type=int, default=50, help="timed rounds (>= 30)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--batch", type=int, default=TrainConfig(epsilon=1.0).batch_size)
    ap.add_argument("--no-hooks", action="store_true", help="skip Opacus hooks mode (slow)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = ap.parse_args(argv)
    if args.rounds < 30:
        ap.error("--rounds must be >= 30")
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")  # Opacus/PyTorch user warnings, not measurements
    torch.set_num_threads(1)
    x_all, y_all = _load(args.data)
    cfg = TrainConfig(epsilon=1.0)
    torch.manual_seed(0)
    base = MLP(x_all.shape[1], 2, cfg.hidden)
    methods = _methods(base, args.batch, 1.0, cfg.max_grad_norm, cfg.lr, not args.no_hooks)
    names = list(methods)
    times: dict[str, list[float]] = {k: [] for k in names}
    gen = torch.Generator().manual_seed(1234)
    for r in range(args.warmup + args.rounds):
        idx = torch.randint(0, len(x_all), (args.batch,), generator=gen)
        x, y = x_all[idx], y_all[idx]
        k = r % len(names)
        for name in names[k:] + names[:k]:
            t0 = time.process_time()
            methods[name](x, y)
            dt = time.process_time() - t0
            if r >= args.warmup:
                times[name].append(dt)
    med = {k: statistics.median(v) for k, v in times.items()}
    base_t = med["non-private"]
    n_params = sum(p.numel() for p in base.parameters())
    noise_ms = _noise_cost(n_params, args.rounds)
    result = {
        "batch": args.batch,
        "rounds": args.rounds,
        "threads": torch.get_num_threads(),
        "model": f"MLP {x_all.shape[1]}-{'-'.join(map(str, cfg.hidden))}-2",
        "median_cpu_ms": {k: round(v * 1e3, 3) for k, v in med.items()},
        "ratio_vs_nonprivate": {k: round(v / base_t, 3) for k, v in med.items()},
        "parameters": n_params,
        "noise_only_median_cpu_ms": noise_ms,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"DP step cost, Adult, {result['model']}, batch {args.batch}, 1 thread, "
            f"median of {args.rounds} interleaved steps (CPU time)"
        )
        print(f"{'method':<12} {'ms/step':>10} {'x non-private':>14}")
        for k in names:
            print(f"{k:<12} {med[k] * 1e3:>10.3f} {med[k] / base_t:>14.2f}")
        print(
            f"noise alone for {n_params} values: CSPRNG {noise_ms['csprng']:.3f} ms, "
            f"torch MT {noise_ms['torch-mt']:.3f} ms"
        )
        goal = med["fast"] / base_t <= 1.3
        print(f"fast path (CSPRNG) goal <= 1.3x: {'met' if goal else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
