"""Background delivery of the outbox, in every serving process.

`OutboxWorker.run` claims due mails one at a time, hands each to the transport and records the
outcome, each step in its own short transaction (no transaction stays open while an SMTP server is
slow). A mail
the server did not take for a transient reason is tried again with exponential backoff (1 s,
2 s, 4 s, … capped at MAIL_RETRY_MAX_SECONDS, with jitter so that many processes do not retry in
step); one it refused permanently, or one that expired before it could be sent, is given up with
its reason logged. A mail queued in this process wakes the worker as soon as its transaction
commits; mails queued by other processes are found by polling every MAIL_POLL_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import random
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from contacts_api.clock import Clock, utc_now
from contacts_api.config import Settings
from contacts_api.db import create_engine
from contacts_api.mail.outbox import ClaimedMail, MailOutbox, QueuedMail
from contacts_api.mail.transport import DeliveryError, LogTransport, MailTransport, SMTPTransport, message_id_for

logger = logging.getLogger("contacts_api.mail")

CLAIM_BATCH = 10  # mails per round, each claimed just before it is sent; a full round looks again at once
SETTLED_MAILS_KEPT = datetime.timedelta(days=7)  # the record of a sent or failed mail, bodies erased
PURGE_EVERY = datetime.timedelta(hours=1)


def retry_delay(attempt: int, *, max_seconds: float) -> float:
    """Seconds to wait after failed attempt number `attempt` (1, 2, …): 2^(attempt-1), capped, then
    cut by up to a fifth at random (jitter)."""
    base = min(float(max_seconds), 2.0 ** min(attempt - 1, 30))
    return base * random.uniform(0.8, 1.0)  # noqa: S311 (jitter, not a secret)


class OutboxWorker:
    def __init__(
        self,
        engine: AsyncEngine,
        transport: MailTransport,
        *,
        sender: str,
        poll_seconds: float,
        retry_max_seconds: float,
        lease: datetime.timedelta,
        clock: Clock = utc_now,
    ) -> None:
        self.transport = transport
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._sender = sender
        self._poll_seconds = poll_seconds
        self._retry_max_seconds = retry_max_seconds
        self._lease = lease
        self._clock = clock
        self._wake = asyncio.Event()
        self._stopping = False
        self._next_purge: datetime.datetime | None = None

    def wake(self) -> None:
        """A mail was queued and committed: look now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until `stop()`; never raises (a database or SMTP outage is logged and waited out)."""
        while not self._stopping:
            try:
                handled = await self.deliver_due()
                await self._purge_settled()
                wait = 0.0 if handled == CLAIM_BATCH else await self._seconds_until_due()
            except (SQLAlchemyError, OSError) as exc:
                logger.warning("mail delivery paused: the database is unreachable (%s)", type(exc).__name__)
                wait = self._poll_seconds
            if wait > 0 and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)
            self._wake.clear()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def deliver_due(self) -> int:
        """One round: up to CLAIM_BATCH times, claim one due mail, send it, record its outcome.
        Returns how many were handled.

        One at a time, because the lease is sized for one SMTP exchange: a mail claimed in a batch
        would wait behind the others, its lease could run out before its turn, and another worker
        would claim and send it too. And `stop()` ends the round after the mail in hand."""
        handled = 0
        while handled < CLAIM_BATCH and not self._stopping:
            async with self._sessions.begin() as session:
                claimed = await MailOutbox(session=session).claim_due(now=self._clock(), lease=self._lease, limit=1)
            if not claimed:
                break
            await self._deliver(claimed[0])
            handled += 1
        return handled

    async def _deliver(self, claimed: ClaimedMail) -> None:
        if claimed.expires_at <= self._clock():
            await self._record(claimed, failed="it expired before it could be sent")
            return
        try:
            await self.transport.send(claimed.mail, message_id=message_id_for(claimed.id, self._sender))
        except DeliveryError as exc:
            if exc.permanent:
                await self._record(claimed, failed=str(exc))
                return
            delay = retry_delay(claimed.attempt, max_seconds=self._retry_max_seconds)
            logger.warning(
                "mail %s not delivered (attempt %d), next try in %.0f s: %s", claimed.id, claimed.attempt, delay, exc
            )
            next_attempt_at = self._clock() + datetime.timedelta(seconds=delay)
            await self._record(claimed, retry_at=next_attempt_at, error=str(exc))
            return
        await self._record(claimed)
        logger.info("mail %s delivered through %s", claimed.id, self.transport.description)

    async def _record(
        self,
        claimed: ClaimedMail,
        *,
        failed: str | None = None,
        retry_at: datetime.datetime | None = None,
        error: str = "",
    ) -> None:
        now = self._clock()
        async with self._sessions.begin() as session:
            outbox = MailOutbox(session=session)
            if failed is not None:
                recorded = await outbox.record_failed(claimed, now=now, error=failed)
                logger.error("mail %s given up: %s", claimed.id, failed)
            elif retry_at is not None:
                recorded = await outbox.record_retry(claimed, now=now, next_attempt_at=retry_at, error=error)
            else:
                recorded = await outbox.record_sent(claimed, now=now)
        if not recorded:
            logger.warning("mail %s: the claim ran out before its outcome was recorded", claimed.id)

    async def _seconds_until_due(self) -> float:
        async with self._sessions() as session:
            due = await MailOutbox(session=session).next_due_at()
        if due is None:
            return self._poll_seconds
        return max(0.0, min(self._poll_seconds, (due - self._clock()).total_seconds()))

    async def _purge_settled(self) -> None:
        now = self._clock()
        if self._next_purge is not None and now < self._next_purge:
            return
        self._next_purge = now + PURGE_EVERY
        async with self._sessions.begin() as session:
            await MailOutbox(session=session).purge(settled_before=now - SETTLED_MAILS_KEPT)


class Mailer:
    """What a domain uses to send mail: queue it in the request's transaction. `available` is false
    in production without SMTP_URL, where routes that would send mail answer 503 instead.

    The outbox runs on the real time (`clock` is for tests of the outbox itself), whatever clock
    the domain that queues a mail uses for its own rules."""

    def __init__(self, worker: OutboxWorker | None, *, clock: Clock = utc_now) -> None:
        self.worker = worker
        self._clock = clock

    @property
    def available(self) -> bool:
        return self.worker is not None

    async def queue(self, session: AsyncSession, queued: QueuedMail) -> None:
        await MailOutbox(session=session).queue(queued, now=self._clock())
        if self.worker is not None:
            worker = self.worker
            # Woken once the mail is committed: before that, the worker could not see it.
            event.listen(session.sync_session, "after_commit", lambda _session: worker.wake(), once=True)

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Any) -> AsyncIterator[None]:
        """Runs the worker for as long as the app serves. On the way out it finishes the mail in
        hand (within the SMTP timeout), then stops."""
        if self.worker is None:
            yield
            return
        task = asyncio.create_task(self.worker.run(), name="mail-outbox-worker")
        try:
            yield
        finally:
            self.worker.stop()
            try:
                await asyncio.wait_for(task, timeout=30)
            except TimeoutError:
                logger.warning("mail delivery did not stop in time; a mail in flight will be retried")
            await self.worker.engine.dispose()


def mail_transport(settings: Settings) -> MailTransport | None:
    """SMTP when SMTP_URL is set; else the log, except in production (no transport: no mail)."""
    if (server := settings.smtp_server) is not None:
        return SMTPTransport(server, sender=settings.mail_from)
    if settings.environment == "production":
        return None
    return LogTransport()


def build_mailer(settings: Settings, *, clock: Clock = utc_now) -> Mailer:
    """The app's mailer, with a worker on an engine of its own: delivery never waits for, nor takes,
    a connection a request needs (two suffice for a claim and an outcome)."""
    transport = mail_transport(settings)
    if transport is None:
        logger.warning("SMTP_URL is not set: mails are queued but not sent, and the routes that send mail answer 503")
        return Mailer(None, clock=clock)
    worker = OutboxWorker(
        create_engine(msgspec.structs.replace(settings, db_pool_size=2, db_max_overflow=0)),
        transport,
        sender=settings.mail_from,
        poll_seconds=settings.mail_poll_seconds,
        retry_max_seconds=settings.mail_retry_max_seconds,
        # Long enough for the slowest exchange the SMTP timeout allows (connect, send, quit).
        lease=datetime.timedelta(seconds=3 * settings.smtp_timeout_seconds + 30),
        clock=clock,
    )
    return Mailer(worker, clock=clock)
