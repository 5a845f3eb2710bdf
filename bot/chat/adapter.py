"""The one interface every chat adapter (console, Telegram, Slack) offers the runtime and the
delivery loop: the runtime calls these members only, and never asks which platform it holds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # bot.delivery imports the store; only its types are needed here
    from bot.delivery import Limits, RateLimiter, SendResult
    from bot.format import AlertMessage


class ChatAdapter(Protocol):
    """A chat platform as the runtime and delivery see it. A platform with nothing to do for a
    member implements it as a no-op (the console has no connection to start or stop)."""

    platform: str          # outbox rows, chats and subscriptions are keyed by it
    limits: Limits         # the platform's send limits
    limiter: RateLimiter   # shared by command replies and the delivery loop, so both count
    # Awaited before each API call of an alert beyond the first; the delivery loop installs its pace.
    next_slot: Callable[[str], Awaitable[None]]
    local: bool            # prints in this process's terminal: start-up shows a first data snapshot
    feed: str | None       # a chat that receives every rule alert without subscribing, if any

    def describe(self) -> str:
        """How the start-up summary names this adapter (its platform, and mode where it has one)."""
        ...

    async def start(self) -> None:
        """Connect and begin taking updates; raise if the platform refuses (a bad token)."""
        ...

    async def stop(self) -> None:
        """Stop taking updates and close connections; in-flight replies may be dropped."""
        ...

    def await_leadership(self) -> None:
        """Before `start`, with replicas sharing the store: take no updates that only one
        consumer may take (Telegram long polling) until `set_leader(True)`."""
        ...

    async def set_leader(self, leader: bool) -> None:
        """Replicas: this process became leader (True) or follower (False)."""
        ...

    async def send(self, chat_id: str, message: AlertMessage) -> SendResult:
        """Deliver one alert; never raise for platform errors, return a SendResult."""
        ...
