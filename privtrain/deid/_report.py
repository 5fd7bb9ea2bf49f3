"""The de-identification report (JSON-able) and its self-contained HTML rendering."""

from __future__ import annotations

from pathlib import Path

import jinja2
from pydantic import BaseModel, ConfigDict, Field


class ColumnReport(BaseModel):
    """What happened to one column. ``examples`` are output values only (after the
    transform), never an input value; kept and safe columns show none."""

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: str
    entity: str | None = None
    action: str
    in_output: bool = True
    non_null: int = 0
    changed: int = 0
    unparseable: int = 0
    spans: dict[str, int] = Field(default_factory=dict)
    #: values of a safe/quasi column that looked like an identifier (entity -> count); they
    #: were replaced by ``<ENTITY>`` (null in a numeric column), never passed through
    flagged: dict[str, int] = Field(default_factory=dict)
    examples: list[str] = Field(default_factory=list)


class SafeHarborRow(BaseModel):
    """One of the 18 HIPAA Safe Harbor identifier classes and how this run handled it."""

    model_config = ConfigDict(extra="forbid")

    number: int
    key: str  # 164.514(b)(2)(i)(A)..(R)
    title: str
    entities: list[str]
    found: int = 0  # values and spans of these entities replaced, generalized or dropped
    handling: list[str] = Field(default_factory=list)
    status: str = ""


class DeidReport(BaseModel):
    """Summary of one :func:`~privtrain.deid.deidentify_table` run."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    source_name: str
    source_format: str
    rows: int
    columns_in: int
    columns_out: int
    columns: list[ColumnReport]
    entity_counts: dict[str, int] = Field(default_factory=dict)
    pseudonym_key_version: int
    pseudonym_hex_chars: int
    model_name: str | None = None
    policy_sha256: str
    plan_sha256: str
    started_at: str
    seconds: float
    rows_per_second: float
    output_bytes: int
    profile: str | None = None  # the policy's profile: safe-harbor, pseudonymous, custom
    profile_summary: str = ""
    profile_keeps: list[str] = Field(default_factory=list)
    workers: int = 1
    safe_harbor: list[SafeHarborRow] = Field(default_factory=list)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)


_TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>De-identification report - {{ r.source_name }}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#1d2330}
h1{font-size:1.4rem;margin:0 0 .2rem} .sub{color:#5b6475;margin-bottom:1.2rem}
table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{border-bottom:1px solid #e3e6ec;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f5f7fa;font-weight:600} td.n{text-align:right;font-variant-numeric:tabular-nums}
.k{display:inline-block;padding:0 .45rem;border-radius:.6rem;font-size:.8rem}
.direct{background:#fde2e1}.quasi{background:#fff1cc}.free_text{background:#dcebff}
.safe{background:#e2f4e6} code{font-size:.85rem;background:#f5f7fa;padding:0 .2rem}
.cards{display:flex;gap:1rem;flex-wrap:wrap}
.card{border:1px solid #e3e6ec;border-radius:.5rem;padding:.6rem .9rem;min-width:9rem}
.card b{display:block;font-size:1.3rem}
</style></head><body>
<h1>De-identification report</h1>
<div class="sub">{{ r.source_name }} ({{ r.source_format }}) &middot; started {{ r.started_at }}
&middot; spaCy model {{ r.model_name or "-" }}</div>
<div class="cards">
<div class="card"><b>{{ "{:,}".format(r.rows) }}</b>rows</div>
<div class="card"><b>{{ r.columns_in }} &rarr; {{ r.columns_out }}</b>columns</div>
<div class="card"><b>{{ "{:,}".format(r.entity_counts.values()|sum) }}</b>
values/spans replaced</div>
<div class="card"><b>{{ "{:,.0f}".format(r.rows_per_second) }}</b>
rows/s ({{ "%.1f"|format(r.seconds) }} s)</div>
</div>
<h2>Profile: {{ r.profile or "-" }}</h2>
<p>{{ r.profile_summary }}{% if r.profile_keeps %} &middot; keeps:
{% for k in r.profile_keeps %}{{ k }}{% if not loop.last %}; {% endif %}{% endfor %}{% endif %}</p>
{% if r.safe_harbor %}<h2>HIPAA Safe Harbor identifier classes (45 CFR 164.514(b)(2))</h2>
<table><tr><th>class</th><th>identifiers</th><th class="n">found</th><th>handling</th>
<th>status</th></tr>
{% for s in r.safe_harbor %}<tr><td>({{ s.key }})</td><td>{{ s.title }}</td>
<td class="n">{{ s.found }}</td><td>{% for h in s.handling %}{{ h }}<br>{% endfor %}</td>
<td>{{ s.status }}</td></tr>
{% endfor %}</table>{% endif %}
<h2>Columns</h2>
<table><tr><th>column</th><th>class</th><th>entity</th><th>action</th><th class="n">non-null</th>
<th class="n">changed</th><th class="n">unparseable</th><th>spans in text</th>
<th>caught by the value check</th>
<th>examples (after transformation)</th></tr>
{% for c in r.columns %}<tr><td><code>{{ c.name }}</code></td>
<td><span class="k {{ c.kind }}">{{ c.kind }}</span></td><td>{{ c.entity or "" }}</td>
<td>{{ c.action }}{% if not c.in_output %} (not in output){% endif %}</td>
<td class="n">{{ c.non_null }}</td><td class="n">{{ c.changed }}</td>
<td class="n">{{ c.unparseable }}</td>
<td>{% for e, n in c.spans|dictsort %}{{ e }}: {{ n }}{% if not loop.last %}, {% endif %}
{% endfor %}</td>
<td>{% for e, n in c.flagged|dictsort %}{{ e }}: {{ n }}{% if not loop.last %}, {% endif %}
{% endfor %}</td>
<td>{% for x in c.examples %}<code>{{ x }}</code> {% endfor %}</td></tr>
{% endfor %}</table>
<h2>Entities</h2>
<table><tr><th>entity</th><th class="n">count</th></tr>
{% for e, n in r.entity_counts|dictsort %}
<tr><td>{{ e }}</td><td class="n">{{ n }}</td></tr>{% endfor %}
</table>
<p class="sub">Pseudonym key version {{ r.pseudonym_key_version }} ({{ r.pseudonym_hex_chars }} hex
characters) &middot; policy sha256 <code>{{ r.policy_sha256[:16] }}</code> &middot; plan sha256
<code>{{ r.plan_sha256[:16] }}</code> &middot; {{ "{:,}".format(r.output_bytes) }} bytes of Parquet.
No original value appears in this report.</p>
</body></html>
"""
)


def render_report_html(report: DeidReport, path: Path) -> Path:
    """Write ``report`` as one self-contained HTML file (atomic: temp file, fsync, rename)."""
    from privtrain._io import atomic_write_text

    path = Path(path)
    atomic_write_text(path, _TEMPLATE.render(r=report))
    return path
