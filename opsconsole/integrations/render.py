"""How an event reads in a mail or an SNS message: a subject line and a short text."""

from __future__ import annotations

from typing import Any


def subject(envelope: dict[str, Any]) -> str:
    data = envelope.get("data") or {}
    target = envelope.get("target") or {}
    label = data.get("rule") or target.get("label") or target.get("id", "")
    if envelope["type"].startswith("alert."):
        severity = data.get("severity") or "alert"
        state = envelope["type"].split(".", 1)[1].upper()
        return f"[{state}] [{severity}] {label}"[:100]
    return f"[opsconsole] {envelope['type']}: {label}"[:100]


def text(envelope: dict[str, Any]) -> str:
    data = envelope.get("data") or {}
    target = envelope.get("target") or {}
    actor = envelope.get("actor") or {}
    lines = [
        subject(envelope),
        "",
        f"What: {envelope['type']}",
        f"When: {envelope['occurred_at']}",
        f"Who: {actor.get('id', '')} ({actor.get('type', '')})",
        f"About: {target.get('type', '')} {target.get('label') or target.get('id', '')}",
    ]
    if data.get("value") is not None:
        lines.append(f"Value: {data['value']}")
    for key in ("reason", "ticket"):
        if data.get(key):
            lines.append(f"{key.title()}: {data[key]}")
    link = data.get("link") or target.get("url")
    if link:
        lines += ["", f"Open: {link}"]
    lines += ["", f"Event id: {envelope['id']}"]
    return "\n".join(lines)
