"""`CommandService`: the one object adapters and the runtime hold. It checks who may run a command,
runs it, and composes the services by concern (each in its own module of this package)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

from bot.catalog import Catalog
from bot.commands.alerts import PersonalAlerts
from bot.commands.charts import PERIODS, Charts
from bot.commands.core import Core
from bot.commands.history import RulesHistory
from bot.commands.mutes import Mutes
from bot.commands.registry import COMMANDS, REGISTRY
from bot.commands.reply import MAX_ARG, NOT_ADMIN, CommandError, Ctx, Reply
from bot.commands.settings import ChatSettings
from bot.commands.status import Status
from bot.commands.subscriptions import Subscriptions
from bot.i18n import DEFAULT, tr
from bot.metrics import Frames
from bot.rules.model import Rule
from bot.store import Storage

if TYPE_CHECKING:
    from bot.chart import ChartSpec
    from bot.personal import Personal


class CommandService:
    """What the chat commands do, over the store and the current rules."""

    def __init__(self, store: Storage, catalog: Catalog, rules: Callable[[], list[Rule]], now: Callable[[], datetime],
                 admin_ids: frozenset[str] = frozenset(), web_public_url: str | None = None):
        self.core = Core(store, catalog, rules, now)
        self.admin_ids = admin_ids
        self.web_public_url = web_public_url   # WEB_PUBLIC_URL: /dashboard's page and Mini App
        self.reload_rules: Callable[[], Awaitable[str]] | None = None
        self.alerts = PersonalAlerts(self.core)
        self.mutes = Mutes(self.core, self.alerts)
        self.subscriptions = Subscriptions(self.core, self.mutes)
        self.settings = ChatSettings(self.core)
        self.status = Status(self.core, self.alerts)
        self.charts = Charts(self.core, self.alerts)
        self.rules_history = RulesHistory(self.core, self.alerts, self.subscriptions)

    # ---- what every service shares (replacing the store reaches them all) -------------------
    @property
    def store(self) -> Storage:
        """The store the commands read and write."""
        return self.core.store

    @store.setter
    def store(self, store: Storage) -> None:
        self.core.store = store

    @property
    def catalog(self) -> Catalog:
        """The metric catalog."""
        return self.core.catalog

    @property
    def now(self) -> Callable[[], datetime]:
        """The clock."""
        return self.core.now

    @now.setter
    def now(self, now: Callable[[], datetime]) -> None:
        self.core.now = now

    @property
    def rules(self) -> list[Rule]:
        """The rules loaded now."""
        return self.core.rules

    @property
    def personal_changed(self) -> Callable[[], None] | None:
        """Called when a chat adds or deletes a personal alert (the runtime re-evaluates)."""
        return self.alerts.personal_changed

    @personal_changed.setter
    def personal_changed(self, hook: Callable[[], None] | None) -> None:
        self.alerts.personal_changed = hook

    def invalidate(self, frames: Frames | None = None) -> None:
        """New data or new alert states (called from the engine's thread after an evaluation):
        use `frames` (the engine's, computed off the loop) or, without them, the next /status or
        /chart reads the store again instead of the cached frames."""
        self.core.frames_cache = frames

    def _frames(self) -> Frames:
        return self.core.frames()

    # ---- the registry ----------------------------------------------------------------------
    async def dispatch(self, ctx: Ctx, name: str, args: list[str]) -> list[Reply]:
        """Run one command for one chat; every user mistake becomes a clear reply."""
        _ = tr(ctx.lang)
        cmd = REGISTRY.get(name.lower())
        if cmd is None:
            shown = name[:40]
            return [Reply(_("Unknown command {cmd}.").format(cmd=f"{ctx.prefix}{shown}") + "\n\n" + self.help_text(ctx))]
        if cmd.bot_admin and (ctx.user_id is None or ctx.user_id not in self.admin_ids):
            return [Reply(_("Sorry, {cmd} is for the bot's administrators.").format(cmd=f"{ctx.prefix}{cmd.name}"))]
        if cmd.changes_chat and ctx.may_change is not None and not await ctx.may_change():
            return [Reply(_(NOT_ADMIN))]
        try:
            return await cmd.handler(self, ctx, [a[:MAX_ARG] for a in args])
        except CommandError as exc:
            return [Reply(str(exc))]

    def help_text(self, ctx: Ctx) -> str:
        """What the bot does, each menu command with its usage, the topics and the periods."""
        _ = tr(ctx.lang)
        lines = [_("Liquidity Bot watches bank reserves, ON RRP, the TGA, repo rates vs IORB and SRF usage, "
                   "and tells you when they change."), ""]
        for cmd in COMMANDS:
            if cmd.menu:
                usage = f"{ctx.prefix}{cmd.name}" + (f" {cmd.args}" if cmd.args else "")
                lines.append(f"{usage} - {_(cmd.help)}")
        lines += ["", _("Topics: {topics}").format(topics=", ".join(self.topics())),
                  _("Periods: {periods}").format(periods=", ".join(PERIODS))]
        return "\n".join(lines)

    def help(self, prefix: str = "/", lang: str = DEFAULT) -> Reply:
        """The help as a reply."""
        return Reply(self.help_text(Ctx("", "", lang=lang, prefix=prefix)))

    # ---- the services' methods, under the names adapters, the runtime and tests call -----------
    def language(self, platform: str, chat_id: str, hint: str | None = None) -> str:
        """The chat's language (see ChatSettings.language)."""
        return self.settings.language(platform, chat_id, hint)

    def set_language(self, ctx: Ctx, raw: str | None) -> Reply:
        """/lang."""
        return self.settings.set_language(ctx, raw)

    def quiet(self, ctx: Ctx, args: list[str]) -> Reply:
        """/quiet."""
        return self.settings.quiet(ctx, args)

    def digest(self, ctx: Ctx, args: list[str]) -> Reply:
        """/digest."""
        return self.settings.digest(ctx, args)

    def topics(self) -> list[str]:
        """The topics: the rules' and "all"."""
        return self.core.topics()

    def subscribe(self, platform: str, chat_id: str, raw: str | None, kind: str, title: str | None,
                  lang: str = DEFAULT) -> Reply:
        """/subscribe."""
        return self.subscriptions.subscribe(platform, chat_id, raw, kind, title, lang)

    def unsubscribe(self, platform: str, chat_id: str, raw: str | None, lang: str = DEFAULT) -> Reply:
        """/unsubscribe."""
        return self.subscriptions.unsubscribe(platform, chat_id, raw, lang)

    def alert_usage(self, lang: str, prefix: str) -> str:
        """How to write a personal alert."""
        return self.alerts.alert_usage(lang, prefix)

    def add_alert(self, ctx: Ctx, args: list[str]) -> Reply:
        """/alert <metric> <op> <value>."""
        return self.alerts.add_alert(ctx, args)

    def delete_alert(self, ctx: Ctx, raw: str | None) -> Reply:
        """/alert delete N."""
        return self.alerts.delete_alert(ctx, raw)

    def list_alerts(self, ctx: Ctx) -> Reply:
        """/alerts."""
        return self.alerts.list_alerts(ctx)

    def _personal(self, platform: str, chat_id: str) -> list[Personal]:
        return self.alerts.personal(platform, chat_id)

    def personal_titles(self, platform: str, chat_id: str, lang: str) -> dict[str, str]:
        """This chat's personal alerts by rule id -> their titles."""
        return self.alerts.personal_titles(platform, chat_id, lang)

    def mute(self, ctx: Ctx, args: list[str]) -> Reply:
        """/mute."""
        return self.mutes.mute(ctx, args)

    async def mute_alert(self, ctx: Ctx, raw_event: str, how: str) -> tuple[Reply, bool]:
        """A mute button under an alert: the reply, and whether the mute was set."""
        return await self.mutes.mute_alert(ctx, raw_event, how)

    def unmute(self, ctx: Ctx, raw: str | None) -> Reply:
        """/unmute."""
        return self.mutes.unmute(ctx, raw)

    def mutes_text(self, platform: str, chat_id: str, lang: str) -> str:
        """The chat's mutes as one line ("" when none)."""
        return self.mutes.mutes_text(platform, chat_id, lang)

    def status_text(self, lang: str = DEFAULT, chat: tuple[str, str] | None = None) -> Reply:
        """/status (the reply without its chart)."""
        return self.status.status_text(lang, chat)

    def digest_message(self, platform: str, chat_id: str, kind: str, since: str, lang: str) -> str:
        """A chat's daily or weekly digest."""
        return self.status.digest_message(platform, chat_id, kind, since, lang)

    def chart(self, raw_metric: str | None, raw_period: str | None, lang: str = DEFAULT) -> Reply:
        """/chart."""
        return self.charts.chart(raw_metric, raw_period, lang)

    async def chart_png(self, metric: str, period: str, lang: str = DEFAULT,
                        chat: tuple[str, str] | None = None) -> bytes | None:
        """The chart's PNG (see Charts.chart_png)."""
        return await self.charts.chart_png(metric, period, lang, chat)

    def chart_caption(self, metric: str, period: str, lang: str = DEFAULT) -> str:
        """The chart's caption in the chat's language."""
        return self.charts.chart_caption(metric, period, lang)

    def _chart_spec(self, metric: str, period: str, lang: str,
                    chat: tuple[str, str] | None = None) -> tuple[ChartSpec | None, str | None]:
        return self.charts.chart_spec(metric, period, lang, chat)

    def rules_text(self, lang: str = DEFAULT) -> Reply:
        """/rules."""
        return self.rules_history.rules_text(lang)

    def history(self, raw_topic: str | None, lang: str = DEFAULT, chat: tuple[str, str] | None = None) -> Reply:
        """/history."""
        return self.rules_history.history(raw_topic, lang, chat)

    # Last: below this line `list` in an annotation would name this method, not the builtin.
    def list(self, platform: str, chat_id: str, lang: str = DEFAULT, prefix: str = "/") -> Reply:
        """/list."""
        return self.subscriptions.list(platform, chat_id, lang, prefix)
