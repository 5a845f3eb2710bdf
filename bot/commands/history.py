"""/rules (what the bot watches) and /history (what it said recently)."""

from __future__ import annotations

from bot.commands.alerts import PersonalAlerts
from bot.commands.core import Core
from bot.commands.reply import Reply
from bot.commands.subscriptions import Subscriptions
from bot.format import STATE_WORD
from bot.i18n import DEFAULT, tr


class RulesHistory:
    """The shared rules, and the alerts a chat may see."""

    def __init__(self, core: Core, alerts: PersonalAlerts, subscriptions: Subscriptions):
        self.core, self.alerts, self.subscriptions = core, alerts, subscriptions

    def rules_text(self, lang: str = DEFAULT) -> Reply:
        """One line per loaded rule: its title, topic, severity and condition."""
        _ = tr(lang)
        lines = []
        for r in self.core.rules:
            cond = r.kind.describe(r.kind.unit(self.core.catalog), lang)  # each condition kind says itself
            lines.append(f"• {r.heading(lang)} [{r.topic}, {r.severity}]: {cond}")
        return Reply("\n".join(lines) or _("No rules loaded."))

    def history(self, raw_topic: str | None, lang: str = DEFAULT, chat: tuple[str, str] | None = None) -> Reply:
        """The newest alerts `chat` may see: the shared rules' and its own personal ones (no chat:
        the shared rules' only), by title, never by id."""
        from bot.format import AlertMessage

        _ = tr(lang)
        platform, chat_id = chat or ("", "")
        topic = self.subscriptions.topic(raw_topic, lang) if raw_topic else None
        events = self.core.store.chat_history(platform, chat_id, None if topic == "all" else topic, limit=10)
        if not events:
            return Reply(_("No alerts yet."))
        words = {k: _(v) for k, v in STATE_WORD.items()}
        own = self.alerts.personal_titles(platform, chat_id, lang) if chat else {}
        headings = {r.id: r.heading(lang) for r in self.core.rules}
        lines = []
        for e in events:
            title = own.get(e["rule_id"]) or headings.get(e["rule_id"])
            if title is None:  # a rule no longer loaded: the title it was sent with
                title = AlertMessage.from_stored(e["payload"], e["text"], e["rule_id"], e["topic"], e["state"],
                                                 lang).heading or e["rule_id"].replace("_", " ").capitalize()
            lines.append(f"{e['created_at'][:16].replace('T', ' ')} {words.get(e['state'], e['state'])} {title}"
                         f" ({e['data_date']})")
        return Reply("\n".join(lines), preformatted=True)
