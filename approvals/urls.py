from django.urls import include, path

from . import views

app_name = "approvals"
# What one approval request answers to, under its id.
request_routes = [
    path("", views.request_detail, name="detail"),
    path("decide/", views.decide, name="decide"),
    path("claim/", views.claim, name="claim"),
    path("unclaim/", views.unclaim, name="unclaim"),
]
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("bulk/", views.bulk_decide, name="bulk"),
    path("<int:pk>/", include(request_routes)),
    path("saga/<int:saga_id>/panel/", views.saga_panel, name="saga_panel"),
]
