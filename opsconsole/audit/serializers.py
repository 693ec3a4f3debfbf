"""The audit API's output serializer: the public columns (the same list as the CSV export)."""

from __future__ import annotations

from opsconsole.web.serializers import OutputModelSerializer

from .models import PUBLIC_FIELDS, AuditEvent


class AuditEventSerializer(OutputModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", *PUBLIC_FIELDS]
