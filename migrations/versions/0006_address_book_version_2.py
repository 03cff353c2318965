"""address book version 2: several emails, phones and addresses, tags, favourites, optional fields

The storage, chosen for what the queries need:

- The lists (emails, phones, addresses, tags) are JSON text columns of `contacts`. Every answer
  shows whole contacts, and a page of 20 (or one contact) must stay one statement on one table:
  child tables alone would need a join and an aggregation per page (JSON functions that differ
  between the databases), or one query per list.
- What a list is kept unique or filtered by is projected into index tables, written in the
  same transaction as the row and deleted with it (ON DELETE CASCADE):
  `contact_emails (owner_id, address, contact_id)`, whose primary key (owner_id, address) keeps an
  address on at most one contact of an owner, also between racing writes (a constraint, never a
  check-then-insert; a JSON column could not carry it, and a unique index over a JSON array exists
  on neither database); `contact_phones (contact_id, position, owner_id, digits, e164)` for finding
  duplicates by E.164 number (the import); `contact_tags (owner_id, tag_key,
  contact_id, name)` for the tag filters and counts.
- Search reads the contacts row alone: `emails_key` (every address) and `phone_digits` (the
  digits of every phone), joined by U+001F, next to the name keys and `organization_key`. On
  PostgreSQL each has a trigram GIN index (pg_trgm, with the owner through btree_gin, as since
  0003), and `q` is one OR over them: one bitmap, one visit of each match. (A union of lookups
  in the index tables was measured at a fifth of the speed on a 100,000-contact book: it read
  each match three or four times.)
- The birthday is text as the API has it (`1990-05-17`, or `--05-17` without the year, which no
  date column can hold), with its parts as integers for the queries: `birthday_month_day` (month
  * 100 + day, a plain column now instead of 0003's expression index, which SQLite could not
  reflect) and `birthday_year` (null without a year), for the age.
- Two more b-trees, (owner_id, created_at, id) and (owner_id, updated_at, id), serve the new sort
  orders the way (owner_id, name keys, id) serves the name order.

Existing contacts keep everything: their email and phone become the first (unlabelled) entries of
the lists, their birthday the same date as text. The E.164 form of each phone is derived with
phonenumbers, reading numbers without a `+` as numbers of DEFAULT_PHONE_REGION if that is set in
the settings (environment or `.env`, as the service reads it for new numbers).

Downgrade keeps each contact's first email and phone and a dated birthday; what version 1 cannot
hold is lost (further entries, addresses, organization, job title, tags, favourites). Version 1
required an email, a phone and a full birthday, so a contact without one gets a placeholder: the
address `no-email-<id>@example.invalid` (RFC 2606's reserved TLD), the phone `no phone`, the
birthday 0996-01-01; a year-less birthday gets the year 996 (a leap year, for --02-29). None of
these could be real version 1 data (version 1 wanted 7 digits and a year from 1000). An
upgrade after such a downgrade reads the placeholders back as nothing (and 1904 as no year), so a
round trip does not turn them into data.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 02:00:00
"""

from __future__ import annotations

import contextlib
import datetime
import json
import re
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import advanced_alchemy.types
import phonenumbers
import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
KEY_TYPE = sa.String(300).with_variant(sa.String(300, collation="C"), "postgresql")
GUID = advanced_alchemy.types.guid.GUID(length=16)
PLACEHOLDER_PHONE = "no phone"  # no digits: version 1 never accepted it, so it is no real number
PLACEHOLDER_EMAIL = re.compile(r"no-email-[0-9a-f]{32}@example\.invalid")
PLACEHOLDER_YEAR = 996  # a leap year (for --02-29) before 1000, which version 1 never accepted


def default_phone_region() -> str:
    """DEFAULT_PHONE_REGION as the service reads it (the environment, then `.env`)."""
    from contacts_api.config import load_settings

    return load_settings(for_serving=False).default_phone_region


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def digits_of(value: str) -> str:
    return "".join(character for character in value if character.isdigit())


def e164_of(value: str, region: str) -> str | None:
    """contacts_api.contacts.phones.e164_of as of this migration."""
    if not value.lstrip().startswith("+") and not region:
        return None
    try:
        number = phonenumbers.parse(value, region or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@contextlib.contextmanager
def copying_the_table() -> Iterator[None]:
    """See 0004: SQLite's batch copy warns about the expression index it cannot reflect."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based index")
        yield


def keyset_pages(table: sa.TableClause, *columns: sa.ColumnClause[Any]) -> Iterator[Sequence[sa.Row[Any]]]:
    """The table's rows in id order, BATCH at a time; each batch reads only rows not yet seen."""
    bind = op.get_bind()
    last_id = None
    while rows := bind.execute(
        sa.select(table.c.id, *columns)
        .where(sa.true() if last_id is None else table.c.id > last_id)
        .order_by(table.c.id)
        .limit(BATCH)
    ).all():
        yield rows
        last_id = rows[-1].id


def create_index_tables() -> None:
    op.create_table(
        "contact_emails",
        sa.Column("owner_id", GUID, nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("contact_id", GUID, nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_contact_emails_contact_id_contacts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("owner_id", "address", name="pk_contact_emails"),
    )
    op.create_index("ix_contact_emails_contact_id", "contact_emails", ["contact_id"])
    op.create_table(
        "contact_phones",
        sa.Column("contact_id", GUID, nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("owner_id", GUID, nullable=False),
        sa.Column("digits", sa.String(length=20), nullable=False),
        sa.Column("e164", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_contact_phones_contact_id_contacts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("contact_id", "position", name="pk_contact_phones"),
    )
    op.create_index("ix_contact_phones_owner_id_e164", "contact_phones", ["owner_id", "e164"])
    op.create_table(
        "contact_tags",
        sa.Column("owner_id", GUID, nullable=False),
        sa.Column("tag_key", sa.String(120).with_variant(sa.String(120, collation="C"), "postgresql"), nullable=False),
        sa.Column("contact_id", GUID, nullable=False),
        sa.Column("name", sa.String(40).with_variant(sa.String(40, collation="C"), "postgresql"), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_contact_tags_contact_id_contacts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("owner_id", "tag_key", "contact_id", name="pk_contact_tags"),
    )
    op.create_index("ix_contact_tags_contact_id", "contact_tags", ["contact_id"])


TRIGRAM_INDEXES = {
    "ix_contacts_owner_id_organization_key_trigram": ("contacts", "organization_key"),
    "ix_contacts_owner_id_emails_key_trigram": ("contacts", "emails_key"),
    "ix_contacts_owner_id_phone_digits_trigram": ("contacts", "phone_digits"),
}


def upgrade() -> None:
    op.drop_index("ix_contacts_owner_id_birthday_month_day", table_name="contacts")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_contacts_owner_id_email_trigram", table_name="contacts", if_exists=True)
    create_index_tables()
    with copying_the_table(), op.batch_alter_table("contacts") as batch:
        for name in ("emails", "phones", "addresses", "tags"):
            batch.add_column(sa.Column(name, sa.Text(), nullable=True))
        batch.add_column(sa.Column("organization", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("job_title", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("favorite", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("organization_key", KEY_TYPE, server_default="", nullable=False))
        batch.add_column(sa.Column("birthday_month_day", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("birthday_year", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("birthday_text", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("emails_key", sa.Text(), nullable=True))
        batch.add_column(sa.Column("phone_digits", sa.Text(), nullable=True))
    move_to_lists(default_phone_region())
    with copying_the_table(), op.batch_alter_table("contacts") as batch:
        batch.drop_constraint("uq_contacts_owner_id_email", type_="unique")
        batch.drop_column("email")
        batch.drop_column("phone")
        batch.drop_column("birthday")
        batch.alter_column("birthday_text", new_column_name="birthday", existing_type=sa.String(length=10))
        for name in ("emails", "phones", "addresses", "tags", "emails_key", "phone_digits"):
            batch.alter_column(name, existing_type=sa.Text(), nullable=False)
        batch.alter_column("favorite", existing_type=sa.Boolean(), server_default=None)
        batch.alter_column("organization_key", existing_type=KEY_TYPE, server_default=None)
        batch.create_index("ix_contacts_owner_id_birthday_month_day", ["owner_id", "birthday_month_day"])
        batch.create_index("ix_contacts_owner_id_created_at_id", ["owner_id", "created_at", "id"])
        batch.create_index("ix_contacts_owner_id_updated_at_id", ["owner_id", "updated_at", "id"])
    if op.get_bind().dialect.name == "postgresql":
        for index, (table, column) in TRIGRAM_INDEXES.items():
            op.create_index(
                index,
                table,
                [sa.column("owner_id"), sa.text(f"{column} gin_trgm_ops")],
                postgresql_using="gin",
                if_not_exists=True,
            )


def move_to_lists(region: str) -> None:
    """Each contact's email and phone become its lists' first entries (and index rows), its
    birthday text and parts."""
    contacts = sa.table(
        "contacts",
        sa.column("id", GUID),
        sa.column("owner_id", GUID),
        sa.column("email", sa.String),
        sa.column("phone", sa.String),
        sa.column("birthday", sa.Date),
        sa.column("emails", sa.Text),
        sa.column("phones", sa.Text),
        sa.column("addresses", sa.Text),
        sa.column("tags", sa.Text),
        sa.column("birthday_text", sa.String),
        sa.column("birthday_month_day", sa.Integer),
        sa.column("birthday_year", sa.Integer),
        sa.column("emails_key", sa.Text),
        sa.column("phone_digits", sa.Text),
    )
    emails = sa.table(
        "contact_emails", sa.column("owner_id", GUID), sa.column("address"), sa.column("contact_id", GUID)
    )
    phones = sa.table(
        "contact_phones",
        sa.column("contact_id", GUID),
        sa.column("position"),
        sa.column("owner_id", GUID),
        sa.column("digits"),
        sa.column("e164"),
    )
    bind = op.get_bind()
    c = contacts.c
    for rows in keyset_pages(contacts, c.owner_id, c.email, c.phone, c.birthday):
        updates, email_rows, phone_rows = [], [], []
        for row in rows:
            # A downgrade's placeholders (see above) become nothing again on the way back up.
            email = None if PLACEHOLDER_EMAIL.fullmatch(row.email) else row.email
            phone = None if row.phone == PLACEHOLDER_PHONE else row.phone
            e164 = e164_of(phone, region) if phone else None
            birthday_text, month_day, year = version_2_birthday(row.birthday)
            updates.append(
                {
                    "row_id": row.id,
                    "emails": to_json([{"value": email, "label": None}] if email else []),
                    "phones": to_json([{"value": phone, "label": None, "e164": e164}] if phone else []),
                    "addresses": "[]",
                    "tags": "[]",
                    "birthday_text": birthday_text,
                    "birthday_month_day": month_day,
                    "birthday_year": year,
                    "emails_key": email or "",
                    "phone_digits": digits_of(phone) if phone else "",
                }
            )
            if email:
                email_rows.append({"owner_id": row.owner_id, "address": email, "contact_id": row.id})
            if phone:
                phone_rows.append(
                    {
                        "contact_id": row.id,
                        "position": 0,
                        "owner_id": row.owner_id,
                        "digits": digits_of(phone),
                        "e164": e164,
                    }
                )
        bind.execute(
            contacts.update()
            .where(c.id == sa.bindparam("row_id"))
            .values({name: sa.bindparam(name) for name in updates[0] if name != "row_id"}),
            updates,
        )
        if email_rows:
            bind.execute(emails.insert(), email_rows)
        if phone_rows:
            bind.execute(phones.insert(), phone_rows)


def version_2_birthday(birthday: datetime.date) -> tuple[str | None, int | None, int | None]:
    """(text, month * 100 + day, year) of a version 1 birthday; the downgrade's placeholder year
    means "no year" (1904-01-01: no birthday)."""
    if birthday == datetime.date(PLACEHOLDER_YEAR, 1, 1):
        return None, None, None
    month_day = birthday.month * 100 + birthday.day
    if birthday.year == PLACEHOLDER_YEAR:
        return birthday.strftime("--%m-%d"), month_day, None
    return birthday.isoformat(), month_day, birthday.year


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for index, (table, _column) in TRIGRAM_INDEXES.items():
            op.drop_index(index, table_name=table, if_exists=True)
    with copying_the_table(), op.batch_alter_table("contacts") as batch:
        batch.drop_index("ix_contacts_owner_id_birthday_month_day")
        batch.drop_index("ix_contacts_owner_id_created_at_id")
        batch.drop_index("ix_contacts_owner_id_updated_at_id")
        batch.add_column(sa.Column("email", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("phone", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("birthday_date", sa.Date(), nullable=True))
    back_to_version_1()
    with copying_the_table(), op.batch_alter_table("contacts") as batch:
        for name in ("emails", "phones", "addresses", "tags", "organization", "job_title", "favorite"):
            batch.drop_column(name)
        for name in (
            "organization_key",
            "emails_key",
            "phone_digits",
            "birthday_month_day",
            "birthday_year",
            "birthday",
        ):
            batch.drop_column(name)
        batch.alter_column("birthday_date", new_column_name="birthday", existing_type=sa.Date(), nullable=False)
        batch.alter_column("email", existing_type=sa.String(length=320), nullable=False)
        batch.alter_column("phone", existing_type=sa.String(length=20), nullable=False)
        batch.create_unique_constraint("uq_contacts_owner_id_email", ["owner_id", "email"])
    op.drop_table("contact_tags")
    op.drop_table("contact_phones")
    op.drop_table("contact_emails")
    birthday = sa.column("birthday", sa.Date)
    month_day = sa.cast(sa.extract("month", birthday), sa.Integer) * 100 + sa.cast(
        sa.extract("day", birthday), sa.Integer
    )
    op.create_index("ix_contacts_owner_id_birthday_month_day", "contacts", [sa.column("owner_id"), month_day])
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_contacts_owner_id_email_trigram",
            "contacts",
            [sa.column("owner_id"), sa.text("email gin_trgm_ops")],
            postgresql_using="gin",
            if_not_exists=True,
        )


def back_to_version_1() -> None:
    contacts = sa.table(
        "contacts",
        sa.column("id", GUID),
        sa.column("emails", sa.Text),
        sa.column("phones", sa.Text),
        sa.column("birthday", sa.String),
        sa.column("email", sa.String),
        sa.column("phone", sa.String),
        sa.column("birthday_date", sa.Date),
    )
    bind = op.get_bind()
    c = contacts.c
    for rows in keyset_pages(contacts, c.emails, c.phones, c.birthday):
        updates = []
        for row in rows:
            emails, phones = json.loads(row.emails), json.loads(row.phones)
            updates.append(
                {
                    "row_id": row.id,
                    "email": emails[0]["value"] if emails else f"no-email-{row.id.hex}@example.invalid",
                    "phone": phones[0]["value"] if phones else PLACEHOLDER_PHONE,
                    "birthday_date": version_1_birthday(row.birthday),
                }
            )
        bind.execute(
            contacts.update()
            .where(c.id == sa.bindparam("row_id"))
            .values(
                email=sa.bindparam("email"), phone=sa.bindparam("phone"), birthday_date=sa.bindparam("birthday_date")
            ),
            updates,
        )


def version_1_birthday(birthday: str | None) -> datetime.date:
    if birthday is None:
        return datetime.date(PLACEHOLDER_YEAR, 1, 1)
    if birthday.startswith("--"):
        return datetime.date(PLACEHOLDER_YEAR, int(birthday[2:4]), int(birthday[5:7]))
    return datetime.date.fromisoformat(birthday)
