"""Authenticated catalog rows: row MACs, sealed group heads, verification on read.

An attacker who can write the catalog database but lacks the keyring passphrase must not be
able to change what privtrain computes from it (budgets, runs, dataset and model versions).

Row MACs
    Every row of a sealed table (``datasets``, ``models``, ``budgets``, ``runs``,
    ``run_datasets``, ``integrity_heads``) carries ``row_mac`` = HMAC-SHA256 under a key derived
    from the keyring's ``catalog`` MAC key over the canonical JSON of
    ``{"t": table, "pk": [primary key values], "f": {column: value}}`` -- every mapped column
    except ``row_mac`` itself (``updated_at`` included: its ``onupdate`` value is set before
    sealing; NULL columns are left out, so a migration that adds a nullable column keeps the
    MACs of older rows valid; a column added with a non-NULL default needs the rows resealed).
    Columns added later are covered automatically. The table name and primary
    key are inside the MAC, so a MAC copied onto another row, or a row moved to another id,
    does not verify. Rows are sealed in the
    session's ``before_flush`` hook and verified in the ``load``/``refresh`` hooks; a mismatch
    (or a missing MAC) raises :class:`~privtrain.errors.IntegrityError` naming table and id.

Sealed heads (sets that must not shrink)
    A row MAC cannot show that a row was *deleted*, or replaced by an older sealed copy of
    itself, or hidden from a query by an edit the query filters on. So rows are grouped, and
    each group has a sealed head in ``integrity_heads``: ``count`` (rows in the group) and
    ``acc`` = sum over the rows of HMAC(acc key, row_mac) mod 2^256 (keyed, so an attacker
    cannot compute the summands). Groups: ``datasets/NAME`` (every version of a dataset name:
    count = latest version), ``models/NAME``, and ``ledger/NAME`` (the budget of dataset NAME,
    its ``run_datasets`` rows and every run linked to it). Heads of one kind are themselves
    summed into a ``root/KIND`` head, so deleting a whole group with its head is caught too.
    Heads are updated in the same flush as their rows (PostgreSQL: heads are locked ``FOR
    UPDATE``, in a fixed order: group head, then root), and readers verify a group with
    :func:`verify_group` after loading it whole.

What this does not catch
    Restoring an *entire* older copy of the catalog (every row, head and audit event) is
    self-consistent; an audit checkpoint exported to a witness (``audit export-checkpoint``)
    catches that. Rows of tables not listed above (``data_keys``: wrapped keys are already
    authenticated by AES-GCM and bound to their blob) are not sealed here.

Sessions carry the sealer in ``session.info["privtrain.sealer"]`` (set by
:class:`~privtrain.catalog.Catalog` when a sealer is attached; a catalog without one, e.g. in
unit tests of the schema, neither seals nor verifies).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Float, Integer, LargeBinary, and_, event, inspect, or_, select
from sqlalchemy.orm import Session, attributes
from sqlalchemy.types import TypeDecorator

from privtrain.catalog._models import (
    Base,
    Budget,
    Dataset,
    IntegrityHead,
    Model,
    Run,
    RunDataset,
)
from privtrain.errors import IntegrityError

SEALER_KEY = "privtrain.sealer"
WRITE_KEY = "privtrain.write"
UNVERIFIED_KEY = "privtrain.unverified"  # sealing an old catalog: load without verifying
CACHE_KEY = "privtrain.verified"  # groups verified in this session since its last flush

MAC_COLUMN = "row_mac"
UNSEALED_COLUMNS = frozenset({MAC_COLUMN})
MEMBER_KINDS = ("datasets", "models", "ledger")
ROOT = "root"
META = "meta"
_MOD = 1 << 256
_ZERO = "0" * 64

LABEL_ROW = b"privtrain/catalog/row-mac/v1"
LABEL_ACC = b"privtrain/catalog/head-acc/v1"


class RowSealer:
    """HMAC-SHA256 sealing of catalog rows under one 32-byte key (keyring ``catalog``)."""

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes | bytearray) or len(key) != 32:
            raise ValueError("the catalog MAC key must be 32 bytes")
        self._row_key = hmac.new(bytes(key), LABEL_ROW, hashlib.sha256).digest()
        self._acc_key = hmac.new(bytes(key), LABEL_ACC, hashlib.sha256).digest()

    def __repr__(self) -> str:  # never print key material
        return "RowSealer(<key>)"

    def mac(self, obj: Any) -> str:
        return hmac.new(self._row_key, canonical_row(obj), hashlib.sha256).hexdigest()

    def member(self, row_mac: str | None) -> int:
        """The keyed summand of one row in its group's ``acc``."""
        return int.from_bytes(hmac.new(self._acc_key, _b(row_mac), hashlib.sha256).digest(), "big")

    def check(self, obj: Any) -> None:
        """IntegrityError unless ``obj``'s stored MAC matches its content."""
        stored = getattr(obj, MAC_COLUMN, None)
        if stored is None:
            raise IntegrityError(
                f"catalog table {table_of(obj)} row {row_id(obj)} has no MAC (unauthenticated "
                "row: inserted behind privtrain's back, or an old catalog that was never "
                "sealed -- see `privtrain keys seal-catalog`)"
            )
        if not hmac.compare_digest(_b(stored), self.mac(obj).encode("ascii")):
            raise IntegrityError(
                f"catalog table {table_of(obj)} row {row_id(obj)} fails authentication "
                "(edited outside privtrain)"
            )


# ------------------------------------------------------------------ canonical encoding


def _b(value: Any) -> bytes:
    """Stored text as bytes for comparing/hashing (whatever an attacker wrote into it)."""
    return str(value).encode("utf-8", "surrogatepass")


def table_of(obj: Any) -> str:
    return _layout(type(obj))[0]


def row_id(obj: Any) -> str:
    return "/".join(str(obj.__dict__.get(k)) for k in _layout(type(obj))[2])


def _norm(value: Any, coltype: Any) -> Any:
    if value is None:
        return None
    if isinstance(coltype, TypeDecorator):
        coltype = coltype.impl
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return "dt:" + value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(coltype, JSON):
        return json.loads(json.dumps(value, allow_nan=True))
    if isinstance(coltype, Float):
        f = float(value)
        return f if math.isfinite(f) else repr(f)
    if isinstance(coltype, Integer):
        return int(value)
    if isinstance(coltype, LargeBinary) or isinstance(value, bytes | bytearray | memoryview):
        return "hex:" + bytes(value).hex()
    return value


@functools.cache
def _layout(cls: type) -> tuple[str, tuple[tuple[str, Any], ...], tuple[str, ...]]:
    """(table, ((column key, column type), ...), primary key column keys) of a mapped class."""
    mapper = inspect(cls)
    cols = tuple(
        (a.key, a.columns[0].type) for a in mapper.column_attrs if a.key not in UNSEALED_COLUMNS
    )
    return str(mapper.local_table.name), cols, tuple(c.key for c in mapper.primary_key)


def canonical_row(obj: Any) -> bytes:
    """The bytes a row's MAC is computed over (see the module docstring)."""
    table, cols, pk_keys = _layout(type(obj))
    state = obj.__dict__
    fields: dict[str, Any] = {}
    for key, coltype in cols:
        value = state.get(key)
        if value is not None:  # NULL = absent: a later nullable column keeps old MACs valid
            fields[key] = _norm(value, coltype)
    body = {"t": table, "pk": [fields.get(k) for k in pk_keys], "f": fields}
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=True
    ).encode("utf-8")


# ------------------------------------------------------------------ groups

SEALED_CLASSES: tuple[type, ...] = (Dataset, Model, Budget, Run, RunDataset, IntegrityHead)
_SIMPLE_GROUPS: dict[type, tuple[str, str]] = {
    Dataset: ("datasets", "name"),
    Model: ("models", "name"),
    Budget: ("ledger", "dataset_name"),
    RunDataset: ("ledger", "dataset_name"),
}

Group = tuple[str, str]


def _old_value(obj: Any, key: str) -> Any:
    hist = attributes.get_history(obj, key, passive=attributes.PASSIVE_NO_INITIALIZE)
    if hist.deleted:
        return hist.deleted[0]
    if hist.unchanged:
        return hist.unchanged[0]
    return obj.__dict__.get(key)


def _apply_defaults(obj: Any, *, update: bool = False) -> None:
    """Fill Python-side column defaults (``onupdate`` ones with ``update``) now: SQLAlchemy
    would only at INSERT / UPDATE time, after the MAC was computed."""
    for attr in inspect(type(obj)).column_attrs:
        col = attr.columns[0]
        if attr.key in UNSEALED_COLUMNS:
            continue
        if update:
            d = col.onupdate
            if d is None:
                continue
            hist = attributes.get_history(obj, attr.key, passive=attributes.PASSIVE_NO_INITIALIZE)
            if hist.added:  # set explicitly by the caller
                continue
        else:
            d = col.default
            if obj.__dict__.get(attr.key) is not None or d is None:
                continue
        if getattr(d, "is_scalar", False):
            setattr(obj, attr.key, d.arg)
        elif getattr(d, "is_callable", False):
            setattr(obj, attr.key, d.arg(None))


def _run_names_in_db(s: Session, run_id: str) -> set[str]:
    rows = s.execute(select(RunDataset.dataset_name).where(RunDataset.run_id == run_id)).scalars()
    return set(rows)


def _cache(s: Session) -> dict[Any, Any] | None:
    """Per-session memo of verified groups; None while the session holds unflushed changes."""
    if s.new or s.dirty or s.deleted:
        return None
    return s.info.setdefault(CACHE_KEY, {})  # type: ignore[no-any-return]


def _before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    session.info.pop(CACHE_KEY, None)
    sealer: RowSealer | None = session.info.get(SEALER_KEY)
    if sealer is None or session.info.get(UNVERIFIED_KEY):
        return
    # group -> [count delta, acc delta, whether a persisted member left or changed]
    deltas: dict[Group, list[int]] = defaultdict(lambda: [0, 0, 0])
    new = [o for o in session.new if isinstance(o, SEALED_CLASSES)]
    dirty = [
        o
        for o in session.dirty
        if isinstance(o, SEALED_CLASSES) and session.is_modified(o, include_collections=False)
    ]
    deleted = [o for o in session.deleted if isinstance(o, SEALED_CLASSES)]
    if not (new or dirty or deleted):
        return

    def add(groups: Iterable[Group], mac: str | None, sign: int) -> None:
        for g in groups:
            if sign < 0 and mac is None:
                raise IntegrityError(
                    f"catalog group {g[0]}/{g[1]} holds a row without a MAC; refusing to "
                    "change it (see `privtrain keys seal-catalog`)"
                )
            d = deltas[g]
            d[0] += sign
            d[1] = (d[1] + sign * sealer.member(mac)) % _MOD
            if sign < 0:
                d[2] = 1

    with session.no_autoflush:
        heads_touched: list[IntegrityHead] = []
        runs: dict[str, Run | None] = {}
        rd_added: dict[str, set[str]] = defaultdict(set)
        rd_removed: dict[str, set[str]] = defaultdict(set)
        for o in new:
            if isinstance(o, IntegrityHead):
                heads_touched.append(o)
                continue
            _apply_defaults(o)
            if isinstance(o, Run):
                runs[o.id] = o
            elif isinstance(o, RunDataset):
                rd_added[o.run_id].add(o.dataset_name)
                runs.setdefault(o.run_id, None)
        for o in dirty:
            if isinstance(o, IntegrityHead):
                heads_touched.append(o)
                continue
            _apply_defaults(o, update=True)
            if isinstance(o, Run):
                runs[o.id] = o
        for o in deleted:
            if isinstance(o, Run):
                runs[o.id] = o
            elif isinstance(o, RunDataset):
                rd_removed[o.run_id].add(o.dataset_name)
                runs.setdefault(o.run_id, None)

        # Rows whose groups follow from one of their own columns.
        for o in (*new, *dirty, *deleted):
            spec = _SIMPLE_GROUPS.get(type(o))
            if spec is None:
                continue
            kind, col = spec
            persistent = o not in session.new
            if persistent:
                add([(kind, str(_old_value(o, col)))], _old_value(o, MAC_COLUMN), -1)
            if o not in session.deleted:
                o.row_mac = sealer.mac(o)
                add([(kind, str(getattr(o, col)))], o.row_mac, +1)

        # Runs belong to the ledger group of every dataset name they are linked to.
        for run_id, run in runs.items():
            if run is None:
                run = session.get(Run, run_id)
                if run is None:  # a link to a run that is not there: nothing to account
                    continue
            persistent = run not in session.new
            in_db = _run_names_in_db(session, run_id) if persistent else set()
            old_groups = [("ledger", n) for n in sorted(in_db)]
            new_names = (in_db | rd_added.get(run_id, set())) - rd_removed.get(run_id, set())
            old_mac = _old_value(run, MAC_COLUMN) if persistent else None
            if persistent:
                add(old_groups, old_mac, -1)
            if run in session.deleted:
                continue
            if run in session.new or run in dirty:
                run.row_mac = sealer.mac(run)
            add([("ledger", n) for n in sorted(new_names)], run.row_mac, +1)

        root_deltas: dict[Group, list[int]] = defaultdict(lambda: [0, 0])
        for (kind, name), (dc, da, shrank) in sorted(deltas.items()):
            if dc == 0 and da == 0:
                continue
            head = _head_for_update(session, kind, name)
            if head is None:
                if shrank:
                    raise IntegrityError(f"catalog head {kind}/{name} is missing (deleted?)")
                head = IntegrityHead(kind=kind, name=name, count=0, acc=_ZERO, row_mac=None)
                session.add(head)
            elif kind in MEMBER_KINDS:
                _add_root(root_deltas, sealer, kind, head.row_mac, -1)
            head.count = int(head.count) + dc
            head.acc = f"{(int(head.acc, 16) + da) % _MOD:064x}"
            if head.count < 0:
                raise IntegrityError(f"catalog head {kind}/{name} counts fewer rows than exist")
            head.row_mac = sealer.mac(head)
            if kind in MEMBER_KINDS:
                _add_root(root_deltas, sealer, kind, head.row_mac, +1)
        # Heads changed by other code (audit head, sealing marker): reseal them.
        for head in heads_touched:
            if head.kind == ROOT:
                continue
            old = _old_value(head, MAC_COLUMN) if head not in session.new else None
            if head.kind in MEMBER_KINDS and (head.kind, head.name) not in deltas:
                if old is not None:
                    _add_root(root_deltas, sealer, head.kind, old, -1)
            head.row_mac = sealer.mac(head)
            if head.kind in MEMBER_KINDS and (head.kind, head.name) not in deltas:
                _add_root(root_deltas, sealer, head.kind, head.row_mac, +1)
        for (_root, kind), (dc, da) in sorted(root_deltas.items()):
            if dc == 0 and da == 0:
                continue
            root = _head_for_update(session, ROOT, kind)
            if root is None:
                root = IntegrityHead(kind=ROOT, name=kind, count=0, acc=_ZERO, row_mac=None)
                session.add(root)
            root.count = int(root.count) + dc
            root.acc = f"{(int(root.acc, 16) + da) % _MOD:064x}"
            root.row_mac = sealer.mac(root)


def _add_root(
    deltas: dict[Group, list[int]], sealer: RowSealer, kind: str, mac: str | None, sign: int
) -> None:
    d = deltas[(ROOT, kind)]
    d[0] += sign
    d[1] = (d[1] + sign * sealer.member(mac)) % _MOD


def _head_for_update(s: Session, kind: str, name: str) -> IntegrityHead | None:
    return s.get(IntegrityHead, (kind, name), with_for_update=True, populate_existing=True)


def _on_load(target: Any, context: Any) -> None:
    session = getattr(context, "session", None)
    if session is None or not isinstance(target, SEALED_CLASSES):
        return
    sealer = session.info.get(SEALER_KEY)
    if sealer is None or session.info.get(UNVERIFIED_KEY):
        return
    sealer.check(target)


def _on_refresh(target: Any, context: Any, attrs: Any) -> None:
    if attrs is None:
        _on_load(target, context)


event.listen(Session, "before_flush", _before_flush)
event.listen(Session, "after_flush", lambda s, _ctx: s.info.pop(CACHE_KEY, None))
event.listen(Session, "after_rollback", lambda s: s.info.pop(CACHE_KEY, None))
event.listen(Base, "load", _on_load, propagate=True)
event.listen(Base, "refresh", _on_refresh, propagate=True)


# ------------------------------------------------------------------ verifying groups


def _sealer(s: Session) -> RowSealer | None:
    if s.info.get(UNVERIFIED_KEY):
        return None
    return s.info.get(SEALER_KEY)


def _read_head(s: Session, kind: str, name: str) -> IntegrityHead | None:
    # In a write transaction the head is locked before the rows are read: every writer of the
    # group holds that lock from its flush to its commit, so the rows read next are
    # all-or-nothing for each writer. (Read sessions see one snapshot: SQLite's read
    # transaction, PostgreSQL's REPEATABLE READ; see Catalog.session.)
    if s.info.get(WRITE_KEY):
        return _head_for_update(s, kind, name)
    return s.get(IntegrityHead, (kind, name))


def lock_group(s: Session, kind: str, name: str) -> None:
    """In a write transaction, lock head ``kind/name`` and then the root of ``kind`` before
    the group's rows are read (a no-op otherwise)."""
    if s.info.get(WRITE_KEY) and _sealer(s) is not None:
        _head_for_update(s, kind, name)
        _head_for_update(s, ROOT, kind)


_UNREAD: Any = object()


def _compare(
    s: Session,
    sealer: RowSealer,
    kind: str,
    name: str,
    members: Sequence[Any],
    head: Any = _UNREAD,
) -> None:
    if head is _UNREAD:
        head = _read_head(s, kind, name)
    count = len(members)
    acc = 0
    for m in members:
        acc = (acc + sealer.member(getattr(m, MAC_COLUMN, None))) % _MOD
    if head is None:
        if count == 0:
            return
        raise IntegrityError(
            f"catalog {kind} {name!r}: {count} rows but no sealed head (head deleted, or rows "
            "inserted behind privtrain's back)"
        )
    if int(head.count) != count or head.acc != f"{acc:064x}":
        raise IntegrityError(
            f"catalog {kind} {name!r}: the rows found ({count}) do not match the sealed head "
            f"({head.count}): a row was deleted, hidden, or restored from an older copy"
        )


def verify_group(s: Session, kind: str, name: str, members: Sequence[Any]) -> None:
    """IntegrityError unless ``members`` (loaded in ``s``, so each row's MAC was checked) are
    exactly the rows sealed into head ``kind/name``; then the root of ``kind`` is checked."""
    sealer = _sealer(s)
    if sealer is None:
        return
    if s.info.get(WRITE_KEY):  # head locked first, then the rows were read, then the root
        _compare(s, sealer, kind, name, members)
        verify_root(s, kind)
        return
    heads = verify_root(s, kind)  # one query: every head of the kind, and its root
    head = heads.get(name) if heads is not None else _UNREAD
    _compare(s, sealer, kind, name, members, head)


def verify_root(s: Session, kind: str) -> dict[str, IntegrityHead] | None:
    """IntegrityError unless the heads of ``kind`` are exactly those sealed into its root.
    Returns the verified heads by name (None when not checked: no sealer)."""
    sealer = _sealer(s)
    if sealer is None:
        return None
    cache = _cache(s)
    if cache is not None and ("root", kind) in cache:
        return cache[("root", kind)]  # type: ignore[no-any-return]
    if s.info.get(WRITE_KEY):
        root = _head_for_update(s, ROOT, kind)
        q = select(IntegrityHead).where(IntegrityHead.kind == kind)
        heads = list(s.scalars(q.execution_options(populate_existing=True)))
    else:
        q = select(IntegrityHead).where(
            or_(
                IntegrityHead.kind == kind,
                and_(IntegrityHead.kind == ROOT, IntegrityHead.name == kind),
            )
        )
        both = list(s.scalars(q))
        heads = [h for h in both if h.kind == kind]
        root = next((h for h in both if h.kind == ROOT), None)
    _compare(s, sealer, ROOT, kind, heads, root)
    by_name = {h.name: h for h in heads}
    if cache is not None:
        cache[("root", kind)] = by_name
    return by_name


def dataset_versions(s: Session, name: str) -> list[Dataset]:
    """Every version of dataset ``name`` (oldest first), verified against its sealed head."""
    lock_group(s, "datasets", name)
    rows = list(s.scalars(select(Dataset).where(Dataset.name == name).order_by(Dataset.version)))
    verify_group(s, "datasets", name, rows)
    _check_contiguous("dataset", name, rows)
    return rows


def model_versions(s: Session, name: str) -> list[Model]:
    """Every version of model ``name`` (oldest first), verified against its sealed head."""
    lock_group(s, "models", name)
    rows = list(s.scalars(select(Model).where(Model.name == name).order_by(Model.version)))
    verify_group(s, "models", name, rows)
    _check_contiguous("model", name, rows)
    return rows


def _check_contiguous(what: str, name: str, rows: Sequence[Any]) -> None:
    for i, r in enumerate(rows, start=1):
        if int(r.version) != i:
            raise IntegrityError(f"{what} {name!r}: version {i} is missing from the catalog")


def ledger_runs(s: Session, dataset: str) -> list[Run]:
    """Every run linked to dataset name ``dataset`` (by creation time), verified together
    with the dataset's budget and links against the sealed ``ledger`` head. Filter by status
    in Python: a query that filters on a (possibly edited) status would never load, and so
    never check, the row an attacker edited."""
    cache = _cache(s)
    if cache is not None and ("ledger", dataset) in cache:
        return list(cache[("ledger", dataset)])
    lock_group(s, "ledger", dataset)
    links = list(s.scalars(select(RunDataset).where(RunDataset.dataset_name == dataset)))
    ids = sorted({link.run_id for link in links})
    runs = (
        list(s.scalars(select(Run).where(Run.id.in_(ids)).order_by(Run.created_at, Run.id)))
        if ids
        else []
    )
    budget = s.get(Budget, dataset)
    members: list[Any] = [*links, *runs]
    if budget is not None:
        members.append(budget)
    verify_group(s, "ledger", dataset, members)
    cache = _cache(s)
    if cache is not None:
        cache[("ledger", dataset)] = list(runs)
    return runs


def budget_of(s: Session, dataset: str) -> Budget | None:
    """The budget row of ``dataset``; when there is none, the dataset's sealed ledger group is
    checked first (a deleted budget row is an IntegrityError, not "no budget set")."""
    b = s.get(Budget, dataset)
    if b is None:
        ledger_runs(s, dataset)
    return b


def budget_names(s: Session) -> list[str]:
    """Names of the datasets that have a budget, checked against the sealed ledger heads (a
    deleted budget row, or a whole deleted ledger group, is an IntegrityError)."""
    names = sorted(s.scalars(select(Budget.dataset_name)))
    if _sealer(s) is not None:
        verify_root(s, "ledger")
        heads = s.scalars(select(IntegrityHead.name).where(IntegrityHead.kind == "ledger"))
        for name in sorted(set(heads) - set(names)):
            ledger_runs(s, name)
    return names


def next_version(s: Session, kind: str, name: str) -> int:
    """The next version number of ``name`` (datasets / models) from its sealed head."""
    rows = dataset_versions(s, name) if kind == "datasets" else model_versions(s, name)
    return len(rows) + 1


# ------------------------------------------------------------------ sealing an old catalog


def unsealed_rows(s: Session) -> int:
    """How many rows of sealed tables have no MAC (an old catalog, before migration 0003)."""
    from sqlalchemy import func

    n = 0
    for cls in (Dataset, Model, Budget, Run, RunDataset):
        n += int(s.scalar(select(func.count()).select_from(cls).where(cls.row_mac.is_(None))) or 0)
    return n


def seal_all(s: Session, sealer: RowSealer) -> dict[str, int]:
    """Seal every row and rebuild every head from scratch (``privtrain keys seal-catalog``).

    Only for a catalog written by a privtrain without row MACs, by the custodian, after
    checking it: whatever the rows say now becomes authenticated."""
    s.info[UNVERIFIED_KEY] = True
    try:
        from sqlalchemy import delete

        s.execute(delete(IntegrityHead))
        deltas: dict[Group, list[int]] = defaultdict(lambda: [0, 0])
        counts: dict[str, int] = {}

        def add(g: Group, mac: str) -> None:
            d = deltas[g]
            d[0] += 1
            d[1] = (d[1] + sealer.member(mac)) % _MOD

        links: dict[str, set[str]] = defaultdict(set)
        for cls in (Dataset, Model, Budget, RunDataset, Run):
            rows = list(s.scalars(select(cls)))
            counts[cls.__tablename__] = len(rows)
            for r in rows:
                r.row_mac = sealer.mac(r)
                spec = _SIMPLE_GROUPS.get(cls)
                if spec is not None:
                    add((spec[0], str(getattr(r, spec[1]))), r.row_mac)
                if isinstance(r, RunDataset):
                    links[r.run_id].add(r.dataset_name)
                if isinstance(r, Run):
                    for n in sorted(links.get(r.id, set())):
                        add(("ledger", n), r.row_mac)
        s.flush()
        roots: dict[Group, list[int]] = defaultdict(lambda: [0, 0])
        for (kind, name), (c, a) in sorted(deltas.items()):
            h = IntegrityHead(kind=kind, name=name, count=c, acc=f"{a:064x}")
            h.row_mac = sealer.mac(h)
            s.add(h)
            d = roots[(ROOT, kind)]
            d[0] += 1
            d[1] = (d[1] + sealer.member(h.row_mac)) % _MOD
        for (_r, kind), (c, a) in roots.items():
            h = IntegrityHead(kind=ROOT, name=kind, count=c, acc=f"{a:064x}")
            h.row_mac = sealer.mac(h)
            s.add(h)
        s.flush()
        return counts
    finally:
        s.info.pop(UNVERIFIED_KEY, None)


__all__ = [
    "RowSealer",
    "budget_names",
    "budget_of",
    "canonical_row",
    "dataset_versions",
    "ledger_runs",
    "lock_group",
    "model_versions",
    "next_version",
    "seal_all",
    "unsealed_rows",
    "verify_group",
    "verify_root",
]
