from django.urls import include, path

from . import job_api

urlpatterns = [
    path("jobs/", job_api.JobList.as_view(), name="api-jobs"),
    path("jobs/<int:pk>/", job_api.JobDetail.as_view(), name="api-job"),
    path("jobs/<int:pk>/items/", job_api.JobItems.as_view(), name="api-job-items"),
    path("jobs/<int:pk>/pause/", job_api.JobPause.as_view(), name="api-job-pause"),
    path("jobs/<int:pk>/resume/", job_api.JobResume.as_view(), name="api-job-resume"),
    path("jobs/<int:pk>/cancel/", job_api.JobCancel.as_view(), name="api-job-cancel"),
    path("", include("opsconsole.recovery.dlq.api_urls")),
]
