"""The delivery loop against the fake Bot API: error kinds, retries, order, limits."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timedelta

import pytest

from bot.chat.telegram import TelegramAdapter
from bot.cli import main
from bot.commands import CommandService
from bot.config import Settings
from bot.delivery import MAX_ATTEMPTS, Deliverer, Limits, RateLimiter
from bot.rules.lifecycle import Alert
from tests.fakes.http import FakeServer
from tests.fakes.telegram import FakeTelegram

TOKEN = "444444444:AADeliveryTestsFakeToken_abcdefghijklm"


class Clock:
    def __init__(self) -> None:
        self.t = datetime(2026, 6, 11)

    def __call__(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


@pytest.fixture
async def tg(store, catalog):
    with FakeServer() as server:
        fake = FakeTelegram(server, TOKEN)
        adapter = TelegramAdapter(CommandService(store, catalog, lambda: [], datetime.now),
                                  Settings(telegram_bot_token=TOKEN, telegram_api_url=server.url))
        await adapter.app.initialize()
        yield adapter, fake
        await adapter.app.shutdown()


def alert(store, state: str, chats: list[str], text: str | None = None, at: str = "2026-06-11T00:00:00") -> None:
    """One evaluation's event (rows queued at one `at` go to a chat as one message)."""
    for c in chats:
        store.ensure_chat("telegram", c, "private", None, "t")
    store.record("reserves_below_3t", Alert(), [(
        {"topic": "reserves", "severity": "warning", "state": state, "data_date": "2026-06-10", "value": 2.9e12,
         "text": text or f"⚠️ {state.upper()}: reserves_below_3t\nreserves"}, [("telegram", c, "t") for c in chats])],
        at)


async def test_5xx_backs_off_then_delivers(tg, store):
    adapter, fake = tg
    alert(store, "firing", ["1"])
    fake.faults["1"] = [FakeTelegram.bad_gateway(), FakeTelegram.bad_gateway()]
    clock = Clock()
    d = Deliverer(store, [adapter], clock)
    await d.drain_once()
    assert fake.to("1") == [] and store.outbox_counts()["pending"] == 1
    await d.drain_once()
    assert fake.to("1") == []  # still waiting for its backoff: no retry storm
    for _ in range(2):
        clock.advance(60)
        await d.drain_once()
    assert len(fake.to("1")) == 1 and store.outbox_counts() == {"pending": 0, "sent": 1, "failed": 0}


async def test_bad_request_fails_once_with_the_platform_message(tg, store, capsys):
    adapter, fake = tg
    alert(store, "firing", ["1", "2"])
    from tests.fakes.telegram import error
    fake.faults["1"] = [error(400, "Bad Request: can't parse entities")]
    await Deliverer(store, [adapter], Clock()).drain_once()
    assert store.outbox_counts() == {"pending": 0, "sent": 1, "failed": 1}
    assert main(["--db", store.path, "outbox"]) == 0
    out = capsys.readouterr().out
    assert "0 pending, 1 failed, 1 sent" in out and "can't parse entities" in out.lower()
    assert main(["--db", store.path, "outbox", "--retry"]) == 0
    assert "re-queued 1 failed" in capsys.readouterr().out
    await Deliverer(store, [adapter], Clock()).drain_once()
    assert len(fake.to("1")) == 1 and store.outbox_counts()["sent"] == 2


async def test_network_errors_give_up_after_bounded_attempts(tg, store):
    adapter, fake = tg
    alert(store, "firing", ["1"])
    fake.faults["1"] = [FakeTelegram.bad_gateway() for _ in range(MAX_ATTEMPTS + 2)]
    clock = Clock()
    d = Deliverer(store, [adapter], clock)
    for _ in range(MAX_ATTEMPTS + 2):
        await d.drain_once()
        clock.advance(3600)
    assert store.outbox_counts() == {"pending": 0, "sent": 0, "failed": 1}
    assert len(fake.faults["1"]) == 2  # exactly MAX_ATTEMPTS tries, then it stopped


async def test_firing_then_resolved_arrive_in_order_even_across_a_429(tg, store):
    adapter, fake = tg
    alert(store, "firing", ["1"])
    alert(store, "resolved", ["1"], at="2026-06-11T00:05:00")  # a later evaluation: its own message
    fake.faults["1"] = [FakeTelegram.too_many(2)]
    clock = Clock()
    d = Deliverer(store, [adapter], clock)
    await d.drain_once()
    assert fake.to("1") == []  # the resolved row waits behind the firing one
    clock.advance(3)
    await d.drain_once()
    texts = [s.text for s in fake.to("1")]
    assert len(texts) == 2 and "FIRING" in texts[0] and "RESOLVED" in texts[1]
    assert not fake.violations


async def test_a_chats_next_message_is_spaced_from_when_the_last_one_arrived(tg, store):
    """A message held up on the way in (a slow network, a busy Bot API) must not let the next
    one to the same chat arrive less than a second after it: a long alert in two parts."""
    adapter, fake = tg
    alert(store, "firing", ["7"], text="⚠️ FIRING: reserves_below_3t\n" + "detail " * 700)
    fake.inbound_delays = [0.6]  # the first part is held 0.6 s before Telegram counts it
    await Deliverer(store, [adapter], datetime.now).drain_once()
    parts = fake.to("7")
    assert len(parts) >= 2 and fake.violations == []
    assert all(b.at - a.at >= 1.0 for a, b in itertools.pairwise(parts))


async def test_rate_limiter_paces_overall_and_per_chat():
    now = {"t": 0.0}

    async def fake_sleep(s):
        now["t"] += s
        await asyncio.sleep(0)

    lim = RateLimiter(Limits(per_second=30, per_chat_interval=1.0, group_interval=3.0), clock=lambda: now["t"],
                      sleep=fake_sleep)
    stamps = []
    for i in range(90):
        await lim.acquire(str(i))
        stamps.append(now["t"])
    mine = []
    for _ in range(3):
        await lim.acquire("same")
        mine.append(now["t"])
    assert max(sum(1 for t in stamps if s <= t < s + 1.0) for s in stamps) <= 29
    assert (stamps[-1] - stamps[0]) / 89 < 1 / 28  # but not much slower than the limit
    assert mine[1] - mine[0] >= 1.0 and mine[2] - mine[1] >= 1.0


async def test_the_limiter_paces_on_a_fake_clock():
    from bot.delivery import Limits, RateLimiter

    now = [100.0]

    async def fake_sleep(seconds: float) -> None:
        now[0] += seconds

    lim = RateLimiter(Limits(per_second=30, per_chat_interval=1.05, group_interval=3.05, group_prefixes=("-",)),
                      clock=lambda: now[0], sleep=fake_sleep)
    sent = []
    for chat in ["1", "1", "1", "-5", "-5", "2"]:
        await lim.acquire(chat)
        sent.append((chat, round(now[0], 3)))
    one = [t for c, t in sent if c == "1"]
    group = [t for c, t in sent if c == "-5"]
    eps = 1e-6
    assert one[1] - one[0] >= 1.05 - eps and one[2] - one[1] >= 1.05 - eps   # per chat, from real sends
    assert group[1] - group[0] >= 3.05 - eps                                  # groups: 20 a minute
    times = [t for _, t in sent]
    assert times == sorted(times)
