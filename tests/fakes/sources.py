"""Fake FRED (API XML and keyless CSV), NY Fed markets API and Treasury FiscalData."""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from tests.fakes.http import FakeServer, Reply, Request


class FakeFred:
    """Serves `/fred/series`, `/fred/series/observations` (XML, as the real API) and
    `/graph/fredgraph.csv`, from {series_id: [(date, value-or-'.')]} in the source's units."""

    def __init__(self, server: FakeServer, data: dict[str, list[tuple[str, str]]],
                 units: dict[str, str] | None = None, csv_header: str = "observation_date"):
        self.server, self.data, self.units, self.csv_header = server, data, units or {}, csv_header
        server.routes["/fred/series"] = self.series
        server.routes["/fred/series/observations"] = self.observations
        server.routes["/graph/fredgraph.csv"] = self.csv

    def _rows(self, sid: str, start: str | None) -> list[tuple[str, str]]:
        return [(d, v) for d, v in self.data.get(sid, []) if not start or d >= start]

    def series(self, req: Request) -> Reply:
        sid = req.query.get("series_id", "")
        if sid not in self.data:
            return Reply(400, '<?xml version="1.0"?><error code="400" message="Bad Request.  The series does not exist."/>',
                         "text/xml")
        units = self.units.get(sid, "Millions of U.S. Dollars")
        return Reply(200, f'<?xml version="1.0"?><seriess><series id="{sid}" title="t" units={quoteattr(units)}/></seriess>',
                     "text/xml")

    def observations(self, req: Request) -> Reply:
        sid = req.query.get("series_id", "")
        if sid not in self.data:
            return Reply(400, '<?xml version="1.0"?><error code="400" message="Bad Request.  The series does not exist."/>',
                         "text/xml")
        obs = "".join(f'<observation realtime_start="2026-01-01" realtime_end="2026-01-01" date="{d}" value="{v}"/>'
                      for d, v in self._rows(sid, req.query.get("observation_start")))
        return Reply(200, f'<?xml version="1.0"?><observations count="1">{obs}</observations>', "text/xml")

    def csv(self, req: Request) -> Reply:
        sid = req.query.get("id", "")
        if sid not in self.data:
            return Reply(404, "Not Found", "text/plain")
        lines = [f"{self.csv_header},{sid}"] + [f"{d},{v}" for d, v in self._rows(sid, req.query.get("cosd"))]
        return Reply(200, "\n".join(lines) + "\n", "text/csv")


def nyfed_operation(day: str, op_type: str, accepted: float, small: str = "N", op_id: str = "x") -> dict:
    return {"operationId": op_id, "operationDate": day, "operationType": op_type, "operationMethod": "Fixed Rate",
            "term": "Overnight", "releaseTime": "13:15", "totalAmtSubmitted": accepted, "totalAmtAccepted": accepted,
            "isSmallValue": small, "details": [{"securityType": "Treasury", "amtAccepted": accepted}]}


def nyfed_rate(day: str, kind: str, rate: float) -> dict:
    return {"effectiveDate": day, "type": kind, "percentRate": rate, "volumeInBillions": 2000, "revisionIndicator": ""}


def fiscal_row(day: str, label: str, open_bal: str | None, close_bal: str | None) -> dict:
    return {"record_date": day, "account_type": label, "open_today_bal": open_bal if open_bal is not None else "null",
            "close_today_bal": close_bal if close_bal is not None else "null"}
