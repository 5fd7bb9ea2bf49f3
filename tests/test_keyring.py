"""LocalKeyring: open, passphrase, corruption, rotation, rewrap, retire, no secrets in clear."""

from __future__ import annotations

import base64
import os
import random
import stat
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from privtrain.crypto import BlobCipher, KeyProvider, LocalKeyring, WrappedKey
from privtrain.crypto import _keyring as kr
from privtrain.errors import (
    ConfigError,
    ConflictError,
    InputError,
    IntegrityError,
    KeyAccessError,
    NotFoundError,
)

PASS = "tr0ub4dor & 3 – ünïcode"
CTX = {"kind": "model", "id": "m-1", "version": 1}


@pytest.fixture(autouse=True)
def _fast_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVTRAIN_KDF_PROFILE", "fast")


@pytest.fixture()
def path(tmp_path: Path) -> Path:
    return tmp_path / "keyring.enc"


def _raw_kek(ring: LocalKeyring, kek_id: str) -> bytes:
    return base64.b64decode(ring._doc["keks"][kek_id]["key"])


# ------------------------------------------------------------------------------ create / open


def test_create_open_round_trip(path: Path) -> None:
    ring = LocalKeyring.create(path, PASS)
    assert isinstance(ring, KeyProvider)
    assert ring.active_kek_id() == "kek-0001"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    aad = b"blob-1"
    wrapped = ring.wrap(os.urandom(32), aad)
    again = LocalKeyring.open(path, PASS)
    assert again.active_kek_id() == "kek-0001"
    assert again.unwrap(wrapped, aad) == ring.unwrap(wrapped, aad)
    assert not [n for n in os.listdir(path.parent) if n.endswith(".tmp")]


def test_create_refuses_existing(path: Path) -> None:
    LocalKeyring.create(path, PASS)
    with pytest.raises(ConflictError, match="already exists"):
        LocalKeyring.create(path, PASS)


def test_open_missing_and_bad_inputs(path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        LocalKeyring.open(path, PASS)
    with pytest.raises(NotFoundError):
        LocalKeyring.create(path.parent / "no" / "k.enc", PASS)
    with pytest.raises(InputError):
        LocalKeyring.create(path, "")
    assert not path.exists()


def test_wrong_passphrase(path: Path) -> None:
    LocalKeyring.create(path, PASS)
    for wrong in ("", "x", PASS.upper(), PASS + " "):
        with pytest.raises(KeyAccessError) as ei:
            LocalKeyring.open(path, wrong)
        assert str(ei.value) == f"wrong passphrase for keyring {path}"


def test_passphrase_is_nfc_normalised(path: Path) -> None:
    LocalKeyring.create(path, "cafe\u0301")  # e + combining acute
    LocalKeyring.open(path, "caf\u00e9")  # precomposed


@pytest.mark.parametrize(
    ("mutate", "exc"),
    [
        (lambda b: b[:-1], IntegrityError),  # truncated payload
        (lambda b: b[:50], IntegrityError),  # truncated header
        (lambda b: b"", IntegrityError),
        (lambda b: b"XXXX" + b[4:], IntegrityError),  # magic
        (lambda b: b[:4] + b"\x02" + b[5:], IntegrityError),  # version
        (lambda b: b[:5] + b"\x09" + b[6:], IntegrityError),  # unknown kdf
        (lambda b: b[:6] + struct.pack(">I", 1 << 30) + b[10:], IntegrityError),  # absurd memory
        (lambda b: b[:10] + struct.pack(">I", 0) + b[14:], IntegrityError),  # zero iterations
        (lambda b: b[:-5] + bytes([b[-5] ^ 1]) + b[-4:], IntegrityError),  # payload bit
        (lambda b: b[:70] + bytes([b[70] ^ 1]) + b[71:], IntegrityError),  # nonce (AAD)
        (lambda b: b[:20] + bytes([b[20] ^ 1]) + b[21:], KeyAccessError),  # salt: key differs
        (lambda b: b[:40] + bytes([b[40] ^ 1]) + b[41:], KeyAccessError),  # check value
    ],
)
def test_corrupt_file(path: Path, mutate: object, exc: type[Exception]) -> None:
    LocalKeyring.create(path, PASS)
    path.write_bytes(mutate(path.read_bytes()))  # type: ignore[operator]
    with pytest.raises(exc) as ei:
        LocalKeyring.open(path, PASS)
    assert str(path) in str(ei.value)


def test_random_bit_flips_never_open(path: Path) -> None:
    LocalKeyring.create(path, PASS)
    raw = path.read_bytes()
    rnd = random.Random(7)
    bits = rnd.sample(range(len(raw) * 8), 150)
    for bit in bits:
        b = bytearray(raw)
        b[bit // 8] ^= 1 << (bit % 8)
        path.write_bytes(bytes(b))
        with pytest.raises((IntegrityError, KeyAccessError)):
            LocalKeyring.open(path, PASS)


def test_kdf_parameters_in_header(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRIVTRAIN_KDF_PROFILE")
    LocalKeyring.create(path, PASS)  # production profile: Argon2id 64 MiB, 3 passes, 1 lane
    magic, version, kdf, p1, p2, p3 = struct.unpack(">4sBBIII", path.read_bytes()[:18])
    assert (magic, version, kdf, p1, p2, p3) == (b"PTK1", 1, 1, 65536, 3, 1)
    assert LocalKeyring.open(path, PASS).describe()["kdf"] == {
        "name": "argon2id",
        "params": [65536, 3, 1],
    }


def test_bad_profile_env(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVTRAIN_KDF_PROFILE", "turbo")
    with pytest.raises(ConfigError, match="PRIVTRAIN_KDF_PROFILE"):
        LocalKeyring.create(path, PASS)


def test_scrypt_fallback(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = kr._kdf

    def no_argon(kdf: int, *args: object) -> bytes:
        if kdf == kr.KDF_ARGON2ID:
            raise UnsupportedAlgorithm("argon2id not in this OpenSSL")
        return real(kdf, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(kr, "_kdf", no_argon)
    ring = LocalKeyring.create(path, PASS)
    assert path.read_bytes()[5] == kr.KDF_SCRYPT
    w = ring.wrap(b"k" * 32, b"a")
    assert LocalKeyring.open(path, PASS).unwrap(w, b"a") == b"k" * 32
    with pytest.raises(KeyAccessError, match="wrong passphrase"):
        LocalKeyring.open(path, "nope")


def test_change_passphrase(path: Path) -> None:
    ring = LocalKeyring.create(path, PASS)
    w = ring.wrap(b"d" * 32, b"x")
    ring.change_passphrase("new one")
    with pytest.raises(KeyAccessError):
        LocalKeyring.open(path, PASS)
    assert LocalKeyring.open(path, "new one").unwrap(w, b"x") == b"d" * 32
    ring.rotate()  # the instance keeps working under the new passphrase
    assert LocalKeyring.open(path, "new one").active_kek_id() == "kek-0002"


# ------------------------------------------------------------------------------ KEKs


def test_wrap_binds_aad_and_kek_id(path: Path) -> None:
    ring = LocalKeyring.create(path, PASS)
    w = ring.wrap(os.urandom(32), b"file-a")
    with pytest.raises(KeyAccessError, match="cannot unwrap"):
        ring.unwrap(w, b"file-b")
    ring.rotate()
    with pytest.raises(KeyAccessError, match="cannot unwrap"):
        ring.unwrap(WrappedKey("kek-0002", w.ciphertext), b"file-a")
    with pytest.raises(KeyAccessError, match="unknown key-encryption key"):
        ring.unwrap(WrappedKey("kek-0042", w.ciphertext), b"file-a")
    with pytest.raises(InputError):
        ring.wrap(b"short", b"x")
    assert "ciphertext=<60 bytes>" in repr(w)


def test_rotation_keeps_old_keys_and_rewrap(path: Path, tmp_path: Path) -> None:
    ring = LocalKeyring.create(path, PASS)
    cipher = BlobCipher(ring, segment_size=64)
    blob = tmp_path / "b.ptb"
    (tmp_path / "p").write_bytes(b"payload" * 50)
    sealed = cipher.encrypt_file(tmp_path / "p", blob, CTX)
    before = blob.read_bytes()
    assert sealed.wrapped_key.kek_id == "kek-0001"

    assert ring.rotate() == "kek-0002"
    assert ring.active_kek_id() == "kek-0002"
    assert cipher.decrypt_bytes(blob, sealed.wrapped_key) == b"payload" * 50  # old KEK kept

    reopened = LocalKeyring.open(path, PASS)
    assert reopened.active_kek_id() == "kek-0002"
    new = BlobCipher(reopened).rewrap(blob, sealed.wrapped_key)
    assert new.kek_id == "kek-0002" and new.ciphertext != sealed.wrapped_key.ciphertext
    assert blob.read_bytes() == before  # no blob rewrite
    assert cipher.decrypt_bytes(blob, new, expected_context=CTX) == b"payload" * 50

    # retire the old KEK: the old wrapped key is shredded, the rewrapped one still works
    with pytest.raises(ConflictError):
        ring.retire("kek-0002")
    with pytest.raises(NotFoundError):
        ring.retire("kek-0009")
    ring.retire("kek-0001")
    ring.retire("kek-0001")  # idempotent
    for r in (ring, LocalKeyring.open(path, PASS)):
        with pytest.raises(KeyAccessError, match="retired"):
            BlobCipher(r).decrypt_bytes(blob, sealed.wrapped_key)
        assert BlobCipher(r).decrypt_bytes(blob, new) == b"payload" * 50
    assert ring.rotate() == "kek-0003"  # ids are never reused
    assert kr._unb64(ring._doc["keks"]["kek-0003"]["key"]) != b""
    assert "kek-0001" not in ring._doc["keks"]


def test_rewrap_rejects_wrong_key(path: Path, tmp_path: Path) -> None:
    ring = LocalKeyring.create(path, PASS)
    cipher = BlobCipher(ring, segment_size=64)
    a = cipher.encrypt_file(_src(tmp_path, b"a"), tmp_path / "a", CTX)
    b = cipher.encrypt_file(_src(tmp_path, b"b"), tmp_path / "b", CTX)
    with pytest.raises(KeyAccessError):
        cipher.rewrap(tmp_path / "a", b.wrapped_key)
    assert cipher.rewrap(tmp_path / "a", a.wrapped_key).kek_id == "kek-0001"


def _src(d: Path, data: bytes) -> Path:
    p = d / f"src-{data.hex()}"
    p.write_bytes(data)
    return p


# ------------------------------------------------------------------------------ other keys


def test_signing_keys(path: Path) -> None:
    ring = LocalKeyring.create(path, PASS)
    audit = ring.signing_key("audit")
    model = ring.signing_key("model")
    raw = audit.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    assert raw != model.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    again = LocalKeyring.open(path, PASS).signing_key("audit")
    assert again.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()) == raw
    sig = audit.sign(b"checkpoint")
    again.public_key().verify(sig, b"checkpoint")
    info = ring.describe()
    assert set(info["signing"]) == {"audit", "model"}
    assert info["signing"]["audit"]["public_key"] == audit.public_key().public_bytes_raw().hex()
    for bad in ("", "Audit", "a b", "../x", 3):
        with pytest.raises(InputError):
            ring.signing_key(bad)  # type: ignore[arg-type]


def test_hmac_keys_versioned(path: Path) -> None:
    ring = LocalKeyring.create(path, PASS)
    v1, k1 = ring.hmac_key("hospital-a")
    assert v1 == 1 and len(k1) == 32
    assert ring.hmac_key("hospital-a", 1) == (1, k1)
    assert ring.hmac_key("hospital-b")[1] != k1
    with pytest.raises(KeyAccessError, match="version 2"):
        ring.hmac_key("hospital-a", 2)
    assert ring.rotate_hmac("hospital-a") == 2
    v2, k2 = ring.hmac_key("hospital-a")
    assert v2 == 2 and k2 != k1
    reopened = LocalKeyring.open(path, PASS)
    assert reopened.hmac_key("hospital-a", 1) == (1, k1)
    assert reopened.hmac_key("hospital-a") == (2, k2)
    assert reopened.describe()["hmac"] == {"hospital-a": [1, 2], "hospital-b": [1]}
    for bad in ("", "a/b", " x"):
        with pytest.raises(InputError):
            ring.hmac_key(bad)


def test_two_instances_see_each_others_keys(path: Path) -> None:
    """Updates re-read the file under a lock: no lost keys between processes/instances."""
    a = LocalKeyring.create(path, PASS)
    b = LocalKeyring.open(path, PASS)
    key_a = a.signing_key("audit")
    key_b = b.signing_key("audit")  # b missed it in memory, re-reads instead of creating
    assert key_a.private_bytes_raw() == key_b.private_bytes_raw()
    assert a.hmac_key("p") == b.hmac_key("p")
    assert a.rotate() == "kek-0002"
    w = a.wrap(b"q" * 32, b"aad")
    assert b.unwrap(w, b"aad") == b"q" * 32  # unknown id -> refresh from disk
    assert b.rotate() == "kek-0003"  # not a second kek-0002
    assert set(LocalKeyring.open(path, PASS)._doc["keks"]) == {"kek-0001", "kek-0002", "kek-0003"}


_RACE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from privtrain.crypto import LocalKeyring
    ring = LocalKeyring.open(Path(sys.argv[1]), sys.argv[2])
    print(ring.signing_key("audit").private_bytes_raw().hex(), ring.hmac_key("race")[1].hex())
    """
)


def test_concurrent_processes_agree(path: Path) -> None:
    LocalKeyring.create(path, PASS)
    env = {**os.environ, "PRIVTRAIN_KDF_PROFILE": "fast"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACE, str(path), PASS], stdout=subprocess.PIPE, env=env
        )
        for _ in range(4)
    ]
    outs = {p.communicate(timeout=120)[0] for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(outs) == 1  # everyone got the same signing key and pseudonym key


# ------------------------------------------------------------------------------ no secrets


def test_no_key_material_or_passphrase_in_clear(path: Path) -> None:
    ring = LocalKeyring.create(path, PASS)
    ring.rotate()
    secrets = [_raw_kek(ring, "kek-0001"), _raw_kek(ring, "kek-0002")]
    secrets.append(ring.signing_key("audit").private_bytes_raw())
    secrets.append(ring.signing_key("model").private_bytes_raw())
    secrets.append(ring.hmac_key("proj")[1])
    assert sorted(ring._secret_material_for_tests()) == sorted(secrets)
    needles: list[bytes] = []
    for s in secrets:
        needles += [s, s.hex().encode(), base64.b64encode(s), base64.b64encode(s)[:16]]
    for enc in ("utf-8", "utf-16-le", "utf-16-be"):
        needles.append(PASS.encode(enc))
    needles.append(b"tr0ub4dor")
    needles += [b"kek-0001", b"audit", b"proj"]  # not even the names leak
    for f in path.parent.iterdir():
        content = f.read_bytes()
        for n in needles:
            assert n not in content, f"{f.name} contains secret material"
    info = repr(ring.describe()) + repr(ring)
    for s in secrets:
        assert s.hex() not in info and base64.b64encode(s).decode() not in info


def test_mac_keys_are_created_once_and_persisted(path: Path) -> None:
    ring = LocalKeyring.create(path, PASS)
    k = ring.mac_key("catalog")
    assert len(k) == 32 and k != ring.mac_key("audit")
    assert LocalKeyring.open(path, PASS).mac_key("catalog") == k
    assert ring.describe()["mac"] == ["audit", "catalog"]
    assert k not in path.read_bytes()
    with pytest.raises(InputError):
        ring.mac_key("Bad Purpose")


def test_undo_rotate_restores_the_previous_kek(path: Path) -> None:
    ring = LocalKeyring.create(path, PASS)
    w = ring.wrap(b"k" * 32, b"a")
    new = ring.rotate()
    assert ring.live_kek_ids() == ["kek-0001", new]
    ring.undo_rotate(new, "kek-0001")
    assert ring.active_kek_id() == "kek-0001" and ring.live_kek_ids() == ["kek-0001"]
    assert LocalKeyring.open(path, PASS).unwrap(w, b"a") == b"k" * 32
    with pytest.raises(ConflictError):
        ring.undo_rotate(new, "kek-0001")


def test_non_utf8_passphrase_is_an_input_error(path: Path) -> None:
    LocalKeyring.create(path, PASS)
    with pytest.raises(InputError, match="UTF-8"):
        LocalKeyring.open(path, "pass\udcffword")
