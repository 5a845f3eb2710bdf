"""Chat commands: one registry, shared by Telegram and Slack; adapters only translate.

Each command is defined once, in `handlers.py`: `@command(name, args, help, who may run it)` on a
handler returning `Reply` data. The Telegram handlers and menu, the Slack subcommands and both help
texts are built from the registry. `CommandService` composes the services by concern (subscriptions,
personal alerts, mutes, chat settings, status, charts, rules and history). Nothing here knows a
platform's payloads.
"""

from bot.commands import handlers  # registers every command, in menu order
from bot.commands import dashboard  # registers /dashboard after the handlers' commands
from bot.commands import calendar  # /calendar (registered after the others)
from bot.commands.charts import CHART_CACHE_SIZE, CHART_POOL, PERIOD_WORDS, PERIODS
from bot.commands.registry import COMMANDS, REGISTRY, Command, Handler, command
from bot.commands.reply import MAX_ARG, NOT_ADMIN, CommandError, Ctx, Link, Reply
from bot.commands.service import CommandService

__all__ = ["CHART_CACHE_SIZE", "CHART_POOL", "COMMANDS", "MAX_ARG", "NOT_ADMIN", "PERIODS", "PERIOD_WORDS",
           "REGISTRY", "Command", "CommandError", "CommandService", "Ctx", "Handler", "Link", "Reply", "calendar",
           "command", "dashboard", "handlers"]
