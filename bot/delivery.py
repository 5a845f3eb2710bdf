"""Drain the outbox: per-platform rate limits enforced before sending, retries by error kind.

A row is marked sent only after the platform accepted it; rows of one chat go in order
(firing before resolved); a crash leaves unsent rows pending for the next start.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import random
import socket
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from bot.format import AlertMessage, group
from bot.routing import quiet_hold
from bot.store import OutboxRow, Storage

if TYPE_CHECKING:  # the adapter modules import this one
    from bot.chat.adapter import ChatAdapter

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class SendResult:
    """What a platform said: ok, retry (after N s, or backoff), permanent failure, blocked, migrated."""

    kind: Literal["ok", "retry", "permanent", "blocked", "migrated"]
    error: str = ""
    retry_after: float | None = None
    new_chat_id: str | None = None


@dataclass(frozen=True)
class Limits:
    per_second: float = 30.0              # whole bot
    per_chat_interval: float = 1.0        # seconds between messages to one chat
    group_interval: float = 3.0           # seconds between messages to one group (20/min)
    concurrency: int = 64
    group_prefixes: tuple[str, ...] = ()  # chat ids that get group_interval (Telegram groups: "-")

    def interval(self, chat_id: str) -> float:
        return self.group_interval if self.group_prefixes and chat_id.startswith(self.group_prefixes) else \
            self.per_chat_interval


class RateLimiter:
    """Spaces sends so the platform's limits are never hit, measured where they count (at
    arrival, after network jitter): an even pace of 97% of `per_second` (no bursts), at
    most `per_second - 2` sends in any second, per-chat spacing, and a global pause after a
    429 (the platform asked everyone to wait)."""

    WINDOW = 1.0
    PACE = 0.97

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep):
        self.limits = limits
        self.clock = clock
        self.sleep = sleep  # tests inject a fake clock and sleep
        # Two under the limit in any second of grants: a photo granted before a text can arrive
        # after it, and arrival (where Telegram counts) then squeezes one more into a second.
        self.cap = max(1, int(limits.per_second) - 2)
        self.gap = 1.0 / (limits.per_second * self.PACE)
        self._sent: deque[float] = deque()
        self._chat_next: dict[str, float] = {}
        self._chat_locks: dict[str, asyncio.Lock] = {}
        # After a restart we do not know when each chat last got a message (a crash may have
        # left one in flight): wait one per-chat interval before the first send.
        self._paused_until = clock() + limits.per_chat_interval
        self._lock = asyncio.Lock()

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    def went(self, chat_id: str) -> None:
        """A message to `chat_id` goes now (after a wait outside this limiter, such as the
        replicas' shared slot): its chat's next message waits a whole interval from now."""
        self._chat_next[chat_id] = max(self._chat_next.get(chat_id, 0.0),
                                       self.clock() + self.limits.interval(chat_id))

    async def acquire(self, chat_id: str) -> None:
        """Wait until one more message to `chat_id` is within every limit, and count it.

        One chat's sends queue behind each other (FIFO), and its next slot is counted from
        when the previous message really went, so a global pause (start-up, a 429) can never
        squeeze two messages to one chat closer than its interval.
        """
        lock = self._chat_locks.get(chat_id)
        if lock is None:
            lock = self._chat_locks[chat_id] = asyncio.Lock()
        async with lock:
            wait = self._chat_next.get(chat_id, 0.0) - self.clock()
            if wait > 0:
                await self.sleep(wait)
            async with self._lock:  # FIFO: the window is shared by every chat
                while True:
                    now = self.clock()
                    while self._sent and now - self._sent[0] >= self.WINDOW:
                        self._sent.popleft()
                    wait = self._paused_until - now
                    if self._sent:
                        wait = max(wait, self._sent[-1] + self.gap - now)
                    if len(self._sent) >= self.cap:
                        wait = max(wait, self._sent[0] + self.WINDOW - now)
                    if wait <= 0:
                        break
                    await self.sleep(wait)
                self._sent.append(now)
            self._chat_next[chat_id] = now + self.limits.interval(chat_id)
        if len(self._chat_next) > 50_000:  # forget chats not seen for a while
            self._chat_next = {k: v for k, v in self._chat_next.items() if v > now}
            self._chat_locks = {k: v for k, v in self._chat_locks.items() if v.locked() or k in self._chat_next}


def batches(rows: list[OutboxRow]) -> list[list[OutboxRow]]:
    """A chat's due rows (in order) as messages: the consecutive alert rows queued by one
    evaluation make one message; digests and anything else go alone."""
    out: list[list[OutboxRow]] = []
    for r in rows:
        last = out[-1][-1] if out else None
        if last is not None and r.batch and r.batch == last.batch and r.rule_id != "digest" \
                and last.rule_id != "digest":
            out[-1].append(r)
        else:
            out.append([r])
    return out


def backoff(attempts: int) -> float:
    """Exponential backoff with jitter: ~2, 4, 8 ... s, capped at 10 minutes."""
    return min(600.0, 2.0 ** max(1, attempts)) * random.uniform(0.5, 1.5)


class Deliverer:
    """Sends due outbox rows through each adapter."""

    def __init__(self, store: Storage, adapters: Sequence[ChatAdapter], now: Callable[[], datetime]):
        self.store = store
        self.adapters = {a.platform: a for a in adapters}
        # An adapter that also replies to commands shares its limiter, so replies count too.
        self.limiters = {a.platform: a.limiter for a in adapters}
        for a in adapters:  # an alert's further API calls (chunks, a chart) are paced like its first
            a.next_slot = functools.partial(self.slot, a)
        self.now = now
        self.wake = asyncio.Event()
        self.owner = f"{socket.gethostname()}:{os.getpid()}"  # who holds a claim
        self.sent = 0
        self.failed = 0
        # Rows the platform accepted but whose "sent" could not be written (full disk, lost
        # database): never sent again by this process; recorded as soon as the store allows.
        self._unrecorded: dict[int, str] = {}
        self.degraded: str | None = None
        self._loop_error: str | None = None

    def _flush_unrecorded(self) -> None:
        for row_id, at in list(self._unrecorded.items()):
            try:
                self.store.mark_sent(row_id, at)
            except Exception:
                return  # still failing: try again next round
            del self._unrecorded[row_id]
        if self.degraded and not self._unrecorded:
            log.warning("delivery: the store records again; %s", "delivery is back to normal")
            self.degraded = None

    async def drain_once(self) -> int:
        """Send every due row once; return how many were handled."""
        handled = 0
        self._flush_unrecorded()
        for platform, adapter in self.adapters.items():
            rows = [r for r in self._due(platform, adapter) if r.id not in self._unrecorded]
            if not rows:
                continue
            by_chat: OrderedDict[str, list[OutboxRow]] = OrderedDict()
            for r in rows:
                by_chat.setdefault(r.chat_id, []).append(r)
            sem = asyncio.Semaphore(adapter.limits.concurrency)
            await asyncio.gather(*(self._chat_worker(adapter, sem, v) for v in by_chat.values()))
            handled += len(rows)
        return handled

    LEASE_SECONDS = 30.0

    def _due(self, platform: str, adapter: ChatAdapter) -> list[OutboxRow]:
        """Single instance: every due row. Replicas (shared store): claim a batch of about two
        seconds' worth under a lease, so the others take the rest and a dead replica's rows
        come back after the lease."""
        now = self.now()
        if not self.store.shared:
            return self.store.due_outbox(platform, now.isoformat(timespec="seconds"))
        batch = max(10, int(adapter.limits.per_second * 2))
        until = (now + timedelta(seconds=self.LEASE_SECONDS)).isoformat(timespec="seconds")
        return self.store.claim_outbox(platform, now.isoformat(timespec="seconds"), self.owner, until, batch)

    #: Replicas together send at this share of a platform's limit: a margin for what happens
    #: between a slot and the message's arrival (a busy event loop, network jitter).
    SHARED_PACE = 0.85

    async def slot(self, adapter: ChatAdapter, chat_id: str) -> None:
        """Wait until one more message to `chat_id` is within the platform's limits: this
        process's limiter, then (replicas) the shared pace, the chat's spacing counted from
        when the message really goes."""
        limiter = self.limiters[adapter.platform]
        await limiter.acquire(chat_id)
        if await self._shared_slot(adapter):
            limiter.went(chat_id)

    async def _shared_slot(self, adapter: ChatAdapter) -> bool:
        """Replicas: wait for this message's slot in the platform's pace shared in the database;
        True if there was one to wait for.

        A slot reached late (this replica's loop or its database call stalled) is given up and
        a fresh one reserved: sending on it would bunch this message with the slots after it,
        which other replicas are already using on time.
        """
        if not self.store.shared:
            return False
        interval = 1.0 / (adapter.limits.per_second * self.SHARED_PACE)
        for _ in range(20):  # each retry costs a slot; a loop stalled 20 times in a row sends anyway
            at = self.store.reserve_send_slot(adapter.platform, time.time(), interval)
            delay = at - time.time()
            if delay <= 0:
                return True  # the pace was idle: the slot is now
            await asyncio.sleep(delay)
            if time.time() - at <= interval:
                return True
        return True

    async def _chat_worker(self, adapter: ChatAdapter, sem: asyncio.Semaphore, chat_rows: list[OutboxRow]) -> None:
        """One chat's due rows, in order, each evaluation's alerts as one message; stops at the
        first that must wait for a retry."""
        async with sem:
            groups = batches([r for r in chat_rows if not self._hold_for_quiet(r)])
            for i, rows in enumerate(groups):
                if not await self._deliver(adapter, rows):
                    # keep this chat's order: later rows wait for the retry (and lose their claim)
                    later = [r.id for g in groups[i + 1:] for r in g]
                    if self.store.shared and later:
                        self.store.release_claims(later)
                    break

    def _hold_for_quiet(self, row: OutboxRow) -> bool:
        """Hold a row the router says must wait for the end of its chat's quiet hours (decided
        now, when the row is due, not when it was queued)."""
        until = quiet_hold(row.quiet, row.severity, self.now)
        if until is None:
            return False
        self.store.hold(row.id, until.isoformat(timespec="seconds"), "quiet hours")
        log.debug("%s: alert to %s held for quiet hours until %s UTC", row.platform, row.chat_id, until)  # private
        return True

    async def _deliver(self, adapter: ChatAdapter, rows: list[OutboxRow]) -> bool:
        """Send one message (one row, or one evaluation's rows grouped) and record the outcome for
        every row in it; True if the chat may continue with its next message."""
        row = rows[0]
        await self.slot(adapter, row.chat_id)
        message = group([replace(AlertMessage.from_stored(r.payload, r.text, r.rule_id, r.topic, r.state, r.language),
                                 event_id=r.event_id) for r in rows])
        try:
            res = await adapter.send(row.chat_id, message)
        except Exception as exc:  # an adapter bug is a retryable failure, never a crash
            log.exception("%s: send to %s raised", adapter.platform, row.chat_id)
            res = SendResult("retry", f"{type(exc).__name__}: {exc}")
        now = self.now()
        ids = [r.id for r in rows]
        if res.kind == "ok":
            self.sent += len(rows)
            self._record_sent(adapter, ids, now.isoformat(timespec="seconds"))
            return True
        if res.kind == "migrated" and res.new_chat_id:
            log.info("%s: chat %s moved to %s; subscriptions follow", adapter.platform, row.chat_id, res.new_chat_id)
            self.store.migrate_chat(adapter.platform, row.chat_id, res.new_chat_id)
            self.wake.set()
            return False
        if res.kind == "blocked":
            log.info("%s: chat %s blocked or removed the bot (%s); deactivated", adapter.platform, row.chat_id, res.error)
            self.store.deactivate_chat(adapter.platform, row.chat_id, res.error or "blocked")
            self.failed += len(rows)
            return False
        if res.kind == "permanent" or row.attempts + 1 >= MAX_ATTEMPTS:
            log.warning("%s: delivery %s to %s failed: %s", adapter.platform, ", ".join(map(str, ids)), row.chat_id,
                        res.error)
            for i in ids:
                self.store.mark_failed(i, res.error)
            self.failed += len(rows)
            return True  # this message is given up; the chat's later rows still go
        wait = res.retry_after if res.retry_after is not None else backoff(row.attempts + 1)
        if res.retry_after is not None:
            self.limiters[adapter.platform].pause(res.retry_after)
        for i in ids:
            self.store.mark_retry(i, (now + timedelta(seconds=wait)).isoformat(timespec="seconds"), res.error)
        return False

    def _record_sent(self, adapter: ChatAdapter, ids: list[int], at: str) -> None:
        """Mark delivered rows sent (together); if the store refuses, hold them: never sent again."""
        try:
            if len(ids) == 1:
                self.store.mark_sent(ids[0], at)
            else:
                self.store.mark_sent_many(ids, at)
        except Exception as exc:  # sent, but not recorded: hold the rows, never send them again
            for i in ids:
                self._unrecorded[i] = at
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if self.degraded is None:
                log.error("delivery: %s %s was delivered but cannot be recorded (%s); it will not be sent "
                          "again, and delivery is degraded until the store accepts writes",
                          adapter.platform, ", ".join(map(str, ids)), first)
            self.degraded = f"deliveries cannot be recorded: {str(exc).splitlines()[0] if str(exc) else exc!r}"

    async def run(self, stop: asyncio.Event, idle: float = 1.0) -> None:
        """Drain until `stop` is set; wakes early when the engine records new events."""
        while not stop.is_set():
            try:
                handled = await self.drain_once()
                self._loop_error = None
            except Exception as exc:  # the store is unreadable: one line per distinct error
                msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                if msg != self._loop_error:
                    log.error("delivery: cannot read the outbox (%s); retrying every second", msg)
                self._loop_error = msg
                handled = 0
            if handled and self.store.shared:
                continue  # replicas claim in batches: take the next one at once
            self.wake.clear()
            waiter = asyncio.ensure_future(self.wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiter, stopper}, timeout=idle, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            stopper.cancel()
