"""Empirical privacy audit on UCI Adult: ε_lower vs the claimed ε at ε = 1, 4, 8.

One-run audit (Steinke, Nasr & Jagielski 2023) with 1,000 input-space canaries, the library's
default training settings (20 epochs, batch 1024, 256x256 MLP), every Adult training row plus the
canaries drawn "in". Side by side, the baseline: the same settings with the noise removed (the
accounting still claims ε = 1) — what this attack finds when there is no privacy, i.e. the
attack's ceiling on this setup. Reported: ε_lower, ε_lower / ε_claimed, and the baseline ratio.

    .venv/bin/python benchmarks/empirical_audit.py [--epsilons 1 4 8] [--canaries 1000]
        [--rows N] [--epochs E] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ADULT = Path(os.environ.get("ADULT_DIR", REPO.parent / "shared" / "data" / "adult"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epsilons", type=float, nargs="+", default=[1.0, 4.0, 8.0])
    ap.add_argument("--canaries", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=None, help="first N training rows (default all)")
    ap.add_argument("--epochs", type=float, default=None, help="default: the library's (20)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    import pyarrow.csv as pacsv

    from privtrain.dp import FeatureSpec, TrainConfig, _audit, _bookkeeping

    table = pacsv.read_csv(ADULT / "adult.data.csv")
    if args.rows:
        table = table.slice(0, args.rows)
    spec = FeatureSpec.from_yaml(REPO / "examples" / "adult_features.yaml")

    def run(eps: float, broken: bool) -> dict:
        fields: dict = {"epsilon": eps, "threads": args.threads}
        if args.epochs:
            fields["epochs"] = args.epochs
        cfg = TrainConfig(**fields)
        membership = _audit.draw_membership(args.canaries)
        real = _bookkeeping.BookkeepingClipper.finalize
        if broken:  # baseline only: noise removed while the accounting claims eps

            def no_noise(self, noise_multiplier, expected_batch_size, generator=None):  # noqa: ANN001
                return real(self, 0.0, expected_batch_size, generator)

            _bookkeeping.BookkeepingClipper.finalize = no_noise  # type: ignore[method-assign]
        try:
            t0 = time.perf_counter()
            res = _audit.run_audit(
                table, target="class", config=cfg, features=spec, membership=membership
            )
        finally:
            _bookkeeping.BookkeepingClipper.finalize = real  # type: ignore[method-assign]
        d = res.to_dict()
        d["wall_seconds"] = round(time.perf_counter() - t0, 1)
        d["baseline_noise_removed"] = broken
        print(
            f"{'noise removed' if broken else 'honest':14s} claimed ε={res.epsilon_claimed:5.2f} "
            f"ε_lower={res.epsilon_lower:6.3f} "
            f"ratio={res.epsilon_lower / res.epsilon_claimed:6.3f} "
            f"best r={res.best.r} v={res.best.v} ({d['wall_seconds']} s)",
            flush=True,
        )
        return d

    print(
        f"Adult rows={table.num_rows}, canaries={args.canaries}, "
        f"threads={args.threads}, confidence 95% (Bonferroni over the (k_in, k_out) grid)",
        flush=True,
    )
    rows = [run(e, broken=False) for e in args.epsilons]
    base = run(min(args.epsilons), broken=True)
    print("\n| claimed ε | ε_lower | ε_lower / ε | baseline (noise removed) ε_lower / claimed |")
    print("|---|---|---|---|")
    b = base["epsilon_lower"] / base["epsilon_claimed"]
    for d in rows:
        print(
            f"| {d['epsilon_claimed']:.2f} | {d['epsilon_lower']:.3f} | "
            f"{d['epsilon_lower'] / d['epsilon_claimed']:.3f} | {b:.3f} |"
        )
    if args.json:
        for d in [*rows, base]:
            d.pop("scores", None)
        args.json.write_text(json.dumps({"runs": rows, "baseline": base}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
