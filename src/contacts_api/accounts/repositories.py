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
from sqlalchemy import Table, and_, bindparam, case, delete, or_, select, update
from sqlalchemy.orm import undefer

from contacts_api.accounts.mailed_tokens import TokenPurpose
from contacts_api.accounts.models import AccountTokenModel, LoginSessionModel, UserModel
from contacts_api.accounts.schemas import ActiveSession, LoginSession, User

USERS: Table = UserModel.__table__  # type: ignore[assignment]
SESSIONS: Table = LoginSessionModel.__table__  # type: ignore[assignment]
TOKENS: Table = AccountTokenModel.__table__  # type: ignore[assignment]
_SHOWN_USER_FIELDS = tuple(name for name in User.__struct_fields__ if name != "password_hash")
_LOGIN_SESSION_FIELDS = LoginSession.__struct_fields__
SESSION_USE_RECORDED_EVERY = datetime.timedelta(minutes=1)  # how coarse `last_used_at` is

# Run on every authenticated request, so built once, and in Core: loading an ORM entity per
# request cost more than this query itself (commit 94b60c9, benchmarks/). Its row becomes a User
# by column name.
_USER_BY_ACTIVE_SESSION = (
    select(*(USERS.c[name] for name in _SHOWN_USER_FIELDS), SESSIONS.c.last_used_at.label("session_last_used_at"))
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
    ) -> tuple[User, datetime.datetime] | None:
        """The user behind an access token, provided its login session is still alive, and when
        that session was last used: one query."""
        parameters = {"user": user_id, "session": session_id, "now": now}
        row = (await self.session.execute(_USER_BY_ACTIVE_SESSION, parameters)).one_or_none()
        if row is None:
            return None
        fields = dict(row._mapping)
        last_used_at = fields.pop("session_last_used_at")
        return User(**fields), last_used_at

    async def find_by_email(self, email: str) -> User | None:
        row = await self.get_one_or_none(UserModel.email == email)
        return None if row is None else to_user(row)

    async def take_mail_allowance(
        self, user_id: uuid.UUID, *, now: datetime.datetime, limit: int, window: datetime.timedelta
    ) -> datetime.datetime | None:
        """Count one mail against the user's allowance of `limit` per `window`, if any is left.

        One conditional UPDATE (a compare-and-set: concurrent requests cannot both take the last
        mail): a window older than `window` starts afresh with this mail. Returns None when the
        mail was counted, else when the current window ends (for Retry-After).
        """
        window_over = or_(USERS.c.mail_window_started_at.is_(None), USERS.c.mail_window_started_at <= now - window)
        result = await self.session.execute(
            update(USERS)
            .where(USERS.c.id == user_id, or_(window_over, USERS.c.mails_in_window < limit))
            .values(
                mail_window_started_at=case((window_over, now), else_=USERS.c.mail_window_started_at),
                mails_in_window=case((window_over, 1), else_=USERS.c.mails_in_window + 1),
            )
        )
        if result.rowcount:  # type: ignore[attr-defined]
            return None
        started = (
            await self.session.execute(select(USERS.c.mail_window_started_at).where(USERS.c.id == user_id))
        ).scalar()
        return (started or now) + window

    async def mark_email_verified(self, user_id: uuid.UUID, *, email: str, now: datetime.datetime) -> User | None:
        """Verify the user's address, if it is still `email` (the one the link was mailed to)."""
        statement = (
            update(UserModel)
            .where(UserModel.id == user_id, UserModel.email == email)
            .values(email_verified=True, updated_at=now)
            .returning(UserModel)
            .execution_options(synchronize_session=False)
        )
        row = (await self.session.execute(statement)).scalar_one_or_none()
        return None if row is None else to_user(row)

    async def change_email(self, user_id: uuid.UUID, *, new_email: str, now: datetime.datetime) -> User:
        """Raises advanced-alchemy's IntegrityError when the address is taken (the unique index
        decides: a check before the UPDATE could not)."""
        return await self.update_user(user_id, {"email": new_email, "email_verified": True}, now=now)

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

    async def reset_password_hash(
        self, user_id: uuid.UUID, *, email: str, password_hash: str, now: datetime.datetime
    ) -> bool:
        """Set a new hash and mark the address verified, if the address is still `email`."""
        result = await self.session.execute(
            update(USERS)
            .where(USERS.c.id == user_id, USERS.c.email == email)
            .values(password_hash=password_hash, email_verified=True, updated_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

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
    ) -> bool:
        """End one session (of `user_id`, when given). An UPDATE of the rows still alive: the
        repository's `update()` would read and rewrite the row, and revoke an ended one again."""
        statement = update(LoginSessionModel).where(
            LoginSessionModel.id == session_id, LoginSessionModel.revoked_at.is_(None)
        )
        if user_id is not None:
            statement = statement.where(LoginSessionModel.user_id == user_id)
        result = await self.session.execute(
            statement.values(revoked_at=now, updated_at=now).execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def belongs_to(self, session_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        """Whether the session, live or ended, is one of the user's."""
        return bool(await self.exists(LoginSessionModel.id == session_id, LoginSessionModel.user_id == user_id))

    async def record_use(self, session_id: uuid.UUID, *, now: datetime.datetime) -> None:
        """Move `last_used_at` to now, unless it moved less than a minute ago (another request of
        the session may have just done it: the condition makes the second write a no-op)."""
        await self.session.execute(
            update(SESSIONS)
            .where(SESSIONS.c.id == session_id, SESSIONS.c.last_used_at <= now - SESSION_USE_RECORDED_EVERY)
            .values(last_used_at=now)
        )

    async def list_live(self, user_id: uuid.UUID, *, now: datetime.datetime, current: uuid.UUID) -> list[ActiveSession]:
        """The user's sessions that can still be used, newest first."""
        statement = (
            select(SESSIONS.c.id, SESSIONS.c.created_at, SESSIONS.c.last_used_at, SESSIONS.c.user_agent)
            .where(
                SESSIONS.c.user_id == user_id,
                SESSIONS.c.revoked_at.is_(None),
                SESSIONS.c.idle_expires_at > now,
                SESSIONS.c.absolute_expires_at > now,
            )
            .order_by(SESSIONS.c.created_at.desc(), SESSIONS.c.id.desc())
        )
        rows = (await self.session.execute(statement)).all()
        return [ActiveSession(**row._mapping, current=row.id == current) for row in rows]

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


class AccountTokenRepository(SQLAlchemyAsyncRepository[AccountTokenModel]):
    """Mailed one-time tokens, by hash. Using one is a compare-and-set: of two concurrent uses of
    the same token exactly one finds it unused."""

    model_type = AccountTokenModel

    async def add_token(
        self,
        *,
        user_id: uuid.UUID,
        purpose: TokenPurpose,
        token_hash: str,
        email: str,
        expires_at: datetime.datetime,
    ) -> None:
        row = AccountTokenModel(
            user_id=user_id, purpose=purpose.value, token_hash=token_hash, email=email, expires_at=expires_at
        )
        await self.add(row, auto_refresh=False)

    async def use(
        self, token_hash: str, purpose: TokenPurpose, *, now: datetime.datetime
    ) -> tuple[uuid.UUID, str] | None:
        """Mark the token used if it is of this purpose, unused and unexpired; returns its user and
        the address it was mailed to, or None."""
        statement = (
            update(TOKENS)
            .where(
                TOKENS.c.token_hash == token_hash,
                TOKENS.c.purpose == purpose.value,
                TOKENS.c.used_at.is_(None),
                TOKENS.c.expires_at > now,
            )
            .values(used_at=now, updated_at=now)
            .returning(TOKENS.c.user_id, TOKENS.c.email)
        )
        row = (await self.session.execute(statement)).one_or_none()
        return None if row is None else (row.user_id, row.email)

    async def void_unused(self, user_id: uuid.UUID, purpose: TokenPurpose, *, now: datetime.datetime) -> None:
        """Use up every other token of the user for this purpose (one reset link used voids the rest)."""
        await self.session.execute(
            update(TOKENS)
            .where(and_(TOKENS.c.user_id == user_id, TOKENS.c.purpose == purpose.value, TOKENS.c.used_at.is_(None)))
            .values(used_at=now, updated_at=now)
        )
