"""Slack's App Home tab (`app_home_opened` → `views.publish`): the /status verdict and table, and
which public channels of the workspace subscribe to which topics. Nothing personal: no personal
alert, no private channel or direct message (conversations.info decides; unknown counts as private)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import CommandService
from bot.i18n import tr

log = logging.getLogger(__name__)
MAX_CHANNELS = 40          # channels listed (each looked up once an hour at most)
CACHE_SECONDS = 3600.0
TEXT_LIMIT = 3000


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def subscribed_channels(svc: CommandService) -> dict[str, list[str]]:
    """Slack channels with a subscription -> their topics (active chats only)."""
    chats = {chat for topic in svc.topics() for platform, chat in svc.store.subscribers(topic) if platform == "slack"}
    return {chat: svc.store.subscriptions("slack", chat) for chat in sorted(chats)[:MAX_CHANNELS]}


class PublicChannels:
    """Which channels are public, from conversations.info (needs channels:read), cached an hour."""

    def __init__(self, client: AsyncWebClient, clock: Callable[[], float] = time.monotonic):
        self.client, self.clock = client, clock
        self._known: dict[str, tuple[bool, float]] = {}

    async def is_public(self, channel: str) -> bool:
        """True only for a public channel Slack describes as such; any error or doubt: False."""
        cached = self._known.get(channel)
        if cached and self.clock() - cached[1] < CACHE_SECONDS:
            return cached[0]
        try:
            info = (await self.client.conversations_info(channel=channel)).get("channel") or {}
            public = bool(info.get("is_channel")) and not any(info.get(k) for k in ("is_private", "is_im", "is_mpim"))
        except (SlackApiError, ClientError, asyncio.TimeoutError) as exc:
            log.info("slack: Home tab leaves out a channel conversations.info does not describe (%s)",
                     type(exc).__name__)
            public = False
        self._known[channel] = (public, self.clock())
        return public


async def home_view(svc: CommandService, channels: PublicChannels, lang: str) -> dict[str, Any]:
    """The Home tab's view: the verdict and table (as /liquidity status), then the public channels'
    subscriptions."""
    from bot.chat.slack import reply_blocks

    _ = tr(lang)
    status = svc.status_text(lang)   # no chat: no personal alert joins the firing list
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": "Liquidity Bot"}}]
    blocks += reply_blocks(status) or [{"type": "section", "text": {"type": "mrkdwn",
                                                                      "text": _escape(status.text)[:TEXT_LIMIT] or " "}}]
    subs = {c: t for c, t in subscribed_channels(svc).items() if t and await channels.is_public(c)}
    lines = [f"<#{c}>: {_escape(', '.join(t))}" for c, t in subs.items()]
    blocks += [{"type": "divider"},
               {"type": "section", "text": {"type": "mrkdwn", "text": "*" + _("Channel subscriptions") + "*"}},
               {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:TEXT_LIMIT] if lines else
                                            _("No public channel subscribes yet: try {cmd} in one.").format(
                                                cmd="/liquidity subscribe reserves")}},
               {"type": "context", "elements": [{"type": "mrkdwn", "text": _(
                   "{cmd} in a channel changes that channel's subscriptions.").format(cmd="/liquidity help")}]}]
    return {"type": "home", "blocks": blocks[:100]}
