from django.urls import path

from . import api

urlpatterns = [
    path("dlqs/", api.DlqList.as_view(), name="api-dlqs"),
    path("dlqs/<str:name>/messages/", api.DlqMessages.as_view(), name="api-dlq-messages"),
    path("dlqs/<str:name>/look/", api.DlqLook.as_view(), name="api-dlq-look"),
    path("dlqs/<str:name>/move-tasks/", api.MoveTasks.as_view(), name="api-dlq-move-tasks"),
    path(
        "dlqs/<str:name>/move-tasks/cancel/",
        api.MoveTaskCancel.as_view(),
        name="api-dlq-move-task-cancel",
    ),
    path("dead-letters/", api.DeadLetterSearch.as_view(), name="api-dead-letters"),
    path("dead-letters/redrive/", api.Redrive.as_view(), name="api-dead-letters-redrive"),
    path("dead-letters/delete/", api.Delete.as_view(), name="api-dead-letters-delete"),
    path("dead-letters/<int:pk>/", api.DeadLetterDetail.as_view(), name="api-dead-letter"),
    path(
        "dead-letters/<int:pk>/redrive/",
        api.RedriveEdited.as_view(),
        name="api-dead-letter-redrive-edited",
    ),
]
