"""``privtrain run pipeline.yaml``: privtrain as one declarative, resumable pipeline stage.

A pipeline declares up to five stages, always run in this order::

    ingest → train → federated → audit → publish

Each stage has declared inputs — its own configuration, the content hashes (SHA-256) of the
files it reads, and the catalog ids of what earlier stages produced — folded into a
*fingerprint*, and declared outputs (dataset / model refs, ε spent, report paths). The state
(``<home>/pipelines/<name>.state.json`` unless ``state:`` says otherwise) is rewritten
atomically (temp file, fsync, rename) at every transition, under an exclusive lock.

On a rerun a stage whose fingerprint is unchanged and which completed is **skipped** (its
recorded outputs are reused); the run resumes after the last completed stage; ``force=STAGE``
reruns that stage and every later one. A stage killed mid-way is recovered without charging the
ledger twice: a killed ``train`` stage resumes its own reserved run from its encrypted
checkpoint (``training.resume``) — or, if the run had committed before the kill, adopts its
model — instead of reserving a new run.

Failures raise the library's own errors, so exit codes are stable per failure class (README,
"Exit codes"); a bad pipeline file is a :class:`ConfigError` naming the field and its line.
An audit that finds ``ε_lower > ε_claimed`` fails its stage with :class:`IntegrityError` (the
model's privacy claim is refuted), and ``publish`` never runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from privtrain._io import atomic_write_text
from privtrain.errors import (
    BusyError,
    ConfigError,
    ConflictError,
    IntegrityError,
    NotFoundError,
    PrivtrainError,
)

logger = logging.getLogger(__name__)

STAGES: tuple[str, ...] = ("ingest", "train", "federated", "audit", "publish")
STATE_FORMAT = "privtrain.pipeline.state/1"
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

# ---- configuration -----------------------------------------------------------------------------


class _Stage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BudgetSpec(_Stage):
    epsilon: float = Field(gt=0)
    delta: float = Field(default=1e-5, gt=0, lt=1)


class IngestStage(_Stage):
    file: Path
    name: str = Field(pattern=_NAME)
    plan: Path | None = None
    policy: str | None = None  # a policy file or a shipped profile name
    keep_raw: bool = False
    site: str = "local"
    budget: BudgetSpec | None = None  # set on the dataset when it has none yet
    report: Path | None = None  # write the de-identification report (HTML) here


class TrainStage(_Stage):
    dataset: str | None = None  # default: the ingest stage's dataset
    target: str
    features: Path
    config: Path | None = None
    epsilon: float | None = Field(default=None, gt=0)
    delta: float | None = Field(default=None, gt=0, lt=1)
    epochs: float | None = Field(default=None, gt=0)
    model: str | None = Field(default=None, pattern=_NAME)
    settings: dict[str, Any] = Field(default_factory=dict)  # TrainConfig fields


class FederatedStage(_Stage):
    dataset: str | None = None
    sites: int = Field(default=3, ge=1, le=32)
    aggregation: str = "he"
    rounds: int = Field(default=3, ge=1)
    local_steps: int = Field(default=10, ge=1)
    epsilon: float = Field(default=1.0, gt=0)
    delta: float = Field(default=1e-5, gt=0, lt=1)
    site_budget: float = Field(default=10.0, gt=0)
    min_sites: int | None = Field(default=None, ge=1)
    target: str = "class"
    features: Path | None = None
    site_policy: Path | None = None
    reply_timeout: float = Field(default=120.0, gt=0)
    model: str = Field(default="federated", pattern=_NAME)
    hidden: str = "64"  # hidden layer sizes, comma-separated
    batch_size: int = Field(default=256, ge=1)
    workdir: Path | None = None


class AuditStage(_Stage):
    dataset: str | None = None
    model: str | None = None  # default: the train stage's model (its recorded settings)
    target: str | None = None
    features: Path | None = None
    config: Path | None = None
    epsilon: float | None = Field(default=None, gt=0)
    epochs: float | None = Field(default=None, gt=0)
    canaries: int = Field(default=1000, ge=2)
    html: Path | None = None
    fail_on_bug: bool = True
    settings: dict[str, Any] = Field(default_factory=dict)


class PublishStage(_Stage):
    model: str | None = None  # default: the train stage's model, else the federated one
    out: Path
    card: Path | None = None  # default: OUT + ".card.json"


class StagesSpec(_Stage):
    ingest: IngestStage | None = None
    train: TrainStage | None = None
    federated: FederatedStage | None = None
    audit: AuditStage | None = None
    publish: PublishStage | None = None


class PipelineSpec(_Stage):
    name: str = Field(pattern=_NAME)
    state: Path | None = None
    stages: StagesSpec


def _yaml_line(node: Any, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at pydantic location ``loc`` (deepest node found)."""
    import yaml

    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        nxt = None
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if str(k.value) == str(part):
                    nxt = v
                    line = k.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if 0 <= part < len(node.value):
                nxt = node.value[part]
                line = nxt.start_mark.line + 1
        if nxt is None:
            break
        node = nxt
    return line


def load_spec(path: str | Path) -> PipelineSpec:
    """Parse and validate a pipeline file; one-line ConfigError naming field and line."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"pipeline file {p} not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"pipeline file {p} cannot be read: {e}") from None
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{p}:{mark.line + 1}" if mark is not None else str(p)
        first = str(getattr(e, "problem", None) or e).splitlines()[0]
        raise ConfigError(f"pipeline {where}: not valid YAML: {first}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"pipeline {p}: expected a mapping at the top level")
    try:
        return PipelineSpec.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(err.get("loc", ()))
        line = _yaml_line(node, loc)
        field = ".".join(str(x) for x in loc) or "pipeline"
        where = f"{p}:{line}" if line else str(p)
        raise ConfigError(f"pipeline {where}: {field}: {err.get('msg')}") from None


# ---- results -----------------------------------------------------------------------------------


@dataclasses.dataclass
class StageResult:
    name: str
    status: str  # completed | resumed | skipped | failed | not-run
    summary: str = ""
    outputs: dict[str, Any] = dataclasses.field(default_factory=dict)
    seconds: float = 0.0
    error: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class PipelineResult:
    name: str
    status: str  # completed | failed
    stages: list[StageResult]
    state_path: Path
    epsilon_spent: dict[str, float]
    reports: list[str]
    error: PrivtrainError | None = None
    failed_stage: str | None = None

    @property
    def exit_code(self) -> int:
        return 0 if self.error is None else self.error.exit_code

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "pipeline": self.name,
            "status": self.status,
            "exit_code": self.exit_code,
            "stages": [s.to_dict() for s in self.stages],
            "datasets": [
                s.outputs["dataset"]
                for s in self.stages
                if s.name == "ingest" and s.outputs.get("dataset")
            ],
            "models": sorted({s.outputs["model"] for s in self.stages if s.outputs.get("model")}),
            "epsilon_spent": self.epsilon_spent,
            "reports": self.reports,
            "state": str(self.state_path),
        }
        if self.error is not None:
            out["error"] = {
                "stage": self.failed_stage,
                "kind": self.error.kind,
                "exit_code": self.error.exit_code,
                "message": self.error.message,
            }
        return out


# ---- state -------------------------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except FileNotFoundError:
        raise NotFoundError(f"file {path} not found") from None
    except OSError as e:
        raise ConfigError(f"file {path} cannot be read: {e.strerror}") from None
    return h.hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _ts(value: Any) -> str:
    """A timestamp as ``YYYY-MM-DD HH:MM:SS`` (UTC) for ordering, whatever its rendering."""
    return str(value or "").replace("T", " ")[:19]


class _State:
    """The pipeline's state file: read once, rewritten atomically at each transition."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.data: dict[str, Any] = {"format": STATE_FORMAT, "pipeline": name, "stages": {}}
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                raise IntegrityError(f"pipeline state {path} is unreadable: {e}") from None
            if data.get("format") != STATE_FORMAT or data.get("pipeline") != name:
                raise ConflictError(
                    f"pipeline state {path} belongs to another pipeline or format; remove it "
                    "or set state: to another path"
                )
            self.data = data

    def stage(self, name: str) -> dict[str, Any]:
        return self.data["stages"].get(name) or {}

    def put(self, name: str, **fields: Any) -> None:
        cur = dict(self.stage(name))
        cur.update(fields)
        self.data["stages"][name] = cur
        self.data["updated_at"] = _now()
        atomic_write_text(self.path, json.dumps(self.data, indent=2, sort_keys=True, default=str))


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BusyError(
                f"pipeline lock {path} is held: another run of this pipeline is in progress"
            ) from None
        yield
    finally:
        os.close(fd)


# ---- the runner --------------------------------------------------------------------------------


class Pipeline:
    """A validated pipeline file. ``Pipeline.from_yaml(path).run()``."""

    def __init__(self, spec: PipelineSpec, base_dir: Path, source: Path | None = None) -> None:
        self.spec = spec
        self.base_dir = base_dir
        self.source = source

    @classmethod
    def from_yaml(cls, path: str | Path) -> Pipeline:
        p = Path(path).absolute()
        return cls(load_spec(p), p.parent, p)

    # -- helpers -------------------------------------------------------------------------
    def _path(self, p: Path | None) -> Path | None:
        """A declared path: ``${VARS}`` and ``~`` expanded, relative to the pipeline file."""
        if p is None:
            return None
        p = Path(os.path.expanduser(os.path.expandvars(str(p))))
        return p if p.is_absolute() else (self.base_dir / p)

    def stages(self) -> list[str]:
        return [s for s in STAGES if getattr(self.spec.stages, s) is not None]

    def state_path(self, settings: Any) -> Path:
        return self._path(self.spec.state) or (
            settings.home / "pipelines" / f"{self.spec.name}.state.json"
        )

    # -- run -----------------------------------------------------------------------------
    def run(
        self,
        *,
        settings: Any = None,
        passphrase: str | Callable[[], str] | None = None,
        force: str | None = None,
        raise_on_error: bool = True,
        on_stage: Callable[[StageResult], None] | None = None,
    ) -> PipelineResult:
        """Run every declared stage in order, skipping completed unchanged ones. Returns the
        result; on failure raises the stage's error (``raise_on_error``) with ``.result`` set,
        else returns the failed result."""
        from privtrain.config import load_settings
        from privtrain.workspace import Workspace

        names = self.stages()
        if force is not None and force not in STAGES:
            raise ConfigError(f"--force: unknown stage {force!r} (stages: {', '.join(STAGES)})")
        if force is not None and force not in names:
            raise ConfigError(f"--force: stage {force!r} is not declared in this pipeline")
        if not names:
            raise ConfigError(f"pipeline {self.spec.name}: no stages declared")
        settings = settings or load_settings()
        settings.require_initialized()
        if callable(passphrase):
            passphrase = passphrase()
        if passphrase is None:
            if settings.passphrase is None:
                raise ConfigError("no passphrase: set PRIVTRAIN_PASSPHRASE")
            passphrase = settings.passphrase.get_secret_value()
        state_path = self.state_path(settings)
        with _lock(state_path.with_name(state_path.name + ".lock")):
            ws = Workspace.open(settings, passphrase)
            state = _State(state_path, self.spec.name)
            ctx = _Context(self, ws, passphrase)
            results: list[StageResult] = []
            error: PrivtrainError | None = None
            failed: str | None = None
            forcing = False
            for name in names:
                forcing = forcing or name == force
                if error is not None:
                    results.append(StageResult(name, "not-run"))
                    continue
                t0 = time.perf_counter()
                try:
                    res = self._stage(ctx, state, name, forcing)
                except PrivtrainError as e:
                    error, failed = e, name
                    state.put(name, status="failed", error=e.message, finished_at=_now())
                    res = StageResult(
                        name,
                        "failed",
                        summary=e.message,
                        error={"kind": e.kind, "exit_code": e.exit_code, "message": e.message},
                    )
                res.seconds = round(time.perf_counter() - t0, 3)
                ctx.outputs[name] = res.outputs
                results.append(res)
                if on_stage is not None:
                    on_stage(res)
            result = PipelineResult(
                name=self.spec.name,
                status="failed" if error else "completed",
                stages=results,
                state_path=state_path,
                epsilon_spent=ctx.spent(),
                reports=[str(r.outputs["report"]) for r in results if r.outputs.get("report")],
                error=error,
                failed_stage=failed,
            )
        if error is not None and raise_on_error:
            error.result = result  # type: ignore[attr-defined]
            raise error
        return result

    def _stage(self, ctx: _Context, state: _State, name: str, forcing: bool) -> StageResult:
        cfg = getattr(self.spec.stages, name)
        fp = ctx.fingerprint(name, cfg)
        prev = state.stage(name)
        if (
            not forcing
            and prev.get("status") == "completed"
            and prev.get("fingerprint") == fp
            and ctx.still_valid(name, prev.get("outputs") or {})
        ):
            out = prev.get("outputs") or {}
            return StageResult(name, "skipped", summary=_summary(name, out), outputs=out)
        interrupted = prev.get("status") == "running" and prev.get("fingerprint") == fp
        state.put(
            name,
            status="running",
            fingerprint=fp,
            started_at=_now(),
            pid=os.getpid(),
            previous_started_at=prev.get("started_at") if interrupted else None,
            error=None,
        )
        run = getattr(ctx, f"run_{name}")
        status, out = run(cfg, recover=prev if interrupted else None)
        state.put(name, status="completed", outputs=out, finished_at=_now())
        return StageResult(name, status, summary=_summary(name, out), outputs=out)


def _summary(name: str, out: dict[str, Any]) -> str:
    """One line: what the stage produced and where its report is."""
    if name == "ingest":
        line = f"de-identified, encrypted dataset {out.get('dataset')}"
        plan = out.get("plan_sha256")
        line += f" (plan {str(plan)[:12]})" if plan else ""
        line += f", raw copy {out['raw']} (encrypted)" if out.get("raw") else ""
        return line + (f"; report {out['report']}" if out.get("report") else "")
    if name == "train":
        eps = out.get("epsilon")
        line = f"DP-SGD model {out.get('model')}"
        line += f" (ε={eps:.3f})" if eps is not None else ""
        return line + f"; signed card: privtrain models show {out.get('model')}"
    if name == "federated":
        sites = out.get("sites") or []
        eps = [s.get("epsilon") for s in sites if s.get("epsilon") is not None]
        line = (
            f"model {out.get('model')}: {out.get('rounds_completed')} rounds, "
            f"{out.get('aggregation', 'he')} aggregation, {len(sites)} sites"
        )
        line += f" (ε ≤ {max(eps):.3f} each)" if eps else ""
        return line + f"; site ledgers and logs in {out.get('workdir')}"
    if name == "audit":
        verdict = "PRIVACY BUG" if out.get("privacy_bug") else "no violation found"
        return (
            f"ε_lower={out.get('epsilon_lower', 0):.3f} vs claimed "
            f"ε={out.get('epsilon_claimed', 0):.3f} ({out.get('canaries')} canaries): "
            f"{verdict}; report {out.get('report')}"
        )
    if name == "publish":
        return f"{out.get('model')} → {out.get('out')} (card {out.get('card')})"
    return ""


class _Context:
    """What stages share: the workspace and the outputs of earlier stages."""

    def __init__(self, pipe: Pipeline, ws: Any, passphrase: str) -> None:
        self.pipe = pipe
        self.ws = ws
        self.passphrase = passphrase
        self.outputs: dict[str, dict[str, Any]] = {}
        self.touched: set[str] = set()

    # -- inputs --------------------------------------------------------------------------
    def _dataset(self, declared: str | None, stage: str) -> str:
        if declared:
            return declared
        ing = self.outputs.get("ingest") or {}
        if ing.get("name"):
            return str(ing["name"])
        raise ConfigError(f"pipeline stage {stage}: dataset: required (no ingest stage)")

    def _model(self, declared: str | None, stage: str) -> str:
        if declared:
            return declared
        for src in ("train", "federated"):
            ref = (self.outputs.get(src) or {}).get("model")
            if ref:
                return str(ref)
        raise ConfigError(f"pipeline stage {stage}: model: required (no train stage)")

    def fingerprint(self, name: str, cfg: _Stage) -> str:
        from privtrain import datasets, models

        p = self.pipe._path
        inputs: dict[str, Any] = {"stage": name, "config": cfg.model_dump(mode="json")}
        files: dict[str, str] = {}
        for field in ("file", "plan", "features", "config", "site_policy"):
            v = getattr(cfg, field, None)
            if isinstance(v, Path):
                files[field] = _sha256_file(p(v))  # type: ignore[arg-type]
        pol = getattr(cfg, "policy", None)
        if pol and p(Path(pol)).exists():  # type: ignore[union-attr]
            files["policy"] = _sha256_file(p(Path(pol)))  # type: ignore[arg-type]
        inputs["files"] = files
        if name in ("train", "federated", "audit"):
            ref = self._dataset(getattr(cfg, "dataset", None), name)
            inputs["dataset_id"] = datasets.get(self.ws, ref, include_shredded=True).id
        if name in ("audit", "publish"):
            try:
                ref = self._model(getattr(cfg, "model", None), name)
                inputs["model_id"] = models.get(self.ws, ref).id
            except NotFoundError:
                inputs["model_id"] = None
            except ConfigError:
                if name == "publish":  # an audit may declare its settings instead of a model
                    raise
                inputs["model_id"] = None
        blob = json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def still_valid(self, name: str, out: dict[str, Any]) -> bool:
        """A completed stage's outputs still exist (a published file not removed or edited)."""
        if name == "publish":
            f = Path(out.get("out", ""))
            return f.exists() and _sha256_file(f) == out.get("sha256")
        if name == "ingest" and out.get("report") and not Path(out["report"]).exists():
            # the report is a rendering of what the catalog holds: rewrite it, don't re-ingest
            self._write_deid_report(out["dataset_id"], Path(out["report"]))
        if name == "audit" and out.get("report"):
            return Path(out["report"]).exists()
        return True

    def _write_deid_report(self, dataset_id: str, path: Path) -> None:
        from privtrain import datasets
        from privtrain.deid import DeidReport, render_report_html

        rep = datasets.deid_report(self.ws, dataset_id)
        render_report_html(DeidReport.model_validate(rep), path)

    def spent(self) -> dict[str, float]:
        from privtrain.ledger import Ledger

        led = Ledger(self.ws.catalog)
        out: dict[str, float] = {}
        names = set(self.touched)
        names.update(o["dataset_name"] for o in self.outputs.values() if o.get("dataset_name"))
        for ds in sorted(names):
            with contextlib.suppress(PrivtrainError):
                out[ds] = led.status(ds).epsilon_spent
        return out

    # -- stages --------------------------------------------------------------------------
    def run_ingest(self, cfg: IngestStage, recover: Any) -> tuple[str, dict[str, Any]]:
        from privtrain import ingest
        from privtrain.ledger import Ledger

        p = self.pipe._path
        policy = cfg.policy
        if policy and p(Path(policy)).exists():  # type: ignore[union-attr]
            policy = str(p(Path(policy)))
        res = ingest.ingest(
            self.ws,
            p(cfg.file),  # type: ignore[arg-type]
            cfg.name,
            plan_path=p(cfg.plan),
            policy_path=policy,  # type: ignore[arg-type]
            keep_raw=cfg.keep_raw,
            site=cfg.site,
        )
        if cfg.budget is not None:
            led = Ledger(self.ws.catalog, identity=self.ws.settings.identity, audit=self.ws.audit)
            try:
                led.status(cfg.name)
            except NotFoundError:
                led.set_budget(cfg.name, cfg.budget.epsilon, cfg.budget.delta)
        self.touched.add(cfg.name)
        out = {
            "name": cfg.name,
            "dataset_name": cfg.name,
            "dataset": res.dataset.ref,
            "dataset_id": res.dataset.id,
            "plan_sha256": res.plan_sha256,
        }
        if res.raw is not None:
            out["raw"] = res.raw.ref
        report = p(cfg.report)
        if report is not None:
            self._write_deid_report(res.dataset.id, report)
            out["report"] = str(report)
        return "completed", out

    def run_train(self, cfg: TrainStage, recover: Any) -> tuple[str, dict[str, Any]]:
        from privtrain import datasets, training

        ref = self._dataset(cfg.dataset, "train")
        row = datasets.get(self.ws, ref, include_shredded=True)
        self.touched.add(row.name)
        model_name = cfg.model or f"{row.name}-{cfg.target}"
        if recover is not None:
            got = self._recover_train(row, model_name, recover)
            if got is not None:
                return "resumed", _train_outputs(got, row.name)
        p = self.pipe._path
        opts = training.TrainOptions(
            dataset=ref,
            target=cfg.target,
            epsilon=cfg.epsilon,
            delta=cfg.delta,
            epochs=cfg.epochs,
            config_path=p(cfg.config),
            features_path=p(cfg.features),
            model_name=model_name,
            overrides=dict(cfg.settings) or None,
        )
        return "completed", _train_outputs(training.train(self.ws, opts), row.name)

    def _recover_train(self, row: Any, model_name: str, prev: dict[str, Any]) -> Any:
        """A train stage killed mid-way: adopt the model if its run committed before the kill,
        else resume the run it reserved (never a second reservation)."""
        from privtrain import models, training
        from privtrain.ledger import Ledger

        since = _ts(prev.get("started_at"))
        for m in models.list_models(self.ws):
            if (
                m.name == model_name
                and _ts(m.created_at) >= since
                and any(d.get("id") == row.id for d in m.datasets)
            ):
                return {"model": m.ref, "model_id": m.id, "epsilon": m.epsilon, "dataset": row.id}
        led = Ledger(self.ws.catalog)
        for r in reversed(led.history(row.name)):
            meta = r.get("meta") or {}
            res = meta.get("resume") or {}
            if (
                r["status"] == "reserved"
                and res.get("model_name") == model_name
                and res.get("dataset_id") == row.id
                and _ts(r.get("created_at")) >= since
            ):
                logger.info("resuming killed run %s of pipeline stage train", r["run_id"])
                return training.resume(self.ws, r["run_id"])
        return None

    def run_federated(self, cfg: FederatedStage, recover: Any) -> tuple[str, dict[str, Any]]:
        try:
            from federated.local import LocalFederation, LocalOptions
        except ImportError as e:
            raise ConfigError(
                f"pipeline stage federated: the federated engine is not available ({e})"
            ) from None
        ref = self._dataset(cfg.dataset, "federated")
        p = self.pipe._path
        # each federated job needs fresh site homes: a rerun (forced, changed or after a kill)
        # gets a new default workdir; the sites of an interrupted job are left as they are
        wd = p(cfg.workdir) or (
            self.ws.settings.tmp_dir / f"fed-{self.pipe.spec.name}-{secrets.token_hex(4)}"
        )
        values = {
            "dataset": ref,
            "workdir": Path(wd),
            "sites": cfg.sites,
            "aggregation": cfg.aggregation,
            "rounds": cfg.rounds,
            "local_steps": cfg.local_steps,
            "epsilon": cfg.epsilon,
            "delta": cfg.delta,
            "site_budget": cfg.site_budget,
            "min_sites": cfg.min_sites,
            "target": cfg.target,
            "features": p(cfg.features),
            "site_policy": p(cfg.site_policy),
            "reply_timeout": cfg.reply_timeout,
            "model_name": cfg.model,
            "hidden": cfg.hidden,
            "batch_size": cfg.batch_size,
        }
        known = {f.name for f in dataclasses.fields(LocalOptions)}
        opts = LocalOptions(**{k: v for k, v in values.items() if k in known})
        summary = LocalFederation(self.ws, opts, self.passphrase).run()
        if summary.get("status") != "completed":
            from privtrain.errors import TrainingError

            raise TrainingError(
                f"pipeline stage federated: job {summary.get('status')}: "
                f"{summary.get('reason') or 'see the site logs in ' + str(wd)}"
            )
        model = summary.get("model") or {}
        return "completed", {
            "model": model.get("ref"),
            "model_id": model.get("id"),
            "aggregation": cfg.aggregation,
            "rounds_completed": summary.get("rounds_completed"),
            "sites": [
                {"name": s.get("name"), "status": s.get("status"), "epsilon": s.get("epsilon")}
                for s in summary.get("sites", [])
            ],
            "workdir": str(wd),
            "dataset_name": ref.split("@v")[0],
        }

    def run_audit(self, cfg: AuditStage, recover: Any) -> tuple[str, dict[str, Any]]:
        from privtrain import datasets
        from privtrain.empirical_audit import EmpiricalAuditOptions, audit_empirical

        ref = self._dataset(cfg.dataset, "audit")
        ds_name = datasets.get(self.ws, ref, include_shredded=True).name
        self.touched.add(ds_name)
        model = cfg.model
        if model is None and (self.outputs.get("train") or {}).get("model"):
            model = self.outputs["train"]["model"]
        if recover is not None:
            self._settle_killed_audit(ref, recover)
        p = self.pipe._path
        res = audit_empirical(
            self.ws,
            EmpiricalAuditOptions(
                dataset=ref,
                target=cfg.target,
                features_path=p(cfg.features),
                config_path=p(cfg.config),
                epsilon=cfg.epsilon,
                epochs=cfg.epochs,
                canaries=cfg.canaries,
                model=model,
                html=p(cfg.html),
                overrides=dict(cfg.settings) or None,
            ),
        )
        out = {
            k: res[k]
            for k in (
                "epsilon_lower",
                "epsilon_claimed",
                "delta",
                "privacy_bug",
                "canaries",
                "run_id",
                "report",
            )
        }
        out["audited_model"] = model
        out["dataset_name"] = ds_name
        if res["privacy_bug"] and cfg.fail_on_bug:
            raise IntegrityError(
                f"pipeline stage audit: privacy bug: ε_lower={res['epsilon_lower']:.3f} exceeds "
                f"the claimed ε={res['epsilon_claimed']:.3f} (report {res['report']})"
            )
        return "completed", out

    def _settle_killed_audit(self, ref: str, prev: dict[str, Any]) -> None:
        """A killed audit's reservation is settled (charged what it executed) before a new one."""
        from privtrain.ledger import Ledger

        led = Ledger(self.ws.catalog, identity=self.ws.settings.identity, audit=self.ws.audit)
        since = _ts(prev.get("started_at"))
        name = ref.split("@v")[0]
        for r in led.history(name):
            meta = r.get("meta") or {}
            if (
                r["status"] == "reserved"
                and (r.get("kind") == "audit" or meta.get("purpose") == "empirical-audit")
                and _ts(r.get("created_at")) >= since
            ):
                with contextlib.suppress(PrivtrainError):
                    led.adopt(r["run_id"])
                    settle = getattr(led, "settle", None)
                    if settle is not None:
                        settle(r["run_id"], "pipeline stage audit was killed; rerun")
                    else:
                        led.release(r["run_id"], "pipeline stage audit was killed; rerun")

    def run_publish(self, cfg: PublishStage, recover: Any) -> tuple[str, dict[str, Any]]:
        from privtrain import models

        ref = self._model(cfg.model, "publish")
        out = self.pipe._path(cfg.out)
        assert out is not None
        card = self.pipe._path(cfg.card) or out.with_name(out.name + ".card.json")
        info = models.export(self.ws, ref, out)  # verified, authorized, audited
        row = models.get(self.ws, info.ref)
        atomic_write_text(card, json.dumps(row.card_json, indent=2, sort_keys=True))
        return "completed", {
            "model": info.ref,
            "model_id": info.id,
            "out": str(out),
            "card": str(card),
            "sha256": _sha256_file(out),
        }


def _train_outputs(res: dict[str, Any], dataset_name: str) -> dict[str, Any]:
    return {
        "model": res.get("model"),
        "model_id": res.get("model_id"),
        "run_id": res.get("run_id"),
        "epsilon": res.get("epsilon"),
        "dataset": dataset_name,
        "dataset_name": dataset_name,
    }
