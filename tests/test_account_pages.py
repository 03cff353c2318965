"""The account pages the links in mails open (accounts/pages.py), over HTTP, on both databases.

Opening a link only shows a form holding the token; the form posts it, urlencoded, to the
contract's API route, which answers a form post with the page saying what happened and a JSON
post with JSON, as before.
"""

from __future__ import annotations

import html
import re
import urllib.parse
import uuid
from email.message import EmailMessage

import httpx
import pytest

from contacts_api.config import Settings
from tests.conftest import PASSWORD, Client, query_scalar
from tests.smtp_server import SMTPTestServer, link_in

# page, the API route its form posts to (the contract's table), its title
PAGES = [
    ("/account/verify-email", "/api/auth/verify-email", "Confirm your email address"),
    ("/account/reset-password", "/api/auth/password-reset/confirm", "Choose a new password"),
    ("/account/confirm-email", "/api/auth/confirm-email-change", "Confirm your new email address"),
]
PAGE_PATHS = [page for page, _, _ in PAGES]
ACTIONS = [action for _, action, _ in PAGES]
NEW_PASSWORD = "another fine passphrase"
INVALID = "The link is invalid, expired or already used"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def hidden_token(page: str) -> str:
    """The value of the form's hidden token field, unescaped as a browser would."""
    found = re.search(r'<input type="hidden" name="token" value="([^"]*)">', page)
    assert found is not None, page
    return html.unescape(found.group(1))


def form_action(page: str) -> str:
    found = re.search(r'<form method="post" action="([^"]*)">', page)
    assert found is not None, page
    return html.unescape(found.group(1))


def outcome(page: str) -> str:
    found = re.search(r'<p class="outcome [a-z]+" role="[a-z]+" id="outcome">([^<]*)</p>', page)
    assert found is not None, page
    return html.unescape(found.group(1))


def local(link: str) -> str:
    """The path and query of a mailed link, for the test client."""
    parts = urllib.parse.urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == "http://127.0.0.1:8000"  # PUBLIC_URL's default
    return f"{parts.path}?{parts.query}"


def assert_is_page(response: httpx.Response, status_code: int) -> str:
    assert response.status_code == status_code, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "form-action 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in response.text
    return response.text


def mail_with_subject(server: SMTPTestServer, address: str, subject: str, count: int) -> EmailMessage:
    """The newest mail to `address` with `subject`, once `count` mails in all have arrived."""
    server.wait_for(count)
    found = [message for message in server.mails_to(address) if message["Subject"] == subject]
    assert found, [message["Subject"] for message in server.mails_to(address)]
    return found[-1]


async def sign_up(client: Client, email: str | None = None) -> str:
    email = email or f"page-{uuid.uuid4().hex[:10]}@example.com"
    response = await client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return email


async def log_in(client: Client, email: str, password: str) -> httpx.Response:
    return await client.post("/api/auth/login", json={"email": email, "password": password})


async def me(client: Client, email: str, password: str) -> dict[str, object]:
    login = await log_in(client, email, password)
    assert login.status_code == 200, login.text
    response = await client.get("/api/users/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def reset_link(client: Client, server: SMTPTestServer, email: str, count: int = 2) -> tuple[str, str]:
    """Ask for a password reset; the link and token of the mail (after the signup's, by default)."""
    response = await client.post("/api/auth/password-reset", json={"email": email})
    assert response.status_code == 202, response.text
    return link_in(mail_with_subject(server, email, "Reset your password", count))


# Opening a link ------------------------------------------------------------------------------


@pytest.mark.parametrize(("page", "action", "title"), PAGES)
async def test_each_page_shows_a_form_holding_the_token(client: Client, page: str, action: str, title: str) -> None:
    token = "dGhpcy1pcy1ub3QtYS1yZWFsLXRva2Vu_-"
    text = assert_is_page(await client.get(page, params={"token": token}), 200)
    assert hidden_token(text) == token
    assert form_action(text) == action  # the contract's API route, same origin
    assert f"<h1>{title}</h1>" in text
    assert '<html lang="en">' in text
    assert 'type="submit"' in text
    assert "<script" not in text  # works without JavaScript: there is none


@pytest.mark.parametrize("page", PAGE_PATHS)
@pytest.mark.parametrize("query", ["", "?token=", "?other=1"])
async def test_a_link_without_its_token_says_it_is_incomplete(client: Client, page: str, query: str) -> None:
    text = assert_is_page(await client.get(f"{page}{query}"), 400)
    assert outcome(text) == "This link is incomplete: open the link from the mail exactly as it is."
    assert "<form" not in text
    assert 'id="again"' in text  # and what to do instead


@pytest.mark.parametrize("page", PAGE_PATHS)
async def test_an_absurdly_long_token_is_an_invalid_link(client: Client, page: str) -> None:
    text = assert_is_page(await client.get(page, params={"token": "a" * 5000}), 400)
    assert outcome(text).startswith(INVALID)
    assert "<form" not in text


@pytest.mark.parametrize("page", PAGE_PATHS)
async def test_the_token_is_escaped_in_the_page(client: Client, page: str) -> None:
    token = '"><script>alert(1)</script><input value="'
    response = await client.get(page, params={"token": token})
    text = assert_is_page(response, 200)
    assert "<script>" not in text
    assert '"><script' not in text
    assert hidden_token(text) == token  # the browser posts back exactly what the link held


async def test_an_escaped_token_stays_escaped_when_the_form_comes_again(client: Client) -> None:
    token = '"><script>alert(1)</script>'
    data = {"token": token, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD + "!"}
    text = assert_is_page(await client.post("/api/auth/password-reset/confirm", data=data), 400)
    assert "<script>" not in text
    assert hidden_token(text) == token


async def test_a_page_answers_head_like_get(client: Client) -> None:
    response = await client.head("/account/reset-password", params={"token": "abc"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["referrer-policy"] == "no-referrer"


# Posting the form with a bad token -----------------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("token", ["not-a-token", "x" * 43, "bad\x00token"])
async def test_a_form_post_with_a_bad_token_says_the_link_is_invalid(client: Client, action: str, token: str) -> None:
    data = {"token": token, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}
    text = assert_is_page(await client.post(action, data=data), 400)
    assert outcome(text).startswith(INVALID)
    assert "<form" not in text  # a new link is needed: no form to try again with
    assert 'id="again"' in text


@pytest.mark.parametrize("action", ACTIONS)
async def test_a_form_post_without_a_token_says_the_link_is_incomplete(client: Client, action: str) -> None:
    text = assert_is_page(await client.post(action, content=b"", headers=FORM), 400)
    assert outcome(text).startswith("This link is incomplete")


@pytest.mark.parametrize("action", ACTIONS)
async def test_a_json_post_with_a_bad_token_still_answers_json(client: Client, action: str) -> None:
    body = {"token": "not-a-token"} | ({"new_password": NEW_PASSWORD} if "password" in action else {})
    response = await client.post(action, json=body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    error = response.json()
    assert error["status_code"] == 400
    assert error["extra"][0]["key"] == "token"
    assert error["extra"][0]["message"].startswith(INVALID)


# Real links, from real mails -----------------------------------------------------------------


async def test_verification_link_opened_twice_then_confirmed(mail_client: Client, smtp_server: SMTPTestServer) -> None:
    email = await sign_up(mail_client)
    link, token = link_in(mail_with_subject(smtp_server, email, "Confirm your email address", 1))
    assert local(link).startswith("/account/verify-email?token=")
    for _ in range(2):  # a mail scanner, then the person: opening never uses the token up
        page = assert_is_page(await mail_client.get(local(link)), 200)
        assert hidden_token(page) == token
    assert (await me(mail_client, email, PASSWORD))["email_verified"] is False

    text = assert_is_page(await mail_client.post(form_action(page), data={"token": hidden_token(page)}), 200)
    assert outcome(text) == "Thank you: your email address is confirmed. You can close this page."
    assert 'class="outcome ok"' in text
    assert (await me(mail_client, email, PASSWORD))["email_verified"] is True

    again = assert_is_page(await mail_client.post(form_action(page), data={"token": token}), 400)
    assert outcome(again).startswith(INVALID)  # single use


async def test_verification_by_json_still_answers_the_user(mail_client: Client, smtp_server: SMTPTestServer) -> None:
    email = await sign_up(mail_client)
    _, token = link_in(mail_with_subject(smtp_server, email, "Confirm your email address", 1))
    response = await mail_client.post("/api/auth/verify-email", json={"token": token})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["email"] == email
    assert response.json()["email_verified"] is True


async def test_reset_link_opened_twice_then_a_new_password_set(
    mail_client: Client, smtp_server: SMTPTestServer
) -> None:
    email = await sign_up(mail_client)
    old_login = await log_in(mail_client, email, PASSWORD)
    link, _ = await reset_link(mail_client, smtp_server, email)
    assert local(link).startswith("/account/reset-password?token=")
    for _ in range(2):
        page = assert_is_page(await mail_client.get(local(link)), 200)
    assert form_action(page) == "/api/auth/password-reset/confirm"
    assert 'name="new_password"' in page
    assert 'name="new_password_again"' in page

    data = {"token": hidden_token(page), "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}
    text = assert_is_page(await mail_client.post(form_action(page), data=data), 200)
    assert outcome(text).startswith("Your password has been changed")
    assert "<form" not in text

    assert (await log_in(mail_client, email, NEW_PASSWORD)).status_code == 200
    assert (await log_in(mail_client, email, PASSWORD)).status_code == 401
    # Every session ended; the mailed address counts as verified now.
    old_access = old_login.json()["access_token"]
    stale = await mail_client.get("/api/users/me", headers={"Authorization": f"Bearer {old_access}"})
    assert stale.status_code == 401
    assert (await me(mail_client, email, NEW_PASSWORD))["email_verified"] is True
    again = assert_is_page(await mail_client.post(form_action(page), data=data), 400)
    assert outcome(again).startswith(INVALID)


@pytest.mark.parametrize(
    ("new_password", "again", "problem"),
    [
        (NEW_PASSWORD, NEW_PASSWORD + "x", "The two passwords differ; type the same one twice."),
        ("", "", "Type a new password."),
        ("short", "short", "The new password"),
        ("password123", "password123", "The new password"),  # among the most common
    ],
)
async def test_a_refused_password_shows_the_problem_and_the_form_again(
    mail_client: Client, smtp_server: SMTPTestServer, mail_settings: Settings, new_password: str, again: str,
    problem: str,
) -> None:  # fmt: skip
    email = await sign_up(mail_client)
    _, token = await reset_link(mail_client, smtp_server, email)
    data = {"token": token, "new_password": new_password, "new_password_again": again}
    text = assert_is_page(await mail_client.post("/api/auth/password-reset/confirm", data=data), 400)
    assert outcome(text).startswith(problem)
    assert 'class="outcome problem"' in text
    assert hidden_token(text) == token  # the form again, to try once more
    assert form_action(text) == "/api/auth/password-reset/confirm"
    assert 'id="again"' not in text
    # Nothing happened: the old password works, the token was not used.
    assert (await log_in(mail_client, email, PASSWORD)).status_code == 200
    used_tokens = "SELECT count(*) FROM account_tokens WHERE used_at IS NOT NULL"
    used = await query_scalar(mail_settings.database_url, used_tokens)
    assert used == 0
    data = {"token": token, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}
    assert assert_is_page(await mail_client.post("/api/auth/password-reset/confirm", data=data), 200)
    assert (await log_in(mail_client, email, NEW_PASSWORD)).status_code == 200


async def test_a_reset_by_json_still_answers_204(mail_client: Client, smtp_server: SMTPTestServer) -> None:
    email = await sign_up(mail_client)
    _, token = await reset_link(mail_client, smtp_server, email)
    response = await mail_client.post(
        "/api/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert response.status_code == 204
    assert (await log_in(mail_client, email, NEW_PASSWORD)).status_code == 200


async def test_email_change_link_opened_twice_then_confirmed(mail_client: Client, smtp_server: SMTPTestServer) -> None:
    email = await sign_up(mail_client)
    login = await log_in(mail_client, email, PASSWORD)
    new_email = f"moved-{uuid.uuid4().hex[:10]}@example.com"
    response = await mail_client.post(
        "/api/users/me/email",
        json={"new_email": new_email, "password": PASSWORD},
        headers={"Authorization": f"Bearer {login.json()['access_token']}"},
    )
    assert response.status_code == 202, response.text
    link, token = link_in(mail_with_subject(smtp_server, new_email, "Confirm your new email address", 3))
    assert local(link).startswith("/account/confirm-email?token=")
    for _ in range(2):
        page = assert_is_page(await mail_client.get(local(link)), 200)
    assert hidden_token(page) == token

    text = assert_is_page(await mail_client.post(form_action(page), data={"token": token}), 200)
    assert outcome(text).startswith("Your email address has been changed")
    changed = await me(mail_client, new_email, PASSWORD)
    assert changed["email"] == new_email
    assert changed["email_verified"] is True
    assert (await log_in(mail_client, email, PASSWORD)).status_code == 401


async def test_a_verification_token_on_the_reset_form_is_an_invalid_link(
    mail_client: Client, smtp_server: SMTPTestServer
) -> None:
    email = await sign_up(mail_client)
    _, token = link_in(mail_with_subject(smtp_server, email, "Confirm your email address", 1))
    data = {"token": token, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}
    text = assert_is_page(await mail_client.post("/api/auth/password-reset/confirm", data=data), 400)
    assert outcome(text).startswith(INVALID)
    assert (await log_in(mail_client, email, PASSWORD)).status_code == 200


async def change_to_an_address_then_taken(mail_client: Client, smtp_server: SMTPTestServer) -> tuple[str, str]:
    """Ask for an email change, then let another account take the new address; (old address, token)."""
    email = await sign_up(mail_client)
    login = await log_in(mail_client, email, PASSWORD)
    new_email = f"wanted-{uuid.uuid4().hex[:10]}@example.com"
    response = await mail_client.post(
        "/api/users/me/email",
        json={"new_email": new_email, "password": PASSWORD},
        headers={"Authorization": f"Bearer {login.json()['access_token']}"},
    )
    assert response.status_code == 202, response.text
    _, token = link_in(mail_with_subject(smtp_server, new_email, "Confirm your new email address", 3))
    await sign_up(mail_client, new_email)  # someone else takes it first
    return email, token


async def test_an_address_taken_meanwhile_is_a_json_409(mail_client: Client, smtp_server: SMTPTestServer) -> None:
    email, token = await change_to_an_address_then_taken(mail_client, smtp_server)
    response = await mail_client.post("/api/auth/confirm-email-change", json={"token": token})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/json"
    assert (await me(mail_client, email, PASSWORD))["email"] == email


async def test_an_address_taken_meanwhile_is_said_on_the_page(mail_client: Client, smtp_server: SMTPTestServer) -> None:
    email, token = await change_to_an_address_then_taken(mail_client, smtp_server)
    text = assert_is_page(await mail_client.post("/api/auth/confirm-email-change", data={"token": token}), 409)
    assert outcome(text) == "An account with this email already exists."
    assert (await me(mail_client, email, PASSWORD))["email"] == email
