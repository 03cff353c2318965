"""IMPORT_MAX_BYTES (413) and IMPORT_MAX_CONTACTS (400), with small limits, on both databases."""

from __future__ import annotations

import pytest

from contacts_api.config import Settings
from tests.conftest import ApiUser, Client, make_settings, query_scalar
from tests.interchange.conftest import import_file, vcard

MAX_BYTES = 4096


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, import_max_bytes=MAX_BYTES, import_max_contacts=3)


async def test_import_of_a_file_over_import_max_bytes_is_413(client: Client, user: ApiUser, database_url: str) -> None:
    card = vcard("FN:Ada", f"NOTE:{'x' * MAX_BYTES}")
    response = await import_file(client, user, card)
    assert response.status_code == 413
    assert response.json()["detail"] == (
        f"The file is larger than {MAX_BYTES:,} bytes, the most one import takes (IMPORT_MAX_BYTES)"
    )
    assert await query_scalar(database_url, "SELECT count(*) FROM contacts") == 0


async def test_import_of_a_multipart_upload_over_import_max_bytes_is_413(client: Client, user: ApiUser) -> None:
    card = vcard("FN:Ada", f"NOTE:{'x' * MAX_BYTES}")
    response = await client.post(
        "/api/contacts/import", headers=user.headers, files={"file": ("big.vcf", card.encode(), "text/vcard")}
    )
    assert response.status_code == 413
    assert "IMPORT_MAX_BYTES" in response.json()["detail"]


async def test_import_of_more_records_than_import_max_contacts_is_400(
    client: Client, user: ApiUser, database_url: str
) -> None:
    cards = "".join(vcard(f"FN:Person {n}") for n in range(4))
    response = await import_file(client, user, cards)
    assert response.status_code == 400
    assert "3" in response.json()["detail"]
    assert await query_scalar(database_url, "SELECT count(*) FROM contacts") == 0


async def test_import_of_exactly_import_max_contacts_records_is_taken(client: Client, user: ApiUser) -> None:
    cards = "".join(vcard(f"FN:Person {n}") for n in range(3))
    response = await import_file(client, user, cards)
    assert response.status_code == 200
    assert response.json()["created"] == 3


async def test_other_routes_keep_max_body_bytes(client: Client, user: ApiUser) -> None:
    body = {"first_name": "Ada", "notes": "x" * 70_000}
    response = await client.post("/api/contacts", headers=user.headers, json=body)
    assert response.status_code == 413
