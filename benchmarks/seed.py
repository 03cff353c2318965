"""Fill the benchmark database fast: generated rows streamed in with PostgreSQL's COPY.

One user owns a big address book, the others a small one each. Every user shares one password
hash, made once with the production argon2 settings: hashing per user would take minutes.
"""

from __future__ import annotations

import datetime
import functools
import itertools
import random
import unicodedata
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec
import uuid_utils
from sqlalchemy.dialects import postgresql
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from contacts_api.accounts.passwords import PasswordHasher
from contacts_api.config import Settings
from contacts_api.contacts.models import LIST_SEPARATOR, search_key
from contacts_api.contacts.phones import digits_of
from contacts_api.contacts.repository import search_parameters, search_statement
from contacts_api.contacts.schemas import ContactFilters
from contacts_api.text import fold, tag_key

BENCHMARK_PASSWORD = "benchmark passphrase 2026"  # noqa: S105 (throwaway accounts in a throwaway database)
USER_COLUMNS = ("id", "email", "full_name", "password_hash", "sa_orm_sentinel", "created_at", "updated_at")
CONTACT_COLUMNS = (
    "id",
    "owner_id",
    "first_name",
    "last_name",
    "emails",
    "phones",
    "addresses",
    "organization",
    "job_title",
    "birthday",
    "notes",
    "tags",
    "favorite",
    "sa_orm_sentinel",
    "created_at",
    "updated_at",
    "first_name_key",
    "last_name_key",
    "organization_key",
    "birthday_month_day",
    "birthday_year",
    "emails_key",
    "phone_digits",
    "change_seq",
)
ADDRESS_BOOK_COLUMNS = ("owner_id", "last_change_seq")
EMAIL_COLUMNS = ("owner_id", "address", "contact_id")
PHONE_COLUMNS = ("contact_id", "position", "owner_id", "digits", "e164")
TAG_COLUMNS = ("owner_id", "tag_key", "contact_id", "name")
# Some contacts carry tags, as people group a part of their book.
TAG_SETS: tuple[tuple[str, ...], ...] = ((), (), ("family",), ("work",), ("work", "London"), ("Book club",), ())
ORGANIZATIONS = (None, None, None, "Acme", "Initech", "Globex", "Umbrella")
EMAIL_LABELS = ("home", "work", "other")
PHONE_LABELS = ("mobile", "work", "home")
EARLIEST_BIRTHDAY = datetime.date(1940, 1, 1)
LATEST_BIRTHDAY = datetime.date(2008, 12, 31)
COPY_BATCH_ROWS = 20_000
NOT_DIGITS = str.maketrans("", "", " +-().")
NOTES = ("Met at the compiler meetup", "Neighbour", "Former colleague", "Book club")

Row = tuple[Any, ...]


@dataclass(frozen=True)
class SeedPlan:
    users: int
    big_book: int
    book: int
    seed: int

    @property
    def total_contacts(self) -> int:
        return self.big_book + (self.users - 1) * self.book

    @property
    def total_rows(self) -> int:
        return self.users + self.total_contacts


@dataclass(frozen=True)
class Account:
    id: uuid.UUID
    email: str
    book_size: int


@dataclass(frozen=True)
class SeededData:
    """What the load runs need to know about the generated data."""

    big: Account
    small: Account
    flooder: Account
    password: str
    small_contact_id: uuid.UUID
    # `q` as someone looking for one person types it: the start of a surname in the small book.
    search_fragment: str
    # A 3-letter fragment common in surnames, which matches a good share of any book.
    broad_fragment: str
    # How many contacts each fragment matches, per book: {fragment: {"small": n, "big": n}}.
    matches: dict[str, dict[str, int]]


@dataclass(frozen=True)
class NamePool:
    """Names drawn as often as people bear them: US census lists ranked by frequency (as zxcvbn
    ships them), with Zipf-like weights. A large book then holds thousands of distinct surnames
    and a few very common ones, like a real one; a short list would make every search match a
    large share of the book."""

    names: tuple[str, ...]
    cumulative_weights: tuple[float, ...]

    @classmethod
    def ranked(cls, *lists: str) -> NamePool:
        names = tuple(dict.fromkeys(name.capitalize() for key in lists for name in FREQUENCY_LISTS[key]))
        return cls(names, tuple(itertools.accumulate(1 / (rank + 20) for rank in range(len(names)))))

    def choice(self, rng: random.Random) -> str:
        return rng.choices(self.names, cum_weights=self.cumulative_weights)[0]


FIRST_NAMES = NamePool.ranked("female_names", "male_names")
LAST_NAMES = NamePool.ranked("surnames")


def new_id() -> uuid.UUID:
    return uuid.UUID(bytes=uuid_utils.uuid7().bytes)


@functools.cache
def email_part(name: str) -> str:
    """Contact emails stay plain ASCII: `Zoë` becomes `zoe`."""
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


def user_email(index: int) -> str:
    return {0: "bench-big@example.com", 1: "bench-small@example.com", 2: "bench-flooder@example.com"}.get(
        index, f"bench-user-{index:06d}@example.com"
    )


def book_size(plan: SeedPlan, index: int) -> int:
    return plan.big_book if index == 0 else plan.book


def birthday_in(rng: random.Random, today: datetime.date, days_ahead: range) -> datetime.date:
    """A birthday in a random year whose next anniversary is `today` + one of `days_ahead`."""
    anniversary = today + datetime.timedelta(days=rng.choice(days_ahead))
    year = rng.randrange(EARLIEST_BIRTHDAY.year, LATEST_BIRTHDAY.year + 1)
    if (anniversary.month, anniversary.day) == (2, 29):
        year -= year % 4  # every multiple of 4 in 1940-2008 is a leap year
    return anniversary.replace(year=year)


def random_birthday(rng: random.Random, today: datetime.date, index: int) -> datetime.date:
    # The first two contacts of every book have a birthday within 7 and within 30 days, so the
    # birthday queries return rows even in the tiny books of the tests.
    if index == 0:
        return birthday_in(rng, today, range(7))
    if index == 1:
        return birthday_in(rng, today, range(7, 30))
    span = (LATEST_BIRTHDAY - EARLIEST_BIRTHDAY).days + 1
    return EARLIEST_BIRTHDAY + datetime.timedelta(days=rng.randrange(span))


@dataclass
class BookRows:
    """The rows of the contacts table and of its index tables, as COPY takes them."""

    contacts: list[Row]
    emails: list[Row]
    phones: list[Row]
    tags: list[Row]

    def extend(self, other: BookRows) -> None:
        self.contacts += other.contacts
        self.emails += other.emails
        self.phones += other.phones
        self.tags += other.tags

    def __len__(self) -> int:
        return len(self.contacts)


def to_json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def contact_rows(owner_id: uuid.UUID, count: int, rng: random.Random, now: datetime.datetime) -> Iterator[BookRows]:
    """One BookRows per contact: 1 to 3 emails and phones each, some tags and organizations."""
    today = now.date()
    for index in range(count):
        first, last = FIRST_NAMES.choice(rng), LAST_NAMES.choice(rng)
        contact_id = new_id()
        addresses = [
            f"{email_part(first)}.{email_part(last)}.{index}@example.org",
            f"{email_part(first)}{index}@work.example.com",
            f"{email_part(last)}.{index}@mail.example.net",
        ][: rng.randint(1, 3)]
        numbers = [f"+1 555 01{rng.randrange(10)} {rng.randrange(10_000):04d}" for _ in range(rng.randint(1, 3))]
        emails = [{"value": address, "label": EMAIL_LABELS[position]} for position, address in enumerate(addresses)]
        phones = [
            {"value": number, "label": PHONE_LABELS[position], "e164": "+" + number.translate(NOT_DIGITS)}
            for position, number in enumerate(numbers)
        ]
        tags = TAG_SETS[rng.randrange(len(TAG_SETS))]
        organization = ORGANIZATIONS[rng.randrange(len(ORGANIZATIONS))]
        birthday = random_birthday(rng, today, index)
        yield BookRows(
            contacts=[
                (
                    contact_id,
                    owner_id,
                    first,
                    last,
                    to_json(emails),
                    to_json(phones),
                    "[]",
                    organization,
                    None,
                    birthday.isoformat(),
                    rng.choice(NOTES) if index % 4 == 0 else None,
                    to_json(list(tags)),
                    index % 10 == 0,
                    None,
                    now,
                    now,
                    fold(first),
                    fold(last),
                    search_key(organization),
                    birthday.month * 100 + birthday.day,
                    birthday.year,
                    LIST_SEPARATOR.join(addresses),
                    LIST_SEPARATOR.join(digits_of(number) for number in numbers),
                    index + 1,  # the book's changes: one per contact, in order
                )
            ],
            emails=[(owner_id, address, contact_id) for address in addresses],
            phones=[
                (contact_id, position, owner_id, digits_of(number), phones[position]["e164"])
                for position, number in enumerate(numbers)
            ],
            tags=[(owner_id, tag_key(tag), contact_id, tag) for tag in tags],
        )


def batches(books: Iterable[BookRows], size: int) -> Iterator[BookRows]:
    """The rows of `size` contacts at a time, with their index rows."""
    batch = BookRows([], [], [], [])
    for book in books:
        batch.extend(book)
        if len(batch) >= size:
            yield batch
            batch = BookRows([], [], [], [])
    if len(batch):
        yield batch


def person_fragment(last_name: str) -> str:
    """The first four letters of a surname, lower-cased: what one types to find that person."""
    return last_name[:4].lower()


async def count_matches(connection: asyncpg.Connection, owner_id: uuid.UUID, fragment: str) -> int:
    """The contacts `q=fragment` finds in one book: the `total` of the service's own search."""
    shape, matched = search_parameters(ContactFilters(q=fragment))
    compiled = search_statement(shape).compile(dialect=postgresql.asyncpg.dialect())  # type: ignore[no-untyped-call]
    parameters = {"owner": owner_id, "limit": 1, "offset": 0, **matched}
    values = compiled.construct_params(parameters)
    row = await connection.fetchrow(str(compiled), *(values[name] for name in compiled.positiontup or ()))
    return int(row["total"])


def most_common_fragment(last_names: Iterable[str]) -> str:
    """The most frequent 3-letter start of a last name, lower-cased: a `q` that finds contacts."""
    counts = Counter(name[:3].lower() for name in last_names)
    return min(counts, key=lambda fragment: (-counts[fragment], fragment))


async def hash_benchmark_password() -> str:
    # Settings() holds the production argon2 parameters; environment overrides do not apply here.
    return await PasswordHasher(Settings()).hash(BENCHMARK_PASSWORD)


async def seed_database(dsn: str, plan: SeedPlan, *, advance: Callable[[int], None]) -> SeededData:
    """Insert `plan.users` users and their books; `advance(n)` is told of every n rows stored."""
    if plan.users < 3 or plan.book < 1 or plan.big_book < 1:
        raise ValueError("the benchmark needs 3 users or more (big book, small book, flooder) and non-empty books")
    rng = random.Random(plan.seed)  # noqa: S311 (reproducible fake data, nothing secret)
    password_hash = await hash_benchmark_password()
    now = datetime.datetime.now(datetime.UTC)
    accounts = [Account(new_id(), user_email(index), book_size(plan, index)) for index in range(plan.users)]
    user_rows = [
        (
            account.id,
            account.email,
            f"{FIRST_NAMES.choice(rng)} {LAST_NAMES.choice(rng)}",
            password_hash,
            None,
            now,
            now,
        )
        for account in accounts
    ]
    small_books = list(contact_rows(accounts[1].id, accounts[1].book_size, rng, now))
    small_rows = [book.contacts[0] for book in small_books]
    other_rows = itertools.chain.from_iterable(
        contact_rows(account.id, account.book_size, rng, now) for index, account in enumerate(accounts) if index != 1
    )
    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction():
            await connection.copy_records_to_table("users", records=user_rows, columns=USER_COLUMNS)
            advance(len(user_rows))
            for batch in batches(itertools.chain(small_books, other_rows), COPY_BATCH_ROWS):
                await connection.copy_records_to_table("contacts", records=batch.contacts, columns=CONTACT_COLUMNS)
                await connection.copy_records_to_table("contact_emails", records=batch.emails, columns=EMAIL_COLUMNS)
                await connection.copy_records_to_table("contact_phones", records=batch.phones, columns=PHONE_COLUMNS)
                await connection.copy_records_to_table("contact_tags", records=batch.tags, columns=TAG_COLUMNS)
                advance(len(batch))
            # Each book's change counter, at its last contact's number (contact_rows).
            counters = [(account.id, account.book_size) for account in accounts if account.book_size]
            await connection.copy_records_to_table("address_books", records=counters, columns=ADDRESS_BOOK_COLUMNS)
        # Without this, autovacuum would get round to the fresh tables in the middle of the load runs;
        # done now, the planner has statistics and index-only scans a visibility map, as in steady state.
        await connection.execute(
            "VACUUM (ANALYZE) users, contacts, contact_emails, contact_phones, contact_tags, address_books"
        )
        fragments = (person_fragment(small_rows[0][3]), most_common_fragment(row[3] for row in small_rows))
        matches = {
            fragment: {
                "small": await count_matches(connection, accounts[1].id, fragment),
                "big": await count_matches(connection, accounts[0].id, fragment),
            }
            for fragment in fragments
        }
    finally:
        await connection.close()
    return SeededData(
        big=accounts[0],
        small=accounts[1],
        flooder=accounts[2],
        password=BENCHMARK_PASSWORD,
        small_contact_id=small_rows[0][0],
        search_fragment=fragments[0],
        broad_fragment=fragments[1],
        matches=matches,
    )
