"""One user can never see or touch another user's contacts."""

from __future__ import annotations

import datetime
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from contacts_api.config import Settings
from contacts_api.contacts.models import ContactModel
from contacts_api.contacts.repository import ContactRepository
from contacts_api.db import create_engine
from tests.conftest import ApiUser, PinnedClock
from tests.contacts.conftest import Client, contact_body, create_contact


async def test_another_users_contact_is_404_for_every_method(
    client: Client, user: ApiUser, other_user: ApiUser
) -> None:
    mine = await create_contact(client, user)
    path = f"/api/contacts/{mine['id']}"
    assert (await client.get(path, headers=other_user.headers)).status_code == 404
    assert (await client.put(path, headers=other_user.headers, json=contact_body(first_name="X"))).status_code == 404
    assert (await client.patch(path, headers=other_user.headers, json={"first_name": "X"})).status_code == 404
    assert (await client.delete(path, headers=other_user.headers)).status_code == 404
    assert (await client.get(path, headers=user.headers)).json() == mine


async def test_another_users_contact_answers_exactly_like_a_missing_one(
    client: Client, user: ApiUser, other_user: ApiUser
) -> None:
    mine = await create_contact(client, user)
    theirs = await client.get(f"/api/contacts/{mine['id']}", headers=other_user.headers)
    missing = await client.get("/api/contacts/0190a6e0-0000-7000-8000-000000000000", headers=other_user.headers)
    assert theirs.json() == missing.json()


async def test_list_search_and_birthdays_show_none_of_another_users_contacts(
    client: Client, user: ApiUser, other_user: ApiUser, clock: PinnedClock
) -> None:
    clock.set_date(datetime.date(2026, 12, 5))
    await create_contact(client, user, birthday="1990-12-06")
    for url in ["/api/contacts", "/api/contacts?q=ada", "/api/contacts?email=ada"]:
        page = (await client.get(url, headers=other_user.headers)).json()
        assert (page["items"], page["total"]) == ([], 0), url
    assert (await client.get("/api/contacts/birthdays", headers=other_user.headers)).json() == []
    assert len((await client.get("/api/contacts/birthdays", headers=user.headers)).json()) == 1


async def test_an_owner_or_id_in_the_body_is_never_honoured(client: Client, user: ApiUser, other_user: ApiUser) -> None:
    for field, value in [
        ("owner_id", other_user.id),
        ("user_id", other_user.id),
        ("id", "0190a6e0-0000-7000-8000-000000000000"),
    ]:
        response = await client.post("/api/contacts", headers=user.headers, json=contact_body(**{field: value}))
        assert response.status_code == 400, field
    assert (await client.get("/api/contacts", headers=other_user.headers)).json()["total"] == 0
    assert (await client.get("/api/contacts", headers=user.headers)).json()["total"] == 0


async def test_the_same_email_under_two_owners_is_fine(client: Client, user: ApiUser, other_user: ApiUser) -> None:
    await create_contact(client, user, email="shared@example.com")
    response = await client.post(
        "/api/contacts", headers=other_user.headers, json=contact_body(email="shared@example.com")
    )
    assert response.status_code == 201


async def test_an_owner_in_a_put_or_patch_body_is_refused_and_changes_nothing(
    client: Client, user: ApiUser, other_user: ApiUser
) -> None:
    mine = await create_contact(client, user)
    path = f"/api/contacts/{mine['id']}"
    put = await client.put(path, headers=user.headers, json=contact_body(owner_id=other_user.id))
    patch = await client.patch(path, headers=user.headers, json={"owner_id": other_user.id})
    assert (put.status_code, patch.status_code) == (400, 400)
    assert patch.json()["extra"][0]["key"] == "owner_id"
    assert (await client.get(path, headers=user.headers)).json() == mine


async def test_the_repository_api_reads_only_its_owners_rows(
    client: Client, user: ApiUser, other_user: ApiUser, settings: Settings
) -> None:
    # Scoped by construction: the base statement every read of advanced-alchemy's API starts from.
    contact = await create_contact(client, user)
    engine = create_engine(settings)
    try:
        async with AsyncSession(engine) as session:
            mine = ContactRepository(session=session, owner_id=uuid.UUID(user.id))
            theirs = ContactRepository(session=session, owner_id=uuid.UUID(other_user.id))
            contact_id = uuid.UUID(contact["id"])
            assert await mine.get_one_or_none(ContactModel.id == contact_id) is not None
            assert await theirs.get_one_or_none(ContactModel.id == contact_id) is None
            assert (await mine.count(), await theirs.count()) == (1, 0)
            assert await theirs.get_contact(contact_id) is None
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    "method", ["add_many", "update_many", "delete_many", "delete_where", "upsert", "upsert_many", "get_or_upsert"]
)
async def test_the_repository_refuses_the_writes_that_are_not_owner_scoped(
    user: ApiUser, settings: Settings, method: str
) -> None:
    engine = create_engine(settings)
    try:
        async with AsyncSession(engine) as session:
            repository = ContactRepository(session=session, owner_id=uuid.UUID(user.id))
            with pytest.raises(NotImplementedError, match="not owner-scoped"):
                await getattr(repository, method)(ContactModel.id.is_not(None))
    finally:
        await engine.dispose()


async def test_the_repository_add_writes_its_own_owners_row(
    client: Client, user: ApiUser, other_user: ApiUser, settings: Settings
) -> None:
    engine = create_engine(settings)
    try:
        async with AsyncSession(engine) as session, session.begin():
            row = ContactModel(
                owner_id=uuid.UUID(other_user.id), first_name="X", last_name="Y", birthday="1990-01-01",
            )  # fmt: skip
            added = await ContactRepository(session=session, owner_id=uuid.UUID(user.id)).add(row)
            assert added.owner_id == uuid.UUID(user.id)
    finally:
        await engine.dispose()
    assert (await client.get("/api/contacts", headers=other_user.headers)).json()["total"] == 0
