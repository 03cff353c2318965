"""Users and their login sessions (one row per refresh-token family)."""

from __future__ import annotations

import datetime
import uuid

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column


class UserModel(UUIDv7AuditBase):
    """The users table (the API's view of a row is `schemas.User`)."""

    __tablename__ = "users"

    # Stored lower-cased and trimmed, so the plain unique index is case-insensitive in effect
    # and decides concurrent signups on every database.
    email: Mapped[str] = mapped_column(String(320), unique=True, index=True)
    full_name: Mapped[str | None] = mapped_column(String(200), default=None)
    # Deferred: loading a user never reads the hash unless a query asks for it by name.
    password_hash: Mapped[str] = mapped_column(String(255), deferred=True)


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
