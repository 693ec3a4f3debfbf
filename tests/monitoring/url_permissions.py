"""Permission-matrix entries for the alerts pages, /metrics and the monitoring API."""

from __future__ import annotations

from typing import Any

from tests.identity.matrix import Access, api, page


def _alert() -> dict[str, Any]:
    from tests.monitoring.factories import make_alert

    return {"pk": make_alert().pk}


def _silence() -> dict[str, Any]:
    from tests.monitoring.factories import make_silence

    return {"pk": make_silence().pk}


_NO_MATCHERS = {"matchers": "", "reason": "", "minutes": "60"}

URL_PERMISSIONS = {
    "monitoring:alerts": page("viewer"),
    "monitoring:alert": page("viewer", kwargs=_alert),
    "monitoring:acknowledge": page("operator", method="POST", kwargs=_alert, ok=302),
    "monitoring:silences": page("viewer"),
    "monitoring:silence_create": page("operator", method="POST", data=_NO_MATCHERS, ok=400),
    "monitoring:silence_expire": page("operator", method="POST", kwargs=_silence, ok=302),
    "monitoring:dashboard": page("viewer"),
    # Not a session page: a bearer of METRICS_TOKEN only (off, 404, when no token is set).
    "metrics": Access(
        statuses=dict.fromkeys(
            ("anonymous", "viewer", "operator", "approver", "admin", "token"), 404
        )
    ),
    "api-alerts": api("viewer"),
    "api-alert": api("viewer", kwargs=_alert),
    "api-alert-history": api("viewer", kwargs=_alert),
    # One alert/silence for every caller: whoever comes after the first finds it done (409).
    "api-alert-acknowledge": api(
        "operator", method="POST", kwargs=_alert, data={"note": "on it"}, ok=(200, 409)
    ),
    "api-silences": api("viewer"),
    "api-silence": api("viewer", kwargs=_silence),
    "api-silence-expire": api("operator", method="POST", kwargs=_silence, ok=(200, 409)),
}
