"""The Mini App page's words: English source marked for the gettext catalogue, served to the
page translated (the page builds its DOM from them with textContent, never as HTML)."""

from __future__ import annotations

from bot.i18n import N_, tr

UI = {
    "title": N_("Liquidity Bot: your alerts and settings"),
    "open_in_telegram": N_("Open this page from Telegram: send /dashboard to the bot in a private chat."),
    "expired": N_("This session has expired. Close the page and send /dashboard again."),
    "slow_down": N_("Too many requests: wait a few seconds and try again."),
    "failed": N_("Something went wrong; nothing was changed."),
    "alerts": N_("Personal alerts"),
    "no_alerts": N_("No personal alerts yet."),
    "add_alert": N_("Add alert"),
    "metric": N_("Metric"),
    "value_hint": N_("Value, e.g. 2.95T, 5.3%, 10bp"),
    "prints": N_("Prints in a row"),
    "delete": N_("Delete"),
    "firing": N_("FIRING"),
    "watching": N_("watching"),
    "mutes": N_("Mutes"),
    "no_mutes": N_("Nothing is muted."),
    "mute": N_("Mute"),
    "unmute": N_("Unmute"),
    "for_12h": N_("12 hours"),
    "for_7d": N_("7 days"),
    "until_resolved": N_("until resolved"),
    "quiet": N_("Quiet hours"),
    "quiet_hint": N_("HH:MM-HH:MM [timezone], e.g. 22:00-07:00 Europe/London"),
    "digest": N_("Digest"),
    "digest_hint": N_("daily|weekly [HH:MM] [timezone], e.g. daily 08:00 America/New_York"),
    "off": N_("Off"),
    "save": N_("Save"),
    "language": N_("Language"),
    "none": N_("none"),
}


def ui_strings(lang: str) -> dict[str, str]:
    """The page's words in `lang`."""
    _ = tr(lang)
    return {key: _(text) for key, text in UI.items()}
