"""A chat's own settings: its language (/lang), quiet hours (/quiet) and digest (/digest)."""

from __future__ import annotations

from bot.commands.core import Core
from bot.commands.reply import Ctx, Reply
from bot.i18n import DEFAULT, LANGUAGES, normalise, tr


class ChatSettings:
    """Per-chat settings; the language is cached (it is read for every message)."""

    def __init__(self, core: Core):
        self.core = core
        self._langs: dict[tuple[str, str], str | None] = {}

    def language(self, platform: str, chat_id: str, hint: str | None = None) -> str:
        """The chat's language: set with /lang, else the user's app language if we speak it."""
        key = (platform, chat_id)
        if key not in self._langs:
            if len(self._langs) > 50_000:
                self._langs.clear()
            self._langs[key] = self.core.store.language(platform, chat_id)
        return self._langs[key] or normalise(hint) or DEFAULT

    def set_language(self, ctx: Ctx, raw: str | None) -> Reply:
        """/lang <code>: answered in the language just chosen."""
        lang = normalise(raw)
        if lang is None:
            _ = tr(ctx.lang)
            choices = ", ".join(f"{code} ({name})" for code, name in LANGUAGES.items())
            return Reply(_("Which language? {choices}. Example: {cmd}").format(
                choices=choices, cmd=f"{ctx.prefix}lang zh"))
        self.core.store.ensure_chat(ctx.platform, ctx.chat_id, ctx.kind, ctx.title, self.core.stamp())
        self.core.store.set_language(ctx.platform, ctx.chat_id, lang)
        self._langs[(ctx.platform, ctx.chat_id)] = lang
        _ = tr(lang)  # the answer in the language just chosen
        return Reply(_("This chat now gets replies and alerts in English."))

    def quiet(self, ctx: Ctx, args: list[str]) -> Reply:
        """/quiet HH:MM-HH:MM [timezone] | off."""
        from bot.localtime import SpecError, parse_quiet

        _ = tr(ctx.lang)
        store = self.core.store
        stamp = self.core.stamp()
        store.ensure_chat(ctx.platform, ctx.chat_id, ctx.kind, ctx.title, stamp)
        if args and args[0].lower() == "off":
            store.set_chat_setting(ctx.platform, ctx.chat_id, "quiet", None)
            return Reply(_("Quiet hours off: alerts arrive at any time."))
        try:
            spec = parse_quiet(args, ctx.lang)
        except SpecError as exc:
            return Reply(f"{exc}. " + _("Usage: {cmd} HH:MM-HH:MM [timezone], or {off}").format(
                cmd=f"{ctx.prefix}quiet", off=f"{ctx.prefix}quiet off"))
        store.set_chat_setting(ctx.platform, ctx.chat_id, "quiet", spec)
        return Reply(_("Quiet hours {spec}: warnings and info alerts wait until they end; critical alerts "
                       "still come through.").format(spec=spec))

    def digest(self, ctx: Ctx, args: list[str]) -> Reply:
        """/digest daily|weekly|off [HH:MM] [timezone]."""
        from bot.localtime import SpecError, parse_digest

        _ = tr(ctx.lang)
        try:
            spec = parse_digest(args, ctx.lang)
        except SpecError as exc:
            return Reply(f"{exc}. " + _("Usage: {cmd} daily|weekly|off [HH:MM] [timezone]").format(
                cmd=f"{ctx.prefix}digest"))
        store = self.core.store
        stamp = self.core.stamp()
        store.ensure_chat(ctx.platform, ctx.chat_id, ctx.kind, ctx.title, stamp)
        store.set_chat_setting(ctx.platform, ctx.chat_id, "digest", spec)
        if spec is None:
            return Reply(_("Digest off."))
        store.set_chat_setting(ctx.platform, ctx.chat_id, "digest_last", stamp)
        kind = spec.split(" ")[0]
        text = _("Daily digest at {time}.") if kind == "daily" else _("Weekly digest on Fridays at {time}.")
        return Reply(text.format(time=" ".join(spec.split(" ")[1:])))
