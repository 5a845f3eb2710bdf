"""A refused print is visible (status, status --json, /status, /healthz) instead of silently serving
the older value; rows dated in the future already in the store are quarantined at start."""

from __future__ import annotations

import io
import json
from datetime import datetime

from bot.catalog import default_catalog
from bot.cli import main
from bot.commands import CommandService
from bot.config import Settings
from bot.store import Store

WEEKS = "date,value\n2026-10-07,2893000\n2026-10-14,2901000\n2026-10-21,2889000\n"


def _fetch(cli_env, text: str) -> None:
    data = cli_env / "data"
    data.mkdir(exist_ok=True)
    (data / "WRESBAL.csv").write_text(text)
    assert main(["fetch", "--data", str(data)]) == 0


def _status_json(capsys) -> dict:
    return _status_json_and_log(capsys)[0]


def _status_json_and_log(capsys) -> tuple[dict, list[str]]:
    """`status --json`'s answer and its log lines (the CLI logs to stderr)."""
    capsys.readouterr()
    assert main(["status", "--json"]) == 0
    out, err = capsys.readouterr()
    return json.loads(out), err.splitlines()


def _healthz(cli_env) -> dict:
    from bot.runtime import build

    app = build(Settings(database_path=str(cli_env / "cli.db"), health_port=0), out=io.StringIO())
    try:
        return app.healthz()
    finally:
        app.store.close()
        app.engine.store.close()


def _status_footer(cli_env) -> str:
    store = Store(cli_env / "cli.db")
    try:
        return CommandService(store, default_catalog(), lambda: [], lambda: datetime(2026, 11, 5)).status_text().footer
    finally:
        store.close()


def test_a_print_refused_as_a_unit_change_is_held_visibly_until_a_good_print_arrives(cli_env, capsys):
    _fetch(cli_env, WEEKS)
    _fetch(cli_env, WEEKS + "2026-10-28,2889\n")  # billions, not millions
    reserves = _status_json(capsys)["reserves"]
    assert reserves["value"] == 2.889e12 and reserves["date"] == "2026-10-21"  # the older value...
    held = reserves["held"]                                                   # ...and why
    assert held["series"] == "WRESBAL" and held["date"] == "2026-10-28" and held["value"] == 2.889e9
    assert "probable unit change" in held["reason"]
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "HELD WRESBAL 2026-10-28" in next(r for r in out.splitlines() if r.startswith("reserves "))
    assert "held print: WRESBAL 2026-10-28" in out
    assert "Held: WRESBAL 2026-10-28 (unit?)" in _status_footer(cli_env).splitlines()
    health = _healthz(cli_env)
    assert health["status"] == "degraded" and any("WRESBAL 2026-10-28" in p for p in health["problems"])
    capsys.readouterr()
    _fetch(cli_env, WEEKS + "2026-10-28,2889\n")                      # every later poll refuses it again...
    assert "refused" not in capsys.readouterr().err                   # ...without a warning each time

    _fetch(cli_env, WEEKS + "2026-10-28,2889\n2026-11-04,2875000\n")  # a good print: the hold ends
    reserves = _status_json(capsys)["reserves"]
    assert "held" not in reserves and reserves["date"] == "2026-11-04"
    assert "Held" not in _status_footer(cli_env)
    assert not any("held" in p for p in _healthz(cli_env)["problems"])


def test_future_rows_already_stored_are_quarantined_at_start_with_one_log_line(cli_env, capsys):
    store = Store(cli_env / "cli.db")  # as an older version (or another writer of the database) left it
    store.add_observations("WRESBAL", [("2026-10-21", 2.889e12), ("2099-01-07", 2.95e12), ("2300-01-01", 2.95e12)],
                           source="old version", vintage="v0")
    store.close()
    status, log = _status_json_and_log(capsys)  # crashed on 2300 (beyond pandas' calendar) before
    assert status["reserves"]["date"] == "2026-10-21" and status["reserves"]["value"] == 2.889e12
    lines = [line for line in log if "quarantine" in line]
    assert len(lines) == 1 and "2 observation(s)" in lines[0] and "WRESBAL 2099-01-07" in lines[0]
    store = Store(cli_env / "cli.db")
    try:
        assert store.last_date("WRESBAL") == "2026-10-21"
        assert store._rows("SELECT date, value FROM quarantine ORDER BY date") == [("2099-01-07", 2.95e12),
                                                                                   ("2300-01-01", 2.95e12)]
    finally:
        store.close()
    assert not [line for line in _status_json_and_log(capsys)[1] if "quarantine" in line]  # nothing left to move
