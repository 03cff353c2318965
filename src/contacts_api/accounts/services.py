"""The rules of accounts: signing up, logging in, rotating refresh tokens, ending sessions."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

from advanced_alchemy.exceptions import RepositoryError
from litestar.dto import DTOData
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.stores.base import Store
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from contacts_api.accounts.mails import AccountMails
from contacts_api.accounts.models import USER_AGENT_LENGTH
from contacts_api.accounts.passwords import PasswordHasher, PasswordMatch
from contacts_api.accounts.recovery import AccountRecovery
from contacts_api.accounts.repositories import LoginSessionRepository, UserRepository
from contacts_api.accounts.schemas import ActiveSession, LoginSession, Signup, TokenPair, User
from contacts_api.accounts.throttling import LoginFailureThrottle
from contacts_api.accounts.tokens import InvalidTokenError, TokenCodec, TokenUse
from contacts_api.clock import Clock
from contacts_api.config import Settings
from contacts_api.errors import ConflictError, InvalidCredentials, is_unique_violation
from contacts_api.mail.worker import Mailer
from contacts_api.text import nfc
from contacts_api.validation import check_fields

ACCOUNTS_STATE_KEY = "accounts"  # where the app keeps its AccountsConfig
WRONG_CREDENTIALS = "Incorrect email or password"
INVALID_REFRESH_TOKEN = "The refresh token is invalid, expired or already used"  # noqa: S105
UNVERIFIED_EMAIL = (
    "Verify your email address before logging in: open the link in the mail sent at signup, "
    "or reset your password, which sends a new link to the same address"
)


@dataclass(frozen=True, slots=True)
class AccountsConfig:
    """What the accounts domain needs beyond a database session; built once per app."""

    passwords: PasswordHasher
    tokens: TokenCodec
    clock: Clock  # sessions and JWTs: the real time, which PyJWT checks `exp` and `iat` against
    token_clock: Clock  # mailed tokens' expiry and the mail allowance: injectable (tests move it)
    session_max_age: datetime.timedelta
    login_throttle: LoginFailureThrottle
    mailer: Mailer
    mails: AccountMails
    require_verified_email: bool
    mails_per_hour: int

    @classmethod
    def from_settings(
        cls, settings: Settings, clock: Clock, rate_limit_store: Store, mailer: Mailer, token_clock: Clock | None = None
    ) -> AccountsConfig:
        return cls(
            passwords=PasswordHasher(settings),
            tokens=TokenCodec(settings),
            clock=clock,
            token_clock=token_clock or clock,
            session_max_age=datetime.timedelta(seconds=settings.session_max_age_seconds),
            login_throttle=LoginFailureThrottle(rate_limit_store, settings.rate_limit_login_failures),
            mailer=mailer,
            mails=AccountMails(link_base=settings.account_link_base),
            require_verified_email=settings.require_verified_email,
            mails_per_hour=settings.rate_limit_mails,
        )

    def recovery(self, db_session: AsyncSession) -> AccountRecovery:
        return AccountRecovery(
            db_session,
            mailer=self.mailer,
            mails=self.mails,
            passwords=self.passwords,
            clock=self.token_clock,
            mails_per_hour=self.mails_per_hour,
        )


class AccountService:
    """One request's view of accounts, over advanced-alchemy repositories of users and sessions."""

    def __init__(self, db_session: AsyncSession, config: AccountsConfig) -> None:
        self.db_session = db_session
        self.users = UserRepository(session=db_session)
        self.sessions = LoginSessionRepository(session=db_session)
        self.passwords = config.passwords
        self.tokens = config.tokens
        self.clock = config.clock
        self.session_max_age = config.session_max_age
        self.login_throttle = config.login_throttle
        self.require_verified_email = config.require_verified_email
        self.recovery = config.recovery(db_session)

    async def sign_up(self, data: Signup) -> User:
        password_hash = await self.passwords.hash(data.password)
        try:
            # The unique index on email decides races: of concurrent signups one insert wins.
            user = await self.users.add_user(email=data.email, full_name=data.full_name, password_hash=password_hash)
        except RepositoryError as exc:
            if is_unique_violation(exc):
                raise ConflictError(detail="An account with this email already exists") from None
            raise
        # In the signup's transaction: the account and its verification mail exist together.
        await self.recovery.send_verification(user, quietly=True)
        return user

    async def log_in(self, email: str, password: str, *, user_agent: str | None = None) -> TokenPair:
        """A token pair for the right password: 401 otherwise (one message for an unknown email
        and a wrong password), 403 for an unverified address when REQUIRE_VERIFIED_EMAIL is on."""
        async with self.login_throttle.attempt(email) as attempt:
            user = await self.users.get_with_password_hash(email=email)
            await self._release_connection()
            if user is None:
                await self.passwords.verify_against_nothing(password)
                raise InvalidCredentials(WRONG_CREDENTIALS)
            password_match = await self.passwords.verify(user.loaded_password_hash(), password)
            if password_match is PasswordMatch.MISMATCH:
                raise InvalidCredentials(WRONG_CREDENTIALS)
            attempt.succeeded()
        if self.require_verified_email and not user.email_verified:
            raise PermissionDeniedException(detail=UNVERIFIED_EMAIL)
        # A hash made with older parameters, or from the password as typed before passwords were
        # normalized, is replaced by one of the normalized form while the password is at hand.
        if password_match is PasswordMatch.MATCH_AS_TYPED or self.passwords.needs_rehash(user.loaded_password_hash()):
            await self.users.set_password_hash(user.id, await self.passwords.hash(password), now=self.clock())
        return await self._start_session(user.id, user_agent=user_agent)

    async def refresh(self, refresh_token: str) -> TokenPair:
        try:
            claims = self.tokens.decode(refresh_token, TokenUse.REFRESH)
        except InvalidTokenError:
            raise InvalidCredentials(INVALID_REFRESH_TOKEN, token_given=True) from None
        now = self.clock()
        new_refresh = self.tokens.issue(TokenUse.REFRESH, user_id=claims.user_id, session_id=claims.session_id, now=now)
        rotated = await self.sessions.rotate(
            session_id=claims.session_id,
            presented_jti=claims.token_id,
            new_jti=new_refresh.token_id,
            now=now,
            idle_expires_at=new_refresh.expires_at,
        )
        if not rotated:
            # Either the session ended, or this token was already exchanged: a second use of a
            # refresh token means it leaked, so the whole session goes (RFC 9700 §4.14). The
            # revocation is committed here, on its own: the 401 below rolls back the request.
            await self.sessions.revoke(claims.session_id, now=now)
            await self.db_session.commit()
            raise InvalidCredentials(INVALID_REFRESH_TOKEN, token_given=True)
        await self.sessions.record_use(claims.session_id, now=now)
        access = self.tokens.issue(TokenUse.ACCESS, user_id=claims.user_id, session_id=claims.session_id, now=now)
        return self._token_pair(access.token, new_refresh.token)

    async def log_out(self, user: User, *, session_id: uuid.UUID, refresh_token: str | None = None) -> None:
        """End this session, and the one of `refresh_token` too if it is the same user's."""
        now = self.clock()
        await self.sessions.revoke(session_id, now=now, user_id=user.id)
        if refresh_token:
            try:
                other = self.tokens.decode(refresh_token, TokenUse.REFRESH).session_id
            except InvalidTokenError:
                return  # nothing more to end: a bad token opens no session
            await self.sessions.revoke(other, now=now, user_id=user.id)

    async def update_profile(self, user: User, data: DTOData[User]) -> User:
        """Change what the profile DTO lets a user change; a blank name clears it."""
        changes: dict[str, Any] = data.as_builtins()
        if not changes:
            return user  # an empty PATCH changes nothing
        if isinstance(changes.get("full_name"), str):
            changes["full_name"] = nfc(changes["full_name"]).strip() or None
        check_fields(User, changes)  # after NFC, which can lengthen text
        return await self.users.update_user(user.id, changes, now=self.clock())

    async def change_password(self, user: User, *, current_session_id: uuid.UUID, current: str, new: str) -> None:
        """Set a new password (already checked against the policy) and end every other session."""
        await self._check_password(user, current)
        await self.users.set_password_hash(user.id, await self.passwords.hash(new), now=self.clock())
        await self.sessions.revoke_all_for_user(user.id, now=self.clock(), keep=current_session_id)
        # A pending email change may be an intruder's (its notice says: change your password).
        await self.recovery.void_email_changes(user.id)

    async def delete_account(self, user: User, password: str) -> None:
        await self._check_password(user, password)
        # Sessions and contacts go with the user through ON DELETE CASCADE, in this transaction.
        await self.users.delete_user(user.id)

    async def request_email_change(self, user: User, *, new_email: str, password: str) -> None:
        await self._check_password(user, password)
        await self.recovery.request_email_change(user, new_email)

    async def _check_password(self, user: User, password: str) -> User:
        """Re-check the password of a signed-in user, under the same failure limit as login: a
        stolen access token must not become an unlimited password oracle."""
        async with self.login_throttle.attempt(user.email) as attempt:
            stored = await self.users.get_with_password_hash(user_id=user.id)
            await self._release_connection()
            # A hash from before passwords were normalized matches too (MATCH_AS_TYPED); it needs
            # no replacing here: the password change replaces it, the account deletion removes it.
            matched = stored is not None and (
                await self.passwords.verify(stored.loaded_password_hash(), password) is not PasswordMatch.MISMATCH
            )
            if stored is None or not matched:
                raise InvalidCredentials("The password is incorrect")
            attempt.succeeded()
        return stored

    async def _release_connection(self) -> None:
        """End the (so far read-only) transaction, which hands its pooled connection back while a
        password is checked: that takes tens of milliseconds, seconds under a flood of logins,
        and must not starve other requests of connections. Loaded objects stay usable, and the
        next statement begins a new transaction."""
        await self.db_session.commit()

    async def list_sessions(self, user: User, *, current_session_id: uuid.UUID) -> list[ActiveSession]:
        return await self.sessions.list_live(user.id, now=self.clock(), current=current_session_id)

    async def end_session(self, user: User, session_id: uuid.UUID) -> None:
        """End one of the user's sessions (ending one that has ended already is no error); 404 for
        a session that is not theirs, which also keeps other users' session ids unconfirmed."""
        if not await self.sessions.revoke(session_id, now=self.clock(), user_id=user.id) and not (
            await self.sessions.belongs_to(session_id, user.id)
        ):
            raise NotFoundException(detail="No such session among yours")

    async def end_other_sessions(self, user: User, *, current_session_id: uuid.UUID) -> None:
        await self.sessions.revoke_all_for_user(user.id, now=self.clock(), keep=current_session_id)

    async def _start_session(self, user_id: uuid.UUID, *, user_agent: str | None = None) -> TokenPair:
        now = self.clock()
        session_id = uuid7()
        access = self.tokens.issue(TokenUse.ACCESS, user_id=user_id, session_id=session_id, now=now)
        refresh = self.tokens.issue(TokenUse.REFRESH, user_id=user_id, session_id=session_id, now=now)
        await self.sessions.add_session(
            LoginSession(
                id=session_id,
                user_id=user_id,
                refresh_jti=refresh.token_id,
                last_refreshed_at=now,
                idle_expires_at=refresh.expires_at,
                absolute_expires_at=now + self.session_max_age,
                last_used_at=now,
                user_agent=storable_user_agent(user_agent),
            )
        )
        return self._token_pair(access.token, refresh.token)

    def _token_pair(self, access_token: str, refresh_token: str) -> TokenPair:
        return TokenPair(
            access_token=access_token,
            refresh_token=refresh_token,
            expires_in=int(self.tokens.lifetime(TokenUse.ACCESS).total_seconds()),
        )


def storable_user_agent(user_agent: str | None) -> str | None:
    """A User-Agent as a session keeps it: cut to the column, without NUL (which PostgreSQL text
    cannot hold), None when blank."""
    if user_agent is None:
        return None
    cleaned = user_agent.replace("\x00", "").strip()[:USER_AGENT_LENGTH]
    return cleaned or None
