"""SecAgg+ dropout handling, in one process: Flower's own ``SecAggPlusWorkflow`` (server) and
``secaggplus_mod`` (sites) exchange real protocol messages — each serialized and parsed as on
the wire — through a grid that delivers them in-process and drops the chosen sites from the
chosen stage on. Only the transport is replaced; the keys, shares, masks and unmasking are
Flower's. The Deployment Engine runs of the same (``tests/test_fed_deployment.py``) are slow.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

import numpy as np
import pytest
from flwr.app import Context, Error, Message, RecordDict
from flwr.client.mod import secaggplus_mod
from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS, Key
from flwr.server.workflow import SecAggPlusWorkflow
from flwr.supercore.task_identity import TaskIdentity

from federated.inprocess import InProcessGrid, fit_reply, run_round, wire
from federated.secagg import STAGES, DropoutTolerantSecAggPlus, protocol_params

SHAPES = [(7, 3), (5,)]


@pytest.fixture(autouse=True)
def _task_identity() -> Any:
    """Flower stamps messages with the running task's identity (set by its runtimes)."""
    saved = (TaskIdentity._task_id, TaskIdentity._run_id, TaskIdentity._node_id)
    TaskIdentity.task_id, TaskIdentity.run_id, TaskIdentity.node_id = 1, 1, 0
    yield
    TaskIdentity._task_id, TaskIdentity._run_id, TaskIdentity._node_id = saved


class Sites:
    """Sites with a fixed update each; ``drop[nid] = stage``: the site answers nothing from
    that stage on (killed). A site's exception becomes an error reply, as in a ClientApp."""

    def __init__(self, n: int, seed: int = 0, weights: list[int] | None = None):
        rng = np.random.default_rng(seed)
        self.ids = [1000 + 17 * i for i in range(n)]
        self.updates = {
            nid: [rng.uniform(-2, 2, s).astype(np.float32) for s in SHAPES] for nid in self.ids
        }
        self.weights = dict(zip(self.ids, weights or [1 + i % 3 for i in range(n)], strict=True))
        self.ctx = {nid: Context(1, nid, {}, RecordDict(), {}) for nid in self.ids}
        self.drop: dict[int, str] = {}
        self.errors: list[tuple[int, str, str]] = []
        self.trained: list[int] = []

    def _stage(self, msg: Message) -> str:
        return str(msg.content.config_records[RECORD_KEY_CONFIGS][Key.STAGE])

    def _fit(self, nid: int) -> Any:
        reply = fit_reply(self.updates[nid], self.weights[nid])

        def call_next(msg: Message, ctx: Context) -> Message:
            self.trained.append(nid)
            return reply(msg, ctx)

        return call_next

    def deliver(self, msg: Message) -> Message | None:
        nid = msg.metadata.dst_node_id
        stage = self._stage(msg)
        if nid in self.drop and STAGES.index(stage) >= STAGES.index(self.drop[nid]):
            return None
        try:
            reply = secaggplus_mod(wire(msg), self.ctx[nid], self._fit(nid))
        except Exception as e:  # noqa: BLE001 - the ClientApp runtime reports it the same way
            self.errors.append((nid, stage, type(e).__name__))
            reply = Message(Error(code=3, reason=repr(e)), reply_to=wire(msg))
        return wire(reply)


def _run_round(
    workflow: SecAggPlusWorkflow, sites: Sites, nodes: list[int] | None = None, rnd: int = 1
) -> tuple[list[np.ndarray] | None, list[int]]:
    """One SecAgg+ round over ``nodes``: (the aggregate, or None if the round halted; the
    sites whose results reached the strategy)."""
    init = [np.zeros(s, np.float32) for s in SHAPES]
    return run_round(workflow, InProcessGrid(sites.deliver), nodes or sites.ids, init, rnd)


def _fedavg(sites: Sites, nids: list[int]) -> list[np.ndarray]:
    total = sum(sites.weights[n] for n in nids)
    return [
        sum(sites.weights[n] * sites.updates[n][i].astype(np.float64) for n in nids) / total
        for i in range(len(SHAPES))
    ]


def _close(got: list[np.ndarray], want: list[np.ndarray]) -> float:
    return max(float(np.max(np.abs(g - w))) for g, w in zip(got, want, strict=True))


def _workflow(shares: float = 3, threshold: int = 2, drops: list | None = None) -> Any:
    def on_drop(nid: int, stage: str) -> None:
        if drops is not None:
            drops.append((nid, stage))

    return DropoutTolerantSecAggPlus(
        shares, threshold, max_weight=3.0, clipping_range=8.0, on_drop=on_drop
    )


@pytest.mark.parametrize("stage", [None, *STAGES])
def test_one_of_three_sites_lost_in_any_stage(stage: str | None) -> None:
    """3 sites, 3 shares, threshold 2: the round completes with the survivors whichever stage
    a site is lost in, and the aggregate is their FedAvg (the lost site's update is in it only
    when it was lost after sending its masked vector, i.e. in the unmask stage)."""
    sites = Sites(3, seed=1)
    lost = sites.ids[1]
    if stage:
        sites.drop[lost] = stage
    drops: list[tuple[int, str]] = []
    agg, got = _run_round(_workflow(drops=drops), sites)
    summed = [n for n in sites.ids if not stage or n != lost or stage == "unmask"]
    assert agg is not None, sites.errors
    assert got == sorted(summed)
    assert _close(agg, _fedavg(sites, summed)) < 1e-4
    assert sites.errors == []
    assert drops == ([(lost, stage)] if stage else [])
    assert sorted(set(sites.trained)) == sorted(summed)  # a site trains in collect-masked


@pytest.mark.parametrize("stage", ["setup", "share_keys"])
def test_flower_workflow_alone_halts_on_a_site_lost_before_its_shares(stage: str) -> None:
    """The failure this module exists for (Flower 1.42): a site lost before its key shares
    went out is still listed as dead in the unmask stage; every survivor's secaggplus_mod
    fails (KeyError: it holds no share of that key) and the round halts with no aggregate."""
    sites = Sites(3, seed=2)
    sites.drop[sites.ids[0]] = stage
    agg, got = _run_round(SecAggPlusWorkflow(3, 2, max_weight=3.0), sites)
    assert agg is None and got == []
    assert sorted(sites.errors) == sorted((n, "unmask", "KeyError") for n in sites.ids[1:])


def test_seven_sites_partial_neighbourhoods_and_two_losses() -> None:
    """7 sites, 3 shares (a ring: each site shares with its 2 neighbours), threshold 2; one
    site lost in share-keys, one in collect-masked-vectors. Where every summed site and the
    second lost one keep 2 surviving neighbours (the two losses ≥ 3 apart on the ring), the
    aggregate is the FedAvg of the 5 summed sites; elsewhere the round halts cleanly (no
    share of some key reaches the threshold)."""
    completed = halted = 0
    for seed in range(8):  # Flower shuffles the ring: a different layout per seed
        random.seed(seed)
        sites = Sites(7, seed=seed, weights=[1, 2, 3, 1, 2, 3, 1])
        a, b = sites.ids[1], sites.ids[4]
        sites.drop = {a: "share_keys", b: "collect_masked_vectors"}
        drops: list[tuple[int, str]] = []
        agg, got = _run_round(_workflow(3, 2, drops), sites)
        assert sites.errors == []
        if agg is None:
            halted += 1
            continue
        summed = [n for n in sites.ids if n not in (a, b)]
        assert got == sorted(summed)
        assert _close(agg, _fedavg(sites, summed)) < 1e-4, seed
        assert drops == [(a, "share_keys"), (b, "collect_masked_vectors")]
        completed += 1
    assert completed >= 2 and halted >= 1, (completed, halted)


def test_two_sites_lost_after_sharing_keys() -> None:
    """5 sites, 5 shares, threshold 3; two lost in collect-masked-vectors (Flower's own
    dropout handling): the aggregate is the FedAvg of the 3 summed sites."""
    sites = Sites(5, seed=7)
    lost = [sites.ids[0], sites.ids[2]]
    sites.drop = {n: "collect_masked_vectors" for n in lost}
    summed = [n for n in sites.ids if n not in lost]
    drops: list[tuple[int, str]] = []
    agg, got = _run_round(_workflow(5, 3, drops), sites)
    assert agg is not None and got == sorted(summed)
    assert _close(agg, _fedavg(sites, summed)) < 1e-4
    assert sorted(drops) == sorted((n, "collect_masked_vectors") for n in lost)


def test_next_round_with_the_survivors_and_too_few() -> None:
    """The workflow made for 3 sites runs the next round over the 2 survivors; with a second
    loss it halts (fewer than the threshold) and says so through ``on_drop``."""
    sites = Sites(3, seed=3)
    wf = _workflow()
    agg, got = _run_round(wf, sites, nodes=sites.ids[:2], rnd=2)
    assert agg is not None and got == sorted(sites.ids[:2])
    assert _close(agg, _fedavg(sites, sites.ids[:2])) < 1e-4
    sites.drop[sites.ids[0]] = "setup"
    drops: list[tuple[int, str]] = []
    agg, got = _run_round(_workflow(drops=drops), sites, nodes=sites.ids[:2], rnd=3)
    assert agg is None and got == [] and drops == [(sites.ids[0], "setup")]


def test_protocol_params_and_two_sites() -> None:
    """Two accepted sites: Flower refuses an integer share count of 2, so every site holds a
    share of every key (1.0) and both are needed; otherwise one share per site, threshold
    below the share count and at least 2."""
    assert protocol_params(2, 3, 2) == (1.0, 2)
    assert protocol_params(3, 3, 2) == (3, 2)
    assert protocol_params(3, 3, 5) == (3, 2)
    assert protocol_params(5, 5, 1) == (5, 2)
    assert protocol_params(7, 3, 2) == (3, 2)
    with pytest.raises(ValueError, match="greater than 2"):
        SecAggPlusWorkflow(2, 2)
    sites = Sites(2, seed=4)
    shares, threshold = protocol_params(2, 3, 2)
    agg, got = _run_round(_workflow(shares, threshold), sites)
    assert agg is not None and got == sorted(sites.ids)
    assert _close(agg, _fedavg(sites, sites.ids)) < 1e-4


def test_exchange_collects_replies_that_came_while_a_pull_blocked() -> None:
    """Flower's ``pull_messages`` can block past the reply timeout (it retries the objects of
    a reply whose sender died mid-upload); a reply that arrived in time meanwhile is still
    collected, and a node that never answered is reported."""
    import time

    from federated.server_app import exchange

    class SlowGrid:
        def __init__(self) -> None:
            self.pulls = 0
            self.sent: list[Message] = []

        def push_messages(self, messages: Iterable[Message]) -> list[str]:
            self.sent = list(messages)
            return [f"m{i}" for i in range(len(self.sent))]

        def pull_messages(self, ids: Iterable[str]) -> list[Message]:
            self.pulls += 1
            if self.pulls == 1:  # blocks beyond the deadline; the dead site's error comes back
                time.sleep(0.6)
                return [_reply(self.sent[0], "m0", error=True)]
            return [_reply(self.sent[1], "m1")] if "m1" in set(ids) else []

    def _reply(msg: Message, mid: str, error: bool = False) -> Message:
        rep = (
            Message(Error(code=1, reason="objects unavailable"), reply_to=msg)
            if error
            else Message(RecordDict(), reply_to=msg)
        )
        rep.metadata.__dict__["_reply_to_message_id"] = mid
        return rep

    grid = SlowGrid()
    msgs = [Message(RecordDict(), dst_node_id=n, message_type="train") for n in (1, 2, 3)]
    t0 = time.monotonic()
    got, lost = exchange(grid, msgs, timeout=0.3)  # type: ignore[arg-type]
    assert sorted(got) == [1, 2] and got[1].has_error() and not got[2].has_error()
    assert lost == [3] and grid.pulls == 2 and time.monotonic() - t0 < 1.5


def test_supernode_poll_patch_caps_flowers_sleeps() -> None:
    """``python -m federated.supernode`` caps the sleeps of Flower 1.42's SuperNode loop (the
    3 s nap between pulls, 0.5 s reply waits) and leaves the rest of ``time`` alone."""
    import time

    from flwr.supernode import start_client_internal as loop

    from federated import supernode

    real = loop.time
    try:
        assert supernode.patch(0.05) is True
        t0 = time.monotonic()
        loop.time.sleep(3)
        loop.time.sleep(0.5)
        assert time.monotonic() - t0 < 0.5
        assert loop.time.monotonic is real.monotonic and loop.time.time is real.time
    finally:
        loop.time = real
