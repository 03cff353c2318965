"""Headers on every answer, request ids, request size limits, methods and CORS."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from contacts_api.app import create_app
from contacts_api.config import Settings
from tests.conftest import PASSWORD, ApiUser, Client, make_settings, query_scalar, sign_up_and_log_in, wipe


@pytest.mark.parametrize("path", ["/api/users/me", "/api/contacts", "/health", "/api/nowhere"])
async def test_api_answers_are_not_cacheable_and_locked_down(client: Client, user: ApiUser, path: str) -> None:
    response = await client.get(path, headers=user.headers)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "strict-transport-security" not in response.headers  # plain HTTP here


async def test_error_answers_carry_the_headers_too(client: Client) -> None:
    response = await client.get("/api/contacts")  # 401 raised by the auth middleware
    assert response.status_code == 401
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-request-id"]


async def test_docs_pages_get_a_policy_that_lets_them_run_but_not_be_framed(client: Client) -> None:
    response = await client.get("/schema/swagger")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "https:" not in policy  # nothing from a CDN


async def test_hsts_is_sent_over_https(settings: Settings) -> None:
    async with AsyncTestClient(app=create_app(settings), base_url="https://testserver.local") as client:
        response = await client.get("/health")
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_each_answer_has_a_request_id_and_a_sane_client_one_is_echoed(client: Client) -> None:
    first, second = await client.get("/health"), await client.get("/health")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    echoed = await client.get("/health", headers={"X-Request-ID": "client-req-12345"})
    assert echoed.headers["x-request-id"] == "client-req-12345"
    replaced = await client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert replaced.headers["x-request-id"] != "bad id\twith spaces"


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "FOO"])
async def test_trace_and_unknown_methods_are_405(client: Client, method: str) -> None:
    response = await client.request(method, "/api/contacts")
    assert response.status_code == 405
    assert response.json()["status_code"] == 405


async def test_an_oversized_body_is_a_json_413_and_stores_nothing(client: Client, settings: Settings) -> None:
    body = {"email": "big@example.com", "password": PASSWORD, "full_name": "x" * (settings.max_body_bytes + 1)}
    response = await client.post("/api/auth/signup", json=body)
    assert response.status_code == 413
    assert response.json()["status_code"] == 413
    assert await query_scalar(settings.database_url, "SELECT count(*) FROM users") == 0


async def test_deeply_nested_json_is_refused_with_a_400(client: Client, user: ApiUser) -> None:
    nested = "[" * 5000 + "]" * 5000
    response = await client.post(
        "/api/contacts", content=nested.encode(), headers={**user.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400


async def test_cors_is_off_by_default(client: Client) -> None:
    response = await client.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


async def test_cors_allows_only_the_configured_origins(settings: Settings) -> None:
    app = create_app(make_settings(settings.database_url, cors_origins="https://app.example"))
    async with AsyncTestClient(app=app) as client:
        allowed = await client.get("/health", headers={"Origin": "https://app.example"})
        other = await client.get("/health", headers={"Origin": "https://evil.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in other.headers


async def test_cors_lets_a_browser_script_read_the_etag_and_location(settings: Settings) -> None:
    app = create_app(make_settings(settings.database_url, cors_origins="https://app.example"))
    async with AsyncTestClient(app=app) as client:
        user = await sign_up_and_log_in(client)
        created = await client.post(
            "/api/contacts", headers={**user.headers, "Origin": "https://app.example"}, json={"first_name": "Ada"}
        )
    await wipe(settings.database_url)
    assert created.status_code == 201
    exposed = {name.strip().lower() for name in created.headers["access-control-expose-headers"].split(",")}
    assert {"etag", "location", "retry-after", "x-request-id"} <= exposed


@pytest.mark.parametrize("path", ["/api/auth/signup", "/api/auth/login", "/api/auth/refresh", "/api/contacts"])
async def test_a_body_that_is_not_utf8_is_a_400(client: Client, user: ApiUser, path: str) -> None:
    response = await client.post(
        path, content=b'{"email": "\xff\xfe@example.com"}', headers={**user.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["status_code"] == 400


async def test_a_missing_body_is_a_400_that_says_so(client: Client, user: ApiUser) -> None:
    response = await client.request("DELETE", "/api/users/me", headers=user.headers)
    assert response.status_code == 400
    assert response.json()["extra"][0]["message"] == "A request body is required"


@pytest.mark.parametrize("path", ["/schema/nothing", "/schema/openapi.yaml", "/schema/redoc"])
async def test_unknown_docs_paths_are_a_json_404(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"status_code": 404, "detail": "Not Found"}


@pytest.mark.parametrize("path", ["/health", "/api/contacts", "/schema/openapi.json"])
async def test_head_answers_like_get_without_a_body(client: Client, user: ApiUser, path: str) -> None:
    get = await client.get(path, headers=user.headers)
    head = await client.head(path, headers=user.headers)
    assert (head.status_code, head.content) == (get.status_code, b"")
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["content-type"] == get.headers["content-type"]


async def test_a_lone_surrogate_in_a_string_is_a_400(client: Client, user: ApiUser) -> None:
    body = b'{"first_name": "A\\ud800", "last_name": "B", "email": "a@example.com", "phone": "5550100200", ' \
        b'"birthday": "1990-01-01"}'  # fmt: skip
    response = await client.post(
        "/api/contacts", content=body, headers={**user.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert (await client.get("/api/contacts", headers=user.headers)).json()["total"] == 0


@pytest.mark.parametrize("path", ["/schema", "/schema/scalar", "/schema/swagger", "/schema/openapi.json"])
async def test_the_docs_pages_are_served_where_the_contract_says(client: Client, path: str) -> None:
    assert (await client.get(path)).status_code == 200


async def test_head_requests_give_their_database_connections_back(settings: Settings) -> None:
    # More HEADs than the pool has connections (one on PostgreSQL here, five on SQLite): each must
    # return its connection, or the next request waits for the pool and gets a 503.
    app = create_app(make_settings(settings.database_url, db_pool_size=1, db_pool_timeout_seconds=1.0))
    async with AsyncTestClient(app=app) as client:
        user = await sign_up_and_log_in(client)
        statuses = [(await client.head("/api/contacts", headers=user.headers)).status_code for _ in range(8)]
        statuses.append((await client.get("/api/contacts", headers=user.headers)).status_code)
    await wipe(settings.database_url)
    assert statuses == [200] * 9


async def test_an_unknown_docs_path_is_a_json_404_and_its_head_has_no_body(client: Client) -> None:
    got = await client.get("/schema/no-such-page")
    assert (got.status_code, got.json()) == (404, {"status_code": 404, "detail": "Not Found"})
    assert got.headers["content-type"].startswith("application/json")
    head = await client.head("/schema/no-such-page")
    assert (head.status_code, head.content) == (404, b"")
