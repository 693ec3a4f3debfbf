from django.urls import include, path

from . import job_views, views

app_name = "recovery"
urlpatterns = [
    path("", views.index, name="index"),
    path("jobs/", job_views.job_list, name="jobs"),
    path("jobs/<int:pk>/", job_views.job_detail, name="job"),
    path("jobs/<int:pk>/pause/", job_views.job_pause, name="job_pause"),
    path("jobs/<int:pk>/resume/", job_views.job_resume, name="job_resume"),
    path("jobs/<int:pk>/cancel/", job_views.job_cancel, name="job_cancel"),
    path("dlq/", include("opsconsole.recovery.dlq.urls")),
]
