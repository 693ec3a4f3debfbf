from django.urls import path

from . import api

urlpatterns = [
    path("sagas/", api.SagaList.as_view(), name="api-sagas"),
    path("sagas/<str:ref>/", api.SagaDetail.as_view(), name="api-saga"),
    path("sagas/<str:ref>/timeline/", api.SagaTimeline.as_view(), name="api-saga-timeline"),
]
