"""The accounts entities, the views of them the API shows, and the commands its routes take.

- `User` holds every field of a user, the password hash included; `UserReadDTO` (every answer
  that shows a user) excludes the hash by its config, and `ProfileUpdateDTO` carries only what a
  user may change about themselves. No other view of a user exists.
- `LoginSession` is a login and its rotating refresh token; `ActiveSession` (through
  `ActiveSessionDTO`) is how its user sees it in the list of their sessions.
- The commands (`Signup`, `Credentials`, `PasswordChange`, `AccountDeletion`, `RefreshRequest`,
  `LogoutRequest`) and the OAuth2 `TokenPair` are not views of an entity: they carry a password
  or a token on its way in or out, which no entity stores.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar.dto import DTOConfig
from litestar.openapi.spec import Example
from litestar.params import Body

from contacts_api.accounts.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, password_problem
from contacts_api.dto import EntityDTO, EntityReadDTO
from contacts_api.error_messages import field_error
from contacts_api.text import nfc
from contacts_api.validation import STORABLE_TEXT, EmailText, normalize_email, text

MAX_FULL_NAME_LENGTH = 200
FullName = Annotated[str, text(max_length=MAX_FULL_NAME_LENGTH, description="Display name", examples=["Ada Lovelace"])]
# Long enough for any acceptable password, short enough that a huge body is refused before it
# reaches argon2.
AnyPassword = Annotated[
    str,
    text(min_length=1, max_length=4 * MAX_PASSWORD_LENGTH, description="The password"),
]
# A new password's length is counted in its NFKC form (NIST SP 800-63B §5.1.1.2), by
# `password_problem`: as typed, it may be shorter ("ﬀﬀﬀﬀ" is 8 characters) or longer (decomposed
# accents) than that. So the parser only bounds it as AnyPassword does, and the document states the
# rule itself, 8 to 128 characters, which a schema cannot say is counted after normalization.
NewPassword = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=4 * MAX_PASSWORD_LENGTH,
        pattern=STORABLE_TEXT,
        description=(
            f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters, counted after Unicode NFKC "
            "normalization, not one of the most common passwords"
        ),
        examples=["correct horse battery staple"],
        # Litestar's OpenAPI schema takes these over the parser's bounds above.
        extra_json_schema={"extra": {"min_length": MIN_PASSWORD_LENGTH, "max_length": MAX_PASSWORD_LENGTH}},
    ),
]


class Signup(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    email: EmailText
    password: NewPassword
    full_name: FullName | None = None

    def __post_init__(self) -> None:
        self.email = normalize_email(self.email)
        if problem := password_problem(self.password):
            raise field_error("password", f"The password {problem}")
        if self.full_name is not None:
            # Stored in NFC, which can lengthen text: the 200-character limit holds for that form.
            self.full_name = nfc(self.full_name).strip() or None
            if self.full_name is not None and len(self.full_name) > MAX_FULL_NAME_LENGTH:
                raise field_error("full_name", f"Must be at most {MAX_FULL_NAME_LENGTH} characters in NFC form")


class Credentials(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Login by JSON. The same fields arrive as `username`/`password` in the OAuth2 form."""

    email: EmailText
    password: AnyPassword

    def __post_init__(self) -> None:
        self.email = normalize_email(self.email)  # as signup stored it


class PasswordGrantForm(msgspec.Struct, kw_only=True):
    """The OAuth2 password grant (RFC 6749 §4.3.2) as Swagger UI's "Authorize" sends it."""

    username: EmailText
    password: AnyPassword
    grant_type: Literal["password"] | None = None
    scope: Annotated[str, text(max_length=1000)] | None = None
    client_id: Annotated[str, text(max_length=200)] | None = None
    client_secret: Annotated[str, text(max_length=200)] | None = None


class RefreshRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: Annotated[str, text(min_length=1, max_length=4096, description="The refresh token")]


class LogoutRequest(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: Annotated[str, text(max_length=4096)] | None = None


class TokenPair(msgspec.Struct, kw_only=True):
    """An OAuth2 token response (RFC 6749 §5.1)."""

    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (a token type, not a secret)
    expires_in: Annotated[int, msgspec.Meta(description="Seconds until the access token expires")]


class User(msgspec.Struct, kw_only=True):
    """A user account: every field, as stored. `request.user` on authenticated requests."""

    id: uuid.UUID
    email: EmailText
    full_name: FullName | None = None
    email_verified: Annotated[bool, msgspec.Meta(description="Whether a link mailed to `email` has been followed")] = (
        False
    )
    # Loaded only where a password is checked (UserRepository.get_with_password_hash).
    password_hash: str | msgspec.UnsetType = msgspec.UNSET
    created_at: datetime.datetime
    updated_at: datetime.datetime

    def loaded_password_hash(self) -> str:
        if isinstance(self.password_hash, msgspec.UnsetType):
            raise RuntimeError("this user was loaded without its password hash")
        return self.password_hash


class LoginSession(msgspec.Struct, kw_only=True):
    """A login and the refresh tokens rotated from it.

    Only the newest refresh token's `jti` is kept: any other validly signed refresh token of
    this session has been used already, and presenting it revokes the session (RFC 9700 §4.14).
    """

    id: uuid.UUID
    user_id: uuid.UUID
    refresh_jti: uuid.UUID
    last_refreshed_at: datetime.datetime
    idle_expires_at: datetime.datetime
    absolute_expires_at: datetime.datetime
    revoked_at: datetime.datetime | None = None
    last_used_at: datetime.datetime
    user_agent: str | None = None


class ActiveSession(msgspec.Struct, kw_only=True):
    """A live login session as its user sees it in the list of their devices."""

    id: uuid.UUID
    created_at: datetime.datetime
    last_used_at: Annotated[datetime.datetime, msgspec.Meta(description="Coarse: updated at most once a minute")]
    user_agent: Annotated[str | None, msgspec.Meta(description="As the client sent it at login, cut to 500 characters")]
    current: Annotated[bool, msgspec.Meta(description="Whether this is the session of the token that asked")]


class ActiveSessionDTO(EntityReadDTO[ActiveSession]):
    config = DTOConfig()
    __schema_name__ = "SessionRead"


class UserReadDTO(EntityReadDTO[User]):
    """A user as every answer shows them: never the password hash."""

    config = DTOConfig(exclude={"password_hash", "updated_at"})
    __schema_name__ = "UserRead"


class ProfileUpdateDTO(EntityDTO[User]):
    """What a user may change about themselves: an absent `full_name` keeps the name, `null`
    clears it."""

    config = DTOConfig(include={"full_name"}, partial=True, forbid_unknown_fields=True)
    __schema_name__ = "ProfileUpdate"


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    current_password: AnyPassword
    new_password: NewPassword

    def __post_init__(self) -> None:
        if problem := password_problem(self.new_password):
            raise field_error("new_password", f"The new password {problem}")


class AccountDeletion(msgspec.Struct, forbid_unknown_fields=True):
    password: AnyPassword


# A token from a mailed link (43 characters as issued; anything up to 200 is looked up, and fails).
MailedToken = Annotated[str, text(min_length=1, max_length=200, description="The token from the mailed link")]


class EmailVerification(msgspec.Struct, forbid_unknown_fields=True):
    token: MailedToken


class PasswordResetRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: EmailText

    def __post_init__(self) -> None:
        self.email = normalize_email(self.email)


class PasswordReset(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    token: MailedToken
    new_password: NewPassword

    def __post_init__(self) -> None:
        if problem := password_problem(self.new_password):
            raise field_error("new_password", f"The new password {problem}")


class EmailChangeRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    new_email: EmailText
    password: AnyPassword

    def __post_init__(self) -> None:
        self.new_email = normalize_email(self.new_email)


class EmailChangeConfirmation(msgspec.Struct, forbid_unknown_fields=True):
    token: MailedToken


class MailAccepted(msgspec.Struct):
    """The answer of a route that queued a mail (202): what happens next, for people."""

    detail: str


# Request bodies as the routes declare them, with the examples the docs pages show.
def _body(summary: str, value: dict[str, object]) -> Any:
    return Body(examples=[Example(summary=summary, value=value)])


SignupBody = Annotated[
    Signup,
    _body("A new account", {"email": "ada@example.com", "password": "correct horse battery staple",
                            "full_name": "Ada Lovelace"}),
]  # fmt: skip
RefreshBody = Annotated[RefreshRequest, _body("The refresh token from login", {"refresh_token": "eyJhbGciOi…"})]
LogoutBody = Annotated[
    LogoutRequest | None, _body("Optionally, the refresh token to revoke too", {"refresh_token": "eyJhbGciOi…"})
]
PROFILE_UPDATE_EXAMPLES = _body("A new display name", {"full_name": "Augusta Ada King"})
PasswordChangeBody = Annotated[
    PasswordChange,
    _body("Current and new password", {"current_password": "correct horse battery staple",
                                       "new_password": "a different long passphrase"}),
]  # fmt: skip
EmailVerificationBody = Annotated[EmailVerification, _body("The token from the link", {"token": "kJ2v…"})]
PasswordResetRequestBody = Annotated[PasswordResetRequest, _body("The account's email", {"email": "ada@example.com"})]
PasswordResetBody = Annotated[
    PasswordReset,
    _body("The token from the link and a new password", {"token": "kJ2v…", "new_password": "a new long passphrase"}),
]
EmailChangeRequestBody = Annotated[
    EmailChangeRequest,
    _body("The new address, confirmed with the password", {"new_email": "ada@new.example",
                                                            "password": "correct horse battery staple"}),
]  # fmt: skip
EmailChangeConfirmationBody = Annotated[EmailChangeConfirmation, _body("The token from the link", {"token": "kJ2v…"})]
AccountDeletionBody = Annotated[
    AccountDeletion, _body("Confirm with the password", {"password": "correct horse battery staple"})
]
