"""Settings are validated at start: a bad value exits 1 with the variable named, never a traceback."""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.config import ConfigError, load_settings


@pytest.mark.parametrize("name,value,message", [
    ("POLL_SECONDS", "-1", "greater than 0"), ("POLL_SECONDS", "0", "greater than 0"),
    ("POLL_SECONDS", "nan", "finite"), ("POLL_SECONDS", "inf", "finite"),
    ("HEALTH_PORT", "99999", "less than or equal to 65535"), ("HEALTH_PORT", "eighty", "valid integer"),
    ("TELEGRAM_MAX_PER_SECOND", "0", "greater than 0"), ("TELEGRAM_MAX_PER_SECOND", "inf", "finite"),
    ("TELEGRAM_MAX_PER_SECOND", "nan", "finite"), ("LOG_LEVEL", "LOUD", "DEBUG"), ("LOG_FORMAT", "yaml", "text"),
    ("HTTP_TIMEOUT", "-5", "greater than 0"), ("RETENTION_DAYS", "0", "greater than or equal to 1"),
    ("RELEASE_POLL_SECONDS", "often", "seconds"),
])
def test_a_bad_value_names_its_variable(name, value, message):
    with pytest.raises(ConfigError) as exc:
        load_settings({name: value})
    assert str(exc.value).startswith(f"{name}={value!r}: ") and message in str(exc.value)


def test_the_cli_exits_1_with_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POLL_SECONDS", "-1")
    assert main(["status"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("configuration error: POLL_SECONDS='-1'") and "Traceback" not in err
    monkeypatch.delenv("POLL_SECONDS")
    assert main(["run", "--poll-seconds", "nan"]) == 1
    assert "POLL_SECONDS" in capsys.readouterr().err


def test_a_missing_data_folder_is_one_clear_line(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "x.db"))
    assert main(["fetch", "--data", str(tmp_path / "nope")]) == 1
    assert "not a directory" in capsys.readouterr().err


def test_secrets_never_print():
    s = load_settings({"TELEGRAM_BOT_TOKEN": "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef", "FRED_API_KEY": "k" * 32})
    assert "ABCDEFGHIJ" not in repr(s) and "k" * 32 not in str(s)
    assert s.secret("fred_api_key") == "k" * 32 and sorted(s.secrets())[0].startswith("123456:")
