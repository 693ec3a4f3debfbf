from django.urls import path

from . import views

app_name = "identity"
urlpatterns = [
    path("login/", views.login_page, name="login"),
    path("logout/", views.logout_view, name="logout"),
]
