"""Signed model cards: a DSSE envelope over an in-toto Statement v1.

The statement's subject is the model's SHA-256 (of the serialized weights, before
encryption); its predicate holds the privacy facts (mechanism, accountant, ε, δ, noise
multiplier, clipping norm, sample rate, steps, datasets with versions and ciphertext hashes,
code version), quality on a held-out split and compute cost. Signed with Ed25519 over DSSE's
pre-authentication encoding (PAE). Access decisions read ε only from a verified card.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from privtrain.errors import IntegrityError

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "urn:privtrain:model-card:v1"


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:32]


def statement(subject_name: str, sha256: str, predicate: dict[str, Any]) -> dict[str, Any]:
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": subject_name, "digest": {"sha256": sha256}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }


def sign(stmt: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    payload = _canonical(stmt)
    sig = key.sign(pae(PAYLOAD_TYPE, payload))
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": key_id(key.public_key()), "sig": base64.b64encode(sig).decode()}],
    }


def verify(
    envelope: dict[str, Any], public_key: Ed25519PublicKey, *, what: str = "model card"
) -> dict[str, Any]:
    """Verify the envelope's signature and return the statement; IntegrityError otherwise
    (also for a missing or malformed envelope: never an AttributeError)."""
    if not isinstance(envelope, dict):
        raise IntegrityError(f"{what}: model card is missing or not a DSSE envelope")
    try:
        if envelope.get("payloadType") != PAYLOAD_TYPE:
            raise IntegrityError(
                f"{what}: model card has unexpected payloadType {envelope.get('payloadType')!r}"
            )
        payload = base64.b64decode(envelope["payload"], validate=True)
        sigs = envelope["signatures"]
        if not isinstance(sigs, list):
            raise TypeError("signatures")
    except (KeyError, TypeError, ValueError) as e:
        raise IntegrityError(f"{what}: malformed DSSE envelope ({e.__class__.__name__})") from e
    kid = key_id(public_key)
    for s in sigs:
        if not isinstance(s, dict) or s.get("keyid") != kid:
            continue
        try:
            public_key.verify(base64.b64decode(s["sig"], validate=True), pae(PAYLOAD_TYPE, payload))
        except (InvalidSignature, KeyError, ValueError):
            continue
        try:
            stmt = json.loads(payload)
        except ValueError as e:
            raise IntegrityError(f"{what}: signed payload is not JSON") from e
        if (
            not isinstance(stmt, dict)
            or stmt.get("_type") != STATEMENT_TYPE
            or stmt.get("predicateType") != PREDICATE_TYPE
        ):
            raise IntegrityError(f"{what}: not a privtrain model-card statement")
        return stmt
    raise IntegrityError(f"{what}: no valid signature by the model-signing key {kid}")


def subject_digest(stmt: dict[str, Any]) -> str:
    try:
        digest = stmt["subject"][0]["digest"]["sha256"]
        if not isinstance(digest, str):
            raise TypeError("sha256")
        return digest
    except (KeyError, IndexError, TypeError) as e:
        raise IntegrityError("model card statement has no sha256 subject") from e
