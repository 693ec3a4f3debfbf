from django.urls import path

from . import api

urlpatterns = [
    path("approvals/", api.ApprovalList.as_view(), name="api-approvals"),
    path("approvals/<int:pk>/", api.ApprovalDetail.as_view(), name="api-approval"),
    path(
        "approvals/<int:pk>/decision/", api.ApprovalDecide.as_view(), name="api-approval-decision"
    ),
]
