"""Changing the email address (the contract's "Accounts: email, recovery and sessions"): POST
/api/users/me/email and POST /api/auth/confirm-email-change, against a real SMTP server, on both
databases."""

from __future__ import annotations

import datetime
import secrets

import httpx

from contacts_api.config import Settings
from tests.account_mail import (
    CHANGE_SUBJECT,
    DEFAULT_LINK_BASE,
    NEW_PASSWORD,
    NOTICE_SUBJECT,
    RESET_SUBJECT,
    USER_FIELDS,
    VERIFY_SUBJECT,
    access_headers,
    assert_bad_token,
    error_keys,
    log_in,
    new_address,
    outbox_count,
    request_reset,
    sign_up,
    token_count,
    token_in,
)
from tests.conftest import PASSWORD, Client, PinnedClock, query_scalar, run_concurrently
from tests.smtp_server import SMTPTestServer, link_in, text_of

CONFIRM = "/api/auth/confirm-email-change"


async def ask_for_change(
    client: Client, headers: dict[str, str], new_email: str, password: str = PASSWORD
) -> httpx.Response:
    return await client.post(
        "/api/users/me/email", json={"new_email": new_email, "password": password}, headers=headers
    )


async def changing(client: Client, server: SMTPTestServer) -> tuple[str, str, str]:
    """A fresh account that asked to move to a new address: (old address, new address, token).
    Three mails so far: the signup's verification, the confirmation and the notice."""
    email, new_email = new_address("old"), new_address("new")
    await sign_up(client, email)
    response = await ask_for_change(client, await access_headers(client, email), new_email)
    assert response.status_code == 202, response.text
    return email, new_email, token_in(server, new_email, CHANGE_SUBJECT, 3)


# Asking ------------------------------------------------------------------------------------------


async def test_email_change_answers_202_naming_the_new_address(mail_client: Client) -> None:
    email, new_email = new_address("old"), new_address("new")
    await sign_up(mail_client, email)
    response = await ask_for_change(mail_client, await access_headers(mail_client, email), new_email)
    assert response.status_code == 202
    assert response.json() == {"detail": f"A confirmation link is on its way to {new_email}"}


async def test_email_change_mails_the_confirmation_to_the_new_address(
    mail_client: Client, smtp_server: SMTPTestServer
) -> None:
    _, new_email, token = await changing(mail_client, smtp_server)
    [confirmation] = smtp_server.mails_to(new_email)
    assert confirmation["Subject"] == CHANGE_SUBJECT
    assert link_in(confirmation)[0] == f"{DEFAULT_LINK_BASE}/confirm-email?token={token}"


async def test_email_change_mails_a_notice_without_a_link_to_the_old_address(
    mail_client: Client, smtp_server: SMTPTestServer
) -> None:
    email, new_email, token = await changing(mail_client, smtp_server)
    notices = [mail for mail in smtp_server.mails_to(email) if mail["Subject"] == NOTICE_SUBJECT]
    assert len(notices) == 1
    notice = text_of(notices[0])
    assert new_email in notice
    assert token not in notice
    assert "token=" not in notice


async def test_the_address_stays_until_the_change_is_confirmed(
    mail_client: Client, smtp_server: SMTPTestServer
) -> None:
    email, new_email, _ = await changing(mail_client, smtp_server)
    me = await mail_client.get("/api/users/me", headers=await access_headers(mail_client, email))
    assert me.json()["email"] == email
    assert (await log_in(mail_client, new_email)).status_code == 401


async def test_email_change_with_a_wrong_password_is_401_and_mails_nothing(
    mail_client: Client, smtp_server: SMTPTestServer, mail_settings: Settings
) -> None:
    email, new_email = new_address("old"), new_address("new")
    await sign_up(mail_client, email)
    response = await ask_for_change(mail_client, await access_headers(mail_client, email), new_email, "wrong password!")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert await outbox_count(mail_settings.database_url, new_email) == 0
    assert await outbox_count(mail_settings.database_url, email) == 1  # the signup's verification only
    assert await token_count(mail_settings.database_url, "change_email") == 0


async def test_email_change_to_a_taken_address_is_409(
    mail_client: Client, smtp_server: SMTPTestServer, mail_settings: Settings
) -> None:
    email, taken = new_address("old"), new_address("taken")
    await sign_up(mail_client, email)
    await sign_up(mail_client, taken)
    headers = await access_headers(mail_client, email)
    for wanted in (taken, f"  {taken} ", taken.upper()):  # compared as stored: trimmed, lower-cased
        response = await ask_for_change(mail_client, headers, wanted)
        assert response.status_code == 409, wanted
        assert response.json()["status_code"] == 409
    assert await outbox_count(mail_settings.database_url, taken) == 1  # its own signup's only
    assert await token_count(mail_settings.database_url, "change_email") == 0


async def test_email_change_to_a_malformed_address_is_400_naming_new_email(mail_client: Client) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    headers = await access_headers(mail_client, email)
    for new_email in ("not-an-email", "", "two@@example.com", 42, None):
        response = await mail_client.post(
            "/api/users/me/email", json={"new_email": new_email, "password": PASSWORD}, headers=headers
        )
        assert response.status_code == 400, new_email
        assert error_keys(response) == ["new_email"], new_email


async def test_email_change_to_the_current_address_is_400_naming_new_email(mail_client: Client) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    response = await ask_for_change(mail_client, await access_headers(mail_client, email), email.upper())
    assert response.status_code == 400
    assert error_keys(response) == ["new_email"]


async def test_email_change_without_the_password_is_400_naming_password(mail_client: Client) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    response = await mail_client.post(
        "/api/users/me/email", json={"new_email": new_address()}, headers=await access_headers(mail_client, email)
    )
    assert response.status_code == 400
    assert error_keys(response) == ["password"]


async def test_email_change_needs_an_access_token(mail_client: Client) -> None:
    response = await mail_client.post("/api/users/me/email", json={"new_email": new_address(), "password": PASSWORD})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


# Confirming --------------------------------------------------------------------------------------


async def test_confirming_answers_the_user_with_the_new_address_verified(
    mail_client: Client, smtp_server: SMTPTestServer, mail_settings: Settings
) -> None:
    email, new_email, token = await changing(mail_client, smtp_server)
    response = await mail_client.post(CONFIRM, json={"token": token})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == USER_FIELDS
    assert body["email"] == new_email
    assert body["email_verified"] is True
    # Ids are stored differently by the two databases: look the row up by its addresses.
    assert await query_scalar(mail_settings.database_url, "SELECT count(*) FROM users WHERE email = :e", e=email) == 0
    verified = await query_scalar(
        mail_settings.database_url, "SELECT email_verified FROM users WHERE email = :e", e=new_email
    )
    assert bool(verified) is True


async def test_after_the_change_only_the_new_address_logs_in(mail_client: Client, smtp_server: SMTPTestServer) -> None:
    email, new_email, token = await changing(mail_client, smtp_server)
    assert (await mail_client.post(CONFIRM, json={"token": token})).status_code == 200
    assert (await log_in(mail_client, new_email)).status_code == 200
    assert (await log_in(mail_client, email)).status_code == 401


async def test_email_change_token_is_single_use(mail_client: Client, smtp_server: SMTPTestServer) -> None:
    _, _, token = await changing(mail_client, smtp_server)
    assert (await mail_client.post(CONFIRM, json={"token": token})).status_code == 200
    assert_bad_token(await mail_client.post(CONFIRM, json={"token": token}))


async def test_an_unknown_email_change_token_is_400_naming_token(mail_client: Client) -> None:
    for token in (secrets.token_urlsafe(32), "x"):
        assert_bad_token(await mail_client.post(CONFIRM, json={"token": token}))


async def test_a_missing_email_change_token_is_400_naming_token(mail_client: Client) -> None:
    bodies: list[dict[str, object]] = [{}, {"token": ""}, {"token": None}]
    for body in bodies:
        response = await mail_client.post(CONFIRM, json=body)
        assert response.status_code == 400, body
        assert error_keys(response) == ["token"], body


async def test_email_change_token_expires_after_24_hours(
    mail_client: Client, smtp_server: SMTPTestServer, clock: PinnedClock
) -> None:
    email, _, token = await changing(mail_client, smtp_server)
    clock.pinned = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=24, seconds=1)
    assert_bad_token(await mail_client.post(CONFIRM, json={"token": token}))
    assert (await log_in(mail_client, email)).status_code == 200


async def test_email_change_token_still_works_shortly_before_24_hours(
    mail_client: Client, smtp_server: SMTPTestServer, clock: PinnedClock
) -> None:
    _, _, token = await changing(mail_client, smtp_server)
    clock.pinned = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=23, minutes=59)
    assert (await mail_client.post(CONFIRM, json={"token": token})).status_code == 200


async def test_an_address_taken_before_confirming_is_409(
    mail_client: Client, smtp_server: SMTPTestServer, mail_settings: Settings
) -> None:
    email, new_email, token = await changing(mail_client, smtp_server)
    await sign_up(mail_client, new_email)  # another account signs up with it first
    response = await mail_client.post(CONFIRM, json={"token": token})
    assert response.status_code == 409
    assert response.json()["status_code"] == 409
    assert (await log_in(mail_client, email)).status_code == 200  # nothing changed
    owners = await query_scalar(mail_settings.database_url, "SELECT count(*) FROM users WHERE email = :e", e=new_email)
    assert owners == 1


async def test_concurrent_confirms_to_one_address_change_only_one_account(
    mail_client: Client, smtp_server: SMTPTestServer, mail_settings: Settings
) -> None:
    wanted = new_address("wanted")
    first, second = new_address("first"), new_address("second")
    for email in (first, second):
        await sign_up(mail_client, email)
        assert (await ask_for_change(mail_client, await access_headers(mail_client, email), wanted)).status_code == 202
    # Two signups' mails, then each request's confirmation and notice.
    smtp_server.wait_for(6)
    tokens = [link_in(mail)[1] for mail in smtp_server.mails_to(wanted)]
    assert len(tokens) == 2
    responses = run_concurrently(
        mail_client, *[lambda http, t=t: http.post(CONFIRM, json={"token": t}) for t in tokens]
    )
    assert sorted(response.status_code for response in responses) == [200, 409]
    owners = await query_scalar(mail_settings.database_url, "SELECT count(*) FROM users WHERE email = :e", e=wanted)
    assert owners == 1
    left = await query_scalar(
        mail_settings.database_url, "SELECT count(*) FROM users WHERE email IN (:a, :b)", a=first, b=second
    )
    assert left == 1


# Links mailed to the old address -----------------------------------------------------------------


async def test_an_old_verification_link_stops_working_after_the_address_changed(
    mail_client: Client, smtp_server: SMTPTestServer
) -> None:
    email, _, change = await changing(mail_client, smtp_server)
    verification = token_in(smtp_server, email, VERIFY_SUBJECT, 3)  # mailed at signup, to the old address
    assert (await mail_client.post(CONFIRM, json={"token": change})).status_code == 200
    assert_bad_token(await mail_client.post("/api/auth/verify-email", json={"token": verification}))


async def test_an_old_reset_link_stops_working_after_the_address_changed(
    mail_client: Client, smtp_server: SMTPTestServer
) -> None:
    email, new_email = new_address("old"), new_address("new")
    await sign_up(mail_client, email)
    await request_reset(mail_client, email)
    reset = token_in(smtp_server, email, RESET_SUBJECT, 2)
    assert (await ask_for_change(mail_client, await access_headers(mail_client, email), new_email)).status_code == 202
    change = token_in(smtp_server, new_email, CHANGE_SUBJECT, 4)
    assert (await mail_client.post(CONFIRM, json={"token": change})).status_code == 200
    reset_attempt = await mail_client.post(
        "/api/auth/password-reset/confirm", json={"token": reset, "new_password": NEW_PASSWORD}
    )
    assert_bad_token(reset_attempt)
    assert (await log_in(mail_client, new_email)).status_code == 200


async def test_a_password_reset_voids_a_pending_email_change(mail_client: Client, smtp_server: SMTPTestServer) -> None:
    # The change may be an intruder's: recovering the account by mail ends it.
    email, _, change = await changing(mail_client, smtp_server)
    await request_reset(mail_client, email)
    reset = token_in(smtp_server, email, RESET_SUBJECT, 4)
    confirmed = await mail_client.post(
        "/api/auth/password-reset/confirm", json={"token": reset, "new_password": NEW_PASSWORD}
    )
    assert confirmed.status_code == 204
    assert_bad_token(await mail_client.post(CONFIRM, json={"token": change}))
