from django.urls import include, path

from . import views

app_name = "identity"
token_routes = [
    path("", views.tokens, name="tokens"),
    path("<int:token_id>/revoke/", views.revoke_token, name="revoke_token"),
]
urlpatterns = [
    path("login/", views.login_page, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("break-glass/", views.break_glass, name="break_glass"),
    path("tokens/", include(token_routes)),
]
