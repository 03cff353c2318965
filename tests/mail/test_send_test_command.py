"""`contacts-api mail send-test --to ADDRESS` against a real aiosmtpd server.

The cases an operator meets first (accepted, refused, server down, no SMTP_URL) run the command as
they do, in a child process; the others run the same command in this process (click's runner),
which spares each the few seconds a child takes to import the app."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from contacts_api.cli import main
from tests.live_server import CLI, server_env
from tests.mail.smtp_servers import PASSWORD, USERNAME, ConfigurableSMTPServer
from tests.smtp_server import SMTPTestServer, text_of

MAIL_FROM = "contacts-api <no-reply@contacts.example>"


def settings_env(**settings: str) -> dict[str, str]:
    # An empty value counts as unset: nothing of the developer's own mail settings leaks in.
    return {"SMTP_URL": "", "ENVIRONMENT": "development", "MAIL_FROM": MAIL_FROM} | settings


def send_test(cwd: Path, address: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """The command in a child process, as an operator runs it."""
    return subprocess.run(  # noqa: S603
        [*CLI, "mail", "send-test", "--to", address],
        env=server_env(**settings_env(**settings)),
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def send_test_here(cwd: Path, monkeypatch: pytest.MonkeyPatch, address: str, **settings: str) -> Result:
    """The command in this process."""
    monkeypatch.chdir(cwd)  # no .env of the checkout
    return CliRunner().invoke(main, ["mail", "send-test", "--to", address], env=settings_env(**settings))


@pytest.fixture
def login_server() -> Iterator[ConfigurableSMTPServer]:
    """An SMTP server that takes mail only after a login as USERNAME with PASSWORD."""
    server = ConfigurableSMTPServer(login=True)
    server.start()
    yield server
    server.stop()


# In a child process ------------------------------------------------------------------------------


def test_an_accepted_test_mail_is_reported_with_the_server(tmp_path: Path, smtp_server: SMTPTestServer) -> None:
    result = send_test(tmp_path, "ada@example.com", SMTP_URL=smtp_server.url)
    assert result.returncode == 0, result.stderr
    [message] = smtp_server.messages
    assert result.stdout.strip() == (
        f"test mail {message['Message-ID']} to ada@example.com accepted by smtp://127.0.0.1:{smtp_server.port}"
    )


def test_a_refused_test_mail_exits_1_with_the_servers_reply(tmp_path: Path, smtp_server: SMTPTestServer) -> None:
    smtp_server.reply = "550 5.7.1 Relaying denied"
    result = send_test(tmp_path, "ada@example.com", SMTP_URL=smtp_server.url)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"Error: the test mail was not sent through smtp://127.0.0.1:{smtp_server.port}: "
        "the SMTP server answered 550 5.7.1 Relaying denied"
    )
    assert smtp_server.attempts == 1


def test_a_server_that_is_down_exits_1_saying_it_could_not_be_reached(
    tmp_path: Path, smtp_server: SMTPTestServer
) -> None:
    smtp_server.stop()
    result = send_test(tmp_path, "ada@example.com", SMTP_URL=smtp_server.url)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(
        f"Error: the test mail was not sent through smtp://127.0.0.1:{smtp_server.port}: "
        "could not reach the SMTP server: "
    )


def test_without_smtp_url_outside_production_the_mail_is_written_to_the_log(tmp_path: Path) -> None:
    result = send_test(tmp_path, "ada@example.com")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("test mail <")
    assert result.stdout.strip().endswith(" to ada@example.com written to the log (no SMTP_URL is set), not sent")
    assert "INFO contacts_api.mail:   | This is a test mail from contacts-api" in result.stderr


# In this process ----------------------------------------------------------------------------------


def test_the_test_mail_is_a_short_plain_mail_from_mail_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp_server: SMTPTestServer
) -> None:
    result = send_test_here(tmp_path, monkeypatch, "ada@example.com", SMTP_URL=smtp_server.url)
    assert result.exit_code == 0, result.output
    [message] = smtp_server.messages
    assert (message["To"], message["From"], message["Subject"]) == (
        "ada@example.com",
        MAIL_FROM,
        "contacts-api test mail",
    )
    assert message["Message-ID"].endswith("@contacts.example>")
    assert message["Date"]
    assert message.get_content_type() == "text/plain"
    assert f"through smtp://127.0.0.1:{smtp_server.port}." in text_of(message)


def test_the_address_is_normalized_as_the_api_stores_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp_server: SMTPTestServer
) -> None:
    result = send_test_here(tmp_path, monkeypatch, "  Ada.Lovelace@Example.COM ", SMTP_URL=smtp_server.url)
    assert result.exit_code == 0, result.output
    assert [message["To"] for message in smtp_server.messages] == ["ada.lovelace@example.com"]


@pytest.mark.parametrize("address", ["not-an-address", "ada@localhost", "ada@@example.com", "a" * 250 + "@example.com"])
def test_an_address_the_api_would_refuse_is_refused_and_nothing_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp_server: SMTPTestServer, address: str
) -> None:
    result = send_test_here(tmp_path, monkeypatch, address, SMTP_URL=smtp_server.url)
    assert result.exit_code == 1
    assert result.stderr.strip() == f"Error: --to: {address!r} is not an email address"
    assert smtp_server.attempts == 0


def test_a_login_is_made_with_the_urls_credentials_and_the_password_never_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, login_server: ConfigurableSMTPServer
) -> None:
    url = f"smtp://{USERNAME}:{PASSWORD}@127.0.0.1:{login_server.port}"
    result = send_test_here(tmp_path, monkeypatch, "ada@example.com", SMTP_URL=url)
    assert result.exit_code == 0, result.output
    assert len(login_server.messages) == 1
    assert result.stdout.strip().endswith(f"accepted by smtp://{USERNAME}@127.0.0.1:{login_server.port}")
    assert PASSWORD not in result.output


def test_a_refused_login_exits_1_without_printing_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, login_server: ConfigurableSMTPServer
) -> None:
    url = f"smtp://{USERNAME}:wrong-{PASSWORD}@127.0.0.1:{login_server.port}"
    result = send_test_here(tmp_path, monkeypatch, "ada@example.com", SMTP_URL=url)
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: the test mail was not sent through smtp://{USERNAME}@127.0.0.1:{login_server.port}: "
        "the SMTP server refused the login: "
    )
    assert PASSWORD not in result.output
    assert login_server.messages == []


def test_in_production_without_smtp_url_it_says_so_and_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = send_test_here(tmp_path, monkeypatch, "ada@example.com", ENVIRONMENT="production")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: SMTP_URL is not set: in production mail goes only through an SMTP server; nothing was sent"
    )


def test_a_bad_smtp_url_is_one_line_naming_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = send_test_here(tmp_path, monkeypatch, "ada@example.com", SMTP_URL=f"smtp://{USERNAME}:{PASSWORD}@h?x=1")
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: invalid setting SMTP_URL: unknown parameter 'x' (only starttls is known)"


def test_the_mail_group_lists_send_test() -> None:
    result = CliRunner().invoke(main, ["mail", "--help"])
    assert result.exit_code == 0
    assert "send-test" in result.output
