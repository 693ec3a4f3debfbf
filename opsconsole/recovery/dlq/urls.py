"""The DLQ pages, included under /recovery/dlq/ in recovery's namespace."""

from django.urls import path

from . import views, views_jobs

urlpatterns = [
    path("search/", views.search, name="dlq_search"),
    path("send-back/", views_jobs.send_back, name="dlq_send_back"),
    path("messages/<int:pk>/", views.message_detail, name="dlq_message"),
    path("messages/<int:pk>/body/", views.message_download, name="dlq_message_download"),
    path("messages/<int:pk>/edit/", views_jobs.edit, name="dlq_edit"),
    path("saga/<int:saga_id>/panel/", views.saga_panel, name="dlq_saga_panel"),
    path("<str:name>/", views.dlq_detail, name="dlq"),
    path("<str:name>/look/", views.dlq_look, name="dlq_look"),
    path("<str:name>/move/", views.move_start, name="dlq_move_start"),
    path("<str:name>/move/cancel/", views.move_cancel, name="dlq_move_cancel"),
    path("<str:name>/move/progress/", views.move_progress, name="dlq_move_progress"),
]
