"""Fake FiscalData `/v1/accounting/od/upcoming_auctions`: the same query language and answer shape as
the DTS fake (`{"data", "meta", "links"}`, every value a string, "null" when empty)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes.sources import FakeFiscalData

FIXTURE = Path(__file__).parent.parent / "fixtures" / "sources" / "fiscaldata_upcoming_auctions.json"


class FakeUpcomingAuctions(FakeFiscalData):
    PATH = "/v1/accounting/od/upcoming_auctions"


def fixture_rows() -> list[dict]:
    """The rows of tests/fixtures/sources/fiscaldata_upcoming_auctions.json (sources in its README)."""
    rows: list[dict] = json.loads(FIXTURE.read_text())["data"]
    return rows
