from django.urls import path

from . import views

app_name = "monitoring"
urlpatterns = [
    path("", views.alerts, name="alerts"),
    path("<int:pk>/", views.alert_detail, name="alert"),
    path("<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("silences/", views.silences, name="silences"),
    path("silences/new/", views.silence_create, name="silence_create"),
    path("silences/<int:pk>/expire/", views.silence_expire, name="silence_expire"),
    path("dashboard/", views.dashboard_page, name="dashboard"),
]
