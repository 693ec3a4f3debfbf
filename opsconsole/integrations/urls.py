from django.urls import path

from . import views

app_name = "integrations"
urlpatterns = [
    path("", views.webhooks, name="webhooks"),
    path("webhooks/<int:pk>/", views.endpoint, name="endpoint"),
    path("webhooks/<int:pk>/enabled", views.set_enabled, name="set_enabled"),
    path("webhooks/<int:pk>/rotate", views.rotate, name="rotate"),
    path("webhooks/<int:pk>/delete", views.delete, name="delete"),
    path("webhooks/<int:pk>/deliveries/<int:delivery_pk>/", views.delivery, name="delivery"),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery_pk>/redeliver",
        views.redeliver,
        name="redeliver",
    ),
]
