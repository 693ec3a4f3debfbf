from django.urls import include, path

from . import sync_views, views

app_name = "sagas"
# The pages of one saga kind, under its slug.
kind_routes = [
    path("", views.saga_list, name="list"),
    path("export.csv", views.export_csv, name="export"),
    path("<int:pk>/", views.case, name="detail"),
]
urlpatterns = [
    path("search/", views.search, name="search"),
    path("sync/", sync_views.sync_page, name="sync"),
    path("<slug:kind>/", include(kind_routes)),
]
