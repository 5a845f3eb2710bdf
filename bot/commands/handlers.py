"""Every chat command, in help and menu order: each handler carries its registration.

A handler reads the words and asks the service for that concern; it knows no platform.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands.registry import command
from bot.commands.reply import Ctx, Reply, arg
from bot.i18n import N_, tr

if TYPE_CHECKING:
    from bot.commands.service import CommandService


@command("start", "", N_("welcome and how to subscribe"), menu=False)
async def start(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    """Welcome, then the help."""
    _ = tr(ctx.lang)
    return [Reply(_("Welcome to Liquidity Bot.") + "\n\n" + s.help_text(ctx))]


@command("help", "", N_("what the bot does and its commands"))
async def help_(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    """The help text."""
    return [Reply(s.help_text(ctx))]


@command("status", "", N_("the verdict, latest values, 1- and 4-week changes (+ chart)"))
async def status(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    """The verdict and table, then the reserves chart."""
    return [s.status.status_text(ctx.lang, (ctx.platform, ctx.chat_id)), Reply("", chart=("reserves", "3y"))]


@command("chart", "<metric> [period]", N_("a chart, e.g. chart reserves 2y"))
async def chart(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    """A chart of one metric (or "global") over a period."""
    return [s.charts.chart(arg(args, 0), arg(args, 1), ctx.lang)]


@command("why", "[global|reserves|net_liquidity] [1w|4w|13w]",
         N_("what moved it: H.4.1 factors or Fed, ECB, BoJ and FX, e.g. why reserves 4w"))
async def why(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    """What moved a total: its parts' changes over a window."""
    from bot.why import answer  # the decomposition registry (bot/why.py)

    return [Reply(answer(s.catalog, s.core.frames(), args, ctx.lang))]


@command("subscribe", "<topic>", N_("get alerts for a topic"), changes_chat=True)
async def subscribe(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    """Subscribe this chat to a topic."""
    return [s.subscriptions.subscribe(ctx.platform, ctx.chat_id, arg(args, 0), ctx.kind, ctx.title, ctx.lang)]


@command("unsubscribe", "<topic|all>", N_("stop alerts for a topic, or all"), changes_chat=True)
async def unsubscribe(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    """Unsubscribe this chat from a topic, or from all."""
    return [s.subscriptions.unsubscribe(ctx.platform, ctx.chat_id, arg(args, 0), ctx.lang)]


@command("list", "", N_("this chat's subscriptions"))
async def list_(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    """This chat's subscriptions and mutes."""
    return [s.subscriptions.list(ctx.platform, ctx.chat_id, ctx.lang, ctx.prefix)]


@command("rules", "", N_("the alert rules and their thresholds"))
async def rules(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    """The shared rules, one line each."""
    return [s.rules_history.rules_text(ctx.lang)]


@command("history", "[topic]", N_("recent alerts"))
async def history(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    """The newest alerts this chat may see."""
    return [s.rules_history.history(arg(args, 0), ctx.lang, (ctx.platform, ctx.chat_id))]


@command("alert", "<metric> <op> <value> [for N]", N_("your own alert, e.g. alert reserves < 2.95T"),
         changes_chat=True)
async def alert(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    """Set a personal alert, or `alert delete N`."""
    if args and args[0].lower() == "delete":
        return [s.alerts.delete_alert(ctx, arg(args, 1))]
    return [s.alerts.add_alert(ctx, args)]


@command("alerts", "", N_("this chat's personal alerts; alert delete N removes one"))
async def alerts(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    """This chat's personal alerts and their states."""
    return [s.alerts.list_alerts(ctx)]


@command("mute", "<topic|all> <7d|12h|resolved>", N_("hold back alerts for this chat"), changes_chat=True)
async def mute(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    """Mute a topic, rule or personal alert for a while or until it resolves."""
    return [s.mutes.mute(ctx, args)]


@command("unmute", "<topic|all>", N_("let them through again"), changes_chat=True)
async def unmute(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    """Lift a mute."""
    return [s.mutes.unmute(ctx, arg(args, 0))]


@command("quiet", "HH:MM-HH:MM [timezone] | off", N_("quiet hours: non-critical alerts wait until they end"),
         changes_chat=True)
async def quiet(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    """Set or clear this chat's quiet hours."""
    return [s.settings.quiet(ctx, args)]


@command("digest", "daily|weekly|off [HH:MM] [timezone]", N_("a scheduled summary (weekly: Fridays)"),
         changes_chat=True)
async def digest(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    """Set or clear this chat's digest."""
    return [s.settings.digest(ctx, args)]


@command("lang", "<en|zh>", N_("reply and alert language (English, 简体中文)"), changes_chat=True)
async def lang(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    """Set this chat's language."""
    return [s.settings.set_language(ctx, arg(args, 0))]


@command("reload", "", N_("reload the rules from disk (bot admins)"), bot_admin=True)
async def reload(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    """Reload the rule files (bot admins only)."""
    _ = tr(ctx.lang)
    text = await s.reload_rules() if s.reload_rules else _("Reload is not available here.")
    return [Reply(text)]
