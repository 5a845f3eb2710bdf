"""The 1-second file poll: its database work runs on the engine thread, never on the event loop
(where commands are answered); an unchanged file costs no database read at all; after a new print
/status and /chart use the engine's data instead of reading the store on the loop."""

from __future__ import annotations

import asyncio
import io
import threading

from bot.config import Settings
from bot.runtime import build
from tests.test_runtime import ROOT

WEEKS = ["2026-10-07", "2026-10-14", "2026-10-21", "2026-10-28", "2026-11-04"]


def write(folder, values) -> None:
    rows = "".join(f"{d},{v}\n" for d, v in zip(WEEKS, values, strict=False))
    (folder / "WRESBAL.csv").write_text("date,value\n" + rows)


def spy(store, names, calls, loop_thread=None):
    """Record (method, thread) for the named methods of a real store; fail any call made on `loop_thread`."""
    for name in names:
        real = getattr(store, name)

        def wrapped(*args, _real=real, _name=name, **kw):
            calls.append((_name, threading.current_thread()))
            assert threading.current_thread() is not loop_thread, f"{_name} ran on the event loop"
            return _real(*args, **kw)
        setattr(store, name, wrapped)


async def test_the_file_poll_reads_the_database_off_the_loop_and_not_at_all_when_nothing_changed(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write(data, [3.0e6, 3.01e6, 3.02e6, 3.03e6])
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text((ROOT / "rules" / "reserves.yaml").read_text())
    app = build(Settings(database_path=str(tmp_path / "db.db"), rules_dir=str(rules), health_port=0),
                data_dirs=[str(data)], out=io.StringIO())
    src = next(s for s in app.sources if s.name == "files")
    loop_thread = threading.current_thread()
    reads = ["latest_map", "series_since", "add_observations", "last_date", "log_fetch"]
    loop_calls: list = []
    engine_calls: list = []
    spy(app.store, [*reads, "load_series", "frames"], loop_calls, loop_thread)
    spy(app.engine.store, reads, engine_calls, loop_thread)
    try:
        report = await app.poll(src)
        assert report is not None and report.added == 4
        assert not loop_calls and engine_calls               # all on the engine thread
        engine_calls.clear()
        await app.poll(src)                                    # the file is unchanged
        assert not [c for c in engine_calls if c[0] in ("latest_map", "series_since", "add_observations")]
        write(data, [3.0e6, 3.01e6, 3.02e6, 3.03e6, 3.04e6])   # a new print
        report = await app.poll(src)
        assert report is not None and report.added == 1 and not loop_calls
        newest = app.commands._frames()["reserves"].index[-1]   # /status and /chart: the engine's frames
        assert f"{newest:%Y-%m-%d}" == WEEKS[-1] and not loop_calls
    finally:
        await app.shutdown()
        await asyncio.sleep(0)
