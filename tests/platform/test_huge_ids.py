"""An id in a URL that no database column can hold is a 404, never a server error.

Django's `<int:...>` converter takes any run of digits; a thirty-digit id overflowed SQLite's
integer (OverflowError) on the way to the query. Every URL with an int parameter is asked,
as an admin, with such an id.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

pytestmark = pytest.mark.django_db
HUGE = 10**30


def _int_routes() -> list[tuple[str, tuple[str, ...]]]:
    found: set[tuple[str, tuple[str, ...]]] = set()

    def walk(patterns: list, namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                ns = pattern.namespace
                walk(pattern.url_patterns, f"{namespace}{ns}:" if ns else namespace)
            elif isinstance(pattern, URLPattern) and pattern.name:
                converters = pattern.pattern.converters
                ints = [k for k, c in converters.items() if type(c).__name__ == "IntConverter"]
                if ints and len(ints) == len(converters):
                    found.add((f"{namespace}{pattern.name}", tuple(ints)))

    walk(get_resolver().url_patterns, "")
    return sorted(found)


@pytest.mark.parametrize(("name", "kwargs"), _int_routes())
def test_a_huge_id_is_not_found(admin_client_, name, kwargs):
    url = reverse(name, kwargs=dict.fromkeys(kwargs, HUGE))
    response = admin_client_.get(url)
    assert response.status_code in (301, 302, 404, 405), (url, response.status_code)
