"""Telegram adapter (python-telegram-bot 22): commands in, alerts out.

Long polling by default (no public URL needed); webhook mode when TELEGRAM_WEBHOOK_URL is
set, with the secret token checked on every update. TELEGRAM_API_URL points the bot at
another Bot API server (self-hosted, or a local fake in tests).
"""

from __future__ import annotations

import html
import logging
import os
from datetime import timedelta
from typing import TYPE_CHECKING

os.environ.setdefault("PTB_TIMEDELTA", "1")  # RetryAfter.retry_after as a timedelta, without a warning

from telegram import BotCommand, Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.commands import CommandError, CommandService, Reply
from bot.delivery import Limits, RateLimiter, SendResult
from bot.format import AlertMessage, split_message
from bot.chat.telegram_order import ChatOrderedProcessor, Verdict
from bot.throttle import Throttle

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)
LIMIT = 4096
CAPTION_LIMIT = 1024
COMMANDS = [("start", "welcome and how to subscribe"), ("help", "what the bot does"),
            ("subscribe", "alerts for a topic"), ("unsubscribe", "stop alerts for a topic or all"),
            ("list", "this chat's subscriptions"), ("status", "latest values and a chart"),
            ("chart", "a chart: /chart reserves 2y"), ("rules", "alert rules and thresholds"),
            ("history", "recent alerts"), ("reload", "reload rules (bot admins)")]


def to_html(reply_text: str, preformatted: bool) -> str:
    """Escape for Telegram's HTML parse mode; tables go in <pre> to keep their columns."""
    body = html.escape(reply_text, quote=False)
    return f"<pre>{body}</pre>" if preformatted else body


def alert_html(text: str) -> str:
    """An outbox alert: first line (severity + state + rule) in bold, the rest escaped."""
    title, _, rest = text.partition("\n")
    return f"<b>{html.escape(title, quote=False)}</b>\n{html.escape(rest, quote=False)}"


def _retry_seconds(exc: RetryAfter) -> float:
    ra = exc.retry_after
    return ra.total_seconds() if isinstance(ra, timedelta) else float(ra)


def _concurrency(rate: float) -> int:
    """Sends in flight: enough to keep `rate` going over a ~100 ms round trip, and no more,
    because httpcore's connection-pool bookkeeping costs grow with the number of connections."""
    return min(64, max(8, int(rate * 0.1)))


class TelegramAdapter:
    platform = "telegram"

    def __init__(self, commands: CommandService, settings: "Settings", reload_rules=None):
        self.commands = commands
        self.settings = settings
        self.reload_rules = reload_rules
        # TELEGRAM_MAX_PER_SECOND raises the overall rate for paid broadcasts (up to 1000/s).
        # Per-chat spacing has a small margin: what counts is arrival, after network jitter.
        self.limits = Limits(per_second=settings.telegram_max_per_second, per_chat_interval=1.05,
                             group_interval=3.05, concurrency=_concurrency(settings.telegram_max_per_second),
                             group_prefixes=("-",))  # group and channel ids are negative
        self.limiter = RateLimiter(self.limits)  # shared with the delivery loop
        self.throttle = Throttle()
        self._webhook = None
        self.app = self._build(settings.telegram_api_url.rstrip("/"))
        self._register()

    def _build(self, api: str) -> Application:
        return (Application.builder().token(self.settings.secret("telegram_bot_token") or "")
                .base_url(f"{api}/bot").base_file_url(f"{api}/file/bot")
                .connect_timeout(10).read_timeout(20).write_timeout(20).get_updates_read_timeout(15)
                # At most 64 sends in flight (see _concurrency), plus command replies and polling.
                .connection_pool_size(72)
                # Updates run concurrently; one chat's run one after another, in arrival order.
                .concurrent_updates(ChatOrderedProcessor(256, self._admit, self._slow_down))
                .build())

    # ---- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        await self.app.initialize()  # getMe: fails fast on a bad token
        await self.app.start()
        try:
            await self.app.bot.set_my_commands([BotCommand(c, d) for c, d in COMMANDS])
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
        elif getattr(self, "poll_updates", True):  # --- pg --- replicas: only the leader polls
            await self.app.updater.start_polling(timeout=10, allowed_updates=Update.ALL_TYPES,
                                                 error_callback=self._polling_error)
        log.info("telegram: @%s connected (%s)", self.app.bot.username,
                 "webhook" if s.telegram_webhook_url else "long polling")

    # --- pg ---
    async def set_polling(self, on: bool) -> None:
        """Start or stop long polling (replicas: Telegram allows one getUpdates consumer)."""
        self.poll_updates = on
        if on and not self.app.updater.running:
            await self.app.updater.start_polling(timeout=10, allowed_updates=Update.ALL_TYPES,
                                                 error_callback=self._polling_error)
        elif not on and self.app.updater.running:
            await self.app.updater.stop()
    # --- end pg ---

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
    def _admit(self, update: Update) -> Verdict:
        """The per-user throttle, for commands only: ok, warn (send the notice only) or drop."""
        msg, user = update.effective_message, update.effective_user
        if msg is None or not (msg.text or "").startswith("/"):
            return "ok"
        key = str(user.id if user else msg.chat_id)
        verdict = self.throttle.check(key)
        if verdict == "warn":
            log.info("telegram: user %s throttled for %gs", key, self.throttle.quiet)
        return verdict

    async def _slow_down(self, update: Update) -> None:
        """The one notice a throttled user gets, after the replies already queued for the chat."""
        try:
            await self._reply(update, Reply(
                f"Slow down: more than {self.throttle.limit} commands a minute. "
                f"I will ignore your commands for {self.throttle.quiet:.0f} seconds."))
        except TelegramError as exc:
            log.info("telegram: slow-down notice to %s not sent: %s", update.effective_chat.id, exc)

    def _register(self) -> None:
        kinds = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST
        for name, fn in (("start", self.cmd_start), ("help", self.cmd_help), ("subscribe", self.cmd_subscribe),
                         ("unsubscribe", self.cmd_unsubscribe), ("list", self.cmd_list), ("status", self.cmd_status),
                         ("chart", self.cmd_chart), ("rules", self.cmd_rules), ("history", self.cmd_history),
                         ("reload", self.cmd_reload)):
            self.app.add_handler(CommandHandler(name, fn, filters=kinds))
        self.app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self.on_migrate))
        self.app.add_handler(MessageHandler(filters.COMMAND & kinds, self.cmd_unknown))
        self.app.add_error_handler(self.on_error)

    async def _reply(self, update: Update, reply: Reply) -> None:
        msg = update.effective_message
        chat = str(msg.chat_id)
        if reply.photo:
            await self.limiter.acquire(chat)
            await msg.reply_photo(reply.photo, caption=(reply.caption or "")[:CAPTION_LIMIT])
            return
        for chunk in split_message(reply.text, LIMIT - 11):  # room for <pre></pre>
            await self.limiter.acquire(chat)
            await msg.reply_text(to_html(chunk, reply.preformatted), parse_mode=ParseMode.HTML)

    async def _may_change(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
        """In groups only chat administrators change subscriptions (channels: only admins can post)."""
        chat, user = update.effective_chat, update.effective_user
        if chat.type in (ChatType.PRIVATE, ChatType.CHANNEL):
            return True
        if user is None:
            return False
        member = await context.bot.get_chat_member(chat.id, user.id)
        return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)

    def _chat(self, update: Update) -> tuple[str, str, str | None]:
        chat = update.effective_chat
        return str(chat.id), chat.type, chat.title or chat.username

    async def cmd_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Welcome and how to subscribe."""
        await self._reply(update, Reply("Welcome to Liquidity Bot.\n\n" + self.commands.help().text))

    async def cmd_help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """What the bot does and its commands."""
        await self._reply(update, self.commands.help())

    async def _mutate(self, update: Update, context: ContextTypes.DEFAULT_TYPE, fn) -> None:
        if not await self._may_change(update, context):
            await self._reply(update, Reply("Sorry, only this group's administrators can change its subscriptions."))
            return
        try:
            reply = fn()
        except CommandError as exc:
            reply = Reply(str(exc))
        await self._reply(update, reply)

    async def cmd_subscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Subscribe this chat to a topic."""
        chat_id, kind, title = self._chat(update)
        arg = context.args[0] if context.args else None
        await self._mutate(update, context, lambda: self.commands.subscribe("telegram", chat_id, arg, kind, title))

    async def cmd_unsubscribe(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Unsubscribe this chat from a topic, or all."""
        chat_id, _, _ = self._chat(update)
        arg = context.args[0] if context.args else None
        await self._mutate(update, context, lambda: self.commands.unsubscribe("telegram", chat_id, arg))

    async def cmd_list(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """This chat's subscriptions."""
        await self._reply(update, self.commands.list("telegram", self._chat(update)[0]))

    async def cmd_status(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Snapshot table, then a reserves chart rendered off the event loop."""
        await self._reply(update, self.commands.status_text())
        png = await self.commands.reserves_chart()
        if png:
            await self._reply(update, Reply("", photo=png, caption="Bank reserves, 3 years: $3T line and regime bands"))

    async def cmd_chart(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A chart of one metric over a period."""
        args = context.args or []
        try:
            reply = await self.commands.chart(args[0] if args else None, args[1] if len(args) > 1 else None)
        except CommandError as exc:
            reply = Reply(str(exc))
        await self._reply(update, reply)

    async def cmd_rules(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The rules and their thresholds."""
        await self._reply(update, self.commands.rules_text())

    async def cmd_history(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Recent alerts, optionally for one topic."""
        try:
            reply = self.commands.history(context.args[0] if context.args else None)
        except CommandError as exc:
            reply = Reply(str(exc))
        await self._reply(update, reply)

    async def cmd_reload(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Reload rules from disk (ADMIN_IDS only)."""
        user = update.effective_user
        if user is None or str(user.id) not in self.settings.admin_ids:
            await self._reply(update, Reply("Sorry, /reload is for the bot's administrators."))
            return
        text = await self.reload_rules() if self.reload_rules else "reload is not available"
        log.info("telegram: /reload by %s: %s", user.id, text)
        await self._reply(update, Reply(text))

    async def cmd_unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Any other /command: say so and show help."""
        text = (update.effective_message.text or "").split()[0][:40]
        await self._reply(update, Reply(f"Unknown command {text}. " + self.commands.help().text))

    async def on_migrate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A group became a supergroup: move its subscriptions to the new id."""
        msg = update.effective_message
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
            for chunk in split_message(message.to_text(), LIMIT - 7):  # room for <b></b>
                await self.app.bot.send_message(chat_id=int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id,
                                                text=alert_html(chunk),
                                                parse_mode=ParseMode.HTML)
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
