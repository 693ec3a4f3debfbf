from django.urls import include, path

from . import job_views, views
from .executions import views as executions
from .replays import views as replays

app_name = "recovery"
urlpatterns = [
    path("", views.index, name="index"),
    path("jobs/", job_views.job_list, name="jobs"),
    path("jobs/<int:pk>/", job_views.job_detail, name="job"),
    path("jobs/<int:pk>/pause/", job_views.job_pause, name="job_pause"),
    path("jobs/<int:pk>/resume/", job_views.job_resume, name="job_resume"),
    path("jobs/<int:pk>/cancel/", job_views.job_cancel, name="job_cancel"),
    path("dlq/", include("opsconsole.recovery.dlq.urls")),
    # Execution recovery: the case page's panel and one page per action.
    path("sagas/<int:saga_id>/", executions.saga_panel, name="saga_panel"),
    path("sagas/<int:saga_id>/<slug:action>/", executions.act, name="saga_action"),
    path("bulk/", executions.bulk, name="bulk"),
    # Archive replays.
    path("archives/", replays.archives, name="archives"),
    path("archives/<slug:archive>/replay/", replays.new_replay, name="new_replay"),
    path("replays/<int:replay_id>/", replays.detail, name="replay"),
    path("replays/<int:replay_id>/cancel/", replays.cancel, name="cancel_replay"),
]
