"""Detection quality on a labeled free-text set: privtrain vs presidio's plain AnalyzerEngine.

    .venv/bin/python benchmarks/deid_eval.py [--n 1200] [--seed 7] [--no-ablation]
    .venv/bin/python benchmarks/deid_eval.py --gold FILE.jsonl [--no-baseline]

``--gold`` scores a frozen JSON Lines gold file instead of the generated records: one object
per line, ``{"text": "...", "spans": [[start, end, "LABEL"], ...]}`` (a span may also be
``{"start": .., "end": .., "label": ..}``; ``entity``/``type`` are read as the label).
Spans labelled MEDICAL (or MEDICAL_TERM, DRUG, DISEASE, EPONYM, CLINICAL, KEEP, NON_PII) - or
listed under a ``keep`` key - are words that must survive; every other label is an
identifier. Gold mode reports, per label and overall, beside presidio's defaults:
identifier spans removed (covered >= 50% by a prediction of any type), recall by type where
the label has a known type, words outside identifier spans kept (no prediction touches
them) and medical terms kept. Beside the all-label removal figure (the one the goals use),
a "Safe Harbor scope" line gives the removal rate over the spans 45 CFR 164.514(b)(2)
requires removed: every gold span except AGE spans that state an age of 89 or less (a gold
set may label every age; Safe Harbor, and privtrain's default profile, keep ages under 90).

The records come from ``benchmarks/_deid_goldgen.py`` (Faker, several locales, gold character
spans; it shares no code with ``privtrain.deid``). ``benchmarks/deid_hard/{tune,heldout}.jsonl``
(``benchmarks/_deid_hardgen.py``) are a weak-class hard set split by template: tune on the
first, report the second. Both systems use the same spaCy model.
presidio runs with its default recognizers and NER configuration and no score threshold (its
default); privtrain runs as ingest does (the shipped policy's score threshold).

Matching rule
- recall: a gold span counts as found when ONE predicted span of a compatible type covers
  at least 50% of the gold span's characters;
- precision: a predicted span counts as correct when it overlaps a gold span of a compatible
  type by at least 50% of the predicted span's own characters. Predictions of types outside
  the evaluated set (URL, NRP, US_DRIVER_LICENSE, ...) are left out of precision and counted
  on the "other types" line;
- compatible types: PERSON-PERSON, EMAIL-EMAIL_ADDRESS, PHONE-PHONE_NUMBER, US_SSN-US_SSN,
  UK_NINO-UK_NINO, DATE-DATE_TIME, CREDIT_CARD-CREDIT_CARD, IP-IP_ADDRESS, and both ADDRESS
  and LOCATION - STREET_ADDRESS or LOCATION (one group, so their precision is shared);
- "any-type recall": a gold span covered >= 50% by a prediction of any type (what matters for
  de-identification: the value is removed whatever it was called).
F2 weighs recall twice as much as precision: F2 = 5PR / (4P + R).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _deid_goldgen import Record, generate  # noqa: E402

PRED_TO_GROUP = {
    "PERSON": "PERSON",
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "US_SSN": "US_SSN",
    "UK_NINO": "UK_NINO",
    "DATE_TIME": "DATE",
    "CREDIT_CARD": "CREDIT_CARD",
    "IP_ADDRESS": "IP",
    "STREET_ADDRESS": "ADDR_LOC",
    "LOCATION": "ADDR_LOC",
}
GOLD_TO_GROUP = {
    "PERSON": "PERSON",
    "EMAIL": "EMAIL",
    "PHONE": "PHONE",
    "US_SSN": "US_SSN",
    "UK_NINO": "UK_NINO",
    "DATE": "DATE",
    "CREDIT_CARD": "CREDIT_CARD",
    "IP": "IP",
    "ADDRESS": "ADDR_LOC",
    "LOCATION": "ADDR_LOC",
}
LABELS = ["PERSON", "EMAIL", "PHONE", "US_SSN", "UK_NINO", "DATE", "ADDRESS", "LOCATION",
          "CREDIT_CARD", "IP"]  # fmt: skip
GOALS = {"EMAIL": 0.95, "PHONE": 0.95, "US_SSN": 0.95, "CREDIT_CARD": 0.95, "IP": 0.95,
         "PERSON": 0.90, "ADDRESS": 0.85}  # fmt: skip

Pred = tuple[int, int, str]  # start, end, presidio entity type


def _overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    return max(0, min(a1, b1) - max(a0, b0))


def score(records: list[Record], preds: list[list[Pred]]) -> dict:
    found: Counter[str] = Counter()
    found_any: Counter[str] = Counter()
    gold_n: Counter[str] = Counter()
    tp: Counter[str] = Counter()
    pred_n: Counter[str] = Counter()
    other = 0
    for rec, ps in zip(records, preds, strict=True):
        for g0, g1, lab in rec.spans:
            gold_n[lab] += 1
            glen = g1 - g0
            grp = GOLD_TO_GROUP[lab]
            if any(
                PRED_TO_GROUP.get(t) == grp and _overlap(g0, g1, p0, p1) * 2 >= glen
                for p0, p1, t in ps
            ):
                found[lab] += 1
            if any(_overlap(g0, g1, p0, p1) * 2 >= glen for p0, p1, _t in ps):
                found_any[lab] += 1
        for p0, p1, t in ps:
            grp = PRED_TO_GROUP.get(t)
            if grp is None:
                other += 1
                continue
            pred_n[grp] += 1
            plen = max(1, p1 - p0)
            if any(
                GOLD_TO_GROUP[lab] == grp and _overlap(g0, g1, p0, p1) * 2 >= plen
                for g0, g1, lab in rec.spans
            ):
                tp[grp] += 1
    rows = {}
    for lab in LABELS:
        grp = GOLD_TO_GROUP[lab]
        r = found[lab] / gold_n[lab] if gold_n[lab] else float("nan")
        p = tp[grp] / pred_n[grp] if pred_n[grp] else float("nan")
        rows[lab] = {"n": gold_n[lab], "p": p, "r": r, "f2": f2(p, r), "any": found_any[lab]}
    total_gold = sum(gold_n.values())
    r_all = sum(found.values()) / total_gold
    p_all = sum(tp.values()) / max(1, sum(pred_n.values()))
    rows["OVERALL"] = {
        "n": total_gold,
        "p": p_all,
        "r": r_all,
        "f2": f2(p_all, r_all),
        "any": sum(found_any.values()),
    }
    return {"rows": rows, "other": other}


def f2(p: float, r: float) -> float:
    if p != p or r != r or (4 * p + r) == 0:  # nan
        return float("nan")
    return 5 * p * r / (4 * p + r)


def _fmt(x: float) -> str:
    return "  -  " if x != x else f"{x:.3f}"


# ------------------------------------------------------------------------------ gold files

KEEP_LABELS = {"MEDICAL", "MEDICAL_TERM", "DRUG", "DISEASE", "EPONYM", "CLINICAL", "KEEP",
               "NON_PII", "CLINICAL_VALUE", "MEDICATION"}  # fmt: skip
#: gold label synonyms -> the group used for typed recall (others: removal only)
GOLD_SYNONYMS = {
    "NAME": "PERSON", "PATIENT": "PERSON", "DOCTOR": "PERSON", "PERSON_NAME": "PERSON",
    "EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "TELEPHONE": "PHONE", "FAX": "PHONE",
    "FAX_NUMBER": "PHONE", "SSN": "US_SSN", "DATE_TIME": "DATE", "DOB": "DATE",
    "STREET_ADDRESS": "ADDR_LOC", "ADDRESS": "ADDR_LOC", "LOCATION": "ADDR_LOC",
    "CITY": "ADDR_LOC", "ZIP": "ADDR_LOC", "ZIP_CODE": "ADDR_LOC", "POSTCODE": "ADDR_LOC",
    "COUNTY": "ADDR_LOC", "IP_ADDRESS": "IP", "CREDIT_CARD": "CREDIT_CARD",
}  # fmt: skip
PRED_EXTRA = {"ZIP": "ADDR_LOC", "FAX_NUMBER": "PHONE"}


def gold_group(label: str) -> str:
    return GOLD_TO_GROUP.get(label) or GOLD_SYNONYMS.get(label) or label


def pred_group(entity: str) -> str | None:
    return PRED_TO_GROUP.get(entity) or PRED_EXTRA.get(entity) or entity


def _span(x) -> tuple[int, int, str]:
    if isinstance(x, dict):
        label = x.get("label") or x.get("entity") or x.get("type")
        return int(x["start"]), int(x["end"]), str(label).upper()
    s, e, label = x[:3]
    return int(s), int(e), str(label).upper()


def load_gold(path: Path) -> tuple[list[Record], list[list[tuple[int, int, str]]]]:
    """(identifier records, must-keep spans per record) from a gold JSON Lines file."""
    import json

    records: list[Record] = []
    keeps: list[list[tuple[int, int, str]]] = []
    with Path(path).open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                text = obj["text"]
                spans = [_span(x) for x in obj.get("spans", [])]
                extra = [_span(x) if not isinstance(x, dict) or "label" in x or "entity" in x
                         or "type" in x else (int(x["start"]), int(x["end"]), "KEEP")
                         for x in obj.get("keep", [])]  # fmt: skip
            except (ValueError, KeyError, TypeError, IndexError) as e:
                raise SystemExit(f"error: {path}: line {lineno}: not a gold record ({e})") from e
            ids = [s for s in spans if s[2] not in KEEP_LABELS]
            keep = [s for s in spans if s[2] in KEEP_LABELS] + extra
            for s0, e0, _lab in ids + keep:
                if not 0 <= s0 < e0 <= len(text):
                    raise SystemExit(f"error: {path}: line {lineno}: span {s0}..{e0} outside text")
            records.append(Record(text, ids))
            keeps.append(keep)
    if not records:
        raise SystemExit(f"error: {path}: no records")
    return records, keeps


_WORDS = __import__("re").compile(r"\w+")

_NUM_WORDS = {
    w: i for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen".split())
} | {w: 10 * i for i, w in enumerate(
    "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if i >= 2}  # fmt: skip


def span_age(s: str) -> int | None:
    """The age an AGE gold span states ("94", "ninety-four", "one hundred and two"), or None."""
    import re

    digits = re.findall(r"\d+", s)
    if digits:
        return int(digits[0])
    total, seen = 0, False
    for w in re.findall(r"[a-z]+", s.lower()):
        if w == "hundred":
            total, seen = max(total, 1) * 100, True
        elif w in _NUM_WORDS:
            total, seen = total + _NUM_WORDS[w], True
    return total if seen else None


def safe_harbor_scope(text: str, start: int, end: int, label: str) -> bool:
    """Whether a gold identifier span is one 45 CFR 164.514(b)(2) requires removed: every
    span except an AGE span stating an age of 89 or less (Safe Harbor keeps those)."""
    if label != "AGE":
        return True
    age = span_age(text[start:end])
    return age is None or age > 89


def gold_score(records: list[Record], keeps: list, preds: list[list[Pred]]) -> dict:
    """Per gold label: removed (any type), typed recall, and overall removal / keep rates."""
    labels = sorted({lab for r in records for _s, _e, lab in r.spans})
    n: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    typed: Counter[str] = Counter()
    tp: Counter[str] = Counter()
    pn: Counter[str] = Counter()
    words = words_kept = med = med_kept = 0
    sh_n = sh_removed = 0
    for rec, keep, ps in zip(records, keeps, preds, strict=True):
        for g0, g1, lab in rec.spans:
            n[lab] += 1
            glen = g1 - g0
            gone = any(_overlap(g0, g1, p0, p1) * 2 >= glen for p0, p1, _t in ps)
            if gone:
                removed[lab] += 1
            if safe_harbor_scope(rec.text, g0, g1, lab):
                sh_n += 1
                sh_removed += gone
            grp = gold_group(lab)
            if any(pred_group(t) == grp and _overlap(g0, g1, p0, p1) * 2 >= glen
                   for p0, p1, t in ps):  # fmt: skip
                typed[lab] += 1
        for p0, p1, t in ps:
            grp = pred_group(t)
            pn[grp] += 1
            if any(gold_group(lab) == grp and _overlap(g0, g1, p0, p1) * 2 >= max(1, p1 - p0)
                   for g0, g1, lab in rec.spans):  # fmt: skip
                tp[grp] += 1
        for m in _WORDS.finditer(rec.text):
            w0, w1 = m.span()
            if any(_overlap(w0, w1, g0, g1) for g0, g1, _l in rec.spans):
                continue
            words += 1
            if not any(_overlap(w0, w1, p0, p1) for p0, p1, _t in ps):
                words_kept += 1
        for k0, k1, _l in keep:
            med += 1
            if not any(_overlap(k0, k1, p0, p1) for p0, p1, _t in ps):
                med_kept += 1
    rows = {}
    for lab in labels:
        grp = gold_group(lab)
        rows[lab] = {
            "n": n[lab],
            "removed": removed[lab] / n[lab],
            "r": typed[lab] / n[lab],
            "p": tp[grp] / pn[grp] if pn[grp] else float("nan"),
        }
    total = sum(n.values())
    return {
        "rows": rows,
        "removed": sum(removed.values()) / max(1, total),
        "n": total,
        "sh_removed": sh_removed / max(1, sh_n),
        "sh_n": sh_n,
        "words": words,
        "words_kept": words_kept / max(1, words),
        "medical": med,
        "medical_kept": med_kept / med if med else float("nan"),
    }


def gold_main(path: Path, baseline: bool) -> int:
    from privtrain.deid import resolve_model_name

    model = resolve_model_name()
    records, keeps = load_gold(path)
    texts = [r.text for r in records]
    print(
        f"{path}: {len(records)} records, {sum(len(r.spans) for r in records)} identifier spans, "
        f"{sum(len(k) for k in keeps)} must-keep spans; spaCy model {model}"
    )
    t0 = time.perf_counter()
    ours = gold_score(records, keeps, privtrain_preds(texts))
    t_ours = time.perf_counter() - t0
    base = None
    if baseline:
        t0 = time.perf_counter()
        base = gold_score(records, keeps, presidio_preds(texts, model))
        t_base = time.perf_counter() - t0
    head = f"{'label':<24}{'gold':>6} | {'privtrain removed':>17}{'R(type)':>8}{'P':>7}"
    if base:
        head += f" | {'presidio removed':>16}{'R(type)':>8}{'P':>7}"
    print()
    print(head)
    print("-" * len(head))
    for lab, o in ours["rows"].items():
        line = (f"{lab:<24}{o['n']:>6} | {_fmt(o['removed']):>17}{_fmt(o['r']):>8}"
                f"{_fmt(o['p']):>7}")  # fmt: skip
        if base:
            b = base["rows"][lab]
            line += f" | {_fmt(b['removed']):>16}{_fmt(b['r']):>8}{_fmt(b['p']):>7}"
        print(line)
    print("-" * len(head))
    for key, title in (("removed", f"identifier spans removed ({ours['n']})"),
                       ("sh_removed", f"  Safe Harbor scope ({ours['sh_n']})"),
                       ("words_kept", f"non-PII words kept ({ours['words']})"),
                       ("medical_kept", f"medical terms kept ({ours['medical']})")):  # fmt: skip
        line = f"{title:<30} | {_fmt(ours[key]):>17}"
        if base:
            line += f"{'':>15} | {_fmt(base[key]):>16}"
        print(line)
    print(f"time: privtrain {t_ours:.1f} s" + (f", presidio {t_base:.1f} s" if base else ""))
    goals = [("removed", 0.97), ("words_kept", 0.90), ("medical_kept", 0.95)]
    ok = True
    print("\ngoals:")
    for key, goal in goals:
        v = ours[key]
        met = v == v and v >= goal
        ok &= met or v != v
        verdict = "ok" if met else "MISSED" if v == v else "-"
        print(f"  {key:<14} {_fmt(v)} >= {goal:.2f}  {verdict}")
    return 0 if ok else 1


def privtrain_preds(texts: list[str], extras=None, threshold: float | None = None):
    from privtrain.deid import DeidEngine, get_engine, load_policy

    policy = load_policy()
    thr = policy.detection.score_threshold if threshold is None else threshold
    if extras is None:
        engine = get_engine(phone_regions=policy.detection.phone_regions)
    else:
        engine = DeidEngine(phone_regions=policy.detection.phone_regions, extras=extras)
    spans = engine.analyze(texts, score_threshold=thr)
    return [[(s.start, s.end, s.entity) for s in ss] for ss in spans]


def presidio_preds(texts: list[str], model_name: str):
    import presidio_analyzer
    import yaml
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    conf_path = Path(presidio_analyzer.__file__).parent / "conf" / "default.yaml"
    conf = yaml.safe_load(conf_path.read_text())
    conf["models"][0]["model_name"] = model_name
    analyzer = AnalyzerEngine(nlp_engine=NlpEngineProvider(nlp_configuration=conf).create_engine())
    return [[(r.start, r.end, r.entity_type) for r in analyzer.analyze(t, "en")] for t in texts]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1200)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-ablation", action="store_true")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--gold", type=Path, help="score this gold JSON Lines file instead")
    args = ap.parse_args(argv)
    if args.gold is not None:
        return gold_main(args.gold, baseline=not args.no_baseline)

    from privtrain.deid import EXTRAS, resolve_model_name

    model = resolve_model_name()
    records = generate(args.n, args.seed)
    texts = [r.text for r in records]
    print(
        f"{len(records)} records, {sum(len(r.spans) for r in records)} gold spans, "
        f"spaCy model {model}"
    )

    t0 = time.perf_counter()
    ours = score(records, privtrain_preds(texts))
    t_ours = time.perf_counter() - t0
    base = None
    if not args.no_baseline:
        t0 = time.perf_counter()
        base = score(records, presidio_preds(texts, model))
        t_base = time.perf_counter() - t0

    print()
    head = f"{'entity':<12}{'gold':>6} | {'privtrain P':>11}{'R':>7}{'F2':>7}"
    if base:
        head += f" | {'presidio P':>10}{'R':>7}{'F2':>7}"
    print(head)
    print("-" * len(head))
    for lab in [*LABELS, "OVERALL"]:
        o = ours["rows"][lab]
        line = f"{lab:<12}{o['n']:>6} | {_fmt(o['p']):>11}{_fmt(o['r']):>7}{_fmt(o['f2']):>7}"
        if base:
            b = base["rows"][lab]
            line += f" | {_fmt(b['p']):>10}{_fmt(b['r']):>7}{_fmt(b['f2']):>7}"
        print(line)
    any_o = ours["rows"]["OVERALL"]["any"] / ours["rows"]["OVERALL"]["n"]
    line = f"{'any-type recall':<18}| {any_o:>11.3f}"
    if base:
        any_b = base["rows"]["OVERALL"]["any"] / base["rows"]["OVERALL"]["n"]
        line += f"{'':>14} | {any_b:>10.3f}"
    print(line)
    line = f"{'other types':<18}| {ours['other']:>11d}"
    if base:
        line += f"{'':>14} | {base['other']:>10d}"
    print(line)
    print("(ADDRESS and LOCATION share one precision: STREET_ADDRESS|LOCATION predictions)")
    print(f"time: privtrain {t_ours:.1f} s" + (f", presidio {t_base:.1f} s" if base else ""))

    print("\ngoals (recall):")
    ok = True
    for lab, goal in GOALS.items():
        r = ours["rows"][lab]["r"]
        ok &= r >= goal
        print(f"  {lab:<12} {r:.3f} >= {goal:.2f}  {'ok' if r >= goal else 'MISSED'}")
    o = ours["rows"]["OVERALL"]
    good = o["r"] >= 0.90 and o["p"] >= 0.80
    ok &= good
    print(
        f"  overall      R {o['r']:.3f} >= 0.90 at P {o['p']:.3f} >= 0.80  "
        f"{'ok' if good else 'MISSED'}"
    )

    if not args.no_ablation:
        print("\nablation: privtrain without one addition (recall; overall P/R)")
        cols = ["PERSON", "PHONE", "US_SSN", "UK_NINO", "DATE", "ADDRESS", "CREDIT_CARD"]
        print(f"{'without':<16}" + "".join(f"{c:>12}" for c in cols) + f"{'all P':>8}{'all R':>8}")
        variants = (
            [("(nothing)", EXTRAS)]
            + [(x, tuple(e for e in EXTRAS if e != x)) for x in EXTRAS]
            + [("(all)", ())]
        )
        for name, extras in variants:
            res = ours if name == "(nothing)" else score(records, privtrain_preds(texts, extras))
            rows = res["rows"]
            print(
                f"{name:<16}"
                + "".join(f"{rows[c]['r']:>12.3f}" for c in cols)
                + f"{rows['OVERALL']['p']:>8.3f}{rows['OVERALL']['r']:>8.3f}"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
