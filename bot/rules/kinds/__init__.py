"""Condition kinds as types: the loader's table from a condition's YAML key to its class.

Adding a kind: its own module here (a `ConditionKind` subclass), its body model in
bot/rules/model.py (the YAML schema), one line in `KINDS`, and its tests.
"""

from __future__ import annotations

from bot.rules.kinds.base import Compared, ConditionKind
from bot.rules.kinds.change import ChangeKind
from bot.rules.kinds.crossing import CrossingKind
from bot.rules.kinds.level import LevelKind
from bot.rules.kinds.regime import RegimeKind
from bot.rules.kinds.spike import SpikeKind
from bot.rules.kinds.spread import SpreadKind
from bot.rules.kinds.stale import StaleKind

KINDS: dict[str, type[ConditionKind]] = {k.name: k for k in (
    LevelKind, CrossingKind, ChangeKind, SpreadKind, SpikeKind, RegimeKind, StaleKind)}

__all__ = ["KINDS", "ChangeKind", "Compared", "ConditionKind", "CrossingKind", "LevelKind", "RegimeKind",
           "SpikeKind", "SpreadKind", "StaleKind"]
