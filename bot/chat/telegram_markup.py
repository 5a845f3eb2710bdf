"""Telegram inline keyboards for command replies (the alert buttons are in telegram.py)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from bot.commands import Link


def link_markup(link: Link | None) -> InlineKeyboardMarkup | None:
    """A reply's link as one button: a Mini App (web_app, allowed only in private chats) or a URL."""
    if link is None:
        return None
    button = InlineKeyboardButton(link.label, web_app=WebAppInfo(link.url)) if link.mini_app else \
        InlineKeyboardButton(link.label, url=link.url)
    return InlineKeyboardMarkup([[button]])
