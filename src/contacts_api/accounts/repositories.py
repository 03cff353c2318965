"""The SQL of the accounts domain."""

from __future__ import annotations

import datetime
import uuid

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.orm import undefer

from contacts_api.accounts.models import LoginSession, User

# Run on every authenticated request, so built once: building a statement costs more than running it.
_USER_BY_ACTIVE_SESSION = (
    select(User)
    .join(LoginSession, LoginSession.user_id == User.id)
    .where(
        User.id == bindparam("user"),
        LoginSession.id == bindparam("session"),
        LoginSession.revoked_at.is_(None),
        LoginSession.absolute_expires_at > bindparam("now"),
    )
)


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
    ) -> User | None:
        """The user behind an access token, provided its login session is still alive: one query."""
        parameters = {"user": user_id, "session": session_id, "now": now}
        return (await self.session.execute(_USER_BY_ACTIVE_SESSION, parameters)).scalar_one_or_none()


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
