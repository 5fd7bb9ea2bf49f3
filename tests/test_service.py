"""The registry service: a real `privtrain serve` (uvicorn) on 127.0.0.1, real HTTP clients.

Same home and decision matrix as tests/test_access.py, this time through HTTP; then bad
tokens, token scope, the `privtrain get` client, fuzzing every endpoint from the service's own
OpenAPI spec (schemathesis), a server killed mid-download, and catalog edits of a model.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from sqlalchemy import text
from test_access import MATRIX, PASS, build_home

from privtrain import access, datasets
from privtrain.workspace import Workspace

HTTP_ACTIONS = {"dataset.export", "dataset.read", "dataset.show", "model.export", "model.show"}
NO_TOKEN = {"stranger", "custodian", "dave"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(ws: Workspace, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PRIVTRAIN_HOME=str(ws.settings.home),
        PRIVTRAIN_PASSPHRASE=PASS,
        PRIVTRAIN_IDENTITY="custodian",
        PRIVTRAIN_KDF_PROFILE="fast",
    )
    env.update(extra)
    return env


@contextlib.contextmanager
def serving(ws: Workspace) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _free_port()
    log = open(ws.settings.home.parent / f"server-{port}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "privtrain", "serve", "--port", str(port)],
        env=_env(ws),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                log.flush()
                raise AssertionError(
                    "server exited: " + Path(log.name).read_text(errors="replace")[-2000:]
                )
            try:
                if httpx.get(url + "/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("server did not come up in 120 s")
            time.sleep(0.2)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return build_home(tmp_path_factory.mktemp("service"))


@pytest.fixture(scope="module")
def served(home: Workspace) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    with serving(home) as up:
        yield up


@pytest.fixture(scope="module")
def server(served: tuple[str, subprocess.Popen[bytes]]) -> str:
    return served[0]


@pytest.fixture(scope="module")
def tokens(home: Workspace, server: str) -> dict[str, str]:
    """Issued after the server started: it must pick up the catalog change by itself."""
    names = {p for p, *_ in MATRIX} - NO_TOKEN
    return {n: access.issue_token(home, n, ttl=timedelta(hours=1)).token for n in names}


def _auth(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


def _path(action: str, resource: str) -> str:
    kind, _, ref = resource.partition(":")
    verb = action.split(".")[1]
    base = f"/v1/{kind}s/{ref}"
    if verb == "show":
        return base
    if kind == "dataset":
        return f"{base}/content?purpose={verb}"
    return f"{base}/content"


def test_decision_matrix_through_service(
    home: Workspace, server: str, tokens: dict[str, str]
) -> None:
    rows = [r for r in MATRIX if r[1] in HTTP_ACTIONS and r[0] not in NO_TOKEN]
    assert len(rows) >= 25
    src = (home.settings.home.parent / "rows.csv").read_bytes()
    with httpx.Client(base_url=server, timeout=30) as c:
        for principal, action, resource, allowed in rows:
            r = c.get(_path(action, resource), headers=_auth(tokens[principal]))
            if allowed:
                assert r.status_code == 200, (principal, action, resource, r.text)
                if action in ("dataset.export", "dataset.read"):
                    assert r.content == src
            else:
                expected = 404 if resource.endswith("no-such") else 403
                assert r.status_code == expected, (principal, action, resource, r.text)
                err = r.json()["error"]
                assert err["code"] in ("access-denied", "not-found") and "Traceback" not in r.text
                assert b"id,age" not in r.content
    # every one of those decisions is in the audit log, with the token that asked
    evs = [e for e in home.audit.events() if e["details"].get("via") == "http"]
    assert len([e for e in evs if e["action"].startswith("access.")]) >= len(rows)
    assert any(e["decision"] == "deny" and e["details"]["policies"] for e in evs)


def test_concurrent_requests(home: Workspace, server: str, tokens: dict[str, str]) -> None:
    """More simultaneous requests than the catalog's connection pool holds: every one answers
    (the per-thread revision connection holds no pool slot)."""
    from concurrent.futures import ThreadPoolExecutor

    jobs = [
        ("alice", "/v1/datasets/deid-a/content", 200),
        ("alice", "/v1/datasets/raw-a/content", 403),
        ("fed", "/v1/datasets/deid-a/content?purpose=read", 200),
        ("bob", "/v1/models/m-dp/content", 200),
    ] * 6

    def one(job: tuple[str, str, int]) -> tuple[int, int]:
        who, path, want = job
        r = httpx.get(server + path, headers=_auth(tokens[who]), timeout=60)
        return r.status_code, want

    with ThreadPoolExecutor(max_workers=24) as pool:
        results = list(pool.map(one, jobs))
    assert all(got == want for got, want in results), results


def test_bad_tokens_are_401_and_audited(home: Workspace, server: str) -> None:
    revoked = access.issue_token(home, "alice")
    access.revoke_token(home, revoked.info.id)
    expired = access.issue_token(home, "alice", ttl=timedelta(seconds=1))
    access.add_principal(home, "frank", roles=["data-scientist"], site="site-a")
    disabled = access.issue_token(home, "frank")
    access.set_status(home, "frank", "disabled")
    time.sleep(1.5)
    cases = {
        "missing": None,
        "malformed": "not-a-token",
        "unknown": "ptk_" + "x" * 43,
        "revoked": revoked.token,
        "expired": expired.token,
        "disabled": disabled.token,
    }
    head, _ = home.audit.head()
    with httpx.Client(base_url=server, timeout=30) as c:
        for why, tok in cases.items():
            for path in ("/v1/datasets/deid-a/content", "/v1/models/m-dp/content", "/v1/datasets"):
                r = c.get(path, headers=_auth(tok) if tok else {})
                assert r.status_code == 401, (why, path, r.text)
                assert r.headers.get("www-authenticate") == "Bearer"
                assert r.json()["error"]["code"] == "unauthenticated"
                assert b"id,age" not in r.content and b"weights" not in r.content
        r = c.get("/v1/datasets", headers={"Authorization": "Basic YWxpY2U6eA=="})
        assert r.status_code == 401
    denied = [e for e in home.audit.events(since_seq=head) if e["action"] == "access.authenticate"]
    reasons = {e["details"]["reason"] for e in denied}
    assert {"missing", "malformed", "unknown", "revoked", "expired"} <= reasons
    assert all(e["decision"] == "deny" for e in denied)
    assert all(revoked.token not in json.dumps(e) for e in denied)


def test_token_scope_narrows(home: Workspace, server: str) -> None:
    tok = access.issue_token(home, "alice", scope=["catalog:read"]).token
    with httpx.Client(base_url=server, timeout=30, headers=_auth(tok)) as c:
        assert c.get("/v1/datasets/deid-a").status_code == 200
        r = c.get("/v1/datasets/deid-a/content")
        assert r.status_code == 403 and "scope" in r.json()["error"]["message"]
        names = [d["name"] for d in c.get("/v1/datasets").json()]
        assert "deid-a" in names
    last = home.audit.events(since_seq=home.audit.head()[0] - 3)
    assert any(e["details"].get("reason") == "token scope" for e in last)


def _get(home: Workspace, server: str, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`privtrain get ...` through the real CLI entry point, in this process (no home, no
    passphrase: the client only has its token)."""
    from privtrain.cli import main

    saved = {k: os.environ.get(k) for k in ("PRIVTRAIN_TOKEN", "PRIVTRAIN_PASSPHRASE")}
    os.environ["PRIVTRAIN_TOKEN"] = token
    os.environ.pop("PRIVTRAIN_PASSPHRASE", None)
    out, err, code = io.StringIO(), io.StringIO(), 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            main(["get", *args, "--server", server])
    except SystemExit as e:
        code = int(e.code or 0)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def test_get_client_verifies_and_writes_atomically(
    home: Workspace, server: str, tokens: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "model.bin"
    key = httpx.get(server + "/v1/keys").json()["model_signing"]["public_key_hex"]
    p = _get(home, server, tokens["alice"], "model", "m-dp", "--out", str(out), "--json")
    assert p.returncode == 0, p.stderr
    assert out.read_bytes() == b"weights of m-dp"
    assert json.loads(p.stdout)["card"]["privacy"]["epsilon"] == 1.0
    # a pinned key that is not the signer's: the card does not verify, nothing written
    out2 = tmp_path / "model2.bin"
    wrong = "11" * 32 if key != "11" * 32 else "22" * 32
    p = _get(
        home, server, tokens["alice"], "model", "m-dp", "--out", str(out2), "--model-key", wrong
    )
    assert p.returncode == 5 and not out2.exists(), p.stderr
    p = _get(home, server, tokens["alice"], "model", "m-dp", "--out", str(out2), "--model-key", key)
    assert p.returncode == 0 and out2.exists(), p.stderr
    # denied: raw dataset and non-DP model; nothing at --out, one-line error, exit 7
    for kind, ref in (("dataset", "raw-a"), ("model", "m-np")):
        dst = tmp_path / f"{ref}.out"
        p = _get(home, server, tokens["alice"], kind, ref, "--out", str(dst))
        assert p.returncode == 7 and not dst.exists(), p.stderr
        assert p.stderr.startswith("error:") and "Traceback" not in p.stderr
    p = _get(home, server, "", "dataset", "deid-a", "--out", str(tmp_path / "x"))
    assert p.returncode == 10 and "PRIVTRAIN_TOKEN" in p.stderr
    assert not list(tmp_path.glob("*.part"))


# ----------------------------------------------------------------------------- fuzzing
def test_fuzz_every_endpoint(server: str, tokens: dict[str, str]) -> None:
    """Schemathesis cases for every operation of the service's own /openapi.json (valid and
    invalid inputs, generated headers), each sent without and with a valid token: no 5xx,
    no stack trace, every error a JSON body with a code."""
    schema = schemathesis.openapi.from_url(server + "/openapi.json")
    ops = [r.ok() for r in schema.get_all_operations()]
    assert {op.path for op in ops} >= {
        "/v1/datasets/{ref}/content",
        "/v1/models/{ref}/content",
        "/v1/models/{ref}/card",
    }
    seen: list[int] = []
    for op in ops:

        @given(case=op.as_strategy())
        @settings(
            max_examples=8,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            for headers in (None, _auth(tokens["alice"])):
                r = case.call(headers=headers, timeout=30)
                seen.append(r.status_code)
                assert r.status_code < 500, (case.path, r.status_code, r.text[:300])
                assert "Traceback" not in r.text and 'File "' not in r.text
                if r.status_code >= 400:
                    assert set(r.json()) == {"error"} and r.json()["error"]["code"]

        check()
    assert len(seen) >= 2 * len(ops) and 401 in seen and 200 in seen


# ----------------------------------------------------------------------------- tamper
def test_model_row_edits_never_allow_through_service(
    home: Workspace, server: str, tokens: dict[str, str]
) -> None:
    from privtrain.catalog import Model

    with home.catalog.session() as s:
        good = s.query(Model).filter_by(name="m-dp").one().card_json
    with home.catalog.engine.begin() as c:
        c.execute(
            text("UPDATE models SET card_json = :c, epsilon = 1.0 WHERE name = 'm-np'"),
            {"c": json.dumps(good)},
        )
        c.execute(text("UPDATE models SET epsilon = 0.1 WHERE name = 'm-hi'"))
    access.add_principal(home, "gina", roles=["data-scientist"], site="site-a")  # forces a rebuild
    with httpx.Client(base_url=server, timeout=30, headers=_auth(tokens["alice"])) as c:
        for ref in ("m-np", "m-hi"):
            r = c.get(f"/v1/models/{ref}/content")
            assert r.status_code in (403, 404, 500), (ref, r.status_code, r.text)
            assert "Traceback" not in r.text and r.content != b"weights of " + ref.encode()


def test_audit_chain_verifies_after_all_of_it(home: Workspace) -> None:
    from test_access import run_cli

    code, out, err = run_cli(home, "audit", "verify")
    assert code == 0, err
    code, out, _ = run_cli(home, "audit", "show", "-n", "0", "--json")
    evs = json.loads(out)
    for action in ("access.model.export", "access.dataset.export", "access.authenticate"):
        assert {e["decision"] for e in evs if e["action"] == action} >= {"deny"}, action
    assert any(e["action"] == "access.dataset.export" and e["decision"] == "allow" for e in evs)


# ----------------------------------------------------------------------------- kill
def test_kill_server_mid_download_leaves_no_file(
    home: Workspace, served: tuple[str, subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    """Last test of the module: it kills the module's server."""
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        for _ in range(96):
            f.write(os.urandom(1 << 20))
    datasets.import_file(home, big, "big", sensitivity="deidentified", site="site-a")
    big.unlink()
    tok = access.issue_token(home, "alice").token
    out = tmp_path / "dl" / "big.out"
    out.parent.mkdir()
    url, server_proc = served
    client = subprocess.Popen(
        [sys.executable, "-m", "privtrain", "get", "dataset", "big", "--out", str(out)],
        env=_env(home, PRIVTRAIN_TOKEN=tok, PRIVTRAIN_SERVER=url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        parts = list(out.parent.glob("*.part"))
        if parts and parts[0].stat().st_size > 0:
            break
        if client.poll() is not None:
            break
        time.sleep(0.002)
    server_proc.send_signal(signal.SIGSTOP)  # freeze mid-stream...
    assert client.poll() is None, "download finished before the kill; make the file bigger"
    time.sleep(0.3)
    server_proc.kill()  # ...then kill -9
    server_proc.wait()
    _, err = client.communicate(timeout=120)
    assert client.returncode not in (0, None), err
    assert err.startswith("error:") and "Traceback" not in err
    assert not out.exists()
    assert not list(out.parent.iterdir()), "temp file left behind"


def _self_signed(dir_: Path) -> tuple[Path, Path]:
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    c, k = dir_ / "cert.pem", dir_ / "key.pem"
    c.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    k.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return c, k


@pytest.mark.slow
def test_tls(tmp_path: Path) -> None:
    """`serve --tls-cert/--tls-key` and `get --cacert` (a fresh home: the module's server is
    gone by now)."""
    ws = build_home(tmp_path)
    cert, key = _self_signed(tmp_path)
    tok = access.issue_token(ws, "alice").token
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "privtrain", "serve", "--port", str(port)]
        + ["--tls-cert", str(cert), "--tls-key", str(key)],
        env=_env(ws),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"https://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                ctx = ssl.create_default_context(cafile=str(cert))
                if httpx.get(url + "/v1/health", verify=ctx, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        out = tmp_path / "d.csv"
        p = _get(ws, url, tok, "dataset", "deid-a", "--out", str(out), "--cacert", str(cert))
        assert p.returncode == 0, p.stderr
        assert out.read_bytes() == (tmp_path / "rows.csv").read_bytes()
        out2 = tmp_path / "m.bin"
        p = _get(ws, url, tok, "model", "m-dp", "--out", str(out2), "--cacert", str(cert))
        assert p.returncode == 0 and out2.read_bytes() == b"weights of m-dp", p.stderr
        p = _get(ws, url, tok, "dataset", "deid-a", "--out", str(tmp_path / "x"))  # no CA
        assert p.returncode == 5 and not (tmp_path / "x").exists(), p.stderr
        assert "--cacert" in p.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
