"""Read-only REST access to the audit log: admins, or tokens with the admin role."""

from __future__ import annotations

from typing import Any

from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination

from opsconsole.identity.permissions import IsAdmin

from .filters import AuditFilterForm, apply_filters
from .models import PUBLIC_FIELDS, AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", *PUBLIC_FIELDS]
        read_only_fields = fields


class NewestFirst(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class AuditEventList(generics.ListAPIView):
    """GET /api/v1/audit/?who=&action=&target_type=&target=&ticket=&result=&since=&until="""

    serializer_class = AuditEventSerializer
    permission_classes = [IsAdmin]
    pagination_class = NewestFirst

    def get_queryset(self) -> Any:
        params = {
            k: v for k, v in self.request.query_params.items() if k in AuditFilterForm.base_fields
        }
        form = AuditFilterForm(params)
        if not form.is_valid():
            raise ValidationError(form.errors)
        return apply_filters(AuditEvent.objects.all(), form.cleaned_data)
