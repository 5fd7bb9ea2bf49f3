"""``flower-supernode`` that asks its SuperLink for the next message every 0.1 s, not every 3 s.

Flower 1.42's SuperNode loop (``flwr.supernode.start_client_internal``) pulls a message from
the SuperLink and, when none is waiting, sleeps a fixed 3 s before it pulls again; while a
ClientApp works it checks for the reply every 0.5 s. The server sends a site its next message
right after the last reply of the previous exchange came in — when every SuperNode is asleep —
so each exchange waits for the slowest of the sites' 3 s naps: about 2.3 s with three sites,
and then up to 0.5 s more for the reply. A plaintext or HE round is one exchange; a SecAgg+
round is four (setup, share keys, masked vectors = training, unmask), so those naps were most
of a SecAgg+ round on a small model (``benchmarks/RESULTS.md``).

Run it exactly like ``flower-supernode`` (same arguments)::

    python -m federated.supernode --superlink HOST:9092 --node-config '...' ...

It sets the sleeps of that one Flower module to at most ``PRIVTRAIN_SUPERNODE_POLL`` seconds
(default 0.1) and then runs Flower's own ``flower-supernode``: same protocol, messages and
processes; one small gRPC pull per interval while idle. It also starts Flower's object-pull
retries after 0.05 s instead of 1 s (:mod:`federated.waits`). Flower has no setting for this loop,
so the module is checked first — only this Flower minor version, with the three sleeps
described above — and otherwise left alone (Flower's own intervals, with a warning).
"""

from __future__ import annotations

import inspect
import os
import re
import sys
import types
from typing import Any

DEFAULT_POLL = 0.1
# The sleeps of flwr.supernode.start_client_internal in Flower 1.42: the idle pull (3 s), the
# wait for a ClientApp's reply and for its objects (0.5 s each).
_EXPECTED = ("time.sleep(3)", "time.sleep(0.5)", "time.sleep(0.5)")


def poll_interval() -> float:
    """``PRIVTRAIN_SUPERNODE_POLL`` in seconds, clamped to [0.01, 3]; a value that is not a
    number is a ConfigError naming the variable."""
    from privtrain.errors import ConfigError

    raw = os.environ.get("PRIVTRAIN_SUPERNODE_POLL", "").strip()
    if not raw:
        return DEFAULT_POLL
    try:
        v = float(raw)
    except ValueError:
        raise ConfigError(f"PRIVTRAIN_SUPERNODE_POLL={raw!r} is not a number of seconds") from None
    if v != v:  # NaN
        raise ConfigError("PRIVTRAIN_SUPERNODE_POLL is not a number of seconds")
    return min(max(v, 0.01), 3.0)


def patch(poll: float | None = None) -> bool:
    """Cap the sleeps of Flower's SuperNode loop at ``poll`` seconds. False (nothing changed)
    when this Flower's loop is not the one described in the module docstring."""
    import flwr
    from flwr.supernode import start_client_internal as loop

    poll = poll_interval() if poll is None else poll
    if not str(flwr.__version__).startswith("1.42."):
        return False
    try:
        src = inspect.getsource(loop)
    except (OSError, TypeError):
        return False
    found = tuple(re.findall(r"\btime\.sleep\([^)]*\)", src))
    if found != _EXPECTED:
        return False
    real = loop.time

    class _Time(types.ModuleType):
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    shim = _Time("time")
    shim.sleep = lambda s: real.sleep(min(float(s), poll))  # type: ignore[attr-defined]
    loop.time = shim  # type: ignore[attr-defined]
    return True


def main() -> None:
    from privtrain.errors import ConfigError

    from .waits import fast_object_pulls

    try:
        poll = poll_interval()
    except ConfigError as e:
        print(f"federated.supernode: {e.message}", file=sys.stderr, flush=True)
        raise SystemExit(e.exit_code) from None
    fast_object_pulls()
    if not patch(poll):
        print(
            "federated.supernode: this Flower's SuperNode loop is not the one expected; "
            "running it with Flower's own poll intervals",
            file=sys.stderr,
            flush=True,
        )
    from flwr.supernode.cli.flower_supernode import flower_supernode

    sys.argv[0] = "flower-supernode"
    flower_supernode()


if __name__ == "__main__":
    main()
