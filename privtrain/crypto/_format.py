"""PTB1 on-disk format: constants, canonical context, header encode/parse, key derivation.

Every byte is specified in SECURITY.md, section "On-disk format (PTB1 streaming AEAD)".
Nothing here does file I/O beyond reading a header from an already open binary file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from privtrain.errors import InputError, IntegrityError

Context = dict[str, str | int]

MAGIC = b"PTB1"
VERSION = 1
SUITE_AES256GCM_HKDF_SHA256 = 1

FIXED_HEADER = struct.Struct(">4sBBI32s7sH")  # magic, version, suite, segment size, id, prefix, n
FIXED_HEADER_LEN = FIXED_HEADER.size  # 51
COMMITMENT_LEN = 32
FILE_ID_LEN = 32
NONCE_PREFIX_LEN = 7
TAG_LEN = 16
DATA_KEY_LEN = 32

MIN_SEGMENT = 16
MAX_SEGMENT = 8 << 20
DEFAULT_SEGMENT = 1 << 20
MAX_SEGMENTS = 1 << 32
MAX_CONTEXT_LEN = 0xFFFF
MAX_CONTEXT_INT = (1 << 63) - 1

LABEL_SEGMENT_KEY = b"privtrain/PTB1/segment-key"
LABEL_COMMITMENT = b"privtrain/PTB1/key-commitment"
WRAP_AAD_LABEL = b"privtrain/PTB1/wrap\x00"

_CTX_KEY_MAX = 128


def canonical_context(context: object, *, where: str = "context") -> bytes:
    """Canonical JSON of a Context: sorted keys, compact separators, UTF-8, no NaN.

    Keys are non-empty strings (at most 128 characters); values are str or int (not bool).
    Raises InputError naming the offending key.
    """
    if not isinstance(context, dict):
        raise InputError(
            f"{where} must be a dict of str -> str | int, got {type(context).__name__}"
        )
    for k, v in context.items():
        if not isinstance(k, str) or not k or len(k) > _CTX_KEY_MAX:
            raise InputError(f"{where}: keys must be non-empty strings of <= 128 characters")
        if isinstance(v, bool) or not isinstance(v, str | int):
            raise InputError(f"{where}: value of {k!r} must be str or int, got {type(v).__name__}")
        if isinstance(v, int) and not -MAX_CONTEXT_INT <= v <= MAX_CONTEXT_INT:
            raise InputError(f"{where}: value of {k!r} is out of the 64-bit range")
    try:
        raw = json.dumps(
            context, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
    except (UnicodeEncodeError, ValueError) as e:
        raise InputError(f"{where} is not encodable as UTF-8 JSON: {e.__class__.__name__}") from e
    if len(raw) > MAX_CONTEXT_LEN:
        raise InputError(f"{where} is {len(raw)} bytes as JSON; the limit is {MAX_CONTEXT_LEN}")
    return raw


def parse_context(raw: bytes, name: str) -> Context:
    """Parse the context bytes of a header; they must be canonical (else IntegrityError)."""
    try:
        value = json.loads(raw.decode("utf-8"))
        again = canonical_context(value)
    except (UnicodeDecodeError, ValueError, InputError, RecursionError) as e:
        raise IntegrityError(f"blob {name}: header field context is not valid JSON") from e
    if again != raw:
        raise IntegrityError(f"blob {name}: header field context is not canonical JSON")
    return value  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Header:
    segment_size: int
    file_id: bytes
    nonce_prefix: bytes
    context_bytes: bytes
    commitment: bytes

    @property
    def prefix_bytes(self) -> bytes:
        """The header without the commitment (what is hashed into the key derivation)."""
        return (
            FIXED_HEADER.pack(
                MAGIC,
                VERSION,
                SUITE_AES256GCM_HKDF_SHA256,
                self.segment_size,
                self.file_id,
                self.nonce_prefix,
                len(self.context_bytes),
            )
            + self.context_bytes
        )

    @property
    def header_hash(self) -> bytes:
        return hashlib.sha256(self.prefix_bytes).digest()

    def encode(self) -> bytes:
        return self.prefix_bytes + self.commitment

    def __len__(self) -> int:
        return FIXED_HEADER_LEN + len(self.context_bytes) + COMMITMENT_LEN


def _hkdf(data_key: bytes, salt: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(data_key)


def derive_keys(data_key: bytes, file_id: bytes, header_hash: bytes) -> tuple[bytes, bytes]:
    """(segment key, key commitment) for one blob."""
    seg = _hkdf(data_key, file_id, LABEL_SEGMENT_KEY + header_hash)
    com = _hkdf(data_key, file_id, LABEL_COMMITMENT + header_hash)
    return seg, com


def commitment_ok(expected: bytes, actual: bytes) -> bool:
    return hmac.compare_digest(expected, actual)


_NONCE_TAIL = struct.Struct(">IB")


def segment_nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + _NONCE_TAIL.pack(index, 1 if last else 0)


def wrap_aad(file_id: bytes, context_bytes: bytes) -> bytes:
    """Associated data for wrapping a blob's data key (the key provider adds the KEK id)."""
    return WRAP_AAD_LABEL + file_id + struct.pack(">H", len(context_bytes)) + context_bytes


def _read_exact(f: BinaryIO, n: int) -> bytes:
    chunks = []
    left = n
    while left:
        b = f.read(left)
        if not b:
            break
        chunks.append(b)
        left -= len(b)
    return b"".join(chunks)


def read_header(f: BinaryIO, name: str) -> Header:
    """Read and syntactically validate a PTB1 header (authenticity is checked later)."""
    fixed = _read_exact(f, FIXED_HEADER_LEN)
    if len(fixed) < 4 or fixed[:4] != MAGIC:
        raise IntegrityError(f"blob {name}: header field magic is not PTB1 (not a privtrain blob)")
    if len(fixed) < FIXED_HEADER_LEN:
        raise IntegrityError(f"blob {name}: header is truncated ({len(fixed)} bytes)")
    magic, version, suite, seg, file_id, prefix, n = FIXED_HEADER.unpack(fixed)
    if version != VERSION:
        raise IntegrityError(f"blob {name}: header field version is {version}; supported: 1")
    if suite != SUITE_AES256GCM_HKDF_SHA256:
        raise IntegrityError(f"blob {name}: header field suite is {suite}; supported: 1")
    if not MIN_SEGMENT <= seg <= MAX_SEGMENT:
        raise IntegrityError(f"blob {name}: header field segment_size {seg} is out of range")
    ctx = _read_exact(f, n)
    if len(ctx) < n:
        raise IntegrityError(f"blob {name}: header is truncated inside field context")
    parse_context(ctx, name)
    com = _read_exact(f, COMMITMENT_LEN)
    if len(com) < COMMITMENT_LEN:
        raise IntegrityError(f"blob {name}: header is truncated inside field key_commitment")
    return Header(seg, file_id, prefix, ctx, com)


def body_layout(body_len: int, segment_size: int, name: str) -> tuple[int, int]:
    """(number of segments, ciphertext length of the final segment) for a body length."""
    full = segment_size + TAG_LEN
    if body_len < TAG_LEN:
        raise IntegrityError(f"blob {name}: truncated: no final segment after the header")
    count, rem = divmod(body_len, full)
    if rem == 0:
        last_len = full
    elif rem < TAG_LEN:
        raise IntegrityError(
            f"blob {name}: truncated: segment {count} is {rem} bytes, shorter than its tag"
        )
    else:
        count += 1
        last_len = rem
    if count > MAX_SEGMENTS:
        raise IntegrityError(f"blob {name}: body has {count} segments; the limit is 2^32")
    return count, last_len
