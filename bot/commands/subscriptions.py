"""Subscriptions: /subscribe, /unsubscribe and /list (with the chat's mutes)."""

from __future__ import annotations

import difflib

from bot.commands.core import Core
from bot.commands.mutes import Mutes
from bot.commands.reply import MAX_ARG, CommandError, Reply
from bot.i18n import DEFAULT, tr


class Subscriptions:
    """Which topics' alerts a chat gets."""

    def __init__(self, core: Core, mutes: Mutes):
        self.core, self.mutes = core, mutes

    def topic(self, raw: str | None, lang: str = DEFAULT) -> str:
        """The topic the user meant, or a CommandError naming the topics (and the closest one)."""
        _ = tr(lang)
        topics = self.core.topics
        if not raw:
            raise CommandError(_("Which topic? One of: {topics}").format(topics=", ".join(topics())))
        topic = raw.strip().lower()[:MAX_ARG]
        if topic in topics():
            return topic
        close = difflib.get_close_matches(topic, topics(), n=1)
        hint = " " + _("Did you mean {word}?").format(word=close[0]) if close else ""
        raise CommandError(_("Unknown topic {topic!r}.").format(topic=topic) + hint + " "
                           + _("Topics: {topics}").format(topics=", ".join(topics())))

    def subscribe(self, platform: str, chat_id: str, raw: str | None, kind: str, title: str | None,
                  lang: str = DEFAULT) -> Reply:
        """/subscribe <topic>."""
        _ = tr(lang)
        topic = self.topic(raw, lang)
        stamp = self.core.stamp()
        self.core.store.ensure_chat(platform, chat_id, kind, title, stamp)
        added = self.core.store.subscribe(platform, chat_id, topic, stamp)
        if not added:
            return Reply(_("Already subscribed to {topic}.").format(topic=topic))
        if topic == "all":
            return Reply(_("Subscribed to every alert."))
        return Reply(_("Subscribed to {topic} alerts.").format(topic=topic))

    def unsubscribe(self, platform: str, chat_id: str, raw: str | None, lang: str = DEFAULT) -> Reply:
        """/unsubscribe <topic|all>."""
        _ = tr(lang)
        topic = self.topic(raw, lang)
        n = self.core.store.unsubscribe(platform, chat_id, None if topic == "all" else topic)
        if topic == "all":
            return Reply(_("Unsubscribed from everything ({n} topic(s)).").format(n=n))
        if n:
            return Reply(_("Unsubscribed from {topic}.").format(topic=topic))
        return Reply(_("This chat was not subscribed to {topic}.").format(topic=topic))

    def list(self, platform: str, chat_id: str, lang: str = DEFAULT, prefix: str = "/") -> Reply:
        """/list: the chat's subscriptions, then its mutes."""
        _ = tr(lang)
        subs = self.core.store.subscriptions(platform, chat_id)
        mutes = self.mutes.mutes_text(platform, chat_id, lang)
        if not subs:
            text = _("No subscriptions yet. Try {cmd} (topics: {topics}).").format(
                cmd=f"{prefix}subscribe reserves", topics=", ".join(self.core.topics()))
        else:
            text = _("This chat is subscribed to: {topics}").format(topics=", ".join(subs))
        return Reply(text + ("\n" + mutes if mutes else ""))
