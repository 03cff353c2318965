"""Create, read, replace, patch and delete one contact."""

from __future__ import annotations

import datetime
import uuid

from contacts_api.config import Settings
from tests.conftest import ApiUser, query_scalar
from tests.contacts.conftest import Client, contact_body, create_contact

CONTACT_FIELDS = {
    "id", "first_name", "last_name", "email", "phone", "emails", "phones", "addresses", "organization", "job_title",
    "birthday", "notes", "tags", "favorite", "etag", "created_at", "updated_at",
}  # fmt: skip


async def test_create_returns_201_with_every_field(client: Client, user: ApiUser) -> None:
    response = await client.post("/api/contacts", headers=user.headers, json=contact_body())
    assert response.status_code == 201
    body = response.json()
    assert set(body) == CONTACT_FIELDS
    assert {key: body[key] for key in contact_body()} == contact_body()
    assert body["created_at"].endswith("Z") or "+" in body["created_at"]


async def test_create_stores_email_lower_cased_and_names_trimmed(client: Client, user: ApiUser) -> None:
    body = await create_contact(client, user, email=" Ada@Example.COM ", first_name="  Ada ", last_name=" Lovelace ")
    assert (body["email"], body["first_name"], body["last_name"]) == ("ada@example.com", "Ada", "Lovelace")


async def test_notes_are_null_when_absent(client: Client, user: ApiUser) -> None:
    body = contact_body()
    del body["notes"]
    response = await client.post("/api/contacts", headers=user.headers, json=body)
    assert response.status_code == 201
    assert response.json()["notes"] is None


async def test_unicode_is_stored_and_returned_unchanged(client: Client, user: ApiUser) -> None:
    created = await create_contact(client, user, first_name="Zoë 🦊", last_name="שלום", notes="Ünïcödé ✓ مرحبا")
    fetched = (await client.get(f"/api/contacts/{created['id']}", headers=user.headers)).json()
    assert (fetched["first_name"], fetched["last_name"], fetched["notes"]) == ("Zoë 🦊", "שלום", "Ünïcödé ✓ مرحبا")


async def test_get_returns_the_contact(client: Client, user: ApiUser) -> None:
    created = await create_contact(client, user)
    response = await client.get(f"/api/contacts/{created['id']}", headers=user.headers)
    assert response.status_code == 200
    assert response.json() == created


async def test_put_replaces_every_field(client: Client, user: ApiUser) -> None:
    created = await create_contact(client, user)
    replacement = contact_body(
        first_name="Grace",
        last_name="Hopper",
        email="grace@example.com",
        phone="(555) 010-0200",
        birthday="1906-12-09",
        notes=None,
    )
    response = await client.put(f"/api/contacts/{created['id']}", headers=user.headers, json=replacement)
    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in replacement} == replacement
    assert body["id"] == created["id"]
    assert body["created_at"] == created["created_at"]
    assert datetime.datetime.fromisoformat(body["updated_at"]) > datetime.datetime.fromisoformat(created["updated_at"])


async def test_put_without_notes_clears_them(client: Client, user: ApiUser) -> None:
    created = await create_contact(client, user)
    replacement = contact_body()
    del replacement["notes"]
    response = await client.put(f"/api/contacts/{created['id']}", headers=user.headers, json=replacement)
    assert response.json()["notes"] is None


async def test_put_needs_the_first_name(client: Client, user: ApiUser) -> None:
    created = await create_contact(client, user)
    response = await client.put(f"/api/contacts/{created['id']}", headers=user.headers, json={"last_name": "X"})
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "first_name"
    assert (await client.get(f"/api/contacts/{created['id']}", headers=user.headers)).json() == created


async def test_put_clears_every_optional_field_it_does_not_send(client: Client, user: ApiUser) -> None:
    created = await create_contact(client, user, tags=["family"], favorite=True, organization="Navy")
    response = await client.put(f"/api/contacts/{created['id']}", headers=user.headers, json={"first_name": "X"})
    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in ("last_name", "email", "phone", "emails", "phones", "birthday", "notes")} == {
        "last_name": "", "email": None, "phone": None, "emails": [], "phones": [], "birthday": None, "notes": None,
    }  # fmt: skip
    assert (body["tags"], body["favorite"], body["organization"]) == ([], False, None)


async def test_patch_changes_only_the_fields_sent(client: Client, user: ApiUser) -> None:
    created = await create_contact(client, user)
    response = await client.patch(
        f"/api/contacts/{created['id']}", headers=user.headers, json={"phone": "555-0100-999"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["phone"] == "555-0100-999"
    unchanged = {key: body[key] for key in CONTACT_FIELDS - {"phone", "phones", "etag", "updated_at"}}
    assert unchanged == {key: created[key] for key in CONTACT_FIELDS - {"phone", "phones", "etag", "updated_at"}}


async def test_patch_with_null_notes_clears_them_and_absent_notes_keep_them(client: Client, user: ApiUser) -> None:
    created = await create_contact(client, user)
    kept = await client.patch(f"/api/contacts/{created['id']}", headers=user.headers, json={"first_name": "Augusta"})
    assert kept.json()["notes"] == created["notes"]
    cleared = await client.patch(f"/api/contacts/{created['id']}", headers=user.headers, json={"notes": None})
    assert cleared.status_code == 200
    assert cleared.json()["notes"] is None


async def test_patch_rejects_null_for_a_required_field(client: Client, user: ApiUser) -> None:
    created = await create_contact(client, user)
    response = await client.patch(f"/api/contacts/{created['id']}", headers=user.headers, json={"first_name": None})
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "first_name"


async def test_empty_patch_changes_nothing(client: Client, user: ApiUser) -> None:
    created = await create_contact(client, user)
    response = await client.patch(f"/api/contacts/{created['id']}", headers=user.headers, json={})
    assert response.status_code == 200
    assert {k: v for k, v in response.json().items() if k != "updated_at"} == {
        k: v for k, v in created.items() if k != "updated_at"
    }


async def test_delete_returns_204_then_404(client: Client, user: ApiUser, settings: Settings) -> None:
    created = await create_contact(client, user)
    response = await client.delete(f"/api/contacts/{created['id']}", headers=user.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(f"/api/contacts/{created['id']}", headers=user.headers)).status_code == 404
    assert (await client.delete(f"/api/contacts/{created['id']}", headers=user.headers)).status_code == 404
    assert await query_scalar(settings.database_url, "SELECT count(*) FROM contacts") == 0


async def test_missing_contact_is_404_for_every_method(client: Client, user: ApiUser) -> None:
    path = "/api/contacts/0190a6e0-0000-7000-8000-000000000000"
    assert (await client.get(path, headers=user.headers)).status_code == 404
    assert (await client.put(path, headers=user.headers, json=contact_body())).status_code == 404
    assert (await client.patch(path, headers=user.headers, json={"notes": "x"})).status_code == 404
    assert (await client.delete(path, headers=user.headers)).status_code == 404


async def test_a_malformed_id_is_a_4xx(client: Client, user: ApiUser) -> None:
    response = await client.get("/api/contacts/not-a-uuid", headers=user.headers)
    assert response.status_code in (400, 404)
    assert response.json()["status_code"] == response.status_code


async def test_every_contact_route_needs_an_access_token(client: Client, user: ApiUser) -> None:
    created = await create_contact(client, user)
    path = f"/api/contacts/{created['id']}"
    for method, url in [
        ("GET", "/api/contacts"),
        ("POST", "/api/contacts"),
        ("GET", "/api/contacts/birthdays"),
        ("GET", path),
        ("PUT", path),
        ("PATCH", path),
        ("DELETE", path),
    ]:
        response = await client.request(method, url, json=contact_body() if method in ("POST", "PUT") else None)
        assert response.status_code == 401, (method, url)
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_change_racing_a_delete_is_a_404_never_a_500(client: Client, user: ApiUser) -> None:
    from tests.conftest import run_concurrently

    for _ in range(5):
        contact = await create_contact(client, user, email=f"race-{uuid.uuid4().hex[:6]}@example.com")
        path = f"/api/contacts/{contact['id']}"
        patch, delete = run_concurrently(
            client,
            lambda http, path=path: http.patch(path, headers=user.headers, json={"notes": "x"}),
            lambda http, path=path: http.delete(path, headers=user.headers),
        )
        assert delete.status_code == 204
        assert patch.status_code in (200, 404), patch.text
