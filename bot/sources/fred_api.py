"""fredapi bound to our HTTP client. A module of its own because fredapi imports pandas
(about 0.3 s): only a bot with FRED_API_KEY set pays for it, not every CLI command."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
from fredapi import Fred

from bot.sources import SourceError
from bot.sources.http import get


class PoliteFred(Fred):  # type: ignore[misc]  # fredapi has no type hints: Fred is Any
    """fredapi with its requests sent through our HTTP client (bot/sources/http.py): the
    politeness budget and pace, the User-Agent, a time limit on the whole request and a size
    limit (fredapi's own urllib calls have none of these). The key never appears in an error."""

    def __init__(self, api_key: str, root_url: str, client: httpx.Client):
        super().__init__(api_key=api_key)
        self.root_url = root_url.rstrip("/")
        self._client = client

    def _Fred__fetch_data(self, url: str) -> ET.Element:  # overrides the name-mangled private helper
        resp = get(self._client, url + "&api_key=" + self.api_key, None, "FRED API", raise_for_status=False)
        if resp.status_code >= 400:
            try:  # FRED explains errors in XML: <error code="400" message="Bad Request. ..."/>
                msg = ET.fromstring(resp.content).get("message")
            except ET.ParseError:
                msg = None
            raise SourceError(f"HTTP {resp.status_code}" + (f": {msg}" if msg else ""))
        try:
            return ET.fromstring(resp.content)
        except ET.ParseError:
            raise SourceError(f"response is not XML ({resp.content[:60]!r})") from None
