"""/status (the verdict, the table, what is firing and failing) and the digest built on its verdict."""

from __future__ import annotations

from datetime import date

from bot.commands.alerts import PersonalAlerts
from bot.commands.core import Core
from bot.commands.reply import Reply
from bot.i18n import DEFAULT, tr
from bot.metrics import Frames
from bot.stress import DayScore
from bot.status import Row, current_regimes, rate_lines, regime_note, slack_fields, table_lines, table_rows, verdict_lines


class Status:
    """Where liquidity stands now, as a chat reads it."""

    def __init__(self, core: Core, alerts: PersonalAlerts):
        self.core, self.alerts = core, alerts
        self._score: tuple[Frames, date, DayScore | None] | None = None

    def regime(self) -> str | None:
        """The reserves regime as the regime rule itself holds it (with its hysteresis), as the CLI
        `status` shows it (bot.status.current_regimes)."""
        core = self.core
        rules = [r for r in core.rules if r.kind.level_bands("reserves") is not None]
        return current_regimes(rules, core.frames(), core.catalog.units, core.store.regimes(), core.now()).get("reserves")

    def verdict(self, lang: str) -> tuple[list[Row], str]:
        """The table's rows and the verdict (or, with no rows, the "no data yet" line)."""
        _ = tr(lang)
        core = self.core
        frames = core.frames()
        rows = table_rows(core.catalog, frames, core.now().date(), core.rules)
        if not rows:
            return rows, _("No data yet: the bot has not fetched anything. Try again in a minute.")
        from bot.global_view import status_line  # Fed + ECB + BoJ in dollars (issue 23)

        # The fallback note says when the regime is judged on GDP or dollars for want of bank assets.
        notes = (regime_note(core.catalog, core.rules, frames, "reserves", lang), status_line(core.catalog, frames, lang))
        extra = [line for line in notes if line]
        score = self.score(frames, core.now().date())
        lines = verdict_lines(rows, frames, self.regime(), lang, score, self.critical(lang))
        return rows, "\n".join(lines + extra)

    def score(self, frames: Frames, today: date) -> DayScore | None:
        """Today's stress score, computed once per evaluation's frames and day (~0.1 s), not per request."""
        from bot.stress import latest

        key = (frames, today)
        if self._score is None or self._score[0] is not frames or self._score[1] != today:
            self._score = (*key, latest(self.core.catalog, frames, today))
        return self._score[2]

    def critical(self, lang: str) -> list[str]:
        """Titles of the shared critical alerts now firing (a chat's personal alerts are its own)."""
        from bot.redact import is_personal

        firing = set(self.core.store.firing_rules())
        return [r.heading(lang) for r in self.core.rules
                if r.id in firing and r.severity == "critical" and not is_personal(r.id)]

    def status_text(self, lang: str = DEFAULT, chat: tuple[str, str] | None = None) -> Reply:
        """The verdict first, then the 40-character table, firing alerts and failing sources.
        `chat`: whose own personal alerts join the firing list (never another chat's)."""
        _ = tr(lang)
        rows, verdict = self.verdict(lang)
        if not rows:
            return Reply(verdict)
        store = self.core.store
        tail = []
        firing = set(store.firing_rules())
        titles = [r.heading(lang) for r in self.core.rules if r.id in firing]
        if chat is not None:
            titles += [t for rid, t in self.alerts.personal_titles(*chat, lang).items() if rid in firing]
        tail.append(_("Firing:") if titles else _("Firing: nothing"))
        tail += [f"• {t}"[:40] for t in titles]
        for source, f in sorted(store.last_fetches().items()):
            if f["last_error"] and f["last_rows"] == 0:
                since = (f["last_success"] or _("never"))[:10]
                tail.append(_("{source} failing; last OK {since}").format(source=source, since=since)[:40])
        for sid, h in store.held_prints().items():  # a newer print refused as a unit change
            tail.append(_("Held: {series} {date} (unit?)").format(series=sid, date=h["date"])[:40])
        verdict += "\n" + "\n".join(rate_lines(self.core.frames(), lang))   # rate levels: /status only
        return Reply(verdict, table="\n".join(table_lines(rows, lang)), fields=tuple(slack_fields(rows, lang)),
                     footer="\n".join(tail))

    def digest_message(self, platform: str, chat_id: str, kind: str, since: str, lang: str) -> str:
        """A digest: the /status verdict, then what this chat was sent since the last one."""
        from bot.format import AlertMessage

        _ = tr(lang)
        title = _("Daily digest") if kind == "daily" else _("Weekly digest")
        lines = [f"📋 {title}, {self.core.now().date().isoformat()}"]
        lines += [self.verdict(lang)[1], ""]  # only the verdict: no table, alerts or sources to read
        if kind == "weekly":  # after Thursday's H.4.1: what moved reserves and net liquidity (bot/why_h41.py)
            from bot.why_h41 import drivers_line

            frames = self.core.frames()
            found = [d for m in ("reserves", "net_liquidity") if (d := drivers_line(self.core.catalog, frames, m, lang))]
            lines[-1:] = [*found, ""]
        events = self.core.store.chat_events(platform, chat_id, since)
        if not events:
            lines.append(_("No alerts since the last digest."))
        else:
            lines.append(_("Since the last digest:"))
            own = self.alerts.personal_titles(platform, chat_id, lang)
            for e in events:
                m = AlertMessage.from_stored(e["payload"], e["text"], e["rule_id"], e["topic"], e["state"], lang)
                title = m.title.replace(m.heading or m.rule_id, own[e["rule_id"]]) if e["rule_id"] in own else m.title
                lines.append(f"• {title} ({e['data_date']})")
        return "\n".join(lines)
