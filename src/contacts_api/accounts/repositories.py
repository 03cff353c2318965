"""The SQL of the accounts domain."""

from __future__ import annotations

import datetime
import uuid

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy import Table, bindparam, delete, or_, select, update
from sqlalchemy.orm import undefer

from contacts_api.accounts.models import LoginSession, User
from contacts_api.accounts.schemas import UserRead

USERS: Table = User.__table__  # type: ignore[assignment]
SESSIONS: Table = LoginSession.__table__  # type: ignore[assignment]
# The columns of UserRead, in its field order: a row maps onto the struct positionally.
USER_READ_COLUMNS = tuple(USERS.c[name] for name in UserRead.__struct_fields__)

# Run on every authenticated request, so built once (building a statement costs more than running
# it), and in Core: no ORM entity to load, the row becomes a UserRead.
_USER_BY_ACTIVE_SESSION = (
    select(*USER_READ_COLUMNS)
    .join(SESSIONS, SESSIONS.c.user_id == USERS.c.id)
    .where(
        USERS.c.id == bindparam("user"),
        SESSIONS.c.id == bindparam("session"),
        SESSIONS.c.revoked_at.is_(None),
        SESSIONS.c.absolute_expires_at > bindparam("now"),
    )
)
_UPDATE_FULL_NAME = update(USERS).where(USERS.c.id == bindparam("user")).returning(*USER_READ_COLUMNS)


class UserRepository(SQLAlchemyAsyncRepository[User]):
    model_type = User

    async def get_with_password_hash(
        self, *, email: str | None = None, user_id: uuid.UUID | None = None
    ) -> User | None:
        statement = select(User).options(undefer(User.password_hash))
        statement = statement.where(User.email == email) if email is not None else statement.where(User.id == user_id)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def get_by_active_session(
        self, *, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime.datetime
    ) -> UserRead | None:
        """The user behind an access token, provided its login session is still alive: one query."""
        parameters = {"user": user_id, "session": session_id, "now": now}
        row = (await self.session.execute(_USER_BY_ACTIVE_SESSION, parameters)).one_or_none()
        return None if row is None else UserRead(*row)

    async def update_full_name(self, user_id: uuid.UUID, full_name: str | None, *, now: datetime.datetime) -> UserRead:
        # Not `update(user)`: it copies every column, and the deferred (unloaded) password hash
        # would be copied as NULL.
        parameters = {"user": user_id, "full_name": full_name, "updated_at": now}
        return UserRead(*(await self.session.execute(_UPDATE_FULL_NAME, parameters)).one())


class LoginSessionRepository(SQLAlchemyAsyncRepository[LoginSession]):
    model_type = LoginSession

    async def rotate(
        self,
        *,
        session_id: uuid.UUID,
        presented_jti: uuid.UUID,
        new_jti: uuid.UUID,
        now: datetime.datetime,
        idle_expires_at: datetime.datetime,
    ) -> bool:
        """Swap the session's current refresh token for a new one, if `presented_jti` is current.

        A single conditional UPDATE, so of two concurrent refreshes with the same token exactly
        one wins; the loser sees a used token.
        """
        result = await self.session.execute(
            update(LoginSession)
            .where(
                LoginSession.id == session_id,
                LoginSession.refresh_jti == presented_jti,
                LoginSession.revoked_at.is_(None),
                LoginSession.idle_expires_at > now,
                LoginSession.absolute_expires_at > now,
            )
            .values(
                refresh_jti=new_jti,
                last_refreshed_at=now,
                idle_expires_at=idle_expires_at,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def revoke(
        self,
        session_id: uuid.UUID,
        *,
        now: datetime.datetime,
        user_id: uuid.UUID | None = None,
    ) -> None:
        statement = update(LoginSession).where(LoginSession.id == session_id, LoginSession.revoked_at.is_(None))
        if user_id is not None:
            statement = statement.where(LoginSession.user_id == user_id)
        await self.session.execute(
            statement.values(revoked_at=now, updated_at=now).execution_options(synchronize_session=False)
        )

    async def revoke_all_for_user(
        self,
        user_id: uuid.UUID,
        *,
        now: datetime.datetime,
        keep: uuid.UUID | None = None,
    ) -> None:
        statement = update(LoginSession).where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
        if keep is not None:
            statement = statement.where(LoginSession.id != keep)
        await self.session.execute(
            statement.values(revoked_at=now, updated_at=now).execution_options(synchronize_session=False)
        )

    async def purge(self, *, ended_before: datetime.datetime) -> int:
        """Delete sessions that ended (expired or revoked) before the given moment."""
        result = await self.session.execute(
            delete(LoginSession)
            .where(
                or_(
                    LoginSession.revoked_at < ended_before,
                    LoginSession.idle_expires_at < ended_before,
                    LoginSession.absolute_expires_at < ended_before,
                )
            )
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
