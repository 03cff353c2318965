"""How a composed mail leaves the service: SMTP through litestar-email, or the log.

This is the one adapter that knows litestar-email's and aiosmtplib's behaviour, each assumption
pinned by a test in tests/mail/test_transport.py:

- litestar-email's `SMTPBackend.send_messages` closes a connection it opened itself, and a failing
  `QUIT` after the server accepted the mail would raise as if the mail were lost (and the retry
  would send it twice). So the connection is opened here, the mail sent on it, and the close's
  own failure ignored.
- litestar-email raises `EmailConnectionError` when no connection could be made and
  `EmailDeliveryError` from aiosmtplib's exception otherwise; aiosmtplib's `SMTPResponseException`
  carries the server's reply code, and RFC 5321 §4.2.1 says what it means: 4yz is transient
  (try again later), 5yz permanent (do not repeat the same mail).
"""

from __future__ import annotations

import email.utils
import logging
from typing import Protocol

import aiosmtplib
from litestar_email import EmailMultiAlternatives
from litestar_email.backends.smtp import SMTPBackend
from litestar_email.config import SMTPConfig
from litestar_email.exceptions import EmailAuthenticationError, EmailConnectionError, EmailError

from contacts_api.config import SMTPServer
from contacts_api.mail.outbox import Mail

logger = logging.getLogger("contacts_api.mail")


class DeliveryError(Exception):
    """The mail was not accepted. `permanent`: retrying the same mail cannot succeed (RFC 5321
    5yz); otherwise the server was unreachable or answered a transient 4yz, and a later attempt may
    succeed. The message is safe to log: it holds the server's reply, never the mail."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class MailTransport(Protocol):
    """Sends one mail or raises DeliveryError."""

    @property
    def description(self) -> str:
        """Where mail goes, for people (no password): "smtp://mail.example.com:587", "the log"."""
        ...

    async def send(self, mail: Mail, *, message_id: str) -> None: ...


class SMTPTransport:
    """Mail through an SMTP server, one connection per mail, with litestar-email's SMTP backend."""

    def __init__(self, smtp: SMTPServer, *, sender: str) -> None:
        self._smtp = smtp
        self._sender = sender

    @property
    def description(self) -> str:
        return self._smtp.description

    def _backend(self) -> SMTPBackend:
        return SMTPBackend(
            config=SMTPConfig(
                host=self._smtp.host,
                port=self._smtp.port,
                username=self._smtp.username,
                password=self._smtp.password,
                use_tls=self._smtp.starttls,
                use_ssl=self._smtp.implicit_tls,
                timeout=self._smtp.timeout_seconds,
            ),
            default_from_email=self._sender,
        )

    async def send(self, mail: Mail, *, message_id: str) -> None:
        message = EmailMultiAlternatives(
            subject=mail.subject,
            body=mail.text_body,
            html_body=mail.html_body,
            to=[mail.recipient],
            headers={"Message-ID": message_id, "Date": email.utils.formatdate(usegmt=True)},
        )
        backend = self._backend()
        try:
            await backend.open()
            await backend.send_messages([message])  # on the open connection: it does not close it
        except EmailError as exc:
            raise classify(exc) from None
        finally:
            await _close_quietly(backend)


async def _close_quietly(backend: SMTPBackend) -> None:
    """QUIT, ignoring its failure: once the server has accepted the mail (or refused it) nothing
    that happens to the connection changes that."""
    try:
        await backend.close()
    except (aiosmtplib.SMTPException, OSError):
        logger.debug("the SMTP connection did not close cleanly")


def classify(exc: EmailError) -> DeliveryError:
    """What a litestar-email error means for the mail (see the module docstring)."""
    if isinstance(exc, EmailAuthenticationError):
        # The service's own credentials were refused (535): no fault of the mail, and fixed by the
        # operator; the mail waits for it rather than being given up.
        return DeliveryError(f"the SMTP server refused the login: {exc.__cause__ or exc}", permanent=False)
    if isinstance(exc, EmailConnectionError):
        return DeliveryError(f"could not reach the SMTP server: {exc.__cause__ or exc}", permanent=False)
    cause = exc.__cause__
    if isinstance(cause, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in cause.recipients]
        replies = "; ".join(f"{refused.code} {refused.message}" for refused in cause.recipients)
        return DeliveryError(
            f"the SMTP server refused the recipient: {replies}", permanent=all(c >= 500 for c in codes)
        )
    if isinstance(cause, aiosmtplib.SMTPResponseException):
        return DeliveryError(f"the SMTP server answered {cause.code} {cause.message}", permanent=cause.code >= 500)
    # Disconnected, timed out, or a reply that made no sense: the next attempt may fare better.
    return DeliveryError(f"the SMTP exchange failed: {cause or exc}", permanent=False)


class LogTransport:
    """Writes each mail to the log instead of sending it: the zero-setup default outside
    production, so that a newcomer sees their verification link in the server's output."""

    description = "the log (no SMTP_URL is set)"

    async def send(self, mail: Mail, *, message_id: str) -> None:
        # One record per line of the body: the log escapes line breaks inside a record, and a link
        # must stay a link a newcomer can copy.
        logger.info("mail %s to %s (not sent: no SMTP_URL), subject %r:", message_id, mail.recipient, mail.subject)
        for line in mail.text_body.splitlines():
            logger.info("  | %s", line)


def message_id_for(outbox_id: object, sender: str) -> str:
    """A Message-ID (RFC 5322 §3.6.4) made from the outbox row, so every attempt at one mail has
    the same id and a receiving server can recognise a repeat."""
    _, address = email.utils.parseaddr(sender)
    domain = address.rpartition("@")[2] or "localhost"
    return f"<{outbox_id}@{domain}>"
