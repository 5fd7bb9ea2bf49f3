"""Table de-identification: stream record batches, transform per the plan, write Parquet."""

from __future__ import annotations

import collections
import datetime as dt
import json
import logging
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from privtrain.deid._hipaa import _PREFILTER as _PREFILTER_RE
from privtrain.deid._hipaa import PREFILTER, value_entity
from privtrain.deid._plan import ColumnPlan, Plan
from privtrain.deid._policy import DeidPolicy, Transform
from privtrain.deid._report import ColumnReport, DeidReport, SafeHarborRow
from privtrain.deid._source import TableSource, check_cell_sizes
from privtrain.deid._transforms import CellTransform, PseudonymKey, generalize_age, pseudonym
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
        # every value of a safe or quasi column is checked for identifier shapes
        self.guard = plan.kind in ("safe", "quasi") and not self.dropped
        self.flagged: Counter[str] = Counter()
        self._seen: dict[str, str | None] = {}
        self.out_type: pa.DataType | None = None  # CSV pass-through: inferred output type

    def check(self, v: str, region: str) -> str | None:
        """The identifier entity value ``v`` looks like (cached per distinct value)."""
        if len(v) < 7 or not _PREFILTER_RE.search(v):
            return None  # most values: one regex search, nothing cached
        if v in self._seen:
            return self._seen[v]
        e = value_entity(v, region)
        if len(self._seen) < 10_000:
            self._seen[v] = e
        return e

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


def _str(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))  # 123.0 from a typed column is the id 123
    return str(v)


def _strings(values: list[Any]) -> list[str | None]:
    return [None if v is None else v if isinstance(v, str) else _str(v) for v in values]


_INT = re.compile(r"[+-]?(?:0|[1-9]\d{0,17})")
_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|nan|inf)", re.I)
_BOOL = {"true": True, "false": False, "True": True, "False": False, "TRUE": True, "FALSE": False}


def _guard_array(c: _Column, arr: pa.Array, region: str) -> tuple[pa.Array, dict[int, str]]:
    """Check every value of a string array; flagged values become ``<ENTITY>``."""
    if pa.types.is_dictionary(arr.type) and (
        pa.types.is_string(arr.type.value_type) or pa.types.is_large_string(arr.type.value_type)
    ):
        arr = arr.cast(arr.type.value_type)  # categorical text is text too
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return arr, {}
    if len(arr) == 0:
        return arr, {}
    cand = pc.match_substring_regex(arr, PREFILTER)
    idx = pc.indices_nonzero(pc.fill_null(cand, False)).to_pylist()
    if not idx:
        return arr, {}
    flagged: dict[int, str] = {}
    for i in idx:
        v = arr[i].as_py()
        e = c.check(v, region) if v else None
        if e:
            flagged[i] = e
            c.flagged[e] += 1
    if not flagged:
        return arr, {}
    vals = arr.to_pylist()
    for i, e in flagged.items():
        vals[i] = f"<{e}>"
    return pa.array(vals, type=arr.type), flagged


def _infer_type(values: list[str | None], flagged: dict[int, str]) -> pa.DataType:
    """The output type of a CSV pass-through column, from its first rows (strings kept as
    strings: "00123" is not the number 123)."""
    vals = [v for i, v in enumerate(values) if v and i not in flagged]
    if not vals:
        return pa.string()
    if all(_INT.fullmatch(v) for v in vals):
        return pa.int64()
    if all(_FLOAT.fullmatch(v) and not (len(v) > 1 and v[0] == "0" and v[1].isdigit())
           for v in vals):  # fmt: skip
        return pa.float64()
    if all(v in _BOOL for v in vals):
        return pa.bool_()
    return pa.string()


def _convert(
    c: _Column, arr: pa.Array, flagged: dict[int, str], rows_before: int, path: Path
) -> pa.Array:
    t = c.out_type
    if t is None or pa.types.is_string(t):
        return arr
    vals = arr.to_pylist()
    out: list[Any] = []
    for i, v in enumerate(vals):
        if v is None or v == "" or i in flagged:
            out.append(None)
            continue
        try:
            if pa.types.is_int64(t):
                if not _INT.fullmatch(v):
                    raise ValueError
                out.append(int(v))
            elif pa.types.is_floating(t):
                out.append(float(v))
            else:
                out.append(_BOOL[v])
        except (ValueError, KeyError):
            raise InputError(
                f"{path}: line {rows_before + i + 2}, column '{c.name}': value is not {t} like "
                f"the rows before it (mark the column as text in the plan or clean the file)"
            ) from None
    return pa.array(out, type=t)


class _Done:
    """An already computed result with the ``Future.result()`` interface."""

    def __init__(self, value: Any) -> None:
        self._value = value

    def result(self) -> Any:
        return self._value


_WORKER: dict[str, Any] = {}


def _worker_init(model_name: str, policy_json: str, key: tuple[int, bytes]) -> None:
    from privtrain.deid._engine import get_engine
    from privtrain.deid._policy import DeidPolicy
    from privtrain.deid._text import TextScrubber

    policy = DeidPolicy.model_validate_json(policy_json)
    pk = PseudonymKey.from_tuple(
        key, hex_chars=policy.pseudonym.hex_chars, phone_region=policy.detection.phone_regions[0]
    )
    _WORKER["engine"] = get_engine(model_name, phone_regions=policy.detection.phone_regions)
    _WORKER["policy"] = policy
    _WORKER["scrubber"] = TextScrubber(policy, pk)


def _scrub_job(
    engine: Any,
    policy: DeidPolicy,
    scrubber: Any,
    texts: list[str],
    known: list[list[tuple[str, str]]],
    tokens: list[str | None],
    batch_size: int,
) -> tuple[list[str], dict[str, int], dict[str, list[str]]]:
    """Detect and replace spans in ``texts``; returns the outputs and this job's counts."""
    scrubber.counts = Counter()
    scrubber.examples = {}
    spans = engine.analyze(
        texts,
        score_threshold=policy.detection.score_threshold,
        batch_size=batch_size,
        known=known,
    )
    out = [scrubber.scrub(t, ss, tok) for t, ss, tok in zip(texts, spans, tokens, strict=True)]
    return out, dict(scrubber.counts), scrubber.examples


def _worker_scrub(args: tuple) -> tuple[list[str], dict[str, int], dict[str, list[str]]]:
    texts, known, tokens, batch_size = args
    return _scrub_job(
        _WORKER["engine"], _WORKER["policy"], _WORKER["scrubber"], texts, known, tokens, batch_size
    )


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
    workers: int = 1,
) -> DeidReport:
    """De-identify ``src`` (CSV/TSV/Parquet/JSONL by suffix) into Parquet written to ``sink``.

    ``plan`` is used as given (it must name exactly the file's columns); ``policy`` supplies
    the transform of columns whose plan ``transform`` is null and of free-text spans;
    ``pseudonym_key`` is ``(version, key bytes)`` from ``KeyProvider.hmac_key(project)``.
    Only ``sink.write`` is called (never seek); on any error an exception is raised, nothing
    more is written and what was written is not a valid Parquet file - discard the sink.
    ``progress(rows_done, total_rows_or_None)`` is called after each chunk. Cells larger than
    ``max_cell_bytes`` are an InputError; ``compression`` is the Parquet codec ("none" too).

    Every value of every column the plan calls safe or quasi is checked for identifier
    shapes (:func:`privtrain.deid._hipaa.value_entity`); a hit becomes ``<ENTITY>`` (null in a
    numeric column) and is counted per column in the report (``flagged``). CSV values are
    read as text: a pass-through column is typed from its first chunk (integers without
    leading zeros, decimals, booleans), every other column stays text.

    ``workers`` > 1 scrubs free text in that many processes (each loads the spaCy model
    once); at most ``2 * workers`` chunks are in flight, so memory stays flat whatever the
    file size. Output order and content do not depend on ``workers``.
    """
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    src = Path(src)
    if chunk_rows < 1:
        raise InputError(f"chunk_rows must be >= 1 (got {chunk_rows})")
    if workers < 1:
        raise InputError(f"workers must be >= 1 (got {workers})")
    key = PseudonymKey.from_tuple(
        pseudonym_key,
        hex_chars=policy.pseudonym.hex_chars,
        phone_region=policy.detection.phone_regions[0],
    )
    region = policy.detection.phone_regions[0]
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
    pool: Any = None
    if text_cols:
        from privtrain.deid._engine import get_engine
        from privtrain.deid._text import TextScrubber

        engine = engine or get_engine(phone_regions=policy.detection.phone_regions)
        for c in text_cols:
            c.scrubber = TextScrubber(policy, key)
        if workers > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_init,
                initargs=(engine.model_name, policy.model_dump_json(), (key.version, key.key)),
            )
    known_cols = [c for c in order if c.plan.kind == "direct" and c.plan.entity in _KNOWN_ENTITIES]
    csv_like = source.format in ("csv", "tsv")
    # CSV: every column is read as text (leading zeros kept, no type guessed from a sample)
    string_columns = (
        set(source.columns) if csv_like else {c.name for c in order if not c.passthrough}
    )
    # Safe Harbor: a birth date of someone 90 or older says so; the row's age column tells
    age_col = next((c for c in order if c.plan.kind == "quasi" and c.plan.entity == "AGE"), None)
    birth_cols = [
        c for c in order
        if c.cell is not None and c.plan.entity == "BIRTH_DATE"
        and c.transform.action == "generalize" and c.transform.top is not None
    ]  # fmt: skip

    guard = _GuardedSink(sink)
    writer: pq.ParquetWriter | None = None
    schema: pa.Schema | None = None
    rows = 0
    pending: collections.deque = collections.deque()

    def flush_one() -> None:
        nonlocal writer, schema
        n, arrays, fields = pending.popleft()
        out_arrays = []
        for c, a in zip(fields, arrays, strict=True):
            if isinstance(a, _Done):  # a free-text column: (job, row indexes, inputs)
                texts_out, idx, vals, counts, examples = _resolve(a)
                out = list(vals)
                for i, t in zip(idx, texts_out, strict=True):
                    out[i] = t
                c.spans.update(counts)
                for xs in examples.values():
                    for x in xs:
                        if len(c.examples) < _MAX_EXAMPLES and x not in c.examples:
                            c.examples.append(x)
                c.changed += sum(1 for a0, b0 in zip(vals, out, strict=True) if a0 and a0 != b0)
                a = pa.array(out, type=pa.string())
            out_arrays.append(a)
        out_fields = [pa.field(c.name, a.type) for c, a in zip(fields, out_arrays, strict=True)]
        out_batch = pa.RecordBatch.from_arrays(out_arrays, schema=pa.schema(out_fields))
        if writer is None:
            schema = out_batch.schema.with_metadata(
                {
                    b"privtrain.deid": json.dumps(
                        {
                            "plan_sha256": plan.fingerprint(),
                            "policy_sha256": policy.fingerprint(),
                            "pseudonym_key_version": key.version,
                            "profile": policy.profile,
                        }
                    ).encode()
                }
            )
            writer = pq.ParquetWriter(guard, schema, compression=compression)
        elif out_batch.schema != schema.remove_metadata():
            out_batch = _conform(out_batch, schema, src, rows)
        writer.write_batch(out_batch)

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
            old_rows: list[bool] | None = None
            if age_col is not None and birth_cols:
                top = birth_cols[0].transform.top
                old_rows = [
                    (a := generalize_age(v, 1, top)) is not None and a.endswith("+")
                    for v in values(age_col.name)
                ]

            arrays: list[Any] = []
            fields: list[_Column] = []
            for c in order:
                if c.dropped:
                    c.non_null += n - data[c.name].null_count
                    continue
                if c.passthrough:
                    arr = data[c.name]
                    c.non_null += n - arr.null_count
                    flagged: dict[int, str] = {}
                    if c.guard:
                        arr, flagged = _guard_array(c, arr, region)
                    if csv_like:
                        if c.out_type is None:
                            c.out_type = _infer_type(arr.to_pylist(), flagged)
                        arr = _convert(c, arr, flagged, rows, src)
                    c.changed += len(flagged)
                    arrays.append(arr)
                    fields.append(c)
                    continue
                vals = _strings(values(c.name))
                c.non_null += sum(1 for v in vals if v is not None and v.strip())
                if c.text:
                    arrays.append(
                        _submit_scrub(
                            c, vals, persons=persons, tokens=person_tokens,
                            known_cols=known_cols, values=values, engine=engine, policy=policy,
                            batch_size=nlp_batch_size, pool=pool,
                        )
                    )  # fmt: skip
                    fields.append(c)
                    continue
                assert c.cell is not None
                out: list[Any] = []
                for v, t in zip(vals, person_tokens, strict=True):
                    e = c.check(v, region) if c.guard and v else None
                    if e:
                        c.flagged[e] += 1
                        out.append(f"<{e}>")
                    else:
                        out.append(c.cell(v, t))
                if old_rows is not None and c in birth_cols:
                    top_s = f"{c.transform.top}+"
                    out = [top_s if old and o is not None else o
                           for o, old in zip(out, old_rows, strict=True)]  # fmt: skip
                c.note_examples(out)
                c.changed += sum(1 for a, b in zip(vals, out, strict=True) if a and a != b)
                arrays.append(pa.array(out, type=pa.string()))
                fields.append(c)
            pending.append((n, arrays, fields))
            rows += n
            while len(pending) > (2 * workers if pool is not None else 0):
                flush_one()
            if progress is not None:
                progress(rows, source.total_rows)
        while pending:
            flush_one()
        if writer is None:
            raise InputError(f"{src}: no data rows")
        writer.close()
    except BaseException:
        guard.poison()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
            pool = None
        if writer is not None:
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - the original error matters
                pass
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True)

    seconds = time.perf_counter() - t0
    entity_counts: Counter[str] = Counter()
    reports = []
    for c in order:
        if c.text:
            entity_counts.update(c.spans)
        elif c.dropped and c.plan.entity and c.plan.kind != "safe":
            entity_counts[c.plan.entity] += c.non_null
        elif not c.passthrough and c.plan.entity:
            entity_counts[c.plan.entity] += c.changed - sum(c.flagged.values())
        entity_counts.update(c.flagged)
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
                flagged=dict(c.flagged),
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
        profile=policy.profile,
        profile_summary=policy.summary,
        profile_keeps=list(policy.keeps),
        workers=workers,
        safe_harbor=safe_harbor_rows(order, policy, entity_counts),
    )


def _resolve(a: _Done) -> tuple:
    job, idx, vals = a.result()
    texts_out, counts, examples = job.result()
    return texts_out, idx, vals, counts, examples


def _submit_scrub(
    c: _Column,
    vals: list[str | None],
    *,
    persons: list[str | None],
    tokens: list[str | None],
    known_cols: list[_Column],
    values: Callable[[str], list[Any]],
    engine: Any,
    policy: DeidPolicy,
    batch_size: int,
    pool: Any,
) -> _Done:
    idx = [i for i, v in enumerate(vals) if v is not None and v.strip()]
    known_vals = {k.name: _strings(values(k.name)) for k in known_cols}
    known: list[list[tuple[str, str]]] = []
    for i in idx:
        row: list[tuple[str, str]] = []
        if persons[i]:
            row.append(("PERSON", persons[i]))
        for k in known_cols:
            v = known_vals[k.name][i]
            if v and v.strip() and (k.plan.entity != "PERSON" or v != persons[i]):
                row.append((k.plan.entity or "ID", v))
        known.append(row)
    texts = [vals[i] for i in idx]  # type: ignore[misc]
    toks = [tokens[i] for i in idx]
    job: Any
    if not idx:
        job = _Done(([], {}, {}))
    elif pool is not None:
        job = pool.submit(_worker_scrub, (texts, known, toks, batch_size))
    else:
        job = _Done(_scrub_job(engine, policy, c.scrubber, texts, known, toks, batch_size))
    return _Done((job, idx, vals))


def safe_harbor_rows(
    order: list[_Column], policy: DeidPolicy, counts: Counter[str]
) -> list[SafeHarborRow]:
    """Every Safe Harbor class: the columns and free-text spans of it and what was done."""
    from privtrain.deid._hipaa import SAFE_HARBOR_CLASSES

    rows = []
    text_cols = [c.name for c in order if c.text]
    for cls in SAFE_HARBOR_CLASSES:
        handling: list[str] = []
        for c in order:
            if c.plan.entity in cls.entities and not c.text:
                handling.append(f"column {c.name}: {c.transform.describe()}")
            flagged = sum(n for e, n in c.flagged.items() if e in cls.entities)
            if flagged:
                handling.append(f"column {c.name}: {flagged} value(s) caught by the value check "
                                f"-> <ENTITY>")  # fmt: skip
        if text_cols and cls.key != "Q":
            acts = sorted({f"{e}: {policy.text_transform(e).describe()}" for e in cls.entities
                           if e not in ("GEO", "DATE", "BIRTH_DATE", "PHOTO")})  # fmt: skip
            handling.append(f"free text ({', '.join(text_cols)}): " + "; ".join(acts))
        if cls.key == "Q":
            handling.append("images are not ingested (tables and text only)")
        found = sum(counts.get(e, 0) for e in cls.entities)
        actions = {c.transform.action for c in order if c.plan.entity in cls.entities}
        actions |= {policy.text_transform(e).action for e in cls.entities} if text_cols else set()
        kept = bool(actions & {"keep", "pseudonymize", "mask", "date_shift"})
        status = "kept or linkable (not Safe Harbor)" if kept else "removed or generalized"
        rows.append(
            SafeHarborRow(
                number=cls.number, key=cls.key, title=cls.title, entities=list(cls.entities),
                found=found, handling=handling, status=status,
            )
        )  # fmt: skip
    return rows


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
