"""Settings from the environment (and a `.env` file). Every variable is in .env.example.

Validated once at start (pydantic-settings): a bad value stops the bot with one line naming the
variable (`POLL_SECONDS=-1: must be greater than 0`), never a traceback later. Secrets are
`SecretStr`: they print as `**********` and are read with `Settings.secret(name)`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from dotenv import load_dotenv
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.sources.fiscaldata import DEFAULT_URL as FISCALDATA_DEFAULT
from bot.sources.fred import DEFAULT_API_URL as FRED_API_DEFAULT
from bot.sources.fred import DEFAULT_CSV_URL as FRED_CSV_DEFAULT
from bot.sources.nyfed import DEFAULT_URL as NYFED_DEFAULT

SECRET_FIELDS = ("fred_api_key", "telegram_bot_token", "telegram_webhook_secret", "slack_bot_token",
                 "slack_app_token", "slack_signing_secret")  # database_url: only its password (see secrets())
REPO_RULES = Path(__file__).resolve().parent.parent / "rules"
Port = int


class ConfigError(ValueError):
    """A setting has a value the bot cannot use."""


def _default_rules_dir() -> str:
    return "rules" if Path("rules").is_dir() else str(REPO_RULES)


class Settings(BaseSettings):
    """Every setting of the bot; field name = lower-case environment variable."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid", validate_default=True)

    database_path: str = "liquidity.db"
    rules_dir: str = Field(default_factory=_default_rules_dir)
    fred_api_key: SecretStr | None = None
    fred_api_url: str = FRED_API_DEFAULT
    fred_csv_url: str = FRED_CSV_DEFAULT
    nyfed_api_url: str = NYFED_DEFAULT
    fiscaldata_api_url: str = FISCALDATA_DEFAULT
    http_timeout: float = Field(20.0, gt=0, le=600, allow_inf_nan=False)
    poll_seconds: float | None = Field(None, gt=0, le=86400, allow_inf_nan=False)
    health_port: Port = Field(8080, ge=0, le=65535)
    health_host: str = "127.0.0.1"
    # --- web dashboard (bot/web): unset WEB_PORT (or = HEALTH_PORT) shares the health listener ---
    web_host: str | None = None
    web_port: Port | None = Field(None, ge=0, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    telegram_webhook_port: Port = Field(8443, ge=0, le=65535)
    telegram_max_per_second: float = Field(30.0, gt=0, le=1000, allow_inf_nan=False)
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_feed_channel: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_port: Port = Field(3000, ge=0, le=65535)
    slack_admin_only: bool = False  # channel settings: only ADMIN_IDS and workspace admins
    admin_ids: frozenset[str] = frozenset()
    retention_days: int = Field(90, ge=1, le=36500)
    release_poll_seconds: str = ""  # "5" or "nyfed=5,fred=10": poll interval inside release windows
    web_public_url: str | None = None  # https://host: the page and the Telegram Mini App (/dashboard)
    database_url: SecretStr | None = None  # postgresql://user:password@host:port/db; wins over database_path

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings() reads the environment itself (so tests can pass a dict): init only.
        return (init_settings,)

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _case(cls, v: Any) -> Any:
        return v.upper() if isinstance(v, str) and v.lower() in ("debug", "info", "warning", "error", "critical") \
            else (v.lower() if isinstance(v, str) else v)

    @field_validator("telegram_api_url", mode="before")
    @classmethod
    def _no_trailing_slash(cls, v: Any) -> Any:
        return v.rstrip("/") if isinstance(v, str) else v

    @field_validator("web_public_url")
    @classmethod
    def _https(cls, v: str | None) -> str | None:
        if v is not None and not (v.startswith("https://") and len(v) > len("https://")):
            raise ValueError("must be an https:// address (Telegram opens Mini Apps only over https)")
        return v.rstrip("/") if v else v

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _ids(cls, v: Any) -> Any:
        return frozenset(x.strip() for x in v.split(",") if x.strip()) if isinstance(v, str) else v

    @field_validator("release_poll_seconds")
    @classmethod
    def _release_every(cls, v: str) -> str:
        from bot.schedule import parse_every  # a typo must not surface at 8 am

        try:
            parse_every(v)
        except ValueError as exc:
            raise ValueError(str(exc).split(": ", 1)[-1] if "RELEASE_POLL_SECONDS" in str(exc)
                             else "use seconds, e.g. 5 or nyfed=5,fred=10") from None
        return v

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.telegram_webhook_url and not self.telegram_webhook_secret:
            raise ValueError("TELEGRAM_WEBHOOK_URL needs TELEGRAM_WEBHOOK_SECRET: updates without it would be unverified")
        return self

    @model_validator(mode="after")
    def _web_listener(self) -> Settings:
        shared = self.web_port is None or self.web_port == self.health_port
        if shared and self.web_host not in (None, self.health_host):
            raise ValueError("WEB_HOST differs from HEALTH_HOST: set WEB_PORT to another port than HEALTH_PORT")
        return self

    def web_listener(self) -> tuple[str, int] | None:
        """(host, port) of a separate dashboard listener; None when the page shares the health
        server (WEB_PORT unset or equal to HEALTH_PORT) or is off (WEB_PORT=0)."""
        if self.web_port is None or self.web_port == self.health_port or self.web_port == 0:
            return None
        return (self.web_host or "127.0.0.1", self.web_port)

    def secret(self, name: str) -> str | None:
        """The plain value of a secret setting (None when unset)."""
        v = getattr(self, name)
        return v.get_secret_value() if v else None

    def secrets(self) -> list[str]:
        """Secret values set, for log and error-text redaction (of DATABASE_URL only the
        password: the host stays readable in logs)."""
        out = [s for s in (self.secret(n) for n in SECRET_FIELDS) if s]
        if self.database_url:
            from urllib.parse import urlsplit

            password = urlsplit(self.secret("database_url") or "").password
            out += [password] if password else []
        return out

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed, validated again (ConfigError names the variable)."""
        try:
            return Settings(**{**{k: getattr(self, k) for k in type(self).model_fields}, **changes})
        except ValidationError as exc:
            raise ConfigError(_first_error(exc, {k.upper(): str(v) for k, v in changes.items()})) from None


def _first_error(exc: ValidationError, env: dict[str, str]) -> str:
    err = exc.errors()[0]
    name = str(err["loc"][0]).upper() if err["loc"] else ""
    msg = err["msg"].removeprefix("Value error, ")
    if not name:
        return msg
    return f"{name}={env.get(name, '')!r}: {msg}"


def load_settings(env: dict[str, str] | None = None, dotenv: bool = True) -> Settings:
    """Build Settings from `env` (default: os.environ after loading ./.env, which never overrides).

    Raises ConfigError naming the first variable with an unusable value.
    """
    if env is None:
        if dotenv:
            load_dotenv(Path.cwd() / ".env", override=False)
        env = dict(os.environ)
    values: dict[str, Any] = {name: env[name.upper()] for name in Settings.model_fields
              if env.get(name.upper()) not in (None, "")}
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise ConfigError(_first_error(exc, env)) from None
