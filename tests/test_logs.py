"""Logs: one line per request, and never a password, token, hash or Authorization header."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from contacts_api.config import Settings
from contacts_api.logs import ConsoleFormatter, JSONFormatter
from tests.conftest import PASSWORD, Client, query_scalar

NEW_PASSWORD = "a brand new passphrase"
# A whole access line in the console format, as a client would try to slip it into the log.
FORGED_LINE = "10:00:00 INFO    contacts_api.access: GET /api/admin 200 0.1ms id=forged"
# Each character that could end a line or drive a terminal, percent-encoded in a path, and the
# escape the log shows instead.
ESCAPED_IN_A_PATH = [
    pytest.param("%0A", "\\n", id="LF"),
    pytest.param("%0D", "\\r", id="CR"),
    pytest.param("%00", "\\x00", id="NUL"),
    pytest.param("%1B", "\\x1b", id="ESC"),
    pytest.param("%09", "\\t", id="TAB"),
    pytest.param("%0B", "\\x0b", id="VT"),
    pytest.param("%7F", "\\x7f", id="DEL"),
    pytest.param("%C2%85", "\\x85", id="NEL"),
    pytest.param("%C2%9B", "\\x9b", id="CSI"),
    pytest.param("%E2%80%A8", "\\u2028", id="LINE-SEPARATOR"),
    pytest.param("%E2%80%A9", "\\u2029", id="PARAGRAPH-SEPARATOR"),
]


async def test_the_accounts_flow_logs_no_secret(
    client: Client, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    email = "logged@example.com"
    await client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    tokens = (await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})).json()
    await client.post("/api/auth/login", json={"email": email, "password": "wrong password!"})
    refreshed = (await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})).json()
    headers = {"Authorization": f"Bearer {refreshed['access_token']}"}
    changed = await client.put(
        "/api/users/me/password", headers=headers, json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert changed.status_code == 204
    stored_hash = await query_scalar(settings.database_url, "SELECT password_hash FROM users")

    text = "\n".join(JSONFormatter().format(record) for record in caplog.records)
    assert "contacts_api.access" in text  # the flow was logged…
    secrets = [PASSWORD, NEW_PASSWORD, "wrong password!", stored_hash, stored_hash.split("$")[-1],
               tokens["access_token"], tokens["refresh_token"], refreshed["access_token"], refreshed["refresh_token"],
               "Bearer ", "authorization"]  # fmt: skip
    for secret in secrets:
        assert secret not in text, secret  # …without any of its secrets


async def test_one_access_line_per_request_with_its_fields(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="contacts_api.access")
    response = await client.get("/health?probe=1")
    [record] = [r for r in caplog.records if r.name == "contacts_api.access"]
    line = json.loads(JSONFormatter().format(record))
    assert line["method"] == "GET"
    assert line["path"] == "/health"  # no query string
    assert line["status"] == 200
    assert line["request_id"] == response.headers["x-request-id"]
    assert isinstance(line["duration_ms"], float)


def access_record(caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    [record] = [r for r in caplog.records if r.name == "contacts_api.access"]
    return record


async def test_a_line_break_in_the_path_cannot_start_a_new_log_line(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="contacts_api.access")
    await client.get("/api/x%0A" + FORGED_LINE.replace(" ", "%20"))
    [line] = ConsoleFormatter().format(access_record(caplog)).splitlines()
    assert f" /api/x\\n{FORGED_LINE} " in line


@pytest.mark.parametrize(("encoded", "escaped"), ESCAPED_IN_A_PATH)
async def test_a_control_character_in_the_path_is_escaped_on_its_one_console_line(
    client: Client, caplog: pytest.LogCaptureFixture, encoded: str, escaped: str
) -> None:
    caplog.set_level(logging.INFO, logger="contacts_api.access")
    await client.get(f"/api/x{encoded}y")
    [line] = ConsoleFormatter().format(access_record(caplog)).splitlines()
    assert f" /api/x{escaped}y " in line


@pytest.mark.parametrize(("encoded", "escaped"), ESCAPED_IN_A_PATH)
async def test_a_control_character_in_the_path_is_escaped_in_its_one_json_line(
    client: Client, caplog: pytest.LogCaptureFixture, encoded: str, escaped: str
) -> None:
    caplog.set_level(logging.INFO, logger="contacts_api.access")
    await client.get(f"/api/x{encoded}y")
    [line] = JSONFormatter().format(access_record(caplog)).splitlines()
    fields = json.loads(line)
    assert fields["path"] == f"/api/x{escaped}y"
    assert fields["message"] == f"GET /api/x{escaped}y {fields['status']}"


async def test_a_backslash_in_the_path_is_doubled_so_that_no_escape_can_be_faked(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="contacts_api.access")
    await client.get("/api/x%5Cny")  # a backslash and an "n", not a line break
    assert json.loads(JSONFormatter().format(access_record(caplog)))["path"] == "/api/x\\\\ny"


async def test_a_line_break_in_the_user_agent_cannot_start_a_new_console_line(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="contacts_api.access")
    await client.get("/health", headers={"User-Agent": f"curl/8.5\r\n{FORGED_LINE}"})
    [line] = ConsoleFormatter().format(access_record(caplog)).splitlines()
    assert line.endswith(f' ua="curl/8.5\\r\\n{FORGED_LINE}"')


async def test_a_line_break_in_the_user_agent_cannot_start_a_new_json_line(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="contacts_api.access")
    await client.get("/health", headers={"User-Agent": f"curl/8.5\r\n{FORGED_LINE}"})
    [line] = JSONFormatter().format(access_record(caplog)).splitlines()
    assert json.loads(line)["user_agent"] == f"curl/8.5\\r\\n{FORGED_LINE}"


async def test_a_long_user_agent_is_cut_to_512_characters(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="contacts_api.access")
    await client.get("/health", headers={"User-Agent": "a" * 5000})
    assert json.loads(JSONFormatter().format(access_record(caplog)))["user_agent"] == "a" * 512


async def test_a_path_and_user_agent_without_control_characters_are_logged_as_they_are(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="contacts_api.access")
    path, user_agent = "/api/contacts/not-a-contact_1.2~x", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Firefox/128.0"
    await client.get(path, headers={"User-Agent": user_agent})
    record = access_record(caplog)
    fields = json.loads(JSONFormatter().format(record))
    assert (fields["path"], fields["user_agent"]) == (path, user_agent)
    [line] = ConsoleFormatter().format(record).splitlines()
    assert f"contacts_api.access: GET {path} {fields['status']} " in line
    assert line.endswith(f' id={fields["request_id"]} ua="{user_agent}"')


def a_record_quoting_a_client(**extra: str) -> logging.LogRecord:
    """A record of another logger than the access log's, as errors.py writes them."""
    return logging.makeLogRecord(
        {
            "name": "contacts_api.errors",
            "levelno": logging.WARNING,
            "levelname": "WARNING",
            "msg": "backend unavailable during %s %s",
            "args": ("GET", f"/api/x\n{FORGED_LINE}"),
            **extra,
        }
    )


def test_any_record_has_its_message_escaped_on_its_one_console_line() -> None:
    [line] = ConsoleFormatter().format(a_record_quoting_a_client()).splitlines()
    assert line.endswith(f"contacts_api.errors: backend unavailable during GET /api/x\\n{FORGED_LINE}")


def test_any_record_has_its_message_and_fields_escaped_in_its_one_json_line() -> None:
    [line] = JSONFormatter().format(a_record_quoting_a_client(client_text="a\u2028b\x1b[31m")).splitlines()
    fields = json.loads(line)
    assert fields["message"] == f"backend unavailable during GET /api/x\\n{FORGED_LINE}"
    assert fields["client_text"] == "a\\u2028b\\x1b[31m"


def test_an_exception_message_cannot_start_a_console_line_of_its_own() -> None:
    try:
        raise ValueError(f"bad input\n{FORGED_LINE}")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.makeLogRecord(
        {"name": "contacts_api.errors", "levelno": logging.ERROR, "levelname": "ERROR", "msg": "unhandled error"}
    )
    record.exc_info = exc_info
    first, *continuation = ConsoleFormatter().format(record).splitlines()
    assert first.endswith("contacts_api.errors: unhandled error")
    assert "  Traceback (most recent call last):" in continuation  # still readable, line by line…
    assert all(line.startswith("  ") for line in continuation)  # …and every line of it marked as a continuation
