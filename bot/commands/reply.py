"""What a command gets (`Ctx`, its words) and gives back (`Reply`, or a `CommandError` to explain)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.i18n import DEFAULT, N_

MAX_ARG = 64  # longer arguments are cut before they reach a reply
NOT_ADMIN = N_("Sorry, only this chat's administrators can change its subscriptions and settings.")


@dataclass(frozen=True)
class Link:
    """A button under a reply that opens `url`; in Telegram as a Mini App when `mini_app`."""

    label: str
    url: str
    mini_app: bool = False


@dataclass(frozen=True)
class Reply:
    """One answer, as data: each adapter renders it its own way."""

    text: str
    preformatted: bool = False   # the whole text is a table (Telegram <pre>, Slack ```)
    table: str | None = None     # a fixed-width block after the text
    footer: str | None = None    # plain lines after the table
    fields: tuple[tuple[str, str], ...] = ()   # the table as Slack Block Kit fields
    chart: tuple[str, str] | None = None       # (metric, period): render and attach after the text
    link: Link | None = None                   # a button under the text (adapters without buttons: ignored)


class CommandError(Exception):
    """A user mistake with a helpful message (unknown topic, missing argument)."""


@dataclass(frozen=True)
class Ctx:
    """Who asks, where, in which language; `may_change` asks the platform whether this user
    may change the chat's settings (group admins), only when a command needs it."""

    platform: str
    chat_id: str
    kind: str = "private"
    title: str | None = None
    user_id: str | None = None
    lang: str = DEFAULT
    prefix: str = "/"
    may_change: Callable[[], Awaitable[bool]] | None = None


def arg(args: list[str], i: int) -> str | None:
    """The i-th word after the command, if given."""
    return args[i] if len(args) > i else None


def number(raw: str | None, prefix: str = "#") -> int | None:
    """"3" or "#3" -> 3; None for anything else ("²", "-1", a 30-digit number)."""
    text = (raw or "").strip()
    text = text[len(prefix):] if prefix and text.startswith(prefix) else text
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else None
