"""Access layer: decision latency (alone and with a durable audit append) and served download
throughput, each against a baseline measured side by side.

    .venv/bin/python benchmarks/access.py                       # 10,000 decisions, 64 MiB
    .venv/bin/python benchmarks/access.py --n 2000 --size-mib 16   # quick

One run builds a fresh home (SQLite) with >= 1,000 Cedar entities (datasets through
``datasets.import_file``, models through ``models.store`` with signed cards, principals through
``access.add_principal``) and a policy directory of the default policies plus generated
per-site policies (>= 50 in all), then measures:

- decision:           ``access.authorize(..., audit=False)`` on the cached cedarpy handles
                      (policies, schema, entities parsed once; each call still checks the
                      policy files' mtime and one catalog revision query);
- baseline:           the same requests through ``cedarpy.is_authorized`` with the policy
                      text, schema text and entity JSON parsed on every call (what an
                      uncached authorizer pays), on a sample of --baseline-n requests;
- decision + audit:   ``access.authorize(...)`` with its audit event appended in its own
                      committed write transaction (SQLite WAL; durable when the commit
                      returns, per the catalog's synchronous setting);
- served download:    ``privtrain get dataset`` (the client API) from a real ``privtrain serve``
                      (uvicorn on 127.0.0.1, decrypting server-side while streaming) vs
                      ``datasets.export`` of the same blob locally; median MB/s of --rounds,
                      interleaved.

Prints p50/p99 (ms) and the ratios, plus a JSON line. Exit status 0 unless something failed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import cedarpy

MiB = 1 << 20
PASS = "access benchmark passphrase"
REPO = Path(__file__).resolve().parents[1]


def _pct(xs: list[float], q: float) -> float:
    ys = sorted(xs)
    return ys[min(len(ys) - 1, int(round(q * (len(ys) - 1))))]


def _policies(dst: Path, sites: int) -> int:
    dst.mkdir(parents=True, exist_ok=True)
    base = (REPO / "policies" / "access.cedar").read_text()
    extra = []
    for i in range(sites):
        extra.append(
            f'@id("site-{i}-scientists-read-deidentified")\n'
            'permit (principal in Role::"data-scientist", action == Action::"dataset.read",'
            " resource is Dataset)\n"
            f'when {{ principal.site == "site-{i}" && resource.site == "site-{i}" &&'
            ' resource.sensitivity == "deidentified" };\n'
        )
        extra.append(
            f'@id("site-{i}-no-raw-export-over-http")\n'
            'forbid (principal, action == Action::"dataset.export", resource is Dataset)\n'
            f'when {{ resource.site == "site-{i}" && resource.sensitivity == "raw" &&'
            ' context.via == "http" } unless { principal is Custodian };\n'
        )
    (dst / "access.cedar").write_text(base + "\n" + "\n".join(extra))
    (dst / "access.cedarschema").write_text((REPO / "policies" / "access.cedarschema").read_text())
    from privtrain.access._authorizer import policy_ids

    return len(policy_ids((dst / "access.cedar").read_text()))


def _build(root: Path, n_datasets: int, n_models: int, n_principals: int, sites: int):  # noqa: ANN202
    from privtrain import access, datasets, models
    from privtrain.config import load_settings
    from privtrain.workspace import Workspace

    ws = Workspace.init(load_settings(home=str(root / "home"), identity="custodian"), PASS)
    src = root / "tiny.csv"
    src.write_text("id,x\n1,2\n")
    t = time.perf_counter()
    for i in range(n_datasets):
        sens = "raw" if i % 4 == 0 else "deidentified"
        datasets.import_file(ws, src, f"d{i}", sensitivity=sens, site=f"site-{i % sites}")
    for i in range(n_models):
        eps = [0.5, 1.0, 3.0, 8.0, 20.0, None][i % 6]
        d = f"d{(i * 7) % n_datasets}"
        pred = {
            "privacy": {
                "non_private": eps is None,
                "epsilon": eps,
                "delta": None if eps is None else 1e-5,
                "accountant": None if eps is None else "prv",
            },
            "datasets": [{"name": d, "version": 1}],
        }
        models.store(
            ws,
            f"m{i}",
            os.urandom(256),
            predicate=pred,
            datasets=pred["datasets"],
            train_config={},
            epsilon=eps,
            delta=pred["privacy"]["delta"],
            accountant=pred["privacy"]["accountant"],
        )
    roles = ["data-scientist"] * 6 + ["privacy-officer", "admin", "trainer", "ingestion"]
    for i in range(n_principals):
        access.add_principal(ws, f"p{i}", roles=[roles[i % len(roles)]], site=f"site-{i % sites}")
    return ws, time.perf_counter() - t


def _requests(n: int, n_datasets: int, n_models: int, n_principals: int) -> list[tuple]:
    rnd = random.Random(7)
    out = []
    for _ in range(n):
        p = f"p{rnd.randrange(n_principals)}"
        if rnd.random() < 0.7:
            a = rnd.choice(["dataset.read", "dataset.export", "dataset.show"])
            r = f"dataset:d{rnd.randrange(n_datasets)}@v1"
        else:
            a = rnd.choice(["model.export", "model.show"])
            r = f"model:m{rnd.randrange(n_models)}@v1"
        out.append((p, a, r))
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _download_bench(ws, root: Path, size_mib: int, rounds: int) -> dict:  # noqa: ANN001
    import httpx

    from privtrain import access, datasets
    from privtrain.access.client import fetch

    big = root / "big.bin"
    with open(big, "wb") as f:
        for _ in range(size_mib):
            f.write(os.urandom(MiB))
    access.add_principal(ws, "bench-reader", roles=["data-scientist"], site="bench")
    datasets.import_file(ws, big, "big", sensitivity="deidentified", site="bench")
    big.unlink()
    token = access.issue_token(ws, "bench-reader", ttl=timedelta(hours=2)).token
    port = _free_port()
    env = dict(
        os.environ,
        PRIVTRAIN_HOME=str(ws.settings.home),
        PRIVTRAIN_PASSPHRASE=PASS,
        PRIVTRAIN_IDENTITY="custodian",
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "privtrain", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        local, served = [], []
        size = size_mib * MiB
        for i in range(rounds):
            order = ["local", "served"] if i % 2 == 0 else ["served", "local"]
            for what in order:
                out = root / f"out-{what}.bin"
                os.sync()
                t = time.perf_counter()
                if what == "local":
                    datasets.export(ws, "big", out)
                else:
                    fetch(url, "dataset", "big", out, token=token)
                dt = time.perf_counter() - t
                assert out.stat().st_size == size
                out.unlink()
                (local if what == "local" else served).append(size / dt / 1e6)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    lm, sm = statistics.median(local), statistics.median(served)
    return {"local_MBps": lm, "served_MBps": sm, "ratio": sm / lm, "size_mib": size_mib}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="requests per latency measurement")
    ap.add_argument("--baseline-n", type=int, default=200, help="requests for the baseline")
    ap.add_argument("--datasets", type=int, default=400)
    ap.add_argument("--models", type=int, default=120)
    ap.add_argument("--principals", type=int, default=500)
    ap.add_argument("--sites", type=int, default=20, help="generated policies: 2 per site")
    ap.add_argument("--size-mib", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", default=None, help="scratch directory (default: system temp)")
    ap.add_argument(
        "--download-only", action="store_true", help="only the served-download measurement"
    )
    args = ap.parse_args()

    os.environ.setdefault("PRIVTRAIN_KDF_PROFILE", "fast")
    root = Path(tempfile.mkdtemp(prefix="privtrain-access-bench-", dir=args.dir))
    pol_dir = root / "policies"
    n_policies = _policies(pol_dir, args.sites)
    os.environ["PRIVTRAIN_POLICY_DIR"] = str(pol_dir)

    from privtrain import access

    if args.download_only:
        ws, _ = _build(root, 1, 0, 0, 1)
        dl = _download_bench(ws, root, args.size_mib, args.rounds)
        print(
            f"download {dl['size_mib']} MiB: local decrypt {dl['local_MBps']:.0f} MB/s, served "
            f"{dl['served_MBps']:.0f} MB/s -> served/local {dl['ratio']:.2f} (goal >= 0.5; "
            f"load avg {os.getloadavg()[0]:.1f})"
        )
        return 0
    ws, build_s = _build(root, args.datasets, args.models, args.principals, args.sites)
    st = access.authorizer_for(ws).state(ws)
    print(
        f"home: {st.n_entities} entities, {st.n_policies} policies "
        f"(built in {build_s:.0f} s); {args.n} requests per measurement",
        flush=True,
    )
    assert st.n_entities >= 1000 and n_policies >= 50

    reqs = _requests(args.n, args.datasets, args.models, args.principals)
    # warm-up
    for p, a, r in reqs[:200]:
        access.authorize(ws, p, a, r, audit=False, raise_on_deny=False)

    cpu: dict[bool, list[float]] = {}

    def timed(audit: bool) -> tuple[list[float], int]:
        lat, cpu_ms, allowed = [], [], 0
        for p, a, r in reqs:
            c = time.thread_time_ns()
            t = time.perf_counter_ns()
            d = access.authorize(ws, p, a, r, audit=audit, raise_on_deny=False)
            lat.append((time.perf_counter_ns() - t) / 1e6)
            cpu_ms.append((time.thread_time_ns() - c) / 1e6)
            allowed += d.allowed
        cpu[audit] = cpu_ms
        return lat, allowed

    dec, allowed = timed(False)
    print(
        f"decision:          p50 {_pct(dec, 0.5):.3f} ms  p99 {_pct(dec, 0.99):.3f} ms wall; "
        f"CPU p50 {_pct(cpu[False], 0.5):.3f} p99 {_pct(cpu[False], 0.99):.3f} ms "
        f"({allowed} of {len(reqs)} allowed; load avg {os.getloadavg()[0]:.1f})",
        flush=True,
    )

    # Baseline: parse policies, schema and the same entities on every call.
    pol_text = (pol_dir / "access.cedar").read_text()
    sch_text = (pol_dir / "access.cedarschema").read_text()
    ents_json = access.authorizer_for(ws).state(ws).entities_json
    base = []
    for p, act, r in reqs[: args.baseline_n]:
        kind, _, ref = r.partition(":")
        req = {
            "principal": {"type": "Principal", "id": p},
            "action": {"type": "Action", "id": act},
            "resource": {"type": "Dataset" if kind == "dataset" else "Model", "id": ref},
            "context": {"via": "local"},
        }
        t = time.perf_counter_ns()
        cedarpy.is_authorized(req, pol_text, ents_json, sch_text)
        base.append((time.perf_counter_ns() - t) / 1e6)
    print(
        f"baseline (parse per call, {len(base)} requests): p50 {_pct(base, 0.5):.3f} ms  "
        f"p99 {_pct(base, 0.99):.3f} ms  -> cached is "
        f"{_pct(base, 0.5) / _pct(dec, 0.5):.0f}x faster at p50",
        flush=True,
    )

    head0, _ = ws.audit.head()
    aud, _ = timed(True)
    head1, _ = ws.audit.head()
    assert head1 - head0 == len(reqs)
    print(
        f"decision + audit:  p50 {_pct(aud, 0.5):.3f} ms  p99 {_pct(aud, 0.99):.3f} ms wall; "
        f"CPU p50 {_pct(cpu[True], 0.5):.3f} p99 {_pct(cpu[True], 0.99):.3f} ms "
        f"({head1 - head0} events appended; audit share of p50 "
        f"{(_pct(aud, 0.5) - _pct(dec, 0.5)) / _pct(aud, 0.5):.0%})",
        flush=True,
    )
    t = time.perf_counter()
    rep = ws.audit.verify()
    print(f"audit verify: ok={rep.ok} ({rep.events} events, {time.perf_counter() - t:.1f} s)")

    dl = _download_bench(ws, root, args.size_mib, args.rounds)
    print(
        f"download {dl['size_mib']} MiB: local decrypt {dl['local_MBps']:.0f} MB/s, served "
        f"{dl['served_MBps']:.0f} MB/s -> served/local {dl['ratio']:.2f} (goal >= 0.5)",
        flush=True,
    )
    print(
        json.dumps(
            {
                "entities": st.n_entities,
                "policies": st.n_policies,
                "n": len(reqs),
                "decision_ms": {"p50": _pct(dec, 0.5), "p99": _pct(dec, 0.99)},
                "decision_cpu_ms": {"p50": _pct(cpu[False], 0.5), "p99": _pct(cpu[False], 0.99)},
                "audit_cpu_ms": {"p50": _pct(cpu[True], 0.5), "p99": _pct(cpu[True], 0.99)},
                "baseline_ms": {"p50": _pct(base, 0.5), "p99": _pct(base, 0.99)},
                "decision_audit_ms": {"p50": _pct(aud, 0.5), "p99": _pct(aud, 0.99)},
                "download": dl,
                "load_avg": os.getloadavg()[0],
            }
        )
    )
    return 0


if __name__ == "__main__":
    _scratch = tempfile.mkdtemp(prefix="privtrain-access-bench-")
    tempfile.tempdir = _scratch  # every scratch directory of the run goes under this one
    try:
        sys.exit(main())
    finally:
        import shutil

        shutil.rmtree(_scratch, ignore_errors=True)
