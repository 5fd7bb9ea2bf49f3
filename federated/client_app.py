"""The site side: a Flower ``ClientApp`` (Message API).

Messages it answers (content records in parentheses):

- ``query.offer`` (config ``job``, ``job_id``, ``features``): check the job against the site
  policy and ledger and reserve its cost; reply with the site's name and planned ε, or an
  error whose reason is ``"<site>: <why>"``.
- ``train`` (config ``job``/``round``; weights in ArrayRecord ``global`` or the encrypted
  aggregate in ``he.aggregate``): k local DP-SGD steps; reply with the weights (``none``), the
  weighted update as CKKS ciphertexts (``he.update``), or a legacy ``fitres`` record that
  ``secaggplus_mod`` masks (SecAgg+).
- ``query.finish`` (optionally the final ``he.aggregate``): commit the site's ledger (not
  inside a round: accounting takes seconds); with HE also return the decrypted final average
  (the released model).

Nothing computed from the rows is sent except DP-SGD outputs and public mechanism parameters
(no losses, accuracies or row counts). Torch is imported only when training.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import numpy as np
from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Error, Message, RecordDict
from flwr.clientapp import ClientApp

from privtrain.errors import PrivtrainError

if TYPE_CHECKING:
    from .job import Job
    from .site import Site

logger = logging.getLogger(__name__)

ERROR_REFUSED = 4701  # the site's policy, budget or access layer refused the job
ERROR_FAILED = 4702  # the site failed while running the job
STATE = "privtrain.job"


def _secagg_when_asked(msg: Message, ctx: Context, call_next: Any) -> Message:
    """Apply Flower's ``secaggplus_mod`` to SecAgg+ protocol messages only."""
    from flwr.client.mod import secaggplus_mod
    from flwr.common.secure_aggregation.secaggplus_constants import RECORD_KEY_CONFIGS

    if msg.has_content() and RECORD_KEY_CONFIGS in msg.content.config_records:
        return secaggplus_mod(msg, ctx, call_next)
    return call_next(msg, ctx)


app = ClientApp(mods=[_secagg_when_asked])


def _site(ctx: Context) -> Site:
    # the job and site modules (pydantic models) are imported by the messages that use them:
    # SecAgg+'s key and unmask stages never reach them (a ClientApp process per message)
    from .site import Site, SiteConfig

    return Site(SiteConfig.from_node_config(dict(ctx.node_config)))


def _error(msg: Message, code: int, site: str, why: str) -> Message:
    return Message(Error(code=code, reason=f"{site}: {why}"), reply_to=msg)


def _state(ctx: Context) -> dict[str, Any]:
    rec = ctx.state.config_records.get(STATE)
    if rec is None or "json" not in rec:
        return {}
    return json.loads(str(rec["json"]))


def _save_state(ctx: Context, st: dict[str, Any]) -> None:
    ctx.state.config_records[STATE] = ConfigRecord({"json": json.dumps(st)})


def _features(text: str) -> Any:
    from privtrain.dp import FeatureSpec

    return FeatureSpec.from_dict(json.loads(text), where="job feature spec")


def _template(job: Job, features: Any) -> dict[str, np.ndarray]:
    from privtrain.dp._local import initial_weights

    assert features.target_classes is not None
    return initial_weights(features.n_features, job.train_config(), len(features.target_classes))


def _guard(msg: Message, ctx: Context, fn: Any) -> Message:
    from .site import Refused

    try:
        site = _site(ctx)
    except PrivtrainError as e:
        return _error(msg, ERROR_REFUSED, "site", e.message)
    try:
        return fn(site)
    except Refused as e:
        return _error(msg, ERROR_REFUSED, site.name, e.message)
    except PrivtrainError as e:
        return _error(msg, ERROR_FAILED, site.name, e.message)
    except Exception as e:  # the message could carry row values: only its type leaves the site
        logger.exception("site %s: %s failed", site.name, msg.metadata.message_type)
        return _error(
            msg, ERROR_FAILED, site.name, f"internal error ({type(e).__name__}); see the site's log"
        )


@app.query("offer")
def offer(msg: Message, ctx: Context) -> Message:
    def run(site: Site) -> Message:
        from .job import Job

        cfg = msg.content.config_records["job"]
        job = Job.from_json(str(cfg["job"]))
        job_id = str(cfg["job_id"])
        st = _state(ctx)
        if st.get("job_id") == job_id:  # a repeated offer: answer with the same reservation
            return _offer_reply(msg, site, st)
        features = _features(str(cfg["features"]))
        if job.aggregation == "he":
            site.he_context(job.federation)  # refuse early
        plan = site.offer(job, job_id, features)
        st = {"job_id": job_id, **plan, "history": [], "rounds": []}
        _save_state(ctx, st)
        return _offer_reply(msg, site, st)

    return _guard(msg, ctx, run)


def _offer_reply(msg: Message, site: Site, st: dict[str, Any]) -> Message:
    rec = ConfigRecord(
        {
            "site": site.name,
            "dataset": st["dataset"],
            "ciphertext_sha256": st["ciphertext_sha256"],
            "epsilon_planned": float(st["epsilon_planned"]),
            "noise_multiplier": float(st["noise_multiplier"]),
        }
    )
    return Message(RecordDict({"site": rec}), reply_to=msg)


@app.train()
def train(msg: Message, ctx: Context) -> Message:
    legacy = "fitins.config" in msg.content.config_records

    def run(site: Site) -> Message:
        from .job import Job
        from .site import Refused

        cfg = msg.content.config_records["fitins.config" if legacy else "job"]
        job = Job.from_json(str(cfg["job"]))
        rnd = int(cfg["round"])
        st = _state(ctx)
        if st.get("job_id") != str(cfg["job_id"]):
            raise Refused("no accepted offer for this job (offer first)")
        if rnd in st["rounds"]:
            raise Refused(f"round {rnd} was already trained")
        features = _features(str(cfg["features"]))
        weights = _incoming_weights(msg, site, job, features, legacy)
        sigma = float(st["noise_multiplier"])
        planned = [*_hist(st)]
        if job.private:
            planned.append((sigma, float(st["sample_rate"]), job.local_steps))
            site.record(st["run_id"], planned, rnd, job)  # write-ahead, before the steps run
        res = site.train_round(job, features, weights, rnd, sigma)
        if [tuple(h) for h in res.history] != planned[len(st["history"]) :]:
            raise Refused(f"round {rnd} ran {res.history}, not the recorded {planned[-1:]}")
        st["history"].extend([list(h) for h in res.history])
        st["rounds"].append(rnd)
        _save_state(ctx, st)
        # The ledger is charged by ``query.finish`` (accounting takes seconds: not inside a
        # round); a site lost before it stays reserved with what it recorded (write-ahead).
        return _train_reply(msg, site, job, res.weights, legacy)

    return _guard(msg, ctx, run)


def _hist(st: dict[str, Any]) -> list[tuple[float, float, int]]:
    return [(float(a), float(b), int(c)) for a, b, c in st["history"]]


def _incoming_weights(
    msg: Message, site: Site, job: Job, features: Any, legacy: bool
) -> dict[str, np.ndarray]:
    template = _template(job, features)
    if legacy:
        from flwr.common import parameters_to_ndarrays
        from flwr.compat.common import recorddict_compat as compat

        params = compat.arrayrecord_to_parameters(
            msg.content.array_records["fitins.parameters"], keep_input=True
        )
        arrays = parameters_to_ndarrays(params)
        return _named(arrays, template)
    if "he.aggregate" in msg.content.array_records:
        return _decrypt_aggregate(msg.content.array_records["he.aggregate"], site, job, template)
    rec = msg.content.array_records["global"]
    return _named([v.numpy() for v in rec.values()], template)


def _named(arrays: list[np.ndarray], template: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    if len(arrays) != len(template) or any(
        a.shape != t.shape for a, t in zip(arrays, template.values(), strict=True)
    ):
        from .site import Refused

        raise Refused("the global weights do not fit the job's model")
    return {
        k: np.asarray(a, dtype=t.dtype) for (k, t), a in zip(template.items(), arrays, strict=True)
    }


def _decrypt_aggregate(
    rec: ArrayRecord, site: Site, job: Job, template: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    from . import he

    ctx = site.he_context(job.federation)
    chunks = he.unframe({k: v.numpy() for k, v in rec.items()}, what="HE aggregate")
    length = sum(int(np.prod(t.shape)) for t in template.values()) + 1
    return he.unpack(he.decrypt(ctx, chunks, length), template)


def _train_reply(
    msg: Message, site: Site, job: Job, weights: dict[str, np.ndarray], legacy: bool
) -> Message:
    w = site.cfg.weight
    if legacy:
        from flwr.common import Code, FitRes, Status, ndarrays_to_parameters
        from flwr.compat.common import recorddict_compat as compat

        fitres = FitRes(
            status=Status(code=Code.OK, message="ok"),
            parameters=ndarrays_to_parameters(list(weights.values())),
            num_examples=max(1, int(round(w))),
            metrics={},
        )
        return Message(compat.fitres_to_recorddict(fitres, keep_input=False), reply_to=msg)
    meta = ConfigRecord({"site": site.name})
    if job.aggregation == "he":
        from . import he

        chunks = he.encrypt(site.he_context(job.federation), he.pack(weights, w))
        arr = ArrayRecord({k: Array(v) for k, v in he.frame(chunks).items()})
        return Message(RecordDict({"he.update": arr, "site": meta}), reply_to=msg)
    from flwr.app import MetricRecord

    arr = ArrayRecord({k: Array(np.ascontiguousarray(v)) for k, v in weights.items()})
    return Message(
        RecordDict({"update": arr, "weight": MetricRecord({"weight": float(w)}), "site": meta}),
        reply_to=msg,
    )


@app.query("finish")
def finish(msg: Message, ctx: Context) -> Message:
    def run(site: Site) -> Message:
        from .job import Job
        from .site import Refused

        cfg = msg.content.config_records["job"]
        job = Job.from_json(str(cfg["job"]))
        st = _state(ctx)
        if st.get("job_id") != str(cfg["job_id"]):
            raise Refused("no accepted offer for this job")
        if not st.get("finished"):
            st["epsilon"] = site.finish(st["run_id"], _hist(st), job)
            st["finished"] = True
            _save_state(ctx, st)
        out = RecordDict(
            {
                "site": ConfigRecord(
                    {
                        "site": site.name,
                        "epsilon": float(st.get("epsilon") or 0.0),
                        "rounds": json.dumps(st["rounds"]),
                        "history": json.dumps(st["history"]),
                        "run_id": st["run_id"],
                    }
                )
            }
        )
        if "he.aggregate" in msg.content.array_records:
            features = _features(str(cfg["features"]))
            final = _decrypt_aggregate(
                msg.content.array_records["he.aggregate"], site, job, _template(job, features)
            )
            out["final"] = ArrayRecord({k: Array(v) for k, v in final.items()})
        return Message(out, reply_to=msg)

    return _guard(msg, ctx, run)
