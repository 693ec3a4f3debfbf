from django.urls import path

from . import views

app_name = "approvals"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("bulk/", views.bulk_decide, name="bulk"),
    path("<int:pk>/", views.request_detail, name="detail"),
    path("<int:pk>/decide/", views.decide, name="decide"),
    path("<int:pk>/claim/", views.claim, name="claim"),
    path("<int:pk>/unclaim/", views.unclaim, name="unclaim"),
    path("saga/<int:saga_id>/panel/", views.saga_panel, name="saga_panel"),
]
