"""benchmarks/deid_eval.py --gold: the gold-file loader and the removal / keep metrics."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import deid_eval  # noqa: E402


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_gold_file_scores_removal_words_and_medical_terms(tmp_path):
    text = "Ana Lima has Raynaud's phenomenon, call 555 0101 today."
    gold = _write(
        tmp_path / "g.jsonl",
        [
            {"text": text, "spans": [[0, 8, "PERSON"], [40, 48, "PHONE"],
                                     {"start": 13, "end": 34, "label": "MEDICAL"}]},
            {"text": "Nothing to see here.", "spans": []},
        ],
    )  # fmt: skip
    records, keeps = deid_eval.load_gold(gold)
    assert [len(r.spans) for r in records] == [2, 0] and keeps[0] == [(13, 34, "MEDICAL")]
    # a system that finds the name (typed), calls the phone a date, and hits "Raynaud"
    preds = [[(0, 8, "PERSON"), (40, 48, "DATE_TIME"), (13, 20, "PERSON")], []]
    s = deid_eval.gold_score(records, keeps, preds)
    assert s["removed"] == 1.0  # both identifiers covered, whatever their type
    assert s["rows"]["PERSON"]["r"] == 1.0 and s["rows"]["PHONE"]["r"] == 0.0
    assert s["medical_kept"] == 0.0
    # words outside identifiers: has Raynaud s phenomenon call today + 4 = 10; one hit
    assert s["words"] == 10 and s["words_kept"] == pytest.approx(9 / 10)


def test_bad_gold_file_is_one_line_error(tmp_path):
    bad = _write(tmp_path / "bad.jsonl", [{"text": "abc", "spans": [[0, 9, "PERSON"]]}])
    with pytest.raises(SystemExit, match=r"bad\.jsonl: line 1: span 0\.\.9 outside text"):
        deid_eval.load_gold(bad)
    (tmp_path / "nojson.jsonl").write_text("{not json\n")
    with pytest.raises(SystemExit, match="line 1: not a gold record"):
        deid_eval.load_gold(tmp_path / "nojson.jsonl")


def test_safe_harbor_scope_leaves_out_ages_under_90_only(tmp_path):
    text = "A 45-year-old and a ninety-two-year-old; aged 103; Ana Lima."
    gold = _write(
        tmp_path / "ages.jsonl",
        [{"text": text, "spans": [[2, 4, "AGE"], [20, 30, "AGE"], [46, 49, "AGE"],
                                  [51, 59, "PERSON"]]}],
    )  # fmt: skip
    records, keeps = deid_eval.load_gold(gold)
    assert [deid_eval.span_age(text[s:e]) for s, e, _ in records[0].spans[:3]] == [45, 92, 103]
    # a system that keeps the age under 90 (as Safe Harbor allows) and removes the rest
    preds = [[(20, 30, "AGE"), (46, 49, "AGE"), (51, 59, "PERSON")]]
    s = deid_eval.gold_score(records, keeps, preds)
    assert s["removed"] == pytest.approx(3 / 4)  # the all-label figure is unchanged
    assert s["sh_n"] == 3 and s["sh_removed"] == 1.0


def test_broad_tuning_set_spans_are_consistent():
    import _deid_goldgen as gg

    cases = gg.broad_cases(n=300, seed=5)
    labels = set()
    for rec, keep in cases:
        for s, e, lab in rec.spans + keep:
            assert 0 <= s < e <= len(rec.text) and rec.text[s:e].strip() == rec.text[s:e]
            labels.add(lab)
    assert {"ZIP", "MRN", "VEHICLE_ID", "NATIONAL_ID", "CERTIFICATE_NUMBER", "AGE", "MEDICAL",
            "ADDRESS", "LOCATION", "PERSON", "DATE", "DEVICE_ID"} <= labels  # fmt: skip
