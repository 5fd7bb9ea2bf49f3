"""DP-SGD step cost against a non-private step, measured side by side (CPU time, one thread).

    .venv/bin/python benchmarks/dp_step_cost.py                  # 50 rounds, batch 1024
    .venv/bin/python benchmarks/dp_step_cost.py --rounds 30 --no-hooks   # quick

Adult (UCI) encoded with the declared public schema, the default MLP, ``torch.set_num_threads(1)``.
Each round draws one batch (``--batch`` rows, fixed seed) and runs one optimizer step of every
method on that same batch, in a rotating order (interleaved), each on its own copy of the model:

- non-private: forward, mean cross-entropy, backward, Adam step;
- fast:        privtrain's book-keeping clipping (one forward + one backward, per-sample norms
               from layer inputs and output gradients, clipped sum as one matmul per layer),
               Gaussian noise, Adam step;
- ghost:       Opacus ``grad_sample_mode="ghost"`` (two backward passes), noise, Adam step;
- hooks:       Opacus ``grad_sample_mode="hooks"`` (materialised per-sample gradients).

It reports the median ``time.process_time()`` per step of each method over the timed rounds
(after ``--warmup`` untimed rounds) and the ratio against the non-private step. The goal for the
fast path is <= 1.5x.
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

from privtrain.dp import MLP, BookkeepingClipper, TrainConfig, adult_feature_spec
from privtrain.dp._models import _opacus

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

    m_f = copy.deepcopy(base)
    o_f = torch.optim.Adam(m_f.parameters(), lr=lr)
    clipper = BookkeepingClipper(m_f, clip)
    g = torch.Generator().manual_seed(0)

    def fast(x: torch.Tensor, y: torch.Tensor) -> None:
        o_f.zero_grad(set_to_none=True)
        clipper.accumulate(x, y)
        clipper.finalize(sigma, batch, g)
        o_f.step()

    out["fast"] = fast

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

        def step(x: torch.Tensor, y: torch.Tensor) -> None:
            dp_opt.zero_grad()
            crit(model(x), y).backward()
            dp_opt.step()

        return step

    out["ghost"] = opacus_step("ghost")
    if hooks:
        out["hooks"] = opacus_step("hooks")
    return out


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
    result = {
        "batch": args.batch,
        "rounds": args.rounds,
        "threads": torch.get_num_threads(),
        "model": f"MLP {x_all.shape[1]}-{'-'.join(map(str, cfg.hidden))}-2",
        "median_cpu_ms": {k: round(v * 1e3, 3) for k, v in med.items()},
        "ratio_vs_nonprivate": {k: round(v / base_t, 3) for k, v in med.items()},
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
        goal = med["fast"] / base_t <= 1.5
        print(f"fast path goal <= 1.5x: {'met' if goal else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
