from django.urls import path

from . import api, sync_views

urlpatterns = [
    path("sync/", sync_views.SyncStatusList.as_view(), name="api-sync"),
    path("aws-budget/", sync_views.AwsBudget.as_view(), name="api-aws-budget"),
    path("sagas/", api.SagaList.as_view(), name="api-sagas"),
    path("sagas/<str:ref>/", api.SagaDetail.as_view(), name="api-saga"),
    path("sagas/<str:ref>/timeline/", api.SagaTimeline.as_view(), name="api-saga-timeline"),
]
