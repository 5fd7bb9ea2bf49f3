"""A warm ClientApp launcher for a SuperNode: fork a prepared process instead of importing anew.

Flower's SuperExec starts a fresh ``flwr-clientapp`` process for every message a site answers,
and each one imports Flower's runtime, torch (with ``torch._dynamo``, pulled in by
``torch.optim``), Opacus, TenSEAL, SQLAlchemy and privtrain before it does any work: seconds of
CPU per message, most of a Deployment Engine round on a small model.

A site can run the launcher next to its SuperNode, as the same user and with the same
environment::

    python -m federated.warm serve --socket $FLWR_HOME/warm.sock
    python -m federated.warm install --socket $FLWR_HOME/warm.sock --bin-dir $FLWR_HOME/bin
    PATH=$FLWR_HOME/bin:$PATH flower-supernode ...

``serve`` imports those libraries once, then listens on a Unix socket (mode 0600, in a 0700
folder, peers of another uid refused). ``install`` writes ``flwr-clientapp`` in ``--bin-dir``: a
stdlib-only client that asks the launcher for a child and waits for it — relaying SIGTERM/SIGINT
and the exit status — or runs Flower's own ``flwr-clientapp`` when no launcher listens. Each
child runs Flower's ``flwr-clientapp`` entry point with the very arguments SuperExec gave.

Nothing secret is held or cached here: the launcher has no key, no open home and no data; each
child opens its site's home from the passphrase in its environment, as a cold process does. The
app's own modules (``federated.*``) are not preloaded: each child imports them from the FAB the
SuperNode installed. The launcher starts no thread before it forks.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import json
import os
import select
import signal
import socket
import stat
import struct
import sys
from pathlib import Path

# Imported once in the launcher (what a ClientApp of this project imports, heaviest first).
PRELOAD = (
    "torch",
    "torch.optim",
    "torch._dynamo",
    "opacus",
    "tenseal",
    "numpy",
    "pyarrow",
    "pyarrow.parquet",
    "sqlalchemy",
    "flwr.app",
    "flwr.clientapp",
    "flwr.client.mod",
    "flwr.compat.common.recorddict_compat",
    "flwr.supernode.cli.flwr_clientapp",
    "flwr.supernode.runtime.run_clientapp",
    # what flwr-clientapp imports lazily for every message (its HTTP client to the SuperNode:
    # ~0.1-0.5 s a message on a busy machine), and what training reads its table with
    "httpx",
    "httpcore",
    "h11",
    "h2.connection",
    "psutil",
    "pyarrow.dataset",
    "privtrain.config",
    "privtrain.workspace",
    "privtrain.ledger",
    "privtrain.access",
    "privtrain.datasets",
    "privtrain.training",
    "privtrain.dp",
    "privtrain.dp._trainer",
    "privtrain.dp._local",
    "cryptography.hazmat.primitives.ciphers.aead",
    "cryptography.hazmat.primitives.kdf.hkdf",
)
_MAX_REQUEST = 64 * 1024

CLIENT = """#!{python} -IS
# flwr-clientapp through the warm launcher of this SuperNode (federated/warm.py)
import json, os, signal, socket, sys
SOCK, REAL = {sock!r}, {real!r}
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(SOCK)
except OSError:
    os.execv(REAL, [REAL, *sys.argv[1:]])
s.sendall((json.dumps(sys.argv[1:]) + "\\n").encode())
f = s.makefile("r")
line = f.readline()
if not line.strip().isdigit():
    sys.exit(1)
pid = int(line)


def relay(sig, _frame):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


for sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, relay)
line = f.readline()
sys.exit(int(line.split()[1]) if line.startswith("exit ") else 1)
"""


def install(sock: Path, bin_dir: Path, real: str | None = None) -> Path:
    """Write ``bin_dir/flwr-clientapp``, the client of the launcher listening on ``sock``."""
    if real is None:
        real = str(Path(sys.executable).parent / "flwr-clientapp")
    bin_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = bin_dir / "flwr-clientapp"
    text = CLIENT.format(python=sys.executable, sock=str(sock.absolute()), real=real)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(0o700)
    os.replace(tmp, path)
    return path


def _peer_uid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


def _read_request(conn: socket.socket) -> list[str] | None:
    conn.settimeout(5.0)
    buf = b""
    while not buf.endswith(b"\n"):
        part = conn.recv(4096)
        if not part or len(buf) + len(part) > _MAX_REQUEST:
            return None
        buf += part
    try:
        argv = json.loads(buf)
    except ValueError:
        return None
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        return None
    return argv


def _child(srv: socket.socket, conn: socket.socket, argv: list[str]) -> None:
    """In the forked child: become ``flwr-clientapp ARGV`` and never return."""
    code = 1
    try:
        srv.close()
        conn.close()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        # the app's own modules come from the FAB (Flower puts its folder first on sys.path)
        for name in [m for m in sys.modules if m == "federated" or m.startswith("federated.")]:
            del sys.modules[name]
        sys.argv = [str(Path(sys.executable).parent / "flwr-clientapp"), *argv]
        from flwr.supernode.cli.flwr_clientapp import flwr_clientapp

        flwr_clientapp()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:  # noqa: BLE001 - the child must end here, whatever happened
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def serve(sock: Path, preload: tuple[str, ...] = PRELOAD) -> None:
    """Import ``preload``, then fork one ``flwr-clientapp`` per request until SIGTERM/SIGINT."""
    for name in preload:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    # A message's objects: first retry after 0.05 s, not Flower's 1 s (federated/waits.py).
    # Patched once here, inherited by every forked child.
    from .waits import fast_object_pulls

    fast_object_pulls()
    # Children share the preloaded objects copy-on-write; a collection in a child would touch
    # (and so copy) every page holding them. Freeze them out of the collector's reach.
    gc.collect()
    gc.freeze()
    sock = sock.absolute()
    sock.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if stat.S_IMODE(sock.parent.stat().st_mode) & 0o077:
        sock.parent.chmod(0o700)
    with contextlib.suppress(FileNotFoundError):
        sock.unlink()
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        srv.bind(str(sock))
    finally:
        os.umask(old)
    srv.listen(64)
    stopping: list[int] = []

    def stop(sig: int, _frame: object) -> None:
        stopping.append(sig)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    waiting: dict[int, socket.socket] = {}
    me = os.getuid()
    print(f"warm clientapp launcher ready on {sock}", flush=True)
    try:
        while not stopping:
            with contextlib.suppress(InterruptedError):
                ready, _, _ = select.select([srv], [], [], 0.05)
                if ready:
                    conn, _ = srv.accept()
                    argv = _read_request(conn) if _peer_uid(conn) == me else None
                    if argv is None:
                        conn.close()
                    else:
                        sys.stdout.flush()
                        sys.stderr.flush()
                        pid = os.fork()
                        if pid == 0:
                            _child(srv, conn, argv)
                        waiting[pid] = conn
                        with contextlib.suppress(OSError):
                            conn.sendall(f"{pid}\n".encode())
            _reap(waiting)
    finally:
        for pid in waiting:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        srv.close()
        with contextlib.suppress(FileNotFoundError):
            sock.unlink()


def _reap(waiting: dict[int, socket.socket]) -> None:
    while waiting:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = waiting.pop(pid, None)
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.sendall(f"exit {os.waitstatus_to_exitcode(status)}\n".encode())
            conn.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m federated.warm")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="preload and fork flwr-clientapp processes")
    s.add_argument("--socket", required=True, type=Path)
    i = sub.add_parser("install", help="write the flwr-clientapp client into --bin-dir")
    i.add_argument("--socket", required=True, type=Path)
    i.add_argument("--bin-dir", required=True, type=Path)
    a = ap.parse_args(argv)
    if a.cmd == "serve":
        serve(a.socket)
    else:
        print(install(a.socket, a.bin_dir))


if __name__ == "__main__":
    main()
