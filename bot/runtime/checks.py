"""What /healthz and /metrics report, and the store problems the runtime logs once each."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from typing import Any

from bot.redact import is_personal
from bot.runtime.parts import AppParts
from bot.schedule import ReleasePoller
from bot.store import ObservationStore
from bot.store.errors import is_database_error

log = logging.getLogger("bot.runtime")


class Checks(AppParts):
    """Health reporting over the app's parts: problems, /healthz, /metrics."""

    def problems(self) -> list[str]:
        """What is wrong with the store or delivery now; each new problem is logged once, loudly."""
        found = (self.store.problem(), self.engine.store.problem(), self.deliverer.degraded, self.deliverer._loop_error)
        problems = list(dict.fromkeys(p for p in found if p))  # both connections may report the same file
        problems += held_problems(self.store)
        if problems != self._told:
            for p in problems:
                if p not in self._told:
                    log.error("health: %s", p)
            for p in self._told:
                if p not in problems:
                    log.info("health: resolved: %s", p)
            self._told = problems
        return problems

    def _store_trouble(self, exc: BaseException, what: str) -> bool:
        """A database error in a job: health reports it and logs it once per episode (no
        traceback per poll). False for any other error."""
        if not is_database_error(exc):
            return False
        log.debug("%s: database error: %s", what, exc)
        self.problems()
        return True

    def healthz(self) -> dict[str, Any]:
        """The /healthz body: status, problems, sources, outbox, rules, adapters, role."""
        problems = self.problems()
        counts: dict[str, int | None]
        try:
            counts = dict(self.store.outbox_counts())
        except Exception as exc:
            problems = [*problems, f"the store cannot be read: {str(exc).splitlines()[0] if str(exc) else exc!r}"]
            counts = {"pending": None, "failed": None, "sent": None}
        failing = [n for n, h in self.health.items() if h.failures]
        firing = self.store.firing_rules()
        return {
            "status": "degraded" if failing or problems else "ok",
            "problems": problems,
            "uptime_seconds": round(time.monotonic() - self.started, 1),
            "sources": {n: {"last_success": h.last_success, "data_date": h.data_date, "failures": h.failures,
                            "last_error": h.last_error, **release_health(self.pollers.get(n))}
                        for n, h in self.health.items()},
            "outbox": {"pending": counts["pending"], "failed": counts["failed"], "sent": counts["sent"]},
            "rules_loaded": len(self.engine.rules),
            "rules_evaluated_at": self.engine.last_evaluated.isoformat(timespec="seconds")
            if self.engine.last_evaluated else None,
            "firing": [r for r in firing if not is_personal(r)],
            "personal_firing": sum(1 for r in firing if is_personal(r)),  # a count: whose and what are private
            "adapters": [a.platform for a in self.adapters],
            "store": self.store.kind,
            "role": "leader" if self.leader.is_leader else "follower",
            "outbox_claimed": self.store.claimed_count(self.clock().isoformat(timespec="seconds")),
        }

    def prometheus(self) -> str:
        """The /metrics body (Prometheus text format)."""
        counts = self.store.outbox_counts()
        return self.metrics.render({"outbox_pending": counts["pending"], "outbox_failed": counts["failed"],
                                    "deliveries_sent_total": self.deliverer.sent,
                                    "deliveries_failed_total": self.deliverer.failed,
                                    "rules_loaded": len(self.engine.rules),
                                    "uptime_seconds": round(time.monotonic() - self.started, 1)})


def held_problems(store: ObservationStore) -> list[str]:
    """One /healthz problem per series whose newest print was refused as a probable unit change."""
    try:
        held = store.held_prints()
    except Exception:  # an unreadable store is reported by healthz itself
        return []
    return [f"held print: {sid} {h['date']} refused ({h['reason']}); serving its older value" for sid, h in held.items()]


def release_health(poller: ReleasePoller | None) -> dict[str, Any]:
    """/healthz fields per source: expected next publication, last publication-to-fetch delay."""
    if poller is None:
        return {}
    nxt = poller.next_publication(datetime.now(timezone.utc))
    return {"next_publication": nxt.isoformat(timespec="seconds") if nxt else None,
            "last_publication_delay_seconds": poller.last_delay}
