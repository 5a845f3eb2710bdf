"""Personal alerts: `/alert reserves < 2.95T` parsed into a rule for one chat. Pure.

A personal alert is an ordinary `Rule` (the same model and engine as rules/*.yaml) with a
level condition on a catalog metric, a default hysteresis so a print hovering at the line
does not flap, and a one-day cooldown. Its internal id is `personal_<id>` (global, never
reused); chats see only its per-chat number ("#3") and title. It is delivered only to the
chat that set it, and no other chat ever sees it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from bot.catalog import Catalog, MetricDef
from bot.i18n import tr
from bot.rules.model import Rule
from bot.format import fmt

MAX_PER_CHAT = 50
# ASCII digits only: "²" and other Unicode digits are not numbers here (a huge number parses,
# then BOUNDS refuses it with the allowed range).
_VALUE = re.compile(r"^([-+]?\d{1,80}(?:\.\d{1,80})?)(t|b|m|%|bp)?$", re.IGNORECASE | re.ASCII)
_ALERT = re.compile(r"\s*(\w{1,40})\s*(<=|>=|<|>)\s*(\S+)(?:\s+for\s+(\d{1,3}))?\s*", re.IGNORECASE | re.ASCII)
# Sane thresholds per unit: a dollar level above $0 and at most $100T, a rate within -5%..50%,
# a spread within +-1000bp. Outside them an alert could never mean anything (or would not fit).
BOUNDS = {"usd": (0.0, 100e12), "eur": (0.0, 100e12), "jpy": (0.0, 1e16), "usd_per_eur": (0.0, 10.0),
          "jpy_per_usd": (0.0, 1000.0), "percent": (-5.0, 50.0), "bp": (-1000.0, 1000.0)}
SCALE = {"t": 1e12, "b": 1e9, "m": 1e6}
OPS = ("<", "<=", ">", ">=")


class AlertSyntaxError(ValueError):
    """What was wrong with an /alert, in the user's language."""


@dataclass(frozen=True)
class Personal:
    id: int
    platform: str
    chat_id: str
    metric: str
    op: str
    value: float          # dollars, percent or bp: the metric's unit
    for_n: int = 1
    number: int | None = None   # per chat ("#3"); None only for rows stored before numbering

    @property
    def shown(self) -> int:
        """The number the chat sees."""
        return self.number if self.number is not None else self.id


# Amounts written with T/B/M (dollars, and the ECB's euros and the BoJ's yen), exchange rates as plain numbers.
AMOUNTS = ("usd", "eur", "jpy")
FX_RATES = ("usd_per_eur", "jpy_per_usd")


def parse(args: list[str], catalog: Catalog, lang: str = "en") -> tuple[str, str, float, int]:
    """`reserves < 2.95T [for 3]` -> (metric, op, value in the metric's unit, observations)."""
    _ = tr(lang)
    text = " ".join(args)
    m = _ALERT.fullmatch(text)
    if not m:
        raise AlertSyntaxError(_("I did not understand that alert."))
    metric, op, raw, n = m.group(1).lower(), m.group(2), m.group(3), int(m.group(4) or 1)
    if metric not in catalog.metrics:
        raise AlertSyntaxError(_("Unknown metric {metric!r}.").format(metric=metric))
    unit = catalog.metrics[metric].unit
    v = _VALUE.match(raw.replace(",", ""))
    if not v:
        raise AlertSyntaxError(_("{value!r} is not a number with a unit.").format(value=raw))
    number, suffix = float(v.group(1)), (v.group(2) or "").lower()
    if unit in AMOUNTS and suffix in SCALE:
        value = number * SCALE[suffix]
    elif unit in FX_RATES and suffix == "":
        value = number
    elif unit == "percent" and suffix in ("%", ""):
        value = number
    elif unit == "bp" and suffix in ("bp", ""):
        value = number
    else:
        want = "T, B or M" if unit in AMOUNTS else {"percent": "%", "bp": "bp"}.get(unit, "a plain number")
        raise AlertSyntaxError(_("{metric} is in {unit}: write the value with {want}.").format(
            metric=metric, unit=unit, want=want))
    if not math.isfinite(value) or not 1 <= n <= 100:
        raise AlertSyntaxError(_("I did not understand that alert."))
    low, high = bounds(catalog.metrics[metric])
    level = low == 0  # a level in money or an exchange rate: above zero
    if not (low < value <= high if level else low <= value <= high):
        raise AlertSyntaxError(bounds_text(metric, catalog, lang))
    return metric, op, value, n


def bounds(m: MetricDef) -> tuple[float, float]:
    """The thresholds a personal alert on `m` may use: dollar levels above $0 (a change, such as
    ON RRP's weekly one, may be negative), rates and spreads within BOUNDS."""
    low, high = BOUNDS[m.unit]
    return (-high, high) if m.unit in AMOUNTS and m.change else (low, high)


def bounds_text(metric: str, catalog: Catalog, lang: str = "en") -> str:
    """"reserves takes a value above $0 and at most $100.000T." in the user's language."""
    _ = tr(lang)
    m = catalog.metrics[metric]
    low, high = bounds(m)
    if low == 0:
        return _("{metric} takes a value above {low} and at most {high}.").format(
            metric=metric, low=fmt(low, m.unit), high=fmt(high, m.unit))
    return _("{metric} takes a value from {low} to {high}.").format(
        metric=metric, low=fmt(low, m.unit), high=fmt(high, m.unit))


def hysteresis(unit: str, value: float) -> float:
    """How far back past the line a firing personal alert must go to resolve."""
    if unit in AMOUNTS:
        return max(abs(value) * 0.005, 1e9)    # 0.5%, at least $1B (or €1B, ¥1B)
    if unit in FX_RATES:
        return abs(value) * 0.005              # 0.5% of the exchange rate
    if unit == "percent":
        return 0.02                           # 2 bp
    return 2.0                                # 2 bp


def title(p: Personal, catalog: Catalog, lang: str = "en") -> str:
    """"Reserves < $2.950T": the alert's heading (in messages, and after "Your alert #3: ")."""
    m = catalog.metrics.get(p.metric)
    if m is None:
        return f"{p.metric} {p.op} {p.value:g}"
    return f"{tr(lang)(m.name_short)} {p.op} {fmt(p.value, m.unit)}"


def rule_for(p: Personal, catalog: Catalog) -> Rule:
    """The rule the engine evaluates for one personal alert."""
    m = catalog.metrics[p.metric]
    h = hysteresis(m.unit, p.value)
    clear = p.value + h if p.op in ("<", "<=") else p.value - h
    return Rule.model_validate({
        "id": f"personal_{p.id}", "topic": "personal", "severity": "warning",
        "title": title(p, catalog), "title_zh": title(p, catalog, "zh"),
        "condition": {"level": {"metric": p.metric, "op": p.op, "value": p.value}},
        "for": p.for_n, "clear": clear, "cooldown": "1d",
        "message": "{label} is {value} (your alert: " + p.op + " {threshold}), data of {date}.",
        "message_zh": "{label}为{value}（你的提醒：" + p.op + " {threshold}），数据日期{date}。",
        "resolved_message": "{label} is back at {value}, past {clear} (data of {date}).",
        "resolved_message_zh": "{label}回到{value}，越过{clear}（数据日期{date}）。",
        "why": "Your personal alert #" + str(p.shown) + ": /alerts lists them, /alert delete " + str(p.shown)
               + " removes it.",
        "why_zh": "你的个人提醒 #" + str(p.shown) + "：/alerts 查看全部，/alert delete " + str(p.shown) + " 删除。",
    })
