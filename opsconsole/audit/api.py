"""Read-only REST access to the audit log: admins, or tokens with the admin role.

DRF generics, as in every API module (see sagas/api.py for why)."""

from __future__ import annotations

from typing import Any

from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from opsconsole.identity.permissions import IsAdmin

from .filters import AuditFilterForm, apply_filters
from .models import AuditEvent
from .serializers import AuditEventSerializer


class NewestFirst(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def _parameters() -> list[OpenApiParameter]:
    """The filters as the schema states them, read from the form the page and the API both
    validate with (one definition, so the schema cannot drift from what is accepted)."""
    parameters = []
    for name, field in AuditFilterForm.base_fields.items():
        kind: Any = OpenApiTypes.STR
        enum = None
        if isinstance(field, forms.DateTimeField):
            kind = OpenApiTypes.DATETIME
        elif isinstance(field, forms.ChoiceField):
            choices: Any = field.choices
            enum = [str(value) for value, _ in choices if value]
        description = str(field.help_text or field.label or "")
        parameters.append(OpenApiParameter(name, kind, enum=enum, description=description))
    return parameters


class AuditEventList(generics.ListAPIView):
    """The audit log, newest first, filtered; cursor-paginated."""

    serializer_class = AuditEventSerializer
    permission_classes = [IsAdmin]
    pagination_class = NewestFirst

    def get_queryset(self) -> Any:
        params = {
            k: v for k, v in self.request.query_params.items() if k in AuditFilterForm.base_fields
        }
        form = AuditFilterForm(params)
        if not form.is_valid():
            raise ValidationError(form.errors)  # type: ignore[arg-type]
        return apply_filters(AuditEvent.objects.all(), form.cleaned_data)

    @extend_schema(parameters=_parameters())
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
