"""The one authorizer: Cedar policies (cedarpy) over entities built from the catalog.

Policies, schema and entities are parsed once per home and kept as cedarpy handles; before each
decision a cheap check (policy files' mtime/size and one catalog query: counts of datasets and
models, principals' latest change) says whether to rebuild them. A decision costs one cedarpy
call on the cached handles plus that check; each decision is appended to the audit log with
the @id of the policies that decided it.

Model entities take ε, δ and "DP-trained" only from the model's signed card, verified with the
home's model-signing key (DSSE signature and subject name ``model:NAME@vN``); an edited catalog
row or card yields ``card_verified == false`` and no ε, which the default policies deny.
"""

from __future__ import annotations

import contextlib
import contextvars
import decimal
import json
import math
import os
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cedarpy
from sqlalchemy import select

from privtrain import modelcard
from privtrain.access._identities import (
    ROLES,
    _mac_key,
    catalog_revision_sql,
    principal_row_ok,
)
from privtrain.catalog._models import Budget, Dataset, Model, Principal
from privtrain.errors import AccessDenied, ConfigError, IntegrityError

if TYPE_CHECKING:
    from privtrain.workspace import Workspace

POLICY_FILE = "access.cedar"
SCHEMA_FILE = "access.cedarschema"
ACTIONS = (
    "dataset.show",
    "dataset.read",
    "dataset.export",
    "dataset.shred",
    "model.show",
    "model.export",
    "keys.rotate",
    "budget.set",
)
_REVISION_SQL = str(catalog_revision_sql())
_EPS_CAP = 1e12  # larger ε (or ∞) is treated as "no ε" (Cedar decimals stop near 9.2e14)

_acting: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "privtrain_acting_principal", default=None
)


@contextlib.contextmanager
def acting_as(principal: str, *, via: str = "local") -> Iterator[None]:
    """Inside this block, library read paths authorize as ``principal`` (``via`` goes into the
    Cedar context and the audit event: ``local``, ``http``, ``federated``...)."""
    tok = _acting.set((principal, via))
    try:
        yield
    finally:
        _acting.reset(tok)


@dataclass(frozen=True)
class Decision:
    """One authorization decision (also written to the audit log)."""

    allowed: bool
    principal: str
    principal_type: str  # Principal | Custodian | unknown
    action: str
    resource: str
    policies: tuple[str, ...] = ()  # @id of the policies that decided (permit or forbid)
    reason: str = ""
    errors: tuple[str, ...] = ()
    audit_seq: int | None = None
    entity: dict[str, Any] = field(default_factory=dict)

    @property
    def decision(self) -> str:
        return "allow" if self.allowed else "deny"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["decision"] = self.decision
        d["policies"] = list(self.policies)
        d["errors"] = list(self.errors)
        return d

    def raise_for_deny(self) -> Decision:
        if not self.allowed:
            raise AccessDenied(
                f"{self.principal} may not {self.action} {self.resource} ({self.reason})"
            )
        return self


def _decimal(x: Any) -> dict[str, Any] | None:
    """A Cedar ``decimal`` for ``x`` rounded UP to 4 places (never understates ε or δ)."""
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(f) or f < 0 or f > _EPS_CAP:
        return None
    d = decimal.Decimal(repr(f)).quantize(decimal.Decimal("0.0001"), rounding=decimal.ROUND_CEILING)
    return {"__extn": {"fn": "decimal", "arg": f"{d:.4f}"}}


def _default_policy_dir() -> Path:
    from privtrain._shipped import policies_dir

    return policies_dir()


_DIR_CACHE: dict[tuple[str | None, str | None], Path] = {}


def policy_dir(ws: Workspace | None = None) -> Path:
    """``$PRIVTRAIN_POLICY_DIR``, else ``<home>/policies`` if it holds access.cedar, else the
    default ``policies/`` shipped next to the package. (Resolved once per home and setting.)"""
    env = os.environ.get("PRIVTRAIN_POLICY_DIR")
    home = str(ws.settings.home) if ws is not None else None
    hit = _DIR_CACHE.get((env, home))
    if hit is not None:
        return hit
    if env:
        d = Path(env).expanduser().absolute()
    elif ws is not None and (ws.settings.home / "policies" / POLICY_FILE).is_file():
        d = ws.settings.home / "policies"
    else:
        d = _default_policy_dir()
    _DIR_CACHE[(env, home)] = d
    return d


def _stat(p: str) -> tuple[int, int]:
    try:
        st = os.stat(p)
    except OSError:
        return (-1, -1)
    return (st.st_mtime_ns, st.st_size)


def load_policies(directory: Path) -> tuple[cedarpy.PolicySet, cedarpy.Schema, str, str]:
    """Parse and validate ``access.cedar`` against ``access.cedarschema``; ConfigError with the
    validator's message otherwise."""
    pol_path, sch_path = directory / POLICY_FILE, directory / SCHEMA_FILE
    try:
        pol_text = pol_path.read_text(encoding="utf-8")
        sch_text = sch_path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise ConfigError(
            f"access policy file {e.filename} not found (set PRIVTRAIN_POLICY_DIR or put "
            f"{POLICY_FILE} and {SCHEMA_FILE} in <home>/policies)"
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read access policies in {directory}: {e}") from None
    try:
        schema = cedarpy.Schema.from_str(sch_text)
    except ValueError as e:
        raise ConfigError(f"{sch_path}: invalid Cedar schema: {_one_line(e)}") from None
    try:
        policies = cedarpy.PolicySet.from_str(pol_text)
    except ValueError as e:
        raise ConfigError(f"{pol_path}: invalid Cedar policy: {_one_line(e)}") from None
    result = cedarpy.validate_policies(pol_text, schema)
    if not result.validation_passed:
        msgs = "; ".join(
            f"policy {ann or err.policy_id}: {err.error}"
            for err in result.errors
            for ann in [result.id_annotations_by_policy_id.get(err.policy_id)]
        )
        raise ConfigError(f"{pol_path}: policies do not validate against {sch_path.name}: {msgs}")
    return policies, schema, pol_text, sch_text


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())


def policy_ids(pol_text: str) -> list[str]:
    """The @id annotations of the policies in ``pol_text`` (parse order)."""
    ids: list[str] = []
    for node in (
        json.loads(cedarpy.policies_to_json_str(pol_text)).get("staticPolicies", {}).values()
    ):
        ann = (node.get("annotations") or {}).get("id")
        if ann:
            ids.append(ann)
    return ids


@dataclass
class _State:
    policies: cedarpy.PolicySet
    schema: cedarpy.Schema
    entities: cedarpy.Entities
    principals: dict[str, dict[str, Any]]
    datasets_latest: dict[str, int]
    models_latest: dict[str, int]
    resources: dict[str, dict[str, Any]]  # "Type::id" -> entity json (for explanations)
    n_entities: int
    n_policies: int
    custodian: str
    entities_json: str  # what ``entities`` was parsed from (for explanations, benchmarks)


class Authorizer:
    """Cached Cedar state for one home (catalog URL + policy directory)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._files = (str(directory / POLICY_FILE), str(directory / SCHEMA_FILE))
        self._lock = threading.Lock()
        self._state: _State | None = None
        self._files_sig: tuple[Any, ...] | None = None
        self._catalog_sig: tuple[Any, ...] | None = None
        self._cards: dict[tuple[str, str], dict[str, Any]] = {}
        self._policy_cache: tuple[tuple[Any, ...], Any] | None = None
        self.rebuilds = 0
        self._local = threading.local()

    # -------------------------------------------------------------- refresh
    def _files_signature(self) -> tuple[Any, ...]:
        return (_stat(self._files[0]), _stat(self._files[1]))

    def state(self, ws: Workspace) -> _State:
        files_sig = self._files_signature()
        cat_sig = self._catalog_signature(ws)
        st = self._state
        if (
            st is not None
            and files_sig == self._files_sig
            and cat_sig == self._catalog_sig
            and st.custodian == ws.settings.identity
        ):
            return st
        with self._lock:
            if (
                self._state is not None
                and files_sig == self._files_sig
                and cat_sig == self._catalog_sig
                and self._state.custodian == ws.settings.identity
            ):
                return self._state
            if self._policy_cache is None or self._policy_cache[0] != files_sig:
                self._policy_cache = (files_sig, load_policies(self.directory))
            policies, schema, pol_text, _ = self._policy_cache[1]
            self._state = self._build(ws, policies, schema, pol_text)
            self._files_sig, self._catalog_sig = files_sig, cat_sig
            self.rebuilds += 1
            return self._state

    def _catalog_signature(self, ws: Workspace) -> tuple[Any, ...]:
        """One small query on a DBAPI connection kept per thread, detached from the pool (no
        checkout per decision, no pool slot held); the transaction is ended right after, so
        every call sees the latest commits."""
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "engine", None) is not ws.catalog.engine:
            conn = ws.catalog.engine.raw_connection()
            conn.detach()  # out of the pool's accounting: a service thread keeps its own
            self._local.conn, self._local.engine = conn, ws.catalog.engine
        try:
            cur = conn.cursor()
            try:
                cur.execute(_REVISION_SQL)
                row = tuple(cur.fetchone())
            finally:
                cur.close()
            conn.rollback()
            return row
        except Exception:
            self._local.conn = None
            with contextlib.suppress(Exception):
                conn.close()
            with ws.catalog.engine.connect() as c:
                return tuple(c.execute(catalog_revision_sql()).one())

    def _verified_card(self, ws: Workspace, m: Model) -> dict[str, Any] | None:
        """The verified predicate of ``m``'s card, or None when it does not verify."""
        env = m.card_json
        if not isinstance(env, dict):
            return None
        cache_key = (f"{m.id}/{m.name}@v{m.version}", json.dumps(env, sort_keys=True))
        if cache_key in self._cards:
            return self._cards[cache_key]
        pred: dict[str, Any] | None
        try:
            stmt = modelcard.verify(
                env, ws.keys.signing_key("model").public_key(), what=f"model {m.ref}"
            )
            ok_subject = stmt["subject"][0].get("name") == f"model:{m.name}@v{m.version}"
            pred = stmt["predicate"] if ok_subject and isinstance(stmt["predicate"], dict) else None
        except (IntegrityError, KeyError, IndexError, TypeError):
            pred = None
        self._cards[cache_key] = pred  # type: ignore[assignment]
        return pred

    def _build(
        self, ws: Workspace, policies: cedarpy.PolicySet, schema: cedarpy.Schema, pol_text: str
    ) -> _State:
        key = _mac_key(ws)
        ents: list[dict[str, Any]] = [
            {"uid": {"type": "Role", "id": r}, "attrs": {}, "parents": []} for r in ROLES
        ]
        ents.append({"uid": {"type": "Keyring", "id": "keyring"}, "attrs": {}, "parents": []})
        principals: dict[str, dict[str, Any]] = {}
        datasets_latest: dict[str, int] = {}
        models_latest: dict[str, int] = {}
        resources: dict[str, dict[str, Any]] = {}
        site_of: dict[str, str] = {}
        with ws.catalog.session() as s:
            for p in s.scalars(select(Principal)):
                if not principal_row_ok(key, p):
                    continue  # an unauthenticated row grants nothing
                roles = [r for r in (p.roles_json or []) if r in ROLES]
                e = {
                    "uid": {"type": "Principal", "id": p.name},
                    "attrs": {"kind": p.kind, "site": p.site, "active": p.status == "active"},
                    "parents": [{"type": "Role", "id": r} for r in roles],
                }
                principals[p.name] = e
                ents.append(e)
            for d in _verified_rows(ws, Dataset):
                ref = f"{d.name}@v{d.version}"
                site_of[ref] = d.site
                e = {
                    "uid": {"type": "Dataset", "id": ref},
                    "attrs": {
                        "name": d.name,
                        "version": int(d.version),
                        "site": d.site,
                        "shared": d.site == "shared",
                        "sensitivity": d.sensitivity,
                        "active": d.status == "active",
                    },
                    "parents": [],
                }
                ents.append(e)
                resources[f"Dataset::{ref}"] = e
                datasets_latest[d.name] = max(datasets_latest.get(d.name, 0), int(d.version))
            for b in s.scalars(select(Budget.dataset_name)):
                ents.append(
                    {"uid": {"type": "Budget", "id": b}, "attrs": {"dataset": b}, "parents": []}
                )
            models = _verified_rows(ws, Model)
        known_budgets = {e["uid"]["id"] for e in ents if e["uid"]["type"] == "Budget"}
        for name in datasets_latest:
            if name not in known_budgets:
                ents.append(
                    {
                        "uid": {"type": "Budget", "id": name},
                        "attrs": {"dataset": name},
                        "parents": [],
                    }
                )
        for m in models:
            ref = f"{m.name}@v{m.version}"
            pred = self._verified_card(ws, m)
            attrs: dict[str, Any] = {
                "name": m.name,
                "version": int(m.version),
                "site": "local",
                "dp_trained": False,
                "card_verified": pred is not None,
                "datasets": [],
            }
            if pred is not None:
                priv = pred.get("privacy") or {}
                eps, delta = _decimal(priv.get("epsilon")), _decimal(priv.get("delta"))
                attrs["dp_trained"] = (not priv.get("non_private", True)) and eps is not None
                if eps is not None:
                    attrs["epsilon"] = eps
                if delta is not None:
                    attrs["delta"] = delta
                drefs = []
                for dd in pred.get("datasets") or []:
                    if isinstance(dd, dict) and "name" in dd and "version" in dd:
                        dref = f"{dd['name']}@v{dd['version']}"
                        if dref in site_of:
                            drefs.append({"__entity": {"type": "Dataset", "id": dref}})
                attrs["datasets"] = drefs
                sites = sorted({site_of[x["__entity"]["id"]] for x in drefs})
                attrs["site"] = sites[0] if len(sites) == 1 else ("shared" if sites else "local")
            e = {"uid": {"type": "Model", "id": ref}, "attrs": attrs, "parents": []}
            ents.append(e)
            resources[f"Model::{ref}"] = e
            models_latest[m.name] = max(models_latest.get(m.name, 0), int(m.version))
        custodian = ws.settings.identity
        if custodian not in principals:
            ents.append({"uid": {"type": "Custodian", "id": custodian}, "attrs": {}, "parents": []})
        ents_json = json.dumps(ents)
        try:
            entities = cedarpy.Entities.from_json_str(ents_json, schema)
        except ValueError as e:
            raise ConfigError(
                f"catalog entities do not fit {SCHEMA_FILE} in {self.directory}: {_one_line(e)}"
            ) from None
        return _State(
            policies=policies,
            schema=schema,
            entities=entities,
            principals=principals,
            datasets_latest=datasets_latest,
            models_latest=models_latest,
            resources=resources,
            n_entities=len(ents),
            n_policies=len(policy_ids(pol_text)),
            custodian=custodian,
            entities_json=ents_json,
        )

    # -------------------------------------------------------------- decide
    def decide(
        self,
        ws: Workspace,
        principal: str,
        action: str,
        resource: str,
        *,
        via: str = "local",
    ) -> Decision:
        st = self.state(ws)
        if principal in st.principals:
            ptype = "Principal"
        elif principal == st.custodian:
            ptype = "Custodian"
        else:
            return Decision(False, principal, "unknown", action, resource, (), "unknown principal")
        if action not in ACTIONS:
            return Decision(False, principal, ptype, action, resource, (), "unknown action")
        rtype, rid, canonical = _resolve(st, resource)
        if rtype is None:
            return Decision(False, principal, ptype, action, resource, (), "unknown resource")
        req = {
            "principal": {"type": ptype, "id": principal},
            "action": {"type": "Action", "id": action},
            "resource": {"type": rtype, "id": rid},
            "context": {"via": via},
        }
        r = cedarpy.is_authorized(req, st.policies, st.entities, st.schema)
        diag = r.diagnostics
        ann = diag.id_annotations_by_reason
        ids = tuple(ann.get(pid, pid) for pid in diag.reasons)
        allowed = bool(r.allowed)
        if allowed:
            reason = "permitted by " + ", ".join(ids)
        elif ids:
            reason = "forbidden by " + ", ".join(ids)
        else:
            reason = "no policy permits it (deny by default)"
        return Decision(
            allowed,
            principal,
            ptype,
            action,
            canonical,
            ids,
            reason,
            tuple(_one_line(Exception(e)) for e in diag.errors),
            entity=st.resources.get(f"{rtype}::{rid}", {}).get("attrs", {}),
        )


def _verified_rows(ws: Workspace, cls: Any) -> list[Any]:
    """Every row of ``cls``, detached. The catalog verifies row MACs on load; when one row
    fails, the rows are loaded one by one and the failing ones left out (a resource without
    an entity is denied), so one tampered row does not take every decision down with it."""
    try:
        with ws.catalog.session() as s:
            rows = list(s.scalars(select(cls)))
            s.expunge_all()
            return rows
    except IntegrityError:
        pass
    with ws.catalog.session() as s:
        ids = list(s.scalars(select(cls.id)))
    out = []
    for i in ids:
        try:
            with ws.catalog.session() as s:
                row = s.get(cls, i)
                if row is not None:
                    s.expunge(row)
                    out.append(row)
        except IntegrityError:
            continue
    return out


def _resolve(st: _State, resource: str) -> tuple[str | None, str, str]:
    """``dataset:NAME[@vN]`` / ``model:NAME[@vN]`` / ``keyring`` / ``budget:NAME`` →
    (Cedar type, id, canonical resource string)."""
    kind, _, ref = resource.partition(":")
    if resource == "keyring":
        return "Keyring", "keyring", "keyring"
    if kind == "budget" and ref:
        return "Budget", ref, resource
    latest = {"dataset": st.datasets_latest, "model": st.models_latest}.get(kind)
    if latest is None or not ref:
        return None, "", resource
    name, sep, v = ref.rpartition("@v")
    if not sep:
        name = ref
        if name not in latest:
            return None, "", resource
        ref = f"{name}@v{latest[name]}"
    elif not v.isdigit():
        return None, "", resource
    rtype = "Dataset" if kind == "dataset" else "Model"
    if f"{rtype}::{ref}" not in st.resources:
        return None, "", resource
    return rtype, ref, f"{kind}:{ref}"


# ------------------------------------------------------------------ module-level API
_AUTHORIZERS: dict[tuple[str, str], Authorizer] = {}
_AUTH_LOCK = threading.Lock()


def authorizer_for(ws: Workspace) -> Authorizer:
    d = policy_dir(ws)
    k = (ws.settings.resolved_catalog_url, str(d))
    a = _AUTHORIZERS.get(k)
    if a is None:
        with _AUTH_LOCK:
            a = _AUTHORIZERS.setdefault(k, Authorizer(d))
    return a


def current_principal(ws: Workspace) -> tuple[str, str]:
    """(principal, via) of the caller: the ``acting_as`` block, else the home's identity."""
    acting = _acting.get()
    return acting if acting is not None else (ws.settings.identity, "local")


def authorize(
    ws: Workspace,
    principal: str | None,
    action: str,
    resource: str,
    *,
    via: str | None = None,
    audit: bool = True,
    raise_on_deny: bool = True,
    details: dict[str, Any] | None = None,
) -> Decision:
    """Decide whether ``principal`` may ``action`` ``resource``; audit it; raise AccessDenied
    (exit 7) on deny unless ``raise_on_deny=False``.

    ``principal=None`` means the current one (:func:`acting_as`, else the home's identity,
    which is the custodian unless it names a registered principal)."""
    cur, cur_via = current_principal(ws)
    name = principal if principal is not None else cur
    via = via or cur_via
    dec = authorizer_for(ws).decide(ws, name, action, resource, via=via)
    if audit:
        d: dict[str, Any] = {"via": via, "policies": list(dec.policies), "reason": dec.reason}
        if details:
            d.update(details)
        ev = ws.audit.append(
            actor=name[:255] or "anonymous",
            action=f"access.{action}"[:255],
            resource=dec.resource[:1024] or "-",
            decision=dec.decision,
            details=d,
        )
        dec = Decision(**{**dec.__dict__, "audit_seq": ev.get("seq")})
    if raise_on_deny:
        dec.raise_for_deny()
    return dec


def check(ws: Workspace, principal: str, action: str, resource: str) -> Decision:
    """Explain a decision without acting on it (audited, never raises on deny)."""
    return authorize(
        ws, principal, action, resource, raise_on_deny=False, details={"explain": True}
    )
