"""Scheduled digests (`/digest daily|weekly`): at each chat's local time, the /status verdict
and what the chat was sent since its last digest, queued in the outbox like an alert."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.commands import CommandService
from bot.commands.calendar import week_ahead
from bot.format import AlertMessage, payload
from bot.i18n import LANGUAGES
from bot.localtime import SpecError, digest_due

log = logging.getLogger(__name__)


def queue_due_digests(commands: CommandService, platforms: set[str], now: datetime) -> int:
    """Queue every digest whose slot has come (now: naive UTC); return how many."""
    store, n = commands.store, 0
    stamp = now.isoformat(timespec="seconds")
    for platform, chat_id, spec, last, lang in store.digests():
        if platform not in platforms:
            continue
        try:
            slot = digest_due(spec, datetime.fromisoformat(last) if last else None, now)
        except (SpecError, ValueError) as exc:
            log.warning("digest for a %s chat: cannot read its schedule; skipped (details at DEBUG)", platform)
            log.debug("digest for %s %s: cannot read %r (%s); skipped", platform, chat_id, spec, exc)
            continue
        if slot is None:
            continue
        text = commands.digest_message(platform, chat_id, spec.split(" ")[0], last or stamp, lang or "en")
        if spec.split(" ")[0] == "weekly":  # the liquidity calendar's next 7 days (bot/commands/calendar.py)
            text += "\n\n" + week_ahead(store, slot.date() + timedelta(days=1), lang or "en")
        m = AlertMessage("digest", "digest", "info", "digest", "", "", slot.date().isoformat(), "", raw_text=text,
                         lang=lang or "en")
        store.enqueue_digest(platform, chat_id, text, payload({code: m for code in LANGUAGES}), stamp, stamp)
        n += 1
    return n
