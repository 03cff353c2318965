"""The `contacts-api` command: serve the API, look after its database, check its mail."""

from __future__ import annotations

import asyncio
import datetime
import functools
import logging
import logging.config
import os
import uuid
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import BinaryIO, ParamSpec, TypeVar

import click
import msgspec
from advanced_alchemy.exceptions import RepositoryError
from alembic import command
from litestar.exceptions import HTTPException
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from contacts_api.accounts.repositories import LoginSessionRepository, UserRepository
from contacts_api.config import Settings, SettingsError, load_settings
from contacts_api.contacts.interchange.records import ReadRecord
from contacts_api.contacts.interchange.service import (
    AddressBookTransfer,
    ImportReport,
    book_pages,
    csv_header_line,
    mapped_records,
    read_records,
    render_csv,
    render_vcards,
)
from contacts_api.contacts.repository import ContactRepository
from contacts_api.contacts.service import ContactRules
from contacts_api.contacts.sync import purge_horizon, purge_tombstones
from contacts_api.db import alembic_config, create_engine, downgrade_database, upgrade_database
from contacts_api.errors import describe_cause
from contacts_api.logs import logging_config
from contacts_api.mail.outbox import Mail
from contacts_api.mail.transport import DeliveryError, LogTransport, message_id_for
from contacts_api.mail.worker import mail_transport
from contacts_api.seeding import SeedError, create_user, seed
from contacts_api.server import PortUnavailableError, run_server
from contacts_api.validation import EmailText, normalize_email

P = ParamSpec("P")
R = TypeVar("R")


class CommandFailed(click.ClickException):
    """Printed as one line, exit status 1, no traceback."""


def one_line_errors(func: Callable[P, R]) -> Callable[P, R]:
    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except click.ClickException:
            raise
        except (SettingsError, SeedError, PortUnavailableError) as exc:
            raise CommandFailed(str(exc)) from None
        except HTTPException as exc:  # a rule of the domain services, e.g. a taken email
            raise CommandFailed(exc.detail) from None
        except (SQLAlchemyError, RepositoryError, OSError) as exc:
            raise CommandFailed(f"database error: {describe_cause(exc)}") from None

    return wrapper


def settings_from_env() -> Settings:
    settings = load_settings()
    # Worker processes load settings again: hand them the same (possibly generated) secret,
    # or a token issued by one worker would be refused by another.
    os.environ["JWT_SECRET"] = settings.jwt_secret
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="contacts-api")
def main() -> None:
    """contacts-api: a REST API for private address books."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to bind.",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes.",
)
@click.option("--reload", is_flag=True, help="Restart when the code changes (development).")
@one_line_errors
def serve(host: str, port: int, workers: int, reload: bool) -> None:
    """Run the API server. With the default SQLite database, its schema is migrated first."""
    settings = settings_from_env()
    logging.config.dictConfig(logging_config(settings))
    if settings.is_sqlite:
        upgrade_database(settings.database_url)
    run_server(
        "contacts_api.app:create_app",
        host=host,
        port=port,
        workers=workers,
        reload=reload,
        log_config=logging_config(settings),
        log_level=settings.log_level,
    )


@main.group()
def db() -> None:
    """Database migrations (Alembic, in migrations/)."""


@db.command()
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@one_line_errors
def upgrade(revision: str) -> None:
    """Apply migrations up to REVISION. Running it again is harmless."""
    upgrade_database(load_settings(for_serving=False).database_url, revision)
    click.echo(f"database is at {revision}")


@db.command()
@click.argument("revision", default="-1")
@one_line_errors
def downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (default: one step)."""
    downgrade_database(load_settings(for_serving=False).database_url, revision)


@db.command()
@click.option("-m", "--message", required=True, help="What the migration does.")
@click.option(
    "--autogenerate",
    is_flag=True,
    help="Compare the models with the database and write the difference.",
)
@one_line_errors
def revision(message: str, autogenerate: bool) -> None:
    """Create a new migration file in migrations/versions/."""
    command.revision(
        alembic_config(load_settings(for_serving=False).database_url),
        message=message,
        autogenerate=autogenerate,
    )


@main.group()
def users() -> None:
    """User accounts."""


@users.command("create")
@click.option("--email", prompt=True, help="The new user's email.")
@click.option("--full-name", default=None, help="Display name.")
@click.password_option(help="The password (prompted, without echo, when not given).")
@one_line_errors
def create_user_command(email: str, full_name: str | None, password: str) -> None:
    """Create an account, as signup would (same rules, argon2 hash)."""
    settings = load_settings(for_serving=False)
    user = asyncio.run(create_user(settings, email=email, password=password, full_name=full_name))
    click.echo(f"created user {user.email} ({user.id})")


@main.command("seed")
@click.option("--users", "user_count", default=10, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--contacts", "contact_count", default=50, show_default=True, type=click.IntRange(0, 10_000))
@click.option("--password", default="seeded passphrase 2026", show_default=True, help="Password of every seeded user.")
@one_line_errors
def seed_command(user_count: int, contact_count: int, password: str) -> None:
    """Fill the database with demo users and contacts."""
    with Progress(
        TextColumn("[bold]seeding"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True
    ) as progress:
        task = progress.add_task("users", total=user_count)
        emails = asyncio.run(
            seed(
                load_settings(for_serving=False),
                users=user_count,
                contacts=contact_count,
                password=password,
                advance=lambda n: progress.advance(task, n),
            )
        )
    click.echo(f"created {len(emails)} users with {contact_count} contacts each; e.g. {emails[0]} / {password}")


@main.group()
def sessions() -> None:
    """Login sessions."""


@sessions.command()
@one_line_errors
def purge() -> None:
    """Delete sessions that expired or were revoked more than SESSION_RETENTION_DAYS ago."""
    settings = load_settings(for_serving=False)
    cutoff = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=settings.session_retention_days)

    async def purge_ended(session: AsyncSession) -> int:
        return await LoginSessionRepository(session=session).purge(ended_before=cutoff)

    deleted = asyncio.run(_in_one_transaction(settings, purge_ended))
    click.echo(f"deleted {deleted} ended session(s)")


async def _in_one_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[int]]) -> int:
    """`work` in one transaction on its own engine, for a maintenance command: what it returns."""
    engine = create_engine(settings)
    try:
        async with AsyncSession(engine) as session, session.begin():
            return await work(session)
    finally:
        await engine.dispose()


@main.group()
def contacts() -> None:
    """Address books: import and export files (vCard, CSV), as the API does; tombstones."""


@contacts.command("purge-tombstones")
@one_line_errors
def purge_tombstones_command() -> None:
    """Delete the changes feed's records of deleted contacts older than SYNC_TOMBSTONE_DAYS (and an
    hour of grace); a cursor that old answers 410 already. Run it daily (cron, a systemd timer)."""
    settings = load_settings(for_serving=False)
    horizon = purge_horizon(datetime.datetime.now(datetime.UTC), settings.sync_tombstone_days)
    deleted = asyncio.run(_in_one_transaction(settings, functools.partial(purge_tombstones, deleted_before=horizon)))
    click.echo(f"deleted {deleted} tombstone(s)")


ON_DUPLICATE = click.Choice(["skip", "update", "create"])


@contacts.command("import")
@click.option("--user", "email", required=True, help="The email of the account whose book receives the contacts.")
@click.option(
    "--on-duplicate",
    type=ON_DUPLICATE,
    default="skip",
    show_default=True,
    help="A record sharing an email or E.164 phone with a contact: skip it, update that contact, or create it.",
)
@click.option("--dry-run", is_flag=True, help="Report what would happen; store nothing.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the whole report (JSON, as the API answers it) to this file.",
)
@click.argument("file", type=click.File("rb"))
@one_line_errors
def import_contacts(email: str, on_duplicate: str, dry_run: bool, report_path: str | None, file: BinaryIO) -> None:
    """Import a vCard (2.1, 3.0, 4.0) or contacts CSV file into a user's book, in one transaction."""
    settings = load_settings(for_serving=False)
    data = file.read()
    if len(data) > settings.import_max_bytes:
        raise CommandFailed(
            f"the file has {len(data):,} bytes, more than IMPORT_MAX_BYTES ({settings.import_max_bytes:,})"
        )
    records = read_records(data, settings.import_max_contacts)
    with _progress_bar("importing") as progress:
        task = progress.add_task("records", total=len(records))
        report = asyncio.run(
            _import_file(
                settings, email, records, on_duplicate=on_duplicate, dry_run=dry_run,
                advance=lambda n: progress.advance(task, n),
            )
        )  # fmt: skip
    if report_path is not None:
        with open(report_path, "wb") as out:
            out.write(msgspec.json.format(msgspec.json.encode(report)))
    for item in report.items:
        if item.status in {"skipped", "failed"}:
            click.echo(f"record {item.index} {item.status}: {item.name or '(no name)'}: {item.detail}")
    verb = "would be" if dry_run else "were"
    click.echo(
        f"{report.created} created, {report.updated} updated, {report.skipped} skipped, {report.failed} failed"
        f" ({verb} stored{' — dry run' if dry_run else ''})"
    )


async def _owner_of(session: AsyncSession, email: str) -> uuid.UUID:
    user = await UserRepository(session=session).find_by_email(normalize_email(email))
    if user is None:
        raise CommandFailed(f"no account has the email {email}")
    return user.id


async def _import_file(
    settings: Settings,
    email: str,
    records: list[ReadRecord],
    *,
    on_duplicate: str,
    dry_run: bool,
    advance: Callable[[int], None],
) -> ImportReport:
    engine = create_engine(settings)
    rules = ContactRules(
        default_phone_region=settings.default_phone_region, tombstone_days=settings.sync_tombstone_days
    )
    today = datetime.datetime.now(datetime.UTC).date()
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            owner_id = await _owner_of(session, email)
            mapped = await asyncio.to_thread(mapped_records, records, rules, today, advance)
            transfer = AddressBookTransfer(session, owner_id=owner_id, rules=rules, today=today)
            return await transfer.import_records(mapped, on_duplicate=on_duplicate, dry_run=dry_run)  # type: ignore[arg-type]
    finally:
        await engine.dispose()


@contacts.command("export")
@click.option("--user", "email", required=True, help="The email of the account whose book is exported.")
@click.option("--format", "file_format", type=click.Choice(["vcard", "csv"]), default="vcard", show_default=True)
@click.option(
    "--version",
    "version",
    type=click.Choice(["4.0", "3.0"]),
    default="4.0",
    show_default=True,
    help="The vCard version.",
)
@click.option("--tag", default=None, help="Only the contacts with this tag.")
@click.option("-o", "--output", type=click.File("wb"), default="-", show_default=True, help="Where to write the file.")
@one_line_errors
def export_contacts(email: str, file_format: str, version: str, tag: str | None, output: BinaryIO) -> None:
    """Write a user's book as vCard (4.0 or 3.0) or as CSV in Google Contacts' layout, page by page."""
    with _progress_bar("exporting") as progress:
        task = progress.add_task("contacts", total=None)
        count = asyncio.run(
            _export_file(
                load_settings(for_serving=False), email, file_format, version, tag, output,
                start=lambda total: progress.update(task, total=total),
                advance=lambda n: progress.advance(task, n),
            )
        )  # fmt: skip
    click.echo(f"exported {count} contact(s)", err=True)


def _progress_bar(verb: str) -> Progress:
    """A bar on stderr (stdout may be the exported file), gone when done; none when stderr is no
    terminal (a log, a pipe), which would only get blank lines."""
    console = Console(stderr=True)
    return Progress(
        TextColumn(f"[bold]{verb}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


async def _export_file(
    settings: Settings,
    email: str,
    file_format: str,
    version: str,
    tag: str | None,
    output: BinaryIO,
    *,
    start: Callable[[int], None],
    advance: Callable[[int], None],
) -> int:
    engine = create_engine(settings)
    try:
        async with AsyncSession(engine) as session:
            owner_id = await _owner_of(session, email)
            repository = ContactRepository(session=session, owner_id=owner_id)
            start(await repository.count_contacts(tag=tag))
            first = await repository.export_page(after=None, tag=tag)
            await session.rollback()
        pages = book_pages(lambda: AsyncSession(engine), owner_id=owner_id, tag=tag, first=first)
        if file_format == "csv":
            output.write(csv_header_line().encode())
        count = 0
        async for page in pages:
            text = render_csv(page) if file_format == "csv" else render_vcards(page, version)  # type: ignore[arg-type]
            output.write(text.encode())
            count += len(page)
            advance(len(page))
        return count
    finally:
        await engine.dispose()


@main.group()
def mail() -> None:
    """Outgoing mail."""


@mail.command("send-test")
@click.option("--to", "address", required=True, metavar="ADDRESS", help="Where to send the test mail.")
@one_line_errors
def send_test(address: str) -> None:
    """Send a test mail now and say whether the SMTP server took it.

    The mail goes straight through SMTP_URL (not through the outbox, so no database is needed);
    without SMTP_URL, outside production, it is written to the log as the service would."""
    try:
        msgspec.convert(address, EmailText)  # the rule the API applies to every address
    except msgspec.ValidationError:
        raise CommandFailed(f"--to: {address!r} is not an email address") from None
    settings = load_settings(for_serving=False)
    transport = mail_transport(settings)
    if transport is None:
        raise CommandFailed(
            "SMTP_URL is not set: in production mail goes only through an SMTP server; nothing was sent"
        )
    sent_at = datetime.datetime.now(datetime.UTC)
    test_mail = Mail(
        recipient=normalize_email(address),
        subject="contacts-api test mail",
        text_body=(
            f"This is a test mail from contacts-api, sent by `contacts-api mail send-test` at "
            f"{sent_at:%Y-%m-%d %H:%M:%S} UTC through {transport.description}.\n"
            "If you can read it, the mails of this service reach this address.\n"
        ),
    )
    message_id = message_id_for(uuid7(), settings.mail_from)
    try:
        asyncio.run(transport.send(test_mail, message_id=message_id))
    except DeliveryError as exc:
        reason = " ".join(str(exc).split())  # a multi-line SMTP reply, on the one line of an error
        raise CommandFailed(f"the test mail was not sent through {transport.description}: {reason}") from None
    if isinstance(transport, LogTransport):
        click.echo(f"test mail {message_id} to {test_mail.recipient} written to {transport.description}, not sent")
    else:
        click.echo(f"test mail {message_id} to {test_mail.recipient} accepted by {transport.description}")


if __name__ == "__main__":
    main(prog_name="contacts-api")
