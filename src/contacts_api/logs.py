"""Logging set-up: JSON lines in production, readable lines in development."""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

from contacts_api.config import Settings

# Attributes every LogRecord has; anything else was passed in `extra=` and belongs in the line.
_STANDARD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({key: value for key, value in vars(record).items() if key not in _STANDARD_ATTRIBUTES})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class ConsoleFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if (duration := getattr(record, "duration_ms", None)) is not None:
            text += f" {duration}ms id={getattr(record, 'request_id', '-')}"
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
