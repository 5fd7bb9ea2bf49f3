"""The Deployment Engine on one machine: real SuperLink / SuperNode processes on 127.0.0.1.

:class:`LocalFederation` splits a dataset of the coordinating home across ``sites`` new site
homes (each its own keyring, catalog, ledger and budget), runs the HE key ceremony when asked,
starts one ``flower-superlink`` and one ``flower-supernode`` per site (each with its own
``FLWR_HOME`` and node config; run as ``python -m federated.supernode``, which polls the
SuperLink every 0.1 s instead of napping 3 s between pulls), submits the app with
``flwr run``, follows the ServerApp's progress events, and stops every process it started —
on success, failure, or Ctrl-C.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from privtrain.errors import ConfigError, InputError, PrivtrainError, TrainingError

from .job import AGGREGATIONS

APP_DIR = Path(__file__).resolve().parent.parent
EventFn = Callable[[dict[str, Any]], None]


@dataclass
class LocalOptions:
    dataset: str
    workdir: Path
    sites: int = 3
    aggregation: str = "he"
    rounds: int = 3
    local_steps: int = 10
    epsilon: float | None = 1.0
    delta: float = 1e-5
    site_budget: float = 10.0
    min_sites: int | None = None
    target: str = "class"
    features: Path | None = None
    site_policy: Path | None = None
    site_policies: dict[int, Path] = field(default_factory=dict)
    reply_timeout: float = 90.0
    setup_timeout: float = 300.0
    timeout: float = 1800.0
    model_name: str = "federated"
    hidden: str = "64"
    batch_size: int = 256
    optimizer: str = "adam"
    lr: float = 2e-3
    noise_seed: int | None = None
    seed: int = 0
    warm: bool = True  # fork each ClientApp from a prepared launcher (federated/warm.py)
    # SuperNodes pull their next message every node_poll s (federated/supernode.py); None:
    # Flower's own flower-supernode (a 3 s nap between pulls)
    node_poll: float | None = 0.1
    # TLS on the SuperLink and SuperNode authentication, with certificates and keys made by
    # examples/federated/make_certs.sh (as across real machines; tests and drills)
    tls: bool = False


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bin(name: str) -> str:
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if not found:
        raise ConfigError(f"{name} not found (is flwr installed in this environment?)")
    return found


def _base_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        FLWR_TELEMETRY_ENABLED="0",
        FLWR_DISABLE_UPDATE_CHECK="1",
        FLWR_SUPEREXEC_TASK_POLL_INTERVAL="0.05",
        PYTHONUNBUFFERED="1",
    )
    # The SuperLink and SuperNodes start flower-superexec, flwr-serverapp and flwr-clientapp
    # by name: this interpreter's scripts come first.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _toml_str(v: str) -> str:
    return json.dumps(v)  # a JSON string is a valid TOML basic string


class LocalFederation:
    def __init__(
        self, ws: Any, opts: LocalOptions, passphrase: str, on_event: EventFn | None = None
    ):
        if opts.aggregation not in AGGREGATIONS:
            raise InputError(f"--aggregation must be one of {', '.join(AGGREGATIONS)}")
        if opts.sites < 1 or opts.sites > 32:
            raise InputError(f"--sites must be between 1 and 32, got {opts.sites}")
        self.ws, self.opts, self.passphrase = ws, opts, passphrase
        self.on_event = on_event
        self.workdir = Path(opts.workdir).absolute()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        # Every descendant seen (SuperExec detaches into its own session, so process groups
        # are not enough): name of the started process -> psutil.Process handles.
        self.descendants: dict[str, dict[int, Any]] = {}
        self.site_names = [f"site-{i + 1}" for i in range(opts.sites)]
        self.federation = f"local-{secrets.token_hex(4)}"
        self._sock_dir: Path | None = None

    # -- setup ---------------------------------------------------------------------------
    def site_home(self, i: int) -> Path:
        return self.workdir / self.site_names[i] / "home"

    def prepare_sites(self) -> None:
        """Split the coordinator's dataset across fresh site homes with their own budgets."""
        import numpy as np
        import pyarrow.parquet as pq

        from privtrain import access, datasets
        from privtrain.config import load_settings
        from privtrain.ledger import Ledger
        from privtrain.workspace import Workspace

        info, table = datasets.read_table(
            self.ws, self.opts.dataset, purpose="dataset.read.federated"
        )
        n = table.num_rows
        if n < self.opts.sites * 10:
            raise InputError(
                f"dataset {info.ref} has too few rows to split across {self.opts.sites} sites"
            )
        perm = np.random.default_rng(self.opts.seed).permutation(n)
        parts = np.array_split(perm, self.opts.sites)
        for i, idx in enumerate(parts):
            home = self.site_home(i)
            if (home / "keyring.enc").exists():
                raise ConfigError(f"site home {home} already exists; use a fresh --workdir")
            settings = load_settings(home=str(home), identity="custodian")
            sws = Workspace.init(settings, self.passphrase)
            part = table.take(np.sort(idx))

            def produce(sink: Any, part: Any = part) -> tuple[dict[str, Any], None]:
                buf = io.BytesIO()
                pq.write_table(part, buf)
                sink.write(buf.getvalue())
                return {"columns": part.column_names}, None

            datasets.store_stream(
                sws,
                info.name,
                produce,
                sensitivity=info.sensitivity,
                source_name=f"{info.ref} part {i + 1}/{self.opts.sites}",
                site=self.site_names[i],
                action="dataset.import",
            )
            Ledger(sws.catalog, identity="custodian", audit=sws.audit).set_budget(
                info.name, self.opts.site_budget, self.opts.delta
            )
            # the custodian enables federated training: the federated-client principal
            # (Cedar lets it read de-identified data of its own site only)
            access.ensure_service_principal(sws, "federated-client", site=self.site_names[i])
            self._emit({"event": "site_ready", "site": self.site_names[i], "home": str(home)})
        self.dataset_name = info.name

    def he_ceremony(self) -> Path:
        """keygen at site 1, encrypted key shares imported by the others, public context for
        the server. No secret context is ever written in clear."""
        from privtrain.config import load_settings
        from privtrain.workspace import Workspace

        from . import he

        homes = [self.site_home(i) for i in range(self.opts.sites)]
        wss = [
            Workspace.open(load_settings(home=str(h), identity="custodian"), self.passphrase)
            for h in homes
        ]
        pub, sec = he.keygen(wss[0], self.federation)
        share_pass = secrets.token_urlsafe(24)
        share = he.export_share(self.federation, sec, share_pass)
        del sec
        for w in wss[1:]:
            fed, secret = he.import_share(share, share_pass)
            he.store_secret(w, fed, secret, pub)
        path = self.workdir / "server" / "he-public.ctx"
        path.parent.mkdir(parents=True, exist_ok=True)
        from privtrain._io import atomic_write_bytes

        atomic_write_bytes(path, pub, mode=0o644)
        self._emit(
            {
                "event": "he_keys",
                "federation": self.federation,
                "public_sha256": he.fingerprint(pub),
            }
        )
        return path

    # -- processes -----------------------------------------------------------------------
    def _start(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        logs = self.workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        out = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - owned by the process
        try:
            p = subprocess.Popen(
                argv,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=str(self.workdir),
            )
        finally:
            out.close()
        self.procs[name] = p

    def start(self) -> None:
        env = _base_env()
        env["PRIVTRAIN_PASSPHRASE"] = self.passphrase
        env["PRIVTRAIN_FED_EXPECT_SITES"] = str(self.opts.sites)
        self.port = free_port()
        link_home = self.workdir / "flwr" / "superlink"
        link_home.mkdir(parents=True, exist_ok=True)
        self._start(
            "superlink",
            [
                _bin("flower-superlink"),
                *self._link_security(),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--disable-runtime-dependency-installation",
            ],
            {**env, "FLWR_HOME": str(link_home)},
        )
        self._wait_port(self.port, "superlink")
        if self.opts.tls:
            self._register_sites()
        site_envs = {n: {**env, "FLWR_HOME": str(self._flwr_home(n))} for n in self.site_names}
        if self.opts.warm:  # fork ClientApps from a prepared process (federated/warm.py)
            self._start_warm(site_envs)
        for i, name in enumerate(self.site_names):
            node_cfg = {
                "site": name,
                "home": str(self.site_home(i)),
                "dataset": self.dataset_name,
                # the sites share this machine: one torch thread each (two threads per site
                # on two cores ran a round's local steps ~2x slower)
                "threads": 1,
            }
            pol = self.opts.site_policies.get(i) or self.opts.site_policy
            if pol:
                node_cfg["policy"] = str(Path(pol).absolute())
            nc = " ".join(f"{k}={_toml_str(v)}" for k, v in node_cfg.items())
            if self.opts.node_poll is None:
                node = [_bin("flower-supernode")]
            else:
                node = [sys.executable, "-m", "federated.supernode"]
                site_envs[name].setdefault("PRIVTRAIN_SUPERNODE_POLL", str(self.opts.node_poll))
            self._start(
                name,
                [
                    *node,
                    *self._node_security(name),
                    "--superlink",
                    f"127.0.0.1:{self.port}",
                    "--port",
                    str(free_port()),
                    "--node-config",
                    nc,
                ],
                site_envs[name],
            )

    # -- TLS and SuperNode authentication (examples/federated/make_certs.sh) ---------------
    @property
    def certs(self) -> Path:
        return self.workdir / "certs"

    def make_certs(self) -> None:
        script = APP_DIR / "examples" / "federated" / "make_certs.sh"
        env = {**_base_env(), "CERT_DIR": str(self.certs)}
        out = subprocess.run(
            ["bash", str(script), "127.0.0.1", *self.site_names],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=str(self.workdir),
        )
        if out.returncode != 0:
            why = (out.stderr or out.stdout).strip()[-300:]
            raise TrainingError(f"make_certs.sh failed: {why}")

    def _link_security(self) -> list[str]:
        if not self.opts.tls:
            return ["--insecure"]
        c = self.certs
        return [
            "--ssl-ca-certfile",
            str(c / "ca.crt"),
            "--ssl-certfile",
            str(c / "superlink.crt"),
            "--ssl-keyfile",
            str(c / "superlink.key"),
            "--enable-supernode-auth",
        ]

    def _node_security(self, name: str) -> list[str]:
        if not self.opts.tls:
            return ["--insecure"]
        return [
            "--root-certificates",
            str(self.certs / "ca.crt"),
            "--auth-supernode-private-key",
            str(self.certs / f"{name}.key"),
        ]

    def _cli_env(self) -> dict[str, str]:
        """FLWR_HOME of the Flower CLI, naming this SuperLink (with the CA under TLS)."""
        cli_home = self.workdir / "flwr" / "cli"
        cli_home.mkdir(parents=True, exist_ok=True)
        sec = (
            f"root-certificates = {_toml_str(str(self.certs / 'ca.crt'))}\n"
            if self.opts.tls
            else "insecure = true\n"
        )
        (cli_home / "config.toml").write_text(
            '[superlink]\ndefault = "local"\n\n[superlink.local]\n'
            f'address = "127.0.0.1:{self.port}"\n{sec}'
        )
        return {**_base_env(), "FLWR_HOME": str(cli_home)}

    def _register_sites(self) -> None:
        """`flwr supernode register SITE.pub`: only registered keys may connect."""
        for name in self.site_names:
            out = subprocess.run(
                [_bin("flwr"), "supernode", "register", str(self.certs / f"{name}.pub"), "local"],
                env=self._cli_env(),
                capture_output=True,
                text=True,
                timeout=120,
                cwd=str(self.workdir),
            )
            (self.workdir / "logs" / f"register-{name}.log").write_text(out.stdout + out.stderr)
            if out.returncode != 0:
                raise TrainingError(f"flwr supernode register {name}.pub failed (see logs)")

    def _flwr_home(self, name: str) -> Path:
        home = self.workdir / "flwr" / name
        home.mkdir(parents=True, exist_ok=True)
        return home

    def _start_warm(self, site_envs: dict[str, dict[str, str]], timeout: float = 180.0) -> None:
        """One warm ClientApp launcher per site (same environment as its SuperNode), and its
        ``flwr-clientapp`` client first on the SuperNode's PATH. Waits until they listen: a
        cold ClientApp that misses Flower's 30 s first-heartbeat window on a loaded machine is
        restarted, again and again."""
        from . import warm

        # short: a socket path has at most 107 bytes
        self._sock_dir = Path(tempfile.mkdtemp(prefix="privtrain-warm-"))
        socks = {}
        for name, site_env in site_envs.items():
            socks[name] = self._sock_dir / f"{name}.sock"
            cmd = [sys.executable, "-m", "federated.warm", "serve", "--socket", str(socks[name])]
            self._start(f"{name}.warm", cmd, site_env)
            bin_dir = self._flwr_home(name) / "bin"
            warm.install(socks[name], bin_dir)
            site_env["PATH"] = os.pathsep.join([str(bin_dir), site_env["PATH"]])
        deadline = time.monotonic() + timeout
        for name, sock in socks.items():
            while not sock.exists() and time.monotonic() < deadline:
                p = self.procs[f"{name}.warm"]
                if p.poll() is not None:
                    raise TrainingError(
                        f"{name}.warm exited with {p.returncode} "
                        f"(see {self.workdir / 'logs' / (name + '.warm.log')})"
                    )
                time.sleep(0.1)

    def _wait_port(self, port: int, name: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            p = self.procs[name]
            if p.poll() is not None:
                raise TrainingError(
                    f"{name} exited with {p.returncode} "
                    f"(see {self.workdir / 'logs' / (name + '.log')})"
                )
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                return
            time.sleep(0.2)
        raise TrainingError(f"{name} did not listen on 127.0.0.1:{port} within {timeout:g} s")

    def run_config(self, public_ctx: Path | None) -> dict[str, Any]:
        o = self.opts
        cfg: dict[str, Any] = {
            "num-server-rounds": o.rounds,
            "local-steps": o.local_steps,
            "epsilon": -1.0 if o.epsilon is None else float(o.epsilon),
            "delta": float(o.delta),
            "aggregation": o.aggregation,
            "min-sites": o.min_sites or o.sites,
            "target": o.target,
            "hidden": o.hidden,
            "batch-size": o.batch_size,
            "optimizer": o.optimizer,
            "lr": float(o.lr),
            "seed": o.seed,
            "noise-seed": -1 if o.noise_seed is None else o.noise_seed,
            "reply-timeout": float(o.reply_timeout),
            "setup-timeout": float(o.setup_timeout),
            "model-name": o.model_name,
            "coordinator-home": str(self.ws.settings.home),
            "events-path": str(self.events_path),
            "summary-path": str(self.summary_path),
            "federation": self.federation,
        }
        if o.features:
            cfg["features"] = str(Path(o.features).absolute())
        if public_ctx is not None:
            cfg["he-public-context"] = str(public_ctx)
        if o.aggregation == "secagg+":
            cfg["secagg-shares"] = o.sites
            cfg["secagg-threshold"] = max(2, (o.min_sites or o.sites) - 1) if o.sites > 2 else 2
        return cfg

    def submit(self, public_ctx: Path | None) -> None:
        env = self._cli_env()
        parts = []
        for k, v in self.run_config(public_ctx).items():
            parts.append(f"{k}={_toml_str(v) if isinstance(v, str) else json.dumps(v)}")
        out = subprocess.run(
            [_bin("flwr"), "run", str(APP_DIR), "local", "--run-config", " ".join(parts)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=str(APP_DIR),
        )
        (self.workdir / "logs" / "flwr-run.log").write_text(out.stdout + out.stderr)
        if out.returncode != 0:
            text = [ln.strip("│╭╮╰╯─ ") for ln in (out.stdout + out.stderr).splitlines()]
            last = [ln for ln in text if ln and "Error" not in ln][-1:] or ["?"]
            raise TrainingError(f"flwr run failed: {last[0]} (see {self.workdir}/logs)")

    def follow(self) -> dict[str, Any]:
        """Relay progress events until the ServerApp writes its summary."""
        deadline = time.monotonic() + self.opts.timeout
        pos = 0
        while time.monotonic() < deadline:
            pos = self._relay(pos)
            if self.summary_path.exists():
                self._relay(pos)
                return json.loads(self.summary_path.read_text())
            self._scan()
            link = self.procs["superlink"]
            if link.poll() is not None:
                raise TrainingError(f"superlink exited with {link.returncode}")
            time.sleep(0.2)
        raise TrainingError(f"the federated run did not finish within {self.opts.timeout:g} s")

    def _relay(self, pos: int) -> int:
        if not self.events_path.exists():
            return pos
        with open(self.events_path, encoding="utf-8") as f:
            f.seek(pos)
            while True:
                line = f.readline()
                if not line.endswith("\n"):
                    break
                pos = f.tell()
                with contextlib.suppress(ValueError):
                    self._emit(json.loads(line))
        return pos

    def _emit(self, ev: dict[str, Any]) -> None:
        if self.on_event is not None:
            self.on_event(ev)

    def _scan(self) -> None:
        """Remember every live descendant of the processes started here."""
        import psutil

        for name, p in self.procs.items():
            seen = self.descendants.setdefault(name, {})
            with contextlib.suppress(psutil.Error):
                for c in psutil.Process(p.pid).children(recursive=True):
                    seen.setdefault(c.pid, c)
            for c in list(seen.values()):  # children of remembered (possibly orphaned) ones
                with contextlib.suppress(psutil.Error):
                    for cc in c.children(recursive=True):
                        seen.setdefault(cc.pid, cc)

    def _kill(self, names: list[str], sig: int) -> None:
        import psutil

        for name in names:
            p = self.procs[name]
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.pid, sig)
            for c in self.descendants.get(name, {}).values():
                with contextlib.suppress(psutil.Error):
                    c.send_signal(sig)

    def kill_site(self, name: str) -> None:
        """SIGKILL a site's SuperNode, its warm launcher and every process they started (tests
        and drills)."""
        self._scan()
        names = [n for n in (name, f"{name}.warm") if n in self.procs]
        self._kill(names, signal.SIGKILL)
        for n in names:
            self.procs[n].wait()

    def stop(self) -> None:
        """Stop every process started here and all their descendants: SIGTERM, then SIGKILL
        whatever is left after a grace period."""
        import psutil

        self._scan()
        names = list(self.procs)
        self._kill(names, signal.SIGTERM)
        everyone = [c for d in self.descendants.values() for c in d.values()]
        deadline = time.monotonic() + 8
        for p in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
        _, alive = psutil.wait_procs(everyone, timeout=max(0.1, deadline - time.monotonic()))
        self._scan()
        self._kill(names, signal.SIGKILL)
        everyone = [c for d in self.descendants.values() for c in d.values()]
        psutil.wait_procs(everyone, timeout=5)
        for p in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=5)
        del alive
        if self._sock_dir is not None:
            shutil.rmtree(self._sock_dir, ignore_errors=True)

    def pids(self) -> list[int]:
        """Every process id started here, descendants included."""
        self._scan()
        return [p.pid for p in self.procs.values()] + [
            pid for d in self.descendants.values() for pid in d
        ]

    # -- all together --------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.events_path = self.workdir / "events.jsonl"
        self.summary_path = self.workdir / "summary.json"
        for p in (self.events_path, self.summary_path):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        try:
            self.prepare_sites()
            public_ctx = self.he_ceremony() if self.opts.aggregation == "he" else None
            if self.opts.tls:
                self.make_certs()
            self.start()
            self.submit(public_ctx)
            summary = self.follow()
        except PrivtrainError:
            raise
        except subprocess.TimeoutExpired as e:
            raise TrainingError(f"{e.cmd[0]} timed out") from None
        except OSError as e:
            raise TrainingError(
                f"federated run in {self.workdir}: {e.strerror or e} ({e.filename or ''})"
            ) from None
        finally:
            self.stop()
        summary["sites_started"] = self.site_names
        summary["workdir"] = str(self.workdir)
        return summary
