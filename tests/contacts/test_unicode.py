"""Text is stored in NFC, and searched, filtered and sorted case- and accent-insensitively by one
rule (contacts_api/text.py), with the same answers on SQLite and PostgreSQL."""

from __future__ import annotations

import unicodedata

import pytest

from contacts_api.config import Settings
from tests.conftest import ApiUser, query_scalar
from tests.contacts.conftest import Client, create_contact

DECOMPOSED_JOSE = "Jose\u0301"  # what a macOS keyboard sends for "José"


async def found(client: Client, user: ApiUser, query: str) -> list[str]:
    response = await client.get(f"/api/contacts?{query}", headers=user.headers)
    assert response.status_code == 200, response.text
    return [f"{item['first_name']} {item['last_name']}" for item in response.json()["items"]]


@pytest.mark.parametrize("q", ["ΚΟΣ", "κοσ", "κοσμας", "ΚΟΣΜΑΣ", "Κοσμάς", "μασ"])
async def test_a_greek_final_sigma_is_found_by_any_case(client: Client, user: ApiUser, q: str) -> None:
    await create_contact(client, user, first_name="Νίκος", last_name="ΚΟΣΜΑΣ")
    assert await found(client, user, f"q={q}") == ["Νίκος ΚΟΣΜΑΣ"]


async def test_decomposed_text_is_stored_and_answered_in_nfc(client: Client, user: ApiUser, settings: Settings) -> None:
    created = await create_contact(client, user, first_name=DECOMPOSED_JOSE, notes="cafe\u0301")
    assert created["first_name"] == "José" == unicodedata.normalize("NFC", DECOMPOSED_JOSE)
    assert created["notes"] == "café"
    stored = await query_scalar(settings.database_url, "SELECT first_name FROM contacts")
    assert stored == "José"


@pytest.mark.parametrize("q", ["José", DECOMPOSED_JOSE, "jose", "JOSE", "osé"])
async def test_search_finds_a_name_whatever_its_form_case_or_accents(client: Client, user: ApiUser, q: str) -> None:
    await create_contact(client, user, first_name=DECOMPOSED_JOSE, last_name="Saramago")
    await create_contact(client, user, first_name="Ana", last_name="Other", email="ana@example.com")
    assert await found(client, user, f"q={q}") == ["José Saramago"]


@pytest.mark.parametrize(("field", "value"), [("first_name", "emile"), ("last_name", "ZOLA"), ("first_name", "ÉMI")])
async def test_per_field_filters_ignore_case_and_accents(client: Client, user: ApiUser, field: str, value: str) -> None:
    await create_contact(client, user, first_name="Émile", last_name="Zolà")
    await create_contact(client, user, first_name="Ada", last_name="Lovelace", email="ada2@example.com")
    assert await found(client, user, f"{field}={value}") == ["Émile Zolà"]


async def test_the_name_order_ignores_case_and_accents(client: Client, user: ApiUser) -> None:
    for index, last_name in enumerate(["Zola", "émile", "Baker", "adams", "Éclair", "Dupont"]):
        await create_contact(client, user, first_name="A", last_name=last_name, email=f"n{index}@example.com")
    assert await found(client, user, "limit=10") == [
        "A adams", "A Baker", "A Dupont", "A Éclair", "A émile", "A Zola",
    ]  # fmt: skip
    # The same order page by page, and in a search.
    assert await found(client, user, "limit=2&offset=2") == ["A Dupont", "A Éclair"]
    assert await found(client, user, "q=a") == ["A adams", "A Baker", "A Dupont", "A Éclair", "A émile", "A Zola"]


async def test_a_sharp_s_matches_its_case_folded_form(client: Client, user: ApiUser) -> None:
    await create_contact(client, user, first_name="Jörg", last_name="Straße")
    assert await found(client, user, "q=strasse") == ["Jörg Straße"]
    assert await found(client, user, "last_name=STRASSE") == ["Jörg Straße"]


async def test_renaming_a_contact_updates_what_search_finds(client: Client, user: ApiUser) -> None:
    created = await create_contact(client, user, first_name="Ana", last_name="Old")
    await client.patch(f"/api/contacts/{created['id']}", headers=user.headers, json={"last_name": "Ñúñez"})
    assert await found(client, user, "q=nunez") == ["Ana Ñúñez"]
    assert await found(client, user, "q=old") == []


async def test_a_name_that_folds_to_many_letters_is_stored_and_found(client: Client, user: ApiUser) -> None:
    # U+FDFA is one character that folds to 18: twenty of them overflow a naive search key.
    long_folding = "\ufdfa" * 20
    created = await create_contact(client, user, first_name=long_folding, last_name=long_folding)
    assert created["first_name"] == long_folding
    assert await found(client, user, "q=%D8%B5%D9%84%D9%89") == [f"{long_folding} {long_folding}"]


async def test_a_query_of_combining_marks_alone_filters_nothing(client: Client, user: ApiUser) -> None:
    await create_contact(client, user, first_name="Ana", last_name="Lima")
    assert await found(client, user, "q=%CC%81") == ["Ana Lima"]
