"""The authorizer, users and tokens through the library and the CLI (no server here; the
registry service has tests/test_service.py).

One home (module scope) holds raw and de-identified datasets of two sites and a shared one,
models with real signed cards (DP at several ε, non-DP), and principals of every role. The
decision matrix is checked through ``authorize`` (library), ``privtrain access check`` (CLI)
and, for the read verbs, the real ``privtrain --as P datasets export`` / ``models export``.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from privtrain import access, datasets, models
from privtrain.config import load_settings
from privtrain.errors import AccessDenied, ConfigError, IntegrityError
from privtrain.workspace import Workspace

PASS = "access tests passphrase"
REPO = Path(__file__).resolve().parents[1]

# (principal, action, resource, allowed) -- the expected outcome under policies/access.cedar.
MATRIX: list[tuple[str, str, str, bool]] = [
    ("alice", "dataset.export", "dataset:deid-a", True),
    ("alice", "dataset.read", "dataset:deid-a", True),
    ("alice", "dataset.export", "dataset:deid-b", False),  # other site
    ("alice", "dataset.export", "dataset:deid-shared", True),
    ("alice", "dataset.export", "dataset:raw-a", False),  # raw: ingestion only
    ("alice", "dataset.export", "dataset:raw-shared", False),
    ("bob", "dataset.export", "dataset:deid-b", True),
    ("bob", "dataset.export", "dataset:deid-a", False),
    ("bob", "dataset.read", "dataset:deid-shared", True),
    ("ingest", "dataset.export", "dataset:raw-a", True),
    ("ingest", "dataset.read", "dataset:raw-shared", True),
    ("ingest", "dataset.export", "dataset:deid-b", False),  # other site
    ("trainer", "dataset.read", "dataset:deid-b", True),
    ("trainer", "dataset.export", "dataset:deid-b", False),  # read, not export
    ("trainer", "dataset.read", "dataset:raw-a", False),
    ("fed", "dataset.read", "dataset:deid-a", True),
    ("fed", "dataset.read", "dataset:deid-b", False),
    ("fed", "dataset.read", "dataset:raw-a", False),
    ("olga", "dataset.export", "dataset:deid-a", False),  # privacy officer: no data
    ("alice", "model.export", "model:m-dp", True),
    ("alice", "model.export", "model:m-hi", False),  # ε = 50 > 10
    ("alice", "model.export", "model:m-np", False),  # not DP-trained
    ("alice", "model.export", "model:m-edge", True),  # ε = 10 exactly
    ("alice", "model.export", "model:m-over", False),  # ε = 10.00001: rounded up, denied
    ("olga", "model.export", "model:m-dp", True),
    ("ada", "model.export", "model:m-dp", False),  # admin is not a downloader
    ("nobody", "model.export", "model:m-dp", False),  # no role
    ("dave", "dataset.export", "dataset:deid-a", False),  # disabled
    ("alice", "model.show", "model:m-np", True),
    ("alice", "dataset.show", "dataset:raw-a", True),
    ("ada", "keys.rotate", "keyring", True),
    ("alice", "keys.rotate", "keyring", False),
    ("ada", "dataset.shred", "dataset:deid-a", True),
    ("olga", "dataset.shred", "dataset:deid-a", False),
    ("olga", "budget.set", "budget:deid-a", True),
    ("alice", "budget.set", "budget:deid-a", False),
    ("custodian", "dataset.export", "dataset:raw-a", True),
    ("custodian", "model.export", "model:m-np", False),  # nobody exports a non-DP model
    ("stranger", "dataset.show", "dataset:deid-a", False),  # unknown principal
    ("alice", "dataset.export", "dataset:no-such", False),
]


def predicate(eps: float | None, *, dataset: str = "deid-a") -> dict:
    return {
        "privacy": {
            "non_private": eps is None,
            "epsilon": eps,
            "delta": None if eps is None else 1e-5,
            "accountant": None if eps is None else "prv",
        },
        "datasets": [{"name": dataset, "version": 1}],
    }


def build_home(root: Path, *, identity: str = "custodian") -> Workspace:
    """A home with the datasets, models and principals the matrix names."""
    os.environ["PRIVTRAIN_KDF_PROFILE"] = "fast"
    ws = Workspace.init(load_settings(home=str(root / "home"), identity=identity), PASS)
    src = root / "rows.csv"
    src.write_text("id,age\n" + "".join(f"{i},{20 + i % 50}\n" for i in range(200)))
    for name, sens, site in [
        ("raw-a", "raw", "site-a"),
        ("deid-a", "deidentified", "site-a"),
        ("deid-b", "deidentified", "site-b"),
        ("deid-shared", "deidentified", "shared"),
        ("raw-shared", "raw", "shared"),
    ]:
        datasets.import_file(ws, src, name, sensitivity=sens, site=site)
    for name, eps in [
        ("m-dp", 1.0),
        ("m-hi", 50.0),
        ("m-np", None),
        ("m-edge", 10.0),
        ("m-over", 10.00001),
    ]:
        models.store(
            ws,
            name,
            f"weights of {name}".encode(),
            predicate=predicate(eps),
            datasets=predicate(eps)["datasets"],
            train_config={},
            epsilon=eps,
            delta=None if eps is None else 1e-5,
            accountant=None if eps is None else "prv",
        )
    for name, roles, site, kind in [
        ("alice", ["data-scientist"], "site-a", "user"),
        ("bob", ["data-scientist"], "site-b", "user"),
        ("olga", ["privacy-officer"], "site-a", "user"),
        ("ada", ["admin"], "site-a", "user"),
        ("nobody", [], "site-a", "user"),
        ("dave", ["data-scientist"], "site-a", "user"),
        ("ingest", ["ingestion"], "site-a", "service"),
        ("trainer", ["trainer"], "site-a", "service"),
    ]:
        access.add_principal(ws, name, roles=roles, site=site, kind=kind)
    access.ensure_service_principal(ws, "fed", site="site-a", roles=["federated-client"])
    access.set_status(ws, "dave", "disabled")
    return ws


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return build_home(tmp_path_factory.mktemp("access"))


def last_events(ws: Workspace, n: int) -> list[dict]:
    head, _ = ws.audit.head()
    return ws.audit.events(since_seq=max(head - n, 0))


def run_cli(ws: Workspace, *args: str, identity: str | None = None) -> tuple[int, str, str]:
    """The real CLI entry point, in this process (fast), with the home's settings."""
    from privtrain.cli import main

    env = {
        "PRIVTRAIN_HOME": str(ws.settings.home),
        "PRIVTRAIN_PASSPHRASE": PASS,
        "PRIVTRAIN_IDENTITY": identity or ws.settings.identity,
    }
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            main(list(args))
    except SystemExit as e:
        code = int(e.code or 0)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return code, out.getvalue(), err.getvalue()


def test_policies_validate_and_have_ids() -> None:
    d = access.policy_dir()
    assert d == REPO / "policies"
    _, _, pol_text, _ = access.load_policies(d)
    from privtrain.access._authorizer import policy_ids

    ids = policy_ids(pol_text)
    assert "raw-only-for-ingestion" in ids and "model-export-needs-dp" in ids
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(("principal", "action", "resource", "allowed"), MATRIX)
def test_decision_matrix_library(
    ws: Workspace, principal: str, action: str, resource: str, allowed: bool
) -> None:
    dec = access.authorize(ws, principal, action, resource, raise_on_deny=False)
    assert dec.allowed is allowed, dec.reason
    assert dec.audit_seq is not None
    ev = ws.audit.events(since_seq=dec.audit_seq - 1, limit=1)[0]
    assert ev["actor"] == principal and ev["action"] == f"access.{action}"
    assert ev["decision"] == dec.decision
    assert ev["details"]["policies"] == list(dec.policies)
    if allowed:
        assert dec.policies, "an allow names the permitting policy"
    with pytest.raises(AccessDenied) if not allowed else _nullcontext():
        access.authorize(ws, principal, action, resource, audit=False)


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *a: object) -> None:
        return None


def test_decision_matrix_cli_check(ws: Workspace) -> None:
    """`privtrain access check` gives the same answers (exit 0 allow, 7 deny), as JSON."""
    assert len(MATRIX) >= 30
    for principal, action, resource, allowed in MATRIX:
        code, out, err = run_cli(ws, "access", "check", principal, action, resource, "--json")
        assert code == (0 if allowed else 7), (principal, action, resource, code, err)
        body = json.loads(out)
        assert body["decision"] == ("allow" if allowed else "deny")
        if not allowed:
            assert err.startswith("error:") and "Traceback" not in err


def test_decision_matrix_cli_read_verbs(ws: Workspace, tmp_path: Path) -> None:
    """The read verbs themselves authorize: `privtrain --as P datasets|models export`."""
    n = 0
    for principal, action, resource, allowed in MATRIX:
        if action not in ("dataset.export", "model.export") or principal in (
            "stranger",
            "custodian",
        ):
            continue
        kind, _, ref = resource.partition(":")
        if ref == "no-such":
            continue
        out = tmp_path / f"{n}.bin"
        code, _, err = run_cli(ws, f"{kind}s", "export", ref, "--out", str(out), identity=principal)
        assert code == (0 if allowed else 7), (principal, resource, code, err)
        assert out.exists() is allowed
        n += 1
    assert n >= 15


def test_explain_names_policy_and_attributes(ws: Workspace) -> None:
    code, out, _ = run_cli(ws, "access", "check", "alice", "model.export", "model:m-over")
    assert code == 7
    assert "model-export-needs-dp" in out and "epsilon=10.0001" in out
    code, out, _ = run_cli(ws, "access", "check", "alice", "dataset.read", "dataset:deid-a")
    assert code == 0 and "scientist-reads-deidentified-own-site-or-shared" in out


def test_acting_as_governs_library_reads(ws: Workspace) -> None:
    with access.acting_as("fed", via="federated"):
        info, data = datasets.read_bytes(ws, "deid-a")
        assert data.startswith(b"id,age")
        with pytest.raises(AccessDenied):
            datasets.read_bytes(ws, "raw-a")
    ev = [e for e in last_events(ws, 5) if e["action"] == "access.dataset.read"][-1]
    assert ev["actor"] == "fed" and ev["decision"] == "deny"
    assert ev["details"]["via"] == "federated"


def test_catalog_changes_refresh_entities(ws: Workspace) -> None:
    a = access.authorizer_for(ws)
    access.authorize(ws, "alice", "dataset.show", "dataset:deid-a", audit=False)
    before = a.rebuilds
    access.authorize(ws, "alice", "dataset.show", "dataset:deid-a", audit=False)
    assert a.rebuilds == before  # cached
    access.add_principal(ws, "carol", roles=["data-scientist"], site="site-b")
    assert access.authorize(ws, "carol", "dataset.export", "dataset:deid-b", audit=False).allowed
    assert a.rebuilds == before + 1
    access.set_status(ws, "carol", "disabled")
    assert not access.authorize(
        ws, "carol", "dataset.export", "dataset:deid-b", audit=False, raise_on_deny=False
    ).allowed


def test_tampered_principal_row_grants_nothing(ws: Workspace) -> None:
    access.add_principal(ws, "mallory", roles=[], site="site-a")
    with ws.catalog.engine.begin() as c:
        c.execute(
            text("UPDATE principals SET roles_json = :r WHERE name = 'mallory'"),
            {"r": json.dumps(["admin", "ingestion", "data-scientist"])},
        )
    dec = access.authorize(ws, "mallory", "dataset.export", "dataset:raw-a", raise_on_deny=False)
    assert not dec.allowed and dec.reason == "unknown principal"
    assert not access.authorize(
        ws, "mallory", "keys.rotate", "keyring", raise_on_deny=False
    ).allowed
    rows = {p.name: ok for p, ok in access.list_principals(ws)}
    assert rows["mallory"] is False and rows["alice"] is True


def test_tokens_shown_once_stored_as_hash(ws: Workspace) -> None:
    issued = access.issue_token(ws, "alice", ttl=timedelta(hours=1), scope=["models:read"])
    assert issued.token.startswith("ptk_") and len(issued.token) == 47
    with ws.catalog.engine.connect() as c:
        dump = "\n".join(str(r) for r in c.execute(text("SELECT * FROM access_tokens")))
        audit = "\n".join(str(r) for r in c.execute(text("SELECT * FROM audit_events")))
    assert issued.token not in dump and issued.token[4:] not in dump
    assert issued.token not in audit
    p, t = access.authenticate(ws, issued.token)
    assert p.name == "alice" and t.scope == ("models:read",)
    assert not access.scope_allows(t, "dataset.export")
    access.revoke_token(ws, issued.info.id)
    with pytest.raises(access.AuthenticationError, match="revoked"):
        access.authenticate(ws, issued.token)
    for bad in ("", "ptk_short", "Bearer x", "ptk_" + "A" * 43):
        with pytest.raises(access.AuthenticationError):
            access.authenticate(ws, bad)
    ev = last_events(ws, 1)[-1]
    assert ev["action"] == "access.authenticate" and ev["decision"] == "deny"


def test_tampered_token_row_is_refused(ws: Workspace) -> None:
    issued = access.issue_token(ws, "alice", ttl=timedelta(seconds=60))
    with ws.catalog.engine.begin() as c:
        c.execute(
            text("UPDATE access_tokens SET expires_at = :e WHERE id = :i"),
            {"e": "2099-01-01 00:00:00", "i": issued.info.id},
        )
    with pytest.raises(access.AuthenticationError, match="row-mac"):
        access.authenticate(ws, issued.token)


def test_edited_model_card_never_allows(ws: Workspace) -> None:
    """Edit the catalog ε of a high-ε model, swap a DP model's validly signed card onto the
    non-DP model, forge the signed payload's ε: the deny stays a deny, in the running
    authorizer (cached, verified values) and in a fresh one (re-verifies every card)."""
    import base64

    from privtrain.access._authorizer import Authorizer
    from privtrain.catalog import Model

    with ws.catalog.session() as s:
        good = s.query(Model).filter_by(name="m-dp").one().card_json
        hi = s.query(Model).filter_by(name="m-hi").one().card_json
    forged = dict(hi)
    stmt = json.loads(base64.b64decode(hi["payload"]))
    stmt["predicate"]["privacy"]["epsilon"] = 0.5
    forged["payload"] = base64.b64encode(json.dumps(stmt).encode()).decode()
    cases = [
        ("m-hi", "UPDATE models SET epsilon = 0.5 WHERE name = 'm-hi'", {}),
        ("m-np", "UPDATE models SET card_json = :c, epsilon = 1.0 WHERE name = 'm-np'", good),
        ("m-hi", "UPDATE models SET card_json = :c WHERE name = 'm-hi'", forged),
    ]
    for name, sql, card in cases:
        with ws.catalog.engine.begin() as c:
            c.execute(text(sql), {"c": json.dumps(card)} if card else {})
        fresh = Authorizer(access.policy_dir(ws))
        ref = f"model:{name}"
        for who in ("running", "fresh"):
            try:
                if who == "running":
                    dec = access.authorize(
                        ws, "alice", "model.export", ref, audit=False, raise_on_deny=False
                    )
                else:
                    dec = fresh.decide(ws, "alice", "model.export", ref)
            except IntegrityError:
                continue  # the catalog's own row check refused the edited row: also a deny
            assert not dec.allowed, (name, sql)
        try:
            dec = fresh.decide(ws, "alice", "model.export", f"model:{name}")
        except IntegrityError:
            continue
        assert dec.entity == {} or dec.entity["card_verified"] is False or name == "m-hi"
        if name == "m-hi" and dec.entity:
            assert dec.entity["epsilon"]["__extn"]["arg"] == "50.0000" or (
                dec.entity["card_verified"] is False
            )
    with pytest.raises((AccessDenied, IntegrityError)):
        models.export(ws, "m-np", ws.settings.home.parent / "never.bin")
    assert not (ws.settings.home.parent / "never.bin").exists()


def test_invalid_policy_stops_with_validator_message(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "policies"
    bad.mkdir()
    (bad / "access.cedarschema").write_text((REPO / "policies/access.cedarschema").read_text())
    (bad / "access.cedar").write_text(
        '@id("typo")\npermit (principal, action, resource is Dataset)\n'
        'when { resource.sensitivty == "raw" };\n'
    )
    monkeypatch.setenv("PRIVTRAIN_POLICY_DIR", str(bad))
    with pytest.raises(ConfigError, match="typo.*sensitivty"):
        access.authorize(ws, "alice", "dataset.show", "dataset:deid-a")
    env = dict(os.environ, PRIVTRAIN_HOME=str(ws.settings.home), PRIVTRAIN_PASSPHRASE=PASS)
    p = subprocess.run(
        [sys.executable, "-m", "privtrain", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 10, p.stderr
    assert "sensitivty" in p.stderr and "Traceback" not in p.stderr


def test_users_and_tokens_cli(ws: Workspace) -> None:
    code, out, err = run_cli(ws, "users", "add", "erin", "--role", "trainer", "--service")
    assert code == 0, err
    code, out, _ = run_cli(ws, "users", "add", "erin", "--role", "trainer")
    assert code == 11
    code, _, err = run_cli(ws, "users", "add", "x", "--role", "wizard")
    assert code == 3 and "wizard" in err
    code, out, err = run_cli(ws, "tokens", "issue", "erin", "--ttl", "2h", "--json")
    assert code == 0, err
    tok = json.loads(out)
    assert tok["token"].startswith("ptk_") and tok["principal"] == "erin"
    code, out, _ = run_cli(ws, "tokens", "ls", "erin", "--json")
    assert tok["token"] not in out and json.loads(out)[0]["id"] == tok["id"]
    code, _, _ = run_cli(ws, "tokens", "revoke", tok["id"])
    assert code == 0
    code, _, _ = run_cli(ws, "users", "disable", "erin")
    assert code == 0
    code, out, _ = run_cli(ws, "users", "ls", "--json")
    erin = next(u for u in json.loads(out) if u["name"] == "erin")
    assert erin["status"] == "disabled" and erin["authentic"] is True
    code, out, _ = run_cli(ws, "audit", "show", "-n", "5")
    assert code == 0 and "users.disable" in out


def test_shred_needs_admin(ws: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "s.csv"
    src.write_text("a\n1\n")
    datasets.import_file(ws, src, "to-shred", sensitivity="deidentified", site="site-a")
    code, _, err = run_cli(ws, "datasets", "shred", "to-shred", "--yes", identity="olga")
    assert code == 7 and "dataset.shred" in err
    assert datasets.show(ws, "to-shred").status == "active"
    code, _, err = run_cli(ws, "datasets", "shred", "to-shred", "--yes", identity="ada")
    assert code == 0, err
    assert datasets.show(ws, "to-shred").status == "shredded"


@pytest.mark.postgres
def test_authorizer_and_tokens_on_postgresql(pg_database_url: str, tmp_path: Path) -> None:
    """The same tables and decisions on a real PostgreSQL catalog (revision query on a
    detached per-thread psycopg connection, row MACs, token lookups)."""
    os.environ["PRIVTRAIN_KDF_PROFILE"] = "fast"
    s = load_settings(home=str(tmp_path / "home"), catalog_url=pg_database_url, identity="cust")
    ws = Workspace.init(s, PASS)
    src = tmp_path / "r.csv"
    src.write_text("a\n1\n")
    datasets.import_file(ws, src, "d", sensitivity="deidentified", site="x")
    access.add_principal(ws, "pat", roles=["data-scientist"], site="x")
    assert access.authorize(ws, "pat", "dataset.export", "dataset:d").allowed
    datasets.import_file(ws, src, "r", sensitivity="raw", site="x")  # seen without restart
    assert not access.authorize(ws, "pat", "dataset.read", "dataset:r", raise_on_deny=False).allowed
    tok = access.issue_token(ws, "pat", ttl=timedelta(minutes=5))
    assert access.authenticate(ws, tok.token)[0].name == "pat"
    with ws.catalog.engine.begin() as c:
        c.execute(text("UPDATE principals SET roles_json = '[\"ingestion\"]' WHERE name = 'pat'"))
    # The running authorizer keeps the authentic entity it built; a rebuild drops the row.
    assert not access.authorize(ws, "pat", "dataset.read", "dataset:r", raise_on_deny=False).allowed
    access.add_principal(ws, "quinn", roles=[], site="x")  # a catalog change: rebuild
    dec = access.authorize(ws, "pat", "dataset.read", "dataset:r", raise_on_deny=False)
    assert not dec.allowed and dec.reason == "unknown principal"
    with pytest.raises(access.AuthenticationError):
        access.authenticate(ws, tok.token)
    assert ws.audit.verify().ok


def test_edited_policy_file_takes_effect_without_restart(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = tmp_path / "pol"
    d.mkdir()
    (d / "access.cedarschema").write_text((REPO / "policies/access.cedarschema").read_text())
    text_ = (REPO / "policies/access.cedar").read_text()
    (d / "access.cedar").write_text(text_)
    monkeypatch.setenv("PRIVTRAIN_POLICY_DIR", str(d))
    assert access.authorize(ws, "bob", "dataset.export", "dataset:deid-b", audit=False).allowed
    # a stricter site rule, appended by the custodian while everything runs
    (d / "access.cedar").write_text(
        text_ + '\n@id("site-b-closed")\nforbid (principal, action, resource is Dataset)\n'
        'when { resource.site == "site-b" } unless { principal is Custodian };\n'
    )
    os.utime(d / "access.cedar", ns=(1, 1))  # a different mtime even within one tick
    dec = access.authorize(ws, "bob", "dataset.export", "dataset:deid-b", raise_on_deny=False)
    assert not dec.allowed and dec.policies == ("site-b-closed",)
