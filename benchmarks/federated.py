"""Federated rounds: HE and SecAgg+ against plaintext FedAvg, side by side.

Part ``crypto`` (in one process, no Flower processes): one round of 3 sites at ~120k and ~1M
parameters — each site runs k local DP-SGD steps (``privtrain.dp._local``) from the same
global weights; plaintext FedAvg averages the updates, HE encrypts each site's packed weighted
update (CKKS), adds the ciphertexts under the public context and decrypts the sum at a site;
SecAgg+ runs Flower's own workflow and ``secaggplus_mod`` on the same updates, messages
serialized as on the wire (``federated.inprocess``). Prints the round wall-time ratios HE /
plaintext and SecAgg+ / plaintext (the protocol's compute, without the Deployment Engine's
message latency: that is part ``deploy``), the bytes a site sends as a multiple of its fp32
update, and each aggregate's error against plaintext.

Part ``deploy``: the same small job on the Deployment Engine (``fed local``: real SuperLink and
SuperNode processes on 127.0.0.1, ClientApps forked from the warm launcher unless ``--cold``),
with ``none``, ``he`` and ``secagg+``: mean round seconds and the ratio against ``none``.

    .venv/bin/python benchmarks/federated.py --part crypto
    .venv/bin/python benchmarks/federated.py --part deploy --rounds 2
    .venv/bin/python benchmarks/federated.py --part deploy --rounds 2 --hidden 1024,896
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ADULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "adult" / "adult.data.csv"
SIZES = {"120k": [512, 128], "1M": [1024, 896]}


def _table(rows: int):  # noqa: ANN202
    import pyarrow.csv as pacsv

    return pacsv.read_csv(os.environ.get("ADULT_CSV", ADULT)).slice(0, rows)


def crypto(rows: int, steps: int, repeats: int) -> list[dict]:
    from federated import he
    from privtrain.dp import TrainConfig, adult_feature_spec
    from privtrain.dp._local import initial_weights, train_local_steps

    spec = adult_feature_spec()
    table = _table(rows)
    parts = [table.slice(i * rows // 3, rows // 3) for i in range(3)]
    secret = he.new_secret_context()
    public = he.load_public(he.public_bytes(secret))
    out = []
    for label, hidden in SIZES.items():
        cfg = TrainConfig(
            epsilon=1.0, batch_size=256, hidden=hidden, validation_fraction=0.0, threads=1
        )
        w0 = initial_weights(spec.n_features, cfg, 2)
        n = sum(v.size for v in w0.values())
        t_plain, t_he, err, sent, parts_s = [], [], [], 0, []
        t_sa: list[float] = []
        err_sa: list[float] = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            ups = [
                train_local_steps(
                    p,
                    target="class",
                    features=spec,
                    config=cfg,
                    weights=w0,
                    steps=steps,
                    noise_multiplier=1.0,
                ).weights
                for p in parts
            ]
            t_train = time.perf_counter() - t0
            t1 = time.perf_counter()
            avg = {k: np.mean([u[k].astype(np.float64) for u in ups], axis=0) for k in w0}
            t_avg = time.perf_counter() - t1
            # Sites train and encrypt in parallel; the critical path of a round is one site's
            # training + one site's encryption + the server's addition + one decryption.
            t2 = time.perf_counter()
            enc = [he.encrypt(secret, he.pack(u, 1.0)) for u in ups]
            t_enc = (time.perf_counter() - t2) / 3
            t3 = time.perf_counter()
            total = he.add(public, enc)
            t_add = time.perf_counter() - t3
            t4 = time.perf_counter()
            got = he.unpack(he.decrypt(secret, total, n + 1), w0)
            t_dec = time.perf_counter() - t4
            t_plain.append(t_train / 3 + t_avg)
            t_he.append(t_train / 3 + t_enc + t_add + t_dec)
            sa_s, sa_got, sa_sent = _secagg_round([[u[k] for k in w0] for u in ups])
            t_sa.append(t_train / 3 + sa_s)
            err_sa.append(
                max(
                    float(np.max(np.abs(g - avg[k])) / np.max(np.abs(avg[k])))
                    for g, k in zip(sa_got, w0, strict=True)
                )
            )
            parts_s.append((t_train / 3, t_enc, t_add, t_dec))
            sent = sum(len(c) for c in enc[0])
            err.append(
                max(float(np.max(np.abs(got[k] - avg[k])) / np.max(np.abs(avg[k]))) for k in w0)
            )
        row = {
            "model": label,
            "parameters": n,
            "plain_round_s": round(float(np.median(t_plain)), 3),
            "he_round_s": round(float(np.median(t_he)), 3),
            "he_vs_plain": round(float(np.median(t_he) / np.median(t_plain)), 2),
            "he_bytes_vs_fp32": round(sent / (4 * n), 2),
            "he_rel_error": float(max(err)),
            # median seconds of one site's training, one site's encryption, the server's
            # addition and one decryption
            "train_enc_add_dec_s": [round(float(np.median(x)), 3) for x in np.array(parts_s).T],
            "secagg_round_s": round(float(np.median(t_sa)), 3),
            "secagg_vs_plain": round(float(np.median(t_sa) / np.median(t_plain)), 2),
            "secagg_bytes_vs_fp32": round(sa_sent / (4 * n), 2),
            "secagg_rel_error": float(max(err_sa)),
        }
        print(json.dumps(row), flush=True)
        out.append(row)
    return out


def _secagg_round(updates: list[list[np.ndarray]]) -> tuple[float, list[np.ndarray], int]:
    """One SecAgg+ round of Flower's workflow (as the ServerApp configures it: 3 shares,
    threshold 2, clipping range 8) and ``secaggplus_mod`` over the sites' trained weights, in
    one process (``federated.inprocess``). Returns (critical-path seconds, aggregate, bytes
    one site sends in the round): sites run in parallel, so per stage the slowest site's
    share of the work counts, plus all of the server's."""
    import logging

    from flwr.app import Context, Message, RecordDict
    from flwr.client.mod import secaggplus_mod
    from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS, Key
    from flwr.common.serde import message_to_proto
    from flwr.supercore.task_identity import TaskIdentity

    from federated.inprocess import InProcessGrid, fit_reply, run_round, wire
    from federated.secagg import DropoutTolerantSecAggPlus

    TaskIdentity.task_id, TaskIdentity.run_id, TaskIdentity.node_id = 1, 1, 0
    ids = [101, 202, 303]
    ctx = {nid: Context(1, nid, {}, RecordDict(), {}) for nid in ids}
    site_s: dict[tuple[str, int], float] = {}
    sent: dict[int, int] = {}
    logging.getLogger("flwr").setLevel(logging.ERROR)

    def deliver(msg: Message) -> Message:
        nid = msg.metadata.dst_node_id
        stage = str(msg.content.config_records[RECORD_KEY_CONFIGS][Key.STAGE])
        t0 = time.perf_counter()
        reply = wire(secaggplus_mod(wire(msg), ctx[nid], fit_reply(updates[ids.index(nid)], 1)))
        site_s[stage, nid] = site_s.get((stage, nid), 0.0) + time.perf_counter() - t0
        sent[nid] = sent.get(nid, 0) + message_to_proto(reply).ByteSize()
        return reply

    wf = DropoutTolerantSecAggPlus(3, 2, clipping_range=8.0, max_weight=1.0)
    t0 = time.perf_counter()
    got, _ = run_round(wf, InProcessGrid(deliver), ids, [np.zeros_like(a) for a in updates[0]])
    total = time.perf_counter() - t0
    assert got is not None
    stages = {st for st, _ in site_s}
    slowest = sum(max(v for (st, _), v in site_s.items() if st == s) for s in stages)
    return total - sum(site_s.values()) + slowest, got, max(sent.values())


def deploy(
    rounds: int, steps: int, rows: int, aggs: list[str], warm: bool, hidden: str = "64"
) -> list[dict]:
    from federated.local import LocalFederation, LocalOptions
    from privtrain import datasets
    from privtrain.config import load_settings
    from privtrain.workspace import Workspace

    pw = "bench-passphrase"
    out = []
    with tempfile.TemporaryDirectory() as d:
        csv = Path(d) / "adult.csv"
        with open(os.environ.get("ADULT_CSV", ADULT)) as src:
            csv.write_text("".join(next(src) for _ in range(rows + 1)))
        ws = Workspace.init(load_settings(home=f"{d}/coord"), pw)
        datasets.import_file(ws, csv, "adult", sensitivity="deidentified")
        pol = Path(d) / "open.yaml"
        pol.write_text("aggregation: [none, he, secagg+]\nmin_sites: 1\n")
        base = None
        for agg in aggs:
            opts = LocalOptions(
                dataset="adult",
                workdir=Path(d) / f"w-{agg}",
                sites=3,
                aggregation=agg,
                rounds=rounds,
                local_steps=steps,
                epsilon=1.0,
                site_policy=pol,
                hidden=hidden,
                reply_timeout=600,
                timeout=3600,
                warm=warm,
            )
            t0 = time.perf_counter()
            s = LocalFederation(ws, opts, pw).run()
            wall = time.perf_counter() - t0
            rs = s.get("round_seconds") or []
            mean = float(np.mean(rs)) if rs else float("nan")
            base = mean if agg == "none" else base
            row = {
                "aggregation": agg,
                "clientapp": "warm" if warm else "cold",
                "hidden": hidden,
                "status": s.get("status"),
                "rounds": len(rs),
                "round_s": round(mean, 2),
                "vs_none": round(mean / base, 2) if base else None,
                "job_wall_s": round(wall, 1),
                "bytes_received": s.get("bytes_received"),
            }
            print(json.dumps(row), flush=True)
            out.append(row)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", choices=["crypto", "deploy"], default="crypto")
    ap.add_argument("--rows", type=int, default=6000)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--aggregations", default="none,he,secagg+")
    ap.add_argument(
        "--cold", action="store_true", help="no warm launcher: a fresh process per message"
    )
    ap.add_argument(
        "--hidden",
        default="64",
        help="deploy: hidden layer widths, e.g. 64 (7k parameters), 512,128 (124k), 1024,896 (1M)",
    )
    a = ap.parse_args()
    if a.part == "crypto":
        crypto(a.rows, a.steps, a.repeats)
    else:
        deploy(
            a.rounds, a.steps, min(a.rows, 3000), a.aggregations.split(","), not a.cold, a.hidden
        )


if __name__ == "__main__":
    main()
