"""Users and their login sessions (one row per refresh-token family)."""

from __future__ import annotations

import datetime
import uuid

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Uuid, false
from sqlalchemy.orm import Mapped, mapped_column

USER_AGENT_LENGTH = 500  # longer User-Agent headers are cut: they only help a person recognise a device


class UserModel(UUIDv7AuditBase):
    """The users table (the API's view of a row is `schemas.User`)."""

    __tablename__ = "users"

    # Stored lower-cased and trimmed, so the plain unique index is case-insensitive in effect
    # and decides concurrent signups on every database.
    email: Mapped[str] = mapped_column(String(320), unique=True, index=True)
    full_name: Mapped[str | None] = mapped_column(String(200), default=None)
    # Deferred: loading a user never reads the hash unless a query asks for it by name.
    password_hash: Mapped[str] = mapped_column(String(255), deferred=True)
    # Whether the owner of `email` has shown they receive mail there (a link from a mail was used).
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The per-account mail allowance (RATE_LIMIT_MAILS per hour): the hour's start and the mails
    # queued in it, changed by one conditional UPDATE (UserRepository.take_mail_allowance).
    mail_window_started_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    mails_in_window: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class LoginSessionModel(UUIDv7AuditBase):
    """The sessions table: a login and the refresh tokens rotated from it.

    Only the newest refresh token's `jti` is kept: any other validly signed refresh token of
    this session has been used already, and presenting it revokes the session (RFC 9700 §4.14).
    """

    __tablename__ = "sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    refresh_jti: Mapped[uuid.UUID] = mapped_column(Uuid())
    last_refreshed_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
    idle_expires_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
    absolute_expires_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    revoked_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
    # Coarse: refreshed at most once a minute by the requests of this session (middleware.py).
    last_used_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True))
    user_agent: Mapped[str | None] = mapped_column(String(USER_AGENT_LENGTH), default=None)


class AccountTokenModel(UUIDv7AuditBase):
    """A one-time token mailed to a user: to verify their address, reset their password or confirm
    a new address. Only its SHA-256 is stored; `email` is the address it was mailed to (for an
    email change, the new one), and the token is good only while that is still what it proves.
    """

    __tablename__ = "account_tokens"
    __table_args__ = (Index("ix_account_tokens_user_id_purpose", "user_id", "purpose"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    used_at: Mapped[datetime.datetime | None] = mapped_column(DateTimeUTC(timezone=True), default=None)
