"""Mutes: /mute and /unmute, the buttons under an alert, and the mutes /list shows."""

from __future__ import annotations

from bot.commands.alerts import PersonalAlerts
from bot.commands.core import Core
from bot.commands.reply import NOT_ADMIN, Ctx, Reply, number
from bot.i18n import tr


class Mutes:
    """Holding back a chat's alerts: by topic, rule, or its own personal alert."""

    def __init__(self, core: Core, alerts: PersonalAlerts):
        self.core, self.alerts = core, alerts

    def target_title(self, target: str, platform: str, chat_id: str, lang: str) -> str:
        """A mute target as the chat should read it: a topic, a rule's title, "Your alert #3: ..."."""
        _ = tr(lang)
        if target == "personal":
            return _("your personal alerts")
        if target.startswith("personal_"):
            return self.alerts.personal_titles(platform, chat_id, lang).get(target, _("a deleted personal alert"))
        rule = next((r for r in self.core.rules if r.id == target), None)
        return rule.heading(lang) if rule else target

    def mute(self, ctx: Ctx, args: list[str]) -> Reply:
        """/mute <target> <7d|12h|resolved>."""
        from bot.rules.model import parse_duration

        _ = tr(ctx.lang)
        core = self.core
        own = {f"#{p.shown}": f"personal_{p.id}" for p in self.alerts.personal(ctx.platform, ctx.chat_id)}
        targets = {*core.topics(), "personal", *(r.id for r in core.rules), *own.values()}
        usage = _("Usage: {cmd} <topic|all> <7d|12h|resolved>").format(cmd=f"{ctx.prefix}mute")
        raw = args[0].lower() if args else ""
        target = own.get(raw, raw)  # "#3": this chat's personal alert #3
        if len(args) != 2 or target not in targets:
            return Reply(usage + " " + _("Topics: {topics}").format(topics=", ".join([*core.topics(), "personal"])))
        how = args[1].lower()
        shown = self.target_title(target, ctx.platform, ctx.chat_id, ctx.lang)
        stamp = core.stamp()
        if how == "resolved":
            core.store.ensure_chat(ctx.platform, ctx.chat_id, ctx.kind, ctx.title, stamp)
            core.store.mute(ctx.platform, ctx.chat_id, target, None, True, stamp)
            return Reply(_("Muted {target} until its alert resolves.").format(target=shown))
        try:
            until = (core.now() + parse_duration(how)).isoformat(timespec="minutes")
        except (ValueError, OverflowError):  # "99999999999999999999d" is past the calendar's end
            return Reply(usage)
        core.store.ensure_chat(ctx.platform, ctx.chat_id, ctx.kind, ctx.title, stamp)
        core.store.mute(ctx.platform, ctx.chat_id, target, until, False, stamp)
        return Reply(_("Muted {target} until {until} UTC.").format(target=shown, until=until.replace("T", " ")))

    async def mute_alert(self, ctx: Ctx, raw_event: str, how: str) -> tuple[Reply, bool]:
        """A "Mute 7d" / "Mute until resolved" button under an alert (named by its event):
        the reply, and whether the mute was set (False: refused or unknown alert)."""
        _ = tr(ctx.lang)
        store = self.core.store
        n = number(raw_event, prefix="")
        event = store.event(n) if n is not None else None
        if event is not None and event["topic"] == "personal" and \
                store.personal_owner(event["rule_id"]) != (ctx.platform, ctx.chat_id):
            event = None  # another chat's personal alert (or a deleted one): nothing to mute here
        if event is None:
            return Reply(_("That alert is too old to act on.")), False
        if ctx.may_change is not None and not await ctx.may_change():
            return Reply(_(NOT_ADMIN)), False
        return self.mute(ctx, [event["rule_id"], how]), True

    def unmute(self, ctx: Ctx, raw: str | None) -> Reply:
        """/unmute <target|all>."""
        _ = tr(ctx.lang)
        if not raw:
            return Reply(_("Usage: {cmd} <topic|all>").format(cmd=f"{ctx.prefix}unmute"))
        target = raw.lower()
        if target.startswith("#"):  # "#3": this chat's personal alert #3
            own = {f"#{p.shown}": f"personal_{p.id}" for p in self.alerts.personal(ctx.platform, ctx.chat_id)}
            target = own.get(target, target)
        shown = target if target == "all" else self.target_title(target, ctx.platform, ctx.chat_id, ctx.lang)
        n = self.core.store.unmute(ctx.platform, ctx.chat_id, None if target == "all" else target)
        return Reply(_("Unmuted {target}.").format(target=shown) if n else _("{target} was not muted.").format(
            target=shown))

    def mutes_text(self, platform: str, chat_id: str, lang: str) -> str:
        """"Muted: Reserves (until resolved), ..." or "" when nothing is muted."""
        _ = tr(lang)
        rows = self.core.store.mutes(self.core.stamp(), platform, chat_id)
        resolved = _("until resolved")
        parts = [f"{self.target_title(t, platform, chat_id, lang)}"
                 f" ({resolved if res else (until or '').replace('T', ' ') + ' UTC'})"
                 for _p, _c, t, until, res in rows]
        return _("Muted: {mutes}").format(mutes=", ".join(parts)) if parts else ""
