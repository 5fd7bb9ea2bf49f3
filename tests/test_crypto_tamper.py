"""PTB1 tamper resistance: >= 10,000 generated attacks, none accepted, nothing left on disk.

Every case decrypts a modified blob (or uses a wrong key) with ``decrypt_file`` and requires
IntegrityError or KeyAccessError with a non-empty message, no file at ``dst`` and no temp file
in the directory. Tiny segments (16-64 bytes) keep the cases cheap.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import struct
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from privtrain.crypto import BlobCipher, LocalKeyring, SealedBlob, WrappedKey
from privtrain.crypto._format import wrap_aad
from privtrain.crypto._stream import EncryptingWriter, _Encryptor
from privtrain.errors import IntegrityError, KeyAccessError

CTX = {"kind": "dataset", "id": "ds-7", "version": 3}
SEG = 32
TAG = 16


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PRIVTRAIN_KDF_PROFILE", "fast")
        d = tmp_path_factory.mktemp("tamper")
        ring = LocalKeyring.create(d / "keyring.enc", "pass-1")
        other = LocalKeyring.create(d / "other.enc", "pass-2")  # also has a kek-0001
        yield {"dir": d, "ring": ring, "other": other}


class Runner:
    """Writes each tampered blob to a scratch directory and checks the failure contract."""

    def __init__(self, d: Path, cipher: BlobCipher) -> None:
        self.dir = d
        self.cipher = cipher
        self.src = d / "case.ptb"
        self.dst = d / "case.out"
        self.counts: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()

    def expect_reject(
        self,
        category: str,
        raw: bytes,
        key: WrappedKey,
        expected_context: dict[str, str | int] | None = None,
    ) -> None:
        # unlink first: truncating a written file on ext4 (auto_da_alloc) forces a flush
        self.src.unlink(missing_ok=True)
        self.src.write_bytes(raw)
        self.reject_file(category, key, expected_context)

    def reject_file(
        self,
        category: str,
        key: WrappedKey,
        expected_context: dict[str, str | int] | None = None,
        src: Path | None = None,
    ) -> None:
        try:
            self.cipher.decrypt_file(src or self.src, self.dst, key, expected_context)
        except (IntegrityError, KeyAccessError) as e:
            assert str(e).strip(), f"{category}: empty error message"
            self.errors[type(e).__name__] += 1
        else:
            raise AssertionError(f"{category}: tampered blob was accepted")
        assert not self.dst.exists(), f"{category}: output left at dst"
        leftovers = [n for n in os.listdir(self.dir) if n.endswith(".ptb-tmp")]
        assert not leftovers, f"{category}: temp files left: {leftovers}"
        self.counts[category] += 1


def _seal(cipher: BlobCipher, path: Path, data: bytes, ctx: dict[str, str | int] = CTX) -> bytes:
    sealed: SealedBlob = cipher.encrypt_file(_BytesSrc(data), path, ctx)  # type: ignore[arg-type]
    _SEALED[path] = sealed
    return path.read_bytes()


class _BytesSrc:
    def __init__(self, data: bytes) -> None:
        self._data, self._pos = data, 0

    def readinto(self, mv: memoryview) -> int:
        n = min(len(mv), len(self._data) - self._pos)
        mv[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


_SEALED: dict[Path, SealedBlob] = {}


def _segments(raw: bytes, header_len: int) -> list[bytes]:
    body = raw[header_len:]
    return [body[i : i + SEG + TAG] for i in range(0, len(body), SEG + TAG)]


def _header_len(raw: bytes) -> int:
    return 51 + struct.unpack(">H", raw[49:51])[0] + 32


def _same_key_blob(
    ring: LocalKeyring, path: Path, data: bytes, data_key: bytes
) -> tuple[bytes, WrappedKey]:
    enc = _Encryptor(ring, path, CTX, SEG, threaded=False, _data_key=data_key)
    with EncryptingWriter(enc) as w:
        w.write(data)
    return path.read_bytes(), w.sealed.wrapped_key


def test_generated_tamper_cases_none_accepted(env: dict[str, object]) -> None:
    d: Path = env["dir"]  # type: ignore[assignment]
    ring: LocalKeyring = env["ring"]  # type: ignore[assignment]
    other: LocalKeyring = env["other"]  # type: ignore[assignment]
    cipher = BlobCipher(ring, segment_size=SEG)
    run = Runner(d, cipher)
    rnd = random.Random(20240229)

    shapes = {  # plaintext sizes: empty, short, exact multiple, several + remainder
        "empty": b"",
        "short": rnd.randbytes(5),
        "exact": rnd.randbytes(3 * SEG),
        "multi": rnd.randbytes(5 * SEG + 7),
    }
    blobs: dict[str, tuple[bytes, WrappedKey]] = {}
    for name, data in shapes.items():
        raw = _seal(cipher, d / f"{name}.ptb", data)
        blobs[name] = (raw, _SEALED[d / f"{name}.ptb"].wrapped_key)
        cipher.decrypt_file(d / f"{name}.ptb", d / f"{name}.ok", blobs[name][1], CTX)
        assert (d / f"{name}.ok").read_bytes() == data
        os.unlink(d / f"{name}.ok")

    # 1. every single-bit flip, header and body, of every shape
    for name, (raw, key) in blobs.items():
        for bit in range(len(raw) * 8):
            b = bytearray(raw)
            b[bit // 8] ^= 1 << (bit % 8)
            run.expect_reject(f"bitflip/{name}", bytes(b), key)

    # 2. truncation at every length (segment boundaries and in between), and extension
    for name, (raw, key) in blobs.items():
        for n in range(len(raw)):
            run.expect_reject(f"truncate/{name}", raw[:n], key)
        for extra in (b"\x00", raw[-TAG:], raw[-(SEG + TAG) :], rnd.randbytes(SEG + TAG)):
            run.expect_reject(f"extend/{name}", raw + extra, key)

    # 3. dropped, duplicated, reordered segments (every permutation of a 6-segment blob)
    raw, key = blobs["multi"]
    hl = _header_len(raw)
    head, segs = raw[:hl], _segments(raw, hl)
    assert len(segs) == 6
    for i in range(len(segs)):
        run.expect_reject("drop", head + b"".join(segs[:i] + segs[i + 1 :]), key)
        run.expect_reject("duplicate", head + b"".join(segs[: i + 1] + segs[i:]), key)
        run.expect_reject("dup-at-end", head + b"".join(segs + [segs[i]]), key)
    for perm in itertools.permutations(range(len(segs))):
        if list(perm) != list(range(len(segs))):
            run.expect_reject("reorder", head + b"".join(segs[j] for j in perm), key)

    # 4. segments spliced from another blob encrypted under the SAME data key
    data_key = os.urandom(32)
    pa, ka = _same_key_blob(ring, d / "sa.ptb", shapes["multi"], data_key)
    pb, kb = _same_key_blob(ring, d / "sb.ptb", rnd.randbytes(5 * SEG + 7), data_key)
    ha, hb = _header_len(pa), _header_len(pb)
    sa, sb = _segments(pa, ha), _segments(pb, hb)
    for i, j in itertools.product(range(len(sa)), range(len(sb))):
        spliced = sa[:i] + [sb[j]] + sa[i + 1 :]
        run.expect_reject("splice-same-key", pa[:ha] + b"".join(spliced), ka)
    run.expect_reject("swap-header", pb[:hb] + pa[ha:], kb)
    run.expect_reject("swap-header", pa[:ha] + pb[hb:], ka)

    # 5. every header field edited (beyond the bit flips above)
    raw, key = blobs["multi"]
    n = struct.unpack(">H", raw[49:51])[0]

    def edit(off: int, new: bytes) -> bytes:
        return raw[:off] + new + raw[off + len(new) :]

    for m in (b"PTB0", b"PTB2", b"ptb1", b"\x00\x00\x00\x00", b"PK\x03\x04"):
        run.expect_reject("field/magic", edit(0, m), key)
    for v in (0, 2, 3, 255):
        run.expect_reject("field/version", edit(4, bytes([v])), key)
        run.expect_reject("field/suite", edit(5, bytes([v])), key)
    for s in (0, 1, 15, 16, SEG - 1, SEG + 1, 2 * SEG, SEG // 2, 8 << 20, (8 << 20) + 1, 2**32 - 1):
        run.expect_reject("field/segment_size", edit(6, struct.pack(">I", s)), key)
    for _ in range(32):
        run.expect_reject("field/file_id", edit(10, os.urandom(32)), key)
    for i in range(7):
        run.expect_reject("field/nonce_prefix", edit(42 + i, bytes([raw[42 + i] ^ 0xFF])), key)
    for ln in (0, 1, n - 1, n + 1, n + 32, 0xFFFF):
        run.expect_reject("field/context_len", edit(49, struct.pack(">H", ln)), key)
    alt_contexts = [
        {**CTX, "version": 4},
        {**CTX, "id": "ds-8"},
        {**CTX, "kind": "model"},
        {**CTX, "extra": 1},
        {"kind": "dataset", "id": "ds-7"},
    ]
    for alt in alt_contexts:
        new_ctx = json.dumps(alt, sort_keys=True, separators=(",", ":")).encode()
        forged = raw[:49] + struct.pack(">H", len(new_ctx)) + new_ctx + raw[51 + n :]
        run.expect_reject("field/context", forged, key)
    for bad in (json.dumps(CTX).encode(), b"[]", b"{}", b"\xff" * n):
        forged = raw[:49] + struct.pack(">H", len(bad)) + bad + raw[51 + n :]
        run.expect_reject("field/context-syntax", forged, key)
    for i in range(32):
        run.expect_reject("field/commitment", edit(51 + n + i, bytes([raw[51 + n + i] ^ 1])), key)
    for i in range(len(raw)):  # every byte replaced by its complement
        run.expect_reject("byte-complement", edit(i, bytes([raw[i] ^ 0xFF])), key)

    # 6. wrong data key (correctly wrapped for this blob, so only the commitment can tell)
    raw, key = blobs["multi"]
    (d / "case.ptb").write_bytes(raw)
    fid, ctxb = raw[10:42], raw[51 : 51 + n]
    for _ in range(50):
        wrong = ring.wrap(os.urandom(32), wrap_aad(fid, ctxb))
        run.reject_file("wrong-data-key", wrong)

    # 7. wrong KEK, unknown / malformed KEK ids, altered wrapped key
    wrong_kek = other.wrap(ring.unwrap(key, wrap_aad(fid, ctxb)), wrap_aad(fid, ctxb))
    assert wrong_kek.kek_id == key.kek_id == "kek-0001"
    run.reject_file("wrong-kek", wrong_kek)
    for kid in ("kek-0002", "kek-9999", "kek-1", "", "KEK-0001", "kek-0001 ", "../kek"):
        run.reject_file("unknown-kek-id", WrappedKey(kid, key.ciphertext))
    ct = key.ciphertext
    for bit in range(len(ct) * 8):
        b = bytearray(ct)
        b[bit // 8] ^= 1 << (bit % 8)
        run.reject_file("wrapped-bitflip", WrappedKey(key.kek_id, bytes(b)))
    for ln in range(len(ct)):
        run.reject_file("wrapped-truncate", WrappedKey(key.kek_id, ct[:ln]))
    run.reject_file("wrapped-extend", WrappedKey(key.kek_id, ct + b"\x00"))

    # 8. a wrapped key moved to another blob (every ordered pair of 12 blobs)
    many = []
    for i in range(12):
        p = d / f"m{i}.ptb"
        _seal(cipher, p, rnd.randbytes(rnd.randrange(0, 100)), {**CTX, "id": f"ds-{i}"})
        many.append((p, _SEALED[p].wrapped_key))
    for (pa_, _ka), (_pb, kb_) in itertools.permutations(many, 2):
        run.reject_file("moved-wrapped-key", kb_, src=pa_)

    # 9. expected context differs from the header
    raw, key = blobs["short"]
    (d / "case.ptb").write_bytes(raw)
    for alt in alt_contexts:
        run.reject_file("expected-context", key, expected_context=alt)

    total = sum(run.counts.values())
    assert total >= 10_000, run.counts
    for category in ("bitflip/multi", "truncate/multi", "reorder", "splice-same-key"):
        assert run.counts[category] > 0
    assert run.errors["IntegrityError"] > 0 and run.errors["KeyAccessError"] > 0


def test_commitment_checked_before_any_segment(env: dict[str, object]) -> None:
    """A wrong data key is caught by the key commitment, not by a segment tag."""
    d: Path = env["dir"]  # type: ignore[assignment]
    ring: LocalKeyring = env["ring"]  # type: ignore[assignment]
    cipher = BlobCipher(ring, segment_size=SEG)
    raw = _seal(cipher, d / "c.ptb", b"x" * 100)
    n = struct.unpack(">H", raw[49:51])[0]
    wrong = ring.wrap(os.urandom(32), wrap_aad(raw[10:42], raw[51 : 51 + n]))
    with pytest.raises(IntegrityError, match="key_commitment"):
        cipher.decrypt_file(d / "c.ptb", d / "c.out", wrong)


@pytest.mark.parametrize(
    ("mutate", "pattern"),
    [
        (lambda r, h: r[:h] + r[h + 48 :], "segment 0 of 3"),  # drop segment 0
        (lambda r, h: r[: h + 48] + r[h + 96 :], "segment 1 of 3"),  # drop segment 1
        (lambda r, h: r[: h + 5] + bytes([r[h + 5] ^ 1]) + r[h + 6 :], "segment 0 of 4"),
        (lambda r, h: r[:-1], "blob .*segment 3 of 4"),
        (lambda r, h: r[: h + 58], "segment 1 is 10 bytes, shorter than its tag"),
        (lambda r, h: r[: h + 10], "no final segment"),
        (lambda r, h: r[:h], "no final segment"),
        (lambda r, h: r[:20], "header is truncated"),
        (lambda r, h: b"XXXX" + r[4:], "magic"),
    ],
)
def test_messages_name_file_and_segment(
    env: dict[str, object], mutate: Callable[[bytes, int], bytes], pattern: str
) -> None:
    d: Path = env["dir"]  # type: ignore[assignment]
    ring: LocalKeyring = env["ring"]  # type: ignore[assignment]
    cipher = BlobCipher(ring, segment_size=SEG)
    raw = _seal(cipher, d / "msg.ptb", b"y" * (3 * SEG + 1))  # 4 segments
    key = _SEALED[d / "msg.ptb"].wrapped_key
    (d / "msg-t.ptb").write_bytes(mutate(raw, _header_len(raw)))
    with pytest.raises(IntegrityError, match=pattern) as ei:
        cipher.decrypt_file(d / "msg-t.ptb", d / "msg.out", key)
    assert "msg-t.ptb" in str(ei.value)
    assert not (d / "msg.out").exists()


def test_large_blob_tamper_leaves_nothing(env: dict[str, object]) -> None:
    """The threaded pipeline (>= 4 MiB, 64 KiB segments) cleans up after a late failure."""
    d: Path = env["dir"]  # type: ignore[assignment]
    ring: LocalKeyring = env["ring"]  # type: ignore[assignment]
    cipher = BlobCipher(ring, segment_size=64 << 10)
    src = d / "big.bin"
    src.write_bytes(os.urandom(6 << 20))
    sealed = cipher.encrypt_file(src, d / "big.ptb", CTX)
    raw = bytearray((d / "big.ptb").read_bytes())
    for pos in (len(raw) // 2, len(raw) - 1):
        t = bytearray(raw)
        t[pos] ^= 0x80
        (d / "big-t.ptb").write_bytes(t)
        with pytest.raises(IntegrityError, match="segment"):
            cipher.decrypt_file(d / "big-t.ptb", d / "big.out", sealed.wrapped_key)
        assert not (d / "big.out").exists()
        assert not [n for n in os.listdir(d) if n.endswith(".ptb-tmp")]
    (d / "big-t.ptb").write_bytes(raw[: len(raw) - (64 << 10) - 16])  # drop the final segment
    with pytest.raises(IntegrityError):
        cipher.decrypt_file(d / "big-t.ptb", d / "big.out", sealed.wrapped_key)
    assert not (d / "big.out").exists()


def test_decrypt_bytes_rejects_too(env: dict[str, object]) -> None:
    d: Path = env["dir"]  # type: ignore[assignment]
    ring: LocalKeyring = env["ring"]  # type: ignore[assignment]
    cipher = BlobCipher(ring, segment_size=SEG)
    raw = bytearray(_seal(cipher, d / "db.ptb", b"z" * 200))
    key = _SEALED[d / "db.ptb"].wrapped_key
    raw[-3] ^= 4
    (d / "db.ptb").write_bytes(raw)
    with pytest.raises(IntegrityError):
        cipher.decrypt_bytes(d / "db.ptb", key)


def test_retired_kek_means_shredded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVTRAIN_KDF_PROFILE", "fast")
    ring = LocalKeyring.create(tmp_path / "k.enc", "pw")
    cipher = BlobCipher(ring, segment_size=SEG)
    _seal(cipher, tmp_path / "r.ptb", b"secret")
    key = _SEALED[tmp_path / "r.ptb"].wrapped_key
    ring.rotate()
    ring.retire(key.kek_id)
    with pytest.raises(KeyAccessError, match="retired"):
        cipher.decrypt_file(tmp_path / "r.ptb", tmp_path / "r.out", key)
    assert not (tmp_path / "r.out").exists()


def test_wrong_passphrase_cases(env: dict[str, object]) -> None:
    d: Path = env["dir"]  # type: ignore[assignment]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PRIVTRAIN_KDF_PROFILE", "fast")
        for wrong in ("pass-2", "Pass-1", "pass-1 ", ""):
            with pytest.raises(KeyAccessError, match="wrong passphrase for keyring"):
                LocalKeyring.open(d / "keyring.enc", wrong)
