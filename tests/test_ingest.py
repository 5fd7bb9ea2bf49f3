"""`privtrain ingest` / `deid plan` / `deid report` through the real CLI (subprocesses).

One module-scoped world runs the expensive part once: synthetic patients (examples/data/
make_patients.py) are planned, the plan is edited and pinned, ingested with --keep-raw under a
socket-blocking interpreter, ingested again as JSON Lines (computed plan) and into a second
home; the tests then check leaks, pseudonym linkage, the pinned plan, reports and raw copies.
Bad input runs against its own home: exit code 3, one line naming file/row/column, nothing
registered, nothing left behind.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

PASS = "correct horse battery staple"
ROOT = Path(__file__).resolve().parents[1]
ROWS = 200
MIN_NEEDLE = 8  # shorter strings turn up by chance in ciphertext

# Refuses every name lookup and every connection / datagram (socket creation alone is allowed:
# urllib3 probes IPv6 support at import by binding a socket to ::1). Prints SOCKET-BLOCK-ARMED
# once it has checked that the blocks fire, and SOCKET-ATTEMPT for each later attempt.
BLOCK_SOCKETS = r"""
import socket, sys

armed = False

def _deny(what):
    def refuse(*a, **k):
        if armed:
            sys.stderr.write(f"SOCKET-ATTEMPT {what}\n")
        raise OSError(f"network disabled by the test ({what})")
    return refuse

for name in ("connect", "connect_ex", "sendto", "sendmsg"):
    setattr(socket.socket, name, _deny(name))
for name in ("create_connection", "getaddrinfo", "gethostbyname", "gethostbyname_ex"):
    setattr(socket, name, _deny(name))
fired = 0
for probe in (
    lambda: socket.getaddrinfo("example.org", 443),
    lambda: socket.create_connection(("127.0.0.1", 9)),
    lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).connect(("127.0.0.1", 9)),
):
    try:
        probe()
    except OSError as e:
        fired += "disabled by the test" in str(e)
armed = fired == 3
if armed:
    sys.stderr.write("SOCKET-BLOCK-ARMED\n")
sys.argv = ["privtrain", *sys.argv[1:]]
from privtrain.cli import main
main()
"""


def _make_patients() -> Any:
    spec = importlib.util.spec_from_file_location(
        "make_patients", ROOT / "examples" / "data" / "make_patients.py"
    )
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod


def _env(home: Path, tmpdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PRIVTRAIN_HOME=str(home),
        PRIVTRAIN_PASSPHRASE=PASS,
        PRIVTRAIN_KDF_PROFILE="fast",
        PRIVTRAIN_IDENTITY="tester",
        TMPDIR=str(tmpdir),
    )
    env.pop("PRIVTRAIN_PROJECT", None)
    return env


def cli(
    home: Path,
    tmpdir: Path,
    *args: str,
    check: bool = True,
    block_sockets: bool = False,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    head = ["-c", BLOCK_SOCKETS] if block_sockets else ["-m", "privtrain"]
    p = subprocess.run(
        [sys.executable, *head, *args],
        env=_env(home, tmpdir),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )
    if check and p.returncode != 0:
        raise AssertionError(f"privtrain {' '.join(args)} -> {p.returncode}\n{p.stderr}")
    return p


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _leaks(root: Path, needles: list[str]) -> list[tuple[str, str]]:
    encoded = [(n, n.encode("utf-8")) for n in needles]
    hits = []
    for p in _files(root):
        data = p.read_bytes()
        hits += [(str(p), n) for n, b in encoded if b in data]
    return hits


def _plan_yaml(columns: list[tuple[str, str, str | None]], person: list[str]) -> str:
    return yaml.safe_dump(
        {
            "version": 1,
            "person_columns": person,
            "columns": [{"name": n, "kind": k, "entity": e} for n, k, e in columns],
        }
    )


def _pseudonym_key(home: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, bytes]:
    from privtrain.crypto import LocalKeyring

    monkeypatch.setenv("PRIVTRAIN_KDF_PROFILE", "fast")
    return LocalKeyring.open(home / "keyring.enc", PASS).hmac_key("default")


# ------------------------------------------------------------------------------ the world
@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("ingest")
    inp, plans, exp, tmp = (root / d for d in ("input", "plans", "exports", "tmp"))
    for d in (inp, plans, exp, tmp):
        d.mkdir()
    home, home_b, no_home = root / "home", root / "home-b", root / "no-home"

    df, ids = _make_patients().generate(ROWS, seed=0)
    src = inp / "patients.csv"
    df.to_csv(src, index=False)
    shuffled = df.sample(frac=1.0, random_state=1).reset_index(drop=True)
    src_jsonl = inp / "patients.jsonl"
    shuffled.to_json(src_jsonl, orient="records", lines=True)
    few = inp / "few.parquet"
    pq.write_table(pa.table({"name": df["name"].head(20).tolist()}), few)
    few_plan = inp / "few.yaml"
    few_plan.write_text(_plan_yaml([("name", "direct", "PERSON")], ["name"]))

    # deid plan: no home needed, nothing written but --out
    plan_out = plans / "plan.yaml"
    # linkage (the same person, the same token) is what the opt-in pseudonymous profile keeps
    p = cli(no_home, tmp, "deid", "plan", str(src), "--out", str(plan_out),
            "--policy", "pseudonymous", cwd=plans)  # fmt: skip
    plan_run = {"stdout": p.stdout, "home_exists": no_home.exists(), "files": _files(plans)}
    plan = yaml.safe_load(plan_out.read_text())
    for c in plan["columns"]:
        if c["name"] == "age":
            c["transform"] = {"action": "generalize", "band": 5, "top": 90}
        if c["name"] == "occupation":
            c["transform"] = {"action": "drop"}
    pinned = plans / "pinned.yaml"
    pinned.write_text(yaml.safe_dump(plan, sort_keys=False))

    cli(home, tmp, "init")
    blocked = cli(
        home, tmp, "ingest", str(src), "--name", "patients", "--plan", str(pinned),
        "--keep-raw", "--json", "--policy", "pseudonymous", block_sockets=True,
    )  # fmt: skip
    second = cli(home, tmp, "ingest", str(src_jsonl), "--name", "patients2", "--json",
                 "--policy", "pseudonymous")  # fmt: skip
    # the default profile (Safe Harbor), through the CLI, with --workers
    small = inp / "small.csv"
    df.head(30).drop(columns=["note"]).to_csv(small, index=False)
    safe = cli(home, tmp, "ingest", str(small), "--name", "patients-sh", "--workers", "2",
               "--json")  # fmt: skip
    cli(home_b, tmp, "init")
    other = cli(home_b, tmp, "ingest", str(few), "--name", "few", "--plan", str(few_plan),
                "--policy", "pseudonymous")  # fmt: skip

    cli(home, tmp, "datasets", "export", "patients", "--out", str(exp / "patients.parquet"))
    cli(home, tmp, "datasets", "export", "patients2", "--out", str(exp / "patients2.parquet"))
    cli(home, tmp, "datasets", "export", "patients-raw", "--out", str(exp / "raw.csv"))
    cli(home_b, tmp, "datasets", "export", "few", "--out", str(exp / "few.parquet"))
    return {
        "root": root, "home": home, "home_b": home_b, "tmp": tmp, "exp": exp, "src": src,
        "df": df, "shuffled": shuffled, "ids": ids, "plan_run": plan_run, "pinned": plan,
        "blocked": blocked, "first": json.loads(blocked.stdout),
        "second": json.loads(second.stdout), "other": other, "safe": json.loads(safe.stdout),
    }  # fmt: skip


def _needles(ids: dict[str, list[str]], min_len: int = MIN_NEEDLE) -> list[str]:
    keys = ("names", "emails", "phones", "ssns", "addresses", "relatives", "name_mentions")
    out = sorted({v for k in keys for v in ids[k] if len(v) >= min_len})
    assert len(out) > 4 * ROWS
    return out


def test_ingest_registers_deidentified_parquet_with_plan(world: dict[str, Any]) -> None:
    first = world["first"]
    ds = first["dataset"]
    assert ds["ref"] == "patients@v1" and ds["sensitivity"] == "deidentified"
    assert ds["has_deid_report"] and ds["source_name"] == "patients.csv"
    schema = ds["schema"]
    assert schema["plan_source"] == "pinned" and schema["rows"] == ROWS
    from privtrain.deid import Plan

    assert schema["plan"] == Plan.model_validate(world["pinned"]).model_dump(mode="json")
    assert "occupation" not in schema["columns"] and "address" not in schema["columns"]
    assert schema["columns"]["name"] == "string" and schema["columns"]["fnlwgt"] == "int64"
    out = pq.read_table(world["exp"] / "patients.parquet")
    assert {k: str(v) for k, v in zip(out.schema.names, out.schema.types, strict=True)} == schema[
        "columns"
    ]
    assert out.num_rows == ROWS and first["summary"]["rows"] == ROWS

    second = world["second"]["dataset"]
    assert second["schema"]["plan_source"] == "computed"
    assert second["schema"]["plan_yaml"].startswith("# privtrain de-identification plan")


def test_no_identifier_anywhere_in_clear(world: dict[str, Any]) -> None:
    ids = world["ids"]
    needles = _needles(ids)
    for d in (world["home"], world["home_b"], world["tmp"]):
        assert _leaks(d, needles) == [], f"original values in clear under {d}"
    assert _files(world["tmp"]) == [], "privtrain left files in TMPDIR"
    assert not list((world["home"] / "tmp").iterdir())

    short = _needles(ids, min_len=5)  # cells are text: shorter needles are meaningful
    for name in ("patients.parquet", "patients2.parquet", "few.parquet"):
        f = world["exp"] / name
        raw = f.read_bytes()
        assert [n for n in needles if n.encode() in raw] == []
        cells = [
            str(v) for col in pq.read_table(f).columns for v in col.to_pylist() if v is not None
        ]
        text = "\n".join(cells)
        assert [n for n in short if n in text] == [], f"original values in {name}"


def test_same_person_same_pseudonym(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from privtrain.deid import pseudonym

    key = _pseudonym_key(world["home"], monkeypatch)
    df, shuffled = world["df"], world["shuffled"]
    out = pq.read_table(world["exp"] / "patients.parquet").to_pydict()
    want = [pseudonym("PERSON", n, key) for n in df["name"]]
    assert out["name"] == want and len(set(want)) == ROWS
    assert out["email"] == [pseudonym("EMAIL_ADDRESS", e, key) for e in df["email"]]

    # free text: where the note names the patient in full, the column's token replaces it
    named = [i for i, (n, t) in enumerate(zip(df["name"], df["note"], strict=True)) if n in t]
    assert len(named) > ROWS // 5
    assert all(want[i] in out["note"][i] for i in named)

    # a second ingest (other format, other order, computed plan) in the same home
    out2 = pq.read_table(world["exp"] / "patients2.parquet").to_pydict()
    first_by_name = dict(zip(df["name"], out["name"], strict=True))
    assert out2["name"] == [first_by_name[n] for n in shuffled["name"]]
    first_email = dict(zip(df["email"], out["email"], strict=True))
    assert out2["email"] == [first_email[e] for e in shuffled["email"]]

    # another home has another key: other tokens for the same people
    few = pq.read_table(world["exp"] / "few.parquet").to_pydict()["name"]
    assert len(few) == 20 and all(t.startswith("PERSON_") for t in few)
    assert not set(few) & set(out["name"])
    assert few != out["name"][:20]


def test_ingest_opens_no_socket(world: dict[str, Any]) -> None:
    err = world["blocked"].stderr
    assert "SOCKET-BLOCK-ARMED" in err
    assert "SOCKET-ATTEMPT" not in err


def test_deid_plan_then_pinned_plan_is_used_as_given(world: dict[str, Any]) -> None:
    run = world["plan_run"]
    assert not run["home_exists"], "deid plan created a home"
    assert [p.name for p in run["files"]] == ["plan.yaml"], "deid plan wrote other files"
    assert "wrote plan" in run["stdout"]

    df = world["df"]
    out = pq.read_table(world["exp"] / "patients.parquet").to_pydict()
    assert "occupation" not in out  # edited: keep -> drop
    want = [f"{a // 5 * 5}-{a // 5 * 5 + 4}" if a < 90 else "90+" for a in df["age"]]
    assert out["age"] == want  # edited: band 10 -> 5
    assert any(int(a.split("-")[0]) % 10 == 5 for a in out["age"] if "-" in a)
    out2 = pq.read_table(world["exp"] / "patients2.parquet").to_pydict()
    assert "occupation" in out2  # the computed plan keeps it


def test_deid_plan_to_stdout(tmp_path: Path) -> None:
    src = tmp_path / "people.csv"
    src.write_text("id,email,score\n" + "".join(f"{i},u{i}@example.com,{i}\n" for i in range(30)))
    p = cli(tmp_path / "no-home", tmp_path, "deid", "plan", str(src), cwd=tmp_path)
    plan = yaml.safe_load(p.stdout)
    assert p.stdout.startswith("# privtrain de-identification plan")
    kinds = {c["name"]: (c["kind"], c["entity"]) for c in plan["columns"]}
    assert kinds["email"] == ("direct", "EMAIL_ADDRESS")
    assert sorted(x.name for x in tmp_path.iterdir()) == ["people.csv"]


def test_deid_report_html_and_summary(world: dict[str, Any]) -> None:
    home, tmp = world["home"], world["tmp"]
    html = world["root"] / "report.html"
    cli(home, tmp, "deid", "report", "patients", "--html", str(html))
    text = html.read_text(encoding="utf-8")
    for col in ("name", "email", "phone", "ssn", "address", "note", "date_of_birth"):
        assert f"<code>{col}</code>" in text
    assert [n for n in _needles(world["ids"], min_len=5) if n in text] == []

    rep = json.loads(cli(home, tmp, "deid", "report", "patients@v1", "--json").stdout)
    assert rep["dataset"] == "patients@v1" and rep["report"]["rows"] == ROWS
    cols = {c["name"]: c for c in rep["report"]["columns"]}
    assert cols["occupation"]["in_output"] is False
    assert cols["note"]["spans"].get("PERSON", 0) > 0

    plain = cli(home, tmp, "deid", "report", "patients").stdout
    assert "patients@v1" in plain and "PERSON" in plain

    miss = cli(home, tmp, "deid", "report", "patients-raw", check=False)
    assert miss.returncode == 4 and "no de-identification report" in miss.stderr


def test_default_profile_is_safe_harbor(world: dict[str, Any]) -> None:
    home, tmp = world["home"], world["tmp"]
    summary = world["safe"]["summary"]
    assert summary["profile"] == "safe-harbor" and summary["profile_keeps"] == []
    assert [h["key"] for h in summary["safe_harbor"]] == list("ABCDEFGHIJKLMNOPQR")
    cols = {c["name"]: c for c in summary["columns"]}
    for direct in ("name", "email", "phone", "ssn", "address"):
        assert cols[direct]["in_output"] is False, direct
    schema = world["safe"]["dataset"]["schema"]
    assert "name" not in schema["columns"] and schema["columns"]["fnlwgt"] == "int64"
    plain = cli(home, tmp, "deid", "report", "patients-sh").stdout
    assert "profile safe-harbor" in plain and "Safe Harbor" in plain and "(R)" in plain
    html = world["root"] / "sh.html"
    cli(home, tmp, "deid", "report", "patients-sh", "--html", str(html))
    page = html.read_text(encoding="utf-8")
    assert "Safe Harbor identifier classes" in page and "Profile: safe-harbor" in page


def test_keep_raw_and_audit(world: dict[str, Any]) -> None:
    raw = world["first"]["raw"]
    assert raw["ref"] == "patients-raw@v1" and raw["sensitivity"] == "raw"
    assert (world["exp"] / "raw.csv").read_bytes() == world["src"].read_bytes()

    home, tmp = world["home"], world["tmp"]
    listed = json.loads(cli(home, tmp, "datasets", "ls", "--json").stdout)
    assert sorted(d["ref"] for d in listed) == [
        "patients-raw@v1", "patients-sh@v1", "patients2@v1", "patients@v1"
    ]  # fmt: skip
    events = json.loads(cli(home, tmp, "audit", "show", "--json", "-n", "0").stdout)
    ingests = [e for e in events if e["action"] == "dataset.ingest"]
    assert [e["resource"] for e in ingests] == [
        "dataset:patients@v1", "dataset:patients2@v1", "dataset:patients-sh@v1"
    ]  # fmt: skip
    assert ingests[0]["details"]["profile"] == "pseudonymous"
    assert ingests[2]["details"]["profile"] == "safe-harbor"
    assert ingests[2]["details"]["workers"] == 2
    d = ingests[0]["details"]
    assert d["rows"] == ROWS and d["columns_in"] == 22 and d["plan_source"] == "pinned"
    assert d["plan_sha256"] == world["first"]["plan_sha256"]
    assert json.loads(cli(home, tmp, "audit", "verify", "--json").stdout)["ok"] is True


def test_cli_import_stays_light() -> None:
    code = (
        "import sys, privtrain.cli\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('spacy', 'presidio_analyzer',"
        " 'thinc', 'torch') or m.startswith(('privtrain.deid.', 'privtrain.ingest'))]\n"
        "print(heavy)\n"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert p.stdout.strip() == "[]"


# ------------------------------------------------------------------------------ bad input
Case = tuple[Path, "Path | None", list[str]]


@pytest.fixture(scope="module")
def bad_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Case]]:
    root = tmp_path_factory.mktemp("bad")
    (root / "tmp").mkdir()
    (root / "in").mkdir()
    cli(root / "home", root / "tmp", "init")
    return root / "home", root / "tmp", _bad_cases(root / "in")


def _bad_cases(d: Path) -> dict[str, Case]:
    """name -> (input, pinned plan or None, strings the error must contain)."""
    cases: dict[str, Case] = {}
    latin = d / "latin1.csv"
    latin.write_bytes("id,name,city\n1,Anna Berg,Berlin\n2,José Núñez,Málaga\n".encode("latin-1"))
    cases["encoding"] = (latin, None, ["latin1.csv", "line 3", "not UTF-8"])

    ragged = d / "ragged.csv"
    ragged.write_text("id,name,city\n1,Anna Berg,Berlin\n2,Bo Li,Oslo,extra\n3,Cy Ng,Rome\n")
    cases["ragged"] = (ragged, None, ["ragged.csv", "line 3", "ragged row"])

    ok = d / "ok.csv"
    ok.write_text("id,name\n" + "".join(f"{i},Person {i}\n" for i in range(10)))
    plan = d / "missing.yaml"
    plan.write_text(_plan_yaml([("id", "safe", None), ("name", "safe", None),
                                ("zip", "quasi", "ZIP")], []))  # fmt: skip
    cases["plan-missing-column"] = (ok, plan, ["plan column 'zip'", "ok.csv"])

    empty = d / "empty.csv"
    empty.write_bytes(b"")
    cases["empty"] = (empty, None, ["empty.csv", "empty file"])

    header_only = d / "header.csv"
    header_only.write_text("id,name\n")
    cases["header-only"] = (header_only, None, ["header.csv", "no data rows"])

    jsonl = d / "broken.jsonl"
    jsonl.write_text('{"id": 1, "name": "Anna Berg"}\n{"id": 2, "name": \n')
    cases["jsonl"] = (jsonl, None, ["broken.jsonl", "line 2", "not valid JSON"])

    big = d / "big.csv"  # 50k good rows (output reaches the blob), then a 100 MB field
    with big.open("w") as f:
        f.write("id,name\n")
        f.writelines(f"{i},Person Number {i}\n" for i in range(50_000))
        f.write('50000,"')
        chunk = "x" * (1 << 20)
        for _ in range(100):
            f.write(chunk)
        f.write('"\n')
    big_plan = d / "big.yaml"
    big_plan.write_text(_plan_yaml([("id", "safe", None), ("name", "direct", "PERSON")], ["name"]))
    cases["100MB-field"] = (big, big_plan, ["big.csv", "row", "MiB"])
    return cases


_CASES = ["encoding", "ragged", "plan-missing-column", "empty", "header-only", "jsonl",
          "100MB-field"]  # fmt: skip


@pytest.mark.parametrize("case", _CASES)
def test_bad_input_registers_nothing(
    case: str, bad_home: tuple[Path, Path, dict[str, Case]]
) -> None:
    home, tmp, cases = bad_home
    src, plan, expect = cases[case]
    args = ["ingest", str(src), "--name", f"bad-{case}", "--keep-raw", "--json"]
    if plan is not None:
        args += ["--plan", str(plan)]
    p = cli(home, tmp, *args, check=False)
    assert p.returncode == 3, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    for s in expect:
        assert s in lines[0], lines[0]
    assert "José" not in p.stderr and "xxxxxxxx" not in p.stderr
    assert p.stdout == ""
    with contextlib.closing(sqlite3.connect(home / "catalog.db")) as db:
        assert db.execute("SELECT name FROM datasets").fetchall() == []
        assert db.execute("SELECT file_id FROM data_keys").fetchall() == []
    assert list((home / "blobs").iterdir()) == []
    assert list((home / "tmp").iterdir()) == []
    assert _files(tmp) == []
