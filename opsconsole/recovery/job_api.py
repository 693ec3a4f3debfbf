"""REST API v1: recovery jobs — progress, per-item results, pause, resume and cancel."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from opsconsole.identity.permissions import IsViewer
from opsconsole.identity.roles import actor_for

from . import jobs
from .job_serializers import JobItemQuerySerializer, JobItemSerializer, JobSerializer
from .models import Job, JobItem


class NewestFirst(CursorPagination):
    ordering = ("-id",)
    page_size = 50


class InOrder(CursorPagination):
    ordering = ("seq",)
    page_size = 100


class JobList(generics.ListAPIView):
    """Recovery jobs, newest first; cursor-paginated."""

    serializer_class = JobSerializer
    permission_classes = [IsViewer]
    pagination_class = NewestFirst
    queryset = Job.objects.all()


class JobDetail(generics.RetrieveAPIView):
    """One job: what was asked, by whom, and its progress."""

    serializer_class = JobSerializer
    permission_classes = [IsViewer]
    queryset = Job.objects.all()


class JobItems(generics.ListAPIView):
    """A job's items in order, with their results; cursor-paginated."""

    serializer_class = JobItemSerializer
    permission_classes = [IsViewer]
    pagination_class = InOrder

    def get_queryset(self) -> Any:
        params = JobItemQuerySerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        job = jobs.get(self.kwargs["pk"])
        qs = JobItem.objects.filter(job=job)
        if state := params.validated_data.get("state"):
            qs = qs.filter(state=state)
        return qs

    @extend_schema(parameters=[JobItemQuerySerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class _Steer(generics.GenericAPIView):
    # Any signed-in caller: the action refuses (and audits) a role that may not steer.
    permission_classes = [IsAuthenticated]
    serializer_class = JobSerializer
    verb = ""

    @extend_schema(request=None, responses={200: JobSerializer})
    def post(self, request: Request, pk: int) -> Response:
        job = getattr(jobs, self.verb)(jobs.get(pk), actor_for(request))
        return Response(JobSerializer(job).data)


class JobPause(_Steer):
    """Pause a job: no new items are taken; those in flight finish. 409 if not running."""

    verb = "pause"


class JobResume(_Steer):
    """Resume a paused job. 409 if it is not paused."""

    verb = "resume"


class JobCancel(_Steer):
    """Cancel the items not yet taken; what was acted on stays. 409 if the job has ended."""

    verb = "cancel"
