from django.urls import path

from . import api

urlpatterns = [
    path("webhooks/", api.EndpointList.as_view(), name="api-webhooks"),
    path("webhooks/<int:pk>/", api.EndpointDetail.as_view(), name="api-webhook"),
    path("webhooks/<int:pk>/rotate-secret/", api.RotateSecret.as_view(), name="api-webhook-rotate"),
    path(
        "webhooks/<int:pk>/deliveries/", api.DeliveryList.as_view(), name="api-webhook-deliveries"
    ),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery_pk>/redeliver/",
        api.Redeliver.as_view(),
        name="api-webhook-redeliver",
    ),
]
