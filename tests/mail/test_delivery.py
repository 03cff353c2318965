"""Delivery of the outbox, on SQLite and on PostgreSQL, to a real aiosmtpd server: what becomes of
a mail the server takes, refuses for now, refuses for good, or never sees; and what two workers
sharing one outbox do.

Most tests drive an `OutboxWorker` one round at a time (`deliver_due`) on a clock they move, so
that a backoff or an expiry takes no waiting; the others run whole apps, whose workers run on the
real time, as they do in production.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import RowMapping, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from contacts_api.app import create_app
from contacts_api.config import Settings, parse_smtp_url
from contacts_api.db import create_engine
from contacts_api.mail.outbox import OUTBOX, Mail, MailOutbox, QueuedMail
from contacts_api.mail.transport import SMTPTransport, message_id_for
from contacts_api.mail.worker import OutboxWorker, mail_transport
from tests.conftest import PASSWORD, execute_sql, make_settings, wipe
from tests.mail.smtp_servers import ConfigurableSMTPServer
from tests.smtp_server import SMTPTestServer, link_in

SENDER = "contacts-api <no-reply@localhost>"  # MAIL_FROM's default
LEASE = datetime.timedelta(seconds=60)


@dataclass
class ManualClock:
    """The worker's "now", moved by the test: a backoff or a lifetime passes at once."""

    now: datetime.datetime = field(default_factory=lambda: datetime.datetime.now(datetime.UTC))

    def __call__(self) -> datetime.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += datetime.timedelta(seconds=seconds)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await execute_sql(database_url, "DELETE FROM mail_outbox")
    engine = create_engine(make_settings(database_url))
    try:
        yield engine
    finally:
        await engine.dispose()
        await wipe(database_url)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def worker_on(
    engine: AsyncEngine,
    server: SMTPTestServer,
    clock: ManualClock | None = None,
    *,
    retry_max_seconds: float = 1,
    lease: datetime.timedelta = LEASE,
) -> OutboxWorker:
    transport = SMTPTransport(parse_smtp_url(server.url, timeout_seconds=5), sender=SENDER)
    kwargs: dict[str, Any] = {} if clock is None else {"clock": clock}
    return OutboxWorker(
        engine, transport, sender=SENDER, poll_seconds=0.1, retry_max_seconds=retry_max_seconds, lease=lease, **kwargs
    )


async def queue(
    engine: AsyncEngine,
    *,
    now: datetime.datetime,
    count: int = 1,
    lifetime: datetime.timedelta = datetime.timedelta(hours=1),
) -> list[uuid.UUID]:
    """Queue `count` mails in one committed transaction, as a request would."""
    async with AsyncSession(engine) as session, session.begin():
        outbox = MailOutbox(session=session)
        return [
            await outbox.queue(
                QueuedMail(
                    mail=Mail(
                        recipient=f"reader-{index}@example.com",
                        subject=f"Mail {index}",
                        text_body=f"Hello reader {index}\n",
                        html_body=f"<p>Hello reader {index}</p>",
                    ),
                    lifetime=lifetime,
                ),
                now=now,
            )
            for index in range(count)
        ]


async def row_of(engine: AsyncEngine, mail_id: uuid.UUID) -> RowMapping:
    async with engine.connect() as connection:
        return (await connection.execute(select(OUTBOX).where(OUTBOX.c.id == mail_id))).mappings().one()


async def count_rows(engine: AsyncEngine, *, status: str) -> int:
    async with engine.connect() as connection:
        statement = select(func.count()).select_from(OUTBOX).where(OUTBOX.c.status == status)
        return int((await connection.execute(statement)).scalar_one())


async def is_sent(engine: AsyncEngine, mail_id: uuid.UUID) -> bool:
    return bool((await row_of(engine, mail_id))["status"] == "sent")


async def is_gone(engine: AsyncEngine, mail_id: uuid.UUID) -> bool:
    async with engine.connect() as connection:
        statement = select(func.count()).select_from(OUTBOX).where(OUTBOX.c.id == mail_id)
        return int((await connection.execute(statement)).scalar_one()) == 0


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = 10.0) -> None:
    """Wait (polling) until `check()` holds, for what a worker running elsewhere does."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not so after {within} s")
        await asyncio.sleep(0.05)


def mail_records(caplog: pytest.LogCaptureFixture, level: int = logging.DEBUG) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "contacts_api.mail" and record.levelno >= level]


def message_ids(server: SMTPTestServer) -> list[str]:
    return [str(message["Message-ID"]) for message in server.messages]


# One worker ---------------------------------------------------------------------------------------


async def test_a_queued_mail_is_sent_and_its_row_becomes_sent_without_bodies(
    engine: AsyncEngine, smtp_server: SMTPTestServer, clock: ManualClock
) -> None:
    [mail_id] = await queue(engine, now=clock())
    assert await worker_on(engine, smtp_server, clock).deliver_due() == 1
    [message] = smtp_server.messages
    assert message["Message-ID"] == message_id_for(mail_id, SENDER)
    assert message["To"] == "reader-0@example.com"
    row = await row_of(engine, mail_id)
    assert row["status"] == "sent"
    assert (row["text_body"], row["html_body"]) == (None, None)
    assert row["sent_at"] == clock()
    assert (row["attempts"], row["last_error"], row["claim_id"], row["claimed_until"]) == (1, None, None, None)


async def test_a_sent_mail_is_not_sent_again(
    engine: AsyncEngine, smtp_server: SMTPTestServer, clock: ManualClock
) -> None:
    await queue(engine, now=clock())
    worker = worker_on(engine, smtp_server, clock)
    await worker.deliver_due()
    clock.advance(LEASE.total_seconds() * 2)
    assert await worker.deliver_due() == 0
    assert smtp_server.attempts == 1


async def test_a_451_reply_is_retried_after_the_backoff_and_then_delivered(
    engine: AsyncEngine, smtp_server: SMTPTestServer, clock: ManualClock
) -> None:
    [mail_id] = await queue(engine, now=clock())
    worker = worker_on(engine, smtp_server, clock, retry_max_seconds=1)
    smtp_server.reply = "451 4.3.0 Try again later"
    await worker.deliver_due()
    row = await row_of(engine, mail_id)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["last_error"] == "the SMTP server answered 451 4.3.0 Try again later"
    assert row["text_body"] == "Hello reader 0\n"  # kept for the next attempt
    assert datetime.timedelta(seconds=0.8) <= row["next_attempt_at"] - clock() <= datetime.timedelta(seconds=1)

    smtp_server.reply = "250 OK"
    assert await worker.deliver_due() == 0  # not due yet
    clock.advance(1)
    assert await worker.deliver_due() == 1
    assert message_ids(smtp_server) == [message_id_for(mail_id, SENDER)]
    row = await row_of(engine, mail_id)
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 2, None)
    assert smtp_server.attempts == 2


async def test_the_backoff_doubles_with_each_attempt_up_to_mail_retry_max_seconds(
    engine: AsyncEngine, smtp_server: SMTPTestServer, clock: ManualClock
) -> None:
    [mail_id] = await queue(engine, now=clock())
    worker = worker_on(engine, smtp_server, clock, retry_max_seconds=5)
    smtp_server.reply = "451 4.3.0 Try again later"
    waits = []
    for _ in range(5):
        await worker.deliver_due()
        wait = (await row_of(engine, mail_id))["next_attempt_at"] - clock()
        waits.append(wait.total_seconds())
        clock.advance(wait.total_seconds())
    for wait, full in zip(waits, [1, 2, 4, 5, 5], strict=True):
        assert 0.8 * full <= wait <= full  # less up to a fifth of jitter
    assert smtp_server.attempts == 5


async def test_a_550_reply_gives_the_mail_up_with_the_reply_logged_and_recorded(
    engine: AsyncEngine, smtp_server: SMTPTestServer, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="contacts_api.mail")
    [mail_id] = await queue(engine, now=clock())
    smtp_server.reply = "550 5.7.1 Message rejected as spam"
    await worker_on(engine, smtp_server, clock).deliver_due()
    row = await row_of(engine, mail_id)
    assert row["status"] == "failed"
    assert row["last_error"] == "the SMTP server answered 550 5.7.1 Message rejected as spam"
    assert (row["text_body"], row["html_body"], row["sent_at"]) == (None, None, None)
    [error] = mail_records(caplog, logging.ERROR)
    assert error.getMessage() == f"mail {mail_id} given up: the SMTP server answered 550 5.7.1 Message rejected as spam"


async def test_a_mail_given_up_is_never_tried_again(
    engine: AsyncEngine, smtp_server: SMTPTestServer, clock: ManualClock
) -> None:
    await queue(engine, now=clock())
    worker = worker_on(engine, smtp_server, clock)
    smtp_server.reply = "550 5.7.1 Message rejected as spam"
    await worker.deliver_due()
    smtp_server.reply = "250 OK"
    clock.advance(3600)
    assert await worker.deliver_due() == 0
    assert smtp_server.attempts == 1
    assert smtp_server.messages == []


async def test_a_mail_whose_lifetime_passed_before_delivery_is_given_up_unsent(
    engine: AsyncEngine, smtp_server: SMTPTestServer, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="contacts_api.mail")
    [mail_id] = await queue(engine, now=clock(), lifetime=datetime.timedelta(minutes=30))
    clock.advance(30 * 60)  # e.g. the worker was down all that time
    assert await worker_on(engine, smtp_server, clock).deliver_due() == 1
    assert smtp_server.attempts == 0
    row = await row_of(engine, mail_id)
    assert (row["status"], row["last_error"]) == ("failed", "it expired before it could be sent")
    assert (row["text_body"], row["html_body"]) == (None, None)
    [error] = mail_records(caplog, logging.ERROR)
    assert error.getMessage() == f"mail {mail_id} given up: it expired before it could be sent"


async def test_settled_mails_are_purged_after_seven_days_and_pending_ones_kept(
    engine: AsyncEngine, smtp_server: SMTPTestServer, clock: ManualClock
) -> None:
    days_ago = {days: ManualClock(clock() - datetime.timedelta(days=days)) for days in (8, 6)}
    [old_sent] = await queue(engine, now=days_ago[8]())
    await worker_on(engine, smtp_server, days_ago[8]).deliver_due()
    [recent_sent] = await queue(engine, now=days_ago[6]())
    await worker_on(engine, smtp_server, days_ago[6]).deliver_due()
    [old_pending] = await queue(engine, now=clock() + datetime.timedelta(hours=1), lifetime=datetime.timedelta(days=9))
    async with engine.begin() as connection:  # untouched for 8 days, and not due yet
        await connection.execute(update(OUTBOX).where(OUTBOX.c.id == old_pending).values(updated_at=days_ago[8]()))

    worker = worker_on(engine, smtp_server, clock)
    task = asyncio.create_task(worker.run())  # a round, then the purge
    await eventually(lambda: is_gone(engine, old_sent))
    worker.stop()
    await task
    assert (await row_of(engine, recent_sent))["status"] == "sent"
    assert (await row_of(engine, old_pending))["status"] == "pending"


async def test_stop_during_a_round_finishes_the_mail_in_hand_and_leaves_the_others_unclaimed(
    engine: AsyncEngine, clock: ManualClock
) -> None:
    server = ConfigurableSMTPServer(data_delay=0.3)
    server.start()
    try:
        await queue(engine, now=clock(), count=5)
        worker = worker_on(engine, server, clock)
        task = asyncio.create_task(worker.run())

        async def first_mail_in_hand() -> bool:
            return server.data_started == 1

        await eventually(first_mail_in_hand)
        worker.stop()
        await task
    finally:
        server.stop()
    assert len(server.messages) == 1
    assert await count_rows(engine, status="sent") == 1
    async with engine.connect() as connection:
        rest = (await connection.execute(select(OUTBOX).where(OUTBOX.c.status == "pending"))).mappings().all()
    assert len(rest) == 4
    assert {(row["attempts"], row["claim_id"]) for row in rest} == {(0, None)}  # free for another process


# Claims and leases --------------------------------------------------------------------------------


async def test_the_outcome_from_a_worker_whose_lease_ran_out_is_not_recorded(
    engine: AsyncEngine, clock: ManualClock
) -> None:
    [mail_id] = await queue(engine, now=clock())
    lease = datetime.timedelta(seconds=30)
    async with AsyncSession(engine) as session, session.begin():
        [stale] = await MailOutbox(session=session).claim_due(now=clock(), lease=lease, limit=10)
    clock.advance(31)  # the first holder is slow (or dead): its lease runs out
    async with AsyncSession(engine) as session, session.begin():
        [current] = await MailOutbox(session=session).claim_due(now=clock(), lease=lease, limit=10)
    assert (current.id, current.attempt) == (mail_id, 2)

    async with AsyncSession(engine) as session, session.begin():
        outbox = MailOutbox(session=session)
        assert await outbox.record_sent(stale, now=clock()) is False
        assert await outbox.record_failed(stale, now=clock(), error="550 too late") is False
        assert await outbox.record_retry(stale, now=clock(), next_attempt_at=clock(), error="451 too late") is False
    row = await row_of(engine, mail_id)
    assert (row["status"], row["claim_id"], row["last_error"]) == ("pending", current.claim_id, None)

    async with AsyncSession(engine) as session, session.begin():
        assert await MailOutbox(session=session).record_sent(current, now=clock()) is True
    assert (await row_of(engine, mail_id))["status"] == "sent"


async def test_a_mail_claimed_by_a_worker_that_died_is_sent_once_the_lease_runs_out(
    engine: AsyncEngine, smtp_server: SMTPTestServer, clock: ManualClock
) -> None:
    [mail_id] = await queue(engine, now=clock())
    async with AsyncSession(engine) as session, session.begin():
        await MailOutbox(session=session).claim_due(now=clock(), lease=LEASE, limit=10)  # and then it died
    worker = worker_on(engine, smtp_server, clock)
    assert await worker.deliver_due() == 0  # still held
    clock.advance(LEASE.total_seconds() + 1)
    assert await worker.deliver_due() == 1
    assert message_ids(smtp_server) == [message_id_for(mail_id, SENDER)]
    assert (await row_of(engine, mail_id))["status"] == "sent"


async def test_two_workers_on_a_slow_server_never_both_send_a_mail(database_url: str, engine: AsyncEngine) -> None:
    """Each send takes 0.3 s and a lease lasts 1.5 s: mails claimed in one batch of ten would outlive
    their lease waiting their turn, and the second worker would claim and send them as well. (The
    lease leaves 1.2 s for one exchange's overhead: a loaded CI machine once took over 0.5 s.)"""
    server = ConfigurableSMTPServer(data_delay=0.3)
    server.start()
    second_engine = create_engine(make_settings(database_url))
    try:
        ids = await queue(engine, now=datetime.datetime.now(datetime.UTC), count=10)
        lease = datetime.timedelta(seconds=1.5)
        first = worker_on(engine, server, lease=lease)
        second = worker_on(second_engine, server, lease=lease)

        async def second_comes_later() -> None:
            await asyncio.sleep(1.6)
            while await second.deliver_due():
                pass

        await asyncio.gather(first.deliver_due(), second_comes_later())
    finally:
        server.stop()
        await second_engine.dispose()
    assert sorted(message_ids(server)) == sorted(message_id_for(mail_id, SENDER) for mail_id in ids)
    assert await count_rows(engine, status="sent") == 10


# Whole apps ---------------------------------------------------------------------------------------


async def test_a_mail_queued_while_the_smtp_server_is_down_arrives_once_it_is_up(
    mail_settings: Settings, smtp_server: SMTPTestServer, engine: AsyncEngine
) -> None:
    smtp_server.stop()
    async with AsyncTestClient(app=create_app(mail_settings)):
        [mail_id] = await queue(engine, now=datetime.datetime.now(datetime.UTC))

        async def tried_and_failed() -> bool:
            row = await row_of(engine, mail_id)
            return bool(row["attempts"] >= 1 and row["last_error"])

        await eventually(tried_and_failed)
        assert (await row_of(engine, mail_id))["last_error"].startswith("could not reach the SMTP server")
        smtp_server.start()  # same port
        await eventually(lambda: is_sent(engine, mail_id))
    assert message_ids(smtp_server) == [message_id_for(mail_id, SENDER)]
    assert smtp_server.attempts == 1


async def test_two_app_instances_sharing_the_outbox_send_each_of_30_mails_exactly_once(
    mail_settings: Settings, smtp_server: SMTPTestServer, engine: AsyncEngine
) -> None:
    async with (
        AsyncTestClient(app=create_app(mail_settings)),
        AsyncTestClient(app=create_app(mail_settings)),
    ):
        ids = await queue(engine, now=datetime.datetime.now(datetime.UTC), count=30)

        async def all_sent() -> bool:
            return await count_rows(engine, status="sent") == 30

        await eventually(all_sent)
    sent = message_ids(smtp_server)
    assert len(sent) == 30
    assert len(set(sent)) == 30
    assert set(sent) == {message_id_for(mail_id, SENDER) for mail_id in ids}


async def test_a_mail_queued_by_a_request_is_sent_at_once_not_at_the_next_poll(
    database_url: str, smtp_server: SMTPTestServer, engine: AsyncEngine
) -> None:
    settings = make_settings(database_url, smtp_url=smtp_server.url, mail_poll_seconds=3600)
    async with AsyncTestClient(app=create_app(settings)) as client:
        await asyncio.sleep(0.2)  # the worker has looked once and now waits for the next poll
        signup = await client.post("/api/auth/signup", json={"email": "ada@example.com", "password": PASSWORD})
        assert signup.status_code == 201
        [message] = await asyncio.to_thread(smtp_server.wait_for, 1, 5.0)
    assert message["To"] == "ada@example.com"
    assert "/verify-email?token=" in link_in(message)[0]


async def test_in_development_without_smtp_url_the_mail_and_its_link_are_written_to_the_log(
    database_url: str, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="contacts_api.mail")
    settings = make_settings(database_url, environment="development", mail_poll_seconds=0.2)
    transport = mail_transport(settings)
    assert transport is not None
    assert transport.description == "the log (no SMTP_URL is set)"
    async with AsyncTestClient(app=create_app(settings)) as client:
        signup = await client.post("/api/auth/signup", json={"email": "ada@example.com", "password": PASSWORD})
        assert signup.status_code == 201

        async def logged() -> bool:
            return any("delivered through the log" in record.getMessage() for record in mail_records(caplog))

        await eventually(logged)
    lines = [record.getMessage() for record in mail_records(caplog)]
    assert any(line.startswith("mail <") and " to ada@example.com (not sent: no SMTP_URL)" in line for line in lines)
    links = [line for line in lines if line.startswith("  | ") and "/account/verify-email?token=" in line]
    assert len(links) == 1
    assert links[0].removeprefix("  | ").startswith("http://127.0.0.1:8000/account/verify-email?token=")
    assert await count_rows(engine, status="sent") == 1
