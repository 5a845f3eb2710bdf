"""Secrets never leave the process: every error text is redacted before it is logged, stored
(fetch log, outbox) or shown (/status, `status`, /healthz). A source or proxy that echoes a
request URL would otherwise carry the FRED API key into all of those."""

from __future__ import annotations

import logging
import re

# Telegram bot tokens look like 123456:ABC-..., Slack tokens xox?-/xapp-, FRED's key travels as api_key=.
TOKEN_PATTERNS = [re.compile(r"\d{6,}:[A-Za-z0-9_-]{30,}"), re.compile(r"xox[abposr]-[A-Za-z0-9-]+"),
                  re.compile(r"xapp-[A-Za-z0-9-]+"), re.compile(r"(api_key=)[^&\s\"'<>]+"),
                  re.compile(r"(postgres(?:ql)?://[^:/@\s]+:)[^@\s]+(@)")]


def redact(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """`text` with every configured secret and token-shaped string replaced by ***."""
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    for p in TOKEN_PATTERNS:
        text = p.sub(_mask, text)
    return text


def _mask(m: re.Match[str]) -> str:
    """Keep a pattern's context groups (`api_key=`, `postgresql://user:` ... `@`), mask the rest."""
    groups = m.groups()
    return (groups[0] if groups else "") + "***" + (groups[1] if len(groups) > 1 else "")


# --- privacy: personal alerts in logs and ops endpoints ---
PERSONAL_PREFIX = "personal_"


def is_personal(rule_id: str) -> bool:
    """A chat's own alert (`personal_<n>`): its id leads to its owner, metric and threshold."""
    return rule_id.startswith(PERSONAL_PREFIX)


def log_name(rule_id: str) -> str:
    """A rule as log lines at INFO and above name it: never a personal alert's id."""
    return "(a personal alert)" if is_personal(rule_id) else rule_id


def detail_level(rule_id: str, level: int = logging.INFO) -> int:
    """The level of a line with a rule's details: DEBUG for a personal alert, else `level`."""
    return logging.DEBUG if is_personal(rule_id) else level
