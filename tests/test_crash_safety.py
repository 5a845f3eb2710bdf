"""Nothing lost, duplicates only what was in flight: SIGKILL during a fan-out, then restart."""

from __future__ import annotations

from tests.crash import run_kill_restart


def test_sigkill_mid_fan_out_loses_nothing(tmp_path, shared_data):
    fig = run_kill_restart(tmp_path, shared_data / "fred" / "WRESBAL.csv", chats=300, kill_after=100)
    assert fig.sent_before_kill >= 100 and fig.sent_before_kill < 300  # killed mid fan-out
    assert fig.lost == 0 and fig.delivered_chats == 300
    assert fig.duplicates <= fig.in_flight, fig
    assert fig.violations == []
