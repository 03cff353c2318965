"""The mails of accounts, composed from templates (Jinja2): plain text and HTML alike.

Links are built from the configured base (`{PUBLIC_URL}/account`, or ACCOUNT_LINK_BASE_URL), never
from anything a request carries: a reset link that trusted the request's Host header would hand
the token to whoever sent the request (an account-takeover classic).
"""

from __future__ import annotations

import urllib.parse
from typing import Any

import jinja2

from contacts_api.mail.outbox import Mail

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("contacts_api.accounts", "templates/mail"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


class AccountMails:
    def __init__(self, *, link_base: str, service_name: str = "contacts-api") -> None:
        self._link_base = link_base
        self._service_name = service_name

    def link(self, page: str, token: str) -> str:
        return f"{self._link_base}/{page}?{urllib.parse.urlencode({'token': token})}"

    def verification(self, *, to: str, name: str | None, token: str) -> Mail:
        return self._compose(
            "verify-email", to=to, subject="Confirm your email address", name=name,
            link=self.link("verify-email", token),
        )  # fmt: skip

    def password_reset(self, *, to: str, name: str | None, token: str) -> Mail:
        return self._compose(
            "reset-password", to=to, subject="Reset your password", name=name,
            link=self.link("reset-password", token),
        )  # fmt: skip

    def email_change_confirmation(self, *, to: str, name: str | None, token: str) -> Mail:
        return self._compose(
            "confirm-email", to=to, subject="Confirm your new email address", name=name,
            link=self.link("confirm-email", token),
        )  # fmt: skip

    def email_change_notice(self, *, to: str, name: str | None, new_email: str) -> Mail:
        return self._compose(
            "email-change-notice", to=to, subject="Your email address is about to change", name=name,
            new_email=new_email,
        )  # fmt: skip

    def _compose(self, template: str, *, to: str, subject: str, **context: Any) -> Mail:
        context |= {"service": self._service_name, "subject": subject}
        return Mail(
            recipient=to,
            subject=subject,
            text_body=_TEMPLATES.get_template(f"{template}.txt").render(context),
            html_body=_TEMPLATES.get_template(f"{template}.html").render(context),
        )
