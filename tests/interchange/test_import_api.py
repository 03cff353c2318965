"""POST /api/contacts/import: the contract's formats, report, duplicates, dry run and errors, on both databases."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import ApiUser, Client, query_scalar
from tests.contacts.conftest import create_contact
from tests.interchange.conftest import FIXTURE_CONTACTS, all_contacts, fixture_bytes, import_file, imported, vcard

ADA = vcard("N:Lovelace;Ada;;;", "FN:Ada Lovelace", "EMAIL;TYPE=work:ada@example.com", "TEL;TYPE=cell:+44 20 7946 0958")
GRACE = vcard("N:Hopper;Grace;;;", "FN:Grace Hopper", "EMAIL:grace@example.com")


async def test_import_of_a_vcard_body_creates_its_contacts(client: Client, user: ApiUser) -> None:
    report = await imported(client, user, ADA + GRACE)
    assert (report["created"], report["updated"], report["skipped"], report["failed"]) == (2, 0, 0, 0)
    assert [item["index"] for item in report["items"]] == [0, 1]
    assert [item["status"] for item in report["items"]] == ["created", "created"]
    contacts = await all_contacts(client, user)
    assert [(c["first_name"], c["last_name"]) for c in contacts] == [("Ada", "Lovelace"), ("Grace", "Hopper")]
    assert contacts[0]["emails"] == [{"value": "ada@example.com", "label": "work"}]
    assert contacts[0]["phones"] == [{"value": "+44 20 7946 0958", "label": "mobile", "e164": "+442079460958"}]
    assert report["items"][0]["id"] == contacts[0]["id"]
    assert report["items"][0]["name"] == "Ada Lovelace"


async def test_import_of_a_multipart_upload_reads_the_field_file(client: Client, user: ApiUser) -> None:
    response = await client.post(
        "/api/contacts/import",
        headers=user.headers,
        files={"file": ("contacts.vcf", ADA.encode(), "text/vcard")},
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1
    assert [c["first_name"] for c in await all_contacts(client, user)] == ["Ada"]


async def test_import_of_a_multipart_upload_without_the_field_file_is_400(client: Client, user: ApiUser) -> None:
    response = await client.post(
        "/api/contacts/import", headers=user.headers, files={"other": ("contacts.vcf", ADA.encode(), "text/vcard")}
    )
    assert response.status_code == 400
    assert "file" in response.json()["detail"]
    assert await all_contacts(client, user) == []


async def test_import_of_a_csv_body_creates_its_contacts(client: Client, user: ApiUser) -> None:
    csv = "First Name,Last Name,E-mail 1 - Label,E-mail 1 - Value\r\nAda,Lovelace,Work,ada@example.com\r\n"
    report = await imported(client, user, csv, media_type="text/csv")
    assert report["created"] == 1
    [contact] = await all_contacts(client, user)
    assert (contact["first_name"], contact["emails"]) == ("Ada", [{"value": "ada@example.com", "label": "Work"}])


async def test_import_report_names_the_properties_not_kept(client: Client, user: ApiUser) -> None:
    card = vcard("FN:Ada Lovelace", "N:Lovelace;Ada;;;", "URL:https://example.com", "NICKNAME:Countess")
    report = await imported(client, user, card)
    assert {"URL", "NICKNAME"} <= set(report["items"][0]["dropped"])


async def test_import_leaves_out_a_value_that_breaks_a_rule_and_names_it(client: Client, user: ApiUser) -> None:
    card = vcard("FN:Ada Lovelace", "TEL:123", "TEL:+44 20 7946 0958", "EMAIL:not-an-address")
    report = await imported(client, user, card)
    [item] = report["items"]
    assert item["status"] == "created"
    assert any(entry.startswith("TEL 123") for entry in item["dropped"])
    assert any(entry.startswith("EMAIL not-an-address") for entry in item["dropped"])
    [contact] = await all_contacts(client, user)
    assert [phone["value"] for phone in contact["phones"]] == ["+44 20 7946 0958"]
    assert contact["emails"] == []


async def test_import_takes_the_first_name_from_fn_without_a_given_name(client: Client, user: ApiUser) -> None:
    await imported(client, user, vcard("FN:Acme Corporation"))
    [contact] = await all_contacts(client, user)
    assert (contact["first_name"], contact["last_name"]) == ("Acme Corporation", "")


@pytest.mark.parametrize(
    ("lines", "names"),
    [
        (("N:Doe;;;;", "FN:John Doe"), ("John", "Doe")),
        (("N:Nakamura;;;;", "FN:Nakamura Yui"), ("Yui", "Nakamura")),
        (("N:Example;;;;", "FN:Example"), ("Example", "")),
    ],
)
async def test_import_takes_the_first_name_from_fn_less_the_family_name(
    client: Client, user: ApiUser, lines: tuple[str, ...], names: tuple[str, str]
) -> None:
    await imported(client, user, vcard(*lines))
    [contact] = await all_contacts(client, user)
    assert (contact["first_name"], contact["last_name"]) == names


async def test_import_takes_the_first_name_from_the_email_when_nothing_else(client: Client, user: ApiUser) -> None:
    await imported(client, user, vcard("EMAIL:someone@example.com"))
    [contact] = await all_contacts(client, user)
    assert contact["first_name"] == "someone@example.com"


async def test_import_of_a_record_with_nothing_readable_fails_it_and_keeps_the_others(
    client: Client, user: ApiUser
) -> None:
    report = await imported(client, user, ADA + vcard("NOTE:only a note", "TEL:12") + GRACE)
    assert [item["status"] for item in report["items"]] == ["created", "failed", "created"]
    assert report["items"][1]["detail"]
    assert report["failed"] == 1
    assert len(await all_contacts(client, user)) == 2


async def test_import_dry_run_stores_nothing(client: Client, user: ApiUser, database_url: str) -> None:
    report = await imported(client, user, ADA + GRACE, dry_run=True)
    assert report["created"] == 2
    assert report["dry_run"] is True
    assert [item["id"] for item in report["items"]] == [None, None]
    assert await query_scalar(database_url, "SELECT count(*) FROM contacts") == 0


async def test_import_skips_a_contact_sharing_an_email_with_an_existing_one(client: Client, user: ApiUser) -> None:
    existing = await create_contact(client, user, first_name="Ada", email="ada@example.com", phone=None)
    report = await imported(client, user, ADA)
    [item] = report["items"]
    assert (item["status"], item["id"]) == ("skipped", existing["id"])
    assert "ada@example.com" in item["detail"]
    assert len(await all_contacts(client, user)) == 1


async def test_import_skips_a_contact_sharing_an_e164_phone(client: Client, user: ApiUser) -> None:
    existing = await create_contact(client, user, email=None, phone="+442079460958")
    report = await imported(client, user, vcard("FN:Ada", "TEL:+44 20 7946 0958"))
    assert (report["items"][0]["status"], report["items"][0]["id"]) == ("skipped", existing["id"])


async def test_import_skips_a_record_duplicating_an_earlier_record_of_the_file(client: Client, user: ApiUser) -> None:
    report = await imported(client, user, ADA + vcard("FN:Ada again", "EMAIL:ADA@example.com"))
    assert [item["status"] for item in report["items"]] == ["created", "skipped"]
    assert report["items"][1]["id"] == report["items"][0]["id"]
    assert "record 0" in report["items"][1]["detail"]
    assert len(await all_contacts(client, user)) == 1


async def test_import_on_duplicate_update_changes_the_existing_contact(client: Client, user: ApiUser) -> None:
    existing = await create_contact(client, user, first_name="Ada", email="ada@example.com", notes="keep me")
    card = vcard("N:Byron;Ada;;;", "EMAIL:ada@example.com", "ORG:Analytical Engines")
    report = await imported(client, user, card, on_duplicate="update")
    assert (report["updated"], report["items"][0]["id"]) == (1, existing["id"])
    [contact] = await all_contacts(client, user)
    assert (contact["last_name"], contact["organization"], contact["notes"]) == (
        "Byron",
        "Analytical Engines",
        "keep me",
    )


async def test_import_on_duplicate_update_adds_to_the_contacts_lists_and_takes_nothing_away(
    client: Client, user: ApiUser
) -> None:
    body = {
        "first_name": "Xavier",
        "last_name": "Orig",
        "emails": [{"value": "a@example.com"}, {"value": "z@example.com"}],
        "phones": [{"value": "+1 555 010 0999"}],
        "addresses": [{"label": "home", "city": "Paris"}],
        "tags": ["Friends"],
    }
    created = await client.post("/api/contacts", headers=user.headers, json=body)
    assert created.status_code == 201, created.text
    existing = created.json()
    card = vcard(
        "FN:Alpha",
        "EMAIL:a@example.com",
        "TEL:+1 555 010 0100",
        "ADR;TYPE=home:;;;Paris;;;",  # the address the contact has: not twice
        "ADR;TYPE=work:;;;Lyon;;;",
        "CATEGORIES:friends,Chess",
    )
    report = await imported(client, user, card, on_duplicate="update")
    assert (report["updated"], report["items"][0]["id"]) == (1, existing["id"])
    [contact] = await all_contacts(client, user)
    assert (contact["first_name"], contact["last_name"]) == ("Alpha", "Orig")  # no N: the family name stays
    assert [email["value"] for email in contact["emails"]] == ["a@example.com", "z@example.com"]
    assert [phone["e164"] for phone in contact["phones"]] == ["+15550100999", "+15550100100"]
    assert [(address["label"], address["city"]) for address in contact["addresses"]] == [
        ("home", "Paris"),
        ("work", "Lyon"),
    ]
    assert contact["tags"] == ["Friends", "Chess"]


async def test_import_on_duplicate_update_merges_every_record_that_names_the_same_contact(
    client: Client, user: ApiUser
) -> None:
    await create_contact(client, user, first_name="Xavier", email="a@example.com", phone="+1 555 010 0100")
    cards = vcard("FN:Alpha", "EMAIL:b@example.com", "TEL:+1 555 010 0100") + vcard("FN:Beta", "EMAIL:a@example.com")
    dry = await imported(client, user, cards, on_duplicate="update", dry_run=True)
    report = await imported(client, user, cards, on_duplicate="update")
    assert (
        [item["status"] for item in report["items"]]
        == ["updated", "updated"]
        == [item["status"] for item in dry["items"]]
    )
    [contact] = await all_contacts(client, user)
    assert contact["first_name"] == "Beta"
    assert sorted(email["value"] for email in contact["emails"]) == ["a@example.com", "b@example.com"]


async def test_import_of_a_multipart_upload_with_two_files_is_400(client: Client, user: ApiUser) -> None:
    files = [
        ("file", ("a.vcf", ADA.encode(), "text/vcard")),
        ("file", ("b.vcf", vcard("FN:Bo").encode(), "text/vcard")),
    ]
    response = await client.post("/api/contacts/import", headers=user.headers, files=files)
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "file"
    assert await all_contacts(client, user) == []


async def test_concurrent_imports_of_phone_only_cards_store_each_once(
    client: Client, user: ApiUser, database_url: str
) -> None:
    cards = "".join(vcard(f"FN:Caller {n}", f"TEL:+1 555 010 {n:04d}") for n in range(30))
    responses = await asyncio.gather(*(import_file(client, user, cards) for _ in range(3)))
    assert [response.status_code for response in responses] == [200, 200, 200]
    # No unique index on phones: the owner's lock makes the imports run one after the other.
    assert sorted(response.json()["created"] for response in responses) == [0, 0, 30]
    assert await query_scalar(database_url, "SELECT count(*) FROM contacts") == 30


async def test_import_on_duplicate_create_keeps_a_shared_email_on_one_contact(client: Client, user: ApiUser) -> None:
    existing = await create_contact(client, user, email="ada@example.com")
    report = await imported(client, user, ADA, on_duplicate="create")
    [item] = report["items"]
    assert item["status"] == "created"
    assert any("ada@example.com" in entry for entry in item["dropped"])
    contacts = await all_contacts(client, user)
    assert len(contacts) == 2
    holders = [c["id"] for c in contacts if any(e["value"] == "ada@example.com" for e in c["emails"])]
    assert holders == [existing["id"]]


async def test_import_sees_only_the_owners_contacts_as_duplicates(
    client: Client, user: ApiUser, other_user: ApiUser
) -> None:
    await create_contact(client, other_user, email="ada@example.com")
    report = await imported(client, user, ADA)
    assert report["created"] == 1


async def test_import_of_a_file_that_is_no_address_book_is_400(client: Client, user: ApiUser) -> None:
    response = await import_file(client, user, b"just some words,\nand more words\n", media_type="text/csv")
    assert response.status_code == 400
    assert response.json()["detail"]


async def test_import_of_a_binary_file_is_400_saying_so(client: Client, user: ApiUser) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"
    response = await import_file(client, user, png, media_type="text/csv")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("This is a binary file")
    assert response.json()["extra"][0]["key"] == "file"
    assert await all_contacts(client, user) == []


async def test_import_of_an_empty_body_is_400(client: Client, user: ApiUser) -> None:
    response = await import_file(client, user, b"")
    assert response.status_code == 400
    assert "empty" in response.json()["detail"]


async def test_import_of_undecodable_utf16_is_400(client: Client, user: ApiUser) -> None:
    response = await import_file(client, user, b"\xff\xfeB\x00\x00\xd8")
    assert response.status_code == 400


async def test_import_of_utf16_with_bom_reads_it(client: Client, user: ApiUser) -> None:
    report = await imported(client, user, ADA.encode("utf-16"))
    assert report["created"] == 1


async def test_import_needs_a_token(client: Client) -> None:
    response = await client.post("/api/contacts/import", content=ADA.encode(), headers={"Content-Type": "text/vcard"})
    assert response.status_code == 401


async def test_import_of_a_thousand_cards_stores_them_all(client: Client, user: ApiUser, database_url: str) -> None:
    cards = "".join(vcard(f"N:Person;Number {n};;;", f"EMAIL:person{n}@example.com") for n in range(1000))
    report = await imported(client, user, cards)
    assert report["created"] == 1000
    assert await query_scalar(database_url, "SELECT count(*) FROM contact_emails") == 1000


@pytest.mark.parametrize("name", sorted(FIXTURE_CONTACTS))
async def test_every_real_clients_file_imports_every_contact(client: Client, user: ApiUser, name: str) -> None:
    media_type = "text/csv" if name.endswith(".csv") else "text/vcard"
    report = await imported(client, user, fixture_bytes(name), media_type=media_type)
    # A record may be skipped as a duplicate of an earlier one of the same file, never lost.
    assert report["created"] + report["skipped"] == FIXTURE_CONTACTS[name], report
    assert report["failed"] == 0, report
    assert len(await all_contacts(client, user)) == report["created"]


async def test_two_concurrent_imports_of_one_file_store_each_contact_once(
    client: Client, user: ApiUser, database_url: str
) -> None:
    cards = "".join(vcard(f"FN:Racer {n}", f"EMAIL:racer{n}@example.com") for n in range(50))
    first, second = await asyncio.gather(import_file(client, user, cards), import_file(client, user, cards))
    assert (first.status_code, second.status_code) == (200, 200), (first.text, second.text)
    reports = [first.json(), second.json()]
    # The unique index on (owner, address) decides the race: the loser's records become skips.
    assert sorted(report["created"] for report in reports) == [0, 50]
    assert sum(report["skipped"] for report in reports) == 50
    assert await query_scalar(database_url, "SELECT count(*) FROM contacts") == 50


@pytest.mark.parametrize("name", sorted(FIXTURE_CONTACTS))
async def test_every_real_clients_file_imported_again_with_update_merges_without_doubling(
    client: Client, user: ApiUser, name: str
) -> None:
    media_type = "text/csv" if name.endswith(".csv") else "text/vcard"
    await imported(client, user, fixture_bytes(name), media_type=media_type)
    before = {contact["id"]: contact for contact in await all_contacts(client, user)}
    again = await imported(client, user, fixture_bytes(name), media_type=media_type, on_duplicate="update")
    assert again["failed"] == 0, again
    # A record without an email or E.164 phone has nothing to be known by and is created again;
    # every contact the file updated still has its entries once each.
    after = {contact["id"]: contact for contact in await all_contacts(client, user)}
    for item in again["items"]:
        if item["status"] == "updated":
            old, new = before[item["id"]], after[item["id"]]
            assert len(new["emails"]) == len(old["emails"]), (old, new)
            assert len(new["phones"]) == len(old["phones"]), (old, new)
            assert len(new["addresses"]) == len(old["addresses"]), (old, new)
