"""Units: conversion at the source edge and human formatting ("$2.93T", "5.33%", "+12 bp")."""

from __future__ import annotations

import math

# Factor that turns a source unit into the catalog's storage unit (dollars or percent).
TO_BASE: dict[str, tuple[str, float]] = {
    "usd": ("usd", 1.0),
    "thousands_usd": ("usd", 1e3),
    "millions_usd": ("usd", 1e6),
    "billions_usd": ("usd", 1e9),
    "trillions_usd": ("usd", 1e12),
    "percent": ("percent", 1.0),
    "bp": ("bp", 1.0),
    # Foreign central banks' balance sheets stay in their own currency until a metric converts
    # them at the same date's exchange rate (bot/global_liquidity.py): FRED publishes ECBASSETSW in
    # millions of euros and JPNASSETS in 100 millions of yen.
    "millions_eur": ("eur", 1e6),
    "hundred_millions_jpy": ("jpy", 1e8),
    # FRED's H.10 rates, each quoted its own way round: DEXUSEU dollars per euro, DEXJPUS yen per dollar.
    "usd_per_eur": ("usd_per_eur", 1.0),
    "jpy_per_usd": ("jpy_per_usd", 1.0),
}
# FRED's own `units` text for the foreign series (checked with an API key, like every series).
_FRED_FOREIGN = (("u.s. dollars to one euro", "usd_per_eur"), ("japanese yen to one u.s. dollar", "jpy_per_usd"),
                 ("millions of euros", "millions_eur"), ("100 million yen", "hundred_millions_jpy"),
                 ("100 millions of yen", "hundred_millions_jpy"))


class UnitError(ValueError):
    """A source published a unit that does not match the catalog."""


def to_base(unit: str) -> tuple[str, float]:
    """Return (base unit, factor) for a source unit, or raise UnitError."""
    try:
        return TO_BASE[unit]
    except KeyError:
        raise UnitError(f"unknown unit {unit!r}; known: {', '.join(sorted(TO_BASE))}") from None


def fred_units_to_catalog(units: str) -> str | None:
    """Map FRED's `units` text (e.g. 'Millions of U.S. Dollars') to a catalog unit name."""
    u = units.lower()
    for text, name in _FRED_FOREIGN:
        if text in u:
            return name
    if "euro" in u or "yen" in u:
        return None  # a foreign currency in a scale we do not know: never read as dollars
    if "percent" in u:
        return "percent"
    for word, name in (("trillion", "trillions_usd"), ("billion", "billions_usd"),
                       ("million", "millions_usd"), ("thousand", "thousands_usd")):
        if word in u:
            return name
    if "dollar" in u:
        return "usd"
    return None


def fmt_usd(x: float, signed: bool = False) -> str:
    """Dollars with a T/B/M suffix: 2.960598e12 -> '$2.961T', 4.12e11 -> '$412.0B'; signed adds '+'."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    sign = "-" if x < 0 else ("+" if signed else "")
    a = abs(x)
    for div, suf in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if a >= div:
            digits = 3 if div == 1e12 else 1  # $2.997T must not print as $3.00T next to a $3T line
            return f"{sign}${a / div:,.{digits}f}{suf}"
    return f"{sign}${a:,.0f}"


def fmt_pct(x: float, signed: bool = False) -> str:
    """Percent with two decimals: 5.33 -> '5.33%'."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:+.2f}%" if signed else f"{x:.2f}%"


def fmt_bp(x: float, signed: bool = True) -> str:
    """Basis points: 12.0 -> '+12 bp'."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:+.0f} bp" if signed else f"{x:.0f} bp"


def fmt_foreign(x: float, symbol: str, signed: bool = False) -> str:
    """A foreign-currency amount the way fmt_usd writes dollars: 6.92e12 euros -> '€6.920T'."""
    return fmt_usd(x, signed).replace("$", symbol)


def fmt_value(x: float, unit: str, signed: bool = False) -> str:
    """Format a value in its metric unit ('usd', 'percent', 'bp', 'eur', 'jpy' or an FX rate)."""
    if unit in ("eur", "jpy"):
        return fmt_foreign(x, "€" if unit == "eur" else "¥", signed)
    if unit in ("usd_per_eur", "jpy_per_usd"):
        return f"{x:+.4f}" if signed else f"{x:.4f}"
    if unit == "usd":
        return fmt_usd(x, signed)
    if unit == "percent":
        return fmt_pct(x, signed)
    if unit == "bp":
        return fmt_bp(x, True if signed else False)
    return f"{x:g}"


def fmt_change(x: float, unit: str) -> str:
    """A change in a metric's unit; percent-unit changes are shown in basis points."""
    if unit == "percent":
        return fmt_bp(x * 100 if x == x else x)
    return fmt_value(x, unit, signed=True)
