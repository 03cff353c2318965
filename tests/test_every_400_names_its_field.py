"""Every 400 names its field, whichever layer found the fault: the JSON decoder (a number out of
range, a lone surrogate), a DTO, the signature model or our own checks."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PASSWORD, ApiUser, Client
from tests.contacts.conftest import create_contact

# Raw JSON values msgspec cannot decode, though the document is well-formed JSON.
UNDECODABLE = {"number out of range": "1e400", "huge integer": "1" + "0" * 30, "lone surrogate": '"\\ud800"'}
SIGNUP = '{"email": "new@example.com", "password": "' + PASSWORD + '", "full_name": {value}}'
ROUTES: list[tuple[str, str, str, str]] = [
    ("POST", "/api/auth/signup", SIGNUP, "full_name"),
    ("POST", "/api/auth/signup", '{"email": {value}, "password": "x"}', "email"),
    ("POST", "/api/auth/login", '{"email": "a@example.com", "password": {value}}', "password"),
    ("POST", "/api/auth/refresh", '{"refresh_token": {value}}', "refresh_token"),
    ("POST", "/api/contacts", '{"first_name": {value}}', "first_name"),
    ("PATCH", "/api/contacts/{id}", '{"phone": {value}}', "phone"),
    ("PATCH", "/api/users/me", '{"full_name": {value}}', "full_name"),
    ("PUT", "/api/users/me/password", '{"current_password": "x", "new_password": {value}}', "new_password"),
    ("DELETE", "/api/users/me", '{"password": {value}}', "password"),
]


@pytest.mark.parametrize("value", list(UNDECODABLE.values()), ids=list(UNDECODABLE))
@pytest.mark.parametrize(("method", "path", "template", "field"), ROUTES, ids=[f"{m} {p} {f}" for m, p, _, f in ROUTES])
async def test_an_undecodable_value_is_a_400_naming_its_field(
    client: Client, user: ApiUser, method: str, path: str, template: str, field: str, value: str
) -> None:
    contact = await create_contact(client, user)
    body = template.replace("{value}", value).encode()
    headers = {**user.headers, "Content-Type": "application/json"}
    response = await client.request(method, path.format(id=contact["id"]), content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["extra"][0]["key"] == field, response.text


async def test_a_lone_surrogate_is_named_as_such(client: Client) -> None:
    body = SIGNUP.replace("{value}", '"Ada \\udc00"').encode()
    response = await client.post("/api/auth/signup", content=body, headers={"Content-Type": "application/json"})
    assert response.json()["extra"] == [
        {"message": "Must not contain a lone surrogate", "key": "full_name", "source": "body"}
    ]


async def test_malformed_json_is_a_400_with_no_field_to_name(client: Client) -> None:
    response = await client.post(
        "/api/auth/signup", content=b'{"email": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "extra" not in response.json()
    assert response.json()["detail"]


@pytest.mark.parametrize(
    ("query", "field"), [("limit=1e400", "limit"), ("offset=-1", "offset"), ("q=%00", "q"), ("limit=abc", "limit")]
)
async def test_a_bad_query_parameter_is_a_400_naming_it(client: Client, user: ApiUser, query: str, field: str) -> None:
    response = await client.get(f"/api/contacts?{query}", headers=user.headers)
    assert response.status_code == 400
    extra: list[dict[str, Any]] = response.json()["extra"]
    assert (extra[0]["key"], extra[0]["source"]) == (field, "query")
