"""Streaming readers for CSV/TSV, Parquet and JSON Lines, with input errors that say where.

Every reader yields Arrow record batches of bounded size, so memory stays flat whatever the
file size. Problems become :class:`~privtrain.errors.InputError` naming the file and, where
known, the line/row and column - never a cell value (it may be PII).
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from privtrain.errors import InputError, NotFoundError

FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
#: A CSV row (or JSON line) may not exceed this many bytes.
MAX_ROW_BYTES = 8 << 20
#: JSON Lines: the columns are the fields seen in this many first records.
JSONL_SCAN_RECORDS = 10_000


def detect_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"{path}: unsupported file type {path.suffix!r} (use .csv, .tsv, .parquet or .jsonl)"
        )
    return fmt


def first_invalid_utf8_line(path: Path) -> int | None:
    """The 1-based line of the first byte sequence that is not UTF-8, or None."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as e:
                return line + chunk.count(b"\n", 0, e.start)
            line += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return line
    return None


def _not_utf8(path: Path, column: str | None = None) -> InputError:
    line = first_invalid_utf8_line(path)
    where = f"line {line}" if line else "somewhere"
    col = f", column '{column}'" if column else ""
    return InputError(
        f"{path}: {where}{col}: bytes that are not UTF-8 (re-encode the file as UTF-8)"
    )


class TableSource:
    """One input table. ``columns`` in file order; ``total_rows`` when the format knows it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise NotFoundError(f"input file {self.path} not found")
        self.format = detect_format(self.path)
        if self.path.stat().st_size == 0:
            raise InputError(f"{self.path}: empty file")
        self.total_rows: int | None = None
        self.columns: list[str] = self._read_columns()
        if not self.columns:
            raise InputError(f"{self.path}: no columns")
        dupes = sorted({c for c in self.columns if self.columns.count(c) > 1})
        if dupes:
            raise InputError(f"{self.path}: duplicate column name(s) {dupes}")

    # ---------------------------------------------------------------------------- columns
    def _read_columns(self) -> list[str]:
        if self.format == "parquet":
            try:
                pf = pq.ParquetFile(self.path)
            except (pa.ArrowException, OSError) as e:
                raise InputError(f"{self.path}: not a readable Parquet file") from e
            self.total_rows = pf.metadata.num_rows
            return list(pf.schema_arrow.names)
        if self.format == "jsonl":
            # the fields of the first records, in first-seen order (a pinned plan may name
            # fields that only appear later; fields the plan lacks are an error when met)
            cols: dict[str, None] = {}
            for _, rows in self._jsonl_chunks(JSONL_SCAN_RECORDS):
                for r in rows:
                    cols.update(dict.fromkeys(r))
                break
            return list(cols)
        reader = self._open_csv(None, [])
        try:
            names = list(reader.schema.names)
        finally:
            reader.close()
        return names

    # -------------------------------------------------------------------------------- CSV
    def _open_csv(
        self, string_columns: set[str] | None, bad_rows: list | None = None
    ) -> pacsv.CSVStreamingReader:
        def handler(row: Any) -> str:
            if bad_rows is not None:
                bad_rows.append((row.number, row.expected_columns, row.actual_columns))
            return "error"

        types = {c: pa.string() for c in string_columns} if string_columns else None
        try:
            return pacsv.open_csv(
                self.path,
                read_options=pacsv.ReadOptions(block_size=MAX_ROW_BYTES, use_threads=False),
                parse_options=pacsv.ParseOptions(
                    delimiter="\t" if self.format == "tsv" else ",",
                    invalid_row_handler=handler,
                    newlines_in_values=True,
                ),
                convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=False),
            )
        except pa.ArrowInvalid as e:
            raise self._csv_error(e, 0, bad_rows) from e

    def _csv_error(self, e: Exception, rows_done: int, bad_rows: list | None) -> InputError:
        msg = str(e)
        if bad_rows:
            number, expected, actual = bad_rows[0]
            where = f"line {number}" if number is not None else f"after data row {rows_done}"
            return InputError(
                f"{self.path}: {where}: expected {expected} columns, found {actual} (ragged row)"
            )
        m = re.search(r"Row #(\d+): Expected (\d+) columns, got (\d+)", msg)
        if m:
            return InputError(
                f"{self.path}: line {m.group(1)}: expected {m.group(2)} columns, found "
                f"{m.group(3)} (ragged row)"
            )
        if "Empty CSV file" in msg:
            return InputError(f"{self.path}: empty file")
        if "straddl" in msg or "block size" in msg:
            return InputError(
                f"{self.path}: a row after data row {rows_done} is larger than "
                f"{MAX_ROW_BYTES >> 20} MiB (a field that big is not supported)"
            )
        if "UTF8" in msg or "UTF-8" in msg:
            m = re.search(r"column #(\d+)", msg)
            idx = int(m.group(1)) if m else -1
            cols = getattr(self, "columns", [])
            return _not_utf8(self.path, cols[idx] if 0 <= idx < len(cols) else None)
        m = re.search(r"column #(\d+): Row #(\d+): CSV conversion error to (\w+)", msg)
        if m:
            idx, row, typ = int(m.group(1)), int(m.group(2)), m.group(3)
            col = self.columns[idx] if hasattr(self, "columns") and idx < len(self.columns) else idx
            return InputError(
                f"{self.path}: line {row}, column '{col}': value is not {typ} like the rows "
                f"before it (mark the column as text in the plan or clean the file)"
            )
        return InputError(f"{self.path}: cannot parse as CSV after data row {rows_done}")

    def _csv_batches(self, string_columns: set[str]) -> Iterator[pa.RecordBatch]:
        bad_rows: list = []
        reader = self._open_csv(string_columns, bad_rows)
        rows = 0
        try:
            for field in reader.schema:
                if pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type):
                    raise _not_utf8(self.path, field.name)
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except pa.ArrowInvalid as e:
                    raise self._csv_error(e, rows, bad_rows) from e
                rows += batch.num_rows
                yield batch
        finally:
            reader.close()

    # ------------------------------------------------------------------------------ JSONL
    def _jsonl_chunks(self, chunk_rows: int) -> Iterator[tuple[int, list[dict]]]:
        """(first line number, records) per chunk."""
        rows: list[dict] = []
        first = 1
        with self.path.open("rb") as f:
            lineno = 0
            while True:
                raw = f.readline(MAX_ROW_BYTES + 1)
                if not raw:
                    break
                lineno += 1
                if len(raw) > MAX_ROW_BYTES:
                    raise InputError(
                        f"{self.path}: line {lineno} is longer than {MAX_ROW_BYTES >> 20} MiB"
                    )
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise InputError(
                        f"{self.path}: line {lineno}: bytes that are not UTF-8 "
                        f"(re-encode the file as UTF-8)"
                    ) from e
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as e:
                    raise InputError(f"{self.path}: line {lineno}: not valid JSON ({e.msg})") from e
                if not isinstance(rec, dict):
                    raise InputError(f"{self.path}: line {lineno}: expected a JSON object")
                if not rows:
                    first = lineno
                rows.append(rec)
                if len(rows) >= chunk_rows:
                    yield first, rows
                    rows = []
        if rows:
            yield first, rows

    def _jsonl_batches(self, string_columns: set[str], chunk_rows: int) -> Iterator[pa.RecordBatch]:
        known = set(self.columns)
        types: dict[str, pa.DataType] = {}
        seen: set[str] = set()
        rows_before = 0
        for first, rows in self._jsonl_chunks(chunk_rows):
            for i, r in enumerate(rows):
                extra = set(r) - known
                if extra:
                    raise InputError(
                        f"{self.path}: record {rows_before + i + 1}: field(s) {sorted(extra)} "
                        f"not in the plan (re-run the plan or add them)"
                    )
                seen.update(r)
            arrays = []
            for c in self.columns:
                vals = [r.get(c) for r in rows]
                if c in string_columns or c not in types and all(v is None for v in vals):
                    vals = [
                        None
                        if v is None
                        else v
                        if isinstance(v, str)
                        else json.dumps(v)
                        if isinstance(v, dict | list)
                        else str(v)
                        for v in vals
                    ]
                    arr = pa.array(vals, type=pa.string())
                else:
                    try:
                        arr = pa.array(vals, type=types.get(c))
                    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
                        raise InputError(
                            f"{self.path}: lines {first}..{first + len(rows) - 1}, column '{c}':"
                            f" values of a different type than earlier rows"
                        ) from e
                types.setdefault(c, arr.type)
                arrays.append(arr)
            rows_before += len(rows)
            yield pa.RecordBatch.from_arrays(arrays, names=self.columns)
        missing = [c for c in self.columns if c not in seen]
        if missing:
            raise InputError(
                f"{self.path}: column(s) {missing} of the plan never occur in the file"
            )

    # ---------------------------------------------------------------------------- batches
    def batches(self, string_columns: set[str], chunk_rows: int = 2048) -> Iterator[pa.RecordBatch]:
        """Record batches of at most ``chunk_rows`` rows with all file columns, in file order;
        ``string_columns`` are read as text (CSV: not type-inferred)."""
        if self.format == "parquet":
            pf = pq.ParquetFile(self.path)
            try:
                yield from pf.iter_batches(batch_size=chunk_rows, columns=self.columns)
            except (pa.ArrowException, OSError) as e:
                raise InputError(f"{self.path}: Parquet data cannot be read") from e
            return
        source = (
            self._jsonl_batches(string_columns, chunk_rows)
            if self.format == "jsonl"
            else self._csv_batches(string_columns)
        )
        for batch in source:
            for off in range(0, batch.num_rows, chunk_rows):
                yield batch.slice(off, chunk_rows)

    def sample(self, n: int) -> dict[str, list[Any]]:
        """Up to ``n`` first rows as Python values per column (CSV: all as strings)."""
        out: dict[str, list[Any]] = {c: [] for c in self.columns}
        got = 0
        for batch in self.batches(set(self.columns), chunk_rows=min(n, 2048)):
            take = batch.slice(0, n - got)
            for c, col in zip(self.columns, take.columns, strict=True):
                out[c].extend(col.to_pylist())
            got += take.num_rows
            if got >= n:
                break
        return out


def check_cell_sizes(
    batch: pa.RecordBatch, row_offset: int, path: Path, max_bytes: int, row_label: Callable
) -> None:
    """InputError naming row and column when a text cell exceeds ``max_bytes``."""
    import pyarrow.compute as pc

    for name, col in zip(batch.schema.names, batch.columns, strict=True):
        t = col.type
        if not (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)):
            continue
        lengths = pc.binary_length(col)
        top = pc.max(lengths).as_py()
        if top is not None and top > max_bytes:
            idx = pc.index(lengths, top).as_py()
            raise InputError(
                f"{path}: {row_label(row_offset + idx)}, column '{name}': a {top}-byte value "
                f"exceeds the {max_bytes}-byte limit per cell"
            )
