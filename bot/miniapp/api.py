"""What the Mini App reads and changes for one chat, through the chat commands' own services
(`CommandService.dispatch`: the same checks, limits and replies as `/alert`, `/mute`, `/quiet`,
`/digest`, `/lang`), so an edit made here is what that chat then sees in `/alerts` and `/list`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.commands import CommandService, Ctx
from bot.format import metric_label
from bot.i18n import LANGUAGES
from bot.miniapp.initdata import WebAppIdentity
from bot.miniapp.strings import ui_strings
from bot.personal import OPS, title

PLATFORM = "telegram"
MUTE_FOR = ("12h", "7d", "resolved")


class BadRequest(ValueError):
    """A request body the API cannot use (400); nothing was changed."""


@dataclass(frozen=True)
class Change:
    """One edit: the command it runs and its words."""

    command: str
    args: list[str]


def ctx_for(svc: CommandService, who: WebAppIdentity) -> Ctx:
    """The Ctx of the user's private chat with the bot (never any other chat: see initdata.py)."""
    lang = svc.language(PLATFORM, who.chat_id, who.language_code)
    return Ctx(PLATFORM, who.chat_id, "private", who.username, who.user_id, lang, "/")


def _text(body: dict[str, Any], key: str, required: bool = True) -> str:
    value = body.get(key, "")
    if not isinstance(value, (str, int)) or isinstance(value, bool) or (required and str(value).strip() == ""):
        raise BadRequest(f"{key}: expected text")
    return str(value).strip()[:64]


def change_for(action: str, body: dict[str, Any]) -> Change:
    """The command an API action runs; BadRequest for an unknown action or a malformed body."""
    if action == "alert_add":
        metric, op, value = _text(body, "metric"), _text(body, "op"), _text(body, "value")
        if metric.lower() == "delete":
            raise BadRequest("metric: not a metric")
        prints = _text(body, "for", required=False) or "1"
        return Change("alert", [metric, op, value] + (["for", prints] if prints != "1" else []))
    if action == "alert_delete":
        return Change("alert", ["delete", _text(body, "number")])
    if action == "mute":
        return Change("mute", [_text(body, "target"), _text(body, "how")])
    if action == "unmute":
        return Change("unmute", [_text(body, "target")])
    if action in ("quiet", "digest"):
        return Change(action, _text(body, "spec").split())
    if action == "lang":
        return Change("lang", [_text(body, "lang")])
    raise BadRequest("unknown action")


async def apply(svc: CommandService, who: WebAppIdentity, change: Change) -> str:
    """Run the change as the chat's own command; its reply text."""
    replies = await svc.dispatch(ctx_for(svc, who), change.command, change.args)
    return "\n".join(r.text for r in replies if r.text)


def state(svc: CommandService, who: WebAppIdentity) -> dict[str, Any]:
    """Everything the page shows for the user's chat: its alerts, mutes, settings and the page's words."""
    ctx = ctx_for(svc, who)
    store, catalog = svc.store, svc.catalog
    mine = svc.alerts.personal(PLATFORM, ctx.chat_id)
    firing = {rid for rid, a in store.load_alerts().items() if a.state.value == "firing"}
    alerts = [{"number": p.shown, "title": title(p, catalog, ctx.lang), "for": p.for_n,
               "firing": f"personal_{p.id}" in firing} for p in mine]
    numbers = {f"personal_{p.id}": f"#{p.shown}" for p in mine}   # the chat's numbers, never the global ids
    mutes = [{"target": numbers.get(target, target if not target.startswith("personal_") else None),
              "title": svc.mutes.target_title(target, PLATFORM, ctx.chat_id, ctx.lang),
              "until": until, "until_resolved": bool(resolved)}
             for _p, _c, target, until, resolved in store.mutes(svc.core.stamp(), PLATFORM, ctx.chat_id)]
    _lang, quiet, digest = store.chat_settings(PLATFORM, ctx.chat_id)
    return {"lang": ctx.lang, "alerts": alerts, "mutes": mutes, "quiet": quiet, "digest": digest,
            "topics": [*svc.topics(), "personal"], "mute_for": list(MUTE_FOR),
            "metrics": [{"id": m, "label": metric_label(catalog, m, ctx.lang)} for m in catalog.metrics],
            "ops": list(OPS), "languages": LANGUAGES, "text": ui_strings(ctx.lang)}
