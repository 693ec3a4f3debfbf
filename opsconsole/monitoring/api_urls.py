from django.urls import path

from . import api

urlpatterns = [
    path("alerts/", api.AlertList.as_view(), name="api-alerts"),
    path("alerts/<int:pk>/", api.AlertDetail.as_view(), name="api-alert"),
    path("alerts/<int:pk>/history/", api.AlertHistory.as_view(), name="api-alert-history"),
    path(
        "alerts/<int:pk>/acknowledge/", api.AlertAcknowledge.as_view(), name="api-alert-acknowledge"
    ),
    path("silences/", api.SilenceList.as_view(), name="api-silences"),
    path("silences/<int:pk>/", api.SilenceDetail.as_view(), name="api-silence"),
    path("silences/<int:pk>/expire/", api.SilenceExpire.as_view(), name="api-silence-expire"),
]
