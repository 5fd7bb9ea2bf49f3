"""Homomorphic aggregation with TenSEAL CKKS: key ceremony, packing, encrypt / add / decrypt.

Parameters (addition only, no multiplication depth): ring degree N=4096 (2048 slots),
coefficient moduli [60, 49] bits, scale 2^40, symmetric-key encryption (the sites encrypt with
the secret key they hold anyway; the server's context has no key at all). Each complex slot
carries two values (real and imaginary part): a ciphertext of 4096 values serializes to about
64 KiB, 4.0× the fp32 bytes it carries; the decryption error of a sum of a few updates is ~1e-9
(SECURITY.md justifies the choice).

Ceremony: one party runs :func:`keygen` (``privtrain fed keygen``), which stores the secret
context in its own home (encrypted under a key held in its keyring), writes the *public*
context for the server, and a key share (the secret context encrypted under a share
passphrase) for the other sites, which import it into their homes (``privtrain fed import-key``).
The server side loads only secret-free contexts: :func:`load_public` refuses one holding a
secret key.

A site's update is packed into one flat vector — every parameter of every layer, in state-dict
order, followed by the site's weight — multiplied by the weight and split into full ciphertexts of
4096 values. The server adds ciphertexts slot-wise; a site decrypts the sum and divides by its
last slot (the sum of the weights): FedAvg without the server seeing any one update.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from privtrain._io import atomic_write_bytes
from privtrain.errors import (
    ConfigError,
    IntegrityError,
    KeyAccessError,
    NotFoundError,
)

POLY_MODULUS_DEGREE = 4096
COEFF_MOD_BIT_SIZES = (60, 49)
SCALE_BITS = 40
SLOTS = POLY_MODULUS_DEGREE // 2
_SHARE_MAGIC = b"privtrain-he-share/1\n"
_STORE_MAGIC = b"privtrain-he-secret/1\n"
_FED_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _ts() -> Any:
    import tenseal

    return tenseal


def _sa() -> Any:
    import tenseal.sealapi

    return tenseal.sealapi


def check_federation(name: str) -> str:
    if not isinstance(name, str) or not _FED_NAME.match(name):
        raise ConfigError(f"federation name {name!r} must match [A-Za-z0-9][A-Za-z0-9._-]*")
    return name


# ---- contexts ----------------------------------------------------------------------------------


def new_secret_context() -> Any:
    """A symmetric-key CKKS context: the sites, which all hold the secret key to decrypt the
    sum, encrypt with it directly (about half the work of public-key encryption); no public
    key exists, so whoever holds only the server's context can neither decrypt nor encrypt."""
    ts = _ts()
    ctx = ts.context(
        ts.SCHEME_TYPE.CKKS,
        poly_modulus_degree=POLY_MODULUS_DEGREE,
        coeff_mod_bit_sizes=list(COEFF_MOD_BIT_SIZES),
        encryption_type=ts.ENCRYPTION_TYPE.SYMMETRIC,
    )
    ctx.global_scale = 2**SCALE_BITS
    return ctx


def public_bytes(ctx: Any) -> bytes:
    """The server's context: the parameters and, for a public-key context, its public key —
    never the secret key (nor relinearization/Galois keys, which addition does not need). Of
    a symmetric context (:func:`new_secret_context`) only the parameters remain."""
    return bytes(
        ctx.serialize(
            save_public_key=True,
            save_secret_key=False,
            save_galois_keys=False,
            save_relin_keys=False,
        )
    )


def secret_bytes(ctx: Any) -> bytes:
    return bytes(ctx.serialize(save_secret_key=True, save_galois_keys=False))


def _context_from(data: bytes, what: str) -> Any:
    ts = _ts()
    try:
        return ts.context_from(data)
    except Exception as e:
        raise IntegrityError(f"{what}: not a TenSEAL context ({type(e).__name__})") from None


def load_public(data: bytes, *, what: str = "HE public context") -> Any:
    """Server side: a public CKKS context. A context that holds a secret key is refused: the
    aggregator must never be able to decrypt an update."""
    ctx = _context_from(data, what)
    if ctx.is_private():
        raise KeyAccessError(
            f"{what} holds a secret key: the server accepts only the public context "
            "(`privtrain fed keygen` writes it)"
        )
    _check_params(ctx, what)
    return ctx


def load_secret(data: bytes, *, what: str = "HE secret context") -> Any:
    ctx = _context_from(data, what)
    if not ctx.is_private():
        raise KeyAccessError(f"{what} holds no secret key")
    _check_params(ctx, what)
    return ctx


def _check_params(ctx: Any, what: str) -> None:
    # A round-trip of a tiny vector checks the scheme is CKKS with our scale.
    if int(round(np.log2(ctx.global_scale))) != SCALE_BITS:
        raise ConfigError(f"{what}: scale 2^{np.log2(ctx.global_scale):.0f}, expected 2^40")


def fingerprint(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()[:16]


# ---- packing -----------------------------------------------------------------------------------


def pack(weights: Mapping[str, np.ndarray], weight: float) -> np.ndarray:
    """All parameters of all layers in state-dict order, times ``weight``, then ``weight``."""
    flat = [np.asarray(v, dtype=np.float64).ravel() for v in weights.values()]
    body = np.concatenate(flat) if flat else np.zeros(0)
    return np.concatenate([body * float(weight), [float(weight)]])


def unpack(vector: np.ndarray, template: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Average from a summed packed vector: divide by the weight sum (last slot), reshape."""
    total = float(vector[-1])
    if not total > 0:
        raise IntegrityError("HE aggregate: the weight sum is not positive")
    body = np.asarray(vector[:-1], dtype=np.float64) / total
    out: dict[str, np.ndarray] = {}
    i = 0
    for k, v in template.items():
        n = int(np.prod(v.shape)) if v.shape else 1
        out[k] = body[i : i + n].reshape(v.shape).astype(v.dtype)
        i += n
    if i != len(body):
        raise IntegrityError(f"HE aggregate has {len(body)} values, the model {i}")
    return out


# Each complex slot carries two values (real and imaginary part): CKKS adds complex slots
# componentwise, so a sum of ciphertexts is the sum of both halves.
VALUES_PER_CIPHERTEXT = 2 * SLOTS


def n_chunks(length: int) -> int:
    return -(-length // VALUES_PER_CIPHERTEXT)


class _Seal:
    """SEAL's encoder, encryptor, evaluator and decryptor for one TenSEAL context.

    TenSEAL's ``CKKSVector`` encodes real values only (half the slot capacity) and its
    serializer has no way around SEAL's compressor, so the ciphertexts are built with SEAL's
    own API (``tenseal.sealapi``). SEAL serializes a single ciphertext only to a path: that
    path is an anonymous in-memory file (``memfd``), never a file on disk."""

    def __init__(self, ctx: Any, *, secret: bool) -> None:
        sa = _sa()
        self.sc = ctx.seal_context().data
        self.scale = float(ctx.global_scale)
        self.encoder = sa.CKKSEncoder(self.sc)
        self.evaluator = sa.Evaluator(self.sc)
        if secret:
            sk = ctx.secret_key().data
            self.encryptor = sa.Encryptor(self.sc, sk)
            self.decryptor = sa.Decryptor(self.sc, sk)
        self._fd = os.memfd_create("privtrain-he", os.MFD_CLOEXEC)
        self._path = f"/proc/self/fd/{self._fd}"

    def dump(self, obj: Any) -> bytes:
        os.ftruncate(self._fd, 0)
        obj.save(self._path)
        return os.pread(self._fd, os.fstat(self._fd).st_size, 0)

    def load(self, data: bytes, what: str) -> Any:
        sa = _sa()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)
        ct = sa.Ciphertext()
        try:
            ct.load(self.sc, self._path)  # SEAL checks the ciphertext is valid for the context
        except Exception as e:
            raise IntegrityError(f"{what} is malformed ({str(e)[:80]})") from None
        if ct.size() != 2 or abs(ct.scale - self.scale) > 1e-6 * self.scale:
            raise IntegrityError(f"{what} is not a fresh CKKS ciphertext at scale 2^{SCALE_BITS}")
        return ct

    def close(self) -> None:
        os.close(self._fd)

    def __enter__(self) -> _Seal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def encrypt(ctx: Any, vector: np.ndarray) -> list[bytes]:
    """Full ciphertexts of 4096 values each (2048 complex slots; the last one zero-padded),
    encrypted with the secret key (symmetric CKKS): a context without one is refused."""
    if not ctx.is_private():
        raise KeyAccessError("HE encryption needs the federation's secret context")
    sa = _sa()
    rows = np.zeros((n_chunks(len(vector)), VALUES_PER_CIPHERTEXT))
    rows.reshape(-1)[: len(vector)] = vector
    out = []
    with _Seal(ctx, secret=True) as s:
        for row in rows:
            pt, ct = sa.Plaintext(), sa.Ciphertext()
            s.encoder.encode((row[:SLOTS] + 1j * row[SLOTS:]).tolist(), s.scale, pt)
            s.encryptor.encrypt_symmetric(pt, ct)
            out.append(s.dump(ct))
    return out


MAX_CIPHERTEXTS = 1 << 16  # 268M values: far above any model a site trains here


def frame(chunks: Sequence[bytes]) -> dict[str, np.ndarray]:
    """Ciphertexts as two arrays for a Flower ``ArrayRecord``: ``sizes`` (uint64) and
    ``data`` (their bytes, concatenated). Flower sends every Array as its own object (a
    request each way, hashed at every hop): one array per ciphertext made 253 objects a
    message at 1M parameters, and most of a Deployment Engine round."""
    sizes = np.fromiter((len(c) for c in chunks), dtype=np.uint64, count=len(chunks))
    data = np.frombuffer(b"".join(chunks), dtype=np.uint8)
    return {"sizes": sizes, "data": data}


def unframe(arrays: Mapping[str, np.ndarray], *, what: str) -> list[bytes]:
    """The ciphertexts of :func:`frame`; IntegrityError naming ``what`` when the record is
    not that (missing or extra arrays, sizes that do not add up)."""
    if set(arrays) != {"sizes", "data"}:
        raise IntegrityError(f"{what}: expected arrays 'sizes' and 'data', got {sorted(arrays)}")
    sizes, data = np.asarray(arrays["sizes"]), np.asarray(arrays["data"])
    if sizes.dtype != np.uint64 or sizes.ndim != 1 or data.dtype != np.uint8 or data.ndim != 1:
        raise IntegrityError(f"{what}: sizes must be uint64 and data uint8, both 1-D")
    if not 0 < len(sizes) <= MAX_CIPHERTEXTS or int(sizes.min()) == 0:
        raise IntegrityError(f"{what}: {len(sizes)} ciphertexts or an empty one")
    ends = np.cumsum(sizes, dtype=np.uint64)
    if int(ends[-1]) != len(data):
        raise IntegrityError(f"{what}: ciphertext sizes add up to {int(ends[-1])}, not {len(data)}")
    raw = data.tobytes()
    starts = [0, *(int(e) for e in ends[:-1])]
    return [raw[a : int(b)] for a, b in zip(starts, ends, strict=True)]


def add(public_ctx: Any, updates: Sequence[Sequence[bytes]]) -> list[bytes]:
    """Server side: slot-wise sum of the sites' ciphertexts (no decryption possible)."""
    if not updates:
        raise ConfigError("HE aggregation needs at least one update")
    n = len(updates[0])
    if any(len(u) != n for u in updates):
        raise IntegrityError("HE updates have different numbers of ciphertexts")
    out = []
    with _Seal(public_ctx, secret=False) as s:
        for j in range(n):
            acc = s.load(updates[0][j], f"HE update ciphertext {j}")
            for u in updates[1:]:
                s.evaluator.add_inplace(acc, s.load(u[j], f"HE update ciphertext {j}"))
            out.append(s.dump(acc))
    return out


def decrypt(secret_ctx: Any, chunks: Sequence[bytes], length: int) -> np.ndarray:
    if len(chunks) != n_chunks(length):
        raise IntegrityError(
            f"HE aggregate has {len(chunks)} ciphertexts, expected {n_chunks(length)}"
        )
    if not secret_ctx.is_private():
        raise KeyAccessError("HE decryption needs the federation's secret context")
    sa = _sa()
    parts = []
    with _Seal(secret_ctx, secret=True) as s:
        for j, c in enumerate(chunks):
            pt = sa.Plaintext()
            s.decryptor.decrypt(s.load(c, f"HE aggregate ciphertext {j}"), pt)
            z = np.asarray(s.encoder.decode_complex(pt))
            parts += [z.real, z.imag]
    return np.concatenate(parts)[:length] if parts else np.zeros(0)


# ---- key storage in a home and key shares ------------------------------------------------------


def _aead(key: bytes) -> Any:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)


def _home_key(ws: Any, federation: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    _, ikm = ws.keys.hmac_key(f"fed-he.{federation}")
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"privtrain he secret context"
    ).derive(ikm)


def secret_path(ws: Any, federation: str) -> Path:
    return ws.settings.home / "federation" / f"{check_federation(federation)}.he.enc"


def public_path(ws: Any, federation: str) -> Path:
    return ws.settings.home / "federation" / f"{check_federation(federation)}.he.public"


def store_secret(ws: Any, federation: str, secret: bytes, public: bytes) -> Path:
    """Keep a site's secret context in its home, AES-256-GCM under a key from its keyring."""
    check_federation(federation)
    load_secret(secret)  # refuse to store anything else
    nonce = os.urandom(12)
    aad = _STORE_MAGIC + federation.encode()
    blob = _STORE_MAGIC + nonce + _aead(_home_key(ws, federation)).encrypt(nonce, secret, aad)
    p = secret_path(ws, federation)
    p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write_bytes(p, blob)
    atomic_write_bytes(public_path(ws, federation), public, mode=0o644)
    ws.record(
        "federation.he_key.store",
        f"federation:{federation}",
        details={"public_sha256": fingerprint(public)},
    )
    return p


def load_secret_from_home(ws: Any, federation: str) -> Any:
    p = secret_path(ws, federation)
    try:
        blob = p.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(
            f"no HE key for federation {federation!r} in {ws.settings.home} "
            "(run `privtrain fed keygen` or `privtrain fed import-key`)"
        ) from None
    if not blob.startswith(_STORE_MAGIC) or len(blob) < len(_STORE_MAGIC) + 28:
        raise IntegrityError(f"{p}: not a privtrain HE key file")
    nonce = blob[len(_STORE_MAGIC) : len(_STORE_MAGIC) + 12]
    body = blob[len(_STORE_MAGIC) + 12 :]
    from cryptography.exceptions import InvalidTag

    try:
        secret = _aead(_home_key(ws, federation)).decrypt(
            nonce, body, _STORE_MAGIC + federation.encode()
        )
    except InvalidTag:
        raise IntegrityError(f"{p}: HE key file fails authentication") from None
    return load_secret(secret, what=str(p))


def _share_key(passphrase: str, salt: bytes) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase.encode())


def export_share(federation: str, secret: bytes, passphrase: str) -> bytes:
    """The secret context for another site, encrypted under a share passphrase (scrypt,
    AES-256-GCM). Hand it over out of band with the passphrase on a separate channel."""
    if len(passphrase) < 12:
        raise ConfigError("the key-share passphrase must have at least 12 characters")
    salt, nonce = os.urandom(16), os.urandom(12)
    header = _SHARE_MAGIC + json.dumps({"federation": federation}).encode() + b"\n"
    return (
        header + salt + nonce + _aead(_share_key(passphrase, salt)).encrypt(nonce, secret, header)
    )


def import_share(data: bytes, passphrase: str, *, what: str = "key share") -> tuple[str, bytes]:
    from cryptography.exceptions import InvalidTag

    if not data.startswith(_SHARE_MAGIC):
        raise IntegrityError(f"{what}: not a privtrain HE key share")
    nl = data.find(b"\n", len(_SHARE_MAGIC))
    if nl < 0:
        raise IntegrityError(f"{what}: truncated")
    header = data[: nl + 1]
    try:
        federation = check_federation(json.loads(header[len(_SHARE_MAGIC) :])["federation"])
    except (ValueError, KeyError, TypeError):
        raise IntegrityError(f"{what}: bad header") from None
    rest = data[nl + 1 :]
    salt, nonce, body = rest[:16], rest[16:28], rest[28:]
    try:
        secret = _aead(_share_key(passphrase, salt)).decrypt(nonce, body, header)
    except InvalidTag:
        raise KeyAccessError(f"{what}: wrong passphrase or tampered share") from None
    return federation, secret


def keygen(ws: Any, federation: str) -> tuple[bytes, bytes]:
    """New per-federation CKKS context: the secret one is stored in ``ws``'s home; returns
    (public context bytes, secret context bytes) — the caller hands the secret on only as an
    encrypted share."""
    check_federation(federation)
    if secret_path(ws, federation).exists():
        from privtrain.errors import ConflictError

        raise ConflictError(f"federation {federation!r} already has an HE key in this home")
    ctx = new_secret_context()
    pub, sec = public_bytes(ctx), secret_bytes(ctx)
    store_secret(ws, federation, sec, pub)
    return pub, sec
