"""Cost of authenticating the catalog and the audit log, measured side by side.

    .venv/bin/python benchmarks/integrity_overhead.py              # 400 appends, 200 reads
    .venv/bin/python benchmarks/integrity_overhead.py --n 100      # quick

Two SQLite catalogs in one temp directory, same machine, same run, operations interleaved:

- append:  ``AuditLog.append`` (own durable transaction). Baseline: the hash chain alone (no
           event MAC, catalog without a sealer, as before). Authenticated: event MAC + the
           sealed audit head (what every home does now).
- get:     ``datasets.get(ws, NAME)`` on a name with 3 versions. Baseline: the same workspace
           with its sealer detached (plain query). Authenticated: every version loaded and
           MAC-checked, the group compared with its sealed head and the root.
- status:  ``Ledger.status`` of a dataset with 4 runs (a stand-in accountant, so the figure is
           the catalog work, not the accountant's). Baseline vs authenticated as for ``get``.

Reports p50 and p99 in milliseconds and the ratio authenticated / baseline of each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=400, help="appends (reads: n/2)")
    args = ap.parse_args()
    os.environ.setdefault("PRIVTRAIN_KDF_PROFILE", "fast")

    import privtrain.ledger as ledger_mod
    from privtrain import datasets
    from privtrain.access.auditlog import AuditLog
    from privtrain.catalog import Catalog
    from privtrain.config import Settings
    from privtrain.ledger import DatasetRef, Ledger
    from privtrain.workspace import Workspace

    ledger_mod.compose = lambda h, d, a="prv": float(len(h))  # type: ignore[assignment]

    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        ws = Workspace.init(Settings(home=t / "home", identity="bench"), "benchmark passphrase")
        plain_cat = Catalog(f"sqlite:///{t / 'plain.db'}")
        plain_cat.upgrade()
        plain = AuditLog(plain_cat, ws.keys.signing_key("audit"))
        src = t / "a.csv"
        src.write_text("a,b\n1,2\n")
        infos = [datasets.import_file(ws, src, "adult") for _ in range(3)]
        led = Ledger(ws.catalog, identity="bench")
        led.set_budget("adult", 100.0, 1e-5)
        for _ in range(4):
            r = led.reserve([DatasetRef("adult", infos[-1].id, 3)], [(1.0, 0.01, 10)], delta=1e-5)
            led.commit(r.run_id, [(1.0, 0.01, 10)])
        sealer = ws.catalog.sealer

        def timed(fn: Callable[[], object]) -> float:
            t0 = time.perf_counter()
            fn()
            return time.perf_counter() - t0

        rows = []
        n = args.n
        base: list[float] = []
        auth: list[float] = []
        for i in range(n):
            kw = {"actor": "bench", "action": "dataset.read", "resource": f"dataset:d{i}@v1"}
            base.append(timed(lambda kw=kw: plain.append(**kw)))
            auth.append(timed(lambda kw=kw: ws.audit.append(**kw)))
        rows.append(("append (durable)", base, auth))
        for name, op in (
            ("datasets.get", lambda: datasets.get(ws, "adult")),
            ("ledger.status", lambda: led.status("adult")),
        ):
            base, auth = [], []
            for _ in range(max(n // 2, 10)):
                ws.catalog.attach_sealer(None)
                base.append(timed(op))
                ws.catalog.attach_sealer(sealer)
                auth.append(timed(op))
            rows.append((name, base, auth))
        print(f"{'operation':<18} {'base p50':>9} {'base p99':>9} {'auth p50':>9} "
              f"{'auth p99':>9} {'p50 ratio':>9} {'p99 ratio':>9}")  # fmt: skip
        for name, b, a in rows:
            print(
                f"{name:<18} {_pct(b, 0.5):9.3f} {_pct(b, 0.99):9.3f} {_pct(a, 0.5):9.3f} "
                f"{_pct(a, 0.99):9.3f} {_pct(a, 0.5) / _pct(b, 0.5):9.2f} "
                f"{_pct(a, 0.99) / _pct(b, 0.99):9.2f}"
            )
        print(f"(ms; n={n} appends, {max(n // 2, 10)} reads; mean append "
              f"{statistics.mean(rows[0][2]) * 1000:.3f} ms authenticated)")  # fmt: skip
        plain_cat.close()
        ws.catalog.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
