"""Table de-identification: stream record batches, transform per the plan, write Parquet."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from privtrain.deid._plan import ColumnPlan, Plan
from privtrain.deid._policy import DeidPolicy, Transform
from privtrain.deid._report import ColumnReport, DeidReport
from privtrain.deid._source import TableSource, check_cell_sizes
from privtrain.deid._transforms import CellTransform, PseudonymKey, pseudonym
from privtrain.errors import ConfigError, InputError

log = logging.getLogger(__name__)

#: Direct-identifier entities whose values are looked for verbatim in the row's free text.
_KNOWN_ENTITIES = {
    "PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "US_SSN", "UK_NINO", "CREDIT_CARD", "ID",
    "STREET_ADDRESS", "IP_ADDRESS", "IBAN_CODE",
}  # fmt: skip
_MAX_EXAMPLES = 3


class _GuardedSink:
    """File-like wrapper around the caller's sink: counts bytes, never seeks, and once
    ``poison()``-ed (after an error) swallows writes so no footer makes the partial output
    look like a valid Parquet file."""

    def __init__(self, sink: BinaryIO) -> None:
        self._sink = sink
        self.bytes = 0
        self.poisoned = False
        self.closed = False

    def write(self, data: Any) -> int:
        n = len(memoryview(data))
        if not self.poisoned:
            self._sink.write(bytes(data))
        self.bytes += n
        return n

    def tell(self) -> int:
        return self.bytes

    def flush(self) -> None:
        if not self.poisoned and hasattr(self._sink, "flush"):
            self._sink.flush()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def close(self) -> None:  # the caller owns the sink
        self.closed = True

    def poison(self) -> None:
        self.poisoned = True


class _Column:
    """Runtime state for one planned column."""

    def __init__(self, plan: ColumnPlan, transform: Transform, key: PseudonymKey) -> None:
        self.plan = plan
        self.transform = transform
        self.name = plan.name
        self.passthrough = transform.action == "keep"
        self.dropped = transform.action == "drop"
        self.text = plan.kind == "free_text" and transform.action == "scrub"
        self.cell = (
            None
            if self.passthrough or self.dropped or self.text or plan.kind == "free_text"
            else CellTransform(plan.entity, transform, key)
        )
        self.non_null = 0
        self.changed = 0
        self.spans: Counter[str] = Counter()
        self.examples: list[str] = []
        self.scrubber: Any = None

    def note_examples(self, outputs: list[Any]) -> None:
        for v in outputs:
            if len(self.examples) >= _MAX_EXAMPLES:
                return
            if isinstance(v, str) and v and v not in self.examples:
                self.examples.append(v)


class _PyValues:
    """Python lists of a batch's columns, converted once, on first use."""

    def __init__(self, data: dict[str, pa.Array]) -> None:
        self._data = data
        self._py: dict[str, list[Any]] = {}

    def __call__(self, name: str) -> list[Any]:
        if name not in self._py:
            self._py[name] = self._data[name].to_pylist()
        return self._py[name]


def _effective_transform(col: ColumnPlan, policy: DeidPolicy, path: Path) -> Transform:
    t = col.transform or policy.transform_for(col.kind, col.entity)
    try:
        t.check_for(col.entity, f"plan column '{col.name}'")
    except ConfigError as e:
        raise InputError(e.message) from e
    if col.kind == "free_text" and t.action not in ("scrub", "drop", "keep", "redact", "replace"):
        raise InputError(f"plan column '{col.name}': free text cannot be {t.action}")
    return t


def _strings(values: list[Any]) -> list[str | None]:
    return [None if v is None else v if isinstance(v, str) else str(v) for v in values]


def deidentify_table(
    src: Path,
    sink: BinaryIO,
    *,
    plan: Plan,
    policy: DeidPolicy,
    pseudonym_key: tuple[int, bytes],
    progress: Callable[[int, int | None], None] | None = None,
    engine: Any = None,
    chunk_rows: int = 2048,
    nlp_batch_size: int = 128,
    n_process: int = 1,
    max_cell_bytes: int = 1_000_000,
    compression: str = "zstd",
) -> DeidReport:
    """De-identify ``src`` (CSV/TSV/Parquet/JSONL by suffix) into Parquet written to ``sink``.

    ``plan`` is used as given (it must name exactly the file's columns); ``policy`` supplies
    the transform of columns whose plan ``transform`` is null and of free-text spans;
    ``pseudonym_key`` is ``(version, key bytes)`` from ``KeyProvider.hmac_key(project)``.
    Only ``sink.write`` is called (never seek); on any error an exception is raised, nothing
    more is written and what was written is not a valid Parquet file - discard the sink.
    ``progress(rows_done, total_rows_or_None)`` is called after each chunk. Cells larger than
    ``max_cell_bytes`` are an InputError; ``compression`` is the Parquet codec ("none" too).
    """
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    src = Path(src)
    if chunk_rows < 1:
        raise InputError(f"chunk_rows must be >= 1 (got {chunk_rows})")
    key = PseudonymKey.from_tuple(
        pseudonym_key,
        hex_chars=policy.pseudonym.hex_chars,
        phone_region=policy.detection.phone_regions[0],
    )
    source = TableSource(src)
    if source.format == "jsonl":
        names = [c.name for c in plan.columns]
        extra = [c for c in source.columns if c not in names]
        if extra:
            raise InputError(f"{src}: column '{extra[0]}' is not in the plan (re-run the plan)")
        source.columns = names
    plan.validate_for(source.columns, src)
    cols = {c.name: _Column(c, _effective_transform(c, policy, src), key) for c in plan.columns}
    order = [cols[n] for n in source.columns]
    person_cols = list(plan.person_columns)
    needs_person = any(
        c.transform.action == "date_shift"
        or (c.text and policy.text_transform("DATE_TIME").action == "date_shift")
        for c in order
    )
    if needs_person and not person_cols:
        raise InputError(
            f"plan for {src}: date_shift needs person_columns (the column(s) naming the person)"
        )
    text_cols = [c for c in order if c.text]
    if text_cols:
        from privtrain.deid._engine import get_engine
        from privtrain.deid._text import TextScrubber

        engine = engine or get_engine(phone_regions=policy.detection.phone_regions)
        for c in text_cols:
            c.scrubber = TextScrubber(policy, key)
    known_cols = [c for c in order if c.plan.kind == "direct" and c.plan.entity in _KNOWN_ENTITIES]
    string_columns = {c.name for c in order if not c.passthrough}

    guard = _GuardedSink(sink)
    writer: pq.ParquetWriter | None = None
    schema: pa.Schema | None = None
    rows = 0
    try:
        for batch in source.batches(string_columns, chunk_rows):
            n = batch.num_rows
            if n == 0:
                continue
            check_cell_sizes(batch, rows, src, max_cell_bytes, lambda i: f"row {i + 1}")
            data = {name: batch.column(i) for i, name in enumerate(batch.schema.names)}
            values = _PyValues(data)

            persons: list[str | None] = [None] * n
            if person_cols and (needs_person or text_cols):
                parts = [_strings(values(p)) for p in person_cols]
                for i in range(n):
                    full = " ".join(p[i].strip() for p in parts if p[i] and p[i].strip())
                    persons[i] = full or None
            person_tokens = [pseudonym("PERSON", p, key) if p else None for p in persons]

            out_arrays: list[pa.Array] = []
            out_fields: list[pa.Field] = []
            for c in order:
                if c.dropped:
                    c.non_null += n - data[c.name].null_count
                    continue
                if c.passthrough:
                    arr = data[c.name]
                    c.non_null += n - arr.null_count
                    out_arrays.append(arr)
                    out_fields.append(pa.field(c.name, arr.type))
                    continue
                vals = _strings(values(c.name))
                c.non_null += sum(1 for v in vals if v is not None and v.strip())
                if c.text:
                    out = _scrub_column(
                        c, vals, i_persons=persons, tokens=person_tokens, known_cols=known_cols,
                        values=values, engine=engine, policy=policy,
                        batch_size=nlp_batch_size, n_process=n_process,
                    )  # fmt: skip
                else:
                    assert c.cell is not None
                    out = [c.cell(v, t) for v, t in zip(vals, person_tokens, strict=True)]
                    c.note_examples(out)
                c.changed += sum(1 for a, b in zip(vals, out, strict=True) if a and a != b)
                out_arrays.append(pa.array(out, type=pa.string()))
                out_fields.append(pa.field(c.name, pa.string()))
            out_batch = pa.RecordBatch.from_arrays(out_arrays, schema=pa.schema(out_fields))
            if writer is None:
                schema = out_batch.schema.with_metadata(
                    {
                        b"privtrain.deid": json.dumps(
                            {
                                "plan_sha256": plan.fingerprint(),
                                "policy_sha256": policy.fingerprint(),
                                "pseudonym_key_version": key.version,
                            }
                        ).encode()
                    }
                )
                writer = pq.ParquetWriter(guard, schema, compression=compression)
            elif out_batch.schema != schema.remove_metadata():
                out_batch = _conform(out_batch, schema, src, rows)
            writer.write_batch(out_batch)
            rows += n
            if progress is not None:
                progress(rows, source.total_rows)
        if writer is None:
            raise InputError(f"{src}: no data rows")
        writer.close()
    except BaseException:
        guard.poison()
        if writer is not None:
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - the original error matters
                pass
        raise

    seconds = time.perf_counter() - t0
    entity_counts: Counter[str] = Counter()
    reports = []
    for c in order:
        if c.text:
            entity_counts.update(c.spans)
        elif not c.passthrough and c.plan.entity:
            entity_counts[c.plan.entity] += c.changed
        reports.append(
            ColumnReport(
                name=c.name,
                kind=c.plan.kind,
                entity=c.plan.entity,
                action=c.transform.describe(),
                in_output=not c.dropped,
                non_null=c.non_null,
                changed=c.non_null if c.dropped else c.changed,
                unparseable=c.cell.unparseable if c.cell else 0,
                spans=dict(c.spans),
                examples=c.examples,
            )
        )
    return DeidReport(
        source_name=src.name,
        source_format=source.format,
        rows=rows,
        columns_in=len(order),
        columns_out=sum(1 for c in order if not c.dropped),
        columns=reports,
        entity_counts=dict(entity_counts),
        pseudonym_key_version=key.version,
        pseudonym_hex_chars=key.hex_chars,
        model_name=getattr(engine, "model_name", None),
        policy_sha256=policy.fingerprint(),
        plan_sha256=plan.fingerprint(),
        started_at=started.isoformat(timespec="seconds"),
        seconds=round(seconds, 3),
        rows_per_second=round(rows / seconds, 1) if seconds > 0 else 0.0,
        output_bytes=guard.bytes,
    )


def _scrub_column(
    c: _Column,
    vals: list[str | None],
    *,
    i_persons: list[str | None],
    tokens: list[str | None],
    known_cols: list[_Column],
    values: Callable[[str], list[Any]],
    engine: Any,
    policy: DeidPolicy,
    batch_size: int,
    n_process: int,
) -> list[str | None]:
    idx = [i for i, v in enumerate(vals) if v is not None and v.strip()]
    if not idx:
        return vals
    known_vals = {k.name: _strings(values(k.name)) for k in known_cols}
    known: list[list[tuple[str, str]]] = []
    for i in idx:
        row: list[tuple[str, str]] = []
        if i_persons[i]:
            row.append(("PERSON", i_persons[i]))
        for k in known_cols:
            v = known_vals[k.name][i]
            if v and v.strip() and (k.plan.entity != "PERSON" or v != i_persons[i]):
                row.append((k.plan.entity or "ID", v))
        known.append(row)
    texts = [vals[i] for i in idx]
    spans = engine.analyze(
        texts,
        score_threshold=policy.detection.score_threshold,
        batch_size=batch_size,
        n_process=n_process,
        known=known,
    )
    out = list(vals)
    for i, text, ss in zip(idx, texts, spans, strict=True):
        out[i] = c.scrubber.scrub(text, ss, tokens[i])
    c.spans = c.scrubber.counts
    c.examples = [x for xs in c.scrubber.examples.values() for x in xs][:_MAX_EXAMPLES]
    return out


def _conform(batch: pa.RecordBatch, schema: pa.Schema, path: Path, rows: int) -> pa.RecordBatch:
    arrays = []
    for field, arr in zip(schema, batch.columns, strict=True):
        if arr.type != field.type:
            try:
                arr = arr.cast(field.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                raise InputError(
                    f"{path}: rows from {rows + 1}, column '{field.name}': type {arr.type} "
                    f"differs from {field.type} of the first rows"
                ) from e
        arrays.append(arr)
    return pa.RecordBatch.from_arrays(arrays, schema=schema.remove_metadata())
