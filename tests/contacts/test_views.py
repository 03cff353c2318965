"""What the DTOs of contacts decide: which fields a body may carry and an answer shows.

Every write (POST, PUT, PATCH) takes the same writable fields; server-owned ones are refused by
name and change nothing; a PATCH keeps every rule of a create; no answer shows the owner."""

from __future__ import annotations

from typing import Any

import pytest

from contacts_api.config import Settings
from tests.conftest import ApiUser, query_scalar
from tests.contacts.conftest import Client, contact_body, create_contact
from tests.contacts.test_validation import INVALID_VALUES

SERVER_OWNED = {
    "id": "01900000-0000-7000-8000-000000000000",
    "owner_id": "01900000-0000-7000-8000-000000000001",
    "created_at": "2020-01-01T00:00:00Z",
    "updated_at": "2020-01-01T00:00:00Z",
}
WRITES = ["POST", "PUT", "PATCH"]
READ_FIELDS = {
    "id", "first_name", "last_name", "email", "phone", "emails", "phones", "addresses", "organization", "job_title",
    "birthday", "notes", "tags", "favorite", "etag", "created_at", "updated_at",
}  # fmt: skip


async def send(client: Client, user: ApiUser, method: str, contact_id: str, body: dict[str, Any]) -> Any:
    path = "/api/contacts" if method == "POST" else f"/api/contacts/{contact_id}"
    return await client.request(method, path, headers=user.headers, json=body)


@pytest.mark.parametrize("method", WRITES)
@pytest.mark.parametrize("field", sorted(SERVER_OWNED))
async def test_a_server_owned_field_in_a_body_is_400_naming_it_and_changes_nothing(
    client: Client, user: ApiUser, settings: Settings, method: str, field: str
) -> None:
    existing = await create_contact(client, user)
    body = contact_body(email="other@example.com", **{field: SERVER_OWNED[field]})
    response = await send(client, user, method, existing["id"], body)
    assert response.status_code == 400, response.text
    assert response.json()["extra"][0]["key"] == field
    assert await query_scalar(settings.database_url, "SELECT count(*) FROM contacts") == 1
    assert (await client.get(f"/api/contacts/{existing['id']}", headers=user.headers)).json() == existing


@pytest.mark.parametrize("method", WRITES)
async def test_an_unknown_field_is_400_naming_it_on_every_write(client: Client, user: ApiUser, method: str) -> None:
    existing = await create_contact(client, user)
    response = await send(client, user, method, existing["id"], contact_body(nickname="Ada"))
    assert response.status_code == 400
    assert response.json()["extra"][0] == {
        "message": "Object contains unknown field `nickname`",
        "key": "nickname",
        "source": "body",
    }


@pytest.mark.parametrize(("field", "value"), INVALID_VALUES, ids=[f"{f}={str(v)[:12]!r}" for f, v in INVALID_VALUES])
async def test_a_patch_keeps_every_rule_of_a_create(client: Client, user: ApiUser, field: str, value: Any) -> None:
    existing = await create_contact(client, user)
    response = await client.patch(f"/api/contacts/{existing['id']}", headers=user.headers, json={field: value})
    assert response.status_code == 400, response.text
    assert response.json()["extra"][0]["key"] == field
    assert (await client.get(f"/api/contacts/{existing['id']}", headers=user.headers)).json() == existing


async def test_every_answer_shows_the_read_fields_and_never_the_owner(
    client: Client, user: ApiUser, clock: Any
) -> None:
    created = await create_contact(client, user)
    answers = [
        created,
        (await client.get(f"/api/contacts/{created['id']}", headers=user.headers)).json(),
        (await client.patch(f"/api/contacts/{created['id']}", headers=user.headers, json={})).json(),
        (await client.get("/api/contacts", headers=user.headers)).json()["items"][0],
        (await client.get("/api/contacts/birthdays?days=366", headers=user.headers)).json()[0],
    ]
    for answer in answers:
        assert READ_FIELDS <= set(answer) <= READ_FIELDS | {"next_birthday", "age"}, answer
        assert user.id not in str(answer)


async def test_the_page_has_its_four_fields(client: Client, user: ApiUser) -> None:
    await create_contact(client, user)
    page = (await client.get("/api/contacts?limit=5&offset=0", headers=user.headers)).json()
    assert set(page) == {"items", "total", "limit", "offset"}
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (1, 5, 0, 1)


async def test_a_page_past_the_end_still_counts_every_match(client: Client, user: ApiUser) -> None:
    await create_contact(client, user)
    await create_contact(client, user, email="second@example.com")
    page = (await client.get("/api/contacts?offset=10", headers=user.headers)).json()
    assert (page["items"], page["total"]) == ([], 2)
