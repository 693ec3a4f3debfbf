"""The ServiceNow preset: incidents through the Table API (`/api/now/table/incident`).

An alert firing opens an incident whose `correlation_id` is the alert's key, so a retry (or
the alert firing again) finds the same incident instead of opening a second one; changes add
work notes; the alert resolving resolves it with a close code and notes. A console action on
a saga with a ticket adds a work note to each incident the saga's tickets name.

Every work note names the console event it tells of, and a delivery retried (its answer lost,
or one of several incidents failing) first looks for that event in the incident's journal
(`sys_journal_field`), so an incident gets each note once.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ..destinations import DestinationRefused, check_url, guarded_session
from ..transports import Sent, TransportError, excerpt

TABLE = "/api/now/table/incident"
JOURNAL = "/api/now/table/sys_journal_field"
RESOLVED = "6"
# ServiceNow: 1 high, 2 medium, 3 low (the priority is derived from urgency and impact).
URGENCY_IMPACT = {"critical": ("1", "1"), "warning": ("2", "2"), "info": ("3", "3")}
MAX_CORRELATION_ID = 100


@dataclass(frozen=True)
class Credentials:
    url: str
    user: str
    password: str


def credentials() -> Credentials:
    """The instance and its credentials: the environment, else the secrets file (user on the
    first line, password on the second). Never the database."""
    url = settings.SERVICENOW_URL.rstrip("/")
    user, password = settings.SERVICENOW_USER, settings.SERVICENOW_PASSWORD
    if settings.SERVICENOW_SECRETS_FILE and not (user and password):
        try:
            lines = Path(settings.SERVICENOW_SECRETS_FILE).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"OPSCONSOLE_SERVICENOW_SECRETS_FILE cannot be read: {exc}"
            ) from None
        if len(lines) < 2:
            raise ImproperlyConfigured(
                "OPSCONSOLE_SERVICENOW_SECRETS_FILE needs the user and the password on two lines"
            )
        user, password = lines[0].strip(), lines[1].strip()
    if not url:
        raise ImproperlyConfigured("OPSCONSOLE_SERVICENOW_URL is not set")
    return Credentials(url, user, password)


class ServiceNowClient:
    """The subset of the Table API the preset uses, over real HTTP."""

    def __init__(self, creds: Credentials, timeout: float) -> None:
        self.creds = creds
        self.timeout = timeout
        self.session = guarded_session()
        self.session.auth = (creds.user, creds.password)
        self.session.headers.update({"accept": "application/json"})

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = self.creds.url + path
        try:
            check_url(url)
        except DestinationRefused as exc:
            raise TransportError(str(exc), permanent=True) from None
        try:
            response = self.session.request(
                method, url, timeout=self.timeout, allow_redirects=False, **kwargs
            )
        except DestinationRefused as exc:  # where the connection landed, checked again
            raise TransportError(str(exc), permanent=True) from None
        except requests.RequestException as exc:
            raise TransportError(f"ServiceNow: {type(exc).__name__}") from None
        code = response.status_code
        if code >= 300:
            raise TransportError(
                f"ServiceNow answered {code}",
                # Bad credentials or a refused field will not fix themselves; a busy or
                # failing instance will.
                permanent=code in (400, 401, 403, 404),
                status_code=code,
                response_excerpt=excerpt(response.text or ""),
                retry_after=float(response.headers["retry-after"])
                if code == 429
                and re.fullmatch(r"[0-9]{1,9}", response.headers.get("retry-after", ""))
                else None,
            )
        try:
            return response.json().get("result")
        except ValueError:
            raise TransportError(
                "ServiceNow answered with something that is not JSON", status_code=code
            ) from None

    def find(self, query: str) -> dict[str, Any] | None:
        found = self._call(
            "GET",
            TABLE,
            params={
                "sysparm_query": query,
                "sysparm_limit": "1",
                "sysparm_fields": "sys_id,number,state,correlation_id",
            },
        )
        return found[0] if found else None

    def open_incident_for(self, correlation_id: str) -> dict[str, Any] | None:
        return self.find(f"correlation_id={correlation_id}^active=true")

    def create(self, fields: dict[str, str]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", TABLE, json=fields)
        return result

    def update(self, sys_id: str, fields: dict[str, str]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("PATCH", f"{TABLE}/{sys_id}", json=fields)
        return result

    def noted(self, sys_id: str, marker: str) -> bool:
        """Whether the incident's work notes already mention `marker` (an event id)."""
        found = self._call(
            "GET",
            JOURNAL,
            params={
                "sysparm_query": f"element_id={sys_id}^element=work_notes^valueLIKE{marker}",
                "sysparm_limit": "1",
                "sysparm_fields": "sys_id",
            },
        )
        return bool(found)

    def note_once(self, sys_id: str, marker: str, fields: dict[str, str]) -> bool:
        """Update with a work note naming `marker`, unless one already does; True if sent."""
        if self.noted(sys_id, marker):
            return False
        self.update(sys_id, fields)
        return True


def _link(path: str) -> str:
    if not path:
        return ""
    return path if path.startswith("http") else settings.PUBLIC_URL.rstrip("/") + path


def alert_key(envelope: dict[str, Any]) -> str:
    """The incident's correlation_id: the alert group's stable key (monitoring's
    `dedup_key`), fitted into the field's 100 characters without losing uniqueness."""
    data = envelope.get("data") or {}
    key = str(
        data.get("dedup_key")
        or data.get("group_key")
        or data.get("key")
        or envelope.get("correlation_id")
        or envelope["target"]["id"]
    )
    if len(key) <= MAX_CORRELATION_ID:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"{key[: MAX_CORRELATION_ID - 41]}~{digest}"


class ServiceNowTransport:
    def __init__(self, client: ServiceNowClient, channel: Any) -> None:
        self.client = client
        self.channel = channel

    def notify(self, envelope: dict[str, Any]) -> Sent:
        kind = envelope["type"]
        if kind == "alert.firing":
            return self._firing(envelope)
        if kind == "alert.resolved":
            return self._resolved(envelope)
        if kind.startswith("alert."):
            return self._note_alert(envelope)
        return self._note_tickets(envelope)

    def _firing(self, envelope: dict[str, Any]) -> Sent:
        key = alert_key(envelope)
        data = envelope.get("data") or {}
        existing = self.client.open_incident_for(key)
        if existing is not None:
            note = f"Alert still firing (value {data.get('value')}). Event {envelope['id']}."
            self.client.note_once(existing["sys_id"], envelope["id"], {"work_notes": note})
            return Sent(200, f"work note on {existing['number']}", existing["number"])
        severity = str(data.get("severity") or "warning")
        urgency, impact = URGENCY_IMPACT.get(severity, ("2", "2"))
        rule = data.get("rule") or envelope["target"].get("label") or key
        # Which group of the rule (dlq=payments-dlq), so sibling incidents read apart.
        group = ", ".join(
            part
            for part in str(data.get("group_key") or "").split(",")
            if part and not part.startswith("alertname=")
        )
        link = _link(str(data.get("link") or envelope["target"].get("url") or ""))
        labels = data.get("labels") or {}
        description = "\n".join(
            line
            for line in (
                f"Alert {rule} is firing ({severity}).",
                str(data.get("description") or ""),
                f"Value: {data.get('value')}" if data.get("value") is not None else "",
                "Labels: " + ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))
                if labels
                else "",
                f"Alert: {link}" if link else "",
                f"Console: {settings.PUBLIC_URL}",
                f"Event id: {envelope['id']}",
            )
            if line
        )
        fields = {
            "short_description": (f"[{severity}] {rule}" + (f" ({group})" if group else ""))[:160],
            "description": description,
            "urgency": urgency,
            "impact": impact,
            "correlation_id": key,
            "correlation_display": "opsconsole",
        }
        for name in ("assignment_group", "cmdb_ci", "caller_id"):
            value = getattr(self.channel, name, "")
            if value:
                fields[name] = value
        created = self.client.create(fields)
        return Sent(201, f"opened {created.get('number')}", str(created.get("number", "")))

    def _resolved(self, envelope: dict[str, Any]) -> Sent:
        key = alert_key(envelope)
        existing = self.client.open_incident_for(key)
        if existing is None:
            return Sent(200, f"no open incident for {key}")
        data = envelope.get("data") or {}
        notes = (
            f"The alert {data.get('rule') or key} resolved at {envelope['occurred_at']}"
            f" (value {data.get('value')}). Resolved by opsconsole. Event {envelope['id']}."
        )
        self.client.note_once(
            existing["sys_id"],
            envelope["id"],
            {
                "state": RESOLVED,
                "close_code": self.channel.close_code,
                "close_notes": notes,
                "work_notes": notes,
            },
        )
        return Sent(200, f"resolved {existing['number']}", existing["number"])

    def _note_alert(self, envelope: dict[str, Any]) -> Sent:
        key = alert_key(envelope)
        existing = self.client.open_incident_for(key)
        if existing is None:
            return Sent(200, f"no open incident for {key}")
        actor = envelope.get("actor") or {}
        note = (
            f"{envelope['type']} by {actor.get('id', 'opsconsole')} at {envelope['occurred_at']}."
            f" Event {envelope['id']}."
        )
        self.client.note_once(existing["sys_id"], envelope["id"], {"work_notes": note})
        return Sent(200, f"work note on {existing['number']}", existing["number"])

    def _note_tickets(self, envelope: dict[str, Any]) -> Sent:
        """A console action on a saga: a work note on each incident its tickets name."""
        data = envelope.get("data") or {}
        tickets = [str(t) for t in data.get("tickets") or [] if t]
        if data.get("ticket") and str(data["ticket"]) not in tickets:
            tickets.append(str(data["ticket"]))  # the ticket an operator gave the action
        if not tickets:
            return Sent(200, "no ticket to note")
        target = envelope["target"]
        actor = envelope.get("actor") or {}
        link = _link(target.get("url", ""))
        counts = (
            f"{data.get('succeeded', 0)} succeeded, {data.get('failed', 0)} failed"
            if "succeeded" in data
            else ""
        )
        note = "\n".join(
            line
            for line in (
                f"opsconsole: {envelope['type']} on {target.get('label') or target['id']}"
                f" by {actor.get('id', 'opsconsole')} at {envelope['occurred_at']}.",
                counts,
                f"Reason: {data['reason']}" if data.get("reason") else "",
                f"{target.get('type', 'Target').title()}: {link}" if link else "",
                f"Event {envelope['id']}",
            )
            if line
        )
        noted = []
        for number in tickets:
            incident = self.client.find(f"number={number}")
            if incident is None:
                continue
            self.client.note_once(incident["sys_id"], envelope["id"], {"work_notes": note})
            noted.append(incident["number"])
        if not noted:
            return Sent(200, f"no incident for {', '.join(tickets)}")
        return Sent(200, f"work note on {', '.join(noted)}", ",".join(noted))
