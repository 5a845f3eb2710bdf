"""`liquidity-bot run`: scheduler, sources, rule evaluation, delivery, chat adapters, health.

`build()` is the one composition root (used by `run`, and by tests that run the app in
process): it creates every part from the settings. The asyncio loop only schedules, talks to
chat platforms and serves health; network fetches run in worker threads, and rule evaluation,
history replay, rule loading, pruning and outbox fan-out run in ONE engine thread with its
own store connection, so a long evaluation never delays a command reply or SIGTERM.

Modules: parts (the parts and shared state), checks (/healthz, /metrics, problems), jobs
(fetch, evaluate, digests, prune), app (lifecycle), build (composition), serve (signals, exit codes).
"""

from bot.runtime.app import App
from bot.runtime.build import build, chat_adapters
from bot.runtime.checks import held_problems, release_health
from bot.runtime.parts import SourceHealth, StartupError
from bot.runtime.serve import run, serve

__all__ = ["App", "SourceHealth", "StartupError", "build", "chat_adapters", "held_problems", "release_health",
           "run", "serve"]
