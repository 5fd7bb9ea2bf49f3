"""Budget report: per dataset, budget vs spent over time, runs, ε-vs-steps, accuracy vs ε."""

from __future__ import annotations

import base64
import io
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2

from privtrain._io import atomic_write_text
from privtrain.ledger import Ledger, compose

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("privtrain.report", "templates"), autoescape=True
)


def _eps_filter(v: Any) -> str:
    """ε for the report: ``∞ (non-private)`` for an infinite spend (``"inf"`` in JSON form)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return "∞ (non-private)" if math.isinf(f) else f"{f:.4f}"


_ENV.filters["eps"] = _eps_filter


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _eps_curve(
    history: list[list[float]], delta: float, accountant: str, points: int = 6
) -> tuple[list[int], list[float]]:
    # Each point is one full composition with the ledger's accountant (PRV: ~0.3-1 s each):
    # few points keep the report fast; the last point is the run's own ε.
    total = sum(int(h[2]) for h in history)
    if total == 0:
        return [], []
    xs = sorted({max(1, round(total * i / points)) for i in range(1, points + 1)})
    ys = []
    for x in xs:
        left, part = x, []
        for s, q, n in history:
            take = min(int(n), left)
            if take:
                part.append((float(s), float(q), take))
            left -= take
        ys.append(compose(part, delta, accountant))
    return xs, ys


def budget_report_data(ws: Any, ledger: Ledger) -> list[dict[str, Any]]:
    from privtrain import models as models_mod

    out = []
    all_models = {m.id: m for m in models_mod.list_models(ws)}
    for st in ledger.budgets():
        runs = ledger.history(st.dataset)
        committed: list[tuple[float, float, int]] = []
        timeline = []
        for r in runs:
            if r["status"] != "committed":
                continue
            committed.extend((float(a), float(b), int(c)) for a, b, c in r["history"])
            timeline.append((r["updated_at"], compose(committed, st.delta, ledger.accountant)))
            r["model"] = all_models[r["model_id"]].ref if r["model_id"] in all_models else None
        mods = []
        for m in all_models.values():
            if any(d.get("name") == st.dataset for d in m.datasets):
                try:
                    pred = models_mod.verified_card(ws, m.id)
                except Exception:  # noqa: BLE001 - shown as unverified, never trusted
                    mods.append(
                        {
                            "ref": m.ref,
                            "epsilon_label": "UNVERIFIED",
                            "accuracy": None,
                            "auc": None,
                            "epsilon": None,
                        }
                    )
                    continue
                priv, q = pred.get("privacy", {}), pred.get("quality", {})
                eps = None if priv.get("non_private") else priv.get("epsilon")
                mods.append(
                    {
                        "ref": m.ref,
                        "epsilon": eps,
                        "epsilon_label": "∞ (non-private)" if eps is None else f"{eps:.3f}",
                        "accuracy": q.get("accuracy"),
                        "auc": q.get("auc"),
                    }
                )
        out.append(
            {
                "name": st.dataset,
                "status": st.to_dict(),
                "runs": runs,
                "timeline": timeline,
                "models": mods,
            }
        )
    return out


def budget_report_html(ws: Any, ledger: Ledger, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = budget_report_data(ws, ledger)
    for d in data:
        st = d["status"]
        d["plot_spend"] = d["plot_steps"] = d["plot_acc"] = None
        if d["timeline"]:
            fig, ax = plt.subplots(figsize=(5, 3.2))
            ts = [datetime.fromisoformat(t) for t, _ in d["timeline"]]
            finite = [e for _, e in d["timeline"] if math.isfinite(e)]
            top = max([st["epsilon_total"], *finite]) * 1.1
            ys = [e if math.isfinite(e) else top for _, e in d["timeline"]]
            ax.step(ts, ys, where="post", marker="o", label="spent ε")
            for t, (_, e) in zip(ts, d["timeline"], strict=True):
                if math.isinf(e):
                    ax.annotate("ε = ∞ (non-private run)", (t, top), fontsize=8, color="r")
                    break
            ax.axhline(st["epsilon_total"], color="r", linestyle="--", label="budget ε")
            ax.set_ylim(bottom=0, top=top * 1.15)
            ax.set_title("budget vs spent over time")
            ax.set_ylabel("ε")
            ax.legend()
            fig.autofmt_xdate()
            d["plot_spend"] = _png(fig)
        curves = [
            r
            for r in d["runs"]
            if r["status"] == "committed" and r["history"] and not r.get("non_private")
        ]
        if curves:
            fig, ax = plt.subplots(figsize=(5, 3.2))
            for r in curves:
                xs, ys = _eps_curve(r["history"], st["delta"], ledger.accountant)
                ax.plot(xs, ys, marker=".", label=r["run_id"][:8])
            ax.set_title("ε vs steps, per run")
            ax.set_xlabel("steps")
            ax.set_ylabel("ε")
            ax.legend(fontsize=7)
            d["plot_steps"] = _png(fig)
        pts = [m for m in d["models"] if m["epsilon"] is not None and m["accuracy"] is not None]
        if pts:
            fig, ax = plt.subplots(figsize=(5, 3.2))
            ax.scatter([m["epsilon"] for m in pts], [m["accuracy"] for m in pts])
            for m in pts:
                ax.annotate(m["ref"], (m["epsilon"], m["accuracy"]), fontsize=7)
            for m in d["models"]:
                if m["epsilon_label"] == "∞ (non-private)" and m["accuracy"] is not None:
                    ax.axhline(m["accuracy"], color="gray", linestyle=":", label="non-private")
            ax.set_title("held-out accuracy vs ε")
            ax.set_xlabel("ε")
            ax.set_ylabel("accuracy")
            d["plot_acc"] = _png(fig)
    html = _ENV.get_template("budget.html.j2").render(
        datasets=data,
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        catalog=ws.catalog.safe_url,
        accountant=ledger.accountant,
    )
    atomic_write_text(Path(path), html)
    return Path(path)
