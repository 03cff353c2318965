"""REQUIRE_VERIFIED_EMAIL (the contract's "Accounts: email, recovery and sessions"): with it on, the
right password of an unverified account answers 403, a wrong one still 401; on both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.account_mail import (
    CHANGE_SUBJECT,
    NEW_PASSWORD,
    RESET_SUBJECT,
    VERIFY_SUBJECT,
    bearer,
    log_in,
    mail_app,
    new_address,
    request_reset,
    sign_up,
    token_in,
)
from tests.conftest import PASSWORD, Client, PinnedClock, execute_sql, query_scalar
from tests.smtp_server import SMTPTestServer


@pytest.fixture
async def strict_client(database_url: str, smtp_server: SMTPTestServer, clock: PinnedClock) -> AsyncIterator[Client]:
    async with mail_app(database_url, smtp_server, clock, require_verified_email=True) as client:
        yield client


async def test_an_unverified_account_with_the_right_password_is_403(strict_client: Client, database_url: str) -> None:
    email = new_address()
    await sign_up(strict_client, email)
    response = await log_in(strict_client, email)
    assert response.status_code == 403
    body = response.json()
    assert body["status_code"] == 403
    assert "Verify your email address" in body["detail"]
    assert "access_token" not in body
    assert await query_scalar(database_url, "SELECT count(*) FROM sessions") == 0


async def test_the_oauth2_form_login_of_an_unverified_account_is_403_too(strict_client: Client) -> None:
    email = new_address()
    await sign_up(strict_client, email)
    response = await strict_client.post(
        "/api/auth/login", data={"grant_type": "password", "username": email, "password": PASSWORD}
    )
    assert response.status_code == 403


async def test_a_wrong_password_of_an_unverified_account_stays_401(strict_client: Client) -> None:
    email = new_address()
    await sign_up(strict_client, email)
    wrong = await log_in(strict_client, email, "wrong password!")
    unknown = await log_in(strict_client, new_address("nobody"), "wrong password!")
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"].startswith("Bearer")
    assert wrong.json() == unknown.json()  # one message: nothing tells the account exists


async def test_signup_still_answers_201_with_an_unverified_user(strict_client: Client) -> None:
    response = await strict_client.post("/api/auth/signup", json={"email": new_address(), "password": PASSWORD})
    assert response.status_code == 201
    assert response.json()["email_verified"] is False


async def test_after_verification_the_login_succeeds(strict_client: Client, smtp_server: SMTPTestServer) -> None:
    email = new_address()
    await sign_up(strict_client, email)
    token = token_in(smtp_server, email, VERIFY_SUBJECT, 1)
    assert (await strict_client.post("/api/auth/verify-email", json={"token": token})).status_code == 200
    response = await log_in(strict_client, email)
    assert response.status_code == 200
    me = await strict_client.get("/api/users/me", headers=bearer(response.json()["access_token"]))
    assert me.json()["email_verified"] is True


async def test_a_password_reset_verifies_the_address_and_lets_the_account_in(
    strict_client: Client, smtp_server: SMTPTestServer
) -> None:
    email = new_address()
    await sign_up(strict_client, email)
    await request_reset(strict_client, email)
    token = token_in(smtp_server, email, RESET_SUBJECT, 2)
    reset = await strict_client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert reset.status_code == 204
    assert (await log_in(strict_client, email, NEW_PASSWORD)).status_code == 200


async def test_a_confirmed_email_change_lets_the_new_address_in(
    strict_client: Client, smtp_server: SMTPTestServer, database_url: str
) -> None:
    email, new_email = new_address("old"), new_address("new")
    await sign_up(strict_client, email)
    # Verified once (to log in and ask for the change), through the signup's link.
    verification = token_in(smtp_server, email, VERIFY_SUBJECT, 1)
    assert (await strict_client.post("/api/auth/verify-email", json={"token": verification})).status_code == 200
    login = await log_in(strict_client, email)
    changed = await strict_client.post(
        "/api/users/me/email",
        json={"new_email": new_email, "password": PASSWORD},
        headers=bearer(login.json()["access_token"]),
    )
    assert changed.status_code == 202
    token = token_in(smtp_server, new_email, CHANGE_SUBJECT, 3)
    assert (await strict_client.post("/api/auth/confirm-email-change", json={"token": token})).status_code == 200
    assert (await log_in(strict_client, new_email)).status_code == 200


async def test_an_account_unverified_again_is_refused_again(strict_client: Client, database_url: str) -> None:
    email = new_address()
    await sign_up(strict_client, email)
    await execute_sql(database_url, "UPDATE users SET email_verified = :v WHERE email = :e", v=True, e=email)
    assert (await log_in(strict_client, email)).status_code == 200
    await execute_sql(database_url, "UPDATE users SET email_verified = :v WHERE email = :e", v=False, e=email)
    assert (await log_in(strict_client, email)).status_code == 403


async def test_without_the_setting_an_unverified_account_logs_in(mail_client: Client) -> None:
    email = new_address()
    user = await sign_up(mail_client, email)
    assert user["email_verified"] is False
    assert (await log_in(mail_client, email)).status_code == 200
