"""A PATCH of `email` or `phone` is computed from the current lists and written only if they are
still those: a compare-and-set, which holds on SQLite too, where no row lock exists."""

from __future__ import annotations

import datetime
import uuid

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from contacts_api.config import Settings
from contacts_api.contacts.repository import ContactRepository
from contacts_api.contacts.schemas import EmailEntry
from contacts_api.db import create_engine
from tests.conftest import ApiUser, Client
from tests.contacts.conftest import create_contact


async def test_a_change_computed_from_lists_changed_meanwhile_writes_nothing(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    contact = await create_contact(client, user, email="first@example.com")
    read_before = [EmailEntry(value="first@example.com")]
    # Another request changes the lists after ours read them…
    changed = await client.patch(
        f"/api/contacts/{contact['id']}", headers=user.headers, json={"emails": [{"value": "theirs@example.com"}]}
    )
    assert changed.status_code == 200
    # …so our write, conditional on what we read, matches no row.
    engine = create_engine(settings)
    try:
        async with AsyncSession(engine) as session, session.begin():
            repository = ContactRepository(session=session, owner_id=uuid.UUID(user.id))
            written = await repository.update_contact(
                uuid.UUID(contact["id"]),
                {"emails": [EmailEntry(value="mine@example.com")]},
                now=datetime.datetime.now(datetime.UTC),
                unless_changed={"emails": read_before},
            )
    finally:
        await engine.dispose()
    assert written is None
    fetched = (await client.get(f"/api/contacts/{contact['id']}", headers=user.headers)).json()
    assert fetched["emails"] == [{"value": "theirs@example.com", "label": None}]


async def test_a_change_computed_from_unchanged_lists_is_written(client: Client, user: ApiUser) -> None:
    contact = await create_contact(client, user, email="first@example.com")
    response = await client.patch(
        f"/api/contacts/{contact['id']}", headers=user.headers, json={"email": "second@example.com"}
    )
    assert response.status_code == 200
    assert response.json()["emails"] == [{"value": "second@example.com", "label": None}]


@pytest.mark.parametrize(
    ("method", "instead"),
    [("update", "update_contact"), ("delete", "delete_contact")],  # no index rows; no tombstone
)
async def test_the_repository_refuses_its_writes_that_skip_what_a_contact_write_does(
    user: ApiUser, settings: Settings, method: str, instead: str
) -> None:
    engine = create_engine(settings)
    try:
        async with AsyncSession(engine) as session:
            repository = ContactRepository(session=session, owner_id=uuid.UUID(user.id))
            with pytest.raises(NotImplementedError, match=instead):
                await getattr(repository, method)(None)
    finally:
        await engine.dispose()
