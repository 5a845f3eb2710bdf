"""Overview sections of the judgement features (issue 24: the stress score, /why and the calendar
"when those land"). Each is (catalog, frames, lang) -> HTML, or None to stay hidden, computed once
per data version with the overview. /why shows every decomposition bot/why.py registers, so a new
one (H.4.1 factors) appears here without a change. The stress score and the liquidity calendar get
a function of their own here when their modules land (see README "Web dashboard")."""

from __future__ import annotations

from collections.abc import Callable

from bot.catalog import Catalog
from bot.i18n import tr
from bot.metrics import Frames
from bot.web.pages import e

Section = Callable[[Catalog, Frames, str], "str | None"]
WHY_WEEKS = 4


def why_section(catalog: Catalog, frames: Frames, lang: str) -> str | None:
    """What moved each metric /why can break down, over the last 4 weeks of data."""
    from bot.why import REGISTRY, WhyError, attribute, render

    _ = tr(lang)
    blocks = []
    for metric in REGISTRY:
        try:
            text = render(attribute(metric, catalog, frames, WHY_WEEKS, None, lang), catalog, lang)
        except WhyError:
            continue
        facts, _gap, notes = text.partition("\n\n")   # bot.why.render: the answer, factors; then notes
        head, *rest = [line for line in facts.split("\n") if line]
        items = "".join(f"<li>{e(line.removeprefix('• '))}</li>" for line in rest)
        small = " ".join(line for line in notes.split("\n") if line)
        blocks.append(f'<p class="why-head">{e(head)}</p><ul>{items}</ul><p class="note"><small>{e(small)}</small></p>')
    if not blocks:
        return None
    title = e(_("What moved in the last 4 weeks"))
    return f'<section id="why"><h2>{title}</h2>{"".join(blocks)}</section>'


SECTIONS: tuple[Section, ...] = (why_section,)
