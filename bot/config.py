"""Settings from the environment (and a `.env` file). Every variable is in .env.example."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from dotenv import load_dotenv

from bot.sources.fiscaldata import DEFAULT_URL as FISCALDATA_DEFAULT
from bot.sources.fred import DEFAULT_API_URL as FRED_API_DEFAULT
from bot.sources.fred import DEFAULT_CSV_URL as FRED_CSV_DEFAULT
from bot.sources.nyfed import DEFAULT_URL as NYFED_DEFAULT

SECRET_FIELDS = {"database_url", "fred_api_key", "telegram_bot_token", "telegram_webhook_secret", "slack_bot_token",
                 "slack_app_token", "slack_signing_secret"}
REPO_RULES = Path(__file__).resolve().parent.parent / "rules"


class ConfigError(ValueError):
    """A setting has a value the bot cannot use."""


def _default_rules_dir() -> str:
    return "rules" if Path("rules").is_dir() else str(REPO_RULES)


@dataclass(frozen=True)
class Settings:
    database_path: str = "liquidity.db"
    rules_dir: str = field(default_factory=_default_rules_dir)
    fred_api_key: str | None = None
    fred_api_url: str = FRED_API_DEFAULT
    fred_csv_url: str = FRED_CSV_DEFAULT
    nyfed_api_url: str = NYFED_DEFAULT
    fiscaldata_api_url: str = FISCALDATA_DEFAULT
    http_timeout: float = 20.0
    poll_seconds: float | None = None
    health_port: int = 8080
    log_level: str = "INFO"
    log_format: str = "text"
    telegram_bot_token: str | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_webhook_port: int = 8443
    telegram_max_per_second: float = 30.0
    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_feed_channel: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_port: int = 3000
    admin_ids: frozenset[str] = frozenset()
    # --- pg ---
    database_url: str | None = None  # postgresql://user:password@host:port/db; wins over database_path

    def __repr__(self) -> str:  # tokens never reach a log line through repr()
        parts = []
        for f in fields(self):
            v = getattr(self, f.name)
            parts.append(f"{f.name}={'***' if f.name in SECRET_FIELDS and v else v!r}")
        return f"Settings({', '.join(parts)})"

    __str__ = __repr__

    def secrets(self) -> list[str]:
        """Secret values set, for log redaction."""
        out = [getattr(self, n) for n in SECRET_FIELDS if getattr(self, n) and n != "database_url"]
        # --- pg --- only the URL's password is secret (the host stays readable in logs)
        if self.database_url:
            from urllib.parse import urlsplit

            password = urlsplit(self.database_url).password
            out += [password] if password else []
        return out


def _num(env: dict, key: str, kind: type, default):
    raw = env.get(key)
    if raw in (None, ""):
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{key}={raw!r} is not a valid {kind.__name__}") from None


def load_settings(env: dict[str, str] | None = None, dotenv: bool = True) -> Settings:
    """Build Settings from `env` (default: os.environ after loading ./.env, which never overrides)."""
    if env is None:
        if dotenv:
            load_dotenv(Path.cwd() / ".env", override=False)
        env = dict(os.environ)
    d = Settings()
    s = lambda k, dflt=None: (env.get(k) or dflt)  # noqa: E731 - tiny local helper
    log_format = s("LOG_FORMAT", d.log_format).lower()
    if log_format not in ("text", "json"):
        raise ConfigError(f"LOG_FORMAT={log_format!r}: use text or json")
    if env.get("TELEGRAM_WEBHOOK_URL") and not env.get("TELEGRAM_WEBHOOK_SECRET"):
        raise ConfigError("TELEGRAM_WEBHOOK_URL needs TELEGRAM_WEBHOOK_SECRET: updates without it would be unverified")
    return Settings(
        database_path=s("DATABASE_PATH", d.database_path),
        rules_dir=s("RULES_DIR", d.rules_dir),
        fred_api_key=s("FRED_API_KEY"),
        fred_api_url=s("FRED_API_URL", d.fred_api_url),
        fred_csv_url=s("FRED_CSV_URL", d.fred_csv_url),
        nyfed_api_url=s("NYFED_API_URL", d.nyfed_api_url),
        fiscaldata_api_url=s("FISCALDATA_API_URL", d.fiscaldata_api_url),
        http_timeout=_num(env, "HTTP_TIMEOUT", float, d.http_timeout),
        poll_seconds=_num(env, "POLL_SECONDS", float, None),
        health_port=_num(env, "HEALTH_PORT", int, d.health_port),
        log_level=s("LOG_LEVEL", d.log_level).upper(),
        log_format=log_format,
        telegram_bot_token=s("TELEGRAM_BOT_TOKEN"),
        telegram_api_url=s("TELEGRAM_API_URL", d.telegram_api_url).rstrip("/"),
        telegram_webhook_url=s("TELEGRAM_WEBHOOK_URL"),
        telegram_webhook_secret=s("TELEGRAM_WEBHOOK_SECRET"),
        telegram_webhook_port=_num(env, "TELEGRAM_WEBHOOK_PORT", int, d.telegram_webhook_port),
        telegram_max_per_second=_num(env, "TELEGRAM_MAX_PER_SECOND", float, d.telegram_max_per_second),
        slack_bot_token=s("SLACK_BOT_TOKEN"),
        slack_app_token=s("SLACK_APP_TOKEN"),
        slack_signing_secret=s("SLACK_SIGNING_SECRET"),
        slack_feed_channel=s("SLACK_FEED_CHANNEL"),
        slack_api_url=s("SLACK_API_URL", d.slack_api_url),
        slack_port=_num(env, "SLACK_PORT", int, d.slack_port),
        admin_ids=frozenset(x.strip() for x in s("ADMIN_IDS", "").split(",") if x.strip()),
        # --- pg ---
        database_url=s("DATABASE_URL"),
    )
