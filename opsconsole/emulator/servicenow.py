"""A local ServiceNow: the subset of the Table API the console's preset uses, over real HTTP.

`POST /api/now/table/incident` creates an incident (number INC001000x, sys_id), `GET
/api/now/table/incident?sysparm_query=a=b^c=d` finds by equality (`active=true` means not
resolved or closed), `PATCH /api/now/table/incident/<sys_id>` updates; `work_notes` append
to the journal, `state=6` resolves. The journal reads as ServiceNow's `sys_journal_field`
table: `GET /api/now/table/sys_journal_field?sysparm_query=element_id=<sys_id>^element=
work_notes^valueLIKE<text>`. Basic auth with the user and password given to `start`.
`GET /` shows every incident and its work notes, for a person watching the demo.
"""

from __future__ import annotations

import base64
import html
import logging
import threading
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ._http import HOST, JsonHandler, Running, Server

log = logging.getLogger("opsconsole.emulator.servicenow")

TABLE = "/api/now/table/incident"
JOURNAL = "/api/now/table/sys_journal_field"
CLOSED_STATES = ("6", "7")
STATE_NAMES = {"1": "New", "2": "In Progress", "3": "On Hold", "6": "Resolved", "7": "Closed"}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


class Instance:
    """The incidents, in memory."""

    def __init__(self, user: str, password: str) -> None:
        self.user = user
        self.password = password
        self.lock = threading.Lock()
        self.incidents: dict[str, dict[str, Any]] = {}
        self.journal: dict[str, list[tuple[str, str]]] = {}
        self.next_number = 10001
        self.requests: list[tuple[str, str]] = []

    def authorised(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.user and password == self.password

    def create(self, fields: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            number = f"INC{self.next_number:07d}"
            self.next_number += 1
            record = {
                "sys_id": uuid.uuid4().hex,
                "number": number,
                "state": "1",
                "active": "true",
                "opened_at": _now(),
                "sys_updated_on": _now(),
                **{k: str(v) for k, v in fields.items() if k not in ("work_notes", "comments")},
            }
            record["priority"] = _priority(record.get("urgency", "3"), record.get("impact", "3"))
            self.incidents[record["sys_id"]] = record
            self.journal[record["sys_id"]] = []
            self._journal(record["sys_id"], fields)
            log.info("created %s: %s", number, record.get("short_description", ""))
            return dict(record)

    def update(self, sys_id: str, fields: dict[str, Any]) -> dict[str, Any] | None:
        with self.lock:
            record = self.incidents.get(sys_id)
            if record is None:
                return None
            for key, value in fields.items():
                if key not in ("work_notes", "comments"):
                    record[key] = str(value)
            if record.get("state") in CLOSED_STATES:
                record["active"] = "false"
                record.setdefault("resolved_at", _now())
            record["priority"] = _priority(record.get("urgency", "3"), record.get("impact", "3"))
            record["sys_updated_on"] = _now()
            self._journal(sys_id, fields)
            log.info("updated %s: %s", record["number"], ", ".join(sorted(fields)))
            return dict(record)

    def _journal(self, sys_id: str, fields: dict[str, Any]) -> None:
        for kind in ("work_notes", "comments"):
            if fields.get(kind):
                self.journal[sys_id].append((_now(), f"[{kind}] {fields[kind]}"))

    def query(self, query: str, limit: int) -> list[dict[str, Any]]:
        terms = [t.partition("=") for t in query.split("^") if t]
        with self.lock:
            found = [
                dict(r)
                for r in sorted(self.incidents.values(), key=lambda r: r["number"])
                if all(r.get(k, "") == v for k, _, v in terms)
            ]
        return found[:limit]

    def journal_entries(self, query: str, limit: int) -> list[dict[str, Any]]:
        """sys_journal_field rows: equality terms, and `valueLIKE<text>` (contains)."""
        equal: dict[str, str] = {}
        contains: list[str] = []
        for term in (t for t in query.split("^") if t):
            if term.startswith("valueLIKE"):
                contains.append(term.removeprefix("valueLIKE"))
            else:
                key, _, value = term.partition("=")
                equal[key] = value
        rows = []
        with self.lock:
            for sys_id, entries in self.journal.items():
                for n, (at, text) in enumerate(entries):
                    element, _, value = text.partition("] ")
                    row = {
                        "sys_id": f"{sys_id}-{n}",
                        "element_id": sys_id,
                        "element": element.lstrip("["),
                        "value": value,
                        "sys_created_on": at,
                    }
                    if all(row.get(k) == v for k, v in equal.items()) and all(
                        c in value for c in contains
                    ):
                        rows.append(row)
        return rows[:limit]

    def notes(self, sys_id: str) -> list[tuple[str, str]]:
        with self.lock:
            return list(self.journal.get(sys_id, []))


def _priority(urgency: str, impact: str) -> str:
    try:
        return str(min(5, max(1, int(urgency) + int(impact) - 1)))
    except ValueError:
        return "4"


def _handler(instance: Instance) -> type[JsonHandler]:
    class Handler(JsonHandler):
        def _auth(self) -> bool:
            if instance.authorised(self.headers.get("authorization")):
                return True
            self.send(
                401,
                {"error": {"message": "User Not Authenticated"}, "status": "failure"},
                {"www-authenticate": 'Basic realm="Service-now"'},
            )
            return False

        def _fields(self) -> dict[str, Any] | None:
            import json

            try:
                fields = json.loads(self.body() or b"{}")
            except ValueError:
                fields = None
            if not isinstance(fields, dict):
                self.send(400, {"error": {"message": "Invalid JSON"}, "status": "failure"})
                return None
            return fields

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            parts = urlsplit(self.path)
            if parts.path == "/":
                self.send_bytes(200, _page(instance).encode(), "text/html; charset=utf-8")
                return
            if not self._auth():
                return
            if parts.path.rstrip("/") == JOURNAL:
                params = parse_qs(parts.query)
                query = params.get("sysparm_query", [""])[0]
                limit = int(params.get("sysparm_limit", ["10000"])[0] or 10000)
                self.send(200, {"result": instance.journal_entries(query, limit)})
                return
            if parts.path.rstrip("/") == TABLE:
                params = parse_qs(parts.query)
                query = params.get("sysparm_query", [""])[0]
                limit = int(params.get("sysparm_limit", ["10000"])[0] or 10000)
                self.send(200, {"result": instance.query(query, limit)})
                return
            if parts.path.startswith(TABLE + "/"):
                found = instance.query(f"sys_id={parts.path.rsplit('/', 1)[1]}", 1)
                if found:
                    self.send(200, {"result": found[0]})
                    return
            self.send(404, {"error": {"message": "No Record found"}, "status": "failure"})

        def do_POST(self) -> None:  # noqa: N802
            if not self._auth():
                return
            if urlsplit(self.path).path.rstrip("/") != TABLE:
                self.send(404, {"error": {"message": "Invalid table"}, "status": "failure"})
                return
            fields = self._fields()
            if fields is not None:
                self.send(201, {"result": instance.create(fields)})

        def do_PATCH(self) -> None:  # noqa: N802
            if not self._auth():
                return
            path = urlsplit(self.path).path
            fields = self._fields()
            if fields is None:
                return
            updated = (
                instance.update(path.rsplit("/", 1)[1], fields)
                if path.startswith(TABLE + "/")
                else None
            )
            if updated is None:
                self.send(404, {"error": {"message": "No Record found"}, "status": "failure"})
            else:
                self.send(200, {"result": updated})

        do_PUT = do_PATCH  # noqa: N815

    return Handler


def _page(instance: Instance) -> str:
    rows = []
    for record in sorted(instance.incidents.values(), key=lambda r: r["number"], reverse=True):
        notes = "".join(
            f"<li><small>{html.escape(at)}</small> {html.escape(text)}</li>"
            for at, text in instance.notes(record["sys_id"])
        )
        rows.append(
            "<tr>"
            + "".join(
                f"<td>{html.escape(str(v))}</td>"
                for v in (
                    record["number"],
                    STATE_NAMES.get(record.get("state", ""), record.get("state", "")),
                    record.get("priority", ""),
                    record.get("short_description", ""),
                    record.get("assignment_group", ""),
                    record.get("cmdb_ci", ""),
                    record.get("correlation_id", ""),
                    record.get("close_code", ""),
                )
            )
            + f"<td><ul>{notes}</ul></td></tr>"
        )
    return (
        "<!doctype html><title>Local ServiceNow</title><h1>Local ServiceNow: incidents</h1>"
        "<p>The demo's stand-in for a ServiceNow instance (Table API subset).</p>"
        "<table border=1 cellpadding=4><tr><th>Number</th><th>State</th><th>Priority</th>"
        "<th>Short description</th><th>Assignment group</th><th>CI</th><th>Correlation id</th>"
        "<th>Close code</th><th>Journal</th></tr>" + "".join(rows) + "</table>"
    )


class RunningInstance(Running):
    def __init__(self, server: Server, instance: Instance) -> None:
        super().__init__(server)
        self.instance = instance


def start(port: int = 0, *, user: str, password: str) -> RunningInstance:
    """Serve a fresh instance on 127.0.0.1:`port` (0: any free port)."""
    instance = Instance(user, password)
    server = Server((HOST, port), _handler(instance))
    return RunningInstance(server, instance)
