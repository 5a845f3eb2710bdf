"""Fake FRED (API XML and keyless CSV), NY Fed markets API and Treasury FiscalData."""

from __future__ import annotations

import json
from pathlib import Path
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
        # Current keyless downloads leave a missing value's cell empty (older ones wrote ".")
        # and are served as application/csv.
        rows = self._rows(sid, req.query.get("cosd"))
        lines = [f"{self.csv_header},{sid}"] + [f"{d},{'' if v == '.' else v}" for d, v in rows]
        return Reply(200, "\n".join(lines) + "\n", "application/csv")


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sources"


def nyfed_operation(day: str, op_type: str, accepted: float, op_id: str | None = None, term: str = "Overnight",
                    note: str = "", release: str = "13:15") -> dict:
    """One operation in the real results shape (see tests/fixtures/sources/README.md); its id is
    spelled as the real ones ("RP 103125 2": type, MMDDYY, the day's sequence number)."""
    if op_id is None:
        op_id = f"RP {day[5:7]}{day[8:10]}{day[2:4]} {2 if op_type == 'Reverse Repo' else 1}"
    return {"operationId": op_id, "auctionStatus": "Results", "operationDate": day, "settlementDate": day,
            "maturityDate": day, "operationType": op_type, "operationMethod": "Fixed Rate",
            "settlementType": "Same Day", "termCalenderDays": 1 if term == "Overnight" else 7, "term": term,
            "releaseTime": release, "closeTime": release, "note": note, "lastUpdated": f"{day} {release}:02",
            "participatingCpty": 10, "acceptedCpty": 10, "totalAmtSubmitted": accepted, "totalAmtAccepted": accepted,
            "details": [{"securityType": "Treasury", "amtSubmitted": accepted, "amtAccepted": accepted,
                         "percentOfferingRate": 4.25, "percentAwardRate": 4.25}]}


class FakeNyFed:
    """The NY Fed markets API's search endpoints, honouring their filters as the real API does:
    `/api/rp/results/search.json?startDate&endDate&operationTypes` (operations newest first) and
    `/api/rates/{secured|unsecured}/{rate}/search.json?startDate&endDate&type=rate`."""

    def __init__(self, server: FakeServer, operations: list[dict] | None = None,
                 rates: dict[str, list[dict]] | None = None):
        self.server, self.operations, self.rates = server, list(operations or []), rates or {}
        server.routes["/api/rp/results/search.json"] = self.rp
        for path in ("secured/sofr", "secured/tgcr", "unsecured/effr"):
            server.routes[f"/api/rates/{path}/search.json"] = lambda req, p=path: self.rate(req, p.split("/")[1])

    @staticmethod
    def _in(day: str, req: Request) -> bool:
        return req.query.get("startDate", "") <= day <= req.query.get("endDate", "9999")

    def rp(self, req: Request) -> Reply:
        kinds = {k.strip().lower() for k in req.query.get("operationTypes", "").split(",") if k.strip()}
        ops = [o for o in self.operations if self._in(o["operationDate"], req)
               and (not kinds or o["operationType"].lower() in kinds)]
        ops.sort(key=lambda o: (o["operationDate"], o["releaseTime"]), reverse=True)
        return Reply(200, {"repo": {"operations": ops}})

    def rate(self, req: Request, kind: str) -> Reply:
        refs = [r for r in self.rates.get(kind, []) if self._in(r["effectiveDate"], req)]
        return Reply(200, {"refRates": sorted(refs, key=lambda r: r["effectiveDate"], reverse=True)})


def nyfed_fixture(name: str) -> list[dict]:
    """Operations from a fixture file in tests/fixtures/sources."""
    return json.loads((FIXTURES / name).read_text())["repo"]["operations"]


def nyfed_rate(day: str, kind: str, rate: float) -> dict:
    return {"effectiveDate": day, "type": kind, "percentRate": rate, "volumeInBillions": 2000, "revisionIndicator": ""}


def fiscal_row(day: str, label: str, open_bal: str | None, close_bal: str | None) -> dict:
    return {"record_date": day, "account_type": label, "open_today_bal": open_bal if open_bal is not None else "null",
            "close_today_bal": close_bal if close_bal is not None else "null"}


class FakeFiscalData:
    """FiscalData's `/v1/accounting/dts/operating_cash_balance`, as documented by the Fiscal Data API:
    `filter=record_date:gte:YYYY-MM-DD`, `sort=record_date` or `-record_date`, `page[size]`,
    `page[number]`, `fields`; answers `{"data": [...], "meta": {"count", "labels", "dataTypes",
    "total-count", "total-pages"}, "links": {"self", "first", "prev", "next", "last"}}` with every
    value a string ("null" when empty)."""

    PATH = "/v1/accounting/dts/operating_cash_balance"

    def __init__(self, server: FakeServer, rows: list[dict]):
        self.rows = rows
        server.routes[self.PATH] = self.handle

    def handle(self, req: Request) -> Reply:
        rows = list(self.rows)
        for clause in filter(None, req.query.get("filter", "").split(",")):
            field, op, value = clause.split(":", 2)
            if op == "gte":
                rows = [r for r in rows if r[field] >= value]
            elif op == "lte":
                rows = [r for r in rows if r[field] <= value]
            elif op == "eq":
                rows = [r for r in rows if r[field] == value]
        sort = req.query.get("sort", "record_date")
        rows.sort(key=lambda r: r[sort.lstrip("-")], reverse=sort.startswith("-"))
        size, number = int(req.query.get("page[size]", "100")), int(req.query.get("page[number]", "1"))
        pages = max(1, -(-len(rows) // size))
        fields = req.query.get("fields")
        page = rows[(number - 1) * size:number * size]
        if fields:
            keep = fields.split(",")
            page = [{k: r[k] for k in keep} for r in page]
        links = {"self": f"&page%5Bnumber%5D={number}&page%5Bsize%5D={size}", "first": "&page%5Bnumber%5D=1",
                 "prev": None if number == 1 else f"&page%5Bnumber%5D={number - 1}",
                 "next": None if number >= pages else f"&page%5Bnumber%5D={number + 1}",
                 "last": f"&page%5Bnumber%5D={pages}"}
        meta = {"count": len(page), "labels": {}, "dataTypes": {}, "dataFormats": {},
                "total-count": len(rows), "total-pages": pages}
        return Reply(200, {"data": page, "meta": meta, "links": links})
