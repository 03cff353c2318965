"""The rules of account recovery by email: verification, password reset, email change.

Every mail is queued in the transaction that stores its token (mail/outbox.py), so a mail exists
exactly when its token does. Tokens are looked up by hash and used by a compare-and-set
(AccountTokenRepository.use); each is bound to its purpose and to the address it was mailed to,
so a verification link never resets a password, and no link outlives an address change.
"""

from __future__ import annotations

import datetime
import uuid

from advanced_alchemy.exceptions import RepositoryError
from litestar.exceptions import ServiceUnavailableException, TooManyRequestsException
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from contacts_api.accounts.mailed_tokens import TokenPurpose, hash_mailed_token, new_mailed_token
from contacts_api.accounts.mails import AccountMails
from contacts_api.accounts.passwords import PasswordHasher
from contacts_api.accounts.repositories import AccountTokenRepository, LoginSessionRepository, UserRepository
from contacts_api.accounts.schemas import User
from contacts_api.clock import Clock
from contacts_api.errors import ConflictError, is_unique_violation
from contacts_api.mail.outbox import Mail, QueuedMail
from contacts_api.mail.worker import Mailer
from contacts_api.validation import invalid_field

MAIL_WINDOW = datetime.timedelta(hours=1)
INVALID_LINK = "The link is invalid, expired or already used; ask for a new one"
MAIL_UNAVAILABLE = "This server cannot send mail (no SMTP server is configured)"
ADDRESS_TAKEN = "An account with this email already exists"


class TooManyMails(TooManyRequestsException):
    def __init__(self, retry_after: datetime.timedelta) -> None:
        super().__init__(
            detail="Too many mails for this account; try again later",
            headers={"Retry-After": str(max(1, int(retry_after.total_seconds()) + 1))},
        )


class AccountRecovery:
    """One request's view of recovery by email."""

    def __init__(
        self,
        db_session: AsyncSession,
        *,
        mailer: Mailer,
        mails: AccountMails,
        passwords: PasswordHasher,
        clock: Clock,
        mails_per_hour: int,
    ) -> None:
        self.db_session = db_session
        self.users = UserRepository(session=db_session)
        self.sessions = LoginSessionRepository(session=db_session)
        self.tokens = AccountTokenRepository(session=db_session)
        self.mailer = mailer
        self.mails = mails
        self.passwords = passwords
        self.clock = clock
        self.mails_per_hour = mails_per_hour

    def require_mail(self) -> None:
        """503 where a route's whole point is a mail this server cannot send."""
        if not self.mailer.available:
            raise ServiceUnavailableException(detail=MAIL_UNAVAILABLE)

    # Verification -------------------------------------------------------------------------

    async def send_verification(self, user: User, *, quietly: bool = False) -> None:
        """Queue a verification mail to the user's address. Past the hourly allowance: 429, or
        nothing at all when `quietly` (at signup)."""
        if not await self._take_allowance(user.id, quietly=quietly):
            return
        token = await self._issue(user, TokenPurpose.VERIFY_EMAIL, user.email)
        # No name in it: anyone can sign up with any address, and the name is theirs to choose.
        await self._queue(user.id, self.mails.verification(to=user.email, name=None, token=token),
                          TokenPurpose.VERIFY_EMAIL)  # fmt: skip

    async def resend_verification(self, user: User) -> None:
        self.require_mail()
        if user.email_verified:
            raise ConflictError(detail="The email address is already verified")
        await self.send_verification(user)

    async def verify_email(self, token: str) -> User:
        """400 for a token that is not a live verification token of the user's current address."""
        now = self.clock()
        used = await self.tokens.use(hash_mailed_token(token), TokenPurpose.VERIFY_EMAIL, now=now)
        if used is None:
            raise invalid_field("token", INVALID_LINK)
        user_id, email = used
        user = await self.users.mark_email_verified(user_id, email=email, now=now)
        if user is None:  # the address changed since the mail was sent
            raise invalid_field("token", INVALID_LINK)
        await self.tokens.void_unused(user_id, TokenPurpose.VERIFY_EMAIL, now=now)
        return user

    # Password reset -----------------------------------------------------------------------

    async def request_password_reset(self, email: str) -> None:
        """Queue a reset mail if an account has this address and its allowance is not used up;
        otherwise do nothing. The caller answers the same either way (no account enumeration)."""
        self.require_mail()
        user = await self.users.find_by_email(email)
        if user is None or not await self._take_allowance(user.id, quietly=True):
            return
        token = await self._issue(user, TokenPurpose.RESET_PASSWORD, user.email)
        await self._queue(user.id, self.mails.password_reset(to=user.email, name=user.full_name, token=token),
                          TokenPurpose.RESET_PASSWORD)  # fmt: skip

    async def reset_password(self, token: str, new_password: str) -> None:
        """Set the password (already checked against the policy), end every session, void the
        other reset links, and count the address as verified: the link was mailed there."""
        password_hash = await self.passwords.hash(new_password)  # before any row is locked
        now = self.clock()
        used = await self.tokens.use(hash_mailed_token(token), TokenPurpose.RESET_PASSWORD, now=now)
        if used is None:
            raise invalid_field("token", INVALID_LINK)
        user_id, email = used
        if not await self.users.reset_password_hash(user_id, email=email, password_hash=password_hash, now=now):
            raise invalid_field("token", INVALID_LINK)  # the address changed since the mail was sent
        await self.tokens.void_unused(user_id, TokenPurpose.RESET_PASSWORD, now=now)
        # A pending email change may be an intruder's: the new password ends it with the sessions.
        await self.tokens.void_unused(user_id, TokenPurpose.CHANGE_EMAIL, now=now)
        await self.sessions.revoke_all_for_user(user_id, now=now)

    # Email change -------------------------------------------------------------------------

    async def request_email_change(self, user: User, new_email: str) -> None:
        """Queue a confirmation to the new address and a notice to the old one. The password was
        checked by the caller. 400 for the current address, 409 for one already taken (the unique
        index decides again at confirmation), 429 past the allowance."""
        self.require_mail()
        if new_email == user.email:
            raise invalid_field("new_email", "This is already the account's email address")
        if await self.users.find_by_email(new_email) is not None:
            raise ConflictError(detail=ADDRESS_TAKEN)
        await self._take_allowance(user.id)
        await self._take_allowance(user.id)  # two mails: the confirmation and the notice
        token = await self._issue(user, TokenPurpose.CHANGE_EMAIL, new_email)
        confirmation = self.mails.email_change_confirmation(to=new_email, name=user.full_name, token=token)
        await self._queue(user.id, confirmation, TokenPurpose.CHANGE_EMAIL)
        notice = self.mails.email_change_notice(to=user.email, name=user.full_name, new_email=new_email)
        await self._queue(user.id, notice, TokenPurpose.CHANGE_EMAIL)

    async def void_email_changes(self, user_id: uuid.UUID) -> None:
        await self.tokens.void_unused(user_id, TokenPurpose.CHANGE_EMAIL, now=self.clock())

    async def confirm_email_change(self, token: str) -> User:
        now = self.clock()
        used = await self.tokens.use(hash_mailed_token(token), TokenPurpose.CHANGE_EMAIL, now=now)
        if used is None:
            raise invalid_field("token", INVALID_LINK)
        user_id, new_email = used
        try:
            user = await self.users.change_email(user_id, new_email=new_email, now=now)
        except (RepositoryError, IntegrityError) as exc:  # the statement runs on the session itself
            if is_unique_violation(exc):
                raise ConflictError(detail=ADDRESS_TAKEN) from None
            raise
        await self.tokens.void_unused(user_id, TokenPurpose.CHANGE_EMAIL, now=now)
        return user

    # --------------------------------------------------------------------------------------

    async def _take_allowance(self, user_id: uuid.UUID, *, quietly: bool = False) -> bool:
        if self.mails_per_hour == 0:
            return True
        window_ends = await self.users.take_mail_allowance(
            user_id, now=self.clock(), limit=self.mails_per_hour, window=MAIL_WINDOW
        )
        if window_ends is None:
            return True
        if quietly:
            return False
        raise TooManyMails(window_ends - self.clock())

    async def _issue(self, user: User, purpose: TokenPurpose, email: str) -> str:
        token, token_hash = new_mailed_token()
        await self.tokens.add_token(
            user_id=user.id, purpose=purpose, token_hash=token_hash, email=email,
            expires_at=self.clock() + purpose.lifetime,
        )  # fmt: skip
        return token

    async def _queue(self, user_id: uuid.UUID, mail: Mail, purpose: TokenPurpose) -> None:
        # A mail whose link has expired is not worth sending late.
        queued = QueuedMail(mail=mail, user_id=user_id, lifetime=purpose.lifetime)
        await self.mailer.queue(self.db_session, queued)
