"""PTB1 encrypt/decrypt throughput against a plain file copy, measured side by side.

    .venv/bin/python benchmarks/crypto_throughput.py               # 1 GiB, 5 rounds
    .venv/bin/python benchmarks/crypto_throughput.py --size-mib 64 --rounds 1   # quick

One run creates a random file of --size-mib MiB in --dir (default: the system temp
directory), then for each round times, in a rotating order and each after an untimed
``os.sync()`` so no operation pays for another's write-back:

- copy:        ``shutil.copyfile(src, dst)`` (the baseline the goal is stated against);
- copy+fsync:  the same copy plus ``os.fsync(dst)`` (like for like: encrypt and decrypt
               fsync before their atomic rename, so they pay for durability, a bare copy
               does not);
- py-copy:     a user-space read/write loop in 1 MiB pieces, no fsync (the floor for any
               user-space pipeline: ``copyfile`` copies inside the kernel with sendfile);
- encrypt:     ``BlobCipher.encrypt_file`` (AES-256-GCM segments + SHA-256 of the blob);
- decrypt:     ``BlobCipher.decrypt_file`` (verify every segment, temp + fsync + rename).

It reports the median MB/s (10^6 bytes/s) of each, the ratios encrypt/copy and decrypt/copy
(and against copy+fsync), and the peak RSS of one encrypt and one decrypt, each run in a
fresh subprocess: the child resets its high-water mark (``/proc/self/clear_refs``) after
imports and opening the keyring and reports ``VmHWM`` (``ru_maxrss`` would include the
parent's RSS, which Linux carries across exec). Exit status 0 unless something failed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from privtrain.crypto import BlobCipher, LocalKeyring, WrappedKey

MiB = 1 << 20
PASS_ENV = "PRIVTRAIN_BENCH_PASSPHRASE"
CTX = {"kind": "benchmark", "id": "crypto-throughput", "version": 1}


def _make_source(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 4 * MiB)
            f.write(os.urandom(n))
            left -= n
        f.flush()
        os.fsync(f.fileno())


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _status_bytes(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


# ------------------------------------------------------------------------------ child


def _child(args: argparse.Namespace) -> int:
    ring = LocalKeyring.open(Path(args.keyring), os.environ[PASS_ENV])
    cipher = BlobCipher(ring, segment_size=args.segment_kib * 1024)
    reset = False
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
        reset = True
    except OSError:
        pass
    baseline = _status_bytes("VmRSS") or 0
    t = time.perf_counter()
    if args.child == "encrypt":
        cipher.encrypt_file(Path(args.src), Path(args.dst), CTX)
    else:
        meta = json.loads(Path(args.key).read_text())
        key = WrappedKey(meta["kek_id"], bytes.fromhex(meta["ciphertext"]))
        cipher.decrypt_file(Path(args.src), Path(args.dst), key)
    seconds = time.perf_counter() - t
    peak = _status_bytes("VmHWM") if reset else None
    if peak is None:  # no /proc: fall back to ru_maxrss (an over-estimate, see above)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"baseline": baseline, "peak": peak, "seconds": seconds}))
    return 0


def _run_child(op: str, src: Path, dst: Path, work: Path, seg_kib: int) -> dict[str, float]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        op,
        "--src",
        str(src),
        "--dst",
        str(dst),
        "--keyring",
        str(work / "keyring.enc"),
        "--key",
        str(work / "key.json"),
        "--segment-kib",
        str(seg_kib),
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if p.returncode != 0:
        raise SystemExit(f"{op} child failed: {p.stderr.strip()}")
    return json.loads(p.stdout)  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------ main


def _timed(fn: Callable[[], object]) -> float:
    os.sync()  # start from clean page cache write-back (untimed)
    os.sync()  # a second pass waits for the journal commit the first one triggered
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--segment-kib", type=int, default=1024)
    ap.add_argument("--dir", type=Path, default=None, help="where the files go (same disk)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    ap.add_argument("--child", choices=["encrypt", "decrypt"], help=argparse.SUPPRESS)
    ap.add_argument("--src", help=argparse.SUPPRESS)
    ap.add_argument("--dst", help=argparse.SUPPRESS)
    ap.add_argument("--keyring", help=argparse.SUPPRESS)
    ap.add_argument("--key", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return _child(args)

    size = args.size_mib * MiB
    work = Path(tempfile.mkdtemp(prefix="ptb1-bench-", dir=args.dir))
    os.environ[PASS_ENV] = os.urandom(16).hex()
    try:
        src = work / "plain.bin"
        _make_source(src, size)
        ring = LocalKeyring.create(work / "keyring.enc", os.environ[PASS_ENV])
        cipher = BlobCipher(ring, segment_size=args.segment_kib * 1024)
        blob = work / "blob.ptb"
        sealed = cipher.encrypt_file(src, blob, CTX)  # input for the decrypt rounds; warm-up
        (work / "key.json").write_text(
            json.dumps(
                {
                    "kek_id": sealed.wrapped_key.kek_id,
                    "ciphertext": sealed.wrapped_key.ciphertext.hex(),
                }
            )
        )

        def copy() -> None:
            shutil.copyfile(src, work / "copy.bin")

        def py_copy() -> None:  # the floor for any user-space pipeline: read + write, 1 MiB
            buf = bytearray(MiB)
            view = memoryview(buf)
            with open(src, "rb", buffering=0) as fi, open(work / "py.bin", "wb", 0) as fo:
                while n := fi.readinto(buf):
                    fo.write(view[:n])

        ops: dict[str, Callable[[], object]] = {
            "copy": copy,
            "py-copy": py_copy,
            "encrypt": lambda: cipher.encrypt_file(src, work / "enc.ptb", CTX),
            "decrypt": lambda: cipher.decrypt_file(blob, work / "dec.bin", sealed.wrapped_key),
        }
        times: dict[str, list[float]] = {k: [] for k in ("copy", "copy+fsync", "py-copy")}
        times.update(encrypt=[], decrypt=[])
        outputs = {
            "copy": "copy.bin",
            "py-copy": "py.bin",
            "encrypt": "enc.ptb",
            "decrypt": "dec.bin",
        }
        names = list(ops)
        for r in range(args.rounds):
            k = r % len(names)
            for name in names[k:] + names[:k]:  # rotate the order every round
                seconds = _timed(ops[name])
                if name == "copy":
                    t = time.perf_counter()
                    _fsync_path(work / "copy.bin")
                    times["copy+fsync"].append(seconds + time.perf_counter() - t)
                times[name].append(seconds)
                # delete now: the next untimed os.sync() absorbs the freeing (and any discard)
                (work / outputs[name]).unlink()
        cipher.decrypt_file(blob, work / "dec-check.bin", sealed.wrapped_key)
        if not _same_file(src, work / "dec-check.bin"):
            raise SystemExit("decrypted output differs from the source")
        (work / "dec-check.bin").unlink()

        rss = {
            "encrypt": _run_child("encrypt", src, work / "enc.ptb", work, args.segment_kib),
            "decrypt": _run_child("decrypt", blob, work / "dec.bin", work, args.segment_kib),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)

    mbps = {k: size / statistics.median(v) / 1e6 for k, v in times.items()}
    result = {
        "size_mib": args.size_mib,
        "rounds": args.rounds,
        "segment_kib": args.segment_kib,
        "dir": str(work.parent),
        "mb_per_s": {k: round(v, 1) for k, v in mbps.items()},
        "seconds": {k: [round(x, 3) for x in v] for k, v in times.items()},
        "ratio_encrypt_vs_copy": round(mbps["encrypt"] / mbps["copy"], 3),
        "ratio_decrypt_vs_copy": round(mbps["decrypt"] / mbps["copy"], 3),
        "ratio_encrypt_vs_copy_fsync": round(mbps["encrypt"] / mbps["copy+fsync"], 3),
        "ratio_decrypt_vs_copy_fsync": round(mbps["decrypt"] / mbps["copy+fsync"], 3),
        "peak_rss_mib": {
            op: {
                "peak": round(v["peak"] / MiB, 1),
                "baseline": round(v["baseline"] / MiB, 1),
                "above_baseline": round((v["peak"] - v["baseline"]) / MiB, 1),
            }
            for op, v in rss.items()
        },
    }
    _print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


def _same_file(a: Path, b: Path) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(4 * MiB), fb.read(4 * MiB)
            if x != y:
                return False
            if not x:
                return True


def _print_table(r: dict[str, object]) -> None:
    mb: dict[str, float] = r["mb_per_s"]  # type: ignore[assignment]
    secs: dict[str, list[float]] = r["seconds"]  # type: ignore[assignment]
    print(
        f"PTB1 throughput: {r['size_mib']} MiB file, {r['rounds']} rounds (median), "
        f"segment {r['segment_kib']} KiB, in {r['dir']}"
    )
    print(f"{'operation':<12} {'MB/s':>9} {'vs copy':>9} {'vs copy+fsync':>14}  seconds per round")
    for name in ("copy", "copy+fsync", "py-copy", "encrypt", "decrypt"):
        print(
            f"{name:<12} {mb[name]:>9.1f} {mb[name] / mb['copy']:>9.2f} "
            f"{mb[name] / mb['copy+fsync']:>14.2f}  {secs[name]}"
        )
    print(
        f"ratio encrypt/copy = {r['ratio_encrypt_vs_copy']:.2f}   "
        f"decrypt/copy = {r['ratio_decrypt_vs_copy']:.2f}   (goal >= 0.80)"
    )
    print(
        f"ratio encrypt/(copy+fsync) = {r['ratio_encrypt_vs_copy_fsync']:.2f}   "
        f"decrypt/(copy+fsync) = {r['ratio_decrypt_vs_copy_fsync']:.2f}"
    )
    rss: dict[str, dict[str, float]] = r["peak_rss_mib"]  # type: ignore[assignment]
    for op, v in rss.items():
        print(
            f"peak RSS {op:<7} (fresh process): {v['peak']:.1f} MiB, "
            f"{v['above_baseline']:.1f} MiB above the {v['baseline']:.1f} MiB baseline (goal < 64)"
        )


if __name__ == "__main__":
    sys.exit(main())
