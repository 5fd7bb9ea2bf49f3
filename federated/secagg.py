"""Flower's SecAgg+ workflow with its dropout handling extended to sites lost before the
share-keys stage completes.

Flower 1.42's ``SecAggPlusWorkflow`` unmasks with the survivors' shares of every node it
*sampled* that did not send a masked vector: ``dead = sampled - active``. That is right for a
node lost in the collect-masked-vectors stage (its key shares were distributed, and the
survivors masked their vectors with it), but not for a node lost in the setup or share-keys
stage: nobody holds a share of its key and nobody masked with it (a site masks only with the
neighbours whose shares it received). Flower still lists it as dead, so each survivor's
``secaggplus_mod`` fails in ``_unmask`` (``KeyError``: no share of the lost node's key), the
server collects no shares ("Not enough shares to recover secret") and the round halts —
although the survivors' masked vectors are complete and unmaskable.

:class:`DropoutTolerantSecAggPlus` keeps Flower's protocol, messages and arithmetic and only
corrects its bookkeeping, as the SecAgg+ protocol defines it (Bell et al. 2020, after
Bonawitz et al. 2017: the dropped users whose masks are removed are those that shared their
keys, U2, but sent no masked input, U3):

- after the setup and share-keys stages, a node that did not answer leaves the sampled set
  and every neighbourhood (it is not a dropout to unmask: it never entered the masks);
- the threshold check runs once per stage, on the corrected sets.

Nodes lost later are Flower's own dropout handling, unchanged (for two lost nodes it also
rebuilds their mutual mask, which is not in the sum, but once for each with opposite signs).

What the server learns is unchanged: the survivors reveal shares of the private-mask seeds
of the nodes whose vectors were summed and of the first secret key of the nodes lost after
sharing their keys — never both for one node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flwr.server.compat.legacy_context import LegacyContext
from flwr.server.workflow import SecAggPlusWorkflow
from flwr.server.workflow.secure_aggregation.secaggplus_workflow import WorkflowState
from flwr.serverapp import Grid

STAGES = ("setup", "share_keys", "collect_masked_vectors", "unmask")


def protocol_params(sites: int, shares: int, threshold: int) -> tuple[int | float, int]:
    """(num_shares, reconstruction_threshold) for ``sites`` accepted sites: at most one share
    per site and a threshold below the share count; with 2 sites every site holds a share of
    every key and both are needed (Flower takes an integer share count only above 2: 1.0 is
    its "all sampled sites")."""
    n = min(shares, sites)
    if n <= 2:
        return 1.0, 2
    return n, max(2, min(threshold, n - 1))


class DropoutTolerantSecAggPlus(SecAggPlusWorkflow):
    """``SecAggPlusWorkflow`` that also survives nodes lost before their key shares went out.

    ``on_drop(node_id, stage)`` is called for every node that left the round in a stage (the
    unmask stage included).
    """

    def __init__(
        self,
        *args: Any,
        on_drop: Callable[[int, str], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.on_drop = on_drop
        self._deferred = False

    # Flower runs the threshold check at the end of each stage, before the corrections below:
    # defer it and run it on the corrected sets.
    def _check_threshold(self, state: WorkflowState) -> bool:
        if self._deferred:
            return True
        return super()._check_threshold(state)

    def _run(self, stage: Callable[..., bool], *args: Any) -> bool:
        self._deferred = True
        try:
            return stage(*args)
        finally:
            self._deferred = False

    def _dropped(self, before: set[int], state: WorkflowState, stage: str) -> set[int]:
        gone = before - state.active_node_ids
        if self.on_drop is not None:
            for nid in sorted(gone):
                self.on_drop(nid, stage)
        return gone

    def _forget(self, state: WorkflowState, gone: set[int]) -> None:
        """Nodes that did not share their keys: not part of this round's masks at all."""
        if not gone:
            return
        keep = set(state.active_node_ids)
        state.sampled_node_ids = set(state.sampled_node_ids) & keep
        for nid in gone:
            state.nid_to_neighbours.pop(nid, None)
            state.nid_to_publickeys.pop(nid, None)
        for nid in list(state.nid_to_neighbours):
            state.nid_to_neighbours[nid] = state.nid_to_neighbours[nid] & keep

    def setup_stage(self, grid: Grid, context: LegacyContext, state: WorkflowState) -> bool:
        if not self._run(super().setup_stage, grid, context, state):
            return False  # nothing to do this round (no site selected, or fewer than 2)
        gone = self._dropped(set(state.sampled_node_ids), state, "setup")
        self._forget(state, gone)
        return self._check_threshold(state)

    def share_keys_stage(self, grid: Grid, context: LegacyContext, state: WorkflowState) -> bool:
        before = set(state.active_node_ids)
        self._run(super().share_keys_stage, grid, context, state)
        self._forget(state, self._dropped(before, state, "share_keys"))
        return self._check_threshold(state)

    def collect_masked_vectors_stage(
        self, grid: Grid, context: LegacyContext, state: WorkflowState
    ) -> bool:
        before = set(state.active_node_ids)
        self._run(super().collect_masked_vectors_stage, grid, context, state)
        self._dropped(before, state, "collect_masked_vectors")
        return self._check_threshold(state)

    def unmask_stage(self, grid: Grid, context: LegacyContext, state: WorkflowState) -> bool:
        before = set(state.active_node_ids)
        ok = super().unmask_stage(grid, context, state)
        self._dropped(before, state, "unmask")
        return ok


__all__ = ["DropoutTolerantSecAggPlus", "STAGES", "protocol_params"]
