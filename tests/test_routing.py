"""Routing decided on a small fake store: no chat library, no database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest

from bot.routing import Router, Snapshot, quiet_hold

NOW = "2026-06-10T12:00:00"
TG, SL = "telegram", "slack"


class FakeStore:
    """The reads routing makes, over plain dicts (what SQLStore's queries return)."""

    def __init__(self, subs: dict[tuple[str, str], set[str]] | None = None,
                 mutes: Sequence[tuple[str, str, str, str | None, int]] = (),
                 inactive: set[tuple[str, str]] | None = None):
        self.subs = subs or {}
        self.mute_rows = list(mutes)
        self.inactive = inactive or set()
        self.calls: list[str] = []

    def subscribers(self, topic: str) -> list[tuple[str, str]]:
        self.calls.append(f"subscribers {topic}")
        return sorted(c for c, topics in self.subs.items() if topics & {topic, "all"} and c not in self.inactive)

    def mutes(self, now: str) -> list[tuple[Any, ...]]:
        self.calls.append("mutes")
        return [m for m in self.mute_rows if m[4] or (m[3] is not None and m[3] > now)]

    def inactive_chats(self) -> set[tuple[str, str]]:
        self.calls.append("inactive")
        return set(self.inactive)

    def end_resolved_mutes(self, targets: Sequence[str], owner: tuple[str, str] | None = None) -> int:
        keep = [m for m in self.mute_rows
                if not (m[4] and m[2] in targets and (owner is None or (m[0], m[1]) == owner))]
        n, self.mute_rows = len(self.mute_rows) - len(keep), keep
        return n


ALICE, BOB, CAROL = (TG, "1"), (TG, "2"), (SL, "C3")
FEED = (SL, "CFEED")
OWNERS = {"personal_7": ALICE}


def timed(chat: tuple[str, str], target: str, until: str) -> tuple[str, str, str, str | None, int]:
    return (chat[0], chat[1], target, until, 0)


def resolved(chat: tuple[str, str], target: str) -> tuple[str, str, str, str | None, int]:
    return (chat[0], chat[1], target, None, 1)


# (case, rule id, topic, store, platforms, feeds, expected destinations, muted count)
CASES = [
    ("topic subscriber only", "tga_drain", "tga", FakeStore({ALICE: {"tga"}, BOB: {"rrp"}}),
     {TG}, [], [(TG, "1", "subscribed to tga")], 0),
    ("'all' reaches every topic", "tga_drain", "tga", FakeStore({ALICE: {"all"}, BOB: {"tga"}}),
     {TG}, [], [(TG, "1", "subscribed to tga"), (TG, "2", "subscribed to tga")], 0),
    ("platform not running", "tga_drain", "tga", FakeStore({ALICE: {"tga"}, CAROL: {"tga"}}),
     {TG}, [], [(TG, "1", "subscribed to tga")], 0),
    ("feed after subscribers", "tga_drain", "tga", FakeStore({ALICE: {"tga"}}),
     {TG, SL}, [FEED], [(TG, "1", "subscribed to tga"), (SL, "CFEED", "feed")], 0),
    ("feed that subscribed gets one row", "tga_drain", "tga", FakeStore({FEED: {"tga"}}),
     {SL}, [FEED], [(SL, "CFEED", "subscribed to tga")], 0),
    ("feed of a stopped platform still listed", "tga_drain", "tga", FakeStore(),
     set(), [FEED], [(SL, "CFEED", "feed")], 0),
    ("inactive subscriber", "tga_drain", "tga", FakeStore({ALICE: {"tga"}, BOB: {"tga"}}, inactive={BOB}),
     {TG}, [], [(TG, "1", "subscribed to tga")], 0),
    ("personal: owner only", "personal_7", "personal", FakeStore({BOB: {"all"}, ALICE: {"personal"}}),
     {TG, SL}, [FEED], [(TG, "1", "personal alert")], 0),
    ("personal: owner inactive", "personal_7", "personal", FakeStore(inactive={ALICE}),
     {TG}, [FEED], [], 0),
    ("personal: owner's platform not running", "personal_7", "personal", FakeStore(),
     {SL}, [FEED], [], 0),
    ("muted all", "tga_drain", "tga", FakeStore({ALICE: {"tga"}, BOB: {"tga"}}, [resolved(ALICE, "all")]),
     {TG}, [], [(TG, "2", "subscribed to tga")], 1),
    ("muted topic", "tga_drain", "tga", FakeStore({ALICE: {"tga"}}, [timed(ALICE, "tga", "2026-06-11T00:00:00")]),
     {TG}, [], [], 1),
    ("muted another topic", "tga_drain", "tga", FakeStore({ALICE: {"tga"}}, [resolved(ALICE, "rrp")]),
     {TG}, [], [(TG, "1", "subscribed to tga")], 0),
    ("muted rule", "tga_drain", "tga", FakeStore({ALICE: {"tga"}}, [resolved(ALICE, "tga_drain")]),
     {TG}, [], [], 1),
    ("muted feed", "tga_drain", "tga", FakeStore(mutes=[resolved(FEED, "tga")]),
     {SL}, [FEED], [], 1),
    ("muted personal", "personal_7", "personal", FakeStore(mutes=[resolved(ALICE, "personal")]),
     {TG}, [], [], 1),
    ("muted personal rule", "personal_7", "personal", FakeStore(mutes=[timed(ALICE, "personal_7", "2026-06-11")]),
     {TG}, [], [], 1),
    ("another chat's personal mute", "personal_7", "personal", FakeStore(mutes=[resolved(BOB, "personal")]),
     {TG}, [], [(TG, "1", "personal alert")], 0),
    ("mute ended", "tga_drain", "tga", FakeStore({ALICE: {"tga"}}, [timed(ALICE, "tga", "2026-06-10T11:59:59")]),
     {TG}, [], [(TG, "1", "subscribed to tga")], 0),
]


@pytest.mark.parametrize(("rule_id", "topic", "store", "platforms", "feeds", "expected", "muted"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_route(rule_id, topic, store, platforms, feeds, expected, muted):
    assert Router(Snapshot(store, NOW), feeds, platforms, OWNERS).route(rule_id, topic) == (expected, muted)


# (case, resolving rule, topic, mutes before, mutes left)
RESOLVED = [
    ("rule's until-resolved mutes end in every chat", "tga_drain", "tga",
     [resolved(ALICE, "tga_drain"), resolved(BOB, "tga_drain"), resolved(BOB, "rrp_low")],
     [resolved(BOB, "rrp_low")]),
    ("topic's too; timed mutes stay", "tga_drain", "tga",
     [resolved(ALICE, "tga"), timed(BOB, "tga", "2026-06-11")], [timed(BOB, "tga", "2026-06-11")]),
    ("'all' is not ended by one rule", "tga_drain", "tga", [resolved(ALICE, "all")], [resolved(ALICE, "all")]),
    ("personal: only the owner's chat", "personal_7", "personal",
     [resolved(ALICE, "personal"), resolved(BOB, "personal"), resolved(ALICE, "personal_7")],
     [resolved(BOB, "personal")]),
]


@pytest.mark.parametrize(("rule_id", "topic", "before", "after"), [c[1:] for c in RESOLVED],
                         ids=[c[0] for c in RESOLVED])
def test_resolved_ends_mutes(rule_id, topic, before, after):
    store = FakeStore(mutes=before)
    Router(Snapshot(store, NOW), owners=OWNERS).resolved(rule_id, topic)
    assert store.mute_rows == after


def test_one_snapshot_per_evaluation():
    """Nothing is read until something is routed; then each part once, whatever the number of
    transitions; a mute ended mid-evaluation does not change this evaluation's view."""
    store = FakeStore({ALICE: {"tga"}, BOB: {"rrp"}}, [resolved(ALICE, "tga_drain")])
    router = Router(Snapshot(store, NOW), [], {TG}, OWNERS)
    assert store.calls == []
    for _ in range(3):
        router.route("tga_drain", "tga")
        router.route("personal_7", "personal")
        router.route("rrp_low", "rrp")
    assert sorted(store.calls) == ["inactive", "mutes", "subscribers rrp", "subscribers tga"]
    router.resolved("tga_drain", "tga")
    assert store.mute_rows == [] and router.route("tga_drain", "tga") == ([], 1)


# (case, quiet hours, severity, now (UTC), held until (UTC) or None)
QUIET = [
    ("no quiet hours", None, "warning", datetime(2026, 6, 10, 23), None),
    ("warning inside: held to the end", "22:00-07:00 UTC", "warning", datetime(2026, 6, 10, 23),
     datetime(2026, 6, 11, 7)),
    ("info inside", "22:00-07:00 UTC", "info", datetime(2026, 6, 11, 6, 59), datetime(2026, 6, 11, 7)),
    ("critical goes through", "22:00-07:00 UTC", "critical", datetime(2026, 6, 10, 23), None),
    ("outside the window", "22:00-07:00 UTC", "warning", datetime(2026, 6, 10, 21, 59), None),
    ("window opens: decided when due", "22:00-07:00 UTC", "warning", datetime(2026, 6, 10, 22),
     datetime(2026, 6, 11, 7)),
    ("local time zone", "22:00-07:00 Europe/London", "warning", datetime(2026, 6, 10, 21, 30),
     datetime(2026, 6, 11, 6)),
    ("unreadable setting: deliver", "22:00-07:00 Mars/Olympus", "warning", datetime(2026, 6, 10, 23), None),
]


@pytest.mark.parametrize(("quiet", "severity", "now", "until"), [c[1:] for c in QUIET], ids=[c[0] for c in QUIET])
def test_quiet_hold(quiet, severity, now, until):
    assert quiet_hold(quiet, severity, lambda: now) == until


def test_quiet_hold_reads_the_clock_only_when_it_could_hold():
    def clock() -> datetime:
        raise AssertionError("clock read")

    assert quiet_hold(None, "warning", clock) is None
    assert quiet_hold("22:00-07:00 UTC", "critical", clock) is None
