"""Logging: one line per event, text or JSON, with every configured secret redacted."""

from __future__ import annotations

import json
import logging
import sys

from bot.redact import redact


class RedactFilter(logging.Filter):
    """Replaces known secrets and token-shaped strings in every record's final message."""

    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 4]

    def redact(self, text: str) -> str:
        return redact(text, self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if record.exc_info:
            msg += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = self.redact(msg), None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                           "logger": record.name, "message": record.getMessage()})


def setup_logging(level: str = "INFO", fmt: str = "text", secrets: list[str] | None = None) -> None:
    """Configure the root logger once (called by the CLI, never at import)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactFilter(secrets or []))
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    # httpx logs every request URL at INFO; URLs can carry tokens, and it is noise.
    for noisy in ("httpx", "httpcore", "apscheduler", "telegram.ext.Updater", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
