"""The one command registry, shared by Telegram and Slack.

`@command(name, args, help, ...)` sits on the handler and registers it, so a command is one edit in
one place. Help, the Telegram menu and Slack's subcommands follow the registration order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.commands.reply import Ctx, Reply

if TYPE_CHECKING:
    from bot.commands.service import CommandService

Handler = Callable[["CommandService", Ctx, list[str]], Awaitable[list[Reply]]]


@dataclass(frozen=True)
class Command:
    """A command: its name, usage, help line, who may run it, and the handler answering it."""

    name: str
    args: str            # usage after the name, e.g. "<topic>"
    help: str            # marked with N_, translated when shown
    handler: Handler
    changes_chat: bool = False   # in groups and channels only their admins may run it
    bot_admin: bool = False      # only ADMIN_IDS may run it
    menu: bool = True            # listed in help and the Telegram menu


COMMANDS: list[Command] = []
REGISTRY: dict[str, Command] = {}


def command(name: str, args: str, help: str, *, changes_chat: bool = False, bot_admin: bool = False,
            menu: bool = True) -> Callable[[Handler], Handler]:
    """Register the decorated handler as command `name` (after those registered before it)."""

    def register(handler: Handler) -> Handler:
        if name in REGISTRY:
            raise ValueError(f"command {name!r} is registered twice")
        cmd = Command(name, args, help, handler, changes_chat=changes_chat, bot_admin=bot_admin, menu=menu)
        COMMANDS.append(cmd)
        REGISTRY[name] = cmd
        return handler

    return register
