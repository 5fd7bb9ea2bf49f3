"""One SecAgg+ round of Flower's own workflow and ``secaggplus_mod`` in one process.

Only the transport is replaced: the server's ``SecAggPlusWorkflow`` (or
:class:`federated.secagg.DropoutTolerantSecAggPlus`) sends its real protocol messages through
:class:`InProcessGrid`, each one serialized and parsed as on the wire, to a ``deliver``
function that runs a site's ``secaggplus_mod`` on it; the keys, shares, masks, quantization
and unmasking are Flower's. Used by the dropout tests (``tests/test_fed_secagg.py``) and to
measure SecAgg+'s own cost beside a plaintext average (``benchmarks/federated.py --part
crypto``); the Deployment Engine runs the same workflow over real processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from flwr.app import ConfigRecord, Context, Message, RecordDict
from flwr.common import Code, FitRes, Status, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.common.serde import message_from_proto, message_to_proto
from flwr.compat.common import recorddict_compat as compat
from flwr.server import ServerConfig
from flwr.server.compat import LegacyContext
from flwr.server.compat.grid_client_proxy import GridClientProxy
from flwr.server.strategy import FedAvg
from flwr.server.workflow.constant import MAIN_CONFIGS_RECORD, MAIN_PARAMS_RECORD
from flwr.server.workflow.constant import Key as WorkflowKey


def wire(msg: Message) -> Message:
    """``msg`` after a round trip through Flower's protobuf serialization."""
    return message_from_proto(message_to_proto(msg))


def fit_reply(update: list[np.ndarray], weight: int) -> Callable[[Message, Context], Message]:
    """A site's ``call_next`` for ``secaggplus_mod``: answers the fit instruction with
    ``update`` and ``weight`` as a legacy ``FitRes`` (what the mod masks)."""

    def call_next(msg: Message, ctx: Context) -> Message:
        res = FitRes(Status(Code.OK, "ok"), ndarrays_to_parameters(update), weight, {})
        return Message(compat.fitres_to_recorddict(res, keep_input=False), reply_to=msg)

    return call_next


class InProcessGrid:
    """The part of Flower's ``Grid`` the SecAgg+ workflow uses: ``deliver(message)`` answers
    one message (None: the site is gone)."""

    def __init__(self, deliver: Callable[[Message], Message | None]):
        self.deliver = deliver

    def send_and_receive(
        self, messages: Iterable[Message], *, timeout: float | None = None
    ) -> list[Message]:
        out = [self.deliver(m) for m in messages]
        return [m for m in out if m is not None]


def run_round(
    workflow: Any,
    grid: InProcessGrid,
    nodes: list[int],
    init: list[np.ndarray],
    rnd: int = 1,
    min_fit: int = 2,
) -> tuple[list[np.ndarray] | None, list[int]]:
    """One round of ``workflow`` over ``nodes``: (the FedAvg aggregate, or None if the round
    halted; the node ids whose results reached the strategy)."""
    got: list[int] = []

    class Strategy(FedAvg):
        def aggregate_fit(self, server_round: int, results: Any, failures: Any) -> Any:
            got.extend(sorted(c.node_id for c, _ in results))
            return super().aggregate_fit(server_round, results, failures)

    strategy = Strategy(
        fraction_fit=1.0,
        fraction_evaluate=0.0,
        min_fit_clients=min_fit,
        min_available_clients=len(nodes),
        accept_failures=True,
    )
    legacy = LegacyContext(
        Context(1, 0, {}, RecordDict(), {}), config=ServerConfig(num_rounds=1), strategy=strategy
    )
    for nid in nodes:
        legacy.client_manager.register(GridClientProxy(nid, grid, 1))  # type: ignore[arg-type]
    legacy.state.config_records[MAIN_CONFIGS_RECORD] = ConfigRecord(
        {WorkflowKey.CURRENT_ROUND: rnd}
    )
    legacy.state.array_records[MAIN_PARAMS_RECORD] = compat.parameters_to_arrayrecord(
        ndarrays_to_parameters(init), keep_input=True
    )
    workflow(grid, legacy)
    if not got:
        return None, got
    params = compat.arrayrecord_to_parameters(
        legacy.state.array_records[MAIN_PARAMS_RECORD], keep_input=True
    )
    return parameters_to_ndarrays(params), got
