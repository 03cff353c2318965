"""The docs pages in a real browser (Debian's Chromium, headless) against a live server.

Swagger UI: sign in through "Authorize" with the OAuth2 password flow, run GET /api/contacts
from the page and see a 200. Scalar: the page renders the operations. Screenshots are saved in
artifacts/. Without Chromium the test is skipped, except in CI (CI=true), where it fails.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.conftest import TEST_JWT_SECRET, in_ci
from tests.live_server import live_server as running_server
from tests.live_server import server_env

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[2] / "artifacts"
EMAIL, PASSWORD = "swagger-user@example.com", "a browser passphrase"
# No sandbox as root in a container; no background traffic to hosts this machine cannot reach.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    env = server_env(JWT_SECRET=TEST_JWT_SECRET, ARGON2_TIME_COST="1", ARGON2_MEMORY_COST_KIB="1024",
                     ARGON2_PARALLELISM="1")  # fmt: skip
    # The zero-setup SQLite default, in a folder of its own.
    with running_server(tmp_path_factory.mktemp("browser"), env) as base_url:
        assert httpx.post(f"{base_url}/api/auth/signup", json={"email": EMAIL, "password": PASSWORD}).status_code == 201
        yield base_url


@pytest.fixture
def page(live_server: str) -> Iterator[Page]:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        blocked: list[str] = []
        page.on("requestfailed", lambda request: blocked.append(request.url))
        yield page
        browser.close()
    assert not blocked, f"the page tried to fetch what it could not: {blocked}"


def test_swagger_ui_authorizes_with_the_password_flow_and_lists_contacts(live_server: str, page: Page) -> None:
    page.goto(f"{live_server}/schema/swagger")
    page.locator(".swagger-ui .auth-wrapper .authorize").click()
    page.locator("#oauth_username").fill(EMAIL)
    page.locator("#oauth_password").fill(PASSWORD)
    page.locator(".modal-ux .auth-btn-wrapper .authorize").click()
    expect(page.locator(".modal-ux .auth-container h6")).to_contain_text("Authorized")
    page.locator(".modal-ux .btn-done").click()

    operation = page.locator("#operations-Contacts-listContacts")
    operation.locator(".opblock-summary").click()
    operation.locator(".try-out__btn").click()
    operation.locator(".execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    expect(status).to_have_text("200", timeout=15_000)
    expect(operation.locator(".live-responses-table .microlight").first).to_contain_text('"total": 0')
    operation.screenshot(path=str(ARTIFACTS / "swagger-authorized-list-contacts-200.png"))


def test_scalar_renders_the_operations(live_server: str, page: Page) -> None:
    page.goto(f"{live_server}/schema")
    expect(page.get_by_text("Log in and receive a token pair").first).to_be_visible(timeout=20_000)
    page.get_by_text("Contacts", exact=True).first.click()
    expect(page.get_by_text("List and search contacts").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "scalar.png"))


def add_a_contact(base_url: str) -> None:
    login = httpx.post(f"{base_url}/api/auth/login", json={"email": EMAIL, "password": PASSWORD}, timeout=10)
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    created = httpx.post(f"{base_url}/api/contacts", json={"first_name": "Downloaded"}, headers=headers, timeout=10)
    assert created.status_code == 201, created.text


def authorize_in_swagger(page: Page) -> None:
    page.locator(".swagger-ui .auth-wrapper .authorize").click()
    page.locator("#oauth_username").fill(EMAIL)
    page.locator("#oauth_password").fill(PASSWORD)
    page.locator(".modal-ux .auth-btn-wrapper .authorize").click()
    expect(page.locator(".modal-ux .auth-container h6")).to_contain_text("Authorized")
    page.locator(".modal-ux .btn-done").click()


def test_swagger_ui_imports_a_vcard_through_its_file_picker(live_server: str, page: Page, tmp_path: Path) -> None:
    card = tmp_path / "contacts.vcf"
    card.write_text("BEGIN:VCARD\r\nVERSION:3.0\r\nN:Picker;Filed;;;\r\nFN:Filed Picker\r\nEND:VCARD\r\n")
    page.goto(f"{live_server}/schema/swagger")
    authorize_in_swagger(page)

    operation = page.locator("#operations-Import_and_export-importContacts")
    operation.locator(".opblock-summary").click()
    operation.locator(".try-out__btn").click()
    # The multipart body, the first media type documented: a file input for the field `file`.
    operation.locator("input[type=file]").set_input_files(str(card))
    operation.locator(".execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    expect(status).to_have_text("200", timeout=15_000)
    expect(operation.locator(".live-responses-table .microlight").first).to_contain_text('"created": 1')
    operation.screenshot(path=str(ARTIFACTS / "swagger-import-file-picker-200.png"))


def test_swagger_ui_offers_the_export_as_a_download(live_server: str, page: Page) -> None:
    add_a_contact(live_server)  # an empty book is an empty body, for which Swagger UI shows no link
    page.goto(f"{live_server}/schema/swagger")
    authorize_in_swagger(page)

    operation = page.locator("#operations-Import_and_export-exportContacts")
    operation.locator(".opblock-summary").click()
    operation.locator(".try-out__btn").click()
    operation.locator(".execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    expect(status).to_have_text("200", timeout=15_000)
    # Content-Disposition: attachment makes Swagger UI show a download link rather than the text.
    expect(operation.get_by_text("Download file")).to_be_visible()
    operation.screenshot(path=str(ARTIFACTS / "swagger-export-download.png"))


def test_scalar_shows_the_import_and_export_operations(live_server: str, page: Page) -> None:
    page.goto(f"{live_server}/schema")
    expect(page.get_by_text("Log in and receive a token pair").first).to_be_visible(timeout=20_000)
    page.get_by_text("Import and export", exact=True).first.click()
    expect(page.get_by_text("Import a vCard or CSV file").first).to_be_visible()
    expect(page.get_by_text("Export the address book as vCard or CSV").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "scalar-import-export.png"))
