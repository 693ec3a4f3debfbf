from django.urls import path

from . import api, sync_views, tickets_api

urlpatterns = [
    path("sync/", sync_views.SyncStatusList.as_view(), name="api-sync"),
    path("aws-budget/", sync_views.AwsBudget.as_view(), name="api-aws-budget"),
    path("sagas/", api.SagaList.as_view(), name="api-sagas"),
    path("sagas/<str:ref>/", api.SagaDetail.as_view(), name="api-saga"),
    path("sagas/<str:ref>/timeline/", api.SagaTimeline.as_view(), name="api-saga-timeline"),
    path("sagas/<str:ref>/tickets/", tickets_api.SagaTickets.as_view(), name="api-saga-tickets"),
    path("tickets/<str:number>/sagas/", tickets_api.TicketSagas.as_view(), name="api-ticket-sagas"),
]
