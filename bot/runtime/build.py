"""`build()`: the one composition root. Creates every part of the bot from the settings
(used by `run`, and by tests that run the app in process); nothing is started yet."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

from bot.catalog import default_catalog
from bot.chat.adapter import ChatAdapter
from bot.chat.console import ConsoleAdapter
from bot.clock import utcnow
from bot.commands import CommandService
from bot.config import Settings
from bot.delivery import Deliverer
from bot.engine import Engine
from bot.rules.loader import load_rules
from bot.runtime.app import App
from bot.runtime.parts import StartupError
from bot.sources import SourceError
from bot.store import open_store
from bot.wiring import build_sources

log = logging.getLogger("bot.runtime")


def chat_adapters(settings: Settings, commands: CommandService, out: TextIO) -> list[ChatAdapter]:
    """Every chat adapter whose token is set; the console when none is."""
    adapters: list[ChatAdapter] = []
    if settings.telegram_bot_token:
        from bot.chat.telegram import TelegramAdapter  # only with a token: the SDK is slow to import

        adapters.append(TelegramAdapter(commands, settings))
    if settings.slack_bot_token:
        from bot.chat.slack import SlackAdapter

        adapters.append(SlackAdapter(commands, settings))
    return adapters or [ConsoleAdapter(out)]


def build(settings: Settings, *, data_dirs: list[str] | None = None, skip_bad_rules: bool = False,
          out: TextIO | None = None, clock: Callable[[], datetime] = utcnow) -> App:
    """Make every part of the bot from the settings (nothing is started yet)."""
    out = out or sys.stdout
    catalog = default_catalog()
    loaded = load_rules(settings.rules_dir, catalog)
    for p in loaded.problems:
        log.error("rules: %s", p)
    if loaded.problems and not skip_bad_rules:
        raise StartupError(f"{len(loaded.problems)} problem(s) in rules at {settings.rules_dir} "
                           "(see above); fix them or start with --skip-bad-rules")
    if loaded.problems:
        log.warning("rules: --skip-bad-rules: starting with the %d valid rule(s); the problems above are skipped",
                    len(loaded.rules))
    holder: dict[str, App] = {}
    try:
        sources = build_sources(settings, catalog, data_dirs)
    except SourceError as exc:
        raise StartupError(str(exc)) from None
    store = open_store(settings)
    # The ignores: engine, commands and delivery name the SQLite store until the store Protocols land.
    engine = Engine(open_store(settings), catalog, loaded.rules)
    commands = CommandService(store, catalog,
                              lambda: engine.file_rules, clock, admin_ids=settings.admin_ids,
                              web_public_url=settings.web_public_url)
    commands.reload_rules = lambda: holder["app"].reload_rules()
    pending: set[asyncio.Task[Any]] = set()

    def personal_changed() -> None:  # a new personal alert learns its state (silently) right away
        task = asyncio.get_running_loop().create_task(holder["app"].evaluate(), name="evaluate-personal")
        pending.add(task)
        task.add_done_callback(pending.discard)
    commands.personal_changed = personal_changed
    adapters = chat_adapters(settings, commands, out)
    # Feeds (the console; SLACK_FEED_CHANNEL) get every rule alert without subscribing.
    engine.feeds = [(a.platform, a.feed) for a in adapters if a.feed]
    engine.platforms = {a.platform for a in adapters}
    # The engine's own frames (whole objects, swapped, never changed in place): no bulk read on the loop.
    engine.after_evaluation.append(lambda: commands.invalidate(engine.frames))
    app = App(settings, catalog, loaded, store, engine, sources, commands, adapters,
              Deliverer(store, adapters, clock), out, clock)
    holder["app"] = app
    return app
