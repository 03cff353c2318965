"""The SQL of the outbox: queueing a mail in the caller's transaction, claiming due mails, recording
what became of them.

Every write here that more than one worker could attempt at once is a compare-and-set: a claim
takes only rows nobody holds (on PostgreSQL `FOR UPDATE SKIP LOCKED` keeps two workers off the
same row; on SQLite the single UPDATE statement runs under the database's one write lock), and an
outcome is recorded only by the holder of the claim.
"""

from __future__ import annotations

import datetime
import uuid

import msgspec
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy import Table, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from contacts_api.mail.models import MAX_LAST_ERROR_LENGTH, OutboxMailModel, OutboxStatus

OUTBOX: Table = OutboxMailModel.__table__  # type: ignore[assignment]


class Mail(msgspec.Struct, kw_only=True, frozen=True):
    """A composed mail: one recipient, a subject, a plain-text body and optionally an HTML one."""

    recipient: str
    subject: str
    text_body: str
    html_body: str | None = None


class QueuedMail(msgspec.Struct, kw_only=True, frozen=True):
    """A mail as queued: what `queue_mail` needs besides the mail itself."""

    mail: Mail
    # How long the mail is worth sending: past it (its link has expired) it is given up.
    lifetime: datetime.timedelta
    user_id: uuid.UUID | None = None


class ClaimedMail(msgspec.Struct, kw_only=True, frozen=True):
    """A due mail this worker holds the claim on (`attempt` counts from 1)."""

    id: uuid.UUID
    claim_id: uuid.UUID
    mail: Mail
    attempt: int
    expires_at: datetime.datetime


class MailOutbox(SQLAlchemyAsyncRepository[OutboxMailModel]):
    model_type = OutboxMailModel

    async def queue(self, queued: QueuedMail, *, now: datetime.datetime) -> uuid.UUID:
        """Add a mail, due at once, to the caller's transaction: it exists exactly when the rest of
        that transaction (the token it carries, say) is committed."""
        row = OutboxMailModel(
            id=uuid7(),
            user_id=queued.user_id,
            recipient=queued.mail.recipient,
            subject=queued.mail.subject,
            text_body=queued.mail.text_body,
            html_body=queued.mail.html_body,
            next_attempt_at=now,
            expires_at=now + queued.lifetime,
        )
        await self.add(row, auto_refresh=False)
        return row.id

    async def claim_due(self, *, now: datetime.datetime, lease: datetime.timedelta, limit: int) -> list[ClaimedMail]:
        """Claim up to `limit` pending mails that are due and held by nobody (or by a worker whose
        lease ran out), oldest first; each attempt is counted as it is claimed."""
        claim_id = uuid7()
        due = (
            select(OUTBOX.c.id)
            .where(
                OUTBOX.c.status == OutboxStatus.PENDING.value,
                OUTBOX.c.next_attempt_at <= now,
                or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until < now),
            )
            .order_by(OUTBOX.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)  # PostgreSQL only; SQLite has a single writer
        )
        statement = (
            update(OUTBOX)
            .where(OUTBOX.c.id.in_(due.scalar_subquery()))
            .values(claim_id=claim_id, claimed_until=now + lease, attempts=OUTBOX.c.attempts + 1, updated_at=now)
            .returning(
                OUTBOX.c.id,
                OUTBOX.c.recipient,
                OUTBOX.c.subject,
                OUTBOX.c.text_body,
                OUTBOX.c.html_body,
                OUTBOX.c.attempts,
                OUTBOX.c.expires_at,
            )
        )
        rows = (await self.session.execute(statement)).all()
        claimed = [
            ClaimedMail(
                id=row.id,
                claim_id=claim_id,
                mail=Mail(
                    recipient=row.recipient,
                    subject=row.subject,
                    text_body=row.text_body or "",
                    html_body=row.html_body,
                ),
                attempt=row.attempts,
                expires_at=row.expires_at,
            )
            for row in rows
        ]
        return sorted(claimed, key=lambda mail: mail.id)  # uuid7: creation order

    async def record_sent(self, claimed: ClaimedMail, *, now: datetime.datetime) -> bool:
        return await self._record(
            claimed, now=now, status=OutboxStatus.SENT, sent_at=now, last_error=None, text_body=None, html_body=None
        )

    async def record_retry(
        self, claimed: ClaimedMail, *, now: datetime.datetime, next_attempt_at: datetime.datetime, error: str
    ) -> bool:
        return await self._record(claimed, now=now, next_attempt_at=next_attempt_at, last_error=error)

    async def record_failed(self, claimed: ClaimedMail, *, now: datetime.datetime, error: str) -> bool:
        return await self._record(
            claimed, now=now, status=OutboxStatus.FAILED, last_error=error, text_body=None, html_body=None
        )

    async def _record(self, claimed: ClaimedMail, *, now: datetime.datetime, **values: object) -> bool:
        """Record an outcome and release the claim, if this worker still holds it. False: the lease
        ran out and another worker has claimed the mail since (its outcome wins)."""
        if isinstance(values.get("last_error"), str):
            values["last_error"] = str(values["last_error"])[:MAX_LAST_ERROR_LENGTH]
        if isinstance(values.get("status"), OutboxStatus):
            values["status"] = str(values["status"])
        result = await self.session.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == claimed.id, OUTBOX.c.claim_id == claimed.claim_id)
            .values(**values, claim_id=None, claimed_until=None, updated_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def next_due_at(self) -> datetime.datetime | None:
        """When the earliest pending mail nobody holds is due. (A held one is found by the polling
        once its lease runs out.)"""
        statement = select(OUTBOX.c.next_attempt_at).where(
            OUTBOX.c.status == OutboxStatus.PENDING.value, OUTBOX.c.claim_id.is_(None)
        )
        return (await self.session.execute(statement.order_by(OUTBOX.c.next_attempt_at).limit(1))).scalar()

    async def purge(self, *, settled_before: datetime.datetime) -> int:
        """Delete the records of mails sent or given up before the given moment."""
        result = await self.session.execute(
            delete(OUTBOX).where(OUTBOX.c.status != OutboxStatus.PENDING.value, OUTBOX.c.updated_at < settled_before)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


async def queue_mail(session: AsyncSession, queued: QueuedMail, *, now: datetime.datetime) -> uuid.UUID:
    """Queue a mail in `session`'s transaction (see MailOutbox.queue)."""
    return await MailOutbox(session=session).queue(queued, now=now)
