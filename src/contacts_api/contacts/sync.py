"""The changes feed (`GET /api/contacts/changes`): how a client keeps its copy of a book current.

The guarantee: a client that follows cursors sees every committed change, even while others
write. The difficulty is the order of commits: with numbers from a shared sequence (or
timestamps), transaction A may take number 7, transaction B number 8, and B commit first; a
reader then sees 8, hands out a cursor "after 8", and never sees 7 when A commits.

The choice: a per-owner counter, taken under the owner's row lock. Every writer of a contact
(create, replace, patch, delete, import) first takes its numbers from the owner's
`address_books` row with one upsert (`ContactRepository.take_change_numbers`), which locks that
row until the writer's transaction ends: on PostgreSQL the owner's other writers wait on the
lock, on SQLite the upsert starts the database's single write transaction. So a number is taken
only after the previous holder committed or rolled back, and one owner's changes commit in
number order. A reader's statement (one snapshot) that sees change n therefore sees every change
below n that will ever commit, and a cursor at the highest number it saw skips nothing.

Weighed and left: PostgreSQL's snapshot functions (`pg_current_snapshot()`, `xmin` horizons)
solve it without serialising one owner's writers, but SQLite has no equivalent and the feed must
hold on both; a global sequence with "wait until no older transaction is in flight" needs the
same snapshot functions. Serialising writes per owner costs little: one person's address book is
written by a handful of devices, never thousands of writers at once, and different owners never
wait for each other. The price shows when one book is written by many at once (the benchmark's
32 concurrent creates into one book: about 40 % fewer per second than without the lock), and an
import holds its book's lock for its whole transaction (its owner's other writes wait, up to the
statement timeout, then answer 503 with Retry-After).

Locks, always in one order: the owner's `users` row (FOR KEY SHARE, in the same upsert), then the
counter, then contact rows. An account deletion locks the user first too, then its cascade takes
the book: a writer and a deletion never wait for each other in a circle.

How the pieces use the numbers:
- A contact stores the number of the change that wrote its current version (`change_seq`): its
  version, and its strong ETag (`"42"`). `If-Match` is `WHERE change_seq IN (…)` in the UPDATE
  or DELETE itself, a compare-and-set.
- A deletion leaves a tombstone with its own number; tombstones are kept SYNC_TOMBSTONE_DAYS
  (and TOMBSTONE_GRACE more, below) and removed by `contacts-api contacts purge-tombstones`, or
  with the account.
- The feed reads, in one statement (one snapshot), the contacts and tombstones numbered above the
  cursor, oldest first, and the counter itself (the cursor of a last page, even an empty one).
  `ChangeFeed` holds that SQL: the feed's repository.
- A cursor is opaque to clients: `v1.<number>.<issued at, Unix seconds>` in base64url. A cursor
  issued more than SYNC_TOMBSTONE_DAYS ago may have missed tombstones that are gone: 410, sync
  again from scratch. A last page's cursor is issued anew (it has seen everything up to now);
  a page with more to follow keeps its predecessor's issue time, since the changes still to
  read may include old tombstones.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, false, null, select, true, type_coerce, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from contacts_api.contacts.models import ADDRESS_BOOKS, CONTACT_TOMBSTONES, CONTACTS
from contacts_api.contacts.repository import CONTACT_COLUMNS, STORED_FIELDS, contact_from_row
from contacts_api.contacts.schemas import ContactChange

# A commit can land a little after the clock time its transaction read (deleted_at): tombstones
# are kept this much longer than cursors are honoured, so a cursor still honoured never misses one.
TOMBSTONE_GRACE = datetime.timedelta(hours=1)
_CURSOR = re.compile(r"v1\.(0|[1-9][0-9]{0,18})\.(0|[1-9][0-9]{0,11})")
_LARGEST_CHANGE_SEQ = 2**63 - 1  # a BIGINT, as the columns are


class MalformedCursorError(ValueError):
    """A cursor this service did not issue."""


@dataclass(frozen=True)
class ChangeCursor:
    """A position in one owner's changes: every change numbered up to `change_seq` was seen."""

    change_seq: int
    issued_at: datetime.datetime

    def encode(self) -> str:
        """The cursor as clients see it: unpadded base64url (RFC 4648 §5) of `v1.<seq>.<unix>`."""
        return self._encoded(f"v1.{self.change_seq}.{int(self.issued_at.timestamp())}")

    @classmethod
    def decode(cls, value: str) -> ChangeCursor:
        """Raises MalformedCursorError for anything `encode` cannot have written."""
        try:
            text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
        except (binascii.Error, ValueError):
            raise MalformedCursorError(value) from None
        if not (match := _CURSOR.fullmatch(text)) or cls._encoded(text) != value:
            raise MalformedCursorError(value)
        if (change_seq := int(match[1])) > _LARGEST_CHANGE_SEQ:
            raise MalformedCursorError(value)
        try:
            issued_at = datetime.datetime.fromtimestamp(int(match[2]), datetime.UTC)
        except (ValueError, OverflowError, OSError):  # past the year 9999
            raise MalformedCursorError(value) from None
        return cls(change_seq, issued_at)

    @staticmethod
    def _encoded(text: str) -> str:
        # Base64 decoding ignores unused trailing bits and stray characters: only the one spelling
        # `encode` gives is valid.
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@dataclass(frozen=True)
class ChangesRead:
    """One read of the feed: up to `limit` changes, whether more follow, how far it has seen
    (every change numbered up to `seen_up_to` that will ever commit was visible to it), and
    the book's counter (never below any number handed out for the book)."""

    changes: list[ContactChange]
    has_more: bool
    seen_up_to: int
    counter: int


def _changes_statement(with_tombstones: bool) -> Select[Any]:
    """The owner's contacts (and, `with_tombstones`, tombstones) numbered above `after`, oldest
    first, `limit` of them (the caller asks for one more than a page: it tells whether more
    follow), each row with the book's counter as the same snapshot has it. The page is joined to
    the counter's row, not the other way round, so that an empty page is still one row (its
    change columns null) carrying the counter; a book never written has no row at all."""
    contacts = select(*CONTACT_COLUMNS, CONTACTS.c.change_seq.label("seq"), false().label("deleted")).where(
        CONTACTS.c.owner_id == bindparam("owner"), CONTACTS.c.change_seq > bindparam("after")
    )
    if with_tombstones:
        # The tombstones' rows in the contacts' columns: the id, and nulls typed as the columns are.
        placeholders = [
            CONTACT_TOMBSTONES.c.contact_id.label(name)
            if name == "id"
            else type_coerce(null(), CONTACTS.c[name].type).label(name)
            for name in STORED_FIELDS
        ]
        tombstones = select(*placeholders, CONTACT_TOMBSTONES.c.change_seq.label("seq"), true().label("deleted")).where(
            CONTACT_TOMBSTONES.c.owner_id == bindparam("owner"),
            CONTACT_TOMBSTONES.c.change_seq > bindparam("after"),
        )
        changes = union_all(contacts, tombstones).subquery("changes")
        page = select(changes).order_by(changes.c.seq).limit(bindparam("limit")).subquery("page")
    else:
        # Ordered and limited inside: the (owner_id, change_seq) index reads just one page.
        page = contacts.order_by(CONTACTS.c.change_seq).limit(bindparam("limit")).subquery("page")
    return (
        select(ADDRESS_BOOKS.c.last_change_seq.label("counter"), page)
        .select_from(ADDRESS_BOOKS.outerjoin(page, true()))
        .where(ADDRESS_BOOKS.c.owner_id == bindparam("owner"))
        .order_by(page.c.seq)
    )


_CHANGES = _changes_statement(with_tombstones=True)
_CURRENT_CONTACTS = _changes_statement(with_tombstones=False)


class ChangeFeed:
    """The feed's SQL, for one owner: the feed's repository (the contacts' is repository.py)."""

    def __init__(self, session: AsyncSession, owner_id: uuid.UUID) -> None:
        self.session = session
        self.owner_id = owner_id

    async def read(self, *, after: int, limit: int, with_tombstones: bool) -> ChangesRead:
        """Changes numbered above `after`, oldest first (see _changes_statement), in one statement:
        one snapshot. Without tombstones: the current contacts only, for a first sync."""
        statement = _CHANGES if with_tombstones else _CURRENT_CONTACTS
        parameters = {"owner": self.owner_id, "after": after, "limit": limit + 1}
        rows = (await self.session.execute(statement, parameters)).all()
        counter = int(rows[0].counter) if rows else 0
        found = [row for row in rows if row.seq is not None]
        page = found[:limit]
        changes = [
            ContactChange(id=row.id, deleted=True)
            if row.deleted
            else ContactChange(id=row.id, deleted=False, contact=contact_from_row(row))
            for row in page
        ]
        has_more = len(found) > limit
        # The counter came from the rows' snapshot, and every change numbered up to it had
        # committed (their writers commit in number order): a last page, even an empty one, has
        # seen up to it (numbers between the rows belong to versions since overwritten).
        return ChangesRead(
            changes=changes,
            has_more=has_more,
            seen_up_to=page[-1].seq if has_more else max(counter, after),
            counter=counter,
        )


async def purge_tombstones(session: AsyncSession, *, deleted_before: datetime.datetime) -> int:
    """Remove the tombstones of every owner deleted before `deleted_before`; how many went."""
    statement = CONTACT_TOMBSTONES.delete().where(CONTACT_TOMBSTONES.c.deleted_at < deleted_before)
    result = await session.execute(statement)
    return int(result.rowcount)  # type: ignore[attr-defined]


def oldest_honoured_issue(now: datetime.datetime, tombstone_days: int) -> datetime.datetime:
    """Cursors issued before this are answered 410: their tombstones may be gone."""
    return now - datetime.timedelta(days=tombstone_days)


def purge_horizon(now: datetime.datetime, tombstone_days: int) -> datetime.datetime:
    """Tombstones deleted before this can go: no honoured cursor needs them."""
    return oldest_honoured_issue(now, tombstone_days) - TOMBSTONE_GRACE
