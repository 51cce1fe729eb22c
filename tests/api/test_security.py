"""OAuth2 client credentials and bearer tokens: missing, expired, forged or revoked tokens
and wrong scopes are 401/403 problems, and nothing is written."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import jwt
from sqlalchemy import func, select

from api.conftest import Api
from batterytrace.api.security import Tokens
from batterytrace.services import clients
from batterytrace.store import schema

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "01-mine-to-sulfate.jsonld"


def _events(api: Api) -> int:
    with api.uow.reading() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.event)).scalar_one())


def _capture(api: Api, headers: dict[str, str]) -> int:
    answer = api.http.post(
        "/capture",
        content=EXAMPLE.read_bytes(),
        headers=headers | {"Content-Type": "application/ld+json"},
    )
    return answer.status_code


def test_a_token_is_bought_with_client_credentials_in_the_form_or_basic(api: Api) -> None:
    made = clients.create(api.uow, "refinery ERP", ["capture", "query"], organisation=None)
    form = {
        "grant_type": "client_credentials",
        "client_id": made.client_id,
        "client_secret": made.client_secret,
    }
    answer = api.http.post("/oauth/token", data=form)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "capture query"
    assert answer.headers["cache-control"] == "no-store"
    basic = base64.b64encode(f"{made.client_id}:{made.client_secret}".encode()).decode()
    narrowed = api.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "query"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert narrowed.status_code == 200 and narrowed.json()["scope"] == "query"
    token = narrowed.json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == made.client_id and claims["exp"] - claims["iat"] == 3600


def test_bad_credentials_are_refused_as_oauth_errors(api: Api) -> None:
    made = clients.create(api.uow, "x", ["query"], organisation=None)
    cases = [
        ({"grant_type": "password", "client_id": made.client_id}, 400, "unsupported_grant_type"),
        (
            {
                "grant_type": "client_credentials",
                "client_id": made.client_id,
                "client_secret": "wrong",
            },
            401,
            "invalid_client",
        ),
        (
            {
                "grant_type": "client_credentials",
                "client_id": "bt-nobody",
                "client_secret": made.client_secret,
            },
            401,
            "invalid_client",
        ),
        (
            {
                "grant_type": "client_credentials",
                "client_id": made.client_id,
                "client_secret": made.client_secret,
                "scope": "admin",
            },
            400,
            "invalid_scope",
        ),
    ]
    for form, status, error in cases:
        answer = api.http.post("/oauth/token", data=form)
        assert (answer.status_code, answer.json()["error"]) == (status, error), form
    json_body = api.http.post("/oauth/token", json={"grant_type": "client_credentials"})
    assert json_body.status_code == 400 and json_body.json()["error"] == "invalid_request"


def test_secrets_are_kept_as_salted_hashes_only(api: Api) -> None:
    one = clients.create(api.uow, "a", ["query"], organisation=None)
    two = clients.create(api.uow, "b", ["query"], organisation=None)
    with api.uow.reading() as conn:
        rows = conn.execute(select(schema.api_client.c.id, schema.api_client.c.secret_hash))
        stored = {r[0]: r[1] for r in rows}
    for made in (one, two):
        assert made.client_secret not in stored[made.client_id]
        assert stored[made.client_id].startswith("scrypt$")
        assert clients.secret_matches(made.client_secret, stored[made.client_id])
    assert stored[one.client_id].split("$")[4] != stored[two.client_id].split("$")[4]  # salts


def test_missing_malformed_forged_and_expired_tokens_are_401_and_write_nothing(
    api: Api, tmp_path: Path
) -> None:
    before = _events(api)
    good = api.headers["capture"]["Authorization"].split()[1]
    head, payload, sig = good.split(".")
    other = Tokens(tmp_path / "other.key", 3600)  # another server's key
    made = clients.create(api.uow, "c", ["capture"], organisation=None)
    forged = other.issue(clients.Client(**made.model_dump(exclude={"client_secret"})), ["capture"])
    expired = Tokens(tmp_path / "token.key", -10).issue(
        clients.Client(**made.model_dump(exclude={"client_secret"})), ["capture"]
    )
    for headers in (
        {},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": f"Bearer {head}.{payload}x.{sig}"},  # altered claims
        {"Authorization": f"Bearer {forged}"},
        {"Authorization": f"Bearer {expired}"},
    ):
        answer = api.http.post(
            "/capture", content=b"{}", headers=headers | {"Content-Type": "application/json"}
        )
        assert answer.status_code == 401, headers
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"] == "epcisException:SecurityException"
        assert "bearer" in answer.headers["www-authenticate"].lower()
    assert (
        "expired"
        in api.http.get("/events", headers={"Authorization": f"Bearer {expired}"}).json()["detail"]
    )
    assert _events(api) == before


def test_a_revoked_client_is_refused_from_the_next_request(api: Api) -> None:
    made = clients.create(api.uow, "carmaker", ["query"], organisation=None)
    headers = {"Authorization": f"Bearer {api.token(made.client_id, made.client_secret)}"}
    assert api.http.get("/events", headers=headers).status_code == 200
    clients.revoke(api.uow, made.client_id)
    answer = api.http.get("/events", headers=headers)
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]
    form = {
        "grant_type": "client_credentials",
        "client_id": made.client_id,
        "client_secret": made.client_secret,
    }
    assert api.http.post("/oauth/token", data=form).status_code == 401


def test_scopes_reads_need_query_writes_need_capture(api: Api) -> None:
    before = _events(api)
    assert _capture(api, api.headers["query"]) == 403
    assert api.http.get("/events", headers=api.headers["capture"]).status_code == 403
    answer = api.http.get("/events", headers=api.headers["capture"])
    assert answer.json()["type"] == "epcisException:SecurityException"
    assert "'query' scope" in answer.json()["detail"]
    assert _events(api) == before
    assert api.http.get("/events", headers=api.headers["admin"]).status_code == 200
    assert _capture(api, api.headers["admin"]) == 202


def test_the_openapi_document_docs_and_health_need_no_token(api: Api) -> None:
    spec = api.http.get("/openapi.json")
    assert spec.status_code == 200 and "/capture" in spec.json()["paths"]
    docs = api.http.get("/docs")
    assert docs.status_code == 200 and "/docs/assets/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert api.http.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert api.http.get("/health").json() == {"status": "ok"}
    assert api.http.get("/").status_code == 401


def test_a_token_lives_as_long_as_the_setting_says(api: Api, tmp_path: Path) -> None:
    tokens = Tokens(tmp_path / "t.key", 2)
    made = clients.create(api.uow, "d", ["query"], organisation=None)
    token = tokens.issue(clients.Client(**made.model_dump(exclude={"client_secret"})), ["query"])
    assert tokens.read(token)["sub"] == made.client_id
    time.sleep(3.1)
    try:
        tokens.read(token)
    except Exception as exc:
        assert "expired" in str(exc)
    else:
        raise AssertionError("an expired token was read")
