"""The account pages the links in mails open: `/account/verify-email`, `/account/reset-password`
and `/account/confirm-email`.

Each is a small server-rendered form (Litestar templates, Jinja2) that works without JavaScript:
opening the link only shows it (mail scanners open links too, and must not use the token up); the
form posts the token to the API route of the contract (`POST /api/auth/verify-email`, …) as
`application/x-www-form-urlencoded`. For such a post the route answers with this page again,
saying what happened (`answer_form_post`, its `before_request` hook); JSON clients are unaffected.
The pages send `Referrer-Policy: no-referrer`, so the token in their URL never leaves in a
Referer header, and a CSP that allows nothing but their own inline style and same-origin forms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.enums import MediaType, RequestEncodingType
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Template
from litestar.status_codes import HTTP_200_OK, HTTP_400_BAD_REQUEST

from contacts_api.accounts.passwords import password_problem
from contacts_api.accounts.recovery import INVALID_LINK, AccountRecovery
from contacts_api.accounts.services import ACCOUNTS_STATE_KEY, AccountsConfig
from contacts_api.db import request_session

ACCOUNT_PAGE_TEMPLATES = Path(__file__).parent / "templates" / "pages"
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
}
MISSING_TOKEN = "This link is incomplete: open the link from the mail exactly as it is."  # noqa: S105
MAX_FORM_FIELD_LENGTH = 4096


class PageSpec(msgspec.Struct, frozen=True):
    template: str
    title: str
    action: str  # the API route the form posts to
    done: str  # what the page says after success
    again: str  # what to do when the link does not work


VERIFY_EMAIL = PageSpec("verify-email.html", "Confirm your email address", "/api/auth/verify-email",
                        "Thank you: your email address is confirmed. You can close this page.",
                        "Each link works once, for 24 hours. Signed in, you can ask for a new verification "
                        "mail.")  # fmt: skip
RESET_PASSWORD = PageSpec("reset-password.html", "Choose a new password", "/api/auth/password-reset/confirm",
                          "Your password has been changed, and every device signed out. Log in with the new "
                          "password.",
                          "Each link works once, for 30 minutes, and setting a password voids the account's other "
                          "reset links. Ask for a new password-reset mail.")  # fmt: skip
CONFIRM_EMAIL = PageSpec("confirm-email.html", "Confirm your new email address", "/api/auth/confirm-email-change",
                         "Your email address has been changed. Log in with the new address from now on.",
                         "Each link works once, for 24 hours. Signed in, ask for the change again.")  # fmt: skip
PAGES = {spec.action: spec for spec in (VERIFY_EMAIL, RESET_PASSWORD, CONFIRM_EMAIL)}


def _sentence(text: str | None) -> str | None:
    """A message as a sentence on the page (the API's own messages end without a full stop)."""
    return text if not text or text.endswith((".", "!", "?")) else f"{text}."


def _context(spec: PageSpec, *, outcome: str | None = None, **values: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {"title": spec.title, "action": spec.action, "show_form": False, "ok": False,
                                "again": None}  # fmt: skip
    return defaults | values | {"outcome": _sentence(outcome)}


def _token_problem(token: str | None) -> str | None:
    """Why a token cannot be one the service mailed, before anything is looked up; None if it may be."""
    if not token:
        return MISSING_TOKEN
    if len(token) > MAX_FORM_FIELD_LENGTH or "\x00" in token:
        return INVALID_LINK
    return None


def _form_page(spec: PageSpec, token: str | None) -> Template:
    """The page a link opens: the form, holding the token. Opening it changes nothing."""
    if problem := _token_problem(token):
        context = _context(spec, outcome=problem, again=spec.again)
        return Template(spec.template, context=context, status_code=HTTP_400_BAD_REQUEST, headers=PAGE_HEADERS)
    return Template(spec.template, context=_context(spec, show_form=True, token=token), headers=PAGE_HEADERS)


class AccountPagesController(Controller):
    path = "/account"
    include_in_schema = False  # pages for people, not part of the API
    opt = {"exclude_from_auth": True}

    @get("/verify-email", exclude_from_auth=True, media_type=MediaType.HTML)
    async def verify_email_page(self, token: str | None = None) -> Template:
        return _form_page(VERIFY_EMAIL, token)

    @get("/reset-password", exclude_from_auth=True, media_type=MediaType.HTML)
    async def reset_password_page(self, token: str | None = None) -> Template:
        return _form_page(RESET_PASSWORD, token)

    @get("/confirm-email", exclude_from_auth=True, media_type=MediaType.HTML)
    async def confirm_email_page(self, token: str | None = None) -> Template:
        return _form_page(CONFIRM_EMAIL, token)


def _render(request: Request[Any, Any, Any], spec: PageSpec, status_code: int, **values: Any) -> Response[str]:
    engine = request.app.template_engine
    if engine is None:  # pragma: no cover (create_app always configures one)
        raise RuntimeError("no template engine")
    html = engine.get_template(spec.template).render(**_context(spec, **values))
    return Response(html, status_code=status_code, media_type=MediaType.HTML, headers=PAGE_HEADERS)


def _field(form: dict[str, Any], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def _run(spec: PageSpec, recovery: AccountRecovery, form: dict[str, Any]) -> str | None:
    """Do what the form asks; the problem to show, or None for success."""
    token = _field(form, "token")
    if problem := _token_problem(token):
        return problem
    if spec is VERIFY_EMAIL:
        await recovery.verify_email(token)
    elif spec is CONFIRM_EMAIL:
        await recovery.confirm_email_change(token)
    else:
        password = _field(form, "new_password")
        if not password:
            return "Type a new password."
        if "\x00" in password or len(password) > MAX_FORM_FIELD_LENGTH:
            return "The new password cannot be used; choose another one."
        if password != _field(form, "new_password_again"):
            return "The two passwords differ; type the same one twice."
        if problem := password_problem(password):
            return f"The new password {problem}."
        await recovery.reset_password(token, password)
    return None


def _problem_of(exc: HTTPException) -> str:
    extra = exc.extra if isinstance(exc, ValidationException) else None
    if isinstance(extra, list) and extra and isinstance(extra[0], dict) and "message" in extra[0]:
        return str(extra[0]["message"])
    return str(exc.detail)


async def answer_form_post(request: Request[Any, Any, Any]) -> Response[str] | None:
    """`before_request` of the routes the pages post to: a form post is answered here, with the
    page; anything else (JSON) goes on to the route's handler. The work runs in the request's
    database session, committed here on success and rolled back on failure, as for a handler."""
    media_type, _ = request.content_type
    spec = PAGES.get(request.url.path)
    if media_type != RequestEncodingType.URL_ENCODED or spec is None:
        return None
    form = dict((await request.form()).items())
    accounts: AccountsConfig = request.app.state[ACCOUNTS_STATE_KEY]
    db_session = await request_session(request.app.state, request.scope)
    token = _field(form, "token")
    status_code = HTTP_400_BAD_REQUEST
    try:
        problem = await _run(spec, accounts.recovery(db_session), form)
    except HTTPException as exc:
        await db_session.rollback()
        if exc.status_code >= 500:
            raise
        problem, status_code = _problem_of(exc), exc.status_code
    if problem is not None:
        await db_session.rollback()
        # The form again where trying again can help (a password that did not satisfy the rules);
        # otherwise what to do next.
        retry = spec is RESET_PASSWORD and problem not in (INVALID_LINK, MISSING_TOKEN)
        again = None if retry or status_code != HTTP_400_BAD_REQUEST else spec.again
        return _render(request, spec, status_code, outcome=problem, show_form=retry, token=token, again=again)
    await db_session.commit()
    return _render(request, spec, HTTP_200_OK, outcome=spec.done, ok=True)
