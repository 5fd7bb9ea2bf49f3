"""privtrain as one task of a Prefect flow, driven through ``privtrain run ... --json``.

    pip install 'privtrain[pipeline]'
    python examples/pipeline/flow.py examples/pipeline/pipeline.yaml

The task runs the whole pipeline (``privtrain run PIPELINE --json``) in a subprocess and returns
its JSON result. Retries follow privtrain's stable exit codes: only failures a retry can fix are
retried — the catalog was busy or another run of the pipeline held its lock (9), an unexpected
failure (1), or the process was killed (a signal); a rerun resumes after the last completed
stage and never charges the ledger twice. Everything else (bad input 3, not found 4, integrity
5, keys 6, access denied 7, budget exceeded 8, configuration 10, conflict 11, training 12) fails
the task at once: retrying would not change the answer.

``PRIVTRAIN_CMD`` overrides the command (default: this interpreter's ``-m privtrain``).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from typing import Any

from prefect import flow, task

#: exit codes worth retrying (README "Exit codes"): unexpected (1), busy (9), interrupted (130),
#: terminated by SIGTERM (143); negative: killed by a signal it could not handle
RETRY_EXIT_CODES = frozenset({1, 9, 130, 143})


class PrivtrainFailed(Exception):
    """``privtrain run`` exited non-zero; ``code`` is its exit code, ``result`` its JSON."""

    def __init__(self, code: int, message: str, result: dict[str, Any] | None) -> None:
        super().__init__(f"privtrain exited {code}: {message}")
        self.code = code
        self.result = result


def retryable(code: int) -> bool:
    return code in RETRY_EXIT_CODES or code < 0


def _retry_condition(task_: Any, task_run: Any, state: Any) -> bool:
    exc = state.data if isinstance(state.data, BaseException) else None
    return isinstance(exc, PrivtrainFailed) and retryable(exc.code)


def _command() -> list[str]:
    cmd = os.environ.get("PRIVTRAIN_CMD")
    return shlex.split(cmd) if cmd else [sys.executable, "-m", "privtrain"]


@task(
    name="privtrain-run",
    retries=int(os.environ.get("PRIVTRAIN_FLOW_RETRIES", "3")),
    retry_delay_seconds=float(os.environ.get("PRIVTRAIN_FLOW_RETRY_DELAY", "10")),
    retry_condition_fn=_retry_condition,
)
def privtrain_run(pipeline: str, force: str | None = None) -> dict[str, Any]:
    """One ``privtrain run PIPELINE --json``; raises :class:`PrivtrainFailed` on failure."""
    argv = [*_command(), "run", pipeline, "--json"]
    if force:
        argv += ["--force", force]
    p = subprocess.run(argv, capture_output=True, text=True)
    try:
        result = json.loads(p.stdout) if p.stdout.strip() else None
    except ValueError:
        result = None
    if p.returncode != 0:
        lines = p.stderr.strip().splitlines()
        raise PrivtrainFailed(p.returncode, lines[-1] if lines else "(no message)", result)
    assert result is not None
    return result


@flow(name="privtrain-pipeline")
def privtrain_flow(pipeline: str, force: str | None = None) -> dict[str, Any]:
    """The data pipeline's privtrain step; downstream tasks can read the stage outputs."""
    return privtrain_run(pipeline, force)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: flow.py PIPELINE.yaml [--force STAGE]")
    force = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--force" else None
    out = privtrain_flow(sys.argv[1], force)
    print(json.dumps({s["name"]: s["status"] for s in out["stages"]}))
