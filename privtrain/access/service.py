"""The registry service (``privtrain serve``): FastAPI over the library verbs.

The service process holds the home (the custodian's passphrase) and decrypts server-side for
authorized callers only; callers present a bearer token (``privtrain tokens issue``) and never
see a key. Every request with a resource passes :func:`privtrain.access.authorize` (deny by
default, every decision audited); a token's scope narrows what it can be used for before the
policies are asked.

Endpoints (OpenAPI at ``/openapi.json``)::

    GET /v1/health                      liveness (no token)
    GET /v1/keys                        the model-signing public key (to pin in clients)
    GET /v1/whoami                      the token's principal
    GET /v1/datasets                    datasets the caller may see (dataset.show)
    GET /v1/datasets/{ref}              one dataset's metadata (dataset.show)
    GET /v1/datasets/{ref}/content      the decrypted dataset, streamed (dataset.export)
    GET /v1/models                      models the caller may see (model.show)
    GET /v1/models/{ref}                one model's metadata (model.show)
    GET /v1/models/{ref}/card           its signed card, a DSSE envelope (model.show)
    GET /v1/models/{ref}/content        the verified model bytes (model.export)

Errors are JSON ``{"error": {"code": ..., "message": ...}}`` with a stable ``code`` (the
``kind`` of :mod:`privtrain.errors`, or ``invalid-request`` / ``not-found`` /
``method-not-allowed`` / ``internal``); never a stack trace.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException as StarletteHTTPException

from privtrain import datasets, modelcard, models
from privtrain.access._authorizer import authorize
from privtrain.access._identities import (
    AuthenticationError,
    PrincipalInfo,
    TokenInfo,
    authenticate,
    scope_allows,
)
from privtrain.errors import (
    AccessDenied,
    BusyError,
    ConfigError,
    ConflictError,
    InputError,
    IntegrityError,
    KeyAccessError,
    NotFoundError,
    PrivtrainError,
)

if TYPE_CHECKING:
    from privtrain.workspace import Workspace

log = logging.getLogger(__name__)

API_VERSION = "1"
_STATUS: list[tuple[type[PrivtrainError], int]] = [
    (AuthenticationError, 401),
    (AccessDenied, 403),
    (NotFoundError, 404),
    (InputError, 400),
    (ConflictError, 409),
    (KeyAccessError, 410),
    (BusyError, 503),
    (IntegrityError, 500),
    (ConfigError, 500),
]


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "malformed request"},
    401: {"model": ErrorBody, "description": "missing, malformed, unknown, expired or revoked"},
    403: {"model": ErrorBody, "description": "denied by policy or token scope"},
    404: {"model": ErrorBody, "description": "no such dataset or model"},
    422: {"model": ErrorBody, "description": "invalid parameters"},
}

RefParam = Annotated[
    str,
    Path(
        min_length=1,
        max_length=300,
        description="NAME (latest version) or NAME@vN",
        examples=["adult@v1"],
    ),
]


_bearer = HTTPBearer(auto_error=False, description="token from `privtrain tokens issue`")


def _caller(
    request: Request,
    cred: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> tuple[PrincipalInfo, TokenInfo]:
    """The bearer token's principal (401, audited, otherwise)."""
    return authenticate(request.app.state.ws, cred.credentials if cred is not None else None)


Caller = Annotated[tuple[PrincipalInfo, TokenInfo], Depends(_caller)]


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None):  # noqa: ANN202
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def _status_for(e: PrivtrainError) -> int:
    for cls, status in _STATUS:
        if isinstance(e, cls):
            return status
    return 500


def _public_key_info(ws: Workspace) -> dict[str, str]:
    pub = ws.keys.signing_key("model").public_key()
    raw = pub.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {
        "algorithm": "ed25519",
        "keyid": modelcard.key_id(pub),
        "public_key_hex": raw.hex(),
        "public_key_b64": base64.b64encode(raw).decode(),
    }


def create_app(ws: Workspace) -> FastAPI:
    """The FastAPI app serving ``ws`` (the service process holds the home)."""
    app = FastAPI(
        title="privtrain registry",
        version=API_VERSION,
        description=(
            "Datasets and models of one privtrain home, decrypted server-side for callers "
            "whose bearer token and the access policies allow it."
        ),
        docs_url=None,
        redoc_url=None,
    )
    app.state.ws = ws

    # ------------------------------------------------------------------ errors
    @app.exception_handler(PrivtrainError)
    async def _priv_error(request: Request, e: PrivtrainError) -> JSONResponse:
        status = _status_for(e)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if status >= 500:
            log.warning("request %s failed: %s", request.url.path, e.message)
        return _error(status, e.kind, e.message, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        errs = e.errors()
        where = ".".join(str(x) for x in errs[0].get("loc", ())) if errs else "request"
        msg = str(errs[0].get("msg")) if errs else "invalid request"
        return _error(422, "invalid-request", f"{where}: {msg}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException) -> JSONResponse:
        code = {404: "not-found", 405: "method-not-allowed"}.get(e.status_code, "http-error")
        msg = {404: "no such endpoint", 405: "method not allowed"}.get(
            e.status_code, "request refused"
        )
        return _error(e.status_code, code, msg)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, e: Exception) -> JSONResponse:
        log.error("unexpected %s on %s", type(e).__name__, request.url.path)
        return _error(500, "internal", "internal error (see the server log)")

    # ------------------------------------------------------------------ auth
    def authz(who: tuple[PrincipalInfo, TokenInfo], action: str, resource: str) -> str:
        """Authorize; returns the canonical resource (``dataset:NAME@vN``)."""
        p, t = who
        if not scope_allows(t, action):
            ws.audit.append(
                actor=p.name,
                action=f"access.{action}",
                resource=resource[:1024],
                decision="deny",
                details={"via": "http", "reason": "token scope", "token_id": t.id},
            )
            raise AccessDenied(f"token {t.id} is not scoped for {action}")
        dec = authorize(
            ws,
            p.name,
            action,
            resource,
            via="http",
            raise_on_deny=False,
            details={"token_id": t.id},
        )
        if not dec.allowed and dec.reason == "unknown resource":
            raise NotFoundError(f"no {resource}")
        dec.raise_for_deny()
        return dec.resource

    def visible(who: tuple[PrincipalInfo, TokenInfo], action: str, resource: str) -> bool:
        p, t = who
        if not scope_allows(t, action):
            return False
        return authorize(
            ws, p.name, action, resource, via="http", audit=False, raise_on_deny=False
        ).allowed

    def listed(
        who: tuple[PrincipalInfo, TokenInfo], kind: str, infos: Any, render: Any
    ) -> list[dict[str, Any]]:
        """The ``kind`` entries (datasets or models) the caller may see, and one audit event
        saying how many were shown."""
        out = [render(i) for i in infos if visible(who, f"{kind}.show", f"{kind}:{i.ref}")]
        ws.audit.append(
            actor=who[0].name,
            action=f"access.{kind}.list",
            resource=f"{kind}s",
            decision="info",
            details={"via": "http", "shown": len(out), "token_id": who[1].id},
        )
        return out

    # ------------------------------------------------------------------ routes
    @app.get("/v1/health", tags=["service"])
    def health() -> dict[str, str]:
        return {"status": "ok", "api": API_VERSION}

    @app.get("/v1/keys", tags=["service"])
    def keys() -> dict[str, Any]:
        return {"model_signing": _public_key_info(ws)}

    @app.get("/v1/whoami", tags=["service"], responses=_ERRORS)
    def whoami(who: Caller) -> dict[str, Any]:
        p, t = who
        return {"principal": p.to_dict(), "token": t.to_dict()}

    @app.get("/v1/datasets", tags=["datasets"], responses=_ERRORS)
    def list_datasets(who: Caller) -> list[dict[str, Any]]:
        return listed(who, "dataset", datasets.list_datasets(ws), _dataset_public)

    @app.get("/v1/datasets/{ref}", tags=["datasets"], responses=_ERRORS)
    def show_dataset(ref: RefParam, who: Caller) -> dict[str, Any]:
        res = authz(who, "dataset.show", f"dataset:{ref}")
        return _dataset_public(datasets.show(ws, res.removeprefix("dataset:")))

    @app.get(
        "/v1/datasets/{ref}/content",
        tags=["datasets"],
        responses={
            **_ERRORS,
            200: {"content": {"application/octet-stream": {}}, "description": "plaintext"},
            410: {"model": ErrorBody, "description": "dataset shredded"},
        },
        response_class=StreamingResponse,
    )
    def dataset_content(
        ref: RefParam,
        who: Caller,
        purpose: Annotated[
            Literal["export", "read"],
            Query(description="export: a copy to keep; read: to train on (a service's read)"),
        ] = "export",
    ) -> StreamingResponse:
        action = f"dataset.{purpose}"
        res = authz(who, action, f"dataset:{ref}")
        row = datasets.get(ws, res.removeprefix("dataset:"))
        chunks = datasets.stream_plaintext(ws, row, action=action)
        first = next(chunks, memoryview(b""))  # header/key errors: a JSON error, not a cut stream
        principal, token_id = who[0].name, who[1].id

        sent = [len(first)]

        def body() -> Iterator[memoryview]:
            if first:
                yield first
            for c in chunks:
                sent[0] += len(c)
                yield c

        def served() -> None:  # after the last byte went out (not reached if the stream broke)
            ws.audit.append(
                actor=principal,
                action=action,
                resource=res,
                decision="allow",
                details={
                    "via": "http",
                    "dataset_id": row.id,
                    "bytes": sent[0],
                    "token_id": token_id,
                },
            )

        return StreamingResponse(
            body(),
            media_type="application/octet-stream",
            headers={
                "Content-Length": str(row.plaintext_bytes),
                "X-Privtrain-Ref": res,
                "Cache-Control": "no-store",
            },
            background=BackgroundTask(served),
        )

    @app.get("/v1/models", tags=["models"], responses=_ERRORS)
    def list_models(who: Caller) -> list[dict[str, Any]]:
        return listed(who, "model", models.list_models(ws), lambda i: i.to_dict())

    @app.get("/v1/models/{ref}", tags=["models"], responses=_ERRORS)
    def show_model(ref: RefParam, who: Caller) -> dict[str, Any]:
        res = authz(who, "model.show", f"model:{ref}")
        return models.show(ws, res.removeprefix("model:")).to_dict()

    @app.get("/v1/models/{ref}/card", tags=["models"], responses=_ERRORS)
    def model_card(ref: RefParam, who: Caller) -> dict[str, Any]:
        res = authz(who, "model.show", f"model:{ref}")
        row = models.get(ws, res.removeprefix("model:"))
        return {"ref": row.ref, "envelope": row.card_json}

    @app.get(
        "/v1/models/{ref}/content",
        tags=["models"],
        responses={
            **_ERRORS,
            200: {"content": {"application/octet-stream": {}}, "description": "model bytes"},
        },
        response_class=Response,
    )
    def model_content(ref: RefParam, who: Caller) -> Response:
        res = authz(who, "model.export", f"model:{ref}")
        mref = res.removeprefix("model:")
        info, data = models.read_verified(ws, mref)  # signature, digest against the bytes
        ws.audit.append(
            actor=who[0].name,
            action="model.export",
            resource=res,
            decision="allow",
            details={"via": "http", "model_id": info.id, "token_id": who[1].id},
        )
        return Response(
            data,
            media_type="application/octet-stream",
            headers={"X-Privtrain-Ref": res, "Cache-Control": "no-store"},
        )

    return app


def _dataset_public(info: datasets.DatasetInfo) -> dict[str, Any]:
    d = info.to_dict()
    d.pop("schema", None)  # column names only on request through show; keep lists small
    return d


def serve(
    ws: Workspace,
    *,
    host: str = "127.0.0.1",
    port: int = 8750,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    log_level: str = "warning",
) -> None:
    """Run the service with uvicorn until interrupted. The policies are loaded (and validated)
    first: an invalid policy stops here with the validator's message (ConfigError)."""
    import uvicorn

    from privtrain.access._authorizer import authorizer_for

    authorizer_for(ws).state(ws)
    if (tls_cert is None) != (tls_key is None):
        raise ConfigError("--tls-cert and --tls-key go together")
    app = create_app(ws)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
        log_level=log_level,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=2,
    )
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ConfigError(f"cannot serve on {host}:{port}: {e.strerror or e}") from None
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
