"""The aggregator: a Flower ``ServerApp`` (Message API) with FedAvg semantics.

1. **Offer** the job to every connected site; each answers with its name and planned ε or
   refuses with a reason (reported by site name).
2. **Rounds**: send the global weights (``none``) or the encrypted aggregate (``he``) to the
   accepted sites, collect replies until the reply timeout, and aggregate the survivors when at
   least ``min-sites`` answered — otherwise end the job with the reason. ``none``: weighted
   average in the clear. ``he``: slot-wise sum of CKKS ciphertexts under the public context
   (the server never holds the secret key). ``secagg+``: Flower's ``SecAggPlusWorkflow``
   (secret-shared masks; the server learns only the sum; dropouts up to its threshold).
3. **Finish**: the sites commit their ledgers and report ε; with HE they return the decrypted
   final average. The final model is stored at the coordinating home (if one is configured)
   with a signed card naming every site's ε and the rounds.

Progress goes to the Flower log and, as JSON lines, to ``events-path``; the outcome as one JSON
object to ``summary-path`` (both optional).
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from logging import INFO, WARNING
from pathlib import Path
from typing import Any

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, RecordDict
from flwr.common.logger import log
from flwr.serverapp import Grid, ServerApp

from privtrain._io import atomic_write_text
from privtrain.errors import ConfigError, PrivtrainError

from .job import Job
from .waits import fast_object_pulls

app = ServerApp()
APP_DIR = Path(__file__).resolve().parent.parent
POLL = 0.1
PROFILE = os.environ.get("PRIVTRAIN_FED_PROFILE", "")  # a file: per-exchange timings


@dataclass
class SiteStatus:
    node_id: int
    name: str
    status: str = "offered"  # accepted | refused | trained | lost | failed
    reason: str = ""
    epsilon: float | None = None
    epsilon_planned: float | None = None
    dataset: str = ""
    ciphertext_sha256: str = ""
    rounds: list[int] = field(default_factory=list)
    history: list[list[float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "node_id": self.node_id,
            "status": self.status,
            "reason": self.reason,
            "epsilon": self.epsilon,
            "epsilon_planned": self.epsilon_planned,
            "dataset": self.dataset,
            "rounds": self.rounds,
        }


class Events:
    def __init__(self, path: str):
        self.path = Path(path) if path else None

    def __call__(self, event: str, **data: Any) -> None:
        rec = {"event": event, "time": time.time(), **data}
        log(INFO, "privtrain-fed %s", json.dumps(rec, sort_keys=True, default=str))
        if self.path is not None:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec, sort_keys=True, default=str) + "\n")
                f.flush()


def exchange(
    grid: Grid, messages: list[Message], timeout: float
) -> tuple[dict[int, Message], list[int]]:
    """Push, then pull replies every 0.1 s until all came back or ``timeout``: (replies by
    node id, node ids that did not answer). The last pull starts at or after the deadline: a
    pull can block for long (Flower retries the objects of a reply whose sender died while
    uploading it), and a reply that came in time meanwhile is still collected."""
    t_push = time.time()
    ids = list(grid.push_messages(messages))
    dst = {mid: m.metadata.dst_node_id for mid, m in zip(ids, messages, strict=True) if mid}
    got: dict[int, Message] = {}
    pending = set(dst)
    deadline = time.monotonic() + timeout
    seen: dict[int, tuple[float, float]] = {}  # node -> (reply created, reply pulled)
    while pending:
        started = time.monotonic()
        for reply in grid.pull_messages(list(pending)):
            mid = reply.metadata.reply_to_message_id
            if mid in pending:
                pending.discard(mid)
                got[dst[mid]] = reply
                seen[dst[mid]] = (float(reply.metadata.created_at), time.time())
        if not pending or started >= deadline:
            break
        time.sleep(max(0.0, min(POLL, deadline - time.monotonic())))
    if PROFILE and messages:
        _profile(messages[0].metadata.message_type, t_push, seen)
    return got, [dst[m] for m in pending]


def _profile(kind: str, t_push: float, seen: dict[int, tuple[float, float]]) -> None:
    """One JSON line per exchange to the file named by ``PRIVTRAIN_FED_PROFILE`` (diagnostics:
    per node, seconds from the push to its reply's creation and to its arrival here)."""
    rec = {
        "type": kind,
        "push": round(t_push, 3),
        "seconds": round(time.time() - t_push, 3),
        "replies": {
            str(n): [round(c - t_push, 3), round(r - t_push, 3)] for n, (c, r) in seen.items()
        },
    }
    with open(PROFILE, "a", encoding="utf-8") as f:
        f.write(json.dumps(rec) + "\n")


def fast_polling(grid: Grid, misses: dict[int, str] | None = None) -> Grid:
    """Make ``grid.send_and_receive`` (used by Flower's workflows, SecAgg+ included) pull
    every 0.1 s like :func:`exchange` instead of Flower's fixed 3 s sleep between pulls: a
    SecAgg+ round makes four exchanges. ``misses`` receives, per node of the last exchange
    that gave no usable reply, why (its error, or the timeout)."""

    def send_and_receive(
        messages: Iterable[Message], *, timeout: float | None = None
    ) -> list[Message]:
        got, lost = exchange(grid, list(messages), float("inf") if timeout is None else timeout)
        if misses is not None:
            for nid in lost:
                misses[nid] = f"no reply within {timeout:g} s"
            for nid, msg in got.items():
                if msg.has_error():
                    misses[nid] = str(msg.error.reason)[:300]
        return list(got.values())

    grid.send_and_receive = send_and_receive  # type: ignore[method-assign]
    return grid


def _reason(msg: Message) -> tuple[str, str]:
    """(site name, reason) from an error reply ``"<site>: <why>"``."""
    text = str(msg.error.reason)
    if "'" in text and text.startswith("<class"):  # an exception the ClientApp did not handle
        return "", text
    name, sep, why = text.partition(": ")
    return (name, why) if sep else ("", text)


def _weights_record(weights: dict[str, np.ndarray]) -> ArrayRecord:
    return ArrayRecord({k: Array(np.ascontiguousarray(v)) for k, v in weights.items()})


def _chunks_record(chunks: list[bytes]) -> ArrayRecord:
    from . import he

    return ArrayRecord({k: Array(v) for k, v in he.frame(chunks).items()})


def load_features(job: Job) -> Any:
    from privtrain.dp import FeatureSpec

    p = Path(job.features)
    if not p.is_absolute():
        p = APP_DIR / p
    spec = FeatureSpec.from_yaml(p)
    if spec.target_classes is None:
        raise ConfigError(f"feature spec {p}: target_classes must be declared")
    return spec


class Coordinator:
    def __init__(self, grid: Grid, job: Job, events: Events):
        self.grid, self.job, self.events = grid, job, events
        self.job_id = uuid.uuid4().hex
        self.features = load_features(job)
        self.sites: dict[int, SiteStatus] = {}
        self.rounds_completed = 0
        self.end_reason = ""
        self.bytes_received: dict[str, int] = {}
        self.round_seconds: list[float] = []
        self.public_ctx: Any = None
        if job.aggregation == "he":
            from . import he

            if not job.he_public_context:
                raise ConfigError("aggregation he needs he-public-context (the public context)")
            self.public_ctx = he.load_public(
                Path(job.he_public_context).read_bytes(), what=job.he_public_context
            )

    # -- messages ------------------------------------------------------------------------
    def _job_config(self, rnd: int = 0) -> ConfigRecord:
        return ConfigRecord(
            {
                "job": self.job.to_json(),
                "job_id": self.job_id,
                "round": rnd,
                "features": json.dumps(self.features.to_dict()),
            }
        )

    def _send(
        self,
        nodes: list[int],
        kind: str,
        rnd: int,
        extra: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> tuple[dict[int, Message], list[int]]:
        msgs = []
        for nid in nodes:
            content = RecordDict({"job": self._job_config(rnd), **(extra or {})})
            msgs.append(Message(content, nid, kind, group_id=str(rnd)))
        return exchange(self.grid, msgs, timeout or self.job.reply_timeout)

    def active(self) -> list[int]:
        return [n for n, s in self.sites.items() if s.status in ("accepted", "trained")]

    # -- phases --------------------------------------------------------------------------
    def wait_for_nodes(self, want: int, timeout: float) -> list[int]:
        deadline = time.monotonic() + timeout
        nodes: list[int] = []
        while time.monotonic() < deadline:
            nodes = sorted(self.grid.get_node_ids())
            if len(nodes) >= want:
                break
            time.sleep(0.2)
        return nodes

    def offer(self, nodes: list[int]) -> None:
        replies, lost = self._send(nodes, "query.offer", 0, timeout=self.job.setup_timeout)
        for nid in nodes:
            st = SiteStatus(node_id=nid, name=f"node-{nid}")
            self.sites[nid] = st
            msg = replies.get(nid)
            if msg is None:
                st.status, st.reason = "lost", "no answer to the job offer before the timeout"
            elif msg.has_error():
                name, why = _reason(msg)
                st.name = name or st.name
                st.status, st.reason = "refused", why
            else:
                rec = msg.content.config_records["site"]
                st.name = str(rec["site"])
                st.status = "accepted"
                st.epsilon_planned = float(rec["epsilon_planned"])
                st.dataset = str(rec["dataset"])
                st.ciphertext_sha256 = str(rec["ciphertext_sha256"])
            self.events("site", **st.to_dict())
        del lost

    def _mark_lost(
        self,
        nids: Iterable[int],
        rnd: int,
        timeout: float | None = None,
        reasons: dict[int, str] | None = None,
    ) -> None:
        for nid in nids:
            st = self.sites[nid]
            st.status = "lost"
            what = "the finish" if rnd > self.job.rounds else f"round {rnd}"
            st.reason = (reasons or {}).get(nid) or (
                f"no reply to {what} within {timeout or self.job.reply_timeout:g} s"
            )
            self.events("site", **st.to_dict())

    def _mark_failed(self, nid: int, msg: Message, rnd: int) -> None:
        from .client_app import ERROR_FAILED, ERROR_REFUSED

        st = self.sites[nid]
        _, why = _reason(msg)
        what = "the finish" if rnd > self.job.rounds else f"round {rnd}"
        if msg.error.code in (ERROR_FAILED, ERROR_REFUSED):
            st.status, st.reason = "failed", f"{what}: {why}"
        else:  # Flower's own errors: the node or its ClientApp went away
            st.status, st.reason = "lost", f"{what}: {why}"
        self.events("site", **st.to_dict())

    def run_rounds(self, init: dict[str, np.ndarray]) -> dict[str, np.ndarray] | list[bytes]:
        from . import he

        state: dict[str, np.ndarray] | list[bytes] = init
        for rnd in range(1, self.job.rounds + 1):
            nodes = self.active()
            t0 = time.perf_counter()
            self.events("round_start", round=rnd, sites=[self.sites[n].name for n in nodes])
            if isinstance(state, dict):
                extra = {"global": _weights_record(state)}
            else:
                extra = {"he.aggregate": _chunks_record(state)}
            replies, lost = self._send(nodes, "train", rnd, extra)
            self._mark_lost(lost, rnd)
            ok: dict[int, Message] = {}
            for nid, msg in replies.items():
                if msg.has_error():
                    self._mark_failed(nid, msg, rnd)
                else:
                    ok[nid] = msg
                    self.sites[nid].status = "trained"
                    self.sites[nid].rounds.append(rnd)
            if len(ok) < self.job.min_sites:
                self.end_reason = (
                    f"round {rnd}: {len(ok)} site(s) answered, fewer than min-sites="
                    f"{self.job.min_sites}; the job ended without this round"
                )
                self.events("round_failed", round=rnd, reason=self.end_reason)
                break
            if self.job.aggregation == "he":
                updates = []
                for nid, msg in ok.items():
                    chunks = he.unframe(
                        {k: v.numpy() for k, v in msg.content.array_records["he.update"].items()},
                        what=f"HE update of site {self.sites[nid].name}",
                    )
                    self.bytes_received[self.sites[nid].name] = sum(len(c) for c in chunks)
                    updates.append(chunks)
                state = he.add(self.public_ctx, updates)
            else:
                state = self._average(ok)
            self.rounds_completed = rnd
            dt = time.perf_counter() - t0
            self.round_seconds.append(dt)
            self.events(
                "round_end",
                round=rnd,
                sites=[self.sites[n].name for n in ok],
                lost=[self.sites[n].name for n in nodes if n not in ok],  # timed out or failed
                seconds=round(dt, 3),
            )
        return state

    def _average(self, ok: dict[int, Message]) -> dict[str, np.ndarray]:
        total = 0.0
        acc: dict[str, np.ndarray] = {}
        for nid, msg in ok.items():
            w = float(msg.content.metric_records["weight"]["weight"])
            arrays = {k: v.numpy() for k, v in msg.content.array_records["update"].items()}
            self.bytes_received[self.sites[nid].name] = sum(a.nbytes for a in arrays.values())
            for k, a in arrays.items():
                acc[k] = acc.get(k, 0.0) + w * a.astype(np.float64)
            total += w
        return {k: (v / total).astype(np.float32) for k, v in acc.items()}

    def finish(self, final_enc: list[bytes] | None) -> dict[str, np.ndarray] | None:
        nodes = self.active()
        extra = {"he.aggregate": _chunks_record(final_enc)} if final_enc else {}
        replies, lost = self._send(
            nodes, "query.finish", self.job.rounds + 1, extra, timeout=self.job.setup_timeout
        )
        self._mark_lost(lost, self.job.rounds + 1, self.job.setup_timeout)
        finals = []
        for nid, msg in replies.items():
            st = self.sites[nid]
            if msg.has_error():
                self._mark_failed(nid, msg, self.job.rounds + 1)
                continue
            rec = msg.content.config_records["site"]
            st.epsilon = float(rec["epsilon"])
            st.history = json.loads(str(rec["history"]))
            if "final" in msg.content.array_records:
                finals.append({k: v.numpy() for k, v in msg.content.array_records["final"].items()})
        if final_enc is None:
            return None
        if not finals:
            raise PrivtrainError("no site returned the decrypted final model")
        ref = finals[0]
        for other in finals[1:]:
            diff = max(float(np.max(np.abs(ref[k] - other[k]))) for k in ref)
            if diff > 1e-6:
                raise PrivtrainError(f"sites decrypted different final models (diff {diff:g})")
        return ref


def _initial(job: Job, features: Any) -> dict[str, np.ndarray]:
    from privtrain.dp._local import initial_weights

    return initial_weights(features.n_features, job.train_config(), len(features.target_classes))


def run_secagg(
    co: Coordinator, grid: Grid, context: Context, init: dict[str, np.ndarray]
) -> dict[str, np.ndarray] | None:
    """Rounds with Flower's SecAgg+ workflow over the legacy strategy interface.

    A site lost in a round leaves it by the workflow's dropout handling
    (:class:`federated.secagg.DropoutTolerantSecAggPlus`: Flower's own, extended to sites lost
    before their key shares went out); the round completes with the survivors when at least
    ``min-sites`` sent masked vectors and enough shares came back, and otherwise the job ends
    after the last complete round with the reason. Every stage waits at most the reply
    timeout, so a dead site cannot hold a round."""
    from flwr.common import ndarrays_to_parameters, parameters_to_ndarrays
    from flwr.server import ServerConfig
    from flwr.server.compat import LegacyContext
    from flwr.server.strategy import FedAvg
    from flwr.server.workflow import DefaultWorkflow

    from .secagg import DropoutTolerantSecAggPlus, protocol_params

    names = list(init)
    accepted = set(co.active())
    job = co.job
    misses: dict[int, str] = {}  # node -> why its last exchange gave nothing
    drops: dict[int, str] = {}  # node -> why it left the current round
    stopped: list[int] = []  # the round that did not complete (later rounds are not run)
    stage_names = {
        "setup": "setup",
        "share_keys": "share-keys",
        "collect_masked_vectors": "masked-vector (training)",
        "unmask": "unmask",
    }

    def on_drop(nid: int, stage: str) -> None:
        if nid in co.sites:
            why = misses.get(nid, "no reply")
            rnd = strategy.current
            drops[nid] = f"round {rnd}, SecAgg+ {stage_names.get(stage, stage)} stage: {why}"
            co.events("secagg_drop", round=rnd, site=co.sites[nid].name, stage=stage, why=why)
            if stage == "unmask" and nid in co.active():  # its masked vector was summed
                co._mark_lost([nid], rnd, reasons=drops)

    class _Strategy(FedAvg):
        current = 0

        def configure_fit(self, server_round: int, parameters: Any, client_manager: Any) -> Any:
            from flwr.common import FitIns

            if stopped or co.rounds_completed != server_round - 1:
                stopped.append(server_round)  # a round did not complete: run no later one
                return []
            cfg = {
                "job": job.to_json(),
                "job_id": co.job_id,
                "round": server_round,
                "features": json.dumps(co.features.to_dict()),
            }
            self._t0 = time.perf_counter()
            self.current = server_round
            drops.clear()
            nodes = co.active()
            co.events("round_start", round=server_round, sites=[co.sites[n].name for n in nodes])
            clients = [c for c in client_manager.all().values() if c.node_id in set(nodes)]
            missing = set(nodes) - {c.node_id for c in clients}
            co._mark_lost(
                missing,
                server_round,
                reasons={n: f"round {server_round}: no longer connected" for n in missing},
            )
            if len(clients) < job.min_sites:
                co.end_reason = (
                    f"round {server_round}: {len(clients)} site(s) remain, fewer than "
                    f"min-sites={job.min_sites}"
                )
                co.events("round_failed", round=server_round, reason=co.end_reason)
                stopped.append(server_round)
                return []
            return [(c, FitIns(parameters, cfg)) for c in clients]

        def aggregate_fit(self, server_round: int, results: Any, failures: Any) -> Any:
            got = {c.node_id for c, _ in results}  # their masked vectors are in the sum
            for nid in co.active():
                if nid in got:
                    co.sites[nid].status = "trained"
                    co.sites[nid].rounds.append(server_round)
            lost = [n for n in co.active() if n not in got]
            co._mark_lost(lost, server_round, reasons=drops)
            if len(got) < job.min_sites:
                co.end_reason = (
                    f"round {server_round}: {len(got)} site(s) answered, fewer than "
                    f"min-sites={job.min_sites}"
                )
                co.events("round_failed", round=server_round, reason=co.end_reason)
                return None, {}
            out = super().aggregate_fit(server_round, results, failures)
            co.rounds_completed = server_round
            dt = time.perf_counter() - getattr(self, "_t0", time.perf_counter())
            co.round_seconds.append(dt)
            co.events(
                "round_end",
                round=server_round,
                sites=[co.sites[n].name for n in got],
                lost=[co.sites[n].name for n in lost],
                seconds=round(dt, 3),
            )
            return out

        def configure_evaluate(self, *a: Any, **k: Any) -> list:
            return []

    strategy = _Strategy(
        fraction_fit=1.0,
        fraction_evaluate=0.0,
        min_fit_clients=job.min_sites,
        min_evaluate_clients=0,
        min_available_clients=len(accepted),
        initial_parameters=ndarrays_to_parameters(list(init.values())),
        accept_failures=True,
    )
    legacy = LegacyContext(
        context=context, config=ServerConfig(num_rounds=job.rounds), strategy=strategy
    )
    shares, threshold = protocol_params(len(accepted), job.secagg_shares, job.secagg_threshold)
    workflow = DefaultWorkflow(
        fit_workflow=DropoutTolerantSecAggPlus(
            num_shares=shares,
            reconstruction_threshold=threshold,
            clipping_range=job.secagg_clipping_range,
            max_weight=job.secagg_max_weight,
            timeout=job.reply_timeout,
            on_drop=on_drop,
        )
    )
    halted: list[str] = []

    class _Watch(logging.Handler):  # Flower's workflow says why it stops only in its log
        def emit(self, record: logging.LogRecord) -> None:
            text = record.getMessage()
            if text.startswith("privtrain-fed") or "metrics_aggregation_fn" in text:
                return
            if record.levelno >= logging.WARNING or "halted" in text:
                halted.append(text)
                co.events("flower_log", level=record.levelname, message=text[:300])

    watch = _Watch()
    flwr_logger = logging.getLogger("flwr")
    flwr_logger.addHandler(watch)
    try:
        workflow(fast_polling(grid, misses), legacy)
    finally:
        flwr_logger.removeHandler(watch)
    if co.rounds_completed < job.rounds and not co.end_reason:
        rnd = co.rounds_completed + 1
        # the sites that left the round that did not complete, with the stage and why
        co._mark_lost([n for n in drops if n in co.active()], rnd, reasons=drops)
        why = "; ".join(dict.fromkeys(h for h in halted if "halted" not in h)) or "no reason given"
        co.end_reason = (
            f"round {rnd}: Flower's SecAgg+ workflow halted ({why}); "
            f"the job ended after {co.rounds_completed} round(s)"
        )
        co.events("round_failed", round=rnd, reason=co.end_reason)
    from flwr.compat.common import recorddict_compat as compat
    from flwr.server.workflow.constant import MAIN_PARAMS_RECORD

    params = compat.arrayrecord_to_parameters(
        legacy.state.array_records[MAIN_PARAMS_RECORD], keep_input=True
    )
    arrays = parameters_to_ndarrays(params)
    return {k: np.asarray(a, dtype=np.float32) for k, a in zip(names, arrays, strict=True)}


def store_model(co: Coordinator, weights: dict[str, np.ndarray]) -> dict[str, Any] | None:
    """Store the final model at the coordinating home with a signed card."""
    job = co.job
    if not job.coordinator_home:
        return None
    import io
    import platform

    import torch

    from privtrain import __version__, models
    from privtrain.config import load_settings
    from privtrain.dp._local import _state_bytes
    from privtrain.workspace import Workspace

    settings = load_settings(home=job.coordinator_home)
    if settings.passphrase is None:
        raise ConfigError("coordinator home: PRIVTRAIN_PASSPHRASE is not set for the ServerApp")
    ws = Workspace.open(settings, settings.passphrase.get_secret_value())
    features = co.features
    from privtrain.dp import build_model

    _, arch = build_model(
        job.model,
        features.n_features,
        len(features.target_classes),
        job.hidden,
        make_private_compatible=job.private,
    )
    state = _state_bytes(weights)
    buf = io.BytesIO()
    torch.save(
        {
            "format": "privtrain-model/1",
            "architecture": arch,
            "state_dict": state,
            "features": features.to_dict(),
            "target": job.target,
            "classes": list(features.target_classes),
        },
        buf,
    )
    trained = [s for s in co.sites.values() if s.rounds]
    eps = [s.epsilon for s in trained if s.epsilon is not None]
    site_rows = [
        {
            "site": s.name,
            "status": s.status,
            "epsilon": s.epsilon,
            "delta": job.delta if job.private else None,
            "rounds": s.rounds,
            "history": s.history,
            "dataset": s.dataset,
            "ciphertext_sha256": s.ciphertext_sha256,
            "reason": s.reason,
        }
        for s in co.sites.values()
    ]
    predicate = {
        "privacy": {
            "non_private": not job.private,
            "mechanism": "federated DP-SGD: per-site DP-SGD (Poisson sampling, per-sample "
            "clipping, Gaussian noise), each site charged to its own ledger",
            "accountant": "prv",
            "epsilon": max(eps) if eps else None,
            "epsilon_is": "the largest per-site ε (each site's data is protected at its own ε)",
            "delta": job.delta,
            "neighbouring": "add_remove",
            "max_grad_norm": job.max_grad_norm,
            "sites": site_rows,
        },
        "federated": {
            "job_id": co.job_id,
            "aggregation": job.aggregation,
            "rounds_planned": job.rounds,
            "rounds_completed": co.rounds_completed,
            "local_steps": job.local_steps,
            "min_sites": job.min_sites,
            "end_reason": co.end_reason,
        },
        "datasets": [
            {"site": s.name, "name": s.dataset, "ciphertext_sha256": s.ciphertext_sha256}
            for s in trained
        ],
        "quality": {"note": "not evaluated: site rows never leave the sites"},
        "training": {
            "target": job.target,
            "classes": list(features.target_classes),
            "model": arch,
            "config": json.loads(job.to_json()),
        },
        "code": {
            "privtrain": __version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
    }
    info = models.store(
        ws,
        job.model_name,
        buf.getvalue(),
        predicate=predicate,
        datasets=predicate["datasets"],
        train_config=json.loads(job.to_json()),
        epsilon=max(eps) if eps else None,
        delta=job.delta,
        accountant="prv",
    )
    return {"ref": info.ref, "id": info.id}


@app.main()
def main(grid: Grid, context: Context) -> None:
    fast_object_pulls()  # replies' objects: first retry after 0.05 s, not Flower's 1 s
    job = Job.from_run_config(dict(context.run_config))
    events = Events(job.events_path)
    summary: dict[str, Any] = {"aggregation": job.aggregation, "rounds_planned": job.rounds}
    co: Coordinator | None = None
    try:
        co = Coordinator(grid, job, events)
        want = int(os.environ.get("PRIVTRAIN_FED_EXPECT_SITES", "0")) or job.min_sites
        nodes = co.wait_for_nodes(want, timeout=job.setup_timeout)
        events("nodes", count=len(nodes))
        co.offer(nodes)
        accepted = co.active()
        final: dict[str, np.ndarray] | None = None
        if len(accepted) < job.min_sites:
            co.end_reason = (
                f"{len(accepted)} site(s) accepted the job, fewer than min-sites={job.min_sites}"
            )
            events("aborted", reason=co.end_reason)
            co.finish(None)
        else:
            init = _initial(job, co.features)
            if job.aggregation == "secagg+":
                final = run_secagg(co, grid, context, init)
                co.finish(None)
            else:
                state = co.run_rounds(init)
                if isinstance(state, dict):
                    co.finish(None)
                    final = state if co.rounds_completed else None
                else:
                    final = co.finish(state)
        model = None
        if final is not None and co.rounds_completed:
            model = store_model(co, final)
        summary.update(
            status="completed" if co.rounds_completed == job.rounds else "incomplete",
            rounds_completed=co.rounds_completed,
            reason=co.end_reason,
            model=model,
            job_id=co.job_id,
            sites=[s.to_dict() for s in co.sites.values()],
            bytes_received=co.bytes_received,
            round_seconds=co.round_seconds,
        )
        events("done", status=summary["status"], rounds_completed=co.rounds_completed)
    except PrivtrainError as e:
        summary.update(
            status="failed",
            reason=e.message,
            rounds_completed=co.rounds_completed if co else 0,
            sites=[s.to_dict() for s in co.sites.values()] if co else [],
        )
        events("failed", reason=e.message)
        log(WARNING, "federated job failed: %s", e.message)
    except Exception as e:
        reason = f"internal error in the ServerApp: {type(e).__name__}: {e}"[:500]
        summary.update(
            status="failed",
            reason=reason,
            rounds_completed=co.rounds_completed if co else 0,
            sites=[s.to_dict() for s in co.sites.values()] if co else [],
        )
        events("failed", reason=reason)
        raise
    finally:
        if job.summary_path:
            atomic_write_text(Path(job.summary_path), json.dumps(summary, indent=2, default=str))
    if summary.get("status") == "failed":
        raise SystemExit(1)


__all__ = ["app", "exchange", "Coordinator"]
