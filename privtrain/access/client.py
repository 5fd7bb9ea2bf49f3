"""Client of the registry service (``privtrain get``): download to a temp file, verify, rename.

Nothing appears at ``out`` unless the whole download arrived and verified:

- the body is streamed into a temp file next to ``out`` (same filesystem), fsynced;
- a dataset must have exactly ``Content-Length`` bytes (a server killed mid-download leaves a
  short body: refused, temp removed);
- a model's signed card is verified here, by the client: DSSE Ed25519 signature with the
  model-signing public key, subject name ``model:NAME@vN`` and subject SHA-256 equal to the
  downloaded bytes, DP facts from the verified card only;
- only then is the temp file renamed to ``out`` (and the directory fsynced).

The model-signing key is pinned by the caller (``--model-key HEX`` / ``PRIVTRAIN_MODEL_KEY``,
from ``privtrain access model-key`` run by the custodian). Without a pin the client fetches
``/v1/keys`` from the same server (trust on first use; the key id is returned so it can be
compared out of band): that protects against transport damage and storage tampering on the
server, not against a server that lies about its own key.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from privtrain import modelcard
from privtrain._io import fsync_dir
from privtrain.errors import (
    ALL_ERRORS,
    AccessDenied,
    BusyError,
    ConfigError,
    InputError,
    IntegrityError,
    NotFoundError,
    PrivtrainError,
)

_CHUNK = 1 << 20
# The service answers with the ``kind`` of the library error; map it back to the same class.
_CODES: dict[str, type[PrivtrainError]] = {
    **{cls.kind: cls for cls in ALL_ERRORS if cls is not PrivtrainError},
    "unauthenticated": AccessDenied,
    "invalid-request": InputError,
}


@dataclass(frozen=True)
class Fetched:
    kind: str
    ref: str
    out: Path
    bytes: int
    sha256: str  # of a model (checked against its card); "" for a dataset
    keyid: str | None = None
    card: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["out"] = str(self.out)
        return d


def _raise_for(resp: httpx.Response, what: str) -> None:
    if resp.status_code < 400:
        return
    try:
        resp.read()
        err = resp.json()["error"]
        code, msg = str(err["code"]), str(err["message"])
    except Exception:
        code, msg = "http", f"HTTP {resp.status_code}"
    cls = _CODES.get(code, PrivtrainError)
    raise cls(f"{what}: server said {resp.status_code} {code}: {msg}")


def _client(server: str, token: str | None, timeout: float, verify: bool | str) -> httpx.Client:
    if not server.startswith(("http://", "https://")):
        raise InputError(f"--server {server!r} must start with http:// or https://")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if isinstance(verify, str):
        verify = ssl.create_default_context(cafile=verify)  # type: ignore[assignment]
    return httpx.Client(
        base_url=server.rstrip("/"), headers=headers, timeout=timeout, verify=verify
    )


def _pinned_key(value: str) -> Ed25519PublicKey:
    try:
        raw = bytes.fromhex(value.strip())
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise InputError(
            "model key must be the 64-hex-digit Ed25519 public key (`privtrain access model-key`)"
        ) from None


def fetch(
    server: str,
    kind: str,
    ref: str,
    out: Path,
    *,
    token: str | None,
    model_key: str | None = None,
    timeout: float = 60.0,
    verify_tls: bool | str = True,
    purpose: str = "export",
) -> Fetched:
    """Download dataset or model ``ref`` from ``server`` to ``out`` (see module docstring)."""
    if purpose not in ("export", "read"):
        raise InputError(f"purpose must be export or read, not {purpose!r}")
    if kind not in ("dataset", "model"):
        raise InputError(f"kind must be dataset or model, not {kind!r}")
    if not token:
        raise ConfigError("no token: set PRIVTRAIN_TOKEN (from `privtrain tokens issue`)")
    out = Path(out)
    if out.is_dir():
        raise InputError(f"--out {out} is a directory")
    if not out.parent.is_dir():
        raise NotFoundError(f"output directory {out.parent} does not exist")
    what = f"{kind} {ref}"
    try:
        with _client(server, token, timeout, verify_tls) as c:
            envelope = key = None
            if kind == "model":
                key = _pinned_key(model_key) if model_key else _server_key(c)
                r = c.get(f"/v1/models/{_q(ref)}/card")
                _raise_for(r, what)
                envelope = r.json().get("envelope")
                path = f"/v1/models/{_q(ref)}/content"
            else:
                path = f"/v1/datasets/{_q(ref)}/content?purpose={purpose}"
            return _download(c, verify_tls, path, out, what, kind, ref, envelope, key)
    except (ssl.SSLCertVerificationError, httpx.ConnectError) as e:
        if "CERTIFICATE_VERIFY_FAILED" not in str(e):
            raise BusyError(f"{what}: cannot reach {server} ({type(e).__name__}): {e}") from None
        raise IntegrityError(
            f"{what}: the TLS certificate of {server} is not trusted (pass its CA with --cacert)"
        ) from None
    except (httpx.TransportError, http.client.HTTPException, ConnectionError, TimeoutError) as e:
        raise BusyError(
            f"{what}: transfer from {server} failed ({type(e).__name__}): {e}"
        ) from None


def _q(ref: str) -> str:
    from urllib.parse import quote

    return quote(ref, safe="@")


def _server_key(c: httpx.Client) -> Ed25519PublicKey:
    r = c.get("/v1/keys")
    _raise_for(r, "model-signing key")
    return _pinned_key(r.json()["model_signing"]["public_key_hex"])


def _connection(c: httpx.Client, verify: bool | str) -> http.client.HTTPConnection:
    """A stdlib connection for the body: ``readinto`` a 1 MiB buffer (httpx reads 64 KiB at a
    time, which costs a streamed download about half its throughput on a busy machine)."""
    u = c.base_url
    timeout = c.timeout.read
    if u.scheme == "https":
        ctx = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
        if verify is False:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection(u.host, u.port, timeout=timeout, context=ctx)
    return http.client.HTTPConnection(u.host, u.port, timeout=timeout)


def _download(
    c: httpx.Client,
    verify: bool | str,
    path: str,
    out: Path,
    what: str,
    kind: str,
    ref: str,
    envelope: Any,
    key: Ed25519PublicKey | None,
) -> Fetched:
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        n = 0
        conn = _connection(c, verify)
        try:
            conn.request("GET", path, headers={"Authorization": c.headers["Authorization"]})
            resp = conn.getresponse()
            if resp.status >= 400:
                _raise_for(httpx.Response(resp.status, content=resp.read()), what)
            expected = resp.getheader("Content-Length")
            served_ref = resp.getheader("X-Privtrain-Ref", "")
            buf = memoryview(bytearray(_CHUNK))
            with os.fdopen(fd, "wb") as f:
                while got := resp.readinto(buf):
                    f.write(buf[:got])
                    if kind == "model":  # checked against the signed card below
                        h.update(buf[:got])
                    n += got
                f.flush()
                os.fsync(f.fileno())
        finally:
            conn.close()
        if expected is not None and int(expected) != n:
            raise IntegrityError(f"{what}: got {n} of {expected} bytes; nothing written")
        digest = h.hexdigest() if kind == "model" else ""
        card = keyid = None
        if kind == "model":
            assert key is not None
            stmt = modelcard.verify(envelope, key, what=f"{what} card")
            name = served_ref.removeprefix("model:")
            wanted = name == ref if "@v" in ref else name.startswith(ref + "@v")
            if stmt["subject"][0].get("name") != f"model:{name}" or not wanted:
                raise IntegrityError(f"{what}: the signed card names another model")
            if modelcard.subject_digest(stmt) != digest:
                raise IntegrityError(f"{what}: downloaded bytes do not match the signed card")
            card, keyid = stmt["predicate"], modelcard.key_id(key)
        os.replace(tmp, out)
        fsync_dir(out.parent)
        return Fetched(kind, served_ref or ref, out, n, digest, keyid, card)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
