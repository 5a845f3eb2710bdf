"""The page's language: `?lang=en|zh` wins, else the browser's Accept-Language, else English."""

from __future__ import annotations

from bot.i18n import DEFAULT, normalise


def accept_language(header: str | None) -> str | None:
    """The supported language the browser prefers most (`zh-CN,zh;q=0.9,en;q=0.8` -> `zh`)."""
    best: tuple[float, str] | None = None
    for i, part in enumerate((header or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        lang = normalise(tag) or normalise(tag.split("-")[0])
        if lang and q > 0 and (best is None or q > best[0]):
            best = (q - i * 1e-6, lang)  # equal weights: the first listed wins
    return best[1] if best else None


def pick(query: str | None, header: str | None) -> str:
    """The language of one request."""
    return normalise(query) or accept_language(header) or DEFAULT
