"""GET /api/contacts/export and `Accept: text/vcard` on one contact, on both databases."""

from __future__ import annotations

import csv
import io

import vobject

from tests.conftest import ApiUser, Client
from tests.contacts.conftest import create_contact
from tests.interchange.conftest import imported, vcard


async def test_export_is_a_vcard_4_attachment_by_default(client: Client, user: ApiUser) -> None:
    await create_contact(client, user, first_name="Ada", last_name="Lovelace")
    response = await client.get("/api/contacts/export", headers=user.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/vcard; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="contacts.vcf"'
    [card] = list(vobject.readComponents(response.text))
    assert card.version.value == "4.0"
    assert card.fn.value == "Ada Lovelace"
    assert "\r\n" in response.text


async def test_export_as_vcard_3_on_request(client: Client, user: ApiUser) -> None:
    await create_contact(client, user, birthday="1990-12-10")
    response = await client.get("/api/contacts/export", headers=user.headers, params={"version": "3.0"})
    assert response.status_code == 200
    [card] = list(vobject.readComponents(response.text))
    assert card.version.value == "3.0"
    assert card.bday.value == "1990-12-10"


async def test_export_as_csv_in_google_contacts_layout(client: Client, user: ApiUser) -> None:
    await create_contact(client, user, first_name="Ada", last_name="Lovelace", email="ada@example.com")
    response = await client.get("/api/contacts/export", headers=user.headers, params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="contacts.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 1
    assert (rows[0]["First Name"], rows[0]["Last Name"], rows[0]["E-mail 1 - Value"]) == (
        "Ada",
        "Lovelace",
        "ada@example.com",
    )


async def test_export_of_an_empty_book_is_an_empty_file(client: Client, user: ApiUser) -> None:
    vcards = await client.get("/api/contacts/export", headers=user.headers)
    assert (vcards.status_code, vcards.text) == (200, "")
    table = await client.get("/api/contacts/export", headers=user.headers, params={"format": "csv"})
    assert table.status_code == 200
    assert table.text.count("\n") == 1  # the header alone


async def test_export_with_a_tag_holds_only_those_contacts(client: Client, user: ApiUser) -> None:
    await create_contact(client, user, first_name="Ada", email="ada@example.com", tags=["Family"])
    await create_contact(client, user, first_name="Grace", email="grace@example.com", tags=["work"])
    response = await client.get("/api/contacts/export", headers=user.headers, params={"tag": "family"})
    assert [card.fn.value for card in vobject.readComponents(response.text)] == ["Ada Lovelace"]


async def test_export_holds_only_the_owners_contacts(client: Client, user: ApiUser, other_user: ApiUser) -> None:
    await create_contact(client, other_user, first_name="Mallory")
    response = await client.get("/api/contacts/export", headers=user.headers)
    assert response.text == ""


async def test_export_of_many_pages_holds_every_contact_once_in_creation_order(client: Client, user: ApiUser) -> None:
    cards = "".join(vcard(f"N:Person;Number {n};;;", f"EMAIL:person{n}@example.com") for n in range(1234))
    await imported(client, user, cards)
    response = await client.get("/api/contacts/export", headers=user.headers)
    names = [card.n.value.given for card in vobject.readComponents(response.text)]
    assert names == [f"Number {n}" for n in range(1234)]


async def test_export_of_an_unknown_format_is_400(client: Client, user: ApiUser) -> None:
    response = await client.get("/api/contacts/export", headers=user.headers, params={"format": "xml"})
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "format"


async def test_export_needs_a_token(client: Client) -> None:
    assert (await client.get("/api/contacts/export")).status_code == 401


async def test_one_contact_as_a_vcard_with_accept_text_vcard(client: Client, user: ApiUser) -> None:
    contact = await create_contact(client, user, first_name="Ada", last_name="Lovelace", email="ada@example.com")
    response = await client.get(f"/api/contacts/{contact['id']}", headers={**user.headers, "Accept": "text/vcard"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/vcard; charset=utf-8"
    card = vobject.readOne(response.text)
    assert card.version.value == "4.0"
    assert card.email.value == "ada@example.com"
    assert card.uid.value == f"urn:uuid:{contact['id']}"


async def test_one_contact_is_json_when_json_is_preferred(client: Client, user: ApiUser) -> None:
    contact = await create_contact(client, user)
    accept = "application/json, text/vcard;q=0.5"
    response = await client.get(f"/api/contacts/{contact['id']}", headers={**user.headers, "Accept": accept})
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["id"] == contact["id"]


async def test_one_contact_of_someone_else_as_a_vcard_is_404(
    client: Client, user: ApiUser, other_user: ApiUser
) -> None:
    contact = await create_contact(client, other_user)
    response = await client.get(f"/api/contacts/{contact['id']}", headers={**user.headers, "Accept": "text/vcard"})
    assert response.status_code == 404


async def test_openapi_documents_one_contact_as_text_vcard(client: Client) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    content = document["paths"]["/api/contacts/{contact_id}"]["get"]["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/vcard"}
