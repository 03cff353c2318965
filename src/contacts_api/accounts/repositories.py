"""The SQL of the accounts domain: advanced-alchemy repositories of users and login sessions.

Rows come back as `UserModel` / `LoginSessionModel` entities and become the `User` and
`LoginSession` structs in one place each (`to_user`, `to_login_session`), by name. The
hand-written statements below are conditional writes (a compare-and-set decides a race) or the
one query every authenticated request runs; each says why.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy import Table, bindparam, delete, or_, select, update
from sqlalchemy.orm import undefer

from contacts_api.accounts.models import LoginSessionModel, UserModel
from contacts_api.accounts.schemas import LoginSession, User

USERS: Table = UserModel.__table__  # type: ignore[assignment]
SESSIONS: Table = LoginSessionModel.__table__  # type: ignore[assignment]
_SHOWN_USER_FIELDS = tuple(name for name in User.__struct_fields__ if name != "password_hash")
_LOGIN_SESSION_FIELDS = LoginSession.__struct_fields__

# Run on every authenticated request, so built once, and in Core: loading an ORM entity per
# request cost more than this query itself (commit 94b60c9, benchmarks/). Its row becomes a User
# by column name.
_USER_BY_ACTIVE_SESSION = (
    select(*(USERS.c[name] for name in _SHOWN_USER_FIELDS))
    .join(SESSIONS, SESSIONS.c.user_id == USERS.c.id)
    .where(
        USERS.c.id == bindparam("user"),
        SESSIONS.c.id == bindparam("session"),
        SESSIONS.c.revoked_at.is_(None),
        SESSIONS.c.absolute_expires_at > bindparam("now"),
    )
)


def to_user(row: UserModel, *, with_password_hash: bool = False) -> User:
    """The one mapping from a users row to the entity; the hash only when asked for (it is
    deferred, and reading an unloaded one would cost a query)."""
    fields: dict[str, Any] = {name: getattr(row, name) for name in _SHOWN_USER_FIELDS}
    if with_password_hash:
        fields["password_hash"] = row.password_hash
    return User(**fields)


def to_login_session(row: LoginSessionModel) -> LoginSession:
    return LoginSession(**{name: getattr(row, name) for name in _LOGIN_SESSION_FIELDS})


class UserRepository(SQLAlchemyAsyncRepository[UserModel]):
    model_type = UserModel

    async def add_user(self, *, email: str, full_name: str | None, password_hash: str) -> User:
        """Raises advanced-alchemy's IntegrityError when the email is taken (the unique index
        decides concurrent signups)."""
        row = await self.add(UserModel(email=email, full_name=full_name, password_hash=password_hash))
        return to_user(row)

    async def get_with_password_hash(
        self, *, email: str | None = None, user_id: uuid.UUID | None = None
    ) -> User | None:
        statement = select(UserModel).options(undefer(UserModel.password_hash))
        key = UserModel.email == email if email is not None else UserModel.id == user_id
        row = await self.get_one_or_none(key, statement=statement)  # type: ignore[arg-type]  # see ContactRepository
        return None if row is None else to_user(row, with_password_hash=True)

    async def get_by_active_session(
        self, *, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime.datetime
    ) -> User | None:
        """The user behind an access token, provided its login session is still alive: one query."""
        parameters = {"user": user_id, "session": session_id, "now": now}
        row = (await self.session.execute(_USER_BY_ACTIVE_SESSION, parameters)).one_or_none()
        return None if row is None else User(**row._mapping)

    async def update_user(self, user_id: uuid.UUID, changes: dict[str, Any], *, now: datetime.datetime) -> User:
        """One `UPDATE … RETURNING`. Not the repository's `update()`: it copies every column
        of the entity it is given, and the deferred (unloaded) password hash would be copied as
        NULL (stack-notes.md)."""
        statement = (
            update(UserModel)
            .where(UserModel.id == user_id)
            .values(**changes, updated_at=now)
            .returning(UserModel)
            .execution_options(synchronize_session=False)
        )
        return to_user((await self.session.execute(statement)).scalar_one())

    async def set_password_hash(self, user_id: uuid.UUID, password_hash: str, *, now: datetime.datetime) -> None:
        statement = (
            update(UserModel)
            .where(UserModel.id == user_id)
            .values(password_hash=password_hash, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(statement)

    async def delete_user(self, user_id: uuid.UUID) -> None:
        await self.delete_where(UserModel.id == user_id)


class LoginSessionRepository(SQLAlchemyAsyncRepository[LoginSessionModel]):
    model_type = LoginSessionModel

    async def add_session(self, session: LoginSession) -> LoginSession:
        row = LoginSessionModel(**{name: getattr(session, name) for name in _LOGIN_SESSION_FIELDS})
        return to_login_session(await self.add(row, auto_refresh=False))

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

        A single conditional UPDATE (a compare-and-set, not the repository's read-then-write
        `update()`), so of two concurrent refreshes with the same token exactly one wins; the
        loser sees a used token.
        """
        result = await self.session.execute(
            update(LoginSessionModel)
            .where(
                LoginSessionModel.id == session_id,
                LoginSessionModel.refresh_jti == presented_jti,
                LoginSessionModel.revoked_at.is_(None),
                LoginSessionModel.idle_expires_at > now,
                LoginSessionModel.absolute_expires_at > now,
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
        """End one session (of `user_id`, when given). An UPDATE of the rows still alive: the
        repository's `update()` would read and rewrite the row, and revoke an ended one again."""
        statement = update(LoginSessionModel).where(
            LoginSessionModel.id == session_id, LoginSessionModel.revoked_at.is_(None)
        )
        if user_id is not None:
            statement = statement.where(LoginSessionModel.user_id == user_id)
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
        """End every live session of a user but `keep`: one UPDATE, however many there are."""
        statement = update(LoginSessionModel).where(
            LoginSessionModel.user_id == user_id, LoginSessionModel.revoked_at.is_(None)
        )
        if keep is not None:
            statement = statement.where(LoginSessionModel.id != keep)
        await self.session.execute(
            statement.values(revoked_at=now, updated_at=now).execution_options(synchronize_session=False)
        )

    async def purge(self, *, ended_before: datetime.datetime) -> int:
        """Delete sessions that ended (expired or revoked) before the given moment.

        A bulk DELETE rather than `delete_where()`, which loads every deleted row as an entity
        (a purge after months can be millions) only to count them."""
        result = await self.session.execute(
            delete(LoginSessionModel)
            .where(
                or_(
                    LoginSessionModel.revoked_at < ended_before,
                    LoginSessionModel.idle_expires_at < ended_before,
                    LoginSessionModel.absolute_expires_at < ended_before,
                )
            )
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
