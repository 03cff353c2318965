"""Demo data for `contacts-api seed` and an account for `contacts-api users create`.

App-level, like cli.py: it is the one place that writes to both domains.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable

import msgspec
from litestar.stores.memory import MemoryStore
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from contacts_api.accounts.models import UserModel
from contacts_api.accounts.schemas import Signup, User
from contacts_api.accounts.services import AccountsConfig, AccountService
from contacts_api.clock import utc_now
from contacts_api.config import Settings
from contacts_api.contacts.phones import e164_of
from contacts_api.contacts.repository import ContactRepository
from contacts_api.contacts.schemas import Contact, EmailEntry, PhoneEntry
from contacts_api.contacts.service import with_primaries
from contacts_api.db import create_engine
from contacts_api.mail.worker import Mailer

FIRST_NAMES = ["Ada", "Grace", "Alan", "Katherine", "Edsger", "Barbara", "Donald", "Frances", "Émile", "Zoë", "Linus",
               "Margaret", "Dennis", "Radia", "Tim", "Hedy", "Ken", "Sophie", "Niklaus", "Yukihiro"]  # fmt: skip
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Johnson", "Dijkstra", "Liskov", "Knuth", "Allen", "Zola", "Ritchie",
              "Hamilton", "Perlman", "Berners-Lee", "Lamarr", "Thompson", "Wilson", "Wirth", "Matsumoto"]  # fmt: skip

TAGS = [["family"], ["work"], [], ["friends", "book club"], []]


class SeedError(ValueError):
    """Bad input for a seeding command; the message is one line for the terminal."""


def accounts_config(settings: Settings) -> AccountsConfig:
    # No delivery from here: a mail queued (the new account's verification) waits in the outbox
    # for a serving process to send it.
    return AccountsConfig.from_settings(settings, utc_now, MemoryStore(), Mailer(None))


async def create_user(settings: Settings, *, email: str, password: str, full_name: str | None) -> User:
    try:
        data = msgspec.convert({"email": email, "password": password, "full_name": full_name}, Signup)
    except msgspec.ValidationError as exc:
        raise SeedError(str(exc).replace(" - at `$.", " (").rstrip("`") + ")") from None
    engine = create_engine(settings)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            return await AccountService(session, accounts_config(settings)).sign_up(data)
    finally:
        await engine.dispose()


async def seed(
    settings: Settings, *, users: int, contacts: int, password: str, advance: Callable[[int], None]
) -> list[str]:
    """Create `users` accounts, each with `contacts` contacts; returns the new emails."""
    passwords = accounts_config(settings).passwords
    password_hash = await passwords.hash(password)  # one hash for all: seeding is for demos
    rng = random.Random()  # noqa: S311 (demo names and dates, nothing secret)
    today = utc_now().date()
    emails: list[str] = []
    engine = create_engine(settings)
    try:
        for _ in range(users):
            async with AsyncSession(engine) as session, session.begin():
                suffix = rng.randrange(16**8)
                user = UserModel(
                    email=f"seed-{suffix:08x}@example.com", full_name="Seeded User", password_hash=password_hash
                )
                session.add(user)
                await session.flush()
                # Through the repository, which writes each contact's index rows with it.
                repository = ContactRepository(session=session, owner_id=user.id)
                for contact in _contacts(user, contacts, rng, today):
                    await repository.add_contact(contact)
                emails.append(user.email)
            advance(1)
    finally:
        await engine.dispose()
    return emails


def _contacts(owner: UserModel, count: int, rng: random.Random, today: datetime.date) -> list[Contact]:
    now = utc_now()
    contacts = []
    for index in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        address = f"{first.lower()}.{last.lower()}.{index}@example.org".replace("é", "e").replace("ë", "e")
        phone = f"+1 555 {rng.randrange(1000):03d} {rng.randrange(10000):04d}"
        birthday = today - datetime.timedelta(days=rng.randrange(18 * 365, 80 * 365))
        contact = Contact(
            id=uuid7(),
            owner_id=owner.id,
            first_name=first,
            last_name=last,
            emails=[EmailEntry(value=address, label="home")],
            phones=[PhoneEntry(value=phone, label="mobile", e164=e164_of(phone, ""))],
            birthday=birthday.isoformat() if index % 5 else birthday.strftime("--%m-%d"),
            tags=TAGS[index % len(TAGS)],
            favorite=index % 7 == 0,
            notes=None if index % 3 else "Seeded for a demo",
            created_at=now,
            updated_at=now,
        )
        contacts.append(with_primaries(contact))
    return contacts
