from django.urls import include, path

from . import sync_views, ticket_views, timezones, views

app_name = "sagas"
# The pages of one saga kind, under its slug.
kind_routes = [
    path("", views.saga_list, name="list"),
    path("export.csv", views.export_csv, name="export"),
    # By the business key a person types: /sagas/orders/8843/ is order 8843 (its newest
    # run; ?run=<execution name> picks another). A console id there redirects.
    path("<str:key>/", views.case, name="detail"),
    path("<str:key>/history/", views.history, name="history"),
]
urlpatterns = [
    path("search/", views.search, name="search"),
    path("time-zone/", timezones.choose, name="time_zone"),
    path("sync/", sync_views.sync_page, name="sync"),
    path("tickets/<int:saga_id>/panel/", ticket_views.panel, name="tickets_panel"),
    path("tickets/<int:saga_id>/link", ticket_views.link, name="link_ticket"),
    path("<slug:kind>/", include(kind_routes)),
]
