"""Rule files: golden good/bad fixtures report every problem as path:line: message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import main
from bot.rules.loader import load_rules

FIXTURES = Path(__file__).parent / "fixtures" / "rules"
RULES = Path(__file__).resolve().parent.parent / "rules"


def expectations(path: Path) -> list[tuple[int, str]]:
    return [(int(m.group(1)), m.group(2)) for m in re.finditer(r"^# expect: (\d+): (.*)$", path.read_text(), re.M)]


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.bad.yaml")), ids=lambda p: p.name)
def test_bad_fixtures_report_every_problem_with_its_line(path, catalog):
    loaded = load_rules(path, catalog)
    got = [(p.line, p.message) for p in loaded.problems]
    want = expectations(path)
    assert want, "fixture has no # expect: lines"
    assert len(got) == len(want), got
    for (line, text), (gline, gmsg) in zip(want, got, strict=False):
        assert (gline, gmsg[: len(text)]) == (line, text)
    assert all(str(p).startswith(f"{path}:") for p in loaded.problems)


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.good.yaml")), ids=lambda p: p.name)
def test_good_fixtures_load(path, catalog):
    loaded = load_rules(path, catalog)
    assert loaded.ok and loaded.rules


def test_every_shipped_rule_parses_and_covers_every_topic(catalog):
    loaded = load_rules(RULES, catalog)
    assert loaded.ok, [str(p) for p in loaded.problems]
    assert {r.topic for r in loaded.rules} >= {"reserves", "rrp", "tga", "repo", "srf", "regime", "net_liquidity", "data"}
    assert len({r.id for r in loaded.rules}) == len(loaded.rules)


def test_duplicate_rule_ids_across_files_are_reported(tmp_path, catalog):
    body = (FIXTURES / "levels.good.yaml").read_text()
    (tmp_path / "a.yaml").write_text(body)
    (tmp_path / "b.yaml").write_text(body)
    loaded = load_rules(tmp_path, catalog)
    first = loaded.problems[0]
    assert first.message == f"rule id 'reserves_low' already defined at {tmp_path / 'a.yaml'}:2"
    assert first.path == str(tmp_path / "b.yaml") and first.line == 2   # at the duplicate, not at line 1


def test_rules_check_cli_exit_codes(capsys):
    assert main(["rules", "check", "--rules", str(RULES)]) == 0
    assert capsys.readouterr().out.startswith("OK: 17 rules in 9 files")
    assert main(["rules", "check", "--rules", str(FIXTURES / "many_problems.bad.yaml")]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 5 and out[0].startswith(f"{FIXTURES / 'many_problems.bad.yaml'}:9: ")


def test_rules_test_cli_runs_shipped_tests_and_reports_a_failure(tmp_path, capsys):
    assert main(["rules", "test", str(RULES / "tests")]) == 0
    assert re.search(r"^(\d+) passed, 0 failed$", capsys.readouterr().out, re.M)
    broken = tmp_path / "broken_test.yaml"
    broken.write_text(f"""rule_files: [{RULES / 'reserves.yaml'}]
tests:
  - name: wrong expectation
    rules: [reserves_below_3t]
    series: {{reserves: {{2022-09-21: 3.1e12, 2022-09-28: 2.9e12}}}}
    expect:
      - {{rule: reserves_below_3t, state: firing, date: 2022-09-28}}
""")
    assert main(["rules", "test", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "missing: ('reserves_below_3t', 'firing', '2022-09-28'" in out
    assert "unexpected: ('reserves_below_3t', 'firing', '2022-09-29'" in out and "0 passed, 1 failed" in out
