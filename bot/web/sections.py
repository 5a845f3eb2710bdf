"""Overview sections of the judgement features (issue 24: the stress score, /why and the calendar).
Each is (catalog, frames, lang, store, today) -> HTML, or None to stay hidden, computed once per data
version and day with the overview. /why shows every decomposition bot/why.py registers, so a new one
appears here without a change; the score shows every component of bot/stress.yaml; the calendar the
next 14 days with the stored auction settlements."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from bot.catalog import Catalog
from bot.i18n import tr
from bot.metrics import Frames
from bot.web.pages import e

Section = Callable[[Catalog, Frames, str, object, date], "str | None"]
WHY_WEEKS = 4
CALENDAR_DAYS = 14


def stress_section(catalog: Catalog, frames: Frames, lang: str, store: object, today: date) -> str | None:
    """The stress score's components, each 0-100 with its weight, and what was left out (the verdict
    line above already gives the light, the score and the top drivers)."""
    from bot.stress import default_model, latest
    from bot.stress_text import COMPONENT_WORD, confidence_text

    score = latest(catalog, frames, today)
    if score is None:
        return None
    _ = tr(lang)
    model = default_model()
    rows = []
    for name, c in model.components.items():
        value = score.components.get(name)
        shown = str(value) if value is not None else "—"
        rows.append(f"<tr><td>{e(_(COMPONENT_WORD.get(name, name)))}</td><td>{e(f'{c.weight:g}')}</td>"
                    f"<td>{e(shown)}</td></tr>")
    head = f"<tr><th>{e(_('Component'))}</th><th>{e(_('Weight'))}</th><th>{e(_('Score (0-100)'))}</th></tr>"
    conf = confidence_text(score, lang)
    note = f'<p class="note"><small>{e(conf)}</small></p>' if conf else ""
    title = e(_("Liquidity stress score"))
    return (f'<section id="stress"><h2>{title} {e(str(score.score))}</h2>'
            f'<table class="components">{head}{"".join(rows)}</table>{note}</section>')


def calendar_section(catalog: Catalog, frames: Frames, lang: str, store: object, today: date) -> str | None:
    """The next 14 days of known liquidity events (bot/liquidity_calendar.py), as /calendar lists them."""
    from datetime import timedelta

    from bot.liquidity_calendar import as_dict, events, weekday
    from bot.store.auctions import stored_auctions

    _ = tr(lang)
    evs = events(today, CALENDAR_DAYS, stored_auctions(store, today, today + timedelta(days=CALENDAR_DAYS)))
    if not evs:
        return None
    items = []
    for ev in evs:
        d = as_dict(ev, lang)
        items.append(f'<li><b>{e(d["date"])} {e(weekday(ev.day, lang))}</b> {e(d["event"])}'
                     f'<br><small>{e(d["typical effect"])}</small></li>')
    title = e(_("Liquidity calendar, next 14 days"))
    return f'<section id="calendar"><h2>{title}</h2><ul>{"".join(items)}</ul></section>'


def why_section(catalog: Catalog, frames: Frames, lang: str, store: object, today: date) -> str | None:
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


SECTIONS: tuple[Section, ...] = (stress_section, why_section, calendar_section)
