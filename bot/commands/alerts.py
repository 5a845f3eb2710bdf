"""Personal alerts: /alert sets or deletes one, /alerts lists them; their titles for other replies."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pandas as pd

from bot.commands.core import Core
from bot.commands.reply import Ctx, Reply, number
from bot.format import STATE_WORD, fmt, metric_label
from bot.i18n import tr

if TYPE_CHECKING:
    from bot.personal import Personal


class PersonalAlerts:
    """A chat's own level alerts, never another chat's."""

    def __init__(self, core: Core):
        self.core = core
        self.personal_changed: Callable[[], None] | None = None   # the runtime re-evaluates

    def alert_usage(self, lang: str, prefix: str) -> str:
        """How to write an alert, with examples and the metrics."""
        _ = tr(lang)
        return _("Usage: {cmd} <metric> <op> <value> [for N], e.g. {e1}, {e2}, {e3}. "
                 "Units: T/B/M for dollars, % for rates, bp for spreads. Metrics: {metrics}").format(
            cmd=f"{prefix}alert", e1=f"{prefix}alert reserves < 2.95T", e2=f"{prefix}alert sofr_iorb_spread > 10bp for 3",
            e3=f"{prefix}alert rrp < 100B", metrics=", ".join(self.core.catalog.metrics))

    def add_alert(self, ctx: Ctx, args: list[str]) -> Reply:
        """/alert reserves < 2.95T [for N]: set it, and say whether it already holds."""
        from bot.personal import MAX_PER_CHAT, AlertSyntaxError, parse

        _ = tr(ctx.lang)
        catalog, store = self.core.catalog, self.core.store
        try:
            metric, op, value, n = parse(args, catalog, ctx.lang)
        except AlertSyntaxError as exc:
            return Reply(f"{exc}\n{self.alert_usage(ctx.lang, ctx.prefix)}")
        stamp = self.core.stamp()
        store.ensure_chat(ctx.platform, ctx.chat_id, ctx.kind, ctx.title, stamp)
        added = store.add_personal(ctx.platform, ctx.chat_id, metric, op, value, n, stamp, MAX_PER_CHAT)
        if added is None:
            return Reply(_("This chat already has {n} personal alerts, the most allowed. "
                           "Delete one first: {cmd}").format(n=MAX_PER_CHAT, cmd=f"{ctx.prefix}alerts"))
        m = catalog.metrics[metric]
        label = metric_label(catalog, metric, ctx.lang)
        if added.duplicate:
            return Reply(_("This alert is already set as #{id}: {label} {op} {value}.").format(
                id=added.number, label=label, op=op, value=fmt(value, m.unit)))
        if self.personal_changed:
            self.personal_changed()
        f = self.core.frames().get(metric)
        now = (fmt(float(f["value"].iloc[-1]), m.unit) + f" ({f.index[-1].date()})") if f is not None and not f.empty \
            else _("no data yet")
        held = " " + _("for {n} prints in a row").format(n=n) if n > 1 else ""
        text = _("Alert #{id} set: {label} {op} {value}{held}. Now: {now}.").format(
            id=added.number, label=label, op=op, value=fmt(value, m.unit), held=held, now=now)
        if f is not None and holds_now(f["value"], op, value, n):
            # The engine learns the alert's state silently; a condition that has held for a while
            # is never "news" to it, so say it here, truthfully, instead of promising an alert.
            return Reply(text + " " + _("This already holds now: {label} {now}. I will tell this chat when it "
                                       "stops holding and when it holds again.").format(label=label, now=now))
        return Reply(text + " " + _("I will tell this chat when it happens."))

    def delete_alert(self, ctx: Ctx, raw: str | None) -> Reply:
        """/alert delete N."""
        _ = tr(ctx.lang)
        n = number(raw)
        if n is None:
            return Reply(_("Which alert? {cmd} shows their numbers.").format(cmd=f"{ctx.prefix}alerts"))
        if not self.core.store.delete_personal(ctx.platform, ctx.chat_id, n):
            return Reply(_("This chat has no alert #{id}.").format(id=n))
        if self.personal_changed:
            self.personal_changed()
        return Reply(_("Alert #{id} deleted.").format(id=n))

    def personal(self, platform: str, chat_id: str) -> list[Personal]:
        """This chat's personal alerts (never another chat's)."""
        from bot.personal import Personal

        return [Personal(*row) for row in self.core.store.personal_rules(platform, chat_id)]

    def personal_titles(self, platform: str, chat_id: str, lang: str) -> dict[str, str]:
        """This chat's personal alerts by rule id -> "Your alert #3: Reserves < $2.950T"."""
        from bot.personal import title

        _ = tr(lang)
        return {f"personal_{p.id}": _("Your alert #{n}: {title}").format(
            n=p.shown, title=title(p, self.core.catalog, lang)) for p in self.personal(platform, chat_id)}

    def list_alerts(self, ctx: Ctx) -> Reply:
        """/alerts: each with its number, condition and state."""
        _ = tr(ctx.lang)
        rows = self.personal(ctx.platform, ctx.chat_id)
        if not rows:
            return Reply(_("No personal alerts yet. {usage}").format(usage=self.alert_usage(ctx.lang, ctx.prefix)))
        states = self.core.store.load_alerts()
        lines = []
        for p in rows:
            m = self.core.catalog.metrics.get(p.metric)
            a = states.get(f"personal_{p.id}")
            state = _(STATE_WORD["firing"]) if a and a.state.value == "firing" else _("watching")
            held = f" (×{p.for_n})" if p.for_n > 1 else ""
            label = metric_label(self.core.catalog, p.metric, ctx.lang)
            lines.append(f"#{p.shown} {label} {p.op} {fmt(p.value, m.unit if m else 'usd')}{held}: {state}")
        return Reply("\n".join(lines))


def holds_now(values: pd.Series, op: str, threshold: float, n: int) -> bool:
    """The level condition holds on each of the newest `n` prints."""
    from bot.rules.evaluate import OPS

    tail = values.dropna().iloc[-n:]
    return len(tail) == n and bool(OPS[op](tail.to_numpy(), threshold).all())
