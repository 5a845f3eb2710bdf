"""Personal alerts: `/alert reserves < 2.95T` parsed into a rule for one chat. Pure.

A personal alert is an ordinary `Rule` (the same model and engine as rules/*.yaml) with a
level condition on a catalog metric, a default hysteresis so a print hovering at the line
does not flap, and a one-day cooldown. Its id is `personal_<n>`; it is delivered only to
the chat that set it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from bot.catalog import Catalog
from bot.i18n import tr
from bot.rules.model import Rule
from bot.format import fmt

MAX_PER_CHAT = 50
_VALUE = re.compile(r"^([-+]?\d+(?:\.\d+)?)(t|b|m|%|bp)?$", re.IGNORECASE)
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


# Amounts written with T/B/M (dollars, and the ECB's euros and the BoJ's yen), exchange rates as plain numbers.
AMOUNTS = ("usd", "eur", "jpy")
FX_RATES = ("usd_per_eur", "jpy_per_usd")


def parse(args: list[str], catalog: Catalog, lang: str = "en") -> tuple[str, str, float, int]:
    """`reserves < 2.95T [for 3]` -> (metric, op, value in the metric's unit, observations)."""
    _ = tr(lang)
    text = " ".join(args)
    m = re.fullmatch(r"\s*(\w+)\s*(<=|>=|<|>)\s*(\S+)(?:\s+for\s+(\d+))?\s*", text, re.IGNORECASE)
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
    return metric, op, value, n


def hysteresis(unit: str, value: float) -> float:
    """How far back past the line a firing personal alert must go to resolve."""
    if unit in AMOUNTS:
        return max(abs(value) * 0.005, 1e9)    # 0.5%, at least $1B (or €1B, ¥1B)
    if unit in FX_RATES:
        return abs(value) * 0.005              # 0.5% of the exchange rate
    if unit == "percent":
        return 0.02                           # 2 bp
    return 2.0                                # 2 bp


def rule_for(p: Personal, catalog: Catalog) -> Rule:
    """The rule the engine evaluates for one personal alert."""
    m = catalog.metrics[p.metric]
    h = hysteresis(m.unit, p.value)
    clear = p.value + h if p.op in ("<", "<=") else p.value - h
    shown = fmt(p.value, m.unit)
    return Rule.model_validate({
        "id": f"personal_{p.id}", "topic": "personal", "severity": "warning",
        "title": f"{m.name_short} {p.op} {shown}", "title_zh": f"{tr('zh')(m.name_short)} {p.op} {shown}",
        "condition": {"level": {"metric": p.metric, "op": p.op, "value": p.value}},
        "for": p.for_n, "clear": clear, "cooldown": "1d",
        "message": "{label} is {value} (your alert: " + p.op + " {threshold}), data of {date}.",
        "message_zh": "{label}为{value}（你的提醒：" + p.op + " {threshold}），数据日期{date}。",
        "resolved_message": "{label} is back at {value}, past {clear} (data of {date}).",
        "resolved_message_zh": "{label}回到{value}，越过{clear}（数据日期{date}）。",
        "why": "Your personal alert #" + str(p.id) + ": /alerts lists them, /alert delete " + str(p.id) + " removes it.",
        "why_zh": "你的个人提醒 #" + str(p.id) + "：/alerts 查看全部，/alert delete " + str(p.id) + " 删除。",
    })
