"""Permission-matrix entries for the recovery pages, one module per part of recovery."""

from __future__ import annotations

from tests.recovery.url_permissions_executions import URL_PERMISSIONS as _EXECUTIONS

URL_PERMISSIONS = {**_EXECUTIONS}
