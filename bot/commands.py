"""Chat commands: one registry, shared by Telegram and Slack; adapters only translate.

Each command is defined once (`COMMANDS`: name, arguments, help text, who may run it, handler
returning `Reply` data). The Telegram handlers and menu, the Slack subcommands and both help
texts are built from it. Nothing here knows a platform's payloads.
"""

from __future__ import annotations

import asyncio
import difflib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd

from bot.catalog import Catalog
from bot.chart_marks import Own, RuleMarks, chart_thresholds
from bot.chart_pool import ChartPool
from bot.format import STATE_WORD, fmt, metric_label, rule_unit, window_text
from bot.i18n import DEFAULT, LANGUAGES, N_, normalise, tr
from bot.rules.model import Rule
from bot.status import slack_fields, table_lines, table_rows, verdict_lines
from bot.store import Storage

if TYPE_CHECKING:
    from bot.personal import Personal

# Charts render in a worker process (matplotlib holds the GIL for seconds), and a chart of the same
# data is rendered once: the cache key includes the newest data date, the language and the lines drawn.
CHART_POOL = ChartPool(1)
CHART_CACHE_SIZE = 64
PERIODS = {"1m": 31, "3m": 92, "6m": 183, "1y": 366, "2y": 731, "3y": 1096, "5y": 1827, "10y": 3653, "max": 100000}
PERIOD_WORDS = {"1m": N_("last month"), "3m": N_("last 3 months"), "6m": N_("last 6 months"),
                "1y": N_("last year"), "2y": N_("last 2 years"), "3y": N_("last 3 years"),
                "5y": N_("last 5 years"), "10y": N_("last 10 years"), "max": N_("all history")}
MAX_ARG = 64  # longer arguments are cut before they reach a reply
NOT_ADMIN = N_("Sorry, only this chat's administrators can change its subscriptions and settings.")


@dataclass(frozen=True)
class Reply:
    text: str
    preformatted: bool = False   # the whole text is a table (Telegram <pre>, Slack ```)
    table: str | None = None     # a fixed-width block after the text
    footer: str | None = None    # plain lines after the table
    fields: tuple[tuple[str, str], ...] = ()   # the table as Slack Block Kit fields
    chart: tuple[str, str] | None = None       # (metric, period): render and attach after the text


class CommandError(Exception):
    """A user mistake with a helpful message (unknown topic, missing argument)."""


@dataclass(frozen=True)
class Ctx:
    """Who asks, where, in which language; `may_change` asks the platform whether this user
    may change the chat's settings (group admins), only when a command needs it."""

    platform: str
    chat_id: str
    kind: str = "private"
    title: str | None = None
    user_id: str | None = None
    lang: str = DEFAULT
    prefix: str = "/"
    may_change: Callable[[], Awaitable[bool]] | None = None


Handler = Callable[["CommandService", Ctx, list[str]], Awaitable[list[Reply]]]


@dataclass(frozen=True)
class Command:
    name: str
    args: str            # usage after the name, e.g. "<topic>"
    help: str            # marked with N_, translated when shown
    handler: Handler
    changes_chat: bool = False   # in groups and channels only their admins may run it
    bot_admin: bool = False      # only ADMIN_IDS may run it
    menu: bool = True            # listed in help and the Telegram menu


class CommandService:
    """What the chat commands do, over the store and the current rules."""

    def __init__(self, store: Storage, catalog: Catalog, rules: Callable[[], list[Rule]], now: Callable[[], datetime],
                 admin_ids: frozenset[str] = frozenset()):
        self.store, self.catalog, self._rules, self.now = store, catalog, rules, now
        self.admin_ids = admin_ids
        self.reload_rules: Callable[[], Awaitable[str]] | None = None
        self.personal_changed: Callable[[], None] | None = None   # the runtime re-evaluates
        self._frames_cache = None
        self._charts: OrderedDict[tuple, bytes] = OrderedDict()
        self._rendering: dict[tuple, asyncio.Future[bytes]] = {}   # charts being rendered, by cache key
        self._marks = RuleMarks(catalog)
        self._langs: dict[tuple[str, str], str | None] = {}

    def invalidate(self, frames=None) -> None:
        """New data or new alert states (called from the engine's thread after an evaluation):
        use `frames` (the engine's, computed off the loop) or, without them, the next /status or
        /chart reads the store again instead of the cached frames."""
        self._frames_cache = frames

    @property
    def rules(self) -> list[Rule]:
        return self._rules()

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

    def language(self, platform: str, chat_id: str, hint: str | None = None) -> str:
        """The chat's language: set with /lang, else the user's app language if we speak it."""
        key = (platform, chat_id)
        if key not in self._langs:
            if len(self._langs) > 50_000:
                self._langs.clear()
            self._langs[key] = self.store.language(platform, chat_id)
        return self._langs[key] or normalise(hint) or DEFAULT

    def help_text(self, ctx: Ctx) -> str:
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
        return Reply(self.help_text(Ctx("", "", lang=lang, prefix=prefix)))

    # ---- subscriptions ---------------------------------------------------------------------
    def topics(self) -> list[str]:
        return [*sorted({r.topic for r in self.rules}), "all"]

    def _topic(self, raw: str | None, lang: str = DEFAULT) -> str:
        _ = tr(lang)
        if not raw:
            raise CommandError(_("Which topic? One of: {topics}").format(topics=", ".join(self.topics())))
        topic = raw.strip().lower()[:MAX_ARG]
        if topic in self.topics():
            return topic
        close = difflib.get_close_matches(topic, self.topics(), n=1)
        hint = " " + _("Did you mean {word}?").format(word=close[0]) if close else ""
        raise CommandError(_("Unknown topic {topic!r}.").format(topic=topic) + hint + " "
                           + _("Topics: {topics}").format(topics=", ".join(self.topics())))

    def subscribe(self, platform: str, chat_id: str, raw: str | None, kind: str, title: str | None,
                  lang: str = DEFAULT) -> Reply:
        _ = tr(lang)
        topic = self._topic(raw, lang)
        stamp = self.now().isoformat(timespec="seconds")
        self.store.ensure_chat(platform, chat_id, kind, title, stamp)
        added = self.store.subscribe(platform, chat_id, topic, stamp)
        if not added:
            return Reply(_("Already subscribed to {topic}.").format(topic=topic))
        if topic == "all":
            return Reply(_("Subscribed to every alert."))
        return Reply(_("Subscribed to {topic} alerts.").format(topic=topic))

    def unsubscribe(self, platform: str, chat_id: str, raw: str | None, lang: str = DEFAULT) -> Reply:
        _ = tr(lang)
        topic = self._topic(raw, lang)
        n = self.store.unsubscribe(platform, chat_id, None if topic == "all" else topic)
        if topic == "all":
            return Reply(_("Unsubscribed from everything ({n} topic(s)).").format(n=n))
        if n:
            return Reply(_("Unsubscribed from {topic}.").format(topic=topic))
        return Reply(_("This chat was not subscribed to {topic}.").format(topic=topic))

    def list(self, platform: str, chat_id: str, lang: str = DEFAULT, prefix: str = "/") -> Reply:
        _ = tr(lang)
        subs = self.store.subscriptions(platform, chat_id)
        mutes = self.mutes_text(platform, chat_id, lang)
        if not subs:
            text = _("No subscriptions yet. Try {cmd} (topics: {topics}).").format(
                cmd=f"{prefix}subscribe reserves", topics=", ".join(self.topics()))
        else:
            text = _("This chat is subscribed to: {topics}").format(topics=", ".join(subs))
        return Reply(text + ("\n" + mutes if mutes else ""))

    def set_language(self, ctx: Ctx, raw: str | None) -> Reply:
        lang = normalise(raw)
        if lang is None:
            _ = tr(ctx.lang)
            choices = ", ".join(f"{code} ({name})" for code, name in LANGUAGES.items())
            return Reply(_("Which language? {choices}. Example: {cmd}").format(
                choices=choices, cmd=f"{ctx.prefix}lang zh"))
        self.store.ensure_chat(ctx.platform, ctx.chat_id, ctx.kind, ctx.title, self.now().isoformat(timespec="seconds"))
        self.store.set_language(ctx.platform, ctx.chat_id, lang)
        self._langs[(ctx.platform, ctx.chat_id)] = lang
        _ = tr(lang)  # the answer in the language just chosen
        return Reply(_("This chat now gets replies and alerts in English."))

    # ---- personal alerts and mutes ---------------------------------------------------------
    def alert_usage(self, lang: str, prefix: str) -> str:
        _ = tr(lang)
        return _("Usage: {cmd} <metric> <op> <value> [for N], e.g. {e1}, {e2}, {e3}. "
                 "Units: T/B/M for dollars, % for rates, bp for spreads. Metrics: {metrics}").format(
            cmd=f"{prefix}alert", e1=f"{prefix}alert reserves < 2.95T", e2=f"{prefix}alert sofr_iorb_spread > 10bp for 3",
            e3=f"{prefix}alert rrp < 100B", metrics=", ".join(self.catalog.metrics))

    def add_alert(self, ctx: Ctx, args: list[str]) -> Reply:
        from bot.personal import MAX_PER_CHAT, AlertSyntaxError, parse

        _ = tr(ctx.lang)
        try:
            metric, op, value, n = parse(args, self.catalog, ctx.lang)
        except AlertSyntaxError as exc:
            return Reply(f"{exc}\n{self.alert_usage(ctx.lang, ctx.prefix)}")
        stamp = self.now().isoformat(timespec="seconds")
        self.store.ensure_chat(ctx.platform, ctx.chat_id, ctx.kind, ctx.title, stamp)
        added = self.store.add_personal(ctx.platform, ctx.chat_id, metric, op, value, n, stamp, MAX_PER_CHAT)
        if added is None:
            return Reply(_("This chat already has {n} personal alerts, the most allowed. "
                           "Delete one first: {cmd}").format(n=MAX_PER_CHAT, cmd=f"{ctx.prefix}alerts"))
        m = self.catalog.metrics[metric]
        label = metric_label(self.catalog, metric, ctx.lang)
        if added.duplicate:
            return Reply(_("This alert is already set as #{id}: {label} {op} {value}.").format(
                id=added.number, label=label, op=op, value=fmt(value, m.unit)))
        if self.personal_changed:
            self.personal_changed()
        f = self._frames().get(metric)
        now = (fmt(float(f["value"].iloc[-1]), m.unit) + f" ({f.index[-1].date()})") if f is not None and not f.empty \
            else _("no data yet")
        held = " " + _("for {n} prints in a row").format(n=n) if n > 1 else ""
        text = _("Alert #{id} set: {label} {op} {value}{held}. Now: {now}.").format(
            id=added.number, label=label, op=op, value=fmt(value, m.unit), held=held, now=now)
        if f is not None and _holds_now(f["value"], op, value, n):
            # The engine learns the alert's state silently; a condition that has held for a while
            # is never "news" to it, so say it here, truthfully, instead of promising an alert.
            return Reply(text + " " + _("This already holds now: {label} {now}. I will tell this chat when it "
                                       "stops holding and when it holds again.").format(label=label, now=now))
        return Reply(text + " " + _("I will tell this chat when it happens."))

    def delete_alert(self, ctx: Ctx, raw: str | None) -> Reply:
        _ = tr(ctx.lang)
        number = _number(raw)
        if number is None:
            return Reply(_("Which alert? {cmd} shows their numbers.").format(cmd=f"{ctx.prefix}alerts"))
        if not self.store.delete_personal(ctx.platform, ctx.chat_id, number):
            return Reply(_("This chat has no alert #{id}.").format(id=number))
        if self.personal_changed:
            self.personal_changed()
        return Reply(_("Alert #{id} deleted.").format(id=number))

    def _personal(self, platform: str, chat_id: str) -> list[Personal]:
        """This chat's personal alerts (never another chat's)."""
        from bot.personal import Personal

        return [Personal(*row) for row in self.store.personal_rules(platform, chat_id)]

    def personal_titles(self, platform: str, chat_id: str, lang: str) -> dict[str, str]:
        """This chat's personal alerts by rule id -> "Your alert #3: Reserves < $2.950T"."""
        from bot.personal import title

        _ = tr(lang)
        return {f"personal_{p.id}": _("Your alert #{n}: {title}").format(n=p.shown, title=title(p, self.catalog, lang))
                for p in self._personal(platform, chat_id)}

    def list_alerts(self, ctx: Ctx) -> Reply:
        _ = tr(ctx.lang)
        rows = self._personal(ctx.platform, ctx.chat_id)
        if not rows:
            return Reply(_("No personal alerts yet. {usage}").format(usage=self.alert_usage(ctx.lang, ctx.prefix)))
        states = self.store.load_alerts()
        lines = []
        for p in rows:
            m = self.catalog.metrics.get(p.metric)
            a = states.get(f"personal_{p.id}")
            state = _(STATE_WORD["firing"]) if a and a.state.value == "firing" else _("watching")
            held = f" (×{p.for_n})" if p.for_n > 1 else ""
            label = metric_label(self.catalog, p.metric, ctx.lang)
            lines.append(f"#{p.shown} {label} {p.op} {fmt(p.value, m.unit if m else 'usd')}{held}: {state}")
        return Reply("\n".join(lines))

    def _target_title(self, target: str, platform: str, chat_id: str, lang: str) -> str:
        """A mute target as the chat should read it: a topic, a rule's title, "Your alert #3: ..."."""
        _ = tr(lang)
        if target == "personal":
            return _("your personal alerts")
        if target.startswith("personal_"):
            return self.personal_titles(platform, chat_id, lang).get(target, _("a deleted personal alert"))
        rule = next((r for r in self.rules if r.id == target), None)
        return rule.heading(lang) if rule else target

    def mute(self, ctx: Ctx, args: list[str]) -> Reply:
        from bot.rules.model import parse_duration

        _ = tr(ctx.lang)
        own = {f"#{p.shown}": f"personal_{p.id}" for p in self._personal(ctx.platform, ctx.chat_id)}
        targets = {*self.topics(), "personal", *(r.id for r in self.rules), *own.values()}
        usage = _("Usage: {cmd} <topic|all> <7d|12h|resolved>").format(cmd=f"{ctx.prefix}mute")
        raw = args[0].lower() if args else ""
        target = own.get(raw, raw)  # "#3": this chat's personal alert #3
        if len(args) != 2 or target not in targets:
            return Reply(usage + " " + _("Topics: {topics}").format(topics=", ".join([*self.topics(), "personal"])))
        how = args[1].lower()
        shown = self._target_title(target, ctx.platform, ctx.chat_id, ctx.lang)
        stamp = self.now().isoformat(timespec="seconds")
        if how == "resolved":
            self.store.ensure_chat(ctx.platform, ctx.chat_id, ctx.kind, ctx.title, stamp)
            self.store.mute(ctx.platform, ctx.chat_id, target, None, True, stamp)
            return Reply(_("Muted {target} until its alert resolves.").format(target=shown))
        try:
            until = (self.now() + parse_duration(how)).isoformat(timespec="minutes")
        except (ValueError, OverflowError):  # "99999999999999999999d" is past the calendar's end
            return Reply(usage)
        self.store.ensure_chat(ctx.platform, ctx.chat_id, ctx.kind, ctx.title, stamp)
        self.store.mute(ctx.platform, ctx.chat_id, target, until, False, stamp)
        return Reply(_("Muted {target} until {until} UTC.").format(target=shown, until=until.replace("T", " ")))

    async def mute_alert(self, ctx: Ctx, raw_event: str, how: str) -> tuple[Reply, bool]:
        """A "Mute 7d" / "Mute until resolved" button under an alert (named by its event):
        the reply, and whether the mute was set (False: refused or unknown alert)."""
        _ = tr(ctx.lang)
        number = _number(raw_event, prefix="")
        event = self.store.event(number) if number is not None else None
        if event is not None and event["topic"] == "personal" and \
                self.store.personal_owner(event["rule_id"]) != (ctx.platform, ctx.chat_id):
            event = None  # another chat's personal alert (or a deleted one): nothing to mute here
        if event is None:
            return Reply(_("That alert is too old to act on.")), False
        if ctx.may_change is not None and not await ctx.may_change():
            return Reply(_(NOT_ADMIN)), False
        return self.mute(ctx, [event["rule_id"], how]), True

    def unmute(self, ctx: Ctx, raw: str | None) -> Reply:
        _ = tr(ctx.lang)
        if not raw:
            return Reply(_("Usage: {cmd} <topic|all>").format(cmd=f"{ctx.prefix}unmute"))
        target = raw.lower()
        if target.startswith("#"):  # "#3": this chat's personal alert #3
            own = {f"#{p.shown}": f"personal_{p.id}" for p in self._personal(ctx.platform, ctx.chat_id)}
            target = own.get(target, target)
        shown = target if target == "all" else self._target_title(target, ctx.platform, ctx.chat_id, ctx.lang)
        n = self.store.unmute(ctx.platform, ctx.chat_id, None if target == "all" else target)
        return Reply(_("Unmuted {target}.").format(target=shown) if n else _("{target} was not muted.").format(
            target=shown))

    def quiet(self, ctx: Ctx, args: list[str]) -> Reply:
        from bot.localtime import SpecError, parse_quiet

        _ = tr(ctx.lang)
        stamp = self.now().isoformat(timespec="seconds")
        self.store.ensure_chat(ctx.platform, ctx.chat_id, ctx.kind, ctx.title, stamp)
        if args and args[0].lower() == "off":
            self.store.set_chat_setting(ctx.platform, ctx.chat_id, "quiet", None)
            return Reply(_("Quiet hours off: alerts arrive at any time."))
        try:
            spec = parse_quiet(args, ctx.lang)
        except SpecError as exc:
            return Reply(f"{exc}. " + _("Usage: {cmd} HH:MM-HH:MM [timezone], or {off}").format(
                cmd=f"{ctx.prefix}quiet", off=f"{ctx.prefix}quiet off"))
        self.store.set_chat_setting(ctx.platform, ctx.chat_id, "quiet", spec)
        return Reply(_("Quiet hours {spec}: warnings and info alerts wait until they end; critical alerts "
                       "still come through.").format(spec=spec))

    def digest(self, ctx: Ctx, args: list[str]) -> Reply:
        from bot.localtime import SpecError, parse_digest

        _ = tr(ctx.lang)
        try:
            spec = parse_digest(args, ctx.lang)
        except SpecError as exc:
            return Reply(f"{exc}. " + _("Usage: {cmd} daily|weekly|off [HH:MM] [timezone]").format(
                cmd=f"{ctx.prefix}digest"))
        stamp = self.now().isoformat(timespec="seconds")
        self.store.ensure_chat(ctx.platform, ctx.chat_id, ctx.kind, ctx.title, stamp)
        self.store.set_chat_setting(ctx.platform, ctx.chat_id, "digest", spec)
        if spec is None:
            return Reply(_("Digest off."))
        self.store.set_chat_setting(ctx.platform, ctx.chat_id, "digest_last", stamp)
        kind = spec.split(" ")[0]
        text = _("Daily digest at {time}.") if kind == "daily" else _("Weekly digest on Fridays at {time}.")
        return Reply(text.format(time=" ".join(spec.split(" ")[1:])))

    def digest_message(self, platform: str, chat_id: str, kind: str, since: str, lang: str) -> str:
        """A digest: the /status verdict, then what this chat was sent since the last one."""
        from bot.format import AlertMessage

        _ = tr(lang)
        title = _("Daily digest") if kind == "daily" else _("Weekly digest")
        lines = [f"📋 {title}, {self.now().date().isoformat()}"]
        lines += [self._verdict(lang)[1], ""]  # only the verdict: no table, alerts or sources to read
        events = self.store.chat_events(platform, chat_id, since)
        if not events:
            lines.append(_("No alerts since the last digest."))
        else:
            lines.append(_("Since the last digest:"))
            own = self.personal_titles(platform, chat_id, lang)
            for e in events:
                m = AlertMessage.from_stored(e["payload"], e["text"], e["rule_id"], e["topic"], e["state"], lang)
                title = m.title.replace(m.heading or m.rule_id, own[e["rule_id"]]) if e["rule_id"] in own else m.title
                lines.append(f"• {title} ({e['data_date']})")
        return "\n".join(lines)

    def mutes_text(self, platform: str, chat_id: str, lang: str) -> str:
        _ = tr(lang)
        rows = self.store.mutes(self.now().isoformat(timespec="seconds"), platform, chat_id)
        resolved = _("until resolved")
        parts = [f"{self._target_title(t, platform, chat_id, lang)}"
                 f" ({resolved if res else (until or '').replace('T', ' ') + ' UTC'})"
                 for _p, _c, t, until, res in rows]
        return _("Muted: {mutes}").format(mutes=", ".join(parts)) if parts else ""

    # ---- status ----------------------------------------------------------------------------
    def _frames(self):
        frames = self._frames_cache
        if frames is None:  # read once per evaluation, not per request
            frames = self._frames_cache = self.store.frames(self.catalog)
        return frames

    def _regime(self) -> str | None:
        """The reserves regime as the regime rule itself holds it (with its hysteresis)."""
        states = self.store.regimes()
        for r in self.rules:
            c = r.condition
            if c.kind == "regime" and c.body.metric == "reserves" and c.body.change is None and r.id in states:
                return states[r.id]
        return None

    def _verdict(self, lang: str) -> tuple[list, str]:
        """The table's rows and the verdict (or, with no rows, the "no data yet" line)."""
        _ = tr(lang)
        frames = self._frames()
        rows = table_rows(self.catalog, frames, self.now().date(), self.rules)
        if not rows:
            return rows, _("No data yet: the bot has not fetched anything. Try again in a minute.")
        from bot.global_view import status_line  # Fed + ECB + BoJ in dollars (issue 23)

        extra = [line for line in (status_line(self.catalog, frames, lang),) if line]
        return rows, "\n".join(verdict_lines(rows, frames, self._regime(), lang) + extra)

    def status_text(self, lang: str = DEFAULT, chat: tuple[str, str] | None = None) -> Reply:
        """The verdict first, then the 40-character table, firing alerts and failing sources.
        `chat`: whose own personal alerts join the firing list (never another chat's)."""
        _ = tr(lang)
        rows, verdict = self._verdict(lang)
        if not rows:
            return Reply(verdict)
        tail = []
        firing = set(self.store.firing_rules())
        titles = [r.heading(lang) for r in self.rules if r.id in firing]
        if chat is not None:
            titles += [t for rid, t in self.personal_titles(*chat, lang).items() if rid in firing]
        tail.append(_("Firing:") if titles else _("Firing: nothing"))
        tail += [f"• {t}"[:40] for t in titles]
        for source, f in sorted(self.store.last_fetches().items()):
            if f["last_error"] and f["last_rows"] == 0:
                since = (f["last_success"] or _("never"))[:10]
                tail.append(_("{source} failing; last OK {since}").format(source=source, since=since)[:40])
        for sid, h in self.store.held_prints().items():  # a newer print refused as a unit change
            tail.append(_("Held: {series} {date} (unit?)").format(series=sid, date=h["date"])[:40])
        return Reply(verdict, table="\n".join(table_lines(rows, lang)), fields=tuple(slack_fields(rows, lang)),
                     footer="\n".join(tail))

    # ---- charts ----------------------------------------------------------------------------
    def _chart_spec(self, metric: str, period: str, lang: str, chat: tuple[str, str] | None = None):
        """The chart of `metric` as `chat` (platform, chat id) sees it: its own personal alerts
        and a few rule thresholds near the data (see bot.chart_marks), and the newest data date."""
        from bot.chart import ChartSpec, cjk_font

        if lang != DEFAULT and cjk_font() is None:
            lang = DEFAULT  # Chinese drawn without a Chinese font is boxes: an English chart reads
        _ = tr(lang)
        f = self._frames().get(metric)
        if f is None or f.empty:
            return None, None
        days = PERIODS.get(period, 731)
        end = pd.Timestamp(self.now().date())
        s = f["value"][f.index >= end - pd.Timedelta(days=days)]
        m = self.catalog.metrics[metric]
        ended = None
        if (end - f.index[-1]).days > 2 * m.cadence_days + 7:
            ended = _("series ended {date}").format(date=f.index[-1].date().isoformat())
            if s.empty:  # show the last stretch there is, and say so
                s = f["value"][f.index >= f.index[-1] - pd.Timedelta(days=days)]
        bands: tuple = ()
        for r in self.rules:
            c = r.condition
            if c.kind == "regime" and c.body.metric == metric and c.body.change is None:
                bands = tuple(c.body.bands)
        own = [Own(p.op, float(p.value)) for p in (self._personal(*chat) if chat else []) if p.metric == metric]
        thresholds = chart_thresholds(self._marks.candidates(self.rules, metric), own, s.to_list(), m.unit,
                                      self.catalog, lang)
        spec = ChartSpec(series=s, title=metric_label(self.catalog, metric, lang), unit=m.unit,
                         period=_(PERIOD_WORDS[period]), source=_("Source: {source}").format(
                             source=self.catalog.source_text(metric)),
                         thresholds=thresholds, bands=bands, last_word=_("Last"), ended_note=ended)
        return spec, str(f.index[-1].date())

    async def chart_png(self, metric: str, period: str, lang: str = DEFAULT,
                        chat: tuple[str, str] | None = None) -> bytes | None:
        """The chart `chat` asked for (None: no personal alerts drawn). The data is read here (the
        store stays on the loop's thread); it renders in the chart process, once per cache key
        even when many ask at the same time."""
        from bot.chart import cjk_font

        if metric == "global":  # Fed, ECB and BoJ stacked (bot/global_view.py)
            return await self._global_png(period, lang)
        if lang != DEFAULT:  # the font lookup imports matplotlib (and may build its cache): not on the loop
            await asyncio.get_running_loop().run_in_executor(None, cjk_font)
        spec, last = self._chart_spec(metric, period, lang, chat)
        if spec is None:
            return None
        key = (metric, period, last, lang, spec.thresholds, spec.bands, spec.ended_note)
        png = self._charts.get(key)
        if png is not None:
            self._charts.move_to_end(key)
            return png
        pending = self._rendering.get(key)
        if pending is None:
            pending = asyncio.ensure_future(CHART_POOL.render(spec))
            self._rendering[key] = pending
            pending.add_done_callback(lambda fut: self._rendered(key, fut))
        return await asyncio.shield(pending)  # one asker giving up does not cancel the others' chart

    def _rendered(self, key: tuple, fut: asyncio.Future[bytes]) -> None:
        self._rendering.pop(key, None)
        if fut.cancelled() or fut.exception() is not None:
            return
        self._charts[key] = fut.result()
        if len(self._charts) > CHART_CACHE_SIZE:
            self._charts.popitem(last=False)

    async def _global_png(self, period: str, lang: str) -> bytes | None:
        from bot.chart import cjk_font
        from bot.global_view import render_stack, stack_spec

        if lang != DEFAULT and await asyncio.get_running_loop().run_in_executor(None, cjk_font) is None:
            lang = DEFAULT
        spec = stack_spec(self.catalog, self._frames(), PERIODS.get(period, 731), pd.Timestamp(self.now().date()),
                          tr(lang)(PERIOD_WORDS.get(period, period)), lang)
        return None if spec is None else await CHART_POOL.call(render_stack, spec)

    def chart_caption(self, metric: str, period: str, lang: str = DEFAULT) -> str:
        """"Bank reserves, last 3 years" in the chat's language."""
        metric = "global_cb_assets_usd" if metric == "global" else metric
        words = tr(lang)(PERIOD_WORDS[period]) if period in PERIOD_WORDS else period
        return f"{metric_label(self.catalog, metric, lang)}, {words}"[:1024]

    def _metric(self, raw: str | None, lang: str) -> str:
        _ = tr(lang)
        metric = (raw or "reserves").strip().lower()[:MAX_ARG]
        if metric not in self.catalog.metrics:
            close = difflib.get_close_matches(metric, list(self.catalog.metrics), n=1)
            hint = " " + _("Did you mean {word}?").format(word=close[0]) if close else ""
            raise CommandError(_("Unknown metric {metric!r}.").format(metric=metric) + hint + " "
                               + _("Metrics: {metrics}").format(metrics=", ".join(self.catalog.metrics)))
        return metric

    def chart(self, raw_metric: str | None, raw_period: str | None, lang: str = DEFAULT) -> Reply:
        _ = tr(lang)
        metric = "global" if (raw_metric or "").strip().lower() == "global" else self._metric(raw_metric, lang)
        period = (raw_period or "2y").strip().lower()[:MAX_ARG]
        if period not in PERIODS:
            raise CommandError(_("Unknown period {period!r}. Use one of: {periods}").format(
                period=period, periods=", ".join(PERIODS)))
        f = self._frames().get("global_cb_assets_usd" if metric == "global" else metric)
        if f is None or f.empty:
            return Reply(_("No data for {metric} yet.").format(metric=metric_label(self.catalog, metric, lang)))
        # Rendered by the adapter after the reply (Slack must be answered within 3 s).
        return Reply("", chart=(metric, period))

    # ---- rules and history -----------------------------------------------------------------
    def rules_text(self, lang: str = DEFAULT) -> Reply:
        _ = tr(lang)
        lines = []
        for r in self.rules:
            c = r.condition
            unit = rule_unit(r, self.catalog)
            if c.kind in ("level", "change", "spread"):
                metric = f"{c.body.a} - {c.body.b}" if c.kind == "spread" else c.body.metric
                extra = f" ({window_text(c.body.window, lang)})" if c.kind == "change" else ""
                cond = f"{metric}{extra} {c.body.op} {fmt(c.body.value, unit)}"
                if r.clear is not None:
                    cond += " " + _("(clears at {value})").format(value=fmt(r.clear, unit))
            elif c.kind == "regime":
                cond = f"{c.body.metric}: " + ", ".join(
                    f"{b.name} < {fmt(b.below, unit)}" if b.below is not None else b.name for b in c.body.bands)
            elif c.kind == "spike":
                cond = _("{metric} > {multiple}x its {window}-day median (min {floor})").format(
                    metric=c.body.metric, multiple=f"{c.body.multiple:g}", window=c.body.window,
                    floor=fmt(c.body.floor, unit))
            elif c.kind == "stale":
                cond = _("{metric} older than {age}").format(metric=c.body.metric, age=c.body.max_age)
            else:
                cond = f"{c.body.metric} {c.body.direction} {fmt(c.body.value, unit)}"
            lines.append(f"• {r.heading(lang)} [{r.topic}, {r.severity}]: {cond}")
        return Reply("\n".join(lines) or _("No rules loaded."))

    def history(self, raw_topic: str | None, lang: str = DEFAULT, chat: tuple[str, str] | None = None) -> Reply:
        """The newest alerts `chat` may see: the shared rules' and its own personal ones (no chat:
        the shared rules' only), by title, never by id."""
        from bot.format import AlertMessage

        _ = tr(lang)
        platform, chat_id = chat or ("", "")
        topic = self._topic(raw_topic, lang) if raw_topic else None
        events = self.store.chat_history(platform, chat_id, None if topic == "all" else topic, limit=10)
        if not events:
            return Reply(_("No alerts yet."))
        words = {k: _(v) for k, v in STATE_WORD.items()}
        own = self.personal_titles(platform, chat_id, lang) if chat else {}
        headings = {r.id: r.heading(lang) for r in self.rules}
        lines = []
        for e in events:
            title = own.get(e["rule_id"]) or headings.get(e["rule_id"])
            if title is None:  # a rule no longer loaded: the title it was sent with
                title = AlertMessage.from_stored(e["payload"], e["text"], e["rule_id"], e["topic"], e["state"],
                                                 lang).heading or e["rule_id"].replace("_", " ").capitalize()
            lines.append(f"{e['created_at'][:16].replace('T', ' ')} {words.get(e['state'], e['state'])} {title}"
                         f" ({e['data_date']})")
        return Reply("\n".join(lines), preformatted=True)


def _number(raw: str | None, prefix: str = "#") -> int | None:
    """"3" or "#3" -> 3; None for anything else ("²", "-1", a 30-digit number)."""
    text = (raw or "").strip()
    text = text[len(prefix):] if prefix and text.startswith(prefix) else text
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else None


def _holds_now(values: pd.Series, op: str, threshold: float, n: int) -> bool:
    """The level condition holds on each of the newest `n` prints."""
    from bot.rules.evaluate import OPS

    tail = values.dropna().iloc[-n:]
    return len(tail) == n and bool(OPS[op](tail.to_numpy(), threshold).all())


# ---- the commands ------------------------------------------------------------------------
def _arg(args: list[str], i: int) -> str | None:
    return args[i] if len(args) > i else None


async def _start(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    _ = tr(ctx.lang)
    return [Reply(_("Welcome to Liquidity Bot.") + "\n\n" + s.help_text(ctx))]


async def _help(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    return [Reply(s.help_text(ctx))]


async def _subscribe(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    return [s.subscribe(ctx.platform, ctx.chat_id, _arg(args, 0), ctx.kind, ctx.title, ctx.lang)]


async def _unsubscribe(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    return [s.unsubscribe(ctx.platform, ctx.chat_id, _arg(args, 0), ctx.lang)]


async def _list(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    return [s.list(ctx.platform, ctx.chat_id, ctx.lang, ctx.prefix)]


async def _status(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    return [s.status_text(ctx.lang, (ctx.platform, ctx.chat_id)), Reply("", chart=("reserves", "3y"))]


async def _chart(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    return [s.chart(_arg(args, 0), _arg(args, 1), ctx.lang)]


async def _rules(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    return [s.rules_text(ctx.lang)]


async def _history(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    return [s.history(_arg(args, 0), ctx.lang, (ctx.platform, ctx.chat_id))]


async def _lang(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    return [s.set_language(ctx, _arg(args, 0))]


async def _alert(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    if args and args[0].lower() == "delete":
        return [s.delete_alert(ctx, _arg(args, 1))]
    return [s.add_alert(ctx, args)]


async def _alerts(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    return [s.list_alerts(ctx)]


async def _mute(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    return [s.mute(ctx, args)]


async def _unmute(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    return [s.unmute(ctx, _arg(args, 0))]


async def _quiet(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    return [s.quiet(ctx, args)]


async def _digest(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    return [s.digest(ctx, args)]


async def _why(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    from bot.why import answer  # the decomposition registry (bot/why.py)

    return [Reply(answer(s.catalog, s._frames(), args, ctx.lang))]


async def _reload(s: CommandService, ctx: Ctx, args: list[str]) -> list[Reply]:
    _ = tr(ctx.lang)
    text = await s.reload_rules() if s.reload_rules else _("Reload is not available here.")
    return [Reply(text)]


COMMANDS: list[Command] = [
    Command("start", "", N_("welcome and how to subscribe"), _start, menu=False),
    Command("help", "", N_("what the bot does and its commands"), _help),
    Command("status", "", N_("the verdict, latest values, 1- and 4-week changes (+ chart)"), _status),
    Command("chart", "<metric> [period]", N_("a chart, e.g. chart reserves 2y"), _chart),
    Command("why", "[global] [1w|4w|13w]", N_("what moved it: Fed, ECB, BoJ and FX, e.g. why global 13w"), _why),
    Command("subscribe", "<topic>", N_("get alerts for a topic"), _subscribe, changes_chat=True),
    Command("unsubscribe", "<topic|all>", N_("stop alerts for a topic, or all"), _unsubscribe, changes_chat=True),
    Command("list", "", N_("this chat's subscriptions"), _list),
    Command("rules", "", N_("the alert rules and their thresholds"), _rules),
    Command("history", "[topic]", N_("recent alerts"), _history),
    Command("alert", "<metric> <op> <value> [for N]", N_("your own alert, e.g. alert reserves < 2.95T"), _alert,
            changes_chat=True),
    Command("alerts", "", N_("this chat's personal alerts; alert delete N removes one"), _alerts),
    Command("mute", "<topic|all> <7d|12h|resolved>", N_("hold back alerts for this chat"), _mute, changes_chat=True),
    Command("unmute", "<topic|all>", N_("let them through again"), _unmute, changes_chat=True),
    Command("quiet", "HH:MM-HH:MM [timezone] | off", N_("quiet hours: non-critical alerts wait until they end"),
            _quiet, changes_chat=True),
    Command("digest", "daily|weekly|off [HH:MM] [timezone]", N_("a scheduled summary (weekly: Fridays)"), _digest,
            changes_chat=True),
    Command("lang", "<en|zh>", N_("reply and alert language (English, 简体中文)"), _lang, changes_chat=True),
    Command("reload", "", N_("reload the rules from disk (bot admins)"), _reload, bot_admin=True),
]
REGISTRY: dict[str, Command] = {c.name: c for c in COMMANDS}
