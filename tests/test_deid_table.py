"""privtrain.deid on tables: the generated patients table end to end."""

from __future__ import annotations

import importlib.util
import io
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from privtrain.deid import (
    DeidReport,
    Plan,
    deidentify_table,
    get_engine,
    load_policy,
    plan_table,
    pseudonym,
    render_report_html,
)

ROOT = Path(__file__).resolve().parent.parent
KEY = (1, b"table-test-key-0123456789abcdefgh")
OTHER_KEY = (2, b"another-key-0123456789abcdefghijk")
ROWS = 200


def _make_patients():
    spec = importlib.util.spec_from_file_location(
        "make_patients", ROOT / "examples" / "data" / "make_patients.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


@pytest.fixture(scope="module")
def policy():
    # linkage across columns, tables and formats is what the opt-in pseudonymous profile keeps
    # (the Safe Harbor default removes it: tests/test_deid_safe_harbor.py)
    return load_policy("pseudonymous")


@pytest.fixture(scope="module")
def engine(policy):
    return get_engine(phone_regions=policy.detection.phone_regions)


@pytest.fixture(scope="module")
def patients(tmp_path_factory):
    df, ids = _make_patients().generate(ROWS, seed=0)
    d = tmp_path_factory.mktemp("patients")
    csv = d / "patients.csv"
    df.to_csv(csv, index=False)
    return csv, df, ids


@pytest.fixture(scope="module")
def plan(patients, engine, policy):
    return plan_table(patients[0], engine=engine, policy=policy)


def run(src, plan, policy, engine, key=KEY, **kw):
    sink = io.BytesIO()
    report = deidentify_table(
        src, sink, plan=plan, policy=policy, pseudonym_key=key, engine=engine, **kw
    )
    return sink.getvalue(), report


@pytest.fixture(scope="module")
def first(patients, plan, policy, engine):
    raw, report = run(patients[0], plan, policy, engine, compression="none")
    return raw, report, pq.read_table(io.BytesIO(raw)).to_pylist()


def test_generator_is_deterministic_and_consistent(patients):
    _, df, ids = patients
    df2, ids2 = _make_patients().generate(ROWS, seed=0)
    assert df.equals(df2) and ids == ids2
    assert len(df) == ROWS and {"name", "email", "phone", "ssn", "address", "note"} <= set(df)
    for dob, age in zip(df["date_of_birth"], df["age"], strict=True):
        y, m, d = map(int, dob.split("-"))
        assert 1994 - y - ((m, d) > (7, 1)) == age  # age on the census date 1994-07-01
    assert all(ids["phones"][i] in df["note"][i] for i in range(ROWS))


def test_plan_classifies_patient_columns(plan):
    got = {c.name: (c.kind, c.entity) for c in plan.columns}
    assert got["name"] == ("direct", "PERSON")
    assert got["email"] == ("direct", "EMAIL_ADDRESS")
    assert got["phone"] == ("direct", "PHONE_NUMBER")
    assert got["ssn"] == ("direct", "US_SSN")
    assert got["address"] == ("direct", "STREET_ADDRESS")
    assert got["date_of_birth"] == ("quasi", "BIRTH_DATE")
    assert got["age"] == ("quasi", "AGE")
    assert got["sex"] == ("quasi", "GENDER")
    assert got["note"] == ("free_text", None)
    for safe in ("workclass", "education", "occupation", "race", "fnlwgt", "class"):
        assert got[safe] == ("safe", None), safe
    assert plan.person_columns == ["name"]
    assert all(c.evidence for c in plan.columns)


def test_no_identifier_in_output(first, patients):
    raw, report, rows = first
    _, df, ids = patients
    cells = [str(v) for r in rows for v in r.values()]
    blob = "\n".join(cells)
    text = raw.decode("utf-8", "replace")
    for kind in ("names", "emails", "phones", "ssns", "addresses", "relatives", "name_mentions"):
        for value in ids[kind]:
            assert value not in blob, (kind, value)
            assert value not in text, (kind, value)
    digits_blob = re.sub(r"\D", "", blob)
    for ssn in ids["ssns"]:
        assert ssn.replace("-", "") not in digits_blob
    assert "address" not in rows[0]  # dropped by the policy
    assert report.rows == ROWS and report.columns_out == report.columns_in - 1
    # No fragment of a phone number survives next to its token (e.g. an extension "x08016").
    with_ext = [p for p in ids["phones"] if re.search(r"(?:x|ext)\s*\d", p, re.IGNORECASE)]
    assert with_ext, "the generator should produce phone extensions"
    assert not re.search(r"PHONE_NUMBER_[0-9a-f]+\s*(?:x|ext)\.?\s*\d", blob, re.IGNORECASE)
    for p in with_ext:
        ext = re.split(r"x|ext\.?", p, flags=re.IGNORECASE)[-1].strip()
        if len(ext) >= 4:
            assert f"x{ext}" not in blob, p


def test_same_person_same_token_across_columns_and_text(first, patients):
    _, _, rows = first
    _, df, ids = patients
    for i, r in enumerate(rows):
        assert r["name"] == pseudonym("PERSON", ids["names"][i], KEY)
        assert r["name"] in r["note"], (i, r["note"])  # every note mentions the patient
        assert r["phone"] in r["note"], (i, r["note"])  # ... and the patient's phone
        assert r["email"].startswith("EMAIL_ADDRESS_") and r["ssn"].startswith("US_SSN_")
        assert r["age"] in {"10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79",
                            "80-89", "90+"}  # fmt: skip
        assert re.fullmatch(r"\d{4}|90\+", r["date_of_birth"])


def test_two_runs_same_key_identical_different_key_differs(first, patients, plan, policy, engine):
    _, _, rows = first
    raw2, _ = run(patients[0], plan, policy, engine, compression="none")
    rows2 = pq.read_table(io.BytesIO(raw2)).to_pylist()
    assert rows2 == rows
    raw3, report3 = run(patients[0], plan, policy, engine, key=OTHER_KEY)
    rows3 = pq.read_table(io.BytesIO(raw3)).to_pylist()
    assert report3.pseudonym_key_version == 2
    for a, b in zip(rows, rows3, strict=True):
        for col in ("name", "email", "phone", "ssn"):
            assert a[col] != b[col]


def test_same_person_across_tables_and_formats(first, patients, engine, policy, tmp_path):
    """Another table (JSON Lines, names as "Last, First", a comment in capitals) links up."""
    _, _, rows = first
    _, df, ids = patients
    lines = []
    for i in range(20):
        first_name, last = ids["names"][i].split(" ", 1)
        lines.append(
            json.dumps(
                {
                    "patient": f"{last}, {first_name}",
                    "comment": f"CALLED {ids['names'][i].upper()} BACK ABOUT THE INVOICE.",
                    "amount": i * 10.5,
                }
            )  # fmt: skip
        )
    src = tmp_path / "billing.jsonl"
    src.write_text("\n".join(lines) + "\n")
    plan2 = plan_table(src, engine=engine, policy=policy)
    assert plan2.column("patient").entity == "PERSON"
    assert plan2.column("comment").kind == "free_text"
    raw, _ = run(src, plan2, policy, engine)
    out = pq.read_table(io.BytesIO(raw)).to_pylist()
    for i, r in enumerate(out):
        assert r["patient"] == rows[i]["name"]
        assert rows[i]["name"] in r["comment"], r["comment"]
        assert r["amount"] == i * 10.5


def test_parquet_input_matches_csv(first, patients, plan, policy, engine, tmp_path):
    _, _, rows = first
    _, df, _ = patients
    src = tmp_path / "patients.parquet"
    df.to_parquet(src, index=False)
    parquet_plan = plan_table(src, engine=engine, policy=policy)
    assert [(c.name, c.kind, c.entity) for c in parquet_plan.columns] == [
        (c.name, c.kind, c.entity) for c in plan.columns
    ]
    calls = []
    raw, report = run(src, plan, policy, engine, chunk_rows=64,
                      progress=lambda done, total: calls.append((done, total)))  # fmt: skip
    assert calls == [(64, ROWS), (128, ROWS), (192, ROWS), (ROWS, ROWS)]
    out = pq.read_table(io.BytesIO(raw)).to_pylist()
    assert [r["name"] for r in out] == [r["name"] for r in rows]
    assert [r["note"] for r in out] == [r["note"] for r in rows]
    assert pq.ParquetFile(io.BytesIO(raw)).metadata.num_row_groups == 4


def test_plan_yaml_round_trip_and_pinned_plan(first, patients, plan, policy, engine, tmp_path):
    path = tmp_path / "plan.yaml"
    plan.save(path)
    assert not [p for p in tmp_path.iterdir() if p.name != "plan.yaml"]  # no temp left behind
    text = path.read_text()
    assert text.startswith("# privtrain de-identification plan")
    assert Plan.from_yaml(path) == plan
    # the reviewer pins: keep exact ages, shift birth dates per person, drop the SSN column
    data = yaml.safe_load(text)
    actions = {"age": "keep", "ssn": "drop", "date_of_birth": "date_shift"}
    for col in data["columns"]:
        if col["name"] in actions:
            col["transform"] = {"action": actions[col["name"]]}
    edited = yaml.safe_dump(data, sort_keys=False)
    pinned_path = tmp_path / "pinned.yaml"
    pinned_path.write_text(edited)
    pinned = Plan.from_yaml(pinned_path)
    raw, report = run(patients[0], pinned, policy, engine)
    out = pq.read_table(io.BytesIO(raw)).to_pylist()
    _, df, _ = patients
    assert "ssn" not in out[0]
    assert [r["age"] for r in out] == list(df["age"])  # kept, type and all
    import datetime as dt

    shifts = {
        (dt.date.fromisoformat(r["date_of_birth"]) - dt.date.fromisoformat(orig)).days
        for r, orig in zip(out, df["date_of_birth"], strict=True)
    }
    assert 0 not in shifts and len(shifts) > 50  # per person, not one global offset
    assert {c.name: c.action for c in report.columns}["date_of_birth"].startswith("date_shift")


def test_report_shows_only_transformed_values(first, patients, tmp_path):
    _, report, _ = first
    _, _, ids = patients
    data = json.loads(report.to_json())
    assert DeidReport.model_validate(data) == report
    dumped = report.to_json()
    for kind in ("names", "emails", "phones", "ssns", "addresses", "relatives"):
        assert not any(v in dumped for v in ids[kind])
    cols = {c.name: c for c in report.columns}
    assert (
        cols["note"].spans.get("PERSON", 0) >= ROWS and cols["note"].spans["PHONE_NUMBER"] >= ROWS
    )
    assert all(x.startswith(("PERSON_", "PHONE_NUMBER_", "<", "19", "20"))
               for x in cols["note"].examples)  # fmt: skip
    assert cols["name"].examples and all(x.startswith("PERSON_") for x in cols["name"].examples)
    assert cols["workclass"].examples == [] and cols["address"].in_output is False
    html = render_report_html(report, tmp_path / "r" / "report.html")
    page = html.read_text()
    assert page.startswith("<!doctype html>") and "note" in page and "<script" not in page
    assert not any(v in page for v in ids["names"])
    assert [p.name for p in html.parent.iterdir()] == ["report.html"]


def test_sink_only_needs_write(patients, plan, policy, engine):
    class WriteOnly:
        def __init__(self):
            self.parts = []

        def write(self, b):
            self.parts.append(bytes(b))
            return len(b)

    sink = WriteOnly()
    report = deidentify_table(
        patients[0], sink, plan=plan, policy=policy, pseudonym_key=KEY, engine=engine
    )
    table = pq.read_table(pa.BufferReader(b"".join(sink.parts)))
    assert table.num_rows == ROWS and report.output_bytes == sum(map(len, sink.parts))
