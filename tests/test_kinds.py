"""Condition kinds as types: the loader's table covers the YAML schema, an unknown kind is a
load error at its line, definition hashes are unchanged, and each kind's /rules text."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.commands import CommandService
from bot.engine import rule_hash
from bot.rules.kinds import KINDS, ConditionKind
from bot.rules.loader import load_rules
from bot.rules.model import Condition

EVERY_KIND = Path(__file__).parent / "fixtures" / "rules" / "every_kind.good.yaml"

# Definition hashes from before condition kinds became types: a changed hash replays the rule
# and could announce its alerts again, so the kind object must stay out of the rule's JSON.
PINNED = {"k_level": "d454590905b522b6", "k_crossing": "863783d76d52cb23", "k_change": "495205bd7f0613d4",
          "k_spread": "3a45721dadfe5f7c", "k_spike": "762851de39a052be", "k_regime": "19fbc5176288661c",
          "k_regime_change": "0792beb317d6ded8", "k_stale": "c4f91b5d1e6bb656"}


def test_the_table_has_a_class_for_every_condition_key_in_schema_order():
    assert list(KINDS) == list(Condition.model_fields)
    assert all(issubclass(cls, ConditionKind) and cls.name == name for name, cls in KINDS.items())


def test_each_rule_gets_its_kind_and_the_definition_hash_is_unchanged(catalog):
    loaded = load_rules(EVERY_KIND, catalog)
    assert loaded.ok, loaded.problems
    assert {r.condition.kind for r in loaded.rules} == set(KINDS)
    for r in loaded.rules:
        assert isinstance(r.kind, KINDS[r.condition.kind]) and r.kind.body is r.condition.body
        assert rule_hash(r) == PINNED[r.id]
        assert "kind" not in r.model_dump_json(exclude={"condition"})


def test_an_unknown_kind_is_a_problem_at_its_line(tmp_path, catalog):
    path = tmp_path / "r.yaml"
    path.write_text("rules:\n  - id: odd\n    topic: rrp\n    condition:\n      ceiling: {metric: rrp, value: 1}\n"
                    "    message: m\n    why: w\n")
    loaded = load_rules(path, catalog)
    assert not loaded.rules
    assert [str(p) for p in loaded.problems] == [
        f"{path}:5: rule odd: unknown condition kind 'ceiling' (known: {', '.join(KINDS)})"]


def test_rules_text_is_each_kinds_description(store, catalog):
    rules = load_rules(EVERY_KIND, catalog).rules
    svc = CommandService(store, catalog, lambda: rules, lambda: datetime(2026, 11, 20, 12))
    for lang in ("en", "zh"):
        lines = svc.rules_text(lang).text.splitlines()
        assert lines == [f"• {r.heading(lang)} [{r.topic}, {r.severity}]: {r.kind.describe(r.kind.unit(catalog), lang)}"
                         for r in rules]
