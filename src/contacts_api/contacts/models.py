"""A contact in one user's address book."""

from __future__ import annotations

import datetime
import uuid

from advanced_alchemy.base import UUIDv7AuditBase
from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column


class Contact(UUIDv7AuditBase):
    __tablename__ = "contacts"
    __table_args__ = (
        # Decides duplicates, race-safe: two concurrent creates of one email cannot both commit.
        UniqueConstraint("owner_id", "email", name="uq_contacts_owner_id_email"),
        # The list's sort order within one owner's book: an index range scan, no sort step.
        Index("ix_contacts_owner_id_last_name_first_name_id", "owner_id", "last_name", "first_name", "id"),
    )

    # Named by table, not imported: the contacts domain does not need the User model. Indexed
    # as the leading column of both indexes above, which serve every owner-scoped lookup.
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(320))
    phone: Mapped[str] = mapped_column(String(20))
    birthday: Mapped[datetime.date] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text, default=None)
