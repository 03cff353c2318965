"""Version 2 of the contact (contract, "Contacts"): lists of emails, phones and addresses with
labels, the version 1 fields as views of them, E.164 forms, tags, favourites, organization and
job title, year-less birthdays, uniqueness of an address across every entry of an owner's
contacts, NFC, and the index tables (contact_emails, contact_phones, contact_tags) that follow
every write."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from contacts_api.app import create_app
from contacts_api.config import Settings
from tests.conftest import (
    PASSWORD,
    ApiUser,
    Client,
    PinnedClock,
    RequestCall,
    make_settings,
    query_scalar,
    run_concurrently,
    sign_up_and_log_in,
    wipe,
)
from tests.contacts.conftest import contact_body, create_contact

DUPLICATE_EMAIL = "You already have a contact with this email"
TOMORROW = (datetime.datetime.now(datetime.UTC).date() + datetime.timedelta(days=1)).isoformat()
DECOMPOSED_JOSE = "Jose\u0301"  # "José" as a macOS keyboard sends it
COMPOSED_JOSE = "Jos\u00e9"
INDEX_TABLES = ("contact_emails", "contact_phones", "contact_tags")
VERSION_1_FIELDS = ("first_name", "last_name", "email", "phone", "birthday", "notes")


def v2_body(**overrides: Any) -> dict[str, Any]:
    """A body without the version 1 `email` and `phone`, so that it may send the lists."""
    body = contact_body(**overrides)
    for primary in ("email", "phone"):
        if primary not in overrides:
            del body[primary]
    return body


async def create_v2(client: Client, owner: ApiUser, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/contacts", headers=owner.headers, json=v2_body(**overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def fetch(client: Client, owner: ApiUser, contact: dict[str, Any]) -> dict[str, Any]:
    response = await client.get(f"/api/contacts/{contact['id']}", headers=owner.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def count(database_url: str, sql: str, **params: Any) -> int:
    return int(await query_scalar(database_url, sql, **params))


async def column_values(database_url: str, table: str, column: str) -> set[str]:
    """Every distinct non-null value of `table.column`, read with query_scalar one at a time."""
    values: set[str] = set()
    value = await query_scalar(database_url, f"SELECT min({column}) FROM {table}")
    while value is not None:
        values.add(value)
        value = await query_scalar(database_url, f"SELECT min({column}) FROM {table} WHERE {column} > :v", v=value)
    return values


async def emails_of(database_url: str, first_name: str) -> set[str]:
    """The contact_emails addresses of the contact(s) named `first_name`."""
    values: set[str] = set()
    sql = (
        "SELECT min(e.address) FROM contact_emails e JOIN contacts c ON c.id = e.contact_id"
        " WHERE c.first_name = :name AND e.address > :after"
    )
    value = await query_scalar(database_url, sql, name=first_name, after="")
    while value is not None:
        values.add(value)
        value = await query_scalar(database_url, sql, name=first_name, after=value)
    return values


async def tag_rows(database_url: str, first_name: str) -> set[str]:
    """The contact_tags names of the contact(s) named `first_name`."""
    values: set[str] = set()
    sql = (
        "SELECT min(t.name) FROM contact_tags t JOIN contacts c ON c.id = t.contact_id"
        " WHERE c.first_name = :name AND t.name > :after"
    )
    value = await query_scalar(database_url, sql, name=first_name, after="")
    while value is not None:
        values.add(value)
        value = await query_scalar(database_url, sql, name=first_name, after=value)
    return values


async def index_row_counts(database_url: str) -> dict[str, int]:
    return {table: await count(database_url, f"SELECT count(*) FROM {table}") for table in ("contacts", *INDEX_TABLES)}


@pytest.fixture
def gb_settings(database_url: str) -> Settings:
    return make_settings(database_url, default_phone_region="GB")


@pytest.fixture
async def gb_client(gb_settings: Settings, clock: PinnedClock) -> AsyncIterator[Client]:
    """A client of an app whose DEFAULT_PHONE_REGION is GB."""
    async with AsyncTestClient(app=create_app(gb_settings, clock=clock)) as test_client:
        yield test_client
    await wipe(gb_settings.database_url)


# 1. Lists with labels


async def test_emails_are_stored_lower_cased_with_labels_trimmed_and_null_when_absent(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    created = await create_v2(
        client,
        user,
        emails=[{"value": " Ada@Work.Example.COM ", "label": "  work "}, {"value": "ada@home.example.com"}],
    )
    expected = [
        {"value": "ada@work.example.com", "label": "work"},
        {"value": "ada@home.example.com", "label": None},
    ]
    assert created["emails"] == expected
    assert (await fetch(client, user, created))["emails"] == expected
    assert await column_values(settings.database_url, "contact_emails", "address") == {
        "ada@work.example.com",
        "ada@home.example.com",
    }
    assert await count(settings.database_url, "SELECT count(*) FROM contact_emails") == 2


async def test_free_text_labels_are_kept(client: Client, user: ApiUser) -> None:
    created = await create_v2(
        client,
        user,
        emails=[{"value": "ada@example.com", "label": "Old university address"}],
        phones=[{"value": "+1 555 010 0200", "label": "Grandma's landline"}],
    )
    assert created["emails"][0]["label"] == "Old university address"
    assert created["phones"][0]["label"] == "Grandma's landline"


async def test_phones_are_stored_as_typed_with_labels_trimmed_and_null_when_absent(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    created = await create_v2(
        client,
        user,
        phones=[{"value": "+1 (555) 010-0200", "label": " mobile "}, {"value": "555.010.0201"}],
    )
    expected = [
        {"value": "+1 (555) 010-0200", "label": "mobile", "e164": "+15550100200"},
        {"value": "555.010.0201", "label": None, "e164": None},
    ]
    assert created["phones"] == expected
    assert (await fetch(client, user, created))["phones"] == expected
    assert await count(settings.database_url, "SELECT count(*) FROM contact_phones") == 2
    assert await query_scalar(settings.database_url, "SELECT digits FROM contact_phones WHERE position = 0") == (
        "15550100200"
    )
    assert await query_scalar(settings.database_url, "SELECT e164 FROM contact_phones WHERE position = 0") == (
        "+15550100200"
    )
    assert await query_scalar(settings.database_url, "SELECT digits FROM contact_phones WHERE position = 1") == (
        "5550100201"
    )
    assert await query_scalar(settings.database_url, "SELECT e164 FROM contact_phones WHERE position = 1") is None


async def test_addresses_are_stored_as_given_with_absent_parts_null(client: Client, user: ApiUser) -> None:
    home = {"label": "home", "street": "12 St James's Square", "city": "London", "postal_code": "SW1Y 4JH"}
    work = {"city": "Paris", "country": "France"}
    created = await create_v2(client, user, addresses=[home, work])
    parts = ("label", "street", "city", "region", "postal_code", "country")
    expected = [{part: address.get(part) for part in parts} for address in (home, work)]
    assert created["addresses"] == expected
    assert (await fetch(client, user, created))["addresses"] == expected


async def test_email_and_phone_in_answers_are_the_first_entries_values(client: Client, user: ApiUser) -> None:
    created = await create_v2(
        client,
        user,
        emails=[{"value": "First@Example.com", "label": "work"}, {"value": "second@example.com"}],
        phones=[{"value": "555 010 0200"}, {"value": "+1 555 010 0201", "label": "mobile"}],
    )
    for answer in (created, await fetch(client, user, created)):
        assert answer["email"] == answer["emails"][0]["value"] == "first@example.com"
        assert answer["phone"] == answer["phones"][0]["value"] == "555 010 0200"


async def test_email_and_phone_are_null_without_entries(client: Client, user: ApiUser) -> None:
    created = await create_v2(client, user, emails=[], phones=[])
    fetched = await fetch(client, user, created)
    for answer in (created, fetched):
        assert (answer["email"], answer["phone"], answer["emails"], answer["phones"]) == (None, None, [], [])


async def test_the_list_of_contacts_shows_the_same_lists_and_primaries(client: Client, user: ApiUser) -> None:
    created = await create_v2(
        client,
        user,
        emails=[{"value": "ada@example.com", "label": "home"}, {"value": "ada@work.example.com", "label": "work"}],
        phones=[{"value": "+44 20 7946 0958", "label": "main"}],
    )
    page = (await client.get("/api/contacts", headers=user.headers)).json()
    assert page["items"] == [created]


# 2. Version 1 compatibility


async def test_a_version_1_body_reads_back_exactly_as_sent(client: Client, user: ApiUser) -> None:
    body = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "phone": "+44 20 7946 0958",
        "birthday": "1815-12-10",
        "notes": "Met at the Analytical Engine meetup",
    }
    response = await client.post("/api/contacts", headers=user.headers, json=body)
    assert response.status_code == 201, response.text
    for answer in (response.json(), await fetch(client, user, response.json())):
        assert {field: answer[field] for field in VERSION_1_FIELDS} == body


async def test_email_on_create_means_one_entry_without_a_label(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    created = await create_contact(client, user, email="a@b.co", phone="+1 555 010 0200")
    assert created["emails"] == [{"value": "a@b.co", "label": None}]
    assert created["phones"] == [{"value": "+1 555 010 0200", "label": None, "e164": "+15550100200"}]
    assert await column_values(settings.database_url, "contact_emails", "address") == {"a@b.co"}


async def test_email_on_put_replaces_every_entry_with_one_without_a_label(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    created = await create_v2(
        client,
        user,
        emails=[{"value": "one@example.com", "label": "work"}, {"value": "two@example.com", "label": "home"}],
    )
    response = await client.put(
        f"/api/contacts/{created['id']}", headers=user.headers, json=contact_body(email="three@example.com")
    )
    assert response.status_code == 200, response.text
    assert response.json()["emails"] == [{"value": "three@example.com", "label": None}]
    assert await column_values(settings.database_url, "contact_emails", "address") == {"three@example.com"}


async def test_patching_email_replaces_the_first_value_and_keeps_its_label_and_the_others(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    created = await create_v2(
        client,
        user,
        emails=[{"value": "old@example.com", "label": "work"}, {"value": "home@example.com", "label": "home"}],
    )
    response = await client.patch(
        f"/api/contacts/{created['id']}", headers=user.headers, json={"email": "New@Example.com"}
    )
    assert response.status_code == 200, response.text
    expected = [{"value": "new@example.com", "label": "work"}, {"value": "home@example.com", "label": "home"}]
    assert response.json()["emails"] == expected
    assert response.json()["email"] == "new@example.com"
    assert (await fetch(client, user, created))["emails"] == expected
    assert await column_values(settings.database_url, "contact_emails", "address") == {
        "new@example.com",
        "home@example.com",
    }
    assert await count(settings.database_url, "SELECT count(*) FROM contact_emails") == 2


async def test_patching_email_to_null_removes_the_first_entry_and_the_second_becomes_primary(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    created = await create_v2(
        client,
        user,
        emails=[{"value": "first@example.com", "label": "work"}, {"value": "second@example.com", "label": "home"}],
    )
    response = await client.patch(f"/api/contacts/{created['id']}", headers=user.headers, json={"email": None})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["emails"] == [{"value": "second@example.com", "label": "home"}]
    assert body["email"] == "second@example.com"
    assert await column_values(settings.database_url, "contact_emails", "address") == {"second@example.com"}


async def test_patching_email_to_null_on_the_last_entry_leaves_none(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    created = await create_contact(client, user, email="only@example.com")
    response = await client.patch(f"/api/contacts/{created['id']}", headers=user.headers, json={"email": None})
    assert response.status_code == 200, response.text
    assert (response.json()["email"], response.json()["emails"]) == (None, [])
    assert await count(settings.database_url, "SELECT count(*) FROM contact_emails") == 0


async def test_patching_phone_replaces_the_first_value_keeps_its_label_and_the_others_and_recomputes_e164(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    created = await create_v2(
        client,
        user,
        phones=[{"value": "+1 555 010 0200", "label": "mobile"}, {"value": "555 010 0201", "label": "fax"}],
    )
    response = await client.patch(
        f"/api/contacts/{created['id']}", headers=user.headers, json={"phone": "+44 20 7946 0958"}
    )
    assert response.status_code == 200, response.text
    expected = [
        {"value": "+44 20 7946 0958", "label": "mobile", "e164": "+442079460958"},
        {"value": "555 010 0201", "label": "fax", "e164": None},
    ]
    assert response.json()["phones"] == expected
    assert response.json()["phone"] == "+44 20 7946 0958"
    assert (await fetch(client, user, created))["phones"] == expected
    assert await query_scalar(settings.database_url, "SELECT e164 FROM contact_phones WHERE position = 0") == (
        "+442079460958"
    )
    assert await count(settings.database_url, "SELECT count(*) FROM contact_phones") == 2


async def test_patching_phone_to_null_removes_the_first_entry_and_the_second_becomes_primary(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    created = await create_v2(
        client,
        user,
        phones=[{"value": "+1 555 010 0200", "label": "mobile"}, {"value": "+1 555 010 0201", "label": "work"}],
    )
    response = await client.patch(f"/api/contacts/{created['id']}", headers=user.headers, json={"phone": None})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["phones"] == [{"value": "+1 555 010 0201", "label": "work", "e164": "+15550100201"}]
    assert body["phone"] == "+1 555 010 0201"
    assert await count(settings.database_url, "SELECT count(*) FROM contact_phones") == 1
    assert await query_scalar(settings.database_url, "SELECT e164 FROM contact_phones WHERE position = 0") == (
        "+15550100201"
    )


async def test_patching_an_email_onto_a_contact_without_one_adds_it(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    created = await create_v2(client, user)
    assert created["emails"] == []
    response = await client.patch(
        f"/api/contacts/{created['id']}", headers=user.headers, json={"email": "Added@Example.com"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["emails"] == [{"value": "added@example.com", "label": None}]
    assert response.json()["email"] == "added@example.com"
    assert await column_values(settings.database_url, "contact_emails", "address") == {"added@example.com"}


async def test_patching_a_phone_onto_a_contact_without_one_adds_it(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    created = await create_v2(client, user)
    response = await client.patch(
        f"/api/contacts/{created['id']}", headers=user.headers, json={"phone": "+1 555 010 0200"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["phones"] == [{"value": "+1 555 010 0200", "label": None, "e164": "+15550100200"}]
    assert await count(settings.database_url, "SELECT count(*) FROM contact_phones") == 1


async def test_a_patch_of_other_fields_keeps_the_index_rows(client: Client, user: ApiUser, settings: Settings) -> None:
    created = await create_v2(
        client, user, emails=[{"value": "ada@example.com"}], phones=[{"value": "555 010 0200"}], tags=["family"]
    )
    before = await index_row_counts(settings.database_url)
    response = await client.patch(f"/api/contacts/{created['id']}", headers=user.headers, json={"notes": "changed"})
    assert response.status_code == 200, response.text
    assert (
        await index_row_counts(settings.database_url)
        == before
        == {
            "contacts": 1,
            "contact_emails": 1,
            "contact_phones": 1,
            "contact_tags": 1,
        }
    )


# 3. The version 1 field and its list, together


async def test_email_and_emails_with_values_on_create_is_400_naming_email(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    body = contact_body(email="a@example.com", emails=[{"value": "b@example.com"}])
    response = await client.post("/api/contacts", headers=user.headers, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["extra"][0]["key"] == "email"
    assert await count(settings.database_url, "SELECT count(*) FROM contacts") == 0


async def test_phone_and_phones_with_values_on_create_is_400_naming_phone(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    body = contact_body(phone="555 010 0200", phones=[{"value": "555 010 0201"}])
    response = await client.post("/api/contacts", headers=user.headers, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["extra"][0]["key"] == "phone"
    assert await count(settings.database_url, "SELECT count(*) FROM contacts") == 0


async def test_email_and_emails_with_values_on_put_is_400_naming_email_and_changes_nothing(
    client: Client, user: ApiUser
) -> None:
    created = await create_contact(client, user)
    body = contact_body(email="a@example.com", emails=[{"value": "b@example.com"}])
    response = await client.put(f"/api/contacts/{created['id']}", headers=user.headers, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["extra"][0]["key"] == "email"
    assert await fetch(client, user, created) == created


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"email": "a@example.com", "emails": [{"value": "b@example.com"}]}, "email"),
        ({"email": None, "emails": [{"value": "b@example.com"}]}, "email"),
        ({"email": "a@example.com", "emails": []}, "email"),
        ({"phone": "555 010 0200", "phones": [{"value": "555 010 0201"}]}, "phone"),
        ({"phone": None, "phones": [{"value": "555 010 0201"}]}, "phone"),
        ({"phone": "555 010 0200", "phones": []}, "phone"),
    ],
    ids=["email+emails", "null email+emails", "email+empty emails", "phone+phones", "null phone+phones", "phone+[]"],
)
async def test_both_keys_present_on_patch_is_400_naming_the_version_1_field_and_changes_nothing(
    client: Client, user: ApiUser, settings: Settings, body: dict[str, Any], key: str
) -> None:
    created = await create_contact(client, user)
    response = await client.patch(f"/api/contacts/{created['id']}", headers=user.headers, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["extra"][0]["key"] == key
    assert await fetch(client, user, created) == created
    assert await column_values(settings.database_url, "contact_emails", "address") == {"ada@example.com"}


# 4. Phones


async def test_a_phone_value_is_kept_exactly_as_typed(client: Client, user: ApiUser) -> None:
    typed = ["+1  (555) 010-0200", "(555)010.0201", "+44 20-7946-0958", "0 20 7946 0958 "]
    created = await create_v2(client, user, phones=[{"value": value} for value in typed])
    assert [phone["value"] for phone in created["phones"]] == typed
    assert [phone["value"] for phone in (await fetch(client, user, created))["phones"]] == typed


async def test_e164_is_derived_from_a_number_with_a_leading_plus(client: Client, user: ApiUser) -> None:
    created = await create_v2(client, user, phones=[{"value": "+1 (555) 010-0200"}, {"value": "+44 20 7946 0958"}])
    assert [phone["e164"] for phone in created["phones"]] == ["+15550100200", "+442079460958"]


async def test_e164_is_null_without_a_leading_plus_and_no_default_region(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    assert settings.default_phone_region == ""
    created = await create_v2(client, user, phones=[{"value": "020 7946 0958"}, {"value": "(555) 010-0200"}])
    assert [phone["e164"] for phone in created["phones"]] == [None, None]
    assert await count(settings.database_url, "SELECT count(*) FROM contact_phones WHERE e164 IS NULL") == 2


async def test_e164_reads_a_national_number_in_the_default_phone_region(
    gb_client: Client, gb_settings: Settings
) -> None:
    owner = await sign_up_and_log_in(gb_client)
    created = await create_v2(gb_client, owner, phones=[{"value": "020 7946 0958", "label": "work"}])
    assert created["phones"] == [{"value": "020 7946 0958", "label": "work", "e164": "+442079460958"}]
    assert await query_scalar(gb_settings.database_url, "SELECT e164 FROM contact_phones") == "+442079460958"


async def test_a_number_with_a_leading_plus_ignores_the_default_phone_region(gb_client: Client) -> None:
    owner = await sign_up_and_log_in(gb_client)
    created = await create_contact(gb_client, owner, phone="+1 (555) 010-0200")
    assert created["phones"][0]["e164"] == "+15550100200"


async def test_a_patched_phone_is_read_in_the_default_phone_region(gb_client: Client) -> None:
    owner = await sign_up_and_log_in(gb_client)
    created = await create_contact(gb_client, owner, phone="+1 (555) 010-0200")
    response = await gb_client.patch(
        f"/api/contacts/{created['id']}", headers=owner.headers, json={"phone": "020 7946 0958"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["phones"] == [{"value": "020 7946 0958", "label": None, "e164": "+442079460958"}]


async def test_a_client_sending_e164_on_create_is_400(client: Client, user: ApiUser, settings: Settings) -> None:
    body = v2_body(phones=[{"value": "555 010 0200", "e164": "+15550100200"}])
    response = await client.post("/api/contacts", headers=user.headers, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["extra"][0]["key"] == "phones"
    assert await count(settings.database_url, "SELECT count(*) FROM contacts") == 0


async def test_a_client_sending_e164_on_patch_is_400_and_changes_nothing(client: Client, user: ApiUser) -> None:
    created = await create_contact(client, user)
    response = await client.patch(
        f"/api/contacts/{created['id']}",
        headers=user.headers,
        json={"phones": [{"value": "555 010 0200", "e164": "+15550100200"}]},
    )
    assert response.status_code == 400, response.text
    assert response.json()["extra"][0]["key"] == "phones"
    assert await fetch(client, user, created) == created


async def test_dots_are_allowed_in_phone_values(client: Client, user: ApiUser) -> None:
    created = await create_contact(client, user, phone="555.010.0200")
    assert created["phone"] == "555.010.0200"
    assert created["phones"] == [{"value": "555.010.0200", "label": None, "e164": None}]


# 5. Tags


async def test_tags_are_trimmed(client: Client, user: ApiUser) -> None:
    created = await create_v2(client, user, tags=["  family ", "work  "])
    assert created["tags"] == ["family", "work"]


async def test_tags_differing_in_case_keep_one_spelled_as_first_given(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    created = await create_v2(client, user, tags=["Family", "family", " FAMILY "])
    assert created["tags"] == ["Family"]
    assert (await fetch(client, user, created))["tags"] == ["Family"]
    assert await count(settings.database_url, "SELECT count(*) FROM contact_tags") == 1
    assert await query_scalar(settings.database_url, "SELECT name FROM contact_tags") == "Family"


async def test_tags_keep_their_order(client: Client, user: ApiUser) -> None:
    tags = ["zeta", "Alpha", "mu", "beta"]
    created = await create_v2(client, user, tags=tags)
    assert created["tags"] == tags
    assert (await fetch(client, user, created))["tags"] == tags


async def test_contact_tags_rows_equal_the_tags(client: Client, user: ApiUser, settings: Settings) -> None:
    await create_v2(client, user, first_name="Ada", tags=["Family", "work", "family", "Chess Club"])
    await create_v2(client, user, first_name="Grace", tags=["navy"])
    assert await tag_rows(settings.database_url, "Ada") == {"Family", "work", "Chess Club"}
    assert await tag_rows(settings.database_url, "Grace") == {"navy"}
    assert await count(settings.database_url, "SELECT count(*) FROM contact_tags") == 4


async def test_patching_tags_replaces_the_rows(client: Client, user: ApiUser, settings: Settings) -> None:
    created = await create_v2(client, user, first_name="Ada", tags=["family", "work"])
    await create_v2(client, user, first_name="Grace", tags=["work"])
    response = await client.patch(
        f"/api/contacts/{created['id']}", headers=user.headers, json={"tags": ["chess", "Work"]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["tags"] == ["chess", "Work"]
    assert await tag_rows(settings.database_url, "Ada") == {"chess", "Work"}
    assert await tag_rows(settings.database_url, "Grace") == {"work"}
    assert await count(settings.database_url, "SELECT count(*) FROM contact_tags") == 3


async def test_patching_tags_to_an_empty_list_removes_the_rows(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    created = await create_v2(client, user, tags=["family", "work"])
    response = await client.patch(f"/api/contacts/{created['id']}", headers=user.headers, json={"tags": []})
    assert response.status_code == 200, response.text
    assert response.json()["tags"] == []
    assert await count(settings.database_url, "SELECT count(*) FROM contact_tags") == 0


# 6. Favourite, organization, job title


async def test_favorite_defaults_to_false(client: Client, user: ApiUser) -> None:
    created = await create_contact(client, user)
    assert created["favorite"] is False


async def test_favorite_can_be_set_on_create_and_by_patch(client: Client, user: ApiUser, settings: Settings) -> None:
    created = await create_contact(client, user, favorite=True)
    assert created["favorite"] is True
    response = await client.patch(f"/api/contacts/{created['id']}", headers=user.headers, json={"favorite": False})
    assert response.status_code == 200, response.text
    assert response.json()["favorite"] is False
    assert not await query_scalar(settings.database_url, "SELECT favorite FROM contacts")


async def test_organization_and_job_title_are_null_when_absent(client: Client, user: ApiUser) -> None:
    created = await create_contact(client, user)
    assert (created["organization"], created["job_title"]) == (None, None)


async def test_organization_and_job_title_are_stored(client: Client, user: ApiUser, settings: Settings) -> None:
    created = await create_contact(client, user, organization="US Navy", job_title="Rear Admiral")
    assert (created["organization"], created["job_title"]) == ("US Navy", "Rear Admiral")
    assert (await fetch(client, user, created))["organization"] == "US Navy"
    assert await query_scalar(settings.database_url, "SELECT organization FROM contacts") == "US Navy"
    assert await query_scalar(settings.database_url, "SELECT job_title FROM contacts") == "Rear Admiral"


@pytest.mark.parametrize("field", ["organization", "job_title"])
async def test_200_characters_of_organization_or_job_title_are_accepted(
    client: Client, user: ApiUser, field: str
) -> None:
    created = await create_contact(client, user, **{field: "o" * 200})
    assert created[field] == "o" * 200


@pytest.mark.parametrize("field", ["organization", "job_title"])
async def test_201_characters_of_organization_or_job_title_are_400_naming_it(
    client: Client, user: ApiUser, settings: Settings, field: str
) -> None:
    response = await client.post("/api/contacts", headers=user.headers, json=contact_body(**{field: "o" * 201}))
    assert response.status_code == 400, response.text
    assert response.json()["extra"][0]["key"] == field
    assert await count(settings.database_url, "SELECT count(*) FROM contacts") == 0


# 7. Birthdays


async def test_a_yearless_february_29_is_accepted_and_returned_as_given(client: Client, user: ApiUser) -> None:
    created = await create_contact(client, user, birthday="--02-29")
    assert created["birthday"] == "--02-29"
    assert (await fetch(client, user, created))["birthday"] == "--02-29"


async def test_a_yearless_february_30_is_400(client: Client, user: ApiUser, settings: Settings) -> None:
    response = await client.post("/api/contacts", headers=user.headers, json=contact_body(birthday="--02-30"))
    assert response.status_code == 400, response.text
    assert response.json()["extra"][0]["key"] == "birthday"
    assert await count(settings.database_url, "SELECT count(*) FROM contacts") == 0


async def test_a_future_birthday_is_400(client: Client, user: ApiUser, settings: Settings) -> None:
    response = await client.post("/api/contacts", headers=user.headers, json=contact_body(birthday=TOMORROW))
    assert response.status_code == 400, response.text
    assert response.json()["extra"][0]["key"] == "birthday"
    assert await count(settings.database_url, "SELECT count(*) FROM contacts") == 0


async def test_a_null_birthday_is_allowed(client: Client, user: ApiUser) -> None:
    created = await create_contact(client, user, birthday=None)
    assert created["birthday"] is None


async def test_patching_the_birthday_to_null_clears_it(client: Client, user: ApiUser, settings: Settings) -> None:
    created = await create_contact(client, user, birthday="--07-14")
    response = await client.patch(f"/api/contacts/{created['id']}", headers=user.headers, json={"birthday": None})
    assert response.status_code == 200, response.text
    assert response.json()["birthday"] is None
    assert await query_scalar(settings.database_url, "SELECT birthday FROM contacts") is None
    assert await query_scalar(settings.database_url, "SELECT birthday_month_day FROM contacts") is None


# 8. An address is on at most one contact of an owner


def assert_conflict_naming(response: httpx.Response, key: str) -> None:
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["detail"] == DUPLICATE_EMAIL
    assert body["extra"][0]["key"] == key


@pytest.mark.parametrize("position", [0, 1], ids=["as-first-email", "as-second-email"])
async def test_the_second_email_of_a_contact_cannot_be_any_email_of_another_on_create(
    client: Client, user: ApiUser, settings: Settings, position: int
) -> None:
    await create_v2(client, user, first_name="A", emails=[{"value": "a@example.com"}, {"value": "shared@example.com"}])
    emails = [{"value": "b@example.com"}]
    emails.insert(position, {"value": "Shared@Example.com"})
    response = await client.post("/api/contacts", headers=user.headers, json=v2_body(first_name="B", emails=emails))
    assert_conflict_naming(response, "emails")
    assert await count(settings.database_url, "SELECT count(*) FROM contacts") == 1
    assert await column_values(settings.database_url, "contact_emails", "address") == {
        "a@example.com",
        "shared@example.com",
    }
    assert await emails_of(settings.database_url, "A") == {"a@example.com", "shared@example.com"}


async def test_an_email_of_another_contact_is_409_on_put_and_changes_nothing(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    await create_v2(client, user, first_name="A", emails=[{"value": "a@example.com"}, {"value": "shared@example.com"}])
    b = await create_v2(client, user, first_name="B", emails=[{"value": "b@example.com", "label": "work"}])
    response = await client.put(
        f"/api/contacts/{b['id']}",
        headers=user.headers,
        json=v2_body(first_name="Changed", emails=[{"value": "b@example.com"}, {"value": "shared@example.com"}]),
    )
    assert_conflict_naming(response, "emails")
    assert await fetch(client, user, b) == b
    assert await emails_of(settings.database_url, "B") == {"b@example.com"}
    assert await emails_of(settings.database_url, "A") == {"a@example.com", "shared@example.com"}
    assert await count(settings.database_url, "SELECT count(*) FROM contact_emails") == 3


async def test_an_email_of_another_contact_is_409_on_patch_and_changes_nothing(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    await create_v2(client, user, first_name="A", emails=[{"value": "a@example.com"}, {"value": "shared@example.com"}])
    b = await create_v2(client, user, first_name="B", emails=[{"value": "b@example.com"}], tags=["x"])
    response = await client.patch(
        f"/api/contacts/{b['id']}",
        headers=user.headers,
        json={"notes": "changed", "tags": ["y"], "emails": [{"value": "shared@example.com"}]},
    )
    assert_conflict_naming(response, "emails")
    assert await fetch(client, user, b) == b
    assert await emails_of(settings.database_url, "B") == {"b@example.com"}
    assert await tag_rows(settings.database_url, "B") == {"x"}


async def test_patching_email_to_another_contacts_second_address_is_409_naming_email(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    await create_v2(client, user, first_name="A", emails=[{"value": "a@example.com"}, {"value": "shared@example.com"}])
    b = await create_contact(client, user, first_name="B", email="b@example.com")
    response = await client.patch(
        f"/api/contacts/{b['id']}", headers=user.headers, json={"email": "shared@example.com"}
    )
    assert_conflict_naming(response, "email")
    assert await fetch(client, user, b) == b
    assert await emails_of(settings.database_url, "B") == {"b@example.com"}


async def test_the_same_address_twice_in_one_contact_is_400(client: Client, user: ApiUser, settings: Settings) -> None:
    response = await client.post(
        "/api/contacts",
        headers=user.headers,
        json=v2_body(emails=[{"value": "twice@example.com", "label": "work"}, {"value": " TWICE@example.com"}]),
    )
    assert response.status_code == 400, response.text
    assert response.json()["extra"][0]["key"] == "emails"
    assert await count(settings.database_url, "SELECT count(*) FROM contacts") == 0
    assert await count(settings.database_url, "SELECT count(*) FROM contact_emails") == 0


async def test_patching_email_to_the_contacts_own_second_address_is_400_naming_email(
    client: Client, user: ApiUser
) -> None:
    created = await create_v2(client, user, emails=[{"value": "one@example.com"}, {"value": "two@example.com"}])
    response = await client.patch(
        f"/api/contacts/{created['id']}", headers=user.headers, json={"email": "two@example.com"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["extra"][0]["key"] == "email"
    assert await fetch(client, user, created) == created


async def test_another_owner_may_use_the_same_address(
    client: Client, user: ApiUser, other_user: ApiUser, settings: Settings
) -> None:
    await create_v2(client, user, emails=[{"value": "a@example.com"}, {"value": "shared@example.com"}])
    theirs = await create_v2(client, other_user, emails=[{"value": "shared@example.com"}])
    assert theirs["email"] == "shared@example.com"
    shared = "SELECT count(*) FROM contact_emails WHERE address = 'shared@example.com'"
    assert await count(settings.database_url, shared) == 2


async def test_deleting_a_contact_frees_its_addresses(client: Client, user: ApiUser, settings: Settings) -> None:
    a = await create_v2(client, user, emails=[{"value": "a@example.com"}, {"value": "shared@example.com"}])
    assert (await client.delete(f"/api/contacts/{a['id']}", headers=user.headers)).status_code == 204
    assert await count(settings.database_url, "SELECT count(*) FROM contact_emails") == 0
    again = await create_v2(client, user, emails=[{"value": "shared@example.com"}, {"value": "a@example.com"}])
    assert [entry["value"] for entry in again["emails"]] == ["shared@example.com", "a@example.com"]
    assert await count(settings.database_url, "SELECT count(*) FROM contact_emails") == 2


async def test_a_removed_address_is_free_for_another_contact(client: Client, user: ApiUser) -> None:
    a = await create_v2(client, user, emails=[{"value": "a@example.com"}, {"value": "moving@example.com"}])
    response = await client.patch(
        f"/api/contacts/{a['id']}", headers=user.headers, json={"emails": [{"value": "a@example.com"}]}
    )
    assert response.status_code == 200, response.text
    b = await create_contact(client, user, first_name="B", email="moving@example.com")
    assert b["email"] == "moving@example.com"


async def test_a_put_may_keep_the_contacts_own_addresses(client: Client, user: ApiUser, settings: Settings) -> None:
    created = await create_v2(client, user, emails=[{"value": "one@example.com"}, {"value": "two@example.com"}])
    response = await client.put(
        f"/api/contacts/{created['id']}",
        headers=user.headers,
        json=v2_body(
            first_name="Renamed",
            emails=[{"value": "two@example.com", "label": "home"}, {"value": "ONE@example.com", "label": "work"}],
        ),
    )
    assert response.status_code == 200, response.text
    assert response.json()["emails"] == [
        {"value": "two@example.com", "label": "home"},
        {"value": "one@example.com", "label": "work"},
    ]
    assert await emails_of(settings.database_url, "Renamed") == {"one@example.com", "two@example.com"}
    assert await count(settings.database_url, "SELECT count(*) FROM contact_emails") == 2


async def test_a_version_1_put_may_keep_the_contacts_own_address(client: Client, user: ApiUser) -> None:
    created = await create_contact(client, user, email="ada@example.com")
    response = await client.put(
        f"/api/contacts/{created['id']}", headers=user.headers, json=contact_body(email="ada@example.com", notes="x")
    )
    assert response.status_code == 200, response.text
    assert response.json()["email"] == "ada@example.com"


# 9. Concurrency


def create_call(owner: ApiUser, body: dict[str, Any]) -> RequestCall:
    async def call(http: httpx.AsyncClient) -> httpx.Response:
        return await http.post("/api/contacts", headers=owner.headers, json=body)

    return call


async def test_concurrent_creates_sharing_an_address_in_different_positions_give_one_201_and_one_409(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    for round_ in range(3):
        shared = f"race-{round_}-{uuid.uuid4().hex[:6]}@example.com"
        first = v2_body(first_name=f"First {round_}", emails=[{"value": shared}, {"value": f"first-{round_}@x.org"}])
        second = v2_body(
            first_name=f"Second {round_}", emails=[{"value": f"second-{round_}@x.org"}, {"value": shared.upper()}]
        )
        responses = run_concurrently(
            client,
            create_call(user, first),
            create_call(user, second),
        )
        assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
        loser = next(r for r in responses if r.status_code == 409)
        assert_conflict_naming(loser, "emails")
        on_shared = "SELECT count(*) FROM contact_emails WHERE address = :address"
        assert await count(settings.database_url, on_shared, address=shared) == 1
    assert await count(settings.database_url, "SELECT count(*) FROM contacts") == 3
    assert await count(settings.database_url, "SELECT count(*) FROM contact_emails") == 6


# 10. NFC


async def test_a_decomposed_name_label_and_tag_come_back_in_nfc(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    created = await create_v2(
        client,
        user,
        first_name=DECOMPOSED_JOSE,
        emails=[{"value": "jose@example.com", "label": DECOMPOSED_JOSE}],
        phones=[{"value": "555 010 0200", "label": DECOMPOSED_JOSE}],
        tags=[DECOMPOSED_JOSE],
    )
    for answer in (created, await fetch(client, user, created)):
        assert answer["first_name"] == COMPOSED_JOSE
        assert answer["emails"][0]["label"] == COMPOSED_JOSE
        assert answer["phones"][0]["label"] == COMPOSED_JOSE
        assert answer["tags"] == [COMPOSED_JOSE]
    assert await query_scalar(settings.database_url, "SELECT first_name FROM contacts") == COMPOSED_JOSE
    assert await query_scalar(settings.database_url, "SELECT name FROM contact_tags") == COMPOSED_JOSE


async def test_decomposed_organization_job_title_and_address_come_back_in_nfc(client: Client, user: ApiUser) -> None:
    created = await create_v2(
        client,
        user,
        organization=DECOMPOSED_JOSE,
        job_title=DECOMPOSED_JOSE,
        addresses=[{"label": DECOMPOSED_JOSE, "city": DECOMPOSED_JOSE}],
    )
    assert (created["organization"], created["job_title"]) == (COMPOSED_JOSE, COMPOSED_JOSE)
    assert (created["addresses"][0]["label"], created["addresses"][0]["city"]) == (COMPOSED_JOSE, COMPOSED_JOSE)


async def test_a_tag_sent_composed_and_decomposed_is_one_tag(client: Client, user: ApiUser, settings: Settings) -> None:
    created = await create_v2(client, user, tags=[DECOMPOSED_JOSE, COMPOSED_JOSE, "JOSÉ"])
    assert created["tags"] == [COMPOSED_JOSE]
    assert await count(settings.database_url, "SELECT count(*) FROM contact_tags") == 1


async def test_a_patched_decomposed_label_comes_back_in_nfc(client: Client, user: ApiUser) -> None:
    created = await create_contact(client, user)
    response = await client.patch(
        f"/api/contacts/{created['id']}",
        headers=user.headers,
        json={"emails": [{"value": "ada@example.com", "label": DECOMPOSED_JOSE}], "tags": [f" {DECOMPOSED_JOSE} "]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["emails"] == [{"value": "ada@example.com", "label": COMPOSED_JOSE}]
    assert response.json()["tags"] == [COMPOSED_JOSE]


# 11. Index rows go with their contact


async def test_deleting_a_contact_removes_its_index_rows(client: Client, user: ApiUser, settings: Settings) -> None:
    doomed = await create_v2(
        client,
        user,
        first_name="Doomed",
        emails=[{"value": "d1@example.com"}, {"value": "d2@example.com"}],
        phones=[{"value": "555 010 0200"}, {"value": "+1 555 010 0201"}],
        tags=["family", "work"],
    )
    await create_v2(
        client, user, first_name="Kept", emails=[{"value": "k@example.com"}], phones=[{"value": "555 010 0300"}]
    )
    assert (await client.delete(f"/api/contacts/{doomed['id']}", headers=user.headers)).status_code == 204
    assert await index_row_counts(settings.database_url) == {
        "contacts": 1,
        "contact_emails": 1,
        "contact_phones": 1,
        "contact_tags": 0,
    }
    assert await column_values(settings.database_url, "contact_emails", "address") == {"k@example.com"}


async def test_deleting_the_account_removes_its_contacts_index_rows(
    client: Client, user: ApiUser, other_user: ApiUser, settings: Settings
) -> None:
    for index in range(2):
        await create_v2(
            client,
            user,
            emails=[{"value": f"mine-{index}@example.com"}, {"value": f"mine-{index}b@example.com"}],
            phones=[{"value": f"555 010 020{index}"}],
            tags=["family"],
        )
    await create_v2(
        client, other_user, emails=[{"value": "theirs@example.com"}], phones=[{"value": "555 010 0300"}], tags=["x"]
    )
    response = await client.request("DELETE", "/api/users/me", headers=user.headers, json={"password": PASSWORD})
    assert response.status_code == 204, response.text
    assert await index_row_counts(settings.database_url) == {
        "contacts": 1,
        "contact_emails": 1,
        "contact_phones": 1,
        "contact_tags": 1,
    }
    assert await column_values(settings.database_url, "contact_emails", "address") == {"theirs@example.com"}
