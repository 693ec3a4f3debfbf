from django.urls import path

from . import views

app_name = "sagas"
urlpatterns = [
    path("<slug:kind>/", views.saga_list, name="list"),
]
