"""The Telegram Mini App: its page (static/), its API (routes.py) and who may use it (initdata.py).

`install(app, deps)` hangs the page and the API on any aiohttp Application. Identity comes only
from Telegram's signed `initData`; the Mini App edits the user's private chat with the bot.
"""
