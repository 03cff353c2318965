"""Set-up for the sync runs (issue 15): a book with a cursor taken before 1,000 writes, for the
changes-feed page, and the contacts the conditional and plain PATCH runs write to."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from benchmarks.errors import BenchmarkError
from benchmarks.transfers import import_file, sign_up

FEED_WRITES = 1_000  # the writes between the cursor and the page read
PATCHED_CONTACTS_PER_CONNECTION = 8  # enough that a contact's last answer is back before its next PATCH


@dataclass(frozen=True)
class SyncBook:
    headers: dict[str, str]  # the book owner's Authorization
    cursor: str  # taken before FEED_WRITES writes: a page after it reads 100 of them
    contact_ids: list[str]  # the contacts the PATCH runs write to


def _checked(response: httpx.Response, expected: int) -> httpx.Response:
    if response.status_code != expected:
        request = f"{response.request.method} {response.request.url.path}"
        raise BenchmarkError(f"{request} answered {response.status_code}: {response.text[:300]}")
    return response


def prepare_sync_book(base_url: str, password: str, connections: int) -> SyncBook:
    """A new account with `connections` times PATCHED_CONTACTS_PER_CONNECTION contacts (one import), a
    cursor at its end, then FEED_WRITES writes after it: creates, patches and deletes (6:3:1), so a
    page holds new and changed contacts and tombstones."""
    headers = sign_up(base_url, password)
    count = connections * PATCHED_CONTACTS_PER_CONNECTION
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        imported = _checked(
            client.post("/api/contacts/import", content=import_file(count), headers={"Content-Type": "text/vcard"}),
            200,
        ).json()
        contact_ids = [item["id"] for item in imported["items"]]
        # A full sync to its end: the cursor every change below comes after.
        cursor, has_more = None, True
        while has_more:
            params: dict[str, str | int] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
            page = _checked(client.get("/api/contacts/changes", params=params), 200).json()
            cursor, has_more = str(page["cursor"]), bool(page["has_more"])
        # Of every ten writes: six creates, three patches of imported contacts, one deletion of a
        # created one. A page then holds new contacts, changed ones and tombstones.
        created: list[str] = []
        for n in range(FEED_WRITES):
            if n % 10 < 6 or not created:
                body = {"first_name": f"Synced {n}", "email": f"synced{n}@example.com"}
                created.append(_checked(client.post("/api/contacts", json=body), 201).json()["id"])
            elif n % 10 < 9:
                target = contact_ids[n % len(contact_ids)]
                _checked(client.patch(f"/api/contacts/{target}", json={"notes": f"change {n}"}), 200)
            else:
                _checked(client.delete(f"/api/contacts/{created.pop(0)}"), 204)
    return SyncBook(headers=headers, cursor=str(cursor), contact_ids=contact_ids)
