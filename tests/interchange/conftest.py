"""Helpers for the import and export tests: the real clients' files and a vCard builder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ApiUser, Client

# The exports of real clients (see its INDEX.md); CI has the folder at the same place.
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "contacts"


# INDEX.md's contact count of each file there.
FIXTURE_CONTACTS = {
    "apple-ios5-john-doe.vcf": 1,
    "apple-macos-addressbook-john-doe.vcf": 1,
    "apple-ios8-full.vcf": 1,
    "apple-addressbook-sap-latin1.vcf": 30,
    "google-gmail-john-doe.vcf": 1,
    "google-full-broken-folding.vcf": 1,
    "android-qp-multi-photo.vcf": 6,
    "outlook-2007-qp-photo.vcf": 1,
    "thunderbird-mfab-extension.vcf": 1,
    "cardbook-bday-no-year.vcf": 1,
    "thundersync-qp-mislabeled-charset.vcf": 1,
    "evolution-couchdb-john-doe.vcf": 1,
    "kde-kontact-full.vcf": 1,
    "davdroid-stray-end-line.vcf": 1,
    "davx5-v4-bday-no-year.vcf": 1,
    "sogo-connector-vlist.vcf": 1,
    "nec-shiftjis-three-contacts.vcf": 3,
    "winmobile65-agent.vcf": 1,
    "blackberry-long-photo-line.vcf": 1,
    "thebat-latin2-qp-no-charset.vcf": 1,
    "fullcontact-v4.vcf": 1,
    "broken-missing-end.vcf": 1,
    "google-csv-old-layout.csv": 1,
    "thunderbird-export.csv": 2,
    "thunderbird-shiftjis.csv": 1,
    "roundcube-generic-bom.csv": 1,
}


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def vcard(*lines: str, version: str = "3.0") -> str:
    """One card of `lines` (CRLF line ends)."""
    return "\r\n".join(["BEGIN:VCARD", f"VERSION:{version}", *lines, "END:VCARD"]) + "\r\n"


async def import_file(
    client: Client,
    owner: ApiUser,
    content: bytes | str,
    *,
    media_type: str = "text/vcard",
    **params: Any,
) -> httpx.Response:
    body = content.encode() if isinstance(content, str) else content
    query = {name: str(value).lower() if isinstance(value, bool) else value for name, value in params.items()}
    return await client.post(
        "/api/contacts/import",
        headers={**owner.headers, "Content-Type": media_type},
        content=body,
        params=query,
    )


async def imported(client: Client, owner: ApiUser, content: bytes | str, **params: Any) -> dict[str, Any]:
    """The report of an import that must succeed."""
    response = await import_file(client, owner, content, **params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def all_contacts(client: Client, owner: ApiUser) -> list[dict[str, Any]]:
    """Every contact of `owner`, in creation order."""
    contacts: list[dict[str, Any]] = []
    while True:
        response = await client.get(
            "/api/contacts",
            headers=owner.headers,
            params={"sort": "created_at", "limit": 100, "offset": len(contacts)},
        )
        assert response.status_code == 200, response.text
        page = response.json()
        contacts.extend(page["items"])
        if len(contacts) >= page["total"]:
            return contacts
