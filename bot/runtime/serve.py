"""`liquidity-bot run`: build the app, wire signals (SIGTERM/SIGINT stop, SIGHUP reloads
rules), run until stopped; the exit code says how it ended."""

from __future__ import annotations

import asyncio
import logging
import signal

from bot.config import Settings
from bot.runtime.build import build
from bot.runtime.parts import StartupError
from bot.store import AlreadyRunning, StoreError

log = logging.getLogger("bot.runtime")


async def serve(settings: Settings, data_dirs: list[str] | None = None, skip_bad_rules: bool = False) -> int:
    """Run the bot in the current loop: 0 on a clean stop, 1 on a store problem, 2 on bad start-up."""
    try:
        app = build(settings, data_dirs=data_dirs, skip_bad_rules=skip_bad_rules)
    except StartupError as exc:
        log.error("%s", exc)
        return 2
    except StoreError as exc:
        log.error("%s", exc)
        return 1
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, app.stop_event.set)
        except (NotImplementedError, RuntimeError):
            pass

    async def sighup() -> None:
        log.info("SIGHUP: %s", await app.reload_rules())

    try:
        loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(sighup()))
    except (NotImplementedError, RuntimeError, AttributeError):
        pass
    try:
        await app.start()
    except AlreadyRunning as exc:  # a second `run` on the same SQLite file
        log.error("%s", exc)
        await app.shutdown()
        return 1
    except StartupError as exc:
        log.error("%s", exc)
        await app.shutdown()
        return 2
    await app.run_until_stopped()
    app.say("liquidity-bot: stopping")
    await app.shutdown()
    return 0


def run(settings: Settings, data_dirs: list[str] | None = None, skip_bad_rules: bool = False) -> int:
    """Run the bot until SIGTERM / SIGINT; exit code 0 on a clean stop."""
    return asyncio.run(serve(settings, data_dirs, skip_bad_rules))
