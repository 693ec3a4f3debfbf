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

# Execution recovery and archive replays.
from .executions import api as executions_api  # noqa: E402
from .replays import api as replays_api  # noqa: E402

urlpatterns += [
    path(
        "sagas/<int:saga_id>/recovery/",
        executions_api.SagaRecovery.as_view(),
        name="api-saga-recovery",
    ),
    path(
        "sagas/<int:saga_id>/recovery/redrive/",
        executions_api.SagaRedrive.as_view(),
        name="api-saga-redrive",
    ),
    path(
        "sagas/<int:saga_id>/recovery/restart/",
        executions_api.SagaRestart.as_view(),
        name="api-saga-restart",
    ),
    path(
        "sagas/<int:saga_id>/recovery/stop/",
        executions_api.SagaStop.as_view(),
        name="api-saga-stop",
    ),
    path(
        "sagas/<int:saga_id>/recovery/resolve/",
        executions_api.SagaResolve.as_view(),
        name="api-saga-resolve",
    ),
    path(
        "recovery/bulk/dry-run/", executions_api.BulkDryRun.as_view(), name="api-recovery-dry-run"
    ),
    path("recovery/bulk/", executions_api.BulkSubmit.as_view(), name="api-recovery-bulk"),
    path("recovery/archives/", replays_api.ArchiveList.as_view(), name="api-archives"),
    path(
        "recovery/replays/preview/",
        replays_api.ReplayPreview.as_view(),
        name="api-replay-preview",
    ),
    path("recovery/replays/", replays_api.ReplayList.as_view(), name="api-replays"),
    path(
        "recovery/replays/<int:replay_id>/", replays_api.ReplayDetail.as_view(), name="api-replay"
    ),
    path(
        "recovery/replays/<int:replay_id>/cancel/",
        replays_api.ReplayCancel.as_view(),
        name="api-replay-cancel",
    ),
]
