"""A real SMTP server for the tests: aiosmtpd on a free local port, keeping what it receives.

`reply` decides how it answers DATA ("250 OK" by default; "451 …" for a transient refusal,
"550 …" for a permanent one); `start()` and `stop()` may be called at any time, so a test can queue
mail while the server is down and bring it up later on the same port.
"""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.live_server import free_port

_LINK = re.compile(r"(https?://\S+?[?&]token=([A-Za-z0-9_\-]+))")


class SMTPTestServer:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self.reply = "250 OK"
        self.attempts = 0  # DATA commands seen, accepted or not
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        with self._lock:
            self.attempts += 1
            if not self.reply.startswith("250"):
                return self.reply
            message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            self.messages.append(message)
        return "250 OK"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Block until `count` messages have arrived (or fail); returns them all."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} mail(s), got {len(self.messages)} in {timeout} s")

    def mails_to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [message for message in self.messages if message["To"] == address]


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def link_in(message: EmailMessage) -> tuple[str, str]:
    """The one-time link in a mail's plain-text body, and its token."""
    found = _LINK.search(text_of(message))
    assert found is not None, text_of(message)
    return found.group(1), found.group(2)
