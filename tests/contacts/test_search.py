"""GET /api/contacts: filters, `q`, pagination and order."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from contacts_api.config import Settings
from contacts_api.contacts.models import ContactModel as Contact
from tests.conftest import ApiUser
from tests.contacts.conftest import Client, create_contact

PEOPLE = [
    ("Ada", "Lovelace", "ada@example.com"),
    ("Grace", "Hopper", "grace@navy.example.org"),
    ("Émile", "Zola", "emile@example.fr"),
    ("Alan", "Turing", "alan_t@example.com"),
    ("Edsger", "Dijkstra", "ewd%home@example.nl"),
]


@pytest.fixture
async def address_book(client: Client, user: ApiUser) -> list[dict[str, Any]]:
    return [
        await create_contact(client, user, first_name=first, last_name=last, email=email)
        for first, last, email in PEOPLE
    ]


async def names(client: Client, user: ApiUser, query: str) -> list[str]:
    response = await client.get(f"/api/contacts?{query}", headers=user.headers)
    assert response.status_code == 200, response.text
    return [item["first_name"] for item in response.json()["items"]]


async def test_the_list_is_a_page_sorted_by_last_name(client: Client, user: ApiUser, address_book: Any) -> None:
    response = await client.get("/api/contacts", headers=user.headers)
    page = response.json()
    assert set(page) == {"items", "total", "limit", "offset"}
    assert (page["total"], page["limit"], page["offset"]) == (5, 20, 0)
    assert [item["last_name"] for item in page["items"]] == ["Dijkstra", "Hopper", "Lovelace", "Turing", "Zola"]


async def test_ties_on_names_are_ordered_by_id(client: Client, user: ApiUser, settings: Settings) -> None:
    for index in range(3):
        await create_contact(client, user, first_name="Sam", last_name="Lee", email=None, phone=None, notes=f"s{index}")
    # Give them ids in the opposite order of creation, so only ORDER BY id can sort them right.
    # (Without emails or phones: no index row refers to the ids.)
    engine = create_async_engine(settings.database_url, poolclass=NullPool)
    async with engine.begin() as connection:
        for index in range(3):
            new_id = uuid.UUID(int=10 - index)
            await connection.execute(update(Contact).where(Contact.notes == f"s{index}").values(id=new_id))
    await engine.dispose()
    items = (await client.get("/api/contacts", headers=user.headers)).json()["items"]
    assert [item["notes"] for item in items] == ["s2", "s1", "s0"]


async def test_q_matches_first_name_last_name_or_email(client: Client, user: ApiUser, address_book: Any) -> None:
    assert await names(client, user, "q=gra") == ["Grace"]  # first name
    assert await names(client, user, "q=hopp") == ["Grace"]  # last name
    assert await names(client, user, "q=navy") == ["Grace"]  # email
    assert await names(client, user, "q=a") == ["Edsger", "Grace", "Ada", "Alan", "Émile"]


async def test_q_is_case_insensitive_also_beyond_ascii(client: Client, user: ApiUser, address_book: Any) -> None:
    assert await names(client, user, "q=LOVE") == ["Ada"]
    assert await names(client, user, "q=émile") == ["Émile"]
    assert await names(client, user, "q=ÉMILE") == ["Émile"]


async def test_each_field_filter(client: Client, user: ApiUser, address_book: Any) -> None:
    assert await names(client, user, "first_name=al") == ["Alan"]
    assert await names(client, user, "last_name=TUR") == ["Alan"]
    assert await names(client, user, "email=example.com") == ["Ada", "Alan"]
    assert await names(client, user, "first_name=a&email=example.com") == ["Ada", "Alan"]
    assert await names(client, user, "first_name=grace&last_name=zola") == []


async def test_percent_and_underscore_match_literally(client: Client, user: ApiUser, address_book: Any) -> None:
    assert await names(client, user, "q=%25") == ["Edsger"]  # "%" only in ewd%home
    assert await names(client, user, "q=_") == ["Alan"]  # "_" only in alan_t
    assert await names(client, user, "email=n_t") == ["Alan"]
    assert await names(client, user, "q=%5C") == []  # a backslash matches nothing here


async def test_sql_looking_input_is_just_text(client: Client, user: ApiUser, address_book: Any) -> None:
    response = await client.get(
        "/api/contacts", params={"q": "' OR 1=1; DROP TABLE contacts; --"}, headers=user.headers
    )
    assert response.status_code == 200
    assert response.json() == {"items": [], "total": 0, "limit": 20, "offset": 0}
    assert (await client.get("/api/contacts", headers=user.headers)).json()["total"] == 5


async def test_pagination_counts_the_total_under_the_filters(client: Client, user: ApiUser, address_book: Any) -> None:
    first = (await client.get("/api/contacts?q=a&limit=2", headers=user.headers)).json()
    second = (await client.get("/api/contacts?q=a&limit=2&offset=2", headers=user.headers)).json()
    last = (await client.get("/api/contacts?q=a&limit=2&offset=4", headers=user.headers)).json()
    assert [first["total"], second["total"], last["total"]] == [5, 5, 5]
    ids = [item["id"] for page in (first, second, last) for item in page["items"]]
    assert len(ids) == len(set(ids)) == 5
    beyond = (await client.get("/api/contacts?offset=50", headers=user.headers)).json()
    assert (beyond["items"], beyond["total"], beyond["offset"]) == ([], 5, 50)


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=-1", "offset=-1", "limit=ten", "offset=1.5"])
async def test_out_of_range_paging_is_400(client: Client, user: ApiUser, query: str) -> None:
    response = await client.get(f"/api/contacts?{query}", headers=user.headers)
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == query.split("=")[0]


async def test_limits_at_the_bounds_are_accepted(client: Client, user: ApiUser) -> None:
    for query in ["limit=1", "limit=100", "offset=0"]:
        assert (await client.get(f"/api/contacts?{query}", headers=user.headers)).status_code == 200


async def test_a_nul_character_in_a_filter_is_400(client: Client, user: ApiUser) -> None:
    response = await client.get("/api/contacts?q=a%00b", headers=user.headers)
    assert response.status_code == 400


@pytest.mark.parametrize("name", ["ΟΔΥΣΣΕΑΣ", "İpek", "Straße"])
async def test_searching_a_name_as_stored_finds_it_whatever_its_letters(
    client: Client, user: ApiUser, name: str
) -> None:
    await create_contact(client, user, first_name=name)
    assert await names(client, user, f"q={name}") == [name]
    assert await names(client, user, f"first_name={name}") == [name]
