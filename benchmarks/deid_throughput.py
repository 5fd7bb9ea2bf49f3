"""De-identification throughput: privtrain vs presidio per cell, same rows, same machine.

    .venv/bin/python benchmarks/deid_throughput.py [--rows 10000] [--baseline-rows 300]
        [--n-process 1] [--nlp-batch-size 128] [--chunk-rows 2048]

Generates the synthetic patients table (examples/data/make_patients.py, seed 0) as CSV,
plans it (timed separately), then times:

- privtrain: ``deidentify_table`` over all rows (structured columns transformed directly
  from the plan, free text through ``nlp.pipe`` in batches), Parquet to a byte-counting sink;
- presidio per cell: for the first ``--baseline-rows`` rows, every cell (as text) through
  ``AnalyzerEngine.analyze`` + ``AnonymizerEngine.anonymize`` with presidio's default
  configuration on the same spaCy model - the naive way to scrub a table.

Both are reported as rows/s and as a ratio (one run, side by side).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _load_make_patients():
    spec = importlib.util.spec_from_file_location(
        "make_patients", ROOT / "examples" / "data" / "make_patients.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


class _CountingSink:
    def __init__(self) -> None:
        self.n = 0

    def write(self, b: bytes) -> int:
        self.n += len(b)
        return len(b)

    def flush(self) -> None:
        pass


def presidio_per_cell(rows: list[list[str]], model_name: str) -> float:
    """Seconds to analyze + anonymize every cell of ``rows`` with plain presidio."""
    import presidio_analyzer
    import yaml
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    conf = yaml.safe_load(
        (Path(presidio_analyzer.__file__).parent / "conf" / "default.yaml").read_text()
    )
    conf["models"][0]["model_name"] = model_name
    analyzer = AnalyzerEngine(nlp_engine=NlpEngineProvider(nlp_configuration=conf).create_engine())
    anonymizer = AnonymizerEngine()
    for cell in rows[0]:  # warm-up: lazy recognizer loading
        anonymizer.anonymize(cell, analyzer.analyze(cell, "en"))
    t0 = time.perf_counter()
    for row in rows:
        for cell in row:
            anonymizer.anonymize(text=cell, analyzer_results=analyzer.analyze(cell, "en"))
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--baseline-rows", type=int, default=300)
    ap.add_argument("--n-process", type=int, default=1)
    ap.add_argument("--nlp-batch-size", type=int, default=128)
    ap.add_argument("--chunk-rows", type=int, default=2048)
    args = ap.parse_args(argv)

    from privtrain.deid import deidentify_table, get_engine, load_policy, plan_table

    mp = _load_make_patients()
    df, _ids = mp.generate(args.rows, seed=0)
    policy = load_policy()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "patients.csv"
        df.to_csv(src, index=False)
        t0 = time.perf_counter()
        engine = get_engine(phone_regions=policy.detection.phone_regions)
        t_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        plan = plan_table(src, engine=engine, policy=policy)
        t_plan = time.perf_counter() - t0
        sink = _CountingSink()
        t0 = time.perf_counter()
        report = deidentify_table(
            src,
            sink,
            plan=plan,
            policy=policy,
            pseudonym_key=(1, b"benchmark-key-32-bytes-long....."),
            engine=engine,
            chunk_rows=args.chunk_rows,
            nlp_batch_size=args.nlp_batch_size,
            n_process=args.n_process,
        )
        t_ours = time.perf_counter() - t0
    base_rows = df.head(args.baseline_rows).astype(str).values.tolist()
    t_base = presidio_per_cell(base_rows, engine.model_name)

    ours = report.rows / t_ours
    base = len(base_rows) / t_base
    cells = len(base_rows) * len(base_rows[0])
    print(
        f"table: {report.rows} rows x {report.columns_in} columns (patients, seed 0); "
        f"spaCy model {engine.model_name}; n_process={args.n_process}"
    )
    print(f"engine load {t_load:.1f} s, plan ({plan.sample_rows} sampled rows) {t_plan:.1f} s\n")
    print(f"{'system':<44}{'rows':>8}{'seconds':>10}{'rows/s':>10}")
    print(
        f"{'privtrain deidentify_table (all rows)':<44}{report.rows:>8}{t_ours:>10.1f}{ours:>10.1f}"
    )
    print(
        f"{'presidio analyze+anonymize per cell':<44}{len(base_rows):>8}{t_base:>10.1f}"
        f"{base:>10.1f}"
    )
    print(
        f"\nratio privtrain / presidio per cell: {ours / base:.1f}x "
        f"(presidio: {cells} cells, {cells / t_base:.0f} cells/s)"
    )
    print(
        f"free-text spans replaced: {sum(report.entity_counts.values())} values/spans; "
        f"{report.output_bytes:,} bytes of Parquet"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
