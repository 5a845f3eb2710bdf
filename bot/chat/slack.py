"""Slack adapter (slack-bolt, async): `/liquidity` and app mentions in, Block Kit alerts out.

Socket Mode when SLACK_APP_TOKEN (xapp-) is set; otherwise HTTP mode at /slack/events on
SLACK_PORT with Slack's signature and timestamp verified (bad or stale: 401, nothing done).
SLACK_API_URL points the Web API client elsewhere (proxies, a local fake in tests).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import ClientError, web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond, AsyncSay
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.chat.inbound import RefusalLog, slack_body_problem, slack_signed
from bot.chat.slack_home import PublicChannels, home_view
from bot.commands import CommandService, Ctx, Reply
from bot.delivery import Limits, RateLimiter, SendResult
from bot.format import AlertMessage
from bot.throttle import Throttle

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from bot.config import Settings

log = logging.getLogger(__name__)
GONE = {"not_in_channel", "channel_not_found", "is_archived", "account_inactive"}
FATAL = {"invalid_auth", "token_revoked", "not_authed", "missing_scope", "invalid_blocks", "msg_too_long"}
MENTION = re.compile(r"<@[A-Z0-9]+>")
TEXT_LIMIT = 3000  # a section block's text


def blocks_for(m: AlertMessage) -> list[dict[str, Any]]:
    """Block Kit: header (severity, state, the rule's title), the headline, the facts (value,
    threshold, change), why it matters, the rule's record, and a context line with the source."""
    if m.raw_text:
        return [{"type": "section", "text": {"type": "mrkdwn", "text": escape(m.raw_text)[:TEXT_LIMIT]}}]
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": m.title[:150], "emoji": True}},
              {"type": "section", "text": {"type": "mrkdwn", "text": escape(m.headline)[:TEXT_LIMIT]}}]
    if m.facts:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": escape(m.facts)[:TEXT_LIMIT]}})
    if m.since:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": escape(m.since)[:TEXT_LIMIT]}})
    if m.why and m.state != "resolved":
        why = "*" + m.label("Why it matters:") + "* " + escape(m.why)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": why[:TEXT_LIMIT]}})
    if m.analogs:  # issue 22 §3: the last times it looked like this
        past = "*" + m.label("Last times it looked like this:") + "*\n" + "\n".join(escape(a) for a in m.analogs)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": past[:TEXT_LIMIT]}})
    context = [m.label("Source: {source}").format(source=m.source),
               m.label("data as of {date}").format(date=m.data_date)]
    if m.context:
        context.append(m.context)
    if m.drivers:
        context.append(m.drivers)
    if m.note:
        context.append(m.note)
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(" · ".join(context))[:TEXT_LIMIT]}]})
    if m.state != "resolved" and m.event_id is not None:
        blocks.append({"type": "actions", "block_id": f"alert-{m.event_id}", "elements": action_buttons(m)})
    if m.also:  # a grouped message: the evaluation's other alerts for this channel
        blocks += [{"type": "divider"}, {"type": "section", "text": {"type": "mrkdwn",
                                                                     "text": escape(m.also)[:TEXT_LIMIT]}}]
    return blocks


def action_buttons(m: AlertMessage) -> list[dict[str, Any]]:
    """Chart, Mute 7d, Mute until resolved: the same buttons as in Telegram."""
    def button(action: str, label: str, value: str) -> dict[str, Any]:
        return {"type": "button", "action_id": action, "value": value,
                "text": {"type": "plain_text", "text": m.label(label), "emoji": True}}
    out = [button("liquidity_chart", "Chart", m.metric)] if m.metric else []
    return [*out, button("liquidity_mute_7d", "Mute 7d", str(m.event_id)),
            button("liquidity_mute_resolved", "Mute until resolved", str(m.event_id))]


def escape(text: str) -> str:
    """Slack's three control characters: echoed user text can neither ping (<!channel>, <!here>)
    nor make links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """Slack sends typed &, < and > escaped ("reserves &lt; 2.95T"); commands want them back."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mrkdwn(reply: Reply) -> str:
    """A reply as one mrkdwn text (the fallback and the ack text)."""
    if reply.preformatted:
        return f"```{escape(reply.text)}```"
    parts = [escape(reply.text)] if reply.text else []
    if reply.table:
        parts.append(f"```{escape(reply.table)}```")
    if reply.footer:
        parts.append(escape(reply.footer))
    return "\n".join(parts)[:TEXT_LIMIT * 4] or " "


def reply_blocks(reply: Reply) -> list[dict[str, Any]] | None:
    """Block Kit for replies with a table: the text, the table as fields (ten per section),
    and the footer as context. Other replies are plain text."""
    if not reply.fields:
        return None
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": escape(reply.text)[:TEXT_LIMIT]}}]
    fields = [{"type": "mrkdwn", "text": f"*{escape(k)}*\n{escape(v)}"[:2000]} for k, v in reply.fields]
    for i in range(0, len(fields), 10):
        blocks.append({"type": "section", "fields": fields[i:i + 10]})
    if reply.footer:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(reply.footer)[:TEXT_LIMIT]}]})
    return blocks


class SlackAdapter:
    platform = "slack"
    local = False
    # Slack allows about one message per second per channel; no hard global rate.
    limits = Limits(per_second=20, per_chat_interval=1.05, group_interval=1.05, concurrency=8)

    def __init__(self, commands: CommandService, settings: "Settings"):
        self.commands = commands
        self.settings = settings
        self.limiter = RateLimiter(self.limits)
        self.next_slot: Callable[[str], Awaitable[None]] = self.limiter.acquire  # set by the delivery loop
        self.feed: str | None = settings.slack_feed_channel or None  # SLACK_FEED_CHANNEL: every rule alert
        # No SDK retries: the outbox owns retries (a 429 or a dropped connection is retried
        # once, by the delivery loop, instead of twice over).
        self.client = AsyncWebClient(token=settings.secret("slack_bot_token"), base_url=settings.slack_api_url,
                                     retry_handlers=[])
        self._signing_secret = settings.secret("slack_signing_secret") or ""
        self._refusals = RefusalLog(log)
        self.app = AsyncApp(client=self.client, signing_secret=settings.secret("slack_signing_secret") or "",
                            request_verification_enabled=bool(settings.slack_signing_secret),
                            process_before_response=True, logger=logging.getLogger("bot.slack.bolt"))
        self.app.command("/liquidity")(self.on_command)
        self.app.event("app_mention")(self.on_mention)
        self.app.action(re.compile(r"^liquidity_"))(self.on_action)
        self.app.event("app_home_opened")(self.on_home)
        self.mode = "socket" if settings.slack_app_token else ("http" if settings.slack_signing_secret else "post-only")
        self._runner: web.AppRunner | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self.port: int | None = None
        self._warned: set[str] = set()
        self.throttle = Throttle()   # per user: a flood from one must not delay another's answer past 3 s
        self._asked: set[tuple[str, str, str]] = set()   # (channel, metric, period) charts on their way
        self._uploads: set[asyncio.Task[None]] = set()
        self._public = PublicChannels(self.client)

    # ---- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        auth = await self.client.auth_test()  # fails fast on a bad token
        if self.mode == "socket":
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            self._socket = AsyncSocketModeHandler(self.app, self.settings.secret("slack_app_token"))
            await self._socket.connect_async()  # type: ignore[no-untyped-call]  # slack-bolt leaves it unannotated
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

    def describe(self) -> str:
        """The platform and its mode (start-up's summary line)."""
        return f"{self.platform} ({self.mode} mode)"

    def await_leadership(self) -> None:
        """Every replica may take Slack events (each request goes to one of them)."""

    async def set_leader(self, leader: bool) -> None:
        """Every replica takes Slack events, leader or not."""

    async def stop(self) -> None:
        if self._socket:
            await self._socket.close_async()  # type: ignore[no-untyped-call]  # slack-bolt leaves it unannotated
        if self._runner:
            await self._runner.cleanup()

    async def _http(self, request: web.Request) -> web.Response:
        """Slack's HTTP requests: the signature and timestamp are checked before anything parses
        the body (401), then its shape (400), each refusal one short line; then bolt dispatches."""
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            self._refusals.refused("too-large", "slack: refused a request body over 1 MB (413)")
            return web.Response(status=413, text="too large")
        if not self._signed(body, request.headers):
            self._refusals.refused("unsigned", "slack: refused a request with a missing, wrong or stale signature (401)")
            return web.Response(status=401, text="invalid signature")
        problem = slack_body_problem(body, request.content_type)
        if problem:
            self._refusals.refused("malformed", f"slack: refused a signed request: {problem} (400)")
            return web.Response(status=400, text="bad request")
        try:
            bolt_resp = await self.app.async_dispatch(await to_bolt_request(request))
        except Exception as exc:  # a signed but malformed body: one line, not a traceback
            log.warning("slack: could not handle a signed request: %s", type(exc).__name__)
            return web.Response(status=400, text="bad request")
        return await to_aiohttp_response(bolt_resp)

    def _signed(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """Slack's v0 signature over the timestamp and body, within five minutes."""
        return slack_signed(self._signing_secret, body, headers.get("X-Slack-Request-Timestamp", ""),
                            headers.get("X-Slack-Signature", ""))

    # ---- commands ------------------------------------------------------------------------
    def _ctx(self, channel: str, title: str | None, user: str | None) -> Ctx:
        return Ctx("slack", channel, "channel", title, user, self.commands.language("slack", channel),
                   "/liquidity ", may_change=lambda: self._may_change(user))

    async def _may_change(self, user: str | None) -> bool:
        """With SLACK_ADMIN_ONLY=1 only ADMIN_IDS and workspace admins change a channel's settings."""
        if not self.settings.slack_admin_only:
            return True
        if user is None:
            return False
        if user in self.settings.admin_ids:
            return True
        try:
            info = await self.client.users_info(user=user)
        except (SlackApiError, ClientError, asyncio.TimeoutError) as exc:
            log.warning("slack: users.info for %s failed (%s): refusing the change", user, _error(exc))
            return False
        u = info.get("user") or {}
        return bool(u.get("is_admin") or u.get("is_owner"))

    async def run_command(self, text: str, channel: str, title: str | None,
                          user: str | None = None) -> tuple[list[Reply], str]:
        """`status`, `subscribe reserves`, ...: the replies and the channel's language."""
        words = unescape(text).strip().split()
        ctx = self._ctx(channel, title, user)
        return await self.commands.dispatch(ctx, words[0] if words else "help", words[1:]), ctx.lang

    async def on_command(self, ack: AsyncAck, command: dict[str, Any]) -> None:
        """`/liquidity <subcommand>`: text answered in the ack (within Slack's 3 s); charts are
        uploaded after it."""
        channel = command["channel_id"]
        user = command.get("user_id") or channel
        verdict = self.throttle.enter(user)
        if verdict != "ok":  # over the limit: the notice once, then an empty ack (Slack needs one)
            if verdict == "warn":
                await ack(text=self.throttle.notice(self.commands.language("slack", channel)),
                          response_type="ephemeral")
            else:
                await ack()
            return
        try:
            replies, lang = await self.run_command(command.get("text", ""), channel, command.get("channel_name"),
                                                   command.get("user_id"))
        finally:
            self.throttle.leave(user)
        text = [r for r in replies if not r.chart]
        files = [r for r in replies if r.chart]
        first = text[0] if text else Reply("")
        await ack(text=mrkdwn(first), blocks=reply_blocks(first),
                  response_type="in_channel" if files else "ephemeral")
        if files:  # after the ack: keep a reference so the task is not collected mid-upload
            task = asyncio.create_task(self._upload(channel, files, lang))
            self._uploads.add(task)
            task.add_done_callback(self._uploads.discard)

    async def on_mention(self, event: dict[str, Any], say: AsyncSay) -> None:
        """`@bot status` in a channel: the same subcommands, answered in the thread."""
        text = MENTION.sub("", event.get("text", ""))
        user = event.get("user") or event["channel"]
        verdict = self.throttle.enter(user)
        if verdict == "warn":
            await say(text=self.throttle.notice(self.commands.language("slack", event["channel"])),
                      thread_ts=event.get("ts"))
        if verdict != "ok":
            return
        try:
            replies, lang = await self.run_command(text, event["channel"], None, event.get("user"))
        finally:
            self.throttle.leave(user)
        for r in replies:
            if r.chart:
                await self._upload(event["channel"], [r], lang)
            else:
                await say(text=mrkdwn(r), blocks=reply_blocks(r), thread_ts=event.get("ts"))

    async def on_action(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """A button under an alert: a chart upload, or a mute (SLACK_ADMIN_ONLY applies)."""
        await ack()
        action = (body.get("actions") or [{}])[0]
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        user = (body.get("user") or {}).get("id")
        if not channel:
            return
        ctx = self._ctx(channel, None, user)
        value, kind = str(action.get("value", "")), action.get("action_id", "")
        if kind == "liquidity_chart":  # a chart costs like a command: it counts in the user's throttle
            verdict = self.throttle.enter(user or channel)
            if verdict == "warn":
                await respond(text=self.throttle.notice(ctx.lang), response_type="ephemeral", replace_original=False)
            if verdict != "ok":
                return
            try:
                await self._upload(channel, [Reply("", chart=(value, "1y"))], ctx.lang)
            finally:
                self.throttle.leave(user or channel)
            return
        reply, _done = await self.commands.mute_alert(ctx, value, "7d" if kind == "liquidity_mute_7d" else "resolved")
        await respond(text=escape(reply.text), response_type="ephemeral", replace_original=False)

    async def on_home(self, event: dict[str, Any]) -> None:
        """The App Home tab opened: publish the verdict, the table and the channels' subscriptions."""
        user = event.get("user")
        if event.get("tab") != "home" or not isinstance(user, str) or self.throttle.check(user) != "ok":
            return
        view = await home_view(self.commands, self._public, self.commands.language("slack", str(event.get("channel"))))
        try:
            await self.client.views_publish(user_id=user, view=view)
        except (SlackApiError, ClientError, asyncio.TimeoutError) as exc:
            log.warning("slack: Home tab not published: %s", _error(exc))

    async def _upload(self, channel: str, replies: list[Reply], lang: str) -> None:
        for r in replies:
            if not r.chart:
                continue
            metric, period = r.chart
            if (channel, metric, period) in self._asked:
                continue  # the same chart is already on its way to this channel
            self._asked.add((channel, metric, period))
            try:
                await self._upload_one(channel, metric, period, lang)
            finally:
                self._asked.discard((channel, metric, period))

    async def _upload_one(self, channel: str, metric: str, period: str, lang: str) -> None:
        png = await self.commands.chart_png(metric, period, lang, ("slack", channel))
        if not png:
            return
        title = self.commands.chart_caption(metric, period, lang)
        try:
            await self.client.files_upload_v2(channel=channel, content=png, filename="chart.png",
                                              title=title, request_file_info=False)
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
