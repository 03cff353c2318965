"""Export then import into an empty account reproduces every field; import, export, import is stable."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ApiUser, Client, sign_up_and_log_in
from tests.interchange.conftest import FIXTURE_CONTACTS, all_contacts, fixture_bytes, imported

SERVER_FIELDS = ("id", "created_at", "updated_at", "etag")
# Every field, every kind of label (well-known, custom, capitalised), text that needs escaping.
RICH_CONTACTS: list[dict[str, Any]] = [
    # The whitespace a note is written with.
    {"first_name": "Indent", "notes": "  indented\nline\n\nlast  "},
    {
        "first_name": "Grace",
        "last_name": "Hopper",
        "emails": [
            {"value": "grace@example.com", "label": "work"},
            {"value": "grace.home@example.com", "label": "home"},
            {"value": "g@example.org", "label": "Navy; Reserve, retired"},
            {"value": "nolabel@example.org", "label": None},
        ],
        "phones": [
            {"value": "+1 555 010 0200", "label": "mobile"},
            {"value": "+1 555 010 0201", "label": "work fax"},
            {"value": "(555) 010-0202", "label": "Mobile"},
            {"value": "555.010.0203", "label": "main"},
            {"value": "+1-555-010-0204", "label": None},
        ],
        "addresses": [
            {
                "label": "work",
                "street": "1 Navy Yard\nBuilding 6; Floor 2, Room 3",
                "city": "Washington",
                "region": "DC",
                "postal_code": "20374",
                "country": "USA",
            },
            {
                "label": "Summer house",
                "street": None,
                "city": "Wolfeboro",
                "region": None,
                "postal_code": None,
                "country": None,
            },
        ],
        "organization": "US Navy, Bureau of Ships; Computation Project",
        "job_title": "Rear Admiral",
        "birthday": "1906-12-09",
        "notes": 'Line one, with a comma; a semicolon\nLine two \\ a backslash and "quotes"\n\nLine four',
        "tags": ["work", "Compilers, languages", "Ünïcödé"],
        "favorite": True,
    },
    {"first_name": "Sam", "birthday": "--02-29"},
    {"first_name": "李", "last_name": "小龍", "notes": "😀 emoji and עברית", "tags": ["family"]},
]


def comparable(contact: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in contact.items() if name not in SERVER_FIELDS}


async def book_of_rich_contacts(client: Client, owner: ApiUser) -> list[dict[str, Any]]:
    for body in RICH_CONTACTS:
        response = await client.post("/api/contacts", headers=owner.headers, json=body)
        assert response.status_code == 201, response.text
    return [comparable(contact) for contact in await all_contacts(client, owner)]


async def exported(client: Client, owner: ApiUser, **params: str) -> bytes:
    response = await client.get("/api/contacts/export", headers=owner.headers, params=params)
    assert response.status_code == 200, response.text
    return response.content


@pytest.mark.parametrize(
    "params",
    [{"format": "vcard"}, {"format": "vcard", "version": "3.0"}, {"format": "csv"}],
    ids=["vcard-4.0", "vcard-3.0", "csv"],
)
async def test_export_then_import_into_an_empty_account_reproduces_every_field(
    client: Client, user: ApiUser, params: dict[str, str]
) -> None:
    book = await book_of_rich_contacts(client, user)
    file = await exported(client, user, **params)
    newcomer = await sign_up_and_log_in(client)
    report = await imported(
        client, newcomer, file, media_type="text/csv" if params["format"] == "csv" else "text/vcard"
    )
    assert report["created"] == len(RICH_CONTACTS)
    assert all(item["dropped"] == [] for item in report["items"]), report
    assert [comparable(contact) for contact in await all_contacts(client, newcomer)] == book


@pytest.mark.parametrize("name", sorted(FIXTURE_CONTACTS))
async def test_import_export_import_of_a_real_clients_file_is_stable(client: Client, user: ApiUser, name: str) -> None:
    media_type = "text/csv" if name.endswith(".csv") else "text/vcard"
    await imported(client, user, fixture_bytes(name), media_type=media_type)
    first = [comparable(contact) for contact in await all_contacts(client, user)]
    second_owner = await sign_up_and_log_in(client)
    await imported(client, second_owner, await exported(client, user))
    assert [comparable(contact) for contact in await all_contacts(client, second_owner)] == first


async def test_a_book_whose_contacts_share_a_phone_moves_whole_with_on_duplicate_create(
    client: Client, user: ApiUser
) -> None:
    for name, email in (("Ada", "ada@example.com"), ("Byron", "byron@example.com")):
        body = {"first_name": name, "emails": [{"value": email}], "phones": [{"value": "+44 20 7946 0018"}]}
        assert (await client.post("/api/contacts", headers=user.headers, json=body)).status_code == 201
    book = [comparable(contact) for contact in await all_contacts(client, user)]
    newcomer = await sign_up_and_log_in(client)
    report = await imported(client, newcomer, await exported(client, user), on_duplicate="create")
    assert report["created"] == 2
    assert [comparable(contact) for contact in await all_contacts(client, newcomer)] == book
