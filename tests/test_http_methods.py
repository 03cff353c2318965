"""Which methods each route answers, and how it says so: OPTIONS, the Allow header of a 405, HEAD."""

from __future__ import annotations

import pytest

from tests.conftest import ApiUser, Client

# Every method each route serves, HEAD included wherever GET is: what its Allow header must list.
ROUTE_METHODS = {
    "/api/contacts": {"GET", "HEAD", "POST", "OPTIONS"},
    "/api/contacts/0b6f2d4e-52c3-4b8e-9a53-8f1f3c1d2a77": {"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"},
    "/api/contacts/birthdays": {"GET", "HEAD", "OPTIONS"},
    "/api/users/me": {"GET", "HEAD", "PATCH", "DELETE", "OPTIONS"},
    "/api/users/me/password": {"PUT", "OPTIONS"},
    "/api/auth/login": {"POST", "OPTIONS"},
    "/api/auth/logout": {"POST", "OPTIONS"},
    "/health": {"GET", "HEAD", "OPTIONS"},
}
TOKENS = ["no token", "a valid token", "a garbage token"]


def allowed(header: str) -> set[str]:
    return {method.strip() for method in header.split(",")}


def authorization(user: ApiUser, token: str) -> dict[str, str]:
    if token == "a valid token":
        return user.headers
    if token == "a garbage token":
        return {"Authorization": "Bearer not-a-jwt"}
    return {}


@pytest.mark.parametrize("token", TOKENS)
@pytest.mark.parametrize("path", ROUTE_METHODS)
async def test_options_answers_204_with_every_method_the_route_serves(
    client: Client, user: ApiUser, path: str, token: str
) -> None:
    response = await client.options(path, headers=authorization(user, token))
    assert response.status_code == 204, response.text
    assert allowed(response.headers["allow"]) == ROUTE_METHODS[path]
    assert response.content == b""


@pytest.mark.parametrize(
    ("method", "path"), [("DELETE", "/api/contacts"), ("PUT", "/health"), ("POST", "/api/contacts/birthdays")]
)
async def test_a_405_lists_head_where_the_route_serves_get(
    client: Client, user: ApiUser, method: str, path: str
) -> None:
    response = await client.request(method, path, headers=user.headers)
    assert response.status_code == 405
    assert allowed(response.headers["allow"]) == ROUTE_METHODS[path]


async def test_a_405_does_not_list_head_where_the_route_serves_no_get(client: Client) -> None:
    response = await client.head("/api/auth/login")
    assert response.status_code == 405
    assert allowed(response.headers["allow"]) == {"POST", "OPTIONS"}


@pytest.mark.parametrize("method", ["GET", "HEAD", "PATCH", "DELETE"])
async def test_the_options_exemption_lets_no_other_method_past_the_guard(client: Client, method: str) -> None:
    response = await client.request(method, "/api/users/me", headers={"Authorization": "Bearer not-a-jwt"})
    assert response.status_code == 401


async def test_head_still_answers_like_get_with_a_valid_token(client: Client, user: ApiUser) -> None:
    response = await client.head("/api/users/me", headers=user.headers)
    assert (response.status_code, response.content) == (200, b"")


async def test_the_openapi_document_has_no_options_or_head_operations(client: Client) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert [(path, method) for path, item in paths.items() for method in item if method in {"options", "head"}] == []
