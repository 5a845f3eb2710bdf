"""Telegram adapter (python-telegram-bot 22): commands in, alerts out.

Long polling by default (no public URL needed); webhook mode when TELEGRAM_WEBHOOK_URL is
set, with the secret token checked on every update. TELEGRAM_API_URL points the bot at
another Bot API server (self-hosted, or a local fake in tests).
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any, TypeAlias

os.environ.setdefault("PTB_TIMEDELTA", "1")  # RetryAfter.retry_after as a timedelta, without a warning

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot.chat.telegram_markup import link_markup
from bot.chat.telegram_order import ChatOrderedProcessor
from bot.commands import COMMANDS, CommandService, Ctx, Reply
from bot.delivery import Limits, RateLimiter, SendResult
from bot.format import AlertMessage, split_message
from bot.i18n import tr
from bot.redact import is_personal, log_name
from bot.throttle import Throttle

if TYPE_CHECKING:
    from telegram.ext import ExtBot, JobQueue

    from bot.chat.telegram_webhook import WebhookServer
    from bot.config import Settings

    # The Application PTB's builder makes with its defaults (no custom context types, no persistence).
    TelegramApp: TypeAlias = Application[ExtBot[None], ContextTypes.DEFAULT_TYPE, dict[Any, Any], dict[Any, Any],
                                         dict[Any, Any], JobQueue[ContextTypes.DEFAULT_TYPE]]

log = logging.getLogger(__name__)
LIMIT = 4096
def to_html(reply_text: str, preformatted: bool) -> str:
    """Escape for Telegram's HTML parse mode; tables go in <pre> to keep their columns."""
    body = html.escape(reply_text, quote=False)
    return f"<pre>{body}</pre>" if preformatted else body


def split_html(reply: Reply) -> list[str]:
    """A reply as Telegram HTML chunks of at most 4096 characters: text, then the table in
    <pre> (kept whole when it fits), then the footer."""
    if reply.preformatted:
        return [to_html(c, True) for c in split_message(reply.text, LIMIT - 11)]
    parts = [html.escape(reply.text, quote=False)] if reply.text else []
    if reply.table:
        parts.append(f"<pre>{html.escape(reply.table, quote=False)}</pre>")
    if reply.footer:
        parts.append(html.escape(reply.footer, quote=False))
    body = "\n".join(parts)
    if len(body) <= LIMIT:
        return [body or " "]
    return [p for part in parts for p in ([part] if len(part) <= LIMIT else
                                          [html.escape(c, quote=False) for c in split_message(part, LIMIT // 2)])]


def buttons(message: AlertMessage) -> InlineKeyboardMarkup | None:
    """Under a firing alert: Chart, Mute 7d, Mute until resolved (callback data stays far under
    Telegram's 64 bytes: the mutes name the alert event, not the rule)."""
    if message.state == "resolved" or message.event_id is None or message.raw_text:
        return None
    _ = tr(message.lang)
    row = [InlineKeyboardButton(_("Chart"), callback_data=f"c|{message.metric}")] if message.metric else []
    row += [InlineKeyboardButton(_("Mute 7d"), callback_data=f"m7|{message.event_id}"),
            InlineKeyboardButton(_("Mute until resolved"), callback_data=f"mr|{message.event_id}")]
    return InlineKeyboardMarkup([row])


def alert_html(text: str) -> str:
    """An outbox alert: first line (severity + state + rule) in bold, the rest escaped; a grouped
    message's alerts (paragraphs) each get their own bold title."""
    def one(alert: str) -> str:
        title, _, rest = alert.partition("\n")
        return f"<b>{html.escape(title, quote=False)}</b>\n{html.escape(rest, quote=False)}"
    return "\n\n".join(one(part) for part in text.split("\n\n"))


def _target(chat_id: str) -> int | str:
    """Bot API chat_id: numeric ids as numbers, channel @usernames as they are."""
    return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id


def _retry_seconds(exc: RetryAfter) -> float:
    ra = exc.retry_after
    return ra.total_seconds() if isinstance(ra, timedelta) else float(ra)


def _concurrency(rate: float) -> int:
    """Sends in flight: enough to keep `rate` going over a ~100 ms round trip, and no more,
    because httpcore's connection-pool bookkeeping costs grow with the number of connections."""
    return min(64, max(8, int(rate * 0.1)))


class TelegramAdapter:
    platform = "telegram"
    local = False
    feed: str | None = None

    def __init__(self, commands: CommandService, settings: "Settings"):
        self.commands = commands
        self.settings = settings
        # TELEGRAM_MAX_PER_SECOND raises the overall rate for paid broadcasts (up to 1000/s).
        # Per-chat spacing has a small margin: what counts is arrival, after network jitter.
        self.limits = Limits(per_second=settings.telegram_max_per_second, per_chat_interval=1.1,
                             group_interval=3.1, concurrency=_concurrency(settings.telegram_max_per_second),
                             group_prefixes=("-",))  # group and channel ids are negative
        self.limiter = RateLimiter(self.limits)  # shared with the delivery loop
        self.throttle = Throttle()
        self._webhook: WebhookServer | None = None
        self._charts: set[asyncio.Task[None]] = set()   # alert charts being rendered and sent
        self._asked: set[tuple[str, str, str]] = set()   # (chat, metric, period) charts on their way
        # Awaited before each API call of an alert beyond the first (more chunks, the chart): the
        # delivery loop puts its own pacing here (Deliverer.slot: with replicas, the shared pace too).
        self.next_slot: Callable[[str], Awaitable[None]] = self.limiter.acquire
        self.poll_updates = True  # replicas: only the leader long-polls (await_leadership)
        self.app = self._build(settings.telegram_api_url.rstrip("/"))
        self._register()

    def _build(self, api: str) -> TelegramApp:
        return (Application.builder().token(self.settings.secret("telegram_bot_token") or "")
                .base_url(f"{api}/bot").base_file_url(f"{api}/file/bot")
                .connect_timeout(10).read_timeout(20).write_timeout(20).get_updates_read_timeout(15)
                # At most 64 sends in flight (see _concurrency), plus command replies and polling.
                .connection_pool_size(72)
                # Updates run concurrently; one chat's run one after another, in arrival order.
                .concurrent_updates(ChatOrderedProcessor(256, self.throttle, self._user_of, self._slow_down))
                .build())

    # ---- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        await self.app.initialize()  # getMe: fails fast on a bad token
        await self.app.start()
        try:
            await self.app.bot.set_my_commands([BotCommand(c.name, c.help) for c in COMMANDS if c.menu])
            await self.app.bot.set_my_commands([BotCommand(c.name, tr("zh")(c.help)) for c in COMMANDS if c.menu],
                                               language_code="zh")
        except TelegramError as exc:
            log.warning("telegram: could not set the command menu: %s", exc)
        s = self.settings
        if s.telegram_webhook_url:
            from bot.chat.telegram_webhook import WebhookServer

            secret = s.secret("telegram_webhook_secret") or ""
            self._webhook = WebhookServer(self.app, secret, s.telegram_webhook_port)
            await self._webhook.start()
            await self.app.bot.set_webhook(s.telegram_webhook_url, secret_token=secret,
                                           allowed_updates=Update.ALL_TYPES)
        elif self.poll_updates:  # replicas: only the leader polls
            assert self.app.updater is not None  # the builder always makes one
            await self.app.updater.start_polling(timeout=10, allowed_updates=Update.ALL_TYPES,
                                                 error_callback=self._polling_error)
        log.info("telegram: @%s connected (%s)", self.app.bot.username,
                 "webhook" if s.telegram_webhook_url else "long polling")

    def describe(self) -> str:
        """The platform name (start-up's summary line)."""
        return self.platform

    def await_leadership(self) -> None:
        """Telegram allows one long poller: on replicas, the leader's (a webhook serves them all)."""
        if not self.settings.telegram_webhook_url:
            self.poll_updates = False

    async def set_leader(self, leader: bool) -> None:
        """A new leader takes long polling; a follower lets go."""
        if not self.settings.telegram_webhook_url:
            await self.set_polling(leader)

    async def set_polling(self, on: bool) -> None:
        """Start or stop long polling (replicas: Telegram allows one getUpdates consumer)."""
        self.poll_updates = on
        assert self.app.updater is not None  # the builder always makes one
        if on and not self.app.updater.running:
            await self.app.updater.start_polling(timeout=10, allowed_updates=Update.ALL_TYPES,
                                                 error_callback=self._polling_error)
        elif not on and self.app.updater.running:
            await self.app.updater.stop()

    def _polling_error(self, exc: TelegramError) -> None:
        log.warning("telegram: polling error: %s", exc)

    async def stop(self) -> None:
        if self._webhook:
            await self._webhook.stop()
        if self.app.updater and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()

    # ---- commands ------------------------------------------------------------------------
    def _user_of(self, update: Update) -> str | None:
        """Who a command or a button press counts against in the throttle; None for anything else."""
        msg, user = update.effective_message, update.effective_user
        if update.callback_query is None and (msg is None or not (msg.text or "").startswith("/")):
            return None
        return str(user.id if user else msg.chat_id if msg else "")

    async def _slow_down(self, update: Update) -> None:
        """The one notice a throttled user gets, at once: not queued behind the commands waiting
        in the chat (only behind a reply already going out: Telegram spaces a chat's messages)."""
        msg = update.effective_message
        if msg is None:
            return
        log.info("telegram: user %s over the command limit", self._user_of(update))
        text = self.throttle.notice(self.commands.language("telegram", str(msg.chat_id)))
        try:
            if update.callback_query is not None:  # a button: a pop-up on the user's screen, not a chat message
                await update.callback_query.answer(text[:200], show_alert=True)
                return
            await self._paced(str(msg.chat_id), lambda: msg.reply_text(text))
        except TelegramError as exc:
            log.info("telegram: slow-down notice to %s not sent: %s", msg.chat_id, exc)

    def _register(self) -> None:
        kinds = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST
        for cmd in COMMANDS:  # one registry: the same commands as Slack's subcommands
            self.app.add_handler(CommandHandler(cmd.name, self._handler(cmd.name), filters=kinds))
        self.app.add_handler(CallbackQueryHandler(self.on_button))
        self.app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self.on_migrate))
        self.app.add_handler(MessageHandler(filters.COMMAND & kinds, self.cmd_unknown))
        self.app.add_error_handler(self.on_error)

    def _handler(self, name: str) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
        async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            await self._run(update, context, name, list(context.args or []))
        return run

    def _ctx(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> Ctx:
        chat, user = update.effective_chat, update.effective_user
        assert chat is not None  # commands and buttons come from a chat
        chat_id = str(chat.id)
        lang = self.commands.language("telegram", chat_id, user.language_code if user else None)
        return Ctx("telegram", chat_id, chat.type, chat.title or chat.username, str(user.id) if user else None,
                   lang, "/", may_change=lambda: self._may_change(update, context))

    async def _run(self, update: Update, context: ContextTypes.DEFAULT_TYPE, name: str, args: list[str]) -> None:
        ctx = self._ctx(update, context)
        for reply in await self.commands.dispatch(ctx, name, args):
            await self._reply(update, reply, ctx.lang)

    async def _reply(self, update: Update, reply: Reply, lang: str = "en") -> None:
        msg = update.effective_message
        assert msg is not None  # a command or a button press has a message
        chat = str(msg.chat_id)
        if reply.chart:
            metric, period = reply.chart
            if (chat, metric, period) in self._asked:
                return  # the same chart is already on its way to this chat
            self._asked.add((chat, metric, period))
            try:
                png = await self.commands.chart_png(metric, period, lang, ("telegram", chat))
                if png:
                    caption = self.commands.chart_caption(metric, period, lang)
                    await self._paced(chat, lambda: msg.reply_photo(png, caption=caption))
            finally:
                self._asked.discard((chat, metric, period))
            return
        chunks = split_html(reply)
        for i, chunk in enumerate(chunks):  # a link's button goes under the last chunk
            markup = link_markup(reply.link) if i == len(chunks) - 1 else None
            await self._paced(chat, partial(msg.reply_text, chunk, parse_mode=ParseMode.HTML, reply_markup=markup))

    REPLY_TRIES = 3

    async def _paced(self, chat: str, send: Callable[[], Awaitable[object]]) -> None:
        """One reply within the rate limits; a 429 pauses every send for the time Telegram
        asks and the reply is sent again (up to REPLY_TRIES times), so it is not lost."""
        for attempt in range(1, self.REPLY_TRIES + 1):
            await self.limiter.acquire(chat)
            try:
                await send()
                self.limiter.went(chat)  # the next message to this chat is spaced from the answer
                return
            except RetryAfter as exc:
                wait = _retry_seconds(exc)
                self.limiter.pause(wait)
                if attempt == self.REPLY_TRIES:
                    raise
                log.warning("telegram: 429 on a reply to %s; sending it again in %gs", chat, wait)

    async def _may_change(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
        """In groups only chat administrators change settings. A channel's commands come from its
        admins (only they can post), but its buttons are pressed by any subscriber: ask then too."""
        chat, user = update.effective_chat, update.effective_user
        assert chat is not None  # a command or a button press comes from a chat
        if chat.type == ChatType.PRIVATE or (chat.type == ChatType.CHANNEL and update.callback_query is None):
            return True
        if user is None:
            return False
        member = await context.bot.get_chat_member(chat.id, user.id)
        return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)

    async def cmd_unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Any other /command: say so and show help, unless it is addressed to another bot."""
        assert update.effective_message is not None  # the COMMAND filter matched a message
        word = (update.effective_message.text or "").split()[0]
        name, _, bot = word[1:].partition("@")
        if bot and bot.lower() != (self.app.bot.username or "").lower():
            return  # "/status@otherbot" in a group is not ours to answer
        await self._run(update, context, name, [])

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The buttons under an alert: Chart, Mute 7d, Mute until resolved (mutes: admins in groups)."""
        query = update.callback_query
        if query is None or update.effective_chat is None:
            return
        ctx = self._ctx(update, context)
        kind, _sep, arg = (query.data or "").partition("|")
        if kind == "c":
            await query.answer()
            await self._reply(update, Reply("", chart=(arg, "1y")), ctx.lang)
            return
        reply, done = await self.commands.mute_alert(ctx, arg if kind in ("m7", "mr") else "",
                                                     "7d" if kind == "m7" else "resolved")
        await query.answer(reply.text[:200], show_alert=not done)
        if done:
            await self._reply(update, reply, ctx.lang)

    async def on_migrate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A group became a supergroup: move its subscriptions to the new id."""
        msg = update.effective_message
        assert msg is not None  # the MIGRATE filter matched a message
        if msg.migrate_to_chat_id:
            self.commands.store.migrate_chat("telegram", str(msg.chat_id), str(msg.migrate_to_chat_id))
            log.info("telegram: chat %s migrated to %s", msg.chat_id, msg.migrate_to_chat_id)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log handler errors (tokens are redacted by the log filter); never a stack trace in chat."""
        log.error("telegram: error handling an update: %s", context.error, exc_info=context.error)
        if isinstance(update, Update) and update.effective_message and not isinstance(context.error, Forbidden):
            try:
                await update.effective_message.reply_text("Sorry, something went wrong. The error was logged.")
            except TelegramError:
                pass

    # ---- alerts --------------------------------------------------------------------------
    async def send(self, chat_id: str, message: AlertMessage) -> SendResult:
        """Deliver one alert; map Telegram's errors to retry / blocked / migrated / permanent."""
        try:
            chunks = split_message(message.to_text(), LIMIT - 7)  # room for <b></b>
            for i, chunk in enumerate(chunks):
                if i:
                    await self.next_slot(chat_id)
                await self.app.bot.send_message(chat_id=_target(chat_id),
                                                text=alert_html(chunk), parse_mode=ParseMode.HTML,
                                                reply_markup=buttons(message) if i == len(chunks) - 1 else None)
                self.limiter.went(chat_id)  # a busy Bot API can take a while: space the next from here
            if message.chart and message.metric:  # in the background: the alert counts as delivered once its text is
                task = asyncio.create_task(self._alert_chart(chat_id, message))
                self._charts.add(task)
                task.add_done_callback(self._charts.discard)
        except RetryAfter as exc:
            return SendResult("retry", f"429 retry after {_retry_seconds(exc):g}s", retry_after=_retry_seconds(exc))
        except Forbidden as exc:
            return SendResult("blocked", str(exc))
        except ChatMigrated as exc:
            return SendResult("migrated", "chat migrated", new_chat_id=str(exc.new_chat_id))
        except BadRequest as exc:  # a subclass of NetworkError: catch it first
            if "chat not found" in str(exc).lower():
                return SendResult("blocked", str(exc))
            return SendResult("permanent", f"400 {exc}")
        except NetworkError as exc:
            return SendResult("retry", f"network: {exc}")
        except TelegramError as exc:
            return SendResult("retry", str(exc))
        return SendResult("ok")

    async def _alert_chart(self, chat_id: str, message: AlertMessage) -> None:
        """Rules with `chart: true`: a year of the metric after the alert text (best effort:
        the alert itself is what must arrive)."""
        try:
            png = await self.commands.chart_png(message.metric or "", "1y", message.lang, ("telegram", chat_id))
        except Exception as exc:
            log.warning("telegram: chart for alert %s not rendered: %s", log_name(message.rule_id), exc)
            return
        if not png:
            return
        try:  # never retried: a retry would repeat the alert text already delivered
            await self.next_slot(chat_id)
            await self.app.bot.send_photo(chat_id=_target(chat_id),
                                          photo=png, caption=self.commands.chart_caption(message.metric or "", "1y",
                                                                                 message.lang))
            self.limiter.went(chat_id)
        except TelegramError as exc:
            who = "its chat" if is_personal(message.rule_id) else chat_id  # a personal alert's owner is private
            log.warning("telegram: chart for alert %s to %s not sent: %s", log_name(message.rule_id), who, exc)
