"""Flower 1.42's first retry of an object pull after 1 s, started after 0.05 s instead.

A Flower message travels as a tree of objects (its records, arrays, chunks). Whoever receives
one — a SuperNode from its SuperLink, a ClientApp from its SuperNode, the ServerApp from the
SuperLink — is told the message's object ids and pulls them one by one; an object its sender
has not finished pushing yet is "unavailable", and ``pull_objects`` retries it after a backoff
that starts at a fixed 1 s (``PULL_INITIAL_BACKOFF``) and doubles up to 10 s. The receiver
usually asks a few milliseconds after the message is announced — a forked ClientApp asks its
SuperNode while the SuperNode is still pulling the same objects from the SuperLink — so the
first retry, a whole second later, was most of the wait: measured here, a ClientApp's pull of
its ``train`` message took 1.3 s for a 30 kB model, and each exchange of a round pays it at
least once (``benchmarks/RESULTS.md``).

:func:`fast_object_pulls` makes that first retry come after ``initial`` seconds (default
0.05 s); the backoff still doubles up to Flower's cap and Flower's limits on tries and time are
unchanged, so a missing object is retried ~6 times more in its first second and never fails
sooner than under Flower's own settings (the tries limit, 500, is still reached after hours).
Flower has no setting for this: the function changes the keyword defaults of the two pull
functions of this Flower minor version, only when they hold Flower's 1 s, and otherwise
leaves them alone (False). It applies to the process that calls it: the SuperNode
(``python -m federated.supernode``), the warm launcher (``federated.warm``, once, before it
forks: every ClientApp it forks inherits it) and the ServerApp (``federated.server_app``).
"""

from __future__ import annotations

DEFAULT_INITIAL = 0.05


def fast_object_pulls(initial: float = DEFAULT_INITIAL) -> bool:
    """Start Flower's object-pull backoff at ``initial`` seconds in this process. False
    (nothing changed) unless this is Flower 1.42 with its 1 s initial backoff."""
    import flwr
    from flwr.supercore.inflatable import inflatable_utils as iu

    if not str(flwr.__version__).startswith("1.42."):
        return False
    funcs = (iu.pull_objects, iu.pull_and_inflate_object_from_tree)
    kwdefaults = [f.__kwdefaults__ or {} for f in funcs]
    if any(kw.get("initial_backoff") not in (1, initial) for kw in kwdefaults):
        return False
    for f, kw in zip(funcs, kwdefaults, strict=True):
        f.__kwdefaults__ = {**kw, "initial_backoff": float(initial)}
    return True
