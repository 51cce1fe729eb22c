"""OAuth2 client credentials (RFC 6749 §4.4) and the access tokens they buy: JWTs signed
with the server's Ed25519 key (RFC 8037 ``EdDSA``), valid ``BATTERYTRACE_TOKEN_TTL`` seconds,
carrying the client's scopes. Every request but the OpenAPI document and the health check
shows one; its client is looked up at each request, so a revocation holds from the next
(decision 039)."""

from __future__ import annotations

import base64
import contextlib
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

import jwt
import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import APIRouter, Depends, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.responses import Response
from fastapi.security import OAuth2
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from batterytrace.errors import AuthenticationError, Forbidden, LedgerKeyError, TokenExpired
from batterytrace.ledger import keys
from batterytrace.services import clients
from batterytrace.services.unit_of_work import UnitOfWork

ISSUER = "batterytrace"
ALGORITHM = "EdDSA"
_VERIFIED = 10_000  # tokens whose verified claims a server process keeps


class Tokens:
    """Issues and reads access tokens with the key at ``path`` (made there, mode 0600, the
    first time a server starts without one)."""

    def __init__(self, path: Path, ttl: int) -> None:
        self.ttl = ttl
        self.key = _key(path)
        self.public = self.key.public_key()
        self.verified: dict[str, dict[str, object]] = {}  # token -> its claims, until it expires

    def issue(self, client: clients.Client, scopes: list[str]) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": client.client_id,
            "scope": " ".join(scopes),
            "iat": now,
            "exp": now + self.ttl,
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, self.key, algorithm=ALGORITHM)

    def seal(self, secret: str) -> str:
        """``secret`` (a subscriber's signature token) encrypted for the store: AES-GCM under
        a key derived from the token key (HKDF, RFC 5869), which the database never holds."""
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self._sealing_key()).encrypt(nonce, secret.encode(), b"subscription")
        return base64.b64encode(nonce + sealed).decode()

    def unseal(self, sealed: str) -> str:
        raw = base64.b64decode(sealed)
        return AESGCM(self._sealing_key()).decrypt(raw[:12], raw[12:], b"subscription").decode()

    def _sealing_key(self) -> bytes:
        raw = self.key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return HKDF(hashes.SHA256(), 32, salt=None, info=b"batterytrace subscriptions").derive(raw)

    def read(self, token: str) -> dict[str, object]:
        """The token's claims; AuthenticationError for a forged, altered or expired one. A
        token whose signature was verified is not verified again until it expires (a
        client's revocation is checked at every request apart from this)."""
        known = self.verified.get(token)
        if known is not None and int(known["exp"]) > time.time():  # type: ignore[call-overload]
            return known
        claims = self._verify(token)
        if len(self.verified) >= _VERIFIED:
            self.verified.clear()  # bounded: at worst, tokens are verified again
        self.verified[token] = claims
        return claims

    def _verify(self, token: str) -> dict[str, object]:
        try:
            claims: dict[str, object] = jwt.decode(
                token,
                self.public,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "scope"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenExpired("access token: expired; ask /oauth/token for another") from None
        except jwt.PyJWTError:
            raise AuthenticationError("access token: not one this server signed") from None
        return claims


def _key(path: Path) -> Ed25519PrivateKey:
    if not path.exists():
        with contextlib.suppress(LedgerKeyError, FileExistsError):  # another process was first
            keys.write(path, Ed25519PrivateKey.generate())
    try:
        return keys.load_private(path)
    except LedgerKeyError as exc:
        raise LedgerKeyError(f"BATTERYTRACE_TOKEN_KEY: {exc}") from None


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: the client, the scopes its token carries and the organisation it acts
    for (None: the store's operator, decision 040)."""

    client_id: str
    scopes: frozenset[str]
    organisation: str | None

    @property
    def admin(self) -> bool:
        return "admin" in self.scopes


def caller(request: HTTPConnection) -> Caller:
    """The caller of a request (or WebSocket handshake), from its bearer token;
    AuthenticationError (401) when it has none, or a forged, expired or revoked one."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError("Authorization: needs a bearer access token (/oauth/token)")
    claims = request.app.state.tokens.read(token.strip())
    client_id = str(claims["sub"])
    uow: UnitOfWork = request.app.state.uow
    client = clients.active(uow, client_id)
    if client is None:
        raise AuthenticationError("access token: its client is revoked or unknown")
    return Caller(client_id, frozenset(str(claims["scope"]).split()), client.organisation)


# How the OpenAPI document declares the bearer token each route needs (`caller` reads it)
BEARER = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl="/oauth/token",
            scopes={
                "query": "Read: events, queries, the domain routes.",
                "capture": "Write: capture events, custody acts.",
                "admin": "Everything any scope allows, master data imports too.",
            },
        )
    ),
    scheme_name="OAuth2",
    description="A bearer access token from `POST /oauth/token` (client credentials); a token "
    "with the `admin` scope passes wherever another scope is named.",
    auto_error=False,
)


def needs(scope: str) -> Any:
    """A dependency: the caller, who must hold ``scope`` (or ``admin``); 403 otherwise."""

    declared = Security(BEARER, scopes=[scope])  # for the OpenAPI document alone

    # async: no I/O here, so no hop to the thread pool and back for every request (the
    # caller's lookup, which reads the store, stays a sync dependency, in the pool)
    async def check(who: Annotated[Caller, Depends(caller)], _: str | None = declared) -> Caller:
        if scope not in who.scopes and not who.admin:
            raise Forbidden(
                f"this request needs the {scope!r} scope; the token has "
                f"{', '.join(sorted(who.scopes)) or 'none'}"
            )
        return who

    return Depends(check)


router = APIRouter(tags=["Authentication"])

# An error of /oauth/token (RFC 6749 §5.2), with the members of a problem beside
_OAUTH_ERROR = {
    "type": "object",
    "required": ["error", "error_description", "type", "title", "status"],
    "properties": {
        "error": {
            "type": "string",
            "enum": [
                "invalid_request",
                "invalid_client",
                "invalid_scope",
                "unsupported_grant_type",
            ],
        },
        "error_description": {"type": "string"},
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
    },
}


_TOKEN_ROUTE: dict[str, Any] = dict(
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type"],
                        "properties": {
                            "grant_type": {"type": "string", "enum": ["client_credentials"]},
                            "client_id": {"type": "string"},
                            "client_secret": {"type": "string"},
                            "scope": {"type": "string", "example": "capture query"},
                        },
                    }
                }
            },
        }
    },
    responses={
        200: {
            "description": "The token (RFC 6749 §5.1).",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["access_token", "token_type", "expires_in", "scope"],
                        "properties": {
                            "access_token": {"type": "string"},
                            "token_type": {"type": "string", "enum": ["Bearer"]},
                            "expires_in": {"type": "integer"},
                            "scope": {"type": "string"},
                        },
                    }
                }
            },
        },
        400: {
            "description": "A malformed request or an unknown scope (RFC 6749 §5.2).",
            "content": {"application/json": {"schema": _OAUTH_ERROR}},
        },
        401: {
            "description": "Unknown client, wrong secret or revoked client.",
            "content": {"application/json": {"schema": _OAUTH_ERROR}},
        },
    },
)


# /auth/token is where PACT partners ask (PACT TS v2.3 §6.3), the same endpoint
@router.post(
    "/oauth/token",
    summary="An access token for client credentials (OAuth2, RFC 6749 §4.4).",
    **_TOKEN_ROUTE,
)
@router.post(
    "/auth/token",
    summary="The same token endpoint, where PACT partners ask for it (PACT TS §6.3).",
    **_TOKEN_ROUTE,
)
async def token(request: Request) -> Response:
    """Client credentials in the form body or HTTP Basic; ``scope`` may narrow the client's
    scopes. Errors are RFC 6749 §5.2 objects that are problem details too."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return _oauth_error(
            400, "invalid_request", "the body must be a form (application/x-www-form-urlencoded)"
        )
    raw = await request.body()
    try:
        form = {k: v[0] for k, v in parse_qs(raw.decode(), strict_parsing=False).items()}
    except UnicodeDecodeError:
        return _oauth_error(400, "invalid_request", "the form is not UTF-8")
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "grant_type: must be client_credentials")
    client_id, secret = form.get("client_id"), form.get("client_secret")
    basic = _basic(request.headers.get("authorization", ""))
    if basic is not None:
        client_id, secret = basic
    if not client_id or secret is None:
        return _oauth_error(401, "invalid_client", "client_id and client_secret: both needed")
    if "\x00" in client_id:  # in no client's id (and PostgreSQL cannot even look it up)
        return _oauth_error(
            401, "invalid_client", "client credentials: unknown client, wrong secret or revoked"
        )
    uow: UnitOfWork = request.app.state.uow
    try:
        client = await run_in_threadpool(clients.authenticate, uow, client_id, secret)
    except AuthenticationError as exc:
        return _oauth_error(401, "invalid_client", str(exc))
    asked = form.get("scope", "").split() or client.scopes
    extra = [s for s in asked if s not in client.scopes]
    if extra:
        return _oauth_error(
            400,
            "invalid_scope",
            f"scope: {' '.join(extra)} not granted "
            f"to this client (it has {' '.join(client.scopes)})",
        )
    tokens: Tokens = request.app.state.tokens
    granted = list(dict.fromkeys(asked))
    body = {
        "access_token": tokens.issue(client, granted),
        "token_type": "Bearer",
        "expires_in": tokens.ttl,
        "scope": " ".join(granted),
    }
    return Response(
        orjson.dumps(body), 200, {"Cache-Control": "no-store"}, media_type="application/json"
    )


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value.strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


def _oauth_error(status: int, error: str, description: str) -> Response:
    body = {
        "error": error,
        "error_description": description,
        "type": "epcisException:SecurityException"
        if status == 401
        else "epcisException:ValidationException",
        "title": error,
        "status": status,
    }
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="batterytrace"'
    return Response(orjson.dumps(body), status, headers, media_type="application/json")
