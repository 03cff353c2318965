"""The account pages in a real browser (Debian's Chromium, headless, JavaScript off) against a live
server that mails through a real SMTP server.

The links come from the mails the server sent, built from PUBLIC_URL (the live server's own
address here); a person opens them, types, presses the button and reads the outcome, and the API
then agrees. Screenshots are saved in artifacts/. Without Chromium the test is skipped, except in
CI (CI=true), where it fails.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import ConsoleMessage, Page, ViewportSize, expect, sync_playwright

from tests.conftest import TEST_JWT_SECRET, in_ci
from tests.live_server import free_port, server_env
from tests.live_server import live_server as running_server
from tests.smtp_server import SMTPTestServer, link_in

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[2] / "artifacts"
# No sandbox as root in a container; no background traffic to hosts this machine cannot reach.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
PHONE: ViewportSize = {"width": 390, "height": 844}  # an iPhone 12-sized screen
OLD_PASSWORD, NEW_PASSWORD = "the old browser passphrase", "a brand new browser passphrase"


class Service:
    def __init__(self, base_url: str, smtp: SMTPTestServer) -> None:
        self.base_url = base_url
        self.smtp = smtp

    def sign_up(self) -> str:
        email = f"browser-{uuid.uuid4().hex[:10]}@example.com"
        response = httpx.post(f"{self.base_url}/api/auth/signup", json={"email": email, "password": OLD_PASSWORD})
        assert response.status_code == 201, response.text
        return email

    def log_in(self, email: str, password: str) -> httpx.Response:
        return httpx.post(f"{self.base_url}/api/auth/login", json={"email": email, "password": password})

    def mail(self, to: str, subject: str, timeout: float = 15) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [message for message in self.smtp.mails_to(to) if message["Subject"] == subject]
            if found:
                return found[-1]
            time.sleep(0.1)
        raise AssertionError(f"no mail {subject!r} to {to} in {timeout} s")

    def link(self, to: str, subject: str) -> str:
        link, _ = link_in(self.mail(to, subject))
        # Built from PUBLIC_URL, which is this server.
        assert link.startswith(f"{self.base_url}/account/"), link
        return link

    def reset_link(self, email: str) -> str:
        response = httpx.post(f"{self.base_url}/api/auth/password-reset", json={"email": email})
        assert response.status_code == 202, response.text
        return self.link(email, "Reset your password")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    smtp = SMTPTestServer()
    smtp.start()
    port = free_port()
    env = server_env(
        JWT_SECRET=TEST_JWT_SECRET, ARGON2_TIME_COST="1", ARGON2_MEMORY_COST_KIB="1024", ARGON2_PARALLELISM="1",
        SMTP_URL=smtp.url, MAIL_POLL_SECONDS="0.2", MAIL_RETRY_MAX_SECONDS="1",
        PUBLIC_URL=f"http://127.0.0.1:{port}", RATE_LIMIT_AUTH="0", RATE_LIMIT_LOGIN_FAILURES="0",
    )  # fmt: skip
    try:
        # The zero-setup SQLite default, in a folder of its own.
        with running_server(tmp_path_factory.mktemp("account-pages"), env, port=port) as base_url:
            yield Service(base_url, smtp)
    finally:
        smtp.stop()


@pytest.fixture
def page(service: Service) -> Iterator[Page]:
    """A phone-sized page with JavaScript off: the pages must work without it."""
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=PHONE, java_script_enabled=False)
        page = context.new_page()
        blocked: list[str] = []
        complaints: list[str] = []
        page.on("requestfailed", lambda request: blocked.append(request.url))

        def on_console(message: ConsoleMessage) -> None:
            # A CSP violation, for one; not the 400 of a page that says a link is invalid.
            if message.type in ("error", "warning") and "the server responded with a status of 400" not in message.text:
                complaints.append(message.text)

        page.on("console", on_console)
        yield page
        browser.close()
    assert not blocked, f"the page tried to fetch what it could not: {blocked}"
    assert not complaints, f"the browser complained: {complaints}"


def assert_fits_the_screen(page: Page) -> None:
    """Readable on a phone: nothing wider than the screen, text not shrunk."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px screen"
    font_size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert font_size >= 16


def test_a_password_reset_from_the_mailed_link(service: Service, page: Page) -> None:
    email = service.sign_up()
    link = service.reset_link(email)

    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    assert_fits_the_screen(page)
    page.screenshot(path=str(ARTIFACTS / "account-reset-password-form.png"), full_page=True)
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("The same password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()

    expect(page.get_by_role("status")).to_have_text(
        "Your password has been changed, and every device signed out. Log in with the new password."
    )
    expect(page.locator("form")).to_have_count(0)
    assert page.url == f"{service.base_url}/api/auth/password-reset/confirm"  # the contract's route answered
    assert_fits_the_screen(page)
    page.screenshot(path=str(ARTIFACTS / "account-reset-password-done.png"), full_page=True)

    assert service.log_in(email, NEW_PASSWORD).status_code == 200
    assert service.log_in(email, OLD_PASSWORD).status_code == 401


def test_a_mistyped_second_password_shows_the_problem_and_the_form_again(service: Service, page: Page) -> None:
    email = service.sign_up()
    page.goto(service.reset_link(email))
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("The same password again").fill(NEW_PASSWORD + "s")
    page.get_by_role("button", name="Set the new password").click()

    expect(page.get_by_role("alert")).to_have_text("The two passwords differ; type the same one twice.")
    expect(page.get_by_label("New password")).to_be_visible()
    expect(page.get_by_label("New password")).to_have_value("")  # passwords are never sent back
    assert_fits_the_screen(page)
    page.screenshot(path=str(ARTIFACTS / "account-reset-password-mistyped.png"), full_page=True)
    assert service.log_in(email, OLD_PASSWORD).status_code == 200  # nothing changed

    # The form that came back still holds the link's token: typing it right now works.
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("The same password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password has been changed")
    assert service.log_in(email, NEW_PASSWORD).status_code == 200


def test_the_verification_link_confirms_the_address(service: Service, page: Page) -> None:
    email = service.sign_up()
    link = service.link(email, "Confirm your email address")

    page.goto(link)
    expect(page.get_by_role("heading", name="Confirm your email address")).to_be_visible()
    page.get_by_role("button", name="Confirm my address").click()
    expect(page.get_by_role("status")).to_have_text(
        "Thank you: your email address is confirmed. You can close this page."
    )
    assert_fits_the_screen(page)
    page.screenshot(path=str(ARTIFACTS / "account-verify-email-done.png"), full_page=True)

    tokens = service.log_in(email, OLD_PASSWORD).json()
    me = httpx.get(f"{service.base_url}/api/users/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email_verified"] is True

    # The link is used up: opening it still shows the form, confirming says it is invalid.
    page.goto(link)
    page.get_by_role("button", name="Confirm my address").click()
    expect(page.get_by_role("alert")).to_contain_text("The link is invalid, expired or already used")
    page.screenshot(path=str(ARTIFACTS / "account-verify-email-used.png"), full_page=True)
