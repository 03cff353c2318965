"""The SMTP adapter (contacts_api/mail/transport.py) against a real aiosmtpd server: one test per
assumption its docstring states about litestar-email and aiosmtplib, how `classify` reads each
failure, and what the sent message carries."""

from __future__ import annotations

import datetime
import email.utils
import logging
from collections.abc import Callable, Iterator
from typing import Any

import aiosmtplib
import pytest
from litestar_email import EmailMessage as OutgoingMessage
from litestar_email.backends.smtp import SMTPBackend
from litestar_email.config import SMTPConfig
from litestar_email.exceptions import EmailAuthenticationError, EmailConnectionError, EmailDeliveryError

from contacts_api.config import SMTPServer
from contacts_api.mail.outbox import Mail
from contacts_api.mail.transport import DeliveryError, LogTransport, SMTPTransport, message_id_for
from tests.live_server import free_port
from tests.mail.smtp_servers import PASSWORD, USERNAME, ConfigurableSMTPServer
from tests.smtp_server import SMTPTestServer, html_of, text_of

SENDER = "contacts-api <no-reply@contacts.example>"
MAIL = Mail(
    recipient="ada@example.com",
    subject="Confirm your email address",
    text_body="Hello Ada,\nhttps://contacts.example/account/verify-email?token=abc123\n",
    html_body="<p>Hello Ada, <a href='https://contacts.example/account/verify-email?token=abc123'>confirm</a></p>",
)
MESSAGE_ID = "<0190c7a2-0000-7000-8000-000000000001@contacts.example>"

StartServer = Callable[..., ConfigurableSMTPServer]


@pytest.fixture
def start_server() -> Iterator[StartServer]:
    """Start a ConfigurableSMTPServer with the given options; all are stopped after the test."""
    servers: list[ConfigurableSMTPServer] = []

    def start(**options: Any) -> ConfigurableSMTPServer:
        server = ConfigurableSMTPServer(**options)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def smtp_at(port: int, *, username: str | None = None, password: str | None = None) -> SMTPServer:
    return SMTPServer(
        host="127.0.0.1",
        port=port,
        username=username,
        password=password,
        implicit_tls=False,
        starttls=False,
        timeout_seconds=5,
    )


def transport_to(port: int, **credentials: str) -> SMTPTransport:
    return SMTPTransport(smtp_at(port, **credentials), sender=SENDER)


def backend_to(port: int) -> SMTPBackend:
    """litestar-email's own backend, configured as SMTPTransport configures it."""
    return SMTPBackend(config=SMTPConfig(host="127.0.0.1", port=port, timeout=5), default_from_email=SENDER)


def outgoing() -> OutgoingMessage:
    return OutgoingMessage(subject="Hello", body="Hello Ada", to=["ada@example.com"])


def lines_of(body: str) -> list[str]:
    """A body's lines, whatever line ends the wire gave it (SMTP's are CRLF)."""
    return body.splitlines()


async def refusal(transport: SMTPTransport) -> DeliveryError:
    with pytest.raises(DeliveryError) as caught:
        await transport.send(MAIL, message_id=MESSAGE_ID)
    return caught.value


# What litestar-email does, which the adapter works with or around -----------------------------


async def test_litestar_email_closes_a_connection_it_opened_itself(start_server: StartServer) -> None:
    server = start_server()
    await backend_to(server.port).send_messages([outgoing()])
    assert len(server.messages) == 1
    assert server.quits == 1


async def test_litestar_email_sends_on_a_connection_opened_beforehand_without_closing_it(
    start_server: StartServer,
) -> None:
    server = start_server()
    backend = backend_to(server.port)
    await backend.open()
    await backend.send_messages([outgoing()])
    await backend.send_messages([outgoing()])
    assert server.quits == 0
    assert len(server.peers) == 2
    assert server.peers[0] == server.peers[1]  # both on the one connection
    await backend.close()
    assert server.quits == 1


async def test_litestar_email_raises_when_quit_fails_after_the_server_accepted_the_mail(
    start_server: StartServer,
) -> None:
    server = start_server(drop_on="QUIT")
    with pytest.raises(aiosmtplib.SMTPServerDisconnected):
        await backend_to(server.port).send_messages([outgoing()])
    assert len(server.messages) == 1  # yet the mail was accepted


async def test_litestar_email_raises_a_connection_error_when_nothing_listens() -> None:
    with pytest.raises(EmailConnectionError) as caught:
        await backend_to(free_port()).open()
    assert isinstance(caught.value.__cause__, aiosmtplib.SMTPConnectError)


async def test_litestar_email_raises_a_delivery_error_from_aiosmtplibs_reply(start_server: StartServer) -> None:
    server = start_server()
    server.reply = "451 4.3.0 Try again later"
    backend = backend_to(server.port)
    await backend.open()
    with pytest.raises(EmailDeliveryError) as caught:
        await backend.send_messages([outgoing()])
    await backend.close()
    assert not isinstance(caught.value, EmailConnectionError)
    cause = caught.value.__cause__
    assert isinstance(cause, aiosmtplib.SMTPResponseException)
    assert (cause.code, cause.message) == (451, "4.3.0 Try again later")


async def test_litestar_email_raises_an_authentication_error_for_a_refused_login(start_server: StartServer) -> None:
    server = start_server(login=False)
    backend = SMTPBackend(
        config=SMTPConfig(host="127.0.0.1", port=server.port, username=USERNAME, password=PASSWORD, timeout=5),
        default_from_email=SENDER,
    )
    with pytest.raises(EmailAuthenticationError) as caught:
        await backend.open()
    assert isinstance(caught.value.__cause__, aiosmtplib.SMTPAuthenticationError)


# SMTPTransport.send ---------------------------------------------------------------------------


async def test_a_failing_quit_after_the_server_accepted_the_mail_does_not_fail_the_send(
    start_server: StartServer,
) -> None:
    server = start_server(drop_on="QUIT")
    await transport_to(server.port).send(MAIL, message_id=MESSAGE_ID)
    assert len(server.messages) == 1
    assert server.quits == 1  # QUIT was sent, and its failure swallowed


async def test_send_quits_the_connection_it_opened(start_server: StartServer) -> None:
    server = start_server()
    await transport_to(server.port).send(MAIL, message_id=MESSAGE_ID)
    assert len(server.messages) == 1
    assert server.quits == 1


async def test_send_logs_in_with_the_configured_credentials(start_server: StartServer) -> None:
    server = start_server(login=True)
    await transport_to(server.port, username=USERNAME, password=PASSWORD).send(MAIL, message_id=MESSAGE_ID)
    assert len(server.messages) == 1


async def test_the_sent_message_carries_message_id_date_from_to_and_subject(smtp_server: SMTPTestServer) -> None:
    message_id = message_id_for("0190c7a2-0000-7000-8000-000000000001", SENDER)
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    await transport_to(smtp_server.port).send(MAIL, message_id=message_id)
    [message] = smtp_server.messages
    assert message["Message-ID"] == message_id == "<0190c7a2-0000-7000-8000-000000000001@contacts.example>"
    sent_at = email.utils.parsedate_to_datetime(message["Date"])
    assert before <= sent_at <= datetime.datetime.now(datetime.UTC)
    assert message["From"] == SENDER
    assert message["To"] == MAIL.recipient
    assert message["Subject"] == MAIL.subject


async def test_the_sent_message_has_the_plain_text_and_the_html_body(smtp_server: SMTPTestServer) -> None:
    await transport_to(smtp_server.port).send(MAIL, message_id=MESSAGE_ID)
    [message] = smtp_server.messages
    assert message.get_content_type() == "multipart/alternative"
    assert lines_of(text_of(message)) == MAIL.text_body.splitlines()
    assert lines_of(html_of(message)) == [MAIL.html_body]


async def test_a_mail_without_html_is_sent_as_plain_text_only(smtp_server: SMTPTestServer) -> None:
    plain = Mail(recipient="ada@example.com", subject="Notice", text_body="Just text\n")
    await transport_to(smtp_server.port).send(plain, message_id=MESSAGE_ID)
    [message] = smtp_server.messages
    assert message.get_content_type() == "text/plain"
    assert lines_of(text_of(message)) == ["Just text"]


# classify: what each failure means for the mail -------------------------------------------------


async def test_nothing_listening_is_a_temporary_failure() -> None:
    error = await refusal(transport_to(free_port()))
    assert not error.permanent
    assert str(error).startswith("could not reach the SMTP server: ")


async def test_a_451_reply_is_a_temporary_failure(start_server: StartServer) -> None:
    server = start_server()
    server.reply = "451 4.3.0 Try again later"
    error = await refusal(transport_to(server.port))
    assert not error.permanent
    assert str(error) == "the SMTP server answered 451 4.3.0 Try again later"


async def test_a_550_reply_is_a_permanent_failure(start_server: StartServer) -> None:
    server = start_server()
    server.reply = "550 5.7.1 Message rejected"
    error = await refusal(transport_to(server.port))
    assert error.permanent
    assert str(error) == "the SMTP server answered 550 5.7.1 Message rejected"


async def test_a_recipient_refused_with_550_is_a_permanent_failure(start_server: StartServer) -> None:
    server = start_server(rcpt_reply="550 5.1.1 No such user here")
    error = await refusal(transport_to(server.port))
    assert error.permanent
    assert str(error) == "the SMTP server refused the recipient: 550 5.1.1 No such user here"
    assert server.attempts == 0  # it never got to DATA


async def test_a_recipient_refused_with_450_is_a_temporary_failure(start_server: StartServer) -> None:
    server = start_server(rcpt_reply="450 4.2.1 Mailbox busy, try later")
    error = await refusal(transport_to(server.port))
    assert not error.permanent
    assert str(error) == "the SMTP server refused the recipient: 450 4.2.1 Mailbox busy, try later"


async def test_a_refused_login_is_a_temporary_failure_that_names_no_password(start_server: StartServer) -> None:
    server = start_server(login=False)
    error = await refusal(transport_to(server.port, username=USERNAME, password=PASSWORD))
    assert not error.permanent
    assert str(error).startswith("the SMTP server refused the login: ")
    assert "535" in str(error)
    assert PASSWORD not in str(error)


async def test_a_connection_dropped_mid_exchange_is_a_temporary_failure(start_server: StartServer) -> None:
    server = start_server(drop_on="DATA")
    error = await refusal(transport_to(server.port))
    assert not error.permanent
    assert str(error).startswith("the SMTP exchange failed: ")
    assert server.messages == []


def test_the_description_names_the_server_and_user_but_never_the_password() -> None:
    transport = transport_to(2525, username=USERNAME, password=PASSWORD)
    assert transport.description == f"smtp://{USERNAME}@127.0.0.1:2525"


# The rest of the module ---------------------------------------------------------------------------


def test_the_message_id_is_the_outbox_row_at_the_domain_of_mail_from() -> None:
    assert message_id_for("row-1", "contacts-api <no-reply@contacts.example>") == "<row-1@contacts.example>"
    assert message_id_for("row-1", "no-reply@other.example") == "<row-1@other.example>"


async def test_the_log_transport_writes_each_line_of_the_text_body_as_a_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="contacts_api.mail")
    await LogTransport().send(MAIL, message_id=MESSAGE_ID)
    lines = [record.getMessage() for record in caplog.records if record.name == "contacts_api.mail"]
    assert lines == [
        f"mail {MESSAGE_ID} to ada@example.com (not sent: no SMTP_URL), subject 'Confirm your email address':",
        "  | Hello Ada,",
        "  | https://contacts.example/account/verify-email?token=abc123",
    ]
