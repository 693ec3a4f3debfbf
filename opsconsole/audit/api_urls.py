from django.urls import path

from . import api

urlpatterns = [
    path("audit/", api.AuditEventList.as_view(), name="audit-list"),
]
