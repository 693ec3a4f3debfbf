from django.urls import path

from . import api, tickets_api

urlpatterns = [
    path("sagas/", api.SagaList.as_view(), name="api-sagas"),
    path("sagas/<str:ref>/", api.SagaDetail.as_view(), name="api-saga"),
    path("sagas/<str:ref>/timeline/", api.SagaTimeline.as_view(), name="api-saga-timeline"),
    path("sagas/<str:ref>/tickets/", tickets_api.SagaTickets.as_view(), name="api-saga-tickets"),
    path("tickets/<str:number>/sagas/", tickets_api.TicketSagas.as_view(), name="api-ticket-sagas"),
]
