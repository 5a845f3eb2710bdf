"""/dashboard: the bot's page, opened from chat. In a Telegram private chat a Mini App button (the
Bot API allows web_app buttons only there); in groups, where it does not, a pointer to the private
chat; on Slack a link to the public page. Without WEB_PUBLIC_URL: how to set it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands.registry import command
from bot.commands.reply import Ctx, Link, Reply
from bot.i18n import N_, tr

if TYPE_CHECKING:
    from bot.commands.service import CommandService

MINI_APP_PATH = "/app/"   # bot/miniapp/routes.py serves the Mini App here


@command("dashboard", "", N_("your alerts and settings on one page (Telegram Mini App)"))
async def dashboard(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    """The Mini App button (Telegram private chats), or the public page's link."""
    _ = tr(ctx.lang)
    base = s.web_public_url
    if not base:
        return [Reply(_("The dashboard needs the bot's public https address: set {var}=https://your.host "
                        "(the host that serves the bot's web page) and restart the bot.").format(var="WEB_PUBLIC_URL"))]
    if ctx.platform != "telegram":
        return [Reply(_("The liquidity dashboard: {url}").format(url=f"{base}/"))]
    if ctx.kind != "private":
        return [Reply(_("Send {cmd} to me in a private chat: the page edits that chat's own alerts and settings. "
                        "This chat's settings are changed with commands by its admins.").format(cmd="/dashboard"))]
    return [Reply(_("Your personal alerts, mutes, quiet hours, digest and language on one page:"),
                  link=Link(_("Open the dashboard"), base + MINI_APP_PATH, mini_app=True))]
