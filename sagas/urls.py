from django.urls import path

from . import views

app_name = "sagas"
urlpatterns = [
    path("search/", views.search, name="search"),
    path("<slug:kind>/", views.saga_list, name="list"),
    path("<slug:kind>/export.csv", views.export_csv, name="export"),
    path("<slug:kind>/<int:pk>/", views.case, name="detail"),
]
