"""`GET /api/contacts/changes` (the contract's incremental sync): a full sync in pages, then every
change since a cursor, oldest first, deletions as tombstones, 410 for a cursor older than
SYNC_TOMBSTONE_DAYS, 400 for a malformed one; every writer feeds it, even under concurrency."""

from __future__ import annotations

import asyncio
import base64
import datetime
import random
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from contacts_api.config import Settings
from tests.conftest import (
    PASSWORD,
    ApiUser,
    Client,
    PinnedClock,
    execute_sql,
    query_scalar,
    run_concurrently,
    sign_up_and_log_in,
)
from tests.contacts.conftest import create_contact
from tests.live_server import CLI, server_env

CHANGES = "/api/contacts/changes"


async def read_changes(
    client: Client | httpx.AsyncClient, user: ApiUser, cursor: str | None = None, **query: Any
) -> Any:
    params = {**query, **({"cursor": cursor} if cursor is not None else {})}
    response = await client.get(CHANGES, headers=user.headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def follow(
    client: Client | httpx.AsyncClient, user: ApiUser, cursor: str | None = None, **query: Any
) -> tuple[list[dict[str, Any]], str]:
    """Every change from `cursor` on (a full sync without one), following cursors while
    `has_more`: the changes in order and the cursor to keep."""
    changes: list[dict[str, Any]] = []
    while True:
        page = await read_changes(client, user, cursor, **query)
        changes += page["changes"]
        cursor = page["cursor"]
        if not page["has_more"]:
            return changes, page["cursor"]


def replay(book: dict[str, dict[str, Any]], changes: list[dict[str, Any]]) -> None:
    """What a syncing client does with the changes: apply each, in order."""
    for change in changes:
        if change["deleted"]:
            book.pop(change["id"], None)
        else:
            book[change["id"]] = change["contact"]


async def server_book(client: Client | httpx.AsyncClient, user: ApiUser) -> dict[str, dict[str, Any]]:
    book: dict[str, dict[str, Any]] = {}
    offset = 0
    while True:
        response = await client.get("/api/contacts", headers=user.headers, params={"limit": 100, "offset": offset})
        page = response.json()
        book.update({item["id"]: item for item in page["items"]})
        offset += 100
        if offset >= page["total"]:
            return book


async def test_a_full_sync_of_an_empty_book_has_no_changes_and_a_cursor(client: Client, user: ApiUser) -> None:
    page = await read_changes(client, user)
    assert page["changes"] == []
    assert page["has_more"] is False
    assert isinstance(page["cursor"], str)
    assert page["cursor"]


async def test_a_full_sync_lists_every_current_contact_in_pages_oldest_change_first(
    client: Client, user: ApiUser
) -> None:
    contacts = [await create_contact(client, user, email=f"c{n}@example.com", first_name=f"C{n}") for n in range(5)]
    # Changing the first makes it the newest change.
    changed = (
        await client.patch(f"/api/contacts/{contacts[0]['id']}", headers=user.headers, json={"notes": "x"})
    ).json()
    pages = []
    cursor = None
    while True:
        page = await read_changes(client, user, cursor, limit=2)
        pages.append(page)
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    assert [len(page["changes"]) for page in pages] == [2, 2, 1]
    assert [page["has_more"] for page in pages] == [True, True, False]
    changes = [change for page in pages for change in page["changes"]]
    assert [change["contact"] for change in changes] == [*contacts[1:], changed]
    assert all(change["id"] == change["contact"]["id"] and change["deleted"] is False for change in changes)


async def test_a_full_sync_leaves_out_deleted_contacts(client: Client, user: ApiUser) -> None:
    kept = await create_contact(client, user, email="kept@example.com")
    gone = await create_contact(client, user, email="gone@example.com")
    await client.delete(f"/api/contacts/{gone['id']}", headers=user.headers)
    changes, _cursor = await follow(client, user)
    assert changes == [{"id": kept["id"], "deleted": False, "contact": kept}]


async def test_a_change_shows_the_contact_as_its_own_answer_does_and_never_the_owner(
    client: Client, user: ApiUser
) -> None:
    contact = await create_contact(client, user)
    changes, _cursor = await follow(client, user)
    assert changes[0]["contact"] == (await client.get(f"/api/contacts/{contact['id']}", headers=user.headers)).json()
    assert set(changes[0]) == {"id", "deleted", "contact"}
    assert user.id not in str(changes)
    assert "change_seq" not in changes[0]["contact"]


async def test_a_cursor_gives_every_change_since_oldest_first_with_tombstones(client: Client, user: ApiUser) -> None:
    before = await create_contact(client, user, email="before@example.com")
    untouched = await create_contact(client, user, email="untouched@example.com")
    _, cursor = await follow(client, user)
    created = await create_contact(client, user, email="created@example.com")
    await client.patch(f"/api/contacts/{before['id']}", headers=user.headers, json={"notes": "first"})
    changed = (
        await client.patch(f"/api/contacts/{before['id']}", headers=user.headers, json={"notes": "again"})
    ).json()
    await client.delete(f"/api/contacts/{created['id']}", headers=user.headers)
    short_lived = await create_contact(client, user, email="short@example.com")
    await client.delete(f"/api/contacts/{short_lived['id']}", headers=user.headers)
    changes, _ = await follow(client, user, cursor)
    # Each contact once, at its latest change, in the order of those changes.
    assert changes == [
        {"id": changed["id"], "deleted": False, "contact": changed},
        {"id": created["id"], "deleted": True, "contact": None},
        {"id": short_lived["id"], "deleted": True, "contact": None},
    ]
    assert untouched["id"] not in str(changes)


async def test_a_cursor_with_nothing_new_gives_no_changes_and_stays_usable(client: Client, user: ApiUser) -> None:
    await create_contact(client, user)
    _, cursor = await follow(client, user)
    empty = await read_changes(client, user, cursor)
    assert (empty["changes"], empty["has_more"]) == ([], False)
    later = await create_contact(client, user, email="later@example.com")
    changes, _ = await follow(client, user, empty["cursor"])
    assert changes == [{"id": later["id"], "deleted": False, "contact": later}]


async def test_following_cursors_through_small_pages_replays_the_book(client: Client, user: ApiUser) -> None:
    contacts = [await create_contact(client, user, email=f"p{n}@example.com") for n in range(6)]
    book: dict[str, dict[str, Any]] = {}
    changes, cursor = await follow(client, user, limit=4)
    replay(book, changes)
    for contact in contacts[:3]:
        await client.delete(f"/api/contacts/{contact['id']}", headers=user.headers)
    for contact in contacts[3:]:
        await client.patch(f"/api/contacts/{contact['id']}", headers=user.headers, json={"favorite": True})
    await create_contact(client, user, email="new@example.com")
    changes, cursor = await follow(client, user, cursor, limit=1)
    assert len(changes) == 7
    replay(book, changes)
    assert book == await server_book(client, user)


async def test_imported_contacts_are_changes(client: Client, user: ApiUser) -> None:
    existing = await create_contact(client, user, email="ada@example.com")
    _, cursor = await follow(client, user)
    vcards = (
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ada\r\nN:Lovelace;Ada;;;\r\nEMAIL:ada@example.com\r\nNOTE:imported\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Grace Hopper\r\nN:Hopper;Grace;;;\r\nEMAIL:grace@example.com\r\nEND:VCARD\r\n"
    )
    response = await client.post(
        "/api/contacts/import?on_duplicate=update",
        headers={**user.headers, "Content-Type": "text/vcard"},
        content=vcards.encode(),
    )
    assert response.status_code == 200, response.text
    assert (response.json()["created"], response.json()["updated"]) == (1, 1)
    changes, _ = await follow(client, user, cursor)
    # One import is one transaction: its changes are numbered together (creates, then updates).
    by_name = {change["contact"]["first_name"]: change["contact"] for change in changes}
    assert (len(changes), set(by_name)) == (2, {"Ada", "Grace"})
    assert by_name["Ada"]["id"] == existing["id"]
    assert by_name["Ada"]["notes"] == "imported"
    assert by_name["Ada"]["etag"] != existing["etag"]


async def test_an_import_that_brings_nothing_new_is_no_change(client: Client, user: ApiUser) -> None:
    vcard = b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Grace\r\nN:;Grace;;;\r\nEMAIL:grace@example.com\r\nEND:VCARD\r\n"
    headers = {**user.headers, "Content-Type": "text/vcard"}
    assert (await client.post("/api/contacts/import", headers=headers, content=vcard)).json()["created"] == 1
    before, cursor = await follow(client, user)
    again = await client.post("/api/contacts/import?on_duplicate=update", headers=headers, content=vcard)
    assert again.json()["updated"] == 1
    assert (await read_changes(client, user, cursor))["changes"] == []
    assert (await follow(client, user))[0] == before


async def test_a_dry_run_import_is_no_change(client: Client, user: ApiUser) -> None:
    _, cursor = await follow(client, user)
    vcard = b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Grace\r\nEND:VCARD\r\n"
    response = await client.post(
        "/api/contacts/import?dry_run=true", headers={**user.headers, "Content-Type": "text/vcard"}, content=vcard
    )
    assert response.status_code == 200
    assert (await read_changes(client, user, cursor))["changes"] == []


async def test_one_owners_changes_never_reach_another(client: Client, user: ApiUser, other_user: ApiUser) -> None:
    _, cursor = await follow(client, other_user)
    contact = await create_contact(client, user)
    await client.delete(f"/api/contacts/{contact['id']}", headers=user.headers)
    assert (await read_changes(client, other_user))["changes"] == []
    assert (await read_changes(client, other_user, cursor))["changes"] == []


def forged(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "", "not a cursor", "djEuMS4x=", "%%%", forged("v1.-1.0"), forged("v2.1.0"), forged("v1.01.0"), "x" * 100,
        "x" * 101, forged(f"v1.{2**63}.0"), forged("v1.9999999999999999999.0"), forged("v1.0.999999999999"),
        forged("v1.0.99999999999"),  # issued in the year 5138
    ],
)  # fmt: skip
async def test_a_malformed_cursor_is_400_naming_it(client: Client, user: ApiUser, cursor: str) -> None:
    response = await client.get(CHANGES, headers=user.headers, params={"cursor": cursor})
    assert response.status_code == 400, response.text
    assert response.json()["extra"][0]["key"] == "cursor"


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "ten"])
async def test_a_limit_outside_1_to_1000_is_400_naming_it(client: Client, user: ApiUser, limit: str) -> None:
    response = await client.get(CHANGES, headers=user.headers, params={"limit": limit})
    assert response.status_code == 400, response.text
    assert response.json()["extra"][0]["key"] == "limit"


async def test_the_default_page_is_100_changes(client: Client, user: ApiUser) -> None:
    vcards = "".join(f"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Person {n}\r\nEND:VCARD\r\n" for n in range(101))
    response = await client.post(
        "/api/contacts/import", headers={**user.headers, "Content-Type": "text/vcard"}, content=vcards.encode()
    )
    assert response.json()["created"] == 101
    page = await read_changes(client, user)
    assert (len(page["changes"]), page["has_more"]) == (100, True)
    assert len((await read_changes(client, user, page["cursor"]))["changes"]) == 1


async def cursor_issued_now(client: Client, user: ApiUser, clock: PinnedClock) -> tuple[datetime.datetime, str]:
    """A full sync's cursor, with the app's clock pinned at its issue time (tests then move it)."""
    issued = datetime.datetime.now(datetime.UTC)
    clock.pinned = issued
    _, cursor = await follow(client, user)
    return issued, cursor


async def test_a_cursor_older_than_the_tombstones_kept_is_410(
    client: Client, user: ApiUser, clock: PinnedClock, settings: Settings
) -> None:
    issued, cursor = await cursor_issued_now(client, user, clock)
    clock.pinned = issued + datetime.timedelta(days=settings.sync_tombstone_days) - datetime.timedelta(minutes=1)
    assert (await client.get(CHANGES, headers=user.headers, params={"cursor": cursor})).status_code == 200
    clock.pinned = issued + datetime.timedelta(days=settings.sync_tombstone_days, minutes=1)
    response = await client.get(CHANGES, headers=user.headers, params={"cursor": cursor})
    assert response.status_code == 410
    assert "sync again" in response.json()["detail"]
    # A full sync is always possible, and gives a fresh cursor.
    fresh = await read_changes(client, user)
    assert (await client.get(CHANGES, headers=user.headers, params={"cursor": fresh["cursor"]})).status_code == 200


async def test_a_cursor_ahead_of_the_book_is_410(client: Client, user: ApiUser, other_user: ApiUser) -> None:
    # Another book's cursor (or one from an account deleted and made again) does not fit this book.
    for n in range(3):
        await create_contact(client, user, email=f"a{n}@example.com")
    _, cursor = await follow(client, user)
    response = await client.get(CHANGES, headers=other_user.headers, params={"cursor": cursor})
    assert response.status_code == 410


async def test_a_page_that_has_more_keeps_the_age_of_the_cursor_it_started_from(
    client: Client, user: ApiUser, clock: PinnedClock, settings: Settings
) -> None:
    # The rest of the changes may include tombstones as old as that cursor: following pages
    # must expire with it, or a client could skip past tombstones already purged.
    issued, cursor = await cursor_issued_now(client, user, clock)
    for n in range(3):
        await create_contact(client, user, email=f"m{n}@example.com")
    clock.pinned = issued + datetime.timedelta(days=settings.sync_tombstone_days - 1)
    first = await read_changes(client, user, cursor, limit=1)
    assert first["has_more"] is True
    clock.pinned = issued + datetime.timedelta(days=settings.sync_tombstone_days, minutes=1)
    assert (await client.get(CHANGES, headers=user.headers, params={"cursor": first["cursor"]})).status_code == 410


async def test_account_deletion_removes_the_books_counter_and_tombstones(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    contact = await create_contact(client, user)
    await client.delete(f"/api/contacts/{contact['id']}", headers=user.headers)
    assert await query_scalar(settings.database_url, "SELECT count(*) FROM contact_tombstones") == 1
    response = await client.request("DELETE", "/api/users/me", headers=user.headers, json={"password": PASSWORD})
    assert response.status_code == 204
    assert await query_scalar(settings.database_url, "SELECT count(*) FROM contact_tombstones") == 0
    assert await query_scalar(settings.database_url, "SELECT count(*) FROM address_books") == 0


async def test_purge_tombstones_removes_only_those_no_honoured_cursor_needs(
    client: Client, user: ApiUser, settings: Settings, tmp_path: Path
) -> None:
    contacts = [await create_contact(client, user, email=f"t{n}@example.com") for n in range(3)]
    for contact in contacts:
        await client.delete(f"/api/contacts/{contact['id']}", headers=user.headers)
    now = datetime.datetime.now(datetime.UTC)
    # Three creates took numbers 1-3, the deletions 4-6.
    # 30 days and 30 minutes: past the days, within the hour of grace (a cursor issued just before
    # its deletion's commit may still be honoured). 30 days and 2 hours: gone.
    ages = [datetime.timedelta(days=30, hours=2), datetime.timedelta(days=30, minutes=30), datetime.timedelta(0)]
    for change_seq, age in zip([4, 5, 6], ages, strict=True):
        await execute_sql(
            settings.database_url,
            "UPDATE contact_tombstones SET deleted_at = :at WHERE change_seq = :seq",
            at=now - age,
            seq=change_seq,
        )
    result = await asyncio.to_thread(
        subprocess.run,
        [*CLI, "contacts", "purge-tombstones"],
        env=server_env(DATABASE_URL=settings.database_url, SYNC_TOMBSTONE_DAYS="30"),
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().strip() == "deleted 1 tombstone(s)"
    assert await query_scalar(settings.database_url, "SELECT count(*) FROM contact_tombstones") == 2


async def test_a_syncing_client_ends_equal_to_the_server_while_others_write(client: Client, user: ApiUser) -> None:
    """Writers and a syncing reader at the same time, for real (inside the app's loop, see
    run_concurrently): the reader's replay of the feed must end equal to the server's book.
    Transactions that take their numbers in one order and commit in another are what the feed's
    design (contacts/sync.py) must not let a cursor skip."""
    writers, writes_each = 4, 25

    async def scenario() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as http:
            done = asyncio.Event()

            async def write(writer: int) -> None:
                chooser = random.Random(writer)  # noqa: S311 (a test's reproducible choices)
                mine: list[str] = []
                for n in range(writes_each):
                    action = chooser.choice(["create", "create", "patch", "delete"]) if mine else "create"
                    if action == "create":
                        body = {"first_name": f"W{writer}-{n}", "email": f"w{writer}-{n}@example.com"}
                        response = await http.post("/api/contacts", headers=user.headers, json=body)
                        assert response.status_code == 201, response.text
                        mine.append(response.json()["id"])
                    elif action == "patch":
                        target = chooser.choice(mine)
                        response = await http.patch(
                            f"/api/contacts/{target}", headers=user.headers, json={"notes": f"note {n}"}
                        )
                        assert response.status_code == 200, response.text
                    else:
                        target = mine.pop(chooser.randrange(len(mine)))
                        response = await http.delete(f"/api/contacts/{target}", headers=user.headers)
                        assert response.status_code == 204, response.text

            async def sync() -> dict[str, dict[str, Any]]:
                book: dict[str, dict[str, Any]] = {}
                changes, cursor = await follow(http, user, limit=3)
                replay(book, changes)
                while not done.is_set():
                    changes, cursor = await follow(http, user, cursor, limit=3)
                    replay(book, changes)
                    await asyncio.sleep(0)
                changes, cursor = await follow(http, user, cursor, limit=3)
                replay(book, changes)
                return book

            reader = asyncio.create_task(sync())
            await asyncio.gather(*(write(writer) for writer in range(writers)))
            done.set()
            synced = await reader
            return synced, await server_book(http, user)

    synced, on_server = client.blocking_portal.call(scenario)
    assert len(on_server) > 0
    assert synced == on_server


def creating(owner: ApiUser, n: int) -> Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]:
    body = {"first_name": "W", "email": f"w{n}@example.com"}
    return lambda http: http.post("/api/contacts", headers=owner.headers, json=body)


def deleting_the_account_of(owner: ApiUser) -> Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]:
    return lambda http: http.request("DELETE", "/api/users/me", headers=owner.headers, json={"password": PASSWORD})


async def test_deleting_the_account_while_its_book_is_written_neither_deadlocks_nor_leaves_rows(
    client: Client, settings: Settings
) -> None:
    # Writers lock the owner's row before the book's counter, as the deletion's cascade does:
    # each write either lands before the deletion (and goes with it) or finds the account gone.
    for _ in range(5):
        owner = await sign_up_and_log_in(client)
        responses = run_concurrently(
            client,
            *(creating(owner, n) for n in range(6)),
            deleting_the_account_of(owner),
            *(creating(owner, n) for n in range(6, 12)),
        )
        statuses = [response.status_code for response in responses]
        assert statuses[6] == 204, responses[6].text
        assert set(statuses) <= {201, 204, 401}, [response.text for response in responses]
    for table in ("contacts", "contact_tombstones", "address_books", "contact_emails"):
        assert await query_scalar(settings.database_url, f"SELECT count(*) FROM {table}") == 0, table
