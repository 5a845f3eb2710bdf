"""Slack adapter (slack-bolt, async): `/liquidity` and app mentions in, Block Kit alerts out.

Socket Mode when SLACK_APP_TOKEN (xapp-) is set; otherwise HTTP mode at /slack/events on
SLACK_PORT with Slack's signature and timestamp verified (bad or stale: 401, nothing done).
SLACK_API_URL points the Web API client elsewhere (proxies, a local fake in tests).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING

from aiohttp import ClientError, web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import CommandError, CommandService, Reply
from bot.delivery import Limits, RateLimiter, SendResult
from bot.format import SEVERITY_MARK, STATE_WORD, AlertMessage

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)
GONE = {"not_in_channel", "channel_not_found", "is_archived", "account_inactive"}
FATAL = {"invalid_auth", "token_revoked", "not_authed", "missing_scope", "invalid_blocks", "msg_too_long"}
MENTION = re.compile(r"<@[A-Z0-9]+>")
TEXT_LIMIT = 3000  # a section block's text


def blocks_for(m: AlertMessage) -> list[dict]:
    """Block Kit: header with severity, the headline (value vs threshold, units, date), why it
    matters, and a context line with the source and any calendar note."""
    header = f"{SEVERITY_MARK.get(m.severity, '')} {STATE_WORD.get(m.state, m.state)}: {m.rule_id}".strip()
    if m.raw_text:
        return [{"type": "section", "text": {"type": "mrkdwn", "text": m.raw_text[:TEXT_LIMIT]}}]
    blocks = [{"type": "header", "text": {"type": "plain_text", "text": header[:150], "emoji": True}},
              {"type": "section", "text": {"type": "mrkdwn", "text": m.headline[:TEXT_LIMIT]}}]
    if m.why and m.state != "resolved":
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*Why it matters:* {m.why}"[:TEXT_LIMIT]}})
    context = [f"Source: {m.source}", f"data as of {m.data_date}", f"topic `{m.topic}`"]
    if m.note:
        context.append(m.note)
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)[:TEXT_LIMIT]}]})
    return blocks


def _code(reply: Reply) -> str:
    return f"```{reply.text}```" if reply.preformatted else reply.text


class SlackAdapter:
    platform = "slack"
    # Slack allows about one message per second per channel; no hard global rate.
    limits = Limits(per_second=20, per_chat_interval=1.05, group_interval=1.05, concurrency=8)

    def __init__(self, commands: CommandService, settings: "Settings"):
        self.commands = commands
        self.settings = settings
        self.limiter = RateLimiter(self.limits)
        # No SDK retries: the outbox owns retries (a 429 or a dropped connection is retried
        # once, by the delivery loop, instead of twice over).
        self.client = AsyncWebClient(token=settings.secret("slack_bot_token"), base_url=settings.slack_api_url,
                                     retry_handlers=[])
        secret = settings.secret("slack_signing_secret")
        self._verifier = SignatureVerifier(secret) if secret else None
        self.app = AsyncApp(client=self.client, signing_secret=settings.secret("slack_signing_secret") or "",
                            request_verification_enabled=bool(settings.slack_signing_secret),
                            process_before_response=True, logger=logging.getLogger("bot.slack.bolt"))
        self.app.command("/liquidity")(self.on_command)
        self.app.event("app_mention")(self.on_mention)
        self.mode = "socket" if settings.slack_app_token else ("http" if settings.slack_signing_secret else "post-only")
        self._runner: web.AppRunner | None = None
        self._socket = None
        self.port: int | None = None
        self._warned: set[str] = set()
        self._uploads: set[asyncio.Task] = set()

    # ---- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        auth = await self.client.auth_test()  # fails fast on a bad token
        if self.mode == "socket":
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            self._socket = AsyncSocketModeHandler(self.app, self.settings.secret("slack_app_token"))
            await self._socket.connect_async()
        elif self.mode == "http":
            web_app = web.Application()
            web_app.router.add_post("/slack/events", self._http)
            self._runner = web.AppRunner(web_app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "0.0.0.0", self.settings.slack_port)
            await site.start()
            self.port = self._runner.addresses[0][1]
        log.info("slack: connected as %s (%s mode%s)", auth.get("user", "?"), self.mode,
                 f", port {self.port}" if self.port else "")

    async def stop(self) -> None:
        if self._socket:
            await self._socket.close_async()
        if self._runner:
            await self._runner.cleanup()

    async def _http(self, request: web.Request) -> web.Response:
        """Slack's HTTP requests: the signature and timestamp are checked before anything parses
        the body (unsigned garbage: 401, quietly), then bolt dispatches."""
        body = await request.read()
        if not self._signed(body, request.headers):
            return web.Response(status=401, text="invalid signature")
        try:
            bolt_resp = await self.app.async_dispatch(await to_bolt_request(request))
        except Exception as exc:  # a signed but malformed body: one line, not a traceback
            log.warning("slack: could not handle a signed request: %s", type(exc).__name__)
            return web.Response(status=400, text="bad request")
        return await to_aiohttp_response(bolt_resp)

    def _signed(self, body: bytes, headers) -> bool:
        """Slack's v0 signature over the timestamp and body, within five minutes."""
        if self._verifier is None:
            return False
        try:
            return self._verifier.is_valid(body, headers.get("X-Slack-Request-Timestamp", ""),
                                           headers.get("X-Slack-Signature", ""))
        except (ValueError, TypeError):
            return False

    # ---- commands ------------------------------------------------------------------------
    async def run_command(self, text: str, channel: str, title: str | None) -> tuple[Reply, bool]:
        """`status`, `subscribe reserves`, ...: (reply, whether to upload the status chart)."""
        words = text.strip().split()
        sub, arg = (words[0].lower() if words else "help"), (words[1] if len(words) > 1 else None)
        c = self.commands
        try:
            if sub == "status":
                return c.status_text(), True
            if sub == "subscribe":
                return c.subscribe("slack", channel, arg, "channel", title), False
            if sub == "unsubscribe":
                return c.unsubscribe("slack", channel, arg), False
            if sub == "list":
                return c.list("slack", channel), False
            if sub == "rules":
                return c.rules_text(), False
            if sub == "history":
                return c.history(arg), False
            if sub == "help":
                return c.help("/liquidity "), False
        except CommandError as exc:
            return Reply(str(exc)), False
        return Reply(f"Unknown subcommand `{sub[:40]}`.\n" + c.help("/liquidity ").text), False

    async def on_command(self, ack, command: dict) -> None:
        """`/liquidity <subcommand>`: answered in the ack (within Slack's 3 s)."""
        reply, chart = await self.run_command(command.get("text", ""), command["channel_id"],
                                              command.get("channel_name"))
        await ack(text=_code(reply), response_type="in_channel" if chart else "ephemeral")
        if chart:  # after the ack (Slack's 3 s): keep a reference so the task is not collected mid-upload
            task = asyncio.create_task(self._upload_chart(command["channel_id"]))
            self._uploads.add(task)
            task.add_done_callback(self._uploads.discard)

    async def on_mention(self, event: dict, say) -> None:
        """`@bot status` in a channel: the same subcommands, answered in the thread."""
        text = MENTION.sub("", event.get("text", ""))
        reply, chart = await self.run_command(text, event["channel"], None)
        await say(text=_code(reply), thread_ts=event.get("ts"))
        if chart:
            await self._upload_chart(event["channel"])

    async def _upload_chart(self, channel: str) -> None:
        png = await self.commands.reserves_chart()
        if not png:
            return
        try:
            await self.client.files_upload_v2(channel=channel, content=png, filename="reserves.png",
                                              title="Bank reserves, 3 years", request_file_info=False)
        except (SlackApiError, ClientError, asyncio.TimeoutError) as exc:
            log.warning("slack: chart upload to %s failed: %s", channel, _error(exc))

    # ---- alerts --------------------------------------------------------------------------
    async def send(self, chat_id: str, message: AlertMessage) -> SendResult:
        """chat.postMessage with Block Kit and a plain-text fallback; errors mapped by kind."""
        try:
            await self.client.chat_postMessage(channel=chat_id, text=message.to_text()[:TEXT_LIMIT],
                                               blocks=blocks_for(message))
        except SlackApiError as exc:
            err = _error(exc)
            if err == "ratelimited":
                retry = float(exc.response.headers.get("Retry-After", exc.response.headers.get("retry-after", 1)))
                return SendResult("retry", "ratelimited", retry_after=retry)
            if err in GONE:
                if chat_id not in self._warned:  # once per channel, not once per alert
                    self._warned.add(chat_id)
                    log.warning("slack: cannot post to %s (%s); its subscriptions are paused", chat_id, err)
                return SendResult("blocked", err)
            if err in FATAL:
                return SendResult("permanent", err)
            return SendResult("retry", err)
        except (ClientError, asyncio.TimeoutError, OSError) as exc:
            return SendResult("retry", f"network: {type(exc).__name__}")
        return SendResult("ok")


def _error(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        try:
            return str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        except Exception:
            return "unknown Slack error"
    return type(exc).__name__
