"""What every API serializer shares: RFC 3339 UTC timestamps, strict query parameters, and
the problem document (RFC 9457) as the schema describes it."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.db import models
from rest_framework import serializers


class UtcDateTimeField(serializers.DateTimeField):
    """RFC 3339 in UTC with `Z`, whatever TIME_ZONE the deployment reads its pages in."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("default_timezone", UTC)
        super().__init__(**kwargs)


class OutputSerializer(serializers.Serializer):
    """A response body (never validated from input): timestamps are UTC with `Z`."""

    def create(self, validated_data: Any) -> Any:  # pragma: no cover - output only
        raise NotImplementedError

    def update(self, instance: Any, validated_data: Any) -> Any:  # pragma: no cover
        raise NotImplementedError


class OutputModelSerializer(serializers.ModelSerializer):
    """A model's response body: explicit `fields`, read only, timestamps UTC with `Z`."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: UtcDateTimeField,
    }

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        for field in fields.values():
            field.read_only = True
        return fields


class StrictQuerySerializer(serializers.Serializer):
    """Query parameters that refuse what they do not know, instead of silently ignoring a
    misspelt filter and answering with everything. `extra_allowed` names parameters that
    other machinery reads (the pagination cursor)."""

    extra_allowed: tuple[str, ...] = ("cursor",)

    def to_internal_value(self, data: Any) -> Any:
        known = {*self.fields, *self.extra_allowed}
        allowed = ", ".join(sorted(known))
        errors: dict[str, Any] = {
            name: [f"Unknown parameter; use one of {allowed}."]
            for name in sorted(data)
            if name not in known
        }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if isinstance(exc.detail, dict):
                errors = {**exc.detail, **errors}
            raise serializers.ValidationError(errors or exc.detail) from exc
        if errors:
            raise serializers.ValidationError(errors)
        return value


class ProblemSerializer(OutputSerializer):
    """RFC 9457 problem details, as every API error is answered
    (`application/problem+json`)."""

    type = serializers.URLField(help_text="A URI naming the kind of problem.")
    title = serializers.CharField(help_text="A short, stable summary of the kind of problem.")
    status = serializers.IntegerField(help_text="The HTTP status code.")
    detail = serializers.CharField(help_text="What went wrong this time, for a person.")
    code = serializers.CharField(
        help_text="A stable machine-readable code (`invalid_input`, `not_found`, ...)."
    )
    errors = serializers.DictField(  # type: ignore[assignment] # a field, not the property
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Field (or parameter) name -> reasons; only for `invalid_input`.",
    )
