"""Rule models (pydantic, strict: unknown fields, wrong types and text-for-numbers are errors)."""

from __future__ import annotations

import functools
import re
from datetime import date, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, StrictBool, StrictInt, StrictStr,
                      field_validator, model_serializer, model_validator)

if TYPE_CHECKING:
    from bot.rules.kinds import ConditionKind

# Strict mode: ints are fine, booleans and strings are not; NaN and infinity are refused (a NaN
# threshold would never fire).
Number = Annotated[float, Field(allow_inf_nan=False)]
Op = Literal["<", "<=", ">", ">="]
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|h|d|w|bd)\s*$")
MAX_DURATION = timedelta(days=3660)   # `for`, `cooldown`, `max_age`: at most ten years
MAX_WINDOW_DAYS = 3660                # look-back windows: at most ten years
MAX_OBSERVATIONS = 2600               # about ten years of business days
TOPICS = ("reserves", "rrp", "tga", "repo", "srf", "balance_sheet", "net_liquidity", "regime", "data",
          "personal",  # personal: a chat's own /alert rules, delivered only to that chat
          "global")    # global: Fed + ECB + BoJ in dollars (rules/global.yaml)


def parse_duration(text: str) -> timedelta:
    """'90m', '12h', '3d', '2w'; 'bd' (business days) counts as 7/5 of a day."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a duration: use e.g. 90m, 12h, 3d, 2w or 5bd")
    n, unit = float(m.group(1)), m.group(2)
    days = {"m": n / 1440, "h": n / 24, "d": n, "w": n * 7, "bd": n * 7 / 5}[unit]
    if days > MAX_DURATION.days:
        raise ValueError(f"{text!r} is longer than the {MAX_DURATION.days // 366} years allowed")
    return timedelta(days=days)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Window(Strict):
    """A look-back: `observations: 5`, or `days: 7` (calendar), or `business_days: 5`."""

    observations: StrictInt | None = Field(None, gt=0, le=MAX_OBSERVATIONS)
    days: StrictInt | None = Field(None, gt=0, le=MAX_WINDOW_DAYS)
    business_days: StrictInt | None = Field(None, gt=0, le=MAX_OBSERVATIONS)

    @model_validator(mode="after")
    def _one(self) -> "Window":
        if sum(x is not None for x in (self.observations, self.days, self.business_days)) != 1:
            raise ValueError("give exactly one of observations, days, business_days")
        return self


class Level(Strict):
    metric: StrictStr
    op: Op
    value: Number


class Crossing(Strict):
    metric: StrictStr
    direction: Literal["above", "below"]
    value: Number


class Change(Strict):
    metric: StrictStr
    window: Window
    op: Op
    value: Number
    percent: StrictBool = False


class Spread(Strict):
    a: StrictStr
    b: StrictStr
    op: Op
    value: Number


class Spike(Strict):
    metric: StrictStr
    multiple: Number = Field(gt=0)
    window: StrictInt = Field(gt=1, le=MAX_OBSERVATIONS)
    floor: Number = 0
    above: Number | None = None


class Band(Strict):
    name: StrictStr
    below: Number | None = None


def _check_bands(bands: list[Band]) -> list[Band]:
    limits = [b.below for b in bands[:-1] if b.below is not None]
    if len(limits) != len(bands) - 1 or bands[-1].below is not None:
        raise ValueError("every band but the last needs `below`; the last has none")
    if limits != sorted(limits) or len(set(limits)) != len(limits):
        raise ValueError("band limits must increase")
    if len({b.name for b in bands}) != len(bands):
        raise ValueError("band names must be unique")
    return bands


class RegimeChoice(Strict):
    """A level regime's fallback measure: its own metric, band edges and hysteresis, used when
    no metric before it has data (reserves / bank assets, else / GDP, else dollars)."""

    metric: StrictStr
    bands: list[Band] = Field(min_length=2)
    hysteresis: Number = Field(0, ge=0)
    basis: StrictStr = Field("", max_length=120)     # what the value is measured against: {basis} in messages
    basis_zh: StrictStr = Field("", max_length=120)

    @field_validator("bands")
    @classmethod
    def _ordered(cls, bands: list[Band]) -> list[Band]:
        return _check_bands(bands)


class Regime(Strict):
    metric: StrictStr
    bands: list[Band] = Field(min_length=2)
    hysteresis: Number = Field(0, ge=0)
    basis: StrictStr = Field("", max_length=120)
    basis_zh: StrictStr = Field("", max_length=120)
    change: Window | None = None
    percent: StrictBool = False
    fallback: list[RegimeChoice] = Field(default_factory=list, max_length=4)

    @field_validator("bands")
    @classmethod
    def _ordered(cls, bands: list[Band]) -> list[Band]:
        return _check_bands(bands)

    @model_serializer(mode="wrap")
    def _without_unused(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """The rule's JSON (and so its definition hash) as before fallbacks existed when it has none."""
        out: dict[str, Any] = handler(self)
        for key in ("fallback", "basis", "basis_zh"):
            if not out.get(key):
                out.pop(key, None)
        return out

    @property
    def choices(self) -> list[RegimeChoice]:
        """The measures in order of preference: the rule's own metric, then its fallbacks."""
        return [RegimeChoice(metric=self.metric, bands=self.bands, hysteresis=self.hysteresis, basis=self.basis,
                             basis_zh=self.basis_zh), *self.fallback]


class Stale(Strict):
    metric: StrictStr
    max_age: StrictStr

    @field_validator("max_age")
    @classmethod
    def _duration(cls, v: str) -> str:
        parse_duration(v)
        return v


class Condition(Strict):
    """Exactly one kind of condition: its YAML key names the kind (`Rule.kind`, bot/rules/kinds)."""

    level: Level | None = None
    crossing: Crossing | None = None
    change: Change | None = None
    spread: Spread | None = None
    spike: Spike | None = None
    regime: Regime | None = None
    stale: Stale | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "Condition":
        if len(self.model_fields_set) != 1:
            raise ValueError("a condition has exactly one of level, crossing, change, spread, spike, regime, stale")
        kind = next(iter(self.model_fields_set))
        if getattr(self, kind) is None:
            raise ValueError(f"`{kind}` is empty: give its fields (README, Rules)")
        return self

    @functools.cached_property
    def kind(self) -> str:
        """Which condition this is (read for every rule on every evaluation: computed once)."""
        return next(iter(self.model_fields_set))

    @functools.cached_property
    def body(self) -> Any:
        """The one condition set (Level, Crossing, Change, Spread, Spike, Regime or Stale)."""
        return getattr(self, self.kind)

    def metrics(self) -> list[str]:
        b = self.body
        if isinstance(b, Regime):
            return [b.metric, *(alt.metric for alt in b.fallback)]
        return [b.a, b.b] if isinstance(b, Spread) else [b.metric]


class Rule(Strict):
    id: Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
    topic: Literal[TOPICS]  # type: ignore[valid-type]
    severity: Literal["info", "warning", "critical"] = "warning"
    title: StrictStr | None = Field(None, max_length=80)   # the alert's heading (default: from the id)
    title_zh: StrictStr | None = Field(None, max_length=80)
    description: StrictStr = ""
    condition: Condition
    for_: StrictInt | StrictStr = Field(1, alias="for")
    clear: Number | None = None
    cooldown: StrictStr | None = None
    notify_resolved: StrictBool = True
    message: StrictStr
    resolved_message: StrictStr | None = None
    why: StrictStr
    # Simplified Chinese versions (chats with /lang zh); absent ones fall back to English.
    message_zh: StrictStr | None = None
    resolved_message_zh: StrictStr | None = None
    why_zh: StrictStr | None = None
    chart: StrictBool = False   # attach a chart of the metric to this rule's alerts
    # The date the rule's meaning starts (the SRF from 2021-07-28): its record counts firings from
    # then; `record_before` names what the metric was before it, for charts ("Fed repo operations").
    record_from: StrictStr | None = None
    record_before: StrictStr | None = Field(None, max_length=60)
    record_before_zh: StrictStr | None = Field(None, max_length=60)

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)

    @field_validator("for_")
    @classmethod
    def _for(cls, v: int | str) -> int | str:
        if isinstance(v, int):
            if not 1 <= v <= MAX_OBSERVATIONS:
                raise ValueError(f"`for` counts observations: 1 to {MAX_OBSERVATIONS}")
        else:
            parse_duration(v)
        return v

    @field_validator("cooldown")
    @classmethod
    def _cooldown(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration(v)
        return v

    @field_validator("record_from")
    @classmethod
    def _record_from(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                date.fromisoformat(v)
            except ValueError:
                raise ValueError(f"{v!r} is not a date: write it as YYYY-MM-DD") from None
        return v

    @model_serializer(mode="wrap")
    def _without_unset_record(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """The rule's JSON (and so its definition hash) as before `record_from` existed when unset."""
        out: dict[str, Any] = handler(self)
        for key in ("record_from", "record_before", "record_before_zh"):
            if out.get(key) is None:
                out.pop(key, None)
        return out

    @property
    def record_start(self) -> date | None:
        """`record_from` as a date (None: the record counts the whole history)."""
        return date.fromisoformat(self.record_from) if self.record_from else None

    def before_record(self, lang: str = "en") -> str | None:
        """What the metric measured before `record_from`, in a language."""
        return (self.record_before_zh if lang == "zh" and self.record_before_zh else None) or self.record_before

    @model_validator(mode="after")
    def _clear_fits(self) -> "Rule":
        if self.clear is not None and not self.kind.clearable:
            raise ValueError("`clear` applies to level, change and spread conditions only")
        return self

    @functools.cached_property
    def kind(self) -> ConditionKind:
        """The condition's kind object (bot/rules/kinds): its evaluation, thresholds and texts.
        Made once per rule; not a field, so the rule's JSON and definition hash are unchanged."""
        from bot.rules.kinds import KINDS  # the kinds import this module: looked up on first use

        return KINDS[self.condition.kind](self.condition.body, self.clear)

    def heading(self, lang: str = "en") -> str:
        """The alert's title in a language: `title` / `title_zh`, else the id made readable."""
        if lang == "zh" and self.title_zh:
            return self.title_zh
        return self.title or self.id.replace("_", " ").capitalize()

    def text(self, field: str, lang: str = "en") -> str | None:
        """`message`, `resolved_message` or `why` in a language, falling back to English."""
        zh = getattr(self, f"{field}_zh", None) if lang == "zh" else None
        text: str | None = zh or getattr(self, field)
        return text

    @property
    def for_observations(self) -> int | None:
        return self.for_ if isinstance(self.for_, int) else None

    @property
    def for_duration(self) -> timedelta | None:
        return parse_duration(self.for_) if isinstance(self.for_, str) else None

    @property
    def cooldown_td(self) -> timedelta:
        return parse_duration(self.cooldown) if self.cooldown else timedelta(0)

    @property
    def threshold(self) -> float | None:
        return getattr(self.condition.body, "value", None)

