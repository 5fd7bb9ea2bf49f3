"""privtrain.deid on bad input: each problem is an InputError naming file/row/column, and the
sink never holds a valid (partial) Parquet file."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from privtrain.deid import (
    ColumnPlan,
    Plan,
    Transform,
    deidentify_table,
    plan_table,
)
from privtrain.errors import InputError, NotFoundError

KEY = (1, b"bad-input-key-0123456789abcdefghi")


def simple_plan(*names: str, **kinds: tuple[str, str | None]) -> Plan:
    cols = []
    for n in names:
        kind, entity = kinds.get(n, ("safe", None))
        cols.append(ColumnPlan(name=n, kind=kind, entity=entity))
    return Plan(columns=cols)


def deid(src: Path, plan: Plan, policy, engine, **kw) -> io.BytesIO:
    sink = io.BytesIO()
    deidentify_table(src, sink, plan=plan, policy=policy, pseudonym_key=KEY, engine=engine, **kw)
    return sink


def assert_no_valid_parquet(sink: io.BytesIO) -> None:
    data = sink.getvalue()
    if data:
        with pytest.raises(pa.ArrowInvalid):
            pq.read_table(pa.BufferReader(data))


def test_non_utf8_csv(tmp_path, policy, engine):
    src = tmp_path / "latin1.csv"
    src.write_bytes("name,city\nAnna,Berlin\nJosé,Málaga\n".encode("latin-1"))
    plan = simple_plan("name", "city", name=("direct", "PERSON"))
    with pytest.raises(InputError, match=r"latin1\.csv: line 3.*not UTF-8") as ei:
        deid(src, plan, policy, engine)
    assert "José" not in str(ei.value)
    with pytest.raises(InputError, match="line 3"):
        plan_table(src, engine=engine, policy=policy)


def test_non_utf8_in_a_kept_column(tmp_path, policy, engine):
    src = tmp_path / "mixed.csv"
    src.write_bytes(b"id,comment\n1,ok\n2,caf\xe9\n")
    with pytest.raises(InputError, match=r"line 3, column 'comment'.*not UTF-8"):
        deid(src, simple_plan("id", "comment"), policy, engine)


def test_non_utf8_jsonl(tmp_path, policy, engine):
    src = tmp_path / "x.jsonl"
    src.write_bytes(b'{"a": "ok"}\n{"a": "caf\xe9"}\n')
    with pytest.raises(InputError, match=r"x\.jsonl: line 2: .*not UTF-8"):
        deid(src, simple_plan("a"), policy, engine)


def test_ragged_rows(tmp_path, policy, engine):
    src = tmp_path / "ragged.csv"
    src.write_text("a,b,c\n1,2,3\n4,5\n6,7,8\n")
    with pytest.raises(InputError, match=r"ragged\.csv: line 3: expected 3 columns, found 2") as ei:
        deid(src, simple_plan("a", "b", "c"), policy, engine)
    assert "4,5" not in str(ei.value)  # the row's content is not echoed


def test_plan_names_missing_column(tmp_path, policy, engine):
    src = tmp_path / "t.csv"
    src.write_text("name,age\nAnn Lee,40\n")
    plan = simple_plan("name", "age", "ssn", ssn=("direct", "US_SSN"))
    with pytest.raises(InputError, match=r"plan column 'ssn' not found in .*t\.csv"):
        deid(src, plan, policy, engine)


def test_file_column_not_in_plan(tmp_path, policy, engine):
    src = tmp_path / "t.csv"
    src.write_text("name,age,email\nAnn Lee,40,a@b.example\n")
    with pytest.raises(InputError, match=r"column 'email' is not in the plan"):
        deid(src, simple_plan("name", "age"), policy, engine)
    src2 = tmp_path / "t.jsonl"
    src2.write_text('{"name": "Ann"}\n' * 300 + '{"name": "Bo", "email": "bo@x.example"}\n')
    with pytest.raises(InputError, match=r"'email'.* not in the plan"):
        deid(src2, simple_plan("name"), policy, engine)


@pytest.mark.parametrize("body", [b"", b"a,b\n"])
def test_empty_file(tmp_path, policy, engine, body):
    src = tmp_path / "empty.csv"
    src.write_bytes(body)
    with pytest.raises(InputError, match=r"empty\.csv: (empty file|no data rows)"):
        deid(src, simple_plan("a", "b"), policy, engine)
    with pytest.raises(InputError, match=r"empty\.csv: (empty file|no data rows)"):
        plan_table(src, engine=engine, policy=policy)


def test_100_mb_single_field_csv(tmp_path, policy, engine):
    src = tmp_path / "huge.csv"
    with src.open("wb") as f:
        f.write(b"id,note\n1,short\n2,")
        chunk = b"x" * (1 << 20)
        for _ in range(100):
            f.write(chunk)
        f.write(b"\n3,short\n")
    plan = simple_plan("id", "note", note=("free_text", None))
    with pytest.raises(InputError, match=r"huge\.csv: a row after data row \d+ is larger than"):
        deid(src, plan, policy, engine)
    with pytest.raises(InputError, match="larger than"):
        plan_table(src, engine=engine, policy=policy)


def test_100_mb_single_field_jsonl(tmp_path, policy, engine):
    src = tmp_path / "huge.jsonl"
    with src.open("wb") as f:
        f.write(b'{"id": 1, "note": "short"}\n{"id": 2, "note": "')
        for _ in range(100):
            f.write(b"x" * (1 << 20))
        f.write(b'"}\n')
    with pytest.raises(InputError, match=r"huge\.jsonl: line 2 is longer than"):
        deid(src, simple_plan("id", "note", note=("free_text", None)), policy, engine)


def test_oversized_cell_mid_stream_leaves_no_valid_parquet(tmp_path, policy, engine):
    src = tmp_path / "big.parquet"
    notes = ["fine"] * 300
    notes[250] = "y" * (2 << 20)
    pq.write_table(pa.table({"id": list(range(300)), "note": notes}), src)
    plan = simple_plan("id", "note", note=("free_text", None))
    sink = io.BytesIO()
    with pytest.raises(InputError, match=r"big\.parquet: row 251, column 'note': .* exceeds"):
        deidentify_table(src, sink, plan=plan, policy=policy, pseudonym_key=KEY,
                         engine=engine, chunk_rows=100)  # fmt: skip
    assert len(sink.getvalue()) > 0  # two chunks went out before the bad one...
    assert_no_valid_parquet(sink)  # ...but no footer: not a readable file


def test_bad_jsonl_lines(tmp_path, policy, engine):
    src = tmp_path / "bad.jsonl"
    src.write_text('{"a": 1}\n{"a": \n')
    with pytest.raises(InputError, match=r"bad\.jsonl: line 2: not valid JSON"):
        deid(src, simple_plan("a"), policy, engine)
    src.write_text('{"a": 1}\n[1, 2]\n')
    with pytest.raises(InputError, match="line 2: expected a JSON object"):
        deid(src, simple_plan("a"), policy, engine)


def test_type_change_after_first_block_names_line_and_column(tmp_path, policy, engine):
    src = tmp_path / "types.csv"
    pad = "p" * 60  # > 8 MiB before the odd value: past the block types are inferred from
    rows = "\n".join(f"{i},{i * 2},{pad}" for i in range(200_000))
    src.write_text(f"a,b,c\n{rows}\n7,not-a-number,{pad}\n")
    with pytest.raises(InputError, match=r"line 200002, column 'b'"):
        deid(src, simple_plan("a", "b", "c"), policy, engine)


def test_missing_and_unsupported_files(tmp_path, policy, engine):
    with pytest.raises(NotFoundError):
        deid(tmp_path / "nope.csv", simple_plan("a"), policy, engine)
    odd = tmp_path / "data.xlsx"
    odd.write_bytes(b"PK")
    with pytest.raises(InputError, match="unsupported file type"):
        deid(odd, simple_plan("a"), policy, engine)
    notpq = tmp_path / "fake.parquet"
    notpq.write_bytes(b"this is not parquet")
    with pytest.raises(InputError, match="not a readable Parquet"):
        deid(notpq, simple_plan("a"), policy, engine)


def test_bad_pinned_plan_files(tmp_path):
    p = tmp_path / "plan.yaml"
    p.write_text("columns:\n- name: a\n  kind: direct\n")
    with pytest.raises(InputError, match=r"plan\.yaml: columns\.0.*needs an entity"):
        Plan.from_yaml(p)
    p.write_text("columns:\n- name: a\n  kind: quasi\n  entity: PERSON\n")
    with pytest.raises(InputError, match="quasi-identifier entity"):
        Plan.from_yaml(p)
    p.write_text("columns:\n- name: a\n  kind: direct\n  entity: PERSON\n  transform: generalize\n")
    with pytest.raises(InputError, match="generalize applies"):
        Plan.from_yaml(p)
    p.write_text("person_columns: [b]\ncolumns:\n- name: a\n  kind: safe\n")
    with pytest.raises(InputError, match="person_columns"):
        Plan.from_yaml(p)
    p.write_text("columns: [\n")
    with pytest.raises(InputError, match="not valid YAML"):
        Plan.from_yaml(p)
    with pytest.raises(InputError, match="not found"):
        Plan.from_yaml(tmp_path / "missing.yaml")


def test_date_shift_without_person_columns(tmp_path, policy, engine):
    src = tmp_path / "d.csv"
    src.write_text("dob\n2001-02-03\n")
    plan = Plan(
        columns=[
            ColumnPlan(
                name="dob", kind="quasi", entity="DATE", transform=Transform(action="date_shift")
            )
        ]  # fmt: skip
    )
    with pytest.raises(InputError, match="date_shift needs person_columns"):
        deid(src, plan, policy, engine)


def test_error_messages_never_echo_values(tmp_path, policy, engine):
    src = tmp_path / "types.csv"
    secret = "Jane-Roe-555-12-3456"
    pad = "p" * 60
    rows = "\n".join(f"{i},{pad}" for i in range(200_000))
    src.write_text(f"a,b\n{rows}\n{secret},{pad}\n")
    with pytest.raises(InputError) as ei:
        deid(src, simple_plan("a", "b"), policy, engine)
    assert secret not in str(ei.value)
    assert json.dumps(str(ei.value))  # one line, printable
    assert "\n" not in str(ei.value)
