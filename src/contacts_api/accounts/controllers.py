"""HTTP routes of accounts: /api/auth/* and /api/users/me."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post, put
from litestar.datastructures import State
from litestar.di import Provide
from litestar.dto import DTOData
from litestar.enums import RequestEncodingType
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ServiceUnavailableException,
    TooManyRequestsException,
)
from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from contacts_api.accounts.guards import BEARER_SECURITY, requires_user
from contacts_api.accounts.pages import answer_form_post
from contacts_api.accounts.passwords import MAX_PASSWORD_LENGTH
from contacts_api.accounts.schemas import (
    PROFILE_UPDATE_EXAMPLES,
    AccountDeletionBody,
    ActiveSession,
    ActiveSessionDTO,
    Credentials,
    EmailChangeConfirmationBody,
    EmailChangeRequestBody,
    EmailVerificationBody,
    LogoutBody,
    MailAccepted,
    PasswordChangeBody,
    PasswordGrantForm,
    PasswordResetBody,
    PasswordResetRequestBody,
    ProfileUpdateDTO,
    RefreshBody,
    SignupBody,
    TokenPair,
    User,
    UserReadDTO,
)
from contacts_api.accounts.services import ACCOUNTS_STATE_KEY, AccountService
from contacts_api.accounts.throttling import AUTH_RATE_LIMITED
from contacts_api.accounts.tokens import TokenClaims
from contacts_api.errors import BODY_ERRORS, ConflictError, UnsupportedMediaType
from contacts_api.validation import EMAIL_PATTERN, MAX_EMAIL_LENGTH, STORABLE_TEXT, decode_body

RESET_ACCEPTED = "If an account has this address, a link to reset its password is on its way; it expires in 30 minutes"


def provide_account_service(db_session: AsyncSession, state: State) -> AccountService:
    return AccountService(db_session, state[ACCOUNTS_STATE_KEY])


# The same rules as the Credentials and PasswordGrantForm schemas that decode these bodies.
_EMAIL = Schema(type=OpenAPIType.STRING, pattern=EMAIL_PATTERN, min_length=6, max_length=MAX_EMAIL_LENGTH)
_PASSWORD = Schema(type=OpenAPIType.STRING, pattern=STORABLE_TEXT, min_length=1, max_length=4 * MAX_PASSWORD_LENGTH)
LOGIN_REQUEST_BODY = RequestBody(
    required=True,
    description="JSON credentials, or the OAuth2 password grant form (what Swagger UI's Authorize sends)",
    content={
        "application/json": OpenAPIMediaType(
            schema=Schema(
                type=OpenAPIType.OBJECT,
                required=["email", "password"],
                properties={"email": _EMAIL, "password": _PASSWORD},
                additional_properties=False,
            ),
            example={"email": "ada@example.com", "password": "correct horse battery staple"},
        ),
        "application/x-www-form-urlencoded": OpenAPIMediaType(
            schema=Schema(
                type=OpenAPIType.OBJECT,
                required=["username", "password"],
                properties={
                    "grant_type": Schema(type=OpenAPIType.STRING, enum=["password"]),
                    "username": _EMAIL,
                    "password": _PASSWORD,
                    "scope": Schema(type=OpenAPIType.STRING, max_length=1000),
                },
            ),
            example={
                "grant_type": "password",
                "username": "ada@example.com",
                "password": "correct horse battery staple",
            },
        ),
    },
)


@dataclass
class LogoutOperation(Operation):
    """Logout's body is optional; Litestar marks every `data` body as required."""

    def __post_init__(self) -> None:
        if isinstance(self.request_body, RequestBody):
            self.request_body.required = False


@dataclass
class LoginOperation(Operation):
    """Documents the two bodies login accepts, which one `data` annotation cannot express."""

    def __post_init__(self) -> None:
        self.request_body = LOGIN_REQUEST_BODY


async def read_credentials(request: Request[Any, Any, Any]) -> Credentials:
    media_type, _ = request.content_type
    if media_type == RequestEncodingType.URL_ENCODED:
        form = await request.form()
        grant = decode_body(dict(form.items()), PasswordGrantForm)
        return Credentials(email=grant.username, password=grant.password)
    if media_type in ("application/json", ""):
        return decode_body(await request.body(), Credentials)
    raise UnsupportedMediaType(detail="Send the credentials as application/json or application/x-www-form-urlencoded")


class AuthController(Controller):
    path = "/api/auth"
    tags = ["Auth"]
    dependencies = {"accounts": Provide(provide_account_service, sync_to_thread=False)}

    @post(
        "/signup",
        operation_id="signUp",
        return_dto=UserReadDTO,
        opt={AUTH_RATE_LIMITED: True},
        exclude_from_auth=True,
        status_code=HTTP_201_CREATED,
        summary="Create an account",
        raises=[*BODY_ERRORS, ConflictError, TooManyRequestsException],
    )
    async def sign_up(self, data: SignupBody, accounts: AccountService) -> User:
        """Register a new user. 409 when the email (case-insensitively) is already registered."""
        return await accounts.sign_up(data)

    @post(
        "/login",
        operation_id="logIn",
        opt={AUTH_RATE_LIMITED: True},
        exclude_from_auth=True,
        status_code=HTTP_200_OK,
        summary="Log in and receive a token pair",
        operation_class=LoginOperation,
        raises=[
            *BODY_ERRORS,
            NotAuthorizedException,
            PermissionDeniedException,
            UnsupportedMediaType,
            TooManyRequestsException,
        ],
    )
    async def log_in(self, request: Request[Any, Any, Any], accounts: AccountService) -> TokenPair:
        """Exchange email and password for an access token and a refresh token. 403 when
        REQUIRE_VERIFIED_EMAIL is on and the address is not verified yet."""
        credentials = await read_credentials(request)
        # Not cacheable (RFC 6749 §5.1): middleware.py sends no-store on every API answer.
        user_agent = request.headers.get("user-agent")
        return await accounts.log_in(credentials.email, credentials.password, user_agent=user_agent)

    @post(
        "/refresh",
        operation_id="refreshTokens",
        opt={AUTH_RATE_LIMITED: True},
        exclude_from_auth=True,
        status_code=HTTP_200_OK,
        summary="Rotate the refresh token",
        raises=[*BODY_ERRORS, NotAuthorizedException, TooManyRequestsException],
    )
    async def refresh(self, data: RefreshBody, accounts: AccountService) -> TokenPair:
        """Exchange a refresh token for a new pair; the presented one stops working."""
        return await accounts.refresh(data.refresh_token)

    @post(
        "/logout",
        operation_id="logOut",
        operation_class=LogoutOperation,
        guards=[requires_user],
        security=BEARER_SECURITY,
        status_code=HTTP_204_NO_CONTENT,
        summary="End the current session",
        raises=[*BODY_ERRORS, NotAuthorizedException],
    )
    async def log_out(
        self,
        request: Request[User, TokenClaims, Any],
        accounts: AccountService,
        data: LogoutBody = None,
    ) -> None:
        """Revoke this login session: its access and refresh tokens stop working at once."""
        refresh_token = data.refresh_token if data is not None else None
        await accounts.log_out(request.user, session_id=request.auth.session_id, refresh_token=refresh_token)

    # The three routes the account pages' forms post to (accounts/pages.py): a form post is
    # answered with the page by `answer_form_post`; JSON reaches the handlers.

    @post(
        "/verify-email",
        operation_id="verifyEmail",
        return_dto=UserReadDTO,
        before_request=answer_form_post,
        opt={AUTH_RATE_LIMITED: True},
        exclude_from_auth=True,
        status_code=HTTP_200_OK,
        summary="Confirm the email address with the token from the verification mail",
        raises=[*BODY_ERRORS, TooManyRequestsException],
    )
    async def verify_email(self, data: EmailVerificationBody, accounts: AccountService) -> User:
        """400 (naming `token`) for a token that is invalid, expired, already used, or was mailed
        to an address the account no longer has."""
        return await accounts.recovery.verify_email(data.token)

    @post(
        "/password-reset",
        operation_id="requestPasswordReset",
        opt={AUTH_RATE_LIMITED: True},
        exclude_from_auth=True,
        status_code=HTTP_202_ACCEPTED,
        summary="Mail a password-reset link",
        raises=[*BODY_ERRORS, TooManyRequestsException, ServiceUnavailableException],
    )
    async def request_password_reset(self, data: PasswordResetRequestBody, accounts: AccountService) -> MailAccepted:
        """Always 202 with the same body, whether or not an account has this address (no account
        enumeration); the mail goes only to an existing account, at most RATE_LIMIT_MAILS an
        hour. The link expires after 30 minutes."""
        await accounts.recovery.request_password_reset(data.email)
        return MailAccepted(detail=RESET_ACCEPTED)

    @post(
        "/password-reset/confirm",
        operation_id="resetPassword",
        before_request=answer_form_post,
        opt={AUTH_RATE_LIMITED: True},
        exclude_from_auth=True,
        status_code=HTTP_204_NO_CONTENT,
        summary="Set a new password with the token from the reset mail",
        raises=[*BODY_ERRORS, TooManyRequestsException],
    )
    async def reset_password(self, data: PasswordResetBody, accounts: AccountService) -> None:
        """Every session of the user ends, other reset links stop working, and the address counts
        as verified. 400 for a bad token (`token`) or password (`new_password`)."""
        await accounts.recovery.reset_password(data.token, data.new_password)

    @post(
        "/confirm-email-change",
        operation_id="confirmEmailChange",
        return_dto=UserReadDTO,
        before_request=answer_form_post,
        opt={AUTH_RATE_LIMITED: True},
        exclude_from_auth=True,
        status_code=HTTP_200_OK,
        summary="Switch to the new email address with the token from the confirmation mail",
        raises=[*BODY_ERRORS, ConflictError, TooManyRequestsException],
    )
    async def confirm_email_change(self, data: EmailChangeConfirmationBody, accounts: AccountService) -> User:
        """The user with the new address, verified. 409 when another account took the address
        since the change was asked for."""
        return await accounts.recovery.confirm_email_change(data.token)


class UserController(Controller):
    path = "/api/users/me"
    tags = ["Users"]
    guards = [requires_user]
    security = BEARER_SECURITY
    dependencies = {"accounts": Provide(provide_account_service, sync_to_thread=False)}
    # What a client sees of the user, for every route here that returns one.
    return_dto = UserReadDTO

    @get(
        "/",
        operation_id="getCurrentUser",
        summary="The signed-in user",
        raises=[NotAuthorizedException, ServiceUnavailableException],
    )
    async def me(self, request: Request[User, TokenClaims, Any]) -> User:
        return request.user

    @patch(
        "/",
        operation_id="updateCurrentUser",
        dto=ProfileUpdateDTO,
        summary="Change the display name",
        raises=[*BODY_ERRORS, NotAuthorizedException],
    )
    async def update_me(
        self,
        request: Request[User, TokenClaims, Any],
        data: Annotated[DTOData[User], PROFILE_UPDATE_EXAMPLES],
        accounts: AccountService,
    ) -> User:
        return await accounts.update_profile(request.user, data)

    @put(
        "/password",
        operation_id="changePassword",
        return_dto=None,
        status_code=HTTP_204_NO_CONTENT,
        summary="Change the password and end every other session",
        raises=[*BODY_ERRORS, NotAuthorizedException, TooManyRequestsException],
    )
    async def change_password(
        self,
        request: Request[User, TokenClaims, Any],
        data: PasswordChangeBody,
        accounts: AccountService,
    ) -> None:
        await accounts.change_password(
            request.user,
            current_session_id=request.auth.session_id,
            current=data.current_password,
            new=data.new_password,
        )

    @delete(
        "/",
        operation_id="deleteCurrentUser",
        return_dto=None,
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete the account with its sessions and contacts",
        raises=[*BODY_ERRORS, NotAuthorizedException, TooManyRequestsException],
    )
    async def delete_me(
        self,
        request: Request[User, TokenClaims, Any],
        data: AccountDeletionBody,
        accounts: AccountService,
    ) -> None:
        await accounts.delete_account(request.user, data.password)

    @post(
        "/verification-email",
        operation_id="sendVerificationEmail",
        return_dto=None,
        opt={AUTH_RATE_LIMITED: True},
        status_code=HTTP_202_ACCEPTED,
        summary="Mail a new verification link",
        raises=[NotAuthorizedException, ConflictError, TooManyRequestsException, ServiceUnavailableException],
    )
    async def send_verification_email(
        self, request: Request[User, TokenClaims, Any], accounts: AccountService
    ) -> MailAccepted:
        """409 when the address is verified already; 429 past RATE_LIMIT_MAILS an hour."""
        await accounts.recovery.resend_verification(request.user)
        return MailAccepted(detail=f"A verification link is on its way to {request.user.email}")

    @post(
        "/email",
        operation_id="requestEmailChange",
        return_dto=None,
        status_code=HTTP_202_ACCEPTED,
        summary="Change the email address (confirmed from the new address)",
        raises=[*BODY_ERRORS, NotAuthorizedException, ConflictError, TooManyRequestsException],
    )
    async def request_email_change(
        self, request: Request[User, TokenClaims, Any], data: EmailChangeRequestBody, accounts: AccountService
    ) -> MailAccepted:
        """A confirmation link goes to the new address and a notice to the current one, which stays
        until the link is opened. 401 wrong password, 409 address taken."""
        await accounts.request_email_change(request.user, new_email=data.new_email, password=data.password)
        return MailAccepted(detail=f"A confirmation link is on its way to {data.new_email}")

    @get(
        "/sessions",
        operation_id="listSessions",
        return_dto=ActiveSessionDTO,
        summary="The live sessions of this account, newest first",
        raises=[NotAuthorizedException, ServiceUnavailableException],
    )
    async def list_sessions(
        self, request: Request[User, TokenClaims, Any], accounts: AccountService
    ) -> list[ActiveSession]:
        return await accounts.list_sessions(request.user, current_session_id=request.auth.session_id)

    @delete(
        "/sessions/{session_id:uuid}",
        operation_id="endSession",
        return_dto=None,
        status_code=HTTP_204_NO_CONTENT,
        summary="End one session: its tokens stop working at once",
        raises=[NotAuthorizedException, NotFoundException, ServiceUnavailableException],
    )
    async def end_session(
        self, request: Request[User, TokenClaims, Any], session_id: uuid.UUID, accounts: AccountService
    ) -> None:
        """404 when the session is not one of yours."""
        await accounts.end_session(request.user, session_id)

    @delete(
        "/sessions",
        operation_id="endOtherSessions",
        return_dto=None,
        status_code=HTTP_204_NO_CONTENT,
        summary="End every session but this one",
        raises=[NotAuthorizedException, ServiceUnavailableException],
    )
    async def end_other_sessions(self, request: Request[User, TokenClaims, Any], accounts: AccountService) -> None:
        await accounts.end_other_sessions(request.user, current_session_id=request.auth.session_id)
