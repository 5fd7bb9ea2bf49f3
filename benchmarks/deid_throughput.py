"""De-identification throughput: privtrain vs presidio per cell, same rows, same machine.

    .venv/bin/python benchmarks/deid_throughput.py [--rows 10000] [--baseline-rows 300]
        [--workers 1] [--compare-workers 2] [--nlp-batch-size 128] [--chunk-rows 2048]
        [--policy safe-harbor]
    .venv/bin/python benchmarks/deid_throughput.py --memory-gb 1 [--workers 2]

Generates the synthetic patients table (examples/data/make_patients.py, seed 0) as CSV,
plans it (timed separately), then times:

- privtrain: ``deidentify_table`` over all rows (structured columns transformed directly
  from the plan, free text through ``nlp.pipe`` in batches), Parquet to a byte-counting sink;
- presidio per cell: for the first ``--baseline-rows`` rows, every cell (as text) through
  ``AnalyzerEngine.analyze`` + ``AnonymizerEngine.anonymize`` with presidio's default
  configuration on the same spaCy model - the naive way to scrub a table.

Both are reported as rows/s and as a ratio (one run, side by side). ``--compare-workers N``
times the same table again with N worker processes (``privtrain ingest --workers N``) and
prints rows/s with ``--workers`` vs N. privtrain runs with
everything ingest does: the Safe Harbor profile, every value of every safe/quasi column
checked for identifier shapes, the HIPAA recognizers and the medical allow-list.

``--memory-gb G`` instead builds a G GB CSV (the patients table's structured columns,
repeated; plus the notes of the first ``--rows`` rows when ``--with-notes``) and reports the
process's resident memory (psutil, sampled every 0.2 s; worker processes included) at each
tenth of the file: flat means streaming.
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


def _rss_tree() -> int:
    import psutil

    me = psutil.Process()
    total = me.memory_info().rss
    for child in me.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            pass
    return total


def memory(args) -> int:
    """Resident memory while de-identifying a ``--memory-gb`` GB CSV."""
    import threading

    from privtrain.deid import deidentify_table, get_engine, load_policy, plan_table

    mp = _load_make_patients()
    df, _ids = mp.generate(min(args.rows, 10_000), seed=0)
    policy = load_policy(args.policy)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "big.csv"
        base = df if args.with_notes else df.drop(columns=["note"])
        block = base.to_csv(index=False, header=False).encode()
        header = ",".join(base.columns).encode() + b"\n"
        target = int(args.memory_gb * (1 << 30))
        with src.open("wb") as f:
            f.write(header)
            size = len(header)
            while size < target:
                f.write(block)
                size += len(block)
        rows_total = (size - len(header)) // len(block) * len(base)
        engine = get_engine(phone_regions=policy.detection.phone_regions)
        plan = plan_table(src, engine=engine, policy=policy)
        samples: list[tuple[int, int]] = []
        done = {"rows": 0}
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                samples.append((done["rows"], _rss_tree()))
                stop.wait(0.2)

        th = threading.Thread(target=sample, daemon=True)
        base_rss = _rss_tree()
        th.start()
        t0 = time.perf_counter()
        report = deidentify_table(
            src, _CountingSink(), plan=plan, policy=policy,
            pseudonym_key=(1, b"benchmark-key-32-bytes-long....."), engine=engine,
            chunk_rows=args.chunk_rows, workers=args.workers,
            progress=lambda d, t: done.__setitem__("rows", d),
        )  # fmt: skip
        seconds = time.perf_counter() - t0
        stop.set()
        th.join()
    mib = 1 << 20
    print(
        f"input: {size / (1 << 30):.2f} GiB CSV, {report.rows:,} rows x {report.columns_in} "
        f"columns (notes: {args.with_notes}); workers={args.workers}; {seconds:.0f} s, "
        f"{report.rows / seconds:,.0f} rows/s; values caught by the value check: "
        f"{sum(sum(c.flagged.values()) for c in report.columns)}"
    )
    print(f"resident memory before: {base_rss / mib:.0f} MiB")
    print(f"{'progress':>10}{'rows':>12}{'RSS MiB':>10}")
    for k in range(1, 11):
        want = rows_total * k // 10
        got = [r for d, r in samples if d <= want]
        if got:
            print(f"{k * 10:>9}%{want:>12,}{max(got) / mib:>10.0f}")
    peak = max(r for _d, r in samples)
    print(f"peak {peak / mib:.0f} MiB = {(peak - base_rss) / mib:+.0f} MiB over the loaded engine")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--baseline-rows", type=int, default=300)
    ap.add_argument("--n-process", type=int, default=1)
    ap.add_argument("--nlp-batch-size", type=int, default=128)
    ap.add_argument("--chunk-rows", type=int, default=2048)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument(
        "--compare-workers",
        type=int,
        default=0,
        metavar="N",
        help="also time the same table with N worker processes (rows/s, 1 vs N)",
    )
    ap.add_argument("--policy", default=None, help="policy file or profile name")
    ap.add_argument("--memory-gb", type=float, default=0.0)
    ap.add_argument("--with-notes", action="store_true")
    args = ap.parse_args(argv)
    if args.memory_gb:
        return memory(args)

    from privtrain.deid import (
        deidentify_table,
        get_engine,
        load_policy,
        plan_table,
        resolve_model_name,
    )

    mp = _load_make_patients()
    df, _ids = mp.generate(args.rows, seed=0)
    policy = load_policy(args.policy)
    base_rows = df.head(args.baseline_rows).astype(str).values.tolist()
    half = len(base_rows) // 2
    # the baseline's two halves run before and after privtrain, so that a change in machine
    # load during the run shows as a difference between them (and is averaged out)
    t_base_a = presidio_per_cell(base_rows[:half], resolve_model_name())
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
            workers=args.workers,
        )
        t_ours = time.perf_counter() - t0
        t_cmp = None
        if args.compare_workers:
            t0 = time.perf_counter()
            deidentify_table(
                src, _CountingSink(), plan=plan, policy=policy,
                pseudonym_key=(1, b"benchmark-key-32-bytes-long....."), engine=engine,
                chunk_rows=args.chunk_rows, nlp_batch_size=args.nlp_batch_size,
                workers=args.compare_workers,
            )  # fmt: skip
            t_cmp = time.perf_counter() - t0
    t_base_b = presidio_per_cell(base_rows[half:], engine.model_name)
    t_base = t_base_a + t_base_b
    ours = report.rows / t_ours
    base = len(base_rows) / t_base
    cells = len(base_rows) * len(base_rows[0])
    print(
        f"table: {report.rows} rows x {report.columns_in} columns (patients, seed 0); "
        f"spaCy model {engine.model_name}; workers={args.workers}; profile {policy.profile}"
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
        f"{'  (first half, before privtrain)':<44}{half:>8}{t_base_a:>10.1f}"
        f"{half / t_base_a:>10.1f}"
    )
    print(
        f"{'  (second half, after privtrain)':<44}{len(base_rows) - half:>8}{t_base_b:>10.1f}"
        f"{(len(base_rows) - half) / t_base_b:>10.1f}"
    )
    print(
        f"\nratio privtrain / presidio per cell: {ours / base:.1f}x "
        f"(presidio: {cells} cells, {cells / t_base:.0f} cells/s)"
    )
    if t_cmp is not None:
        n = args.compare_workers
        print(
            f"workers: {args.workers} -> {ours:.1f} rows/s; {n} -> {report.rows / t_cmp:.1f} "
            f"rows/s ({t_ours / t_cmp:.2f}x; {n} spawned processes, each loads the model; "
            f"{os.cpu_count()} CPUs)"
        )
    print(
        f"free-text spans replaced: {sum(report.entity_counts.values())} values/spans; "
        f"{report.output_bytes:,} bytes of Parquet"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
