"""Helpers shared by the tests of the mailed-token routes (verification, reset, email change,
session list, mail limits): what a client does and what the SMTP server and the database show.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from typing import Any

import httpx
from litestar.testing import AsyncTestClient

from contacts_api.app import create_app
from tests.conftest import PASSWORD, Client, PinnedClock, make_settings, query_scalar, wipe
from tests.smtp_server import SMTPTestServer, link_in

VERIFY_SUBJECT = "Confirm your email address"
RESET_SUBJECT = "Reset your password"
CHANGE_SUBJECT = "Confirm your new email address"
NOTICE_SUBJECT = "Your email address is about to change"
NEW_PASSWORD = "another fine passphrase"
INVALID_LINK = "The link is invalid, expired or already used; ask for a new one"
RESET_ACCEPTED = "If an account has this address, a link to reset its password is on its way; it expires in 30 minutes"
DEFAULT_LINK_BASE = "http://127.0.0.1:8000/account"  # PUBLIC_URL's default, then /account
USER_FIELDS = {"id", "email", "full_name", "email_verified", "created_at"}


def new_address(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def mail_to(server: SMTPTestServer, address: str, subject: str, total: int) -> EmailMessage:
    """The newest mail to `address` with `subject`, once `total` mails in all have arrived."""
    server.wait_for(total)
    found = [message for message in server.mails_to(address) if message["Subject"] == subject]
    assert found, [(message["To"], message["Subject"]) for message in server.messages]
    return found[-1]


def token_in(server: SMTPTestServer, address: str, subject: str, total: int) -> str:
    return link_in(mail_to(server, address, subject, total))[1]


def error_keys(response: httpx.Response) -> list[str]:
    """The fields a 400 names."""
    return [item["key"] for item in response.json().get("extra", [])]


def assert_bad_token(response: httpx.Response) -> None:
    """The contract's answer to an invalid, expired, used or misdirected token: 400 naming `token`."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status_code"] == 400
    assert body["extra"][0]["key"] == "token"
    assert body["extra"][0]["message"] == INVALID_LINK


async def sign_up(client: Client, email: str | None = None, password: str = PASSWORD) -> dict[str, Any]:
    email = email or new_address()
    response = await client.post("/api/auth/signup", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def log_in(client: Client, email: str, password: str = PASSWORD, user_agent: str | None = None) -> httpx.Response:
    headers = {"User-Agent": user_agent} if user_agent is not None else {}
    return await client.post("/api/auth/login", json={"email": email, "password": password}, headers=headers)


async def access_headers(client: Client, email: str, password: str = PASSWORD) -> dict[str, str]:
    login = await log_in(client, email, password)
    assert login.status_code == 200, login.text
    return bearer(login.json()["access_token"])


async def request_reset(client: Client, email: str, **kwargs: Any) -> httpx.Response:
    response = await client.post("/api/auth/password-reset", json={"email": email}, **kwargs)
    assert response.status_code == 202, response.text
    return response


async def outbox_count(database_url: str, recipient: str) -> int:
    """Mails queued to `recipient`: queued in the transaction of its token, so this is what will be sent."""
    count = await query_scalar(database_url, "SELECT count(*) FROM mail_outbox WHERE recipient = :r", r=recipient)
    return int(count)


async def token_count(database_url: str, purpose: str | None = None) -> int:
    if purpose is None:
        return int(await query_scalar(database_url, "SELECT count(*) FROM account_tokens"))
    sql = "SELECT count(*) FROM account_tokens WHERE purpose = :purpose"
    return int(await query_scalar(database_url, sql, purpose=purpose))


def db_time(database_url: str, moment: datetime.datetime) -> Any:
    """A timestamp as a raw SQL parameter: SQLite keeps them as naive UTC text."""
    if database_url.startswith("sqlite"):
        return moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return moment


@asynccontextmanager
async def mail_app(
    database_url: str, smtp_server: SMTPTestServer, clock: PinnedClock, **overrides: Any
) -> AsyncIterator[Client]:
    """A client of an app mailing to `smtp_server` with some settings changed (as `mail_client`)."""
    values: dict[str, Any] = {"smtp_url": smtp_server.url, "mail_poll_seconds": 0.2, "mail_retry_max_seconds": 1}
    settings = make_settings(database_url, **(values | overrides))
    try:
        async with AsyncTestClient(app=create_app(settings, clock=clock)) as client:
            yield client
    finally:
        await wipe(database_url)
