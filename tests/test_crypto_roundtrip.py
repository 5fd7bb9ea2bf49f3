"""PTB1 streaming encryption: round trips, the documented byte layout, streaming memory."""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from privtrain.crypto import (
    BlobCipher,
    KeyProvider,
    LocalKeyring,
    SealedBlob,
    WrappedKey,
)
from privtrain.errors import ConflictError, InputError, IntegrityError, NotFoundError

CTX = {"kind": "dataset", "id": "3f2a", "version": 1}
HYP = settings(
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKeyring]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PRIVTRAIN_KDF_PROFILE", "fast")
        yield LocalKeyring.create(tmp_path_factory.mktemp("kr") / "keyring.enc", "correct horse")


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("blobs")


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _leftovers(d: Path) -> list[str]:
    return [n for n in os.listdir(d) if n.endswith(".ptb-tmp")]


def _expected_ct_len(n: int, seg: int, ctx: dict[str, str | int]) -> int:
    segments = max(1, -(-n // seg))
    ctx_len = len(json.dumps(ctx, sort_keys=True, separators=(",", ":")).encode())
    return 83 + ctx_len + n + 16 * segments


def _check_sealed(sealed: SealedBlob, blob: Path, n: int, seg: int) -> None:
    raw = blob.read_bytes()
    assert sealed.plaintext_bytes == n
    assert sealed.ciphertext_bytes == len(raw) == _expected_ct_len(n, seg, CTX)
    assert sealed.ciphertext_sha256 == hashlib.sha256(raw).hexdigest()
    assert sealed.file_id == raw[10:42] and len(sealed.file_id) == 32
    assert sealed.context == CTX
    assert isinstance(sealed.wrapped_key, WrappedKey)


# ------------------------------------------------------------------------------ round trips


@pytest.mark.parametrize("seg", [16, 64, 4096])
@pytest.mark.parametrize("kind", ["empty", "one", "seg", "seg+1", "3seg", "3seg-1", "odd"])
def test_round_trip_sizes(ring: LocalKeyring, work: Path, seg: int, kind: str) -> None:
    n = {
        "empty": 0,
        "one": 1,
        "seg": seg,
        "seg+1": seg + 1,
        "3seg": 3 * seg,
        "3seg-1": 3 * seg - 1,
        "odd": 7 * seg + 13,
    }[kind]
    data = os.urandom(n)
    src, blob, out = work / f"p-{kind}-{seg}", work / f"b-{kind}-{seg}", work / f"o-{kind}-{seg}"
    src.write_bytes(data)
    cipher = BlobCipher(ring, segment_size=seg)
    sealed = cipher.encrypt_file(src, blob, CTX)
    _check_sealed(sealed, blob, n, seg)
    cipher.decrypt_file(blob, out, sealed.wrapped_key, expected_context=CTX)
    assert out.read_bytes() == data
    assert cipher.decrypt_bytes(blob, sealed.wrapped_key) == data
    assert not _leftovers(work)


def test_empty_plaintext_is_one_empty_final_segment(ring: LocalKeyring, work: Path) -> None:
    cipher = BlobCipher(ring, segment_size=64)
    with cipher.writer(work / "empty.ptb", CTX) as w:
        pass
    raw = (work / "empty.ptb").read_bytes()
    ctx_len = struct.unpack(">H", raw[49:51])[0]
    assert len(raw) == 51 + ctx_len + 32 + 16  # header + one 16-byte tag, nothing else
    assert cipher.decrypt_bytes(work / "empty.ptb", w.sealed.wrapped_key) == b""


@HYP
@given(
    data=st.binary(max_size=6000),
    seg=st.integers(min_value=16, max_value=4096),
    chunks=st.lists(st.integers(min_value=0, max_value=3000), max_size=8),
)
def test_round_trip_property(
    ring: LocalKeyring, work: Path, data: bytes, seg: int, chunks: list[int]
) -> None:
    cipher = BlobCipher(ring, segment_size=seg)
    a, b = work / "hyp-a.ptb", work / "hyp-b.ptb"
    sealed = cipher.encrypt_file(io.BytesIO(data), a, CTX)
    _check_sealed(sealed, a, len(data), seg)
    with cipher.writer(b, CTX) as w:  # the same bytes written in arbitrary pieces
        pos = 0
        for c in chunks:
            w.write(data[pos : pos + c])
            pos += c
        w.write(data[pos:])
    _check_sealed(w.sealed, b, len(data), seg)
    assert w.sealed.file_id != sealed.file_id
    out = work / "hyp-out"
    cipher.decrypt_file(a, out, sealed.wrapped_key, expected_context=CTX)
    assert out.read_bytes() == data
    assert cipher.decrypt_bytes(b, w.sealed.wrapped_key, expected_context=CTX) == data


@pytest.mark.parametrize("via", ["path", "writer", "stream"])
def test_threaded_pipeline_round_trip(ring: LocalKeyring, work: Path, via: str) -> None:
    """Files >= 4 MiB with segments >= 64 KiB go through the writer/hash threads."""
    seg = 64 << 10
    data = os.urandom(5 * (1 << 20) + 12345)
    src, blob, out = work / "big.bin", work / f"big-{via}.ptb", work / f"big-{via}.out"
    src.write_bytes(data)
    cipher = BlobCipher(ring, segment_size=seg)
    if via == "path":
        sealed = cipher.encrypt_file(src, blob, CTX)
    elif via == "stream":
        with open(src, "rb") as f:
            sealed = cipher.encrypt_file(f, blob, CTX)
    else:
        with cipher.writer(blob, CTX) as w:
            view = memoryview(data)
            for i in range(0, len(data), 100_003):
                w.write(view[i : i + 100_003])
        sealed = w.sealed
    _check_sealed(sealed, blob, len(data), seg)
    cipher.decrypt_file(blob, out, sealed.wrapped_key)
    assert _sha(out) == hashlib.sha256(data).hexdigest()
    assert not _leftovers(work)


def test_stream_without_readinto(ring: LocalKeyring, work: Path) -> None:
    class Reader:  # a minimal file-like object: read() only, short reads
        def __init__(self, data: bytes) -> None:
            self._b = io.BytesIO(data)

        def read(self, n: int) -> bytes:
            return self._b.read(min(n, 7))

    data = os.urandom(1000)
    cipher = BlobCipher(ring, segment_size=64)
    sealed = cipher.encrypt_file(Reader(data), work / "r.ptb", CTX)  # type: ignore[arg-type]
    assert cipher.decrypt_bytes(work / "r.ptb", sealed.wrapped_key) == data


def test_decrypt_replaces_existing_destination(ring: LocalKeyring, work: Path) -> None:
    cipher = BlobCipher(ring, segment_size=64)
    sealed = cipher.encrypt_file(io.BytesIO(b"new"), work / "x.ptb", CTX)
    (work / "x.out").write_bytes(b"old contents")
    cipher.decrypt_file(work / "x.ptb", work / "x.out", sealed.wrapped_key)
    assert (work / "x.out").read_bytes() == b"new"


def test_context_normalised_and_read_back(ring: LocalKeyring, work: Path) -> None:
    cipher = BlobCipher(ring, segment_size=64)
    ctx = {"version": 2, "kind": "model", "id": "m-ü"}
    sealed = cipher.encrypt_file(io.BytesIO(b"abc"), work / "c.ptb", ctx)
    assert sealed.context == ctx and list(sealed.context) == ["id", "kind", "version"]
    assert cipher.read_context(work / "c.ptb") == ctx
    with pytest.raises(IntegrityError, match="context does not match"):
        cipher.decrypt_bytes(work / "c.ptb", sealed.wrapped_key, expected_context={**ctx, "v": 1})


@pytest.mark.parametrize(
    "ctx",
    [{"a": 1.5}, {"a": True}, {"a": None}, {"a": [1]}, {"": 1}, {1: "x"}, {"a": 1 << 70}, []],
)
def test_invalid_context_rejected(ring: LocalKeyring, work: Path, ctx: object) -> None:
    cipher = BlobCipher(ring, segment_size=64)
    with pytest.raises(InputError):
        cipher.encrypt_file(io.BytesIO(b"x"), work / "bad.ptb", ctx)  # type: ignore[arg-type]
    assert not (work / "bad.ptb").exists() and not _leftovers(work)


@pytest.mark.parametrize("seg", [0, 15, (8 << 20) + 1, True])
def test_segment_size_bounds(ring: LocalKeyring, seg: int) -> None:
    with pytest.raises(InputError):
        BlobCipher(ring, segment_size=seg)


def test_writer_exception_leaves_nothing(ring: LocalKeyring, tmp_path: Path) -> None:
    cipher = BlobCipher(ring, segment_size=64)
    with pytest.raises(RuntimeError), cipher.writer(tmp_path / "w.ptb", CTX) as w:
        w.write(os.urandom(1000))
        raise RuntimeError("producer failed")
    assert os.listdir(tmp_path) == []
    with pytest.raises(ConflictError):
        _ = w.sealed
    with pytest.raises(ConflictError):
        w.write(b"more")


def test_unclosed_writer_leaves_nothing(ring: LocalKeyring, tmp_path: Path) -> None:
    cipher = BlobCipher(ring, segment_size=64)
    w = cipher.writer(tmp_path / "w.ptb", CTX)
    w.write(b"x" * 500)
    del w
    assert os.listdir(tmp_path) == []


def test_missing_paths(ring: LocalKeyring, work: Path, tmp_path: Path) -> None:
    cipher = BlobCipher(ring, segment_size=64)
    with pytest.raises(NotFoundError, match="nope"):
        cipher.encrypt_file(tmp_path / "nope", tmp_path / "o.ptb", CTX)
    sealed = cipher.encrypt_file(io.BytesIO(b"x"), tmp_path / "o.ptb", CTX)
    with pytest.raises(NotFoundError):
        cipher.decrypt_file(tmp_path / "missing.ptb", tmp_path / "o", sealed.wrapped_key)
    with pytest.raises(NotFoundError):
        cipher.decrypt_file(tmp_path / "o.ptb", tmp_path / "no" / "dir", sealed.wrapped_key)
    with pytest.raises(NotFoundError):
        cipher.encrypt_file(io.BytesIO(b"x"), tmp_path / "no" / "o.ptb", CTX)


def test_provider_protocol(ring: LocalKeyring) -> None:
    assert isinstance(ring, KeyProvider)


# ------------------------------------------------------------------------------ the spec


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def _decode_per_spec(raw: bytes, data_key: bytes) -> bytes:
    """An independent PTB1 decoder written from SECURITY.md (not from privtrain code)."""
    magic, version, suite, seg, file_id, prefix, n = struct.unpack(">4sBBI32s7sH", raw[:51])
    assert (magic, version, suite) == (b"PTB1", 1, 1)
    ctx = raw[51 : 51 + n]
    commitment = raw[51 + n : 83 + n]
    hh = hashlib.sha256(raw[: 51 + n]).digest()
    assert _hkdf(data_key, file_id, b"privtrain/PTB1/key-commitment" + hh) == commitment
    aead = AESGCM(_hkdf(data_key, file_id, b"privtrain/PTB1/segment-key" + hh))
    body = raw[83 + n :]
    pieces = [body[i : i + seg + 16] for i in range(0, len(body), seg + 16)]
    out = []
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        nonce = prefix + struct.pack(">I", i) + (b"\x01" if last else b"\x00")
        out.append(aead.decrypt(nonce, piece, hh))
    json.loads(ctx)
    return b"".join(out)


@pytest.mark.parametrize("n", [0, 100, 128, 1000])
def test_layout_matches_security_md(ring: LocalKeyring, work: Path, n: int) -> None:
    data = os.urandom(n)
    cipher = BlobCipher(ring, segment_size=64)
    sealed = cipher.encrypt_file(io.BytesIO(data), work / "spec.ptb", CTX)
    raw = (work / "spec.ptb").read_bytes()
    file_id = raw[10:42]
    ctx = json.dumps(CTX, sort_keys=True, separators=(",", ":")).encode()
    assert raw[51 : 51 + len(ctx)] == ctx
    wrap_aad = b"privtrain/PTB1/wrap\x00" + file_id + struct.pack(">H", len(ctx)) + ctx
    data_key = ring.unwrap(sealed.wrapped_key, wrap_aad)
    assert len(data_key) == 32
    assert _decode_per_spec(raw, data_key) == data
    # the KEK wrap: 12-byte nonce || AES-256-GCM(KEK, data key, AAD = label || len || id || aad)
    ct = sealed.wrapped_key.ciphertext
    assert len(ct) == 60 and sealed.wrapped_key.kek_id == ring.active_kek_id()


# ------------------------------------------------------------------------------ memory

_MEM_CHILD = textwrap.dedent(
    """
    # Peak RSS = VmHWM of this process (ru_maxrss would include the forking parent's RSS,
    # which Linux carries across exec). Writing 5 to clear_refs resets VmHWM after setup.
    import hashlib, sys
    from pathlib import Path
    from privtrain.crypto import BlobCipher, LocalKeyring

    def status(field):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024

    src, work = Path(sys.argv[1]), Path(sys.argv[2])
    ring = LocalKeyring.create(work / "keyring.enc", "pw")
    cipher = BlobCipher(ring)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    baseline = status("VmRSS")
    sealed = cipher.encrypt_file(src, work / "blob.ptb", {"kind": "dataset", "id": "m"})
    cipher.decrypt_file(work / "blob.ptb", work / "out.bin", sealed.wrapped_key)
    peak = status("VmHWM")
    h = hashlib.sha256()
    with open(work / "out.bin", "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    print(baseline, peak, h.hexdigest())
    """
)


def _memory_check(tmp_path: Path, mib: int) -> None:
    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("needs Linux /proc/self/status (VmHWM) and clear_refs")
    src = tmp_path / "plain.bin"
    h = hashlib.sha256()
    with open(src, "wb") as f:
        for _ in range(mib):
            chunk = os.urandom(1 << 20)
            h.update(chunk)
            f.write(chunk)
    env = {**os.environ, "PRIVTRAIN_KDF_PROFILE": "fast"}
    p = subprocess.run(
        [sys.executable, "-c", _MEM_CHILD, str(src), str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr
    baseline, peak, digest = p.stdout.split()
    assert digest == h.hexdigest()
    grown = int(peak) - int(baseline)
    assert grown < 64 << 20, f"peak RSS grew by {grown / 2**20:.1f} MiB"


def test_streaming_memory_256mib(tmp_path: Path) -> None:
    _memory_check(tmp_path, 256)


@pytest.mark.slow
def test_streaming_memory_1gib(tmp_path: Path) -> None:
    _memory_check(tmp_path, 1024)


# ------------------------------------------------------------------------------ I/O failures

_DISK_FULL_CHILD = textwrap.dedent(
    """
    import json, os, resource, signal, sys
    from pathlib import Path
    from privtrain.crypto import BlobCipher, LocalKeyring
    from privtrain.errors import InputError

    work, seg = Path(sys.argv[1]), int(sys.argv[2])
    ring = LocalKeyring.create(work / "keyring.enc", "pw")
    cipher = BlobCipher(ring, segment_size=seg)
    (work / "plain.bin").write_bytes(os.urandom(6 << 20))
    sealed = cipher.encrypt_file(work / "plain.bin", work / "ok.ptb", {"k": 1})
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (2 << 20, resource.RLIM_INFINITY))
    failures = 0
    for attempt in ("encrypt", "writer", "decrypt"):
        try:
            if attempt == "encrypt":
                cipher.encrypt_file(work / "plain.bin", work / "new.ptb", {"k": 1})
            elif attempt == "writer":
                with cipher.writer(work / "new.ptb", {"k": 1}) as w:
                    w.write((work / "plain.bin").read_bytes())
            else:
                cipher.decrypt_file(work / "ok.ptb", work / "out.bin", sealed.wrapped_key)
        except InputError as e:
            assert "cannot write" in str(e), str(e)
            failures += 1
    print(json.dumps([failures, sorted(os.listdir(work))]))
    """
)


@pytest.mark.parametrize("seg", [64 << 10, 4096])  # threaded and inline pipelines
def test_write_failure_leaves_nothing(tmp_path: Path, seg: int) -> None:
    env = {**os.environ, "PRIVTRAIN_KDF_PROFILE": "fast"}
    p = subprocess.run(
        [sys.executable, "-c", _DISK_FULL_CHILD, str(tmp_path), str(seg)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    failures, files = json.loads(p.stdout)
    assert failures == 3
    assert files == ["keyring.enc", "ok.ptb", "plain.bin"]  # no temp file, no output
