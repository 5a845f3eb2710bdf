"""Property-based: generated rule documents and chat commands never raise, only explain."""

from __future__ import annotations

import json
from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands import CommandError, CommandService, Reply
from bot.rules.loader import load_file

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=True),
                    st.text(max_size=20), st.sampled_from(["reserves", "rrp", "<", ">", "7d", "99999999999w", "1e400"]))
KEYS = st.sampled_from(["id", "topic", "condition", "level", "spread", "change", "metric", "op", "value", "for",
                        "cooldown", "clear", "message", "why", "window", "days", "a", "b", "bands", "name", "below",
                        "stale", "max_age", "spike", "multiple", "regime", "hysteresis", "x"])
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(KEYS, inner, max_size=5)), max_leaves=25)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(VALUES, max_size=4))
def test_generated_rule_documents_give_problems_not_tracebacks(tmp_path, catalog, rules):
    path = tmp_path / "gen.yaml"
    path.write_text("rules: " + json.dumps(rules) + "\n")  # JSON is YAML (flow style), NaN included
    _, problems = load_file(path, catalog)
    for p in problems:
        assert p.line >= 1 and p.message and "Traceback" not in p.message


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_generated_rule_file_text_never_raises(tmp_path, catalog, text):
    path = tmp_path / "raw.yaml"
    path.write_text(text, encoding="utf-8")
    load_file(path, catalog)


ARGS = st.one_of(st.none(), st.text(max_size=80), st.sampled_from(["reserves", "all", "rrp", "2y", "max", "Ω" * 500]))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.sampled_from(["subscribe", "unsubscribe", "list", "chart", "history", "help", "rules"]), ARGS, ARGS)
def test_generated_chat_commands_answer_with_a_reply_or_a_clear_message(store, catalog, name, a, b):
    svc = CommandService(store, catalog, lambda: [], lambda: datetime(2026, 11, 20, 12))
    calls = {"subscribe": lambda: svc.subscribe("telegram", "1", a, "private", None),
             "unsubscribe": lambda: svc.unsubscribe("telegram", "1", a),
             "list": lambda: svc.list("telegram", "1"), "history": lambda: svc.history(a),
             "help": lambda: svc.help(), "rules": lambda: svc.rules_text(),
             "chart": lambda: svc.chart(a, b)}
    try:
        reply = calls[name]()
    except CommandError as exc:
        assert str(exc) and len(str(exc)) < 2000
        return
    assert isinstance(reply, Reply) and reply.text is not None and len(reply.text) < 8000


# --- the rules loader's nesting pre-scan never refuses what is within the limit ---
_TEXT = st.text(alphabet="ab [ ]{}:,#'\"-|>\\\n", max_size=12)
_DOCS = st.recursive(_TEXT | st.integers(), lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(alphabet="abc", min_size=1, max_size=3), inner, max_size=3),
                     max_leaves=25)


def _depth(node) -> int:
    if isinstance(node, dict):
        return 1 + max((_depth(v) for v in node.values()), default=0)
    if isinstance(node, list):
        return 1 + max((_depth(v) for v in node), default=0)
    return 0


@settings(max_examples=200, deadline=None)
@given(_DOCS, st.sampled_from([None, True, False]))
def test_the_nesting_pre_scan_never_counts_more_levels_than_there_are(doc, flow):
    import io

    from ruamel.yaml import YAML

    from bot.rules.nesting import too_deep_at

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = flow
    out = io.StringIO()
    yaml.dump({"rules": doc}, out)
    text = out.getvalue()
    assert too_deep_at(text, _depth({"rules": doc})) is None, text
