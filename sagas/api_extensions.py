"""What other features add to a saga's API detail, without sagas importing them.

A feature registers, from its `AppConfig.ready()`, a response member: its name, the
serializer field that renders and documents it (so it is in the OpenAPI schema like any
other member), and a function `(saga, request) -> value` that loads it. `approvals` adds the
saga's approval requests this way (approvals -> sagas is the only allowed arrow).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rest_framework import serializers
from rest_framework.request import Request

from .models import Saga


@dataclass(frozen=True)
class DetailExtension:
    name: str
    field: Callable[[], serializers.Field]
    load: Callable[[Saga, Request], Any]


_EXTENSIONS: dict[str, DetailExtension] = {}


def register_detail_extension(
    name: str,
    *,
    field: Callable[[], serializers.Field],
    load: Callable[[Saga, Request], Any],
) -> None:
    """Add member `name` to GET /api/v1/sagas/{ref}/ (idempotent per name)."""
    _EXTENSIONS[name] = DetailExtension(name=name, field=field, load=load)


def detail_extensions() -> list[DetailExtension]:
    # By name: the response and the committed schema do not depend on app order.
    return [_EXTENSIONS[name] for name in sorted(_EXTENSIONS)]
