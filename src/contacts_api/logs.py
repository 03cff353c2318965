"""Logging set-up: JSON lines in production, readable lines in development.

A record is one line, whatever it carries. Its message and fields can hold text a client chose
(a path, a header), and a line break in it would let a request write a record of its own: both
formatters write every control character and line separator in them as a visible escape.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
from typing import Any

from contacts_api.config import Settings

# Attributes every LogRecord has; anything else was passed in `extra=` and belongs in the line.
_STANDARD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

# What would end a line or drive a terminal if written as it is: every C0 and C1 control, DEL and
# the Unicode line and paragraph separators. And the backslash, which starts every escape: doubled,
# a client's own `\n` (two characters) reads `\\n`, and cannot pass for an escaped line break.
_ESCAPES: dict[int, str] = {
    **{code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F, *range(0x80, 0xA0))},
    ord("\t"): "\\t",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
    ord("\\"): "\\\\",
}
_NEEDS_ESCAPING = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\\]")
# Continuation lines of a record (a traceback) start with this, and a record's first line never
# does: a line of an exception's message cannot pass for a record.
_CONTINUATION_INDENT = "  "


def escape_control_characters(text: str) -> str:
    """`text` with its control characters and line separators as escapes (`\\n`, `\\x1b`, `\\u2028`)
    and its backslashes doubled: one line, which reads back to `text` unambiguously."""
    # Most text has nothing to escape, and the search is cheaper than the translation.
    return text.translate(_ESCAPES) if _NEEDS_ESCAPING.search(text) else text


def _escape_all_but_line_breaks(text: str, indent: str = "") -> str:
    """A traceback, whose line breaks are its own, with everything else escaped (its exception's
    message can quote a client) and each line after `indent`."""
    return "\n".join(indent + escape_control_characters(line) for line in text.split("\n"))


def _loggable(value: Any) -> Any:
    """A field's value as a JSON line holds it: text escaped, inside lists and mappings too."""
    if isinstance(value, str):
        return escape_control_characters(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [_loggable(item) for item in value]
    if isinstance(value, dict):
        return {escape_control_characters(str(key)): _loggable(item) for key, item in value.items()}
    return escape_control_characters(str(value))


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": escape_control_characters(record.getMessage()),
        }
        line.update({key: _loggable(value) for key, value in vars(record).items() if key not in _STANDARD_ATTRIBUTES})
        if record.exc_info:
            line["exception"] = _escape_all_but_line_breaks(self.formatException(record.exc_info))
        return json.dumps(line)


class ConsoleFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        # logging.Formatter.format, with the message escaped and a traceback indented under it.
        record.message = escape_control_characters(record.getMessage())
        record.asctime = self.formatTime(record, self.datefmt)
        text = self.formatMessage(record)
        if (duration := getattr(record, "duration_ms", None)) is not None:
            text += f" {duration}ms id={escape_control_characters(str(getattr(record, 'request_id', '-')))}"
            if (user_agent := getattr(record, "user_agent", None)) is not None:
                # Last on the line, so a quote inside it cannot be mistaken for its end.
                text += f' ua="{escape_control_characters(str(user_agent))}"'
        exception = self.formatException(record.exc_info) if record.exc_info else record.exc_text
        stack = self.formatStack(record.stack_info) if record.stack_info else None
        for block in (exception, stack):
            if block:
                text += "\n" + _escape_all_but_line_breaks(block, indent=_CONTINUATION_INDENT)
        return text


def logging_config(settings: Settings) -> dict[str, Any]:
    """A `logging.config.dictConfig` dict; the server (Granian) applies it in every process."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": {"()": JSONFormatter if settings.json_logs else ConsoleFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "default"}},
        "root": {"level": settings.log_level, "handlers": ["stderr"]},
        "loggers": {"httpx": {"level": "WARNING"}},
    }
