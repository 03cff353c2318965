"""Password reset (the contract's "Accounts: email, recovery and sessions"): POST
/api/auth/password-reset and /api/auth/password-reset/confirm, against a real SMTP server, on both
databases; and the purpose binding of every mailed token."""

from __future__ import annotations

import datetime
import logging
import secrets
import statistics
import time
import urllib.parse
from typing import Any

import httpx
import pytest

from contacts_api.config import Settings
from contacts_api.logs import JSONFormatter
from tests.account_mail import (
    CHANGE_SUBJECT,
    DEFAULT_LINK_BASE,
    NEW_PASSWORD,
    RESET_ACCEPTED,
    RESET_SUBJECT,
    VERIFY_SUBJECT,
    access_headers,
    assert_bad_token,
    bearer,
    error_keys,
    log_in,
    mail_app,
    mail_to,
    new_address,
    outbox_count,
    request_reset,
    sign_up,
    token_in,
)
from tests.conftest import PASSWORD, Client, PinnedClock, query_scalar, run_concurrently
from tests.smtp_server import SMTPTestServer, html_of, link_in, text_of

CONFIRM = "/api/auth/password-reset/confirm"


async def reset_token(client: Client, server: SMTPTestServer, email: str, total: int) -> str:
    """Ask for a reset of `email`; the token of its mail, the `total`-th mail of the test."""
    await request_reset(client, email)
    return token_in(server, email, RESET_SUBJECT, total)


async def confirm(client: Client, token: str, new_password: str = NEW_PASSWORD) -> httpx.Response:
    return await client.post(CONFIRM, json={"token": token, "new_password": new_password})


# Asking for a reset ----------------------------------------------------------------------------


async def test_reset_request_answers_202_saying_what_happens_next(mail_client: Client) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    response = await mail_client.post("/api/auth/password-reset", json={"email": email})
    assert response.status_code == 202
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"detail": RESET_ACCEPTED}


async def test_reset_request_mails_a_link_to_the_reset_page(mail_client: Client, smtp_server: SMTPTestServer) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    await request_reset(mail_client, email)
    mail = mail_to(smtp_server, email, RESET_SUBJECT, 2)  # after the signup's verification mail
    link, token = link_in(mail)
    assert link == f"{DEFAULT_LINK_BASE}/reset-password?token={token}"
    assert link in html_of(mail).replace("&amp;", "&")


async def test_reset_request_finds_the_account_whatever_the_case_and_spaces(
    mail_client: Client, smtp_server: SMTPTestServer
) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    await request_reset(mail_client, f"  {email.upper()} ")
    assert mail_to(smtp_server, email, RESET_SUBJECT, 2)["To"] == email


async def test_reset_request_for_an_unknown_address_sends_no_mail(
    mail_client: Client, smtp_server: SMTPTestServer, mail_settings: Settings
) -> None:
    unknown = new_address("nobody")
    response = await mail_client.post("/api/auth/password-reset", json={"email": unknown})
    assert response.status_code == 202
    assert response.json() == {"detail": RESET_ACCEPTED}
    assert await outbox_count(mail_settings.database_url, unknown) == 0
    assert await query_scalar(mail_settings.database_url, "SELECT count(*) FROM account_tokens") == 0
    # A mail queued after it arrives: had one been queued for the unknown address, it would have too.
    marker = new_address("marker")
    await sign_up(mail_client, marker)
    smtp_server.wait_for(1)
    assert smtp_server.mails_to(unknown) == []
    assert len(smtp_server.messages) == 1


def comparable(response: httpx.Response) -> tuple[int, bytes, list[tuple[str, str]]]:
    headers = sorted((name, value) for name, value in response.headers.items() if name not in {"x-request-id", "date"})
    return response.status_code, response.content, headers


async def test_reset_answer_is_the_same_for_an_unknown_address(mail_client: Client) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    known = await mail_client.post("/api/auth/password-reset", json={"email": email})
    unknown = await mail_client.post("/api/auth/password-reset", json={"email": new_address("nobody")})
    assert comparable(known) == comparable(unknown)


async def test_reset_answer_takes_as_long_for_an_unknown_address(
    database_url: str, smtp_server: SMTPTestServer, clock: PinnedClock
) -> None:
    # No allowance: every request for the known account does all its work (token, mail). That work
    # (two INSERTs, a commit, waking the mail worker) is what the unknown address skips; measured on
    # a 2-core machine it costs 5-13 ms (SQLite) and ~5 ms (PostgreSQL): the 25 ms floor absorbs it (a known gap).
    async with mail_app(database_url, smtp_server, clock, rate_limit_mails=0) as client:
        email = new_address()
        await sign_up(client, email)
        durations: dict[str, list[float]] = {"known": [], "unknown": []}
        for round_number in range(16):
            for kind, address in (("known", email), ("unknown", new_address("nobody"))):
                started = time.perf_counter()
                response = await client.post("/api/auth/password-reset", json={"email": address})
                elapsed = time.perf_counter() - started
                assert response.status_code == 202
                if round_number > 0:  # the first round warms up
                    durations[kind].append(elapsed)
        known, unknown = statistics.median(durations["known"]), statistics.median(durations["unknown"])
        assert abs(known - unknown) <= max(0.025, 0.5 * max(known, unknown)), (known, unknown)


async def test_reset_request_with_a_malformed_email_is_400_naming_email(mail_client: Client) -> None:
    bodies: list[dict[str, Any]] = [{"email": "not-an-email"}, {"email": ""}, {"email": 7}, {}, {"email": "a@b"}]
    for body in bodies:
        response = await mail_client.post("/api/auth/password-reset", json=body)
        assert response.status_code == 400, body
        assert error_keys(response) == ["email"], body


# Confirming ------------------------------------------------------------------------------------


async def test_reset_sets_the_new_password(mail_client: Client, smtp_server: SMTPTestServer) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    token = await reset_token(mail_client, smtp_server, email, 2)
    response = await confirm(mail_client, token)
    assert response.status_code == 204
    assert response.content == b""
    assert (await log_in(mail_client, email, NEW_PASSWORD)).status_code == 200
    assert (await log_in(mail_client, email, PASSWORD)).status_code == 401


async def test_reset_token_is_single_use(mail_client: Client, smtp_server: SMTPTestServer) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    token = await reset_token(mail_client, smtp_server, email, 2)
    assert (await confirm(mail_client, token)).status_code == 204
    assert_bad_token(await confirm(mail_client, token, "yet another passphrase"))
    assert (await log_in(mail_client, email, NEW_PASSWORD)).status_code == 200


async def test_an_unknown_reset_token_is_400_naming_token(mail_client: Client) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    for token in (secrets.token_urlsafe(32), "x", "a" * 200):
        assert_bad_token(await confirm(mail_client, token))
    assert (await log_in(mail_client, email, PASSWORD)).status_code == 200


async def test_reset_token_expires_after_30_minutes(
    mail_client: Client, smtp_server: SMTPTestServer, clock: PinnedClock
) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    token = await reset_token(mail_client, smtp_server, email, 2)
    clock.pinned = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=30, seconds=1)
    assert_bad_token(await confirm(mail_client, token))
    assert (await log_in(mail_client, email, PASSWORD)).status_code == 200


async def test_reset_token_still_works_shortly_before_30_minutes(
    mail_client: Client, smtp_server: SMTPTestServer, clock: PinnedClock
) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    token = await reset_token(mail_client, smtp_server, email, 2)
    clock.pinned = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=29)
    assert (await confirm(mail_client, token)).status_code == 204


async def test_a_newer_reset_request_leaves_the_older_link_valid(
    mail_client: Client, smtp_server: SMTPTestServer
) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    older = await reset_token(mail_client, smtp_server, email, 2)
    newer = await reset_token(mail_client, smtp_server, email, 3)
    assert older != newer
    assert (await confirm(mail_client, older)).status_code == 204
    assert (await log_in(mail_client, email, NEW_PASSWORD)).status_code == 200


async def test_using_one_reset_link_voids_the_others(mail_client: Client, smtp_server: SMTPTestServer) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    older = await reset_token(mail_client, smtp_server, email, 2)
    newer = await reset_token(mail_client, smtp_server, email, 3)
    assert (await confirm(mail_client, newer)).status_code == 204
    assert_bad_token(await confirm(mail_client, older, "yet another passphrase"))
    assert (await log_in(mail_client, email, NEW_PASSWORD)).status_code == 200


async def test_reset_revokes_every_session(
    mail_client: Client, smtp_server: SMTPTestServer, mail_settings: Settings
) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    logins = [(await log_in(mail_client, email)).json() for _ in range(2)]
    token = await reset_token(mail_client, smtp_server, email, 2)
    assert (await confirm(mail_client, token)).status_code == 204
    for pair in logins:
        me = await mail_client.get("/api/users/me", headers=bearer(pair["access_token"]))
        assert me.status_code == 401
        refreshed = await mail_client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert refreshed.status_code == 401
    live = await query_scalar(mail_settings.database_url, "SELECT count(*) FROM sessions WHERE revoked_at IS NULL")
    assert live == 0


async def test_reset_marks_the_email_verified(
    mail_client: Client, smtp_server: SMTPTestServer, mail_settings: Settings
) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    token = await reset_token(mail_client, smtp_server, email, 2)
    assert (await confirm(mail_client, token)).status_code == 204
    verified = await query_scalar(
        mail_settings.database_url, "SELECT email_verified FROM users WHERE email = :e", e=email
    )
    assert bool(verified) is True
    me = await mail_client.get("/api/users/me", headers=await access_headers(mail_client, email, NEW_PASSWORD))
    assert me.json()["email_verified"] is True


async def test_reset_applies_the_password_policy(mail_client: Client, smtp_server: SMTPTestServer) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    token = await reset_token(mail_client, smtp_server, email, 2)
    # Too short, too long, among the most common, empty, unstorable.
    for new_password in ("short", "x" * 129, "password123", "", "nul\x00inside the passphrase"):
        response = await confirm(mail_client, token, new_password)
        assert response.status_code == 400, new_password
        assert error_keys(response) == ["new_password"], new_password
    # Nothing happened: the old password works and the token is still good.
    assert (await log_in(mail_client, email, PASSWORD)).status_code == 200
    assert (await confirm(mail_client, token)).status_code == 204


async def test_reset_confirm_without_a_field_is_400_naming_it(mail_client: Client) -> None:
    for body, field in (({"new_password": NEW_PASSWORD}, "token"), ({"token": "abc"}, "new_password")):
        response = await mail_client.post(CONFIRM, json=body)
        assert response.status_code == 400
        assert error_keys(response) == [field]


async def test_concurrent_confirms_with_one_token_reset_once(mail_client: Client, smtp_server: SMTPTestServer) -> None:
    email = new_address()
    await sign_up(mail_client, email)
    token = await reset_token(mail_client, smtp_server, email, 2)
    passwords = ["first concurrent passphrase", "second concurrent passphrase"]
    responses = run_concurrently(
        mail_client,
        *[lambda http, p=p: http.post(CONFIRM, json={"token": token, "new_password": p}) for p in passwords],
    )
    assert sorted(response.status_code for response in responses) == [204, 400]
    winner = passwords[[response.status_code for response in responses].index(204)]
    loser = next(p for p in passwords if p != winner)
    assert (await log_in(mail_client, email, winner)).status_code == 200
    assert (await log_in(mail_client, email, loser)).status_code == 401


# Where links point -----------------------------------------------------------------------------


async def test_reset_link_is_built_from_public_url_not_from_the_request_host(
    database_url: str, smtp_server: SMTPTestServer, clock: PinnedClock
) -> None:
    public_url = "https://contacts.example.org"
    async with mail_app(database_url, smtp_server, clock, public_url=public_url) as client:
        email = new_address()
        await sign_up(client, email)
        forged = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"}
        await request_reset(client, email, headers=forged)
        mail = mail_to(smtp_server, email, RESET_SUBJECT, 2)
        link, token = link_in(mail)
        assert link == f"{public_url}/account/reset-password?token={token}"
        assert "evil.example" not in text_of(mail)
        assert "evil.example" not in html_of(mail)


async def test_account_link_base_url_replaces_public_url_account(
    database_url: str, smtp_server: SMTPTestServer, clock: PinnedClock
) -> None:
    base = "https://app.example.org/auth"
    async with mail_app(
        database_url, smtp_server, clock, public_url="https://api.example.org", account_link_base_url=base + "/"
    ) as client:
        email = new_address()
        await sign_up(client, email)
        verification_link, verification_token = link_in(mail_to(smtp_server, email, VERIFY_SUBJECT, 1))
        assert verification_link == f"{base}/verify-email?token={verification_token}"
        await request_reset(client, email)
        reset_link, reset = link_in(mail_to(smtp_server, email, RESET_SUBJECT, 2))
        assert reset_link == f"{base}/reset-password?token={reset}"


# Secrets stay out of the logs ------------------------------------------------------------------


def local(link: str) -> str:
    """The path and query of a mailed link, for the test client."""
    parts = urllib.parse.urlsplit(link)
    return f"{parts.path}?{parts.query}"


# The test's own side logs what it sends and receives: its SMTP server (aiosmtpd, "mail.log") every
# line of a mail, its HTTP client (httpx, a dev dependency only) every URL. Neither is the service.
TEST_SIDE_LOGGERS = {"mail.log", "httpx"}


async def test_no_mailed_token_appears_in_the_logs(
    mail_client: Client, smtp_server: SMTPTestServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    email = new_address()
    await sign_up(mail_client, email)
    verification_link, verification = link_in(mail_to(smtp_server, email, VERIFY_SUBJECT, 1))
    assert (await mail_client.get(local(verification_link))).status_code == 200  # the link opened
    assert (await mail_client.post("/api/auth/verify-email", json={"token": verification})).status_code == 200
    await request_reset(mail_client, email)
    reset_link, reset = link_in(mail_to(smtp_server, email, RESET_SUBJECT, 2))
    assert (await mail_client.get(local(reset_link))).status_code == 200
    assert (await confirm(mail_client, reset)).status_code == 204
    assert_bad_token(await confirm(mail_client, reset))  # a used token, refused: still not logged
    assert (await log_in(mail_client, email, NEW_PASSWORD)).status_code == 200

    records = [record for record in caplog.records if record.name not in TEST_SIDE_LOGGERS]
    assert any(record.name == "contacts_api.access" for record in records)  # the flow was logged…
    formatter = JSONFormatter()
    for record in records:
        text = f"{formatter.format(record)}\n{record.getMessage()}\n{vars(record)!r}"
        for secret in (verification, reset, PASSWORD, NEW_PASSWORD):
            assert secret not in text, (record.name, record.getMessage())  # …without its secrets


# Purpose binding: each token works only on its own route -----------------------------------------


async def mailed_token(client: Client, server: SMTPTestServer, purpose: str) -> tuple[str, str]:
    """A fresh account and a token of `purpose` mailed to it: (the account's address, the token)."""
    email = new_address()
    await sign_up(client, email)
    if purpose == "verify":
        return email, token_in(server, email, VERIFY_SUBJECT, 1)
    if purpose == "reset":
        return email, await reset_token(client, server, email, 2)
    new_email = new_address("new")
    response = await client.post(
        "/api/users/me/email",
        json={"new_email": new_email, "password": PASSWORD},
        headers=await access_headers(client, email),
    )
    assert response.status_code == 202, response.text
    return email, token_in(server, new_email, CHANGE_SUBJECT, 3)


ROUTE_OF = {
    "verify": ("/api/auth/verify-email", {}),
    "reset": (CONFIRM, {"new_password": NEW_PASSWORD}),
    "change": ("/api/auth/confirm-email-change", {}),
}
SUCCESS_OF = {"verify": 200, "reset": 204, "change": 200}


@pytest.mark.parametrize("purpose", list(ROUTE_OF))
async def test_a_mailed_token_is_refused_for_another_purpose(
    mail_client: Client, smtp_server: SMTPTestServer, mail_settings: Settings, purpose: str
) -> None:
    email, token = await mailed_token(mail_client, smtp_server, purpose)
    for used_for in ROUTE_OF.keys() - {purpose}:
        path, extra = ROUTE_OF[used_for]
        assert_bad_token(await mail_client.post(path, json={"token": token, **extra}))
    # Nothing changed, and the token still does what it was mailed for.
    assert (await log_in(mail_client, email, PASSWORD)).status_code == 200
    verified = await query_scalar(
        mail_settings.database_url, "SELECT email_verified FROM users WHERE email = :e", e=email
    )
    assert not verified
    path, extra = ROUTE_OF[purpose]
    assert (await mail_client.post(path, json={"token": token, **extra})).status_code == SUCCESS_OF[purpose]
