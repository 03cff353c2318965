"""Variations on tests/smtp_server.py's real aiosmtpd server, for the behaviours a test needs to
provoke: a refused recipient, a refused login, a slow answer, a QUIT that ends in a dropped
connection. Each keeps what tests/smtp_server.py keeps (`messages`, `attempts`, `reply`) and also
which connection each mail came on and how many QUITs it saw."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from tests.smtp_server import SMTPTestServer

USERNAME = "mailer"
PASSWORD = "s3cret-pa55word"


class QuitDroppingSMTP(SMTP):
    """Answers every command like aiosmtpd, except QUIT: the connection just ends, no 221."""

    async def smtp_QUIT(self, arg: str) -> None:  # noqa: N802 (aiosmtpd's command method name)
        await self._call_handler_hook("QUIT")
        assert self.transport is not None
        self.transport.close()


class DataDroppingSMTP(SMTP):
    """Answers every command like aiosmtpd, except DATA: the connection just ends, no 354."""

    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802 (aiosmtpd's command method name)
        assert self.transport is not None
        self.transport.close()


class _Controller(Controller):
    def __init__(self, handler: Any, *, smtp_class: type[SMTP], **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._smtp_class = smtp_class

    def factory(self) -> SMTP:
        return self._smtp_class(self.handler, **self.SMTP_kwargs)


class ConfigurableSMTPServer(SMTPTestServer):
    """`rcpt_reply`: the answer to RCPT TO; `data_delay`: seconds before DATA is answered;
    `drop_on`: "QUIT" or "DATA" ends the connection instead of answering; `login`: AUTH offered
    and only USERNAME/PASSWORD accepted (True), every login refused (False), no AUTH (None)."""

    def __init__(
        self,
        *,
        rcpt_reply: str = "250 OK",
        data_delay: float = 0.0,
        drop_on: Literal["QUIT", "DATA"] | None = None,
        login: bool | None = None,
    ) -> None:
        super().__init__()
        self.rcpt_reply = rcpt_reply
        self.data_delay = data_delay
        self.drop_on = drop_on
        self.login = login
        self.quits = 0
        self.data_started = 0  # DATA commands begun (`attempts` counts them once answered)
        self.peers: list[object] = []  # the client's (host, port) of each mail accepted: its connection

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, _server: Any, _session: Any, envelope: Any, address: str, _options: list[str]
    ) -> str:
        if not self.rcpt_reply.startswith("250"):
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.data_started += 1
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        reply = await super().handle_DATA(server, session, envelope)
        if reply.startswith("250"):
            self.peers.append(session.peer)
        return reply

    async def handle_QUIT(self, _server: Any, _session: Any, _envelope: Any) -> str:  # noqa: N802
        self.quits += 1
        return "221 Bye"

    def _authenticate(self, _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any) -> AuthResult:
        accepted = (
            self.login is True
            and isinstance(data, LoginPassword)
            and (data.login, data.password) == (USERNAME.encode(), PASSWORD.encode())
        )
        return AuthResult(success=accepted, handled=False)

    def start(self) -> None:
        kwargs: dict[str, Any] = {"hostname": "127.0.0.1", "port": self.port}
        if self.login is not None:
            kwargs |= {"authenticator": self._authenticate, "auth_require_tls": False}
        smtp_class = {"QUIT": QuitDroppingSMTP, "DATA": DataDroppingSMTP, None: SMTP}[self.drop_on]
        self._controller = _Controller(self, smtp_class=smtp_class, **kwargs)
        self._controller.start()
