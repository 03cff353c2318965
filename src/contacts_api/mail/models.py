"""The outbox table: every mail the service has promised to send, until it is sent or given up."""

from __future__ import annotations

import datetime
import enum
import uuid

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

MAX_LAST_ERROR_LENGTH = 500


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its next attempt (or being attempted, while claimed)
    SENT = "sent"  # the SMTP server accepted it
    FAILED = "failed"  # given up: a permanent refusal, or it expired before it could be sent


class OutboxMailModel(UUIDv7AuditBase):
    """One mail of the transactional outbox.

    Bodies are kept only until the mail is sent or given up (they may carry a one-time link, whose
    token the database otherwise holds only as a hash); the row itself stays for the record.
    A worker claims a row by writing its own `claim_id` and a lease (`claimed_until`); only the
    holder of the claim can record the outcome, and a lease that runs out (a worker that died
    mid-send) frees the row for another attempt.
    """

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_due", "status", "next_attempt_at"),)

    # The account the mail is about, when there is one: its pending mails go with it.
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None, index=True
    )
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str | None] = mapped_column(Text, default=None)
    html_body: Mapped[str | None] = mapped_column(Text, default=None)
    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
    # Past this moment the mail is useless (its link has expired): it is given up, not sent late.
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
    claim_id: Mapped[uuid.UUID | None] = mapped_column(Uuid(), default=None)
    claimed_until: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    sent_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    last_error: Mapped[str | None] = mapped_column(String(MAX_LAST_ERROR_LENGTH), default=None)
