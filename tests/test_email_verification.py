"""Email verification (the contract's "Accounts: email, recovery and sessions"): the mail sent at
signup, POST /api/auth/verify-email and POST /api/users/me/verification-email, against a real SMTP
server, on both databases."""

from __future__ import annotations

import base64
import datetime
import secrets

from contacts_api.config import Settings
from tests.account_mail import (
    DEFAULT_LINK_BASE,
    USER_FIELDS,
    VERIFY_SUBJECT,
    access_headers,
    assert_bad_token,
    bearer,
    error_keys,
    mail_to,
    new_address,
    outbox_count,
    sign_up,
    token_in,
)
from tests.conftest import Client, PinnedClock, query_scalar
from tests.smtp_server import SMTPTestServer, html_of, link_in


async def verified_in_db(database_url: str, email: str) -> bool:
    return bool(await query_scalar(database_url, "SELECT email_verified FROM users WHERE email = :e", e=email))


async def test_signup_sends_a_verification_mail_with_a_link_to_the_verify_page(
    mail_client: Client, smtp_server: SMTPTestServer
) -> None:
    email = new_address()
    user = await sign_up(mail_client, email)
    assert user["email_verified"] is False
    mail = mail_to(smtp_server, email, VERIFY_SUBJECT, 1)
    assert mail["From"] == "contacts-api <no-reply@localhost>"
    link, token = link_in(mail)
    assert link == f"{DEFAULT_LINK_BASE}/verify-email?token={token}"
    assert link in html_of(mail).replace("&amp;", "&")


async def test_verifying_answers_the_user_now_verified(
    mail_client: Client, smtp_server: SMTPTestServer, mail_settings: Settings
) -> None:
    email = new_address()
    user = await sign_up(mail_client, email)
    token = token_in(smtp_server, email, VERIFY_SUBJECT, 1)
    response = await mail_client.post("/api/auth/verify-email", json={"token": token})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == USER_FIELDS
    assert body["id"] == user["id"]
    assert body["email"] == email
    assert body["email_verified"] is True
    assert await verified_in_db(mail_settings.database_url, email)
    me = await mail_client.get("/api/users/me", headers=await access_headers(mail_client, email))
    assert me.json()["email_verified"] is True


async def test_verification_token_is_single_use(mail_client: Client, smtp_server: SMTPTestServer) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    token = token_in(smtp_server, email, VERIFY_SUBJECT, 1)
    assert (await mail_client.post("/api/auth/verify-email", json={"token": token})).status_code == 200
    assert_bad_token(await mail_client.post("/api/auth/verify-email", json={"token": token}))


async def test_an_unknown_verification_token_is_400_naming_token(
    mail_client: Client, smtp_server: SMTPTestServer, mail_settings: Settings
) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    for token in (secrets.token_urlsafe(32), "x", "a" * 200):
        assert_bad_token(await mail_client.post("/api/auth/verify-email", json={"token": token}))
    assert not await verified_in_db(mail_settings.database_url, email)


async def test_a_missing_or_malformed_token_is_400_naming_token(mail_client: Client) -> None:
    bodies: list[dict[str, object]] = [{}, {"token": ""}, {"token": 42}, {"token": None}, {"token": "a" * 201}]
    for body in bodies:
        response = await mail_client.post("/api/auth/verify-email", json=body)
        assert response.status_code == 400, body
        assert error_keys(response) == ["token"], body


async def test_verification_token_expires_after_24_hours(
    mail_client: Client, smtp_server: SMTPTestServer, mail_settings: Settings, clock: PinnedClock
) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    token = token_in(smtp_server, email, VERIFY_SUBJECT, 1)
    clock.pinned = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=24, seconds=1)
    assert_bad_token(await mail_client.post("/api/auth/verify-email", json={"token": token}))
    assert not await verified_in_db(mail_settings.database_url, email)


async def test_verification_token_still_works_shortly_before_24_hours(
    mail_client: Client, smtp_server: SMTPTestServer, clock: PinnedClock
) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    token = token_in(smtp_server, email, VERIFY_SUBJECT, 1)
    clock.pinned = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=23, minutes=59)
    response = await mail_client.post("/api/auth/verify-email", json={"token": token})
    assert response.status_code == 200, response.text


async def test_mailed_tokens_are_random_and_stored_only_as_hashes(
    mail_client: Client, smtp_server: SMTPTestServer, mail_settings: Settings
) -> None:
    first, second = new_address(), new_address()
    await sign_up(mail_client, first)
    await sign_up(mail_client, second)
    tokens = [token_in(smtp_server, first, VERIFY_SUBJECT, 2), token_in(smtp_server, second, VERIFY_SUBJECT, 2)]
    assert tokens[0] != tokens[1]
    for token in tokens:
        assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) >= 16  # ≥ 128 bits
        stored = await query_scalar(
            mail_settings.database_url,
            "SELECT count(*) FROM account_tokens WHERE token_hash = :t OR email = :t OR purpose = :t",
            t=token,
        )
        assert stored == 0
    hashes = await query_scalar(mail_settings.database_url, "SELECT count(DISTINCT token_hash) FROM account_tokens")
    assert hashes == 2


async def test_verification_email_route_sends_a_new_working_link(
    mail_client: Client, smtp_server: SMTPTestServer
) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    first = token_in(smtp_server, email, VERIFY_SUBJECT, 1)
    response = await mail_client.post(
        "/api/users/me/verification-email", headers=await access_headers(mail_client, email)
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"detail": f"A verification link is on its way to {email}"}
    mails = [m for m in smtp_server.wait_for(2) if m["To"] == email and m["Subject"] == VERIFY_SUBJECT]
    assert len(mails) == 2
    second = link_in(mails[-1])[1]
    assert second != first
    verified = await mail_client.post("/api/auth/verify-email", json={"token": second})
    assert verified.status_code == 200
    assert verified.json()["email_verified"] is True


async def test_verifying_voids_the_other_verification_links(mail_client: Client, smtp_server: SMTPTestServer) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    first = token_in(smtp_server, email, VERIFY_SUBJECT, 1)
    headers = await access_headers(mail_client, email)
    assert (await mail_client.post("/api/users/me/verification-email", headers=headers)).status_code == 202
    second = token_in(smtp_server, email, VERIFY_SUBJECT, 2)
    assert (await mail_client.post("/api/auth/verify-email", json={"token": second})).status_code == 200
    assert_bad_token(await mail_client.post("/api/auth/verify-email", json={"token": first}))


async def test_verification_email_for_a_verified_address_is_409(
    mail_client: Client, smtp_server: SMTPTestServer, mail_settings: Settings
) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    token = token_in(smtp_server, email, VERIFY_SUBJECT, 1)
    assert (await mail_client.post("/api/auth/verify-email", json={"token": token})).status_code == 200
    response = await mail_client.post(
        "/api/users/me/verification-email", headers=await access_headers(mail_client, email)
    )
    assert response.status_code == 409
    assert response.json()["status_code"] == 409
    assert "already verified" in response.json()["detail"]
    assert await outbox_count(mail_settings.database_url, email) == 1  # the signup's only


async def test_verification_email_needs_an_access_token(mail_client: Client, smtp_server: SMTPTestServer) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    missing = await mail_client.post("/api/users/me/verification-email")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    forged = await mail_client.post("/api/users/me/verification-email", headers=bearer("not.a.token"))
    assert forged.status_code == 401
