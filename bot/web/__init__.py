"""The public web dashboard (issue 24): pages and a JSON API on the bot's own aiohttp server.

`app.py` hangs the routes and middlewares on an aiohttp application, `api.py` builds the JSON
from the same code as the CLI (`status --json`, `export`, `backtest`), `pages.py` renders the
HTML, `guard.py` holds the security headers, ETags and the per-IP rate limit, `lang.py` picks
the language. Public data only: the shared rules and their alerts, never a chat's own."""
