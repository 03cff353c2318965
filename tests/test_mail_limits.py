"""How much mail an account and a client address can cause (RATE_LIMIT_MAILS, RATE_LIMIT_AUTH), and
the mail routes of a server that cannot send mail (production without SMTP_URL: 503), on both
databases."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator

import pytest
from litestar.testing import AsyncTestClient

from contacts_api.app import create_app
from contacts_api.config import Settings
from tests.account_mail import (
    RESET_ACCEPTED,
    access_headers,
    mail_app,
    new_address,
    outbox_count,
    request_reset,
    sign_up,
    token_count,
)
from tests.conftest import PASSWORD, Client, PinnedClock, make_settings, query_scalar, run_concurrently, wipe
from tests.smtp_server import SMTPTestServer

RESEND = "/api/users/me/verification-email"
HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def pinned(clock: PinnedClock) -> PinnedClock:
    """The mail allowance's clock, stopped at the real time: Retry-After becomes exact."""
    clock.pinned = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    return clock


async def account_with_mails_left(client: Client, left: int) -> tuple[str, dict[str, str]]:
    """A fresh account (its signup mailed once) that has asked for verification mails until only
    `left` of its 5 an hour remain: (its address, its access headers)."""
    email = new_address()
    await sign_up(client, email)
    headers = await access_headers(client, email)
    for _ in range(4 - left):
        response = await client.post(RESEND, headers=headers)
        assert response.status_code == 202, response.text
    return email, headers


async def mails_in_window(database_url: str, email: str) -> int:
    return int(await query_scalar(database_url, "SELECT mails_in_window FROM users WHERE email = :e", e=email))


# RATE_LIMIT_MAILS: per account per hour -----------------------------------------------------------


async def test_verification_mails_past_the_hourly_allowance_answer_429_with_retry_after(
    mail_client: Client, pinned: PinnedClock, mail_settings: Settings
) -> None:
    email, headers = await account_with_mails_left(mail_client, 0)
    response = await mail_client.post(RESEND, headers=headers)
    assert response.status_code == 429
    assert response.headers["retry-after"] == str(int(HOUR.total_seconds()) + 1)
    body = response.json()
    assert body["status_code"] == 429
    assert "Too many mails" in body["detail"]
    assert await outbox_count(mail_settings.database_url, email) == 5  # nothing queued past the limit


async def test_retry_after_counts_down_to_the_end_of_the_hour(mail_client: Client, pinned: PinnedClock) -> None:
    _, headers = await account_with_mails_left(mail_client, 0)
    assert pinned.pinned is not None
    pinned.pinned += datetime.timedelta(minutes=30)
    response = await mail_client.post(RESEND, headers=headers)
    assert response.status_code == 429
    assert response.headers["retry-after"] == str(30 * 60 + 1)


async def test_the_allowance_comes_back_after_an_hour(
    mail_client: Client, pinned: PinnedClock, mail_settings: Settings
) -> None:
    email, headers = await account_with_mails_left(mail_client, 0)
    assert (await mail_client.post(RESEND, headers=headers)).status_code == 429
    assert pinned.pinned is not None
    pinned.pinned += HOUR
    assert (await mail_client.post(RESEND, headers=headers)).status_code == 202
    assert await outbox_count(mail_settings.database_url, email) == 6
    assert await mails_in_window(mail_settings.database_url, email) == 1  # a new hour began


async def test_reset_requests_past_the_allowance_still_answer_202_but_send_nothing(
    mail_client: Client, smtp_server: SMTPTestServer, mail_settings: Settings
) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    answers = [await request_reset(mail_client, email) for _ in range(4)]  # with the signup's: 5
    assert await outbox_count(mail_settings.database_url, email) == 5
    past = await request_reset(mail_client, email)
    assert past.status_code == 202
    assert past.json() == {"detail": RESET_ACCEPTED}
    assert past.content == answers[0].content
    assert "retry-after" not in past.headers
    assert await outbox_count(mail_settings.database_url, email) == 5
    assert await token_count(mail_settings.database_url, "reset_password") == 4
    smtp_server.wait_for(5)
    assert len(smtp_server.mails_to(email)) == 5


async def test_the_allowance_is_per_account(mail_client: Client, mail_settings: Settings) -> None:
    exhausted, headers = await account_with_mails_left(mail_client, 0)
    assert (await mail_client.post(RESEND, headers=headers)).status_code == 429
    other, other_headers = await account_with_mails_left(mail_client, 4)
    assert (await mail_client.post(RESEND, headers=other_headers)).status_code == 202
    await request_reset(mail_client, other)
    assert await outbox_count(mail_settings.database_url, other) == 3
    assert await outbox_count(mail_settings.database_url, exhausted) == 5


async def test_an_email_change_counts_as_two_mails(mail_client: Client, mail_settings: Settings) -> None:
    email, headers = await account_with_mails_left(mail_client, 2)
    new_email = new_address("new")
    response = await mail_client.post("/api/users/me/email", json={"new_email": new_email, "password": PASSWORD},
                                      headers=headers)  # fmt: skip
    assert response.status_code == 202
    assert await mails_in_window(mail_settings.database_url, email) == 5
    assert (await mail_client.post(RESEND, headers=headers)).status_code == 429


async def test_an_email_change_with_one_mail_left_is_429_and_queues_nothing(
    mail_client: Client, pinned: PinnedClock, mail_settings: Settings
) -> None:
    email, headers = await account_with_mails_left(mail_client, 1)
    new_email = new_address("new")
    response = await mail_client.post("/api/users/me/email", json={"new_email": new_email, "password": PASSWORD},
                                      headers=headers)  # fmt: skip
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) == int(HOUR.total_seconds()) + 1
    assert await outbox_count(mail_settings.database_url, new_email) == 0
    assert await outbox_count(mail_settings.database_url, email) == 4
    assert await token_count(mail_settings.database_url, "change_email") == 0
    assert await mails_in_window(mail_settings.database_url, email) == 4  # the refused request took none
    assert (await mail_client.post(RESEND, headers=headers)).status_code == 202  # the last one is still there


async def test_concurrent_requests_cannot_outrun_the_allowance(mail_client: Client, mail_settings: Settings) -> None:
    email, headers = await account_with_mails_left(mail_client, 1)
    responses = run_concurrently(mail_client, *[lambda http: http.post(RESEND, headers=headers)] * 5)
    assert sorted(response.status_code for response in responses) == [202] + [429] * 4
    assert await outbox_count(mail_settings.database_url, email) == 5


async def test_rate_limit_mails_zero_means_no_limit(
    database_url: str, smtp_server: SMTPTestServer, clock: PinnedClock
) -> None:
    async with mail_app(database_url, smtp_server, clock, rate_limit_mails=0) as client:
        email = new_address()
        await sign_up(client, email)
        headers = await access_headers(client, email)
        for _ in range(7):
            assert (await client.post(RESEND, headers=headers)).status_code == 202
            await request_reset(client, email)
        assert await outbox_count(database_url, email) == 15


# RATE_LIMIT_AUTH: per client address --------------------------------------------------------------


async def test_reset_requests_count_against_the_per_address_limit(
    database_url: str, smtp_server: SMTPTestServer, clock: PinnedClock
) -> None:
    async with mail_app(database_url, smtp_server, clock, rate_limit_auth=2) as client:
        for _ in range(2):
            await request_reset(client, new_address("nobody"))
        blocked = await client.post("/api/auth/password-reset", json={"email": new_address("nobody")})
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) >= 1
        assert blocked.json()["status_code"] == 429


async def test_verification_mails_count_against_the_per_address_limit(
    database_url: str, smtp_server: SMTPTestServer, clock: PinnedClock
) -> None:
    async with mail_app(database_url, smtp_server, clock, rate_limit_auth=3, rate_limit_mails=0) as client:
        email = new_address()
        await sign_up(client, email)  # 1
        headers = await access_headers(client, email)  # 2
        assert (await client.post(RESEND, headers=headers)).status_code == 202  # 3
        blocked = await client.post(RESEND, headers=headers)
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) >= 1
        assert await outbox_count(database_url, email) == 2  # the signup's and the one allowed


# Production without SMTP_URL ----------------------------------------------------------------------


@pytest.fixture
async def mailless_client(database_url: str) -> AsyncIterator[Client]:
    """A production app with no SMTP_URL: it can queue mail but never send it."""
    settings = make_settings(database_url, environment="production")
    try:
        async with AsyncTestClient(app=create_app(settings)) as client:
            yield client
    finally:
        await wipe(database_url)


async def test_in_production_without_smtp_the_mail_routes_answer_503(
    mailless_client: Client, database_url: str
) -> None:
    email = new_address()
    await sign_up(mailless_client, email)  # signing up works: its verification mail waits in the outbox
    headers = await access_headers(mailless_client, email)
    routes: list[tuple[str, dict[str, str] | None]] = [
        ("/api/auth/password-reset", {"email": email}),
        ("/api/auth/password-reset", {"email": new_address("nobody")}),  # the same answer: no enumeration
        (RESEND, None),
        ("/api/users/me/email", {"new_email": new_address("new"), "password": PASSWORD}),
    ]
    for path, body in routes:
        response = await mailless_client.post(path, json=body, headers=headers)
        assert response.status_code == 503, path
        assert response.headers["content-type"] == "application/json"
        assert response.json()["status_code"] == 503
        assert "cannot send mail" in response.json()["detail"]
    assert await token_count(database_url) == 1  # the signup's verification token, nothing more
