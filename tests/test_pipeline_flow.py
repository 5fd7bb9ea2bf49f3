"""The Prefect flow of examples/pipeline/ run for real in Prefect (ephemeral local API): privtrain
as one task through `--json`, retried on a busy exit code (9), not retried on budget (8)."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
ADULT = REPO.parent / "shared" / "data" / "adult" / "adult.data.csv"
FEATURES = REPO / "examples" / "adult_features.yaml"
FLOW = REPO / "examples" / "pipeline" / "flow.py"
PASS = "pipeline flow tests passphrase"


@pytest.fixture()
def env(tmp_path: Path) -> dict[str, str]:
    pytest.importorskip("prefect", reason="install the optional extra: pip install '.[pipeline]'")
    if not ADULT.exists():
        pytest.skip(f"UCI Adult data not found at {ADULT}")
    count = tmp_path / "attempts.txt"
    wrapper = tmp_path / "privtrain.sh"
    wrapper.write_text(
        f'#!/bin/sh\n"{sys.executable}" -m privtrain "$@"\nrc=$?\n'
        f'echo "$rc" >> "{count}"\nexit $rc\n'
    )
    wrapper.chmod(0o755)
    e = {
        **os.environ,
        "PRIVTRAIN_HOME": str(tmp_path / "home"),
        "PRIVTRAIN_PASSPHRASE": PASS,
        "PRIVTRAIN_KDF_PROFILE": "fast",
        "PRIVTRAIN_CMD": str(wrapper),
        "PRIVTRAIN_FLOW_RETRY_DELAY": "1",
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_ENABLED": "true",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "600",
        "PREFECT_API_URL": "",
        "DO_NOT_TRACK": "1",
    }
    data = tmp_path / "adult300.csv"
    data.write_text("\n".join(ADULT.read_text().splitlines()[:301]) + "\n")
    for args in (
        ["init"],
        ["datasets", "import", str(data), "--name", "adult"],
        ["budget", "set", "adult", "--epsilon", "1.5"],
    ):
        r = subprocess.run([sys.executable, "-m", "privtrain", *args], env=e, capture_output=True)
        assert r.returncode == 0, r.stderr
    return e


def _pipeline(path: Path, name: str, epsilon: float) -> Path:
    path.write_text(
        f"name: {name}\n"
        "stages:\n"
        "  train:\n"
        "    dataset: adult\n"
        "    target: class\n"
        f"    features: {FEATURES}\n"
        f"    epsilon: {epsilon}\n"
        f"    model: {name}\n"
        "    settings: {batch_size: 32, hidden: [16], steps: 20, threads: 1}\n"
        "  publish:\n"
        f"    out: out/{name}.pt\n"
    )
    return path


def _attempts(env: dict[str, str]) -> list[int]:
    """Exit codes of the privtrain attempts so far, in order."""
    f = Path(env["PRIVTRAIN_CMD"]).with_name("attempts.txt")
    return [int(x) for x in f.read_text().split()] if f.exists() else []


def test_flow_retries_busy_then_succeeds(env: dict[str, str], tmp_path: Path) -> None:
    p = _pipeline(tmp_path / "ok.yaml", "flowmodel", 1.0)
    lock = Path(env["PRIVTRAIN_HOME"]) / "pipelines" / "flowmodel.state.json.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another run "holds" the pipeline: exit 9, retried

    def release() -> None:
        deadline = time.monotonic() + 600
        while not _attempts(env) and time.monotonic() < deadline:
            time.sleep(0.2)
        os.close(fd)  # after the first attempt has failed on the lock

    t = threading.Thread(target=release, daemon=True)
    t.start()
    r = subprocess.run(
        [sys.executable, str(FLOW), str(p)], env=env, capture_output=True, text=True, timeout=900
    )
    t.join(timeout=5)
    assert r.returncode == 0, r.stderr[-3000:]
    stages = json.loads(r.stdout.strip().splitlines()[-1])
    assert stages == {"train": "completed", "publish": "completed"}
    assert _attempts(env) == [9, 0]  # the lock was held (busy, 9): retried, then done
    assert (tmp_path / "out" / "flowmodel.pt").exists()


def test_flow_does_not_retry_budget_refusal(env: dict[str, str], tmp_path: Path) -> None:
    p = _pipeline(tmp_path / "over.yaml", "overmodel", 5.0)
    r = subprocess.run(
        [sys.executable, str(FLOW), str(p)], env=env, capture_output=True, text=True, timeout=900
    )
    assert r.returncode != 0
    assert "privtrain exited 8" in r.stderr
    assert _attempts(env) == [8]  # budget exceeded: not retried
