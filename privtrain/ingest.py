"""The ingest verb: de-identify a table straight into the encrypted catalog.

:func:`ingest` reads a CSV/TSV, Parquet or JSON Lines file, de-identifies it with
:mod:`privtrain.deid` (a plan computed from the file, or a pinned plan used as given) and
streams the resulting Parquet into the encrypting blob writer: no plaintext byte of the output
ever reaches the disk. The dataset is registered as ``deidentified`` with

- ``schema``: the output Parquet columns (name -> Arrow type) plus the plan (``plan`` as a
  mapping and ``plan_yaml``, reviewable and re-usable with ``--plan``), its source
  (``computed``/``pinned``) and fingerprints;
- the de-identification report (:class:`privtrain.deid.DeidReport` as JSON).

Bad input (encoding, ragged rows, a plan that does not fit, an empty file, oversized cells)
raises :class:`~privtrain.errors.InputError` naming file/row/column; nothing is registered
and no blob or temp file is left behind. :func:`plan_file` computes the plan alone (it reads
only the input file and needs no home). Heavy imports (spaCy, presidio) happen on first use.
"""

from __future__ import annotations

import hashlib
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from privtrain import datasets
from privtrain.errors import InputError, NotFoundError, PrivtrainError
from privtrain.workspace import Workspace

if TYPE_CHECKING:
    from privtrain.deid import DeidEngine, DeidPolicy, Plan

log = logging.getLogger(__name__)

#: ``progress(phase, done, total)``: phase ``"plan"`` (once, before classifying the columns),
#: ``"deid"`` (rows done / total rows when the format knows it, else None) and ``"raw"``
#: (once, before storing the raw copy).
ProgressFn = Callable[[str, int, "int | None"], None]

#: The Parquet footer (schema + row-group index) is read back from the last bytes written;
#: this much of the output's tail is kept in memory for it.
_TAIL_BYTES = 32 << 20


@dataclass(frozen=True)
class IngestResult:
    """What :func:`ingest` registered."""

    dataset: datasets.DatasetInfo
    raw: datasets.DatasetInfo | None
    report: dict[str, Any]
    plan_source: str  # "computed" | "pinned"
    plan_sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset.to_dict(),
            "raw": self.raw.to_dict() if self.raw else None,
            "plan_source": self.plan_source,
            "plan_sha256": self.plan_sha256,
            "summary": report_summary(self.report),
        }


def _load_policy(policy_path: Path | str | None) -> DeidPolicy:
    from privtrain.deid import load_policy
    from privtrain.deid._policy import PROFILES

    if policy_path is not None and str(policy_path) in PROFILES:
        return load_policy(str(policy_path))
    return load_policy(Path(policy_path) if policy_path is not None else None)


class _LazyEngine:
    """The detection engine, loaded (spaCy: seconds) on first use, so that input that is
    bad from its first bytes is reported before any model loads."""

    def __init__(self, policy: DeidPolicy, spacy_model: str | None) -> None:
        self._policy = policy
        self._model = spacy_model
        self._engine: DeidEngine | None = None

    @property
    def model_name(self) -> str:
        from privtrain.deid import resolve_model_name

        return resolve_model_name(self._model)

    def _get(self) -> DeidEngine:
        if self._engine is None:
            from privtrain.deid import get_engine

            self._engine = get_engine(
                self._model, phone_regions=self._policy.detection.phone_regions
            )
        return self._engine

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._get(), name)


def _engine(policy: DeidPolicy, spacy_model: str | None) -> Any:
    return _LazyEngine(policy, spacy_model)


def plan_file(
    path: Path,
    *,
    policy_path: Path | None = None,
    spacy_model: str | None = None,
    sample_rows: int = 500,
) -> Plan:
    """The reviewable de-identification plan of ``path`` (reads only that file)."""
    from privtrain.deid import plan_table

    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"input file {path} not found")
    policy = _load_policy(policy_path)
    return plan_table(
        path, sample_rows=sample_rows, engine=_engine(policy, spacy_model), policy=policy
    )


class _TailTap:
    """Sink wrapper: forwards every write and keeps the last bytes in memory, so the Parquet
    footer (and with it the output schema) can be read without storing the output anywhere."""

    def __init__(self, sink: BinaryIO, keep: int = _TAIL_BYTES) -> None:
        self._sink = sink
        self._keep = keep
        self._tail = bytearray()

    def write(self, data: Any) -> int:
        n = self._sink.write(data)
        self._tail += data
        if len(self._tail) > 2 * self._keep:
            del self._tail[: len(self._tail) - self._keep]
        return len(data) if n is None else n

    def flush(self) -> None:
        flush = getattr(self._sink, "flush", None)
        if flush is not None:
            flush()

    def output_columns(self) -> dict[str, str] | None:
        """Column name -> Arrow type string from the footer; None if it was not kept."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        tail = bytes(self._tail)
        if len(tail) < 12 or tail[-4:] != b"PAR1":
            return None
        (footer,) = struct.unpack("<I", tail[-8:-4])
        if footer + 8 > len(tail):
            return None
        try:
            md = pq.read_metadata(pa.BufferReader(b"PAR1" + tail[-(footer + 8) :]))
            schema = md.schema.to_arrow_schema()
        except (pa.ArrowException, OSError):  # pragma: no cover - the writer made it
            return None
        return {f.name: str(f.type) for f in schema}


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def ingest(
    ws: Workspace,
    path: Path,
    name: str,
    *,
    plan_path: Path | None = None,
    policy_path: Path | None = None,
    keep_raw: bool = False,
    site: str = "local",
    progress: ProgressFn | None = None,
    workers: int = 1,
) -> IngestResult:
    """De-identify ``path`` into the catalog as the ``deidentified`` dataset ``name``.

    - Without ``plan_path`` the plan is computed from the file (:func:`plan_file`) and stored
      with the dataset; with it, the pinned plan is used exactly as given (it must name the
      file's columns).
    - ``policy_path``: a de-identification policy file or a shipped profile name
      (``"pseudonymous"``); default: the shipped Safe Harbor profile.
    - ``workers``: processes that scrub free text in parallel (each loads the spaCy model).
    - Pseudonyms are keyed by ``ws.keys.hmac_key(ws.settings.project)``: the same value gets
      the same token in every ingest under this keyring and project. The spaCy model is
      ``ws.settings.spacy_model`` (None: the library default).
    - ``keep_raw``: the input file is also stored, encrypted and unchanged, as the ``raw``
      dataset ``NAME-raw``. Order: the de-identified dataset first, the raw copy only after it
      is registered. Any input problem therefore registers nothing at all; if storing the raw
      copy itself fails (e.g. disk full), the de-identified dataset stays registered, no raw
      dataset is registered, and the error says so (retry with ``datasets import``).

    The registration is audited by :func:`privtrain.datasets.store_stream` in the same
    transaction (action ``dataset.ingest``), with rows, columns, entity counts and the
    plan/policy fingerprints (never a value from the file).
    """
    from privtrain.deid import Plan, deidentify_table, plan_table

    path = Path(path)
    if not path.is_file():
        raise NotFoundError(f"input file {path} not found")
    raw_name = f"{name}-raw"
    datasets.check_name(name)
    if keep_raw:
        datasets.check_name(raw_name)
    policy = _load_policy(policy_path)
    engine: Any = None
    if plan_path is not None:
        plan = Plan.from_yaml(Path(plan_path))
        plan_source = "pinned"
        if any(c.kind == "free_text" for c in plan.columns):
            engine = _engine(policy, ws.settings.spacy_model)
    else:
        if progress is not None:
            progress("plan", 0, None)
        engine = _engine(policy, ws.settings.spacy_model)
        plan = plan_table(path, engine=engine, policy=policy)
        plan_source = "computed"
    key = ws.keys.hmac_key(ws.settings.project)
    source_sha256 = _sha256_file(path)

    def deid_progress(done: int, total: int | None) -> None:
        if progress is not None:
            progress("deid", done, total)

    done: dict[str, Any] = {}

    def produce(sink: BinaryIO) -> tuple[dict[str, Any], dict[str, Any]]:
        tap = _TailTap(sink)
        report = deidentify_table(
            path,
            tap,  # type: ignore[arg-type]  # file-like: write/flush
            plan=plan,
            policy=policy,
            pseudonym_key=key,
            progress=deid_progress,
            engine=engine,
            workers=workers,
        )
        columns = tap.output_columns()
        if columns is None:  # footer beyond the kept tail: names only, from the report
            columns = {c.name: "unknown" for c in report.columns if c.in_output}
        schema = {
            "format": "parquet",
            "columns": columns,
            "rows": report.rows,
            "source_format": report.source_format,
            "plan_source": plan_source,
            "plan_sha256": report.plan_sha256,
            "policy_sha256": report.policy_sha256,
            "plan": plan.model_dump(mode="json"),
            "plan_yaml": plan.to_yaml(),
        }
        done["report"] = report.model_dump(mode="json")
        return schema, done["report"]

    if progress is not None:
        progress("deid", 0, None)
    info = datasets.store_stream(
        ws,
        name,
        produce,
        sensitivity="deidentified",
        source_name=path.name,
        site=site,
        action="dataset.ingest",
        audit_details=lambda: {
            "rows": done["report"]["rows"],
            "columns_in": done["report"]["columns_in"],
            "columns_out": done["report"]["columns_out"],
            "entity_counts": done["report"]["entity_counts"],
            "plan_source": plan_source,
            "plan_sha256": done["report"]["plan_sha256"],
            "policy_sha256": done["report"]["policy_sha256"],
            "pseudonym_key_version": done["report"]["pseudonym_key_version"],
            "model_name": done["report"]["model_name"],
            "profile": done["report"].get("profile"),
            "workers": workers,
            "source_sha256": source_sha256,
        },
    )
    stored = done["report"]
    log.info("ingested %s as %s (%d rows)", path.name, info.ref, stored["rows"])

    raw = None
    if keep_raw:
        if progress is not None:
            progress("raw", 0, None)
        if _sha256_file(path) != source_sha256:
            raise InputError(
                f"{path} changed during the ingest; {info.ref} was registered from the earlier "
                f"content, no raw copy was stored"
            )
        try:
            raw = datasets.import_file(ws, path, raw_name, sensitivity="raw", site=site)
        except PrivtrainError as e:
            raise type(e)(
                f"{info.ref} was registered, but storing the raw copy {raw_name} failed: "
                f"{e.message} (retry with `privtrain datasets import {path} --name {raw_name}`)"
            ) from e
        except OSError as e:
            raise InputError(
                f"{info.ref} was registered, but storing the raw copy {raw_name} failed: "
                f"{e.strerror or e} (retry with `privtrain datasets import`)"
            ) from e
    return IngestResult(
        dataset=info,
        raw=raw,
        report=stored,
        plan_source=plan_source,
        plan_sha256=stored["plan_sha256"],
    )


def report_summary(report: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers of a stored report: per column class/entity/action/counts, and
    per entity totals (no examples)."""
    return {
        "source_name": report.get("source_name"),
        "source_format": report.get("source_format"),
        "rows": report.get("rows"),
        "columns_in": report.get("columns_in"),
        "columns_out": report.get("columns_out"),
        "entity_counts": report.get("entity_counts", {}),
        "plan_sha256": report.get("plan_sha256"),
        "policy_sha256": report.get("policy_sha256"),
        "pseudonym_key_version": report.get("pseudonym_key_version"),
        "model_name": report.get("model_name"),
        "profile": report.get("profile"),
        "profile_keeps": report.get("profile_keeps", []),
        "safe_harbor": [
            {k: s.get(k) for k in ("key", "title", "found", "status", "handling")}
            for s in report.get("safe_harbor", [])
        ],
        "columns": [
            {
                k: c.get(k)
                for k in (
                    "name",
                    "kind",
                    "entity",
                    "action",
                    "in_output",
                    "non_null",
                    "changed",
                    "unparseable",
                    "spans",
                    "flagged",
                )
            }
            for c in report.get("columns", [])
        ],
    }
