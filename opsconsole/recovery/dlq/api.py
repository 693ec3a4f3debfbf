"""REST API v1: DLQs and dead letters — the inbox, a DLQ's messages, search, one message,
looking, sending back (selected, all matching, edited), deleting, and move tasks.

Sending back and deleting answer 202 with the job (`/api/v1/jobs/<id>/` for progress and
per-message results); `dry_run` answers with the preview only. `Idempotency-Key` is required
on those: the same key returns the job already started."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from opsconsole.identity.permissions import IsViewer
from opsconsole.identity.roles import actor_for, user_role

from ..models import DeadLetter
from . import actions, selectors, sendback
from .errors import MessageNotFound
from .serializers import (
    DeadLetterDetailSerializer,
    DeadLetterSerializer,
    EditedRedriveInput,
    InboxRowSerializer,
    LookInput,
    LookSerializer,
    MessagesQuerySerializer,
    MoveCancelInput,
    MoveCancelledSerializer,
    MoveStartedSerializer,
    MoveStartInput,
    MoveTasksSerializer,
    PreviewSerializer,
    RedriveInput,
    SearchQuerySerializer,
    SelectionInput,
    SubmittedSerializer,
)

IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="The same key again returns the job already started (created: false).",
)


class OldestFirst(CursorPagination):
    ordering = ("sent_at", "id")
    page_size = 100


class DlqList(generics.GenericAPIView):
    """Every configured DLQ with depth, in-flight, oldest message and its expiry; worst first."""

    permission_classes = [IsViewer]
    serializer_class = InboxRowSerializer
    pagination_class = None  # one row per configured DLQ: the answer is a plain list

    @extend_schema(responses={200: InboxRowSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response(InboxRowSerializer(selectors.inbox(), many=True).data)


class DlqMessages(generics.ListAPIView):
    """The messages seen in one DLQ (snapshots), oldest first; cursor-paginated."""

    permission_classes = [IsViewer]
    serializer_class = DeadLetterSerializer
    pagination_class = OldestFirst

    def get_queryset(self) -> Any:
        params = MessagesQuerySerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        actions.dlq_named(self.kwargs["name"])
        state = params.validated_data["state"]
        return selectors.messages_of(self.kwargs["name"], None if state == "all" else state)

    @extend_schema(parameters=[MessagesQuerySerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class DlqLook(generics.GenericAPIView):
    """Read up to `limit` messages now and keep snapshots (operators). Each message read
    gets one more receive count; all are made visible again at once."""

    permission_classes = [IsAuthenticated]
    serializer_class = LookSerializer

    @extend_schema(request=LookInput, responses={200: LookSerializer})
    def post(self, request: Request, name: str) -> Response:
        data = LookInput(data=request.data)
        data.is_valid(raise_exception=True)
        look = actions.look(name, limit=data.validated_data["limit"], actor=actor_for(request))
        return Response(LookSerializer(look).data)


class MoveTasks(generics.GenericAPIView):
    """GET: the DLQ's latest move tasks. POST: start AWS's move task (every message back to
    its source; one active task per queue; operators)."""

    permission_classes = [IsAuthenticated]
    serializer_class = MoveTasksSerializer

    def get_permissions(self) -> list[Any]:
        return [IsViewer()] if self.request.method == "GET" else [IsAuthenticated()]

    def get(self, request: Request, name: str) -> Response:
        return Response(MoveTasksSerializer(actions.move_tasks(name)).data)

    @extend_schema(request=MoveStartInput, responses={201: MoveStartedSerializer})
    def post(self, request: Request, name: str) -> Response:
        actions.require_operator(actor_for(request), "dlq.move_task.start", name)
        data = MoveStartInput(data=request.data)
        data.is_valid(raise_exception=True)
        handle = actions.start_move_task(
            name,
            actor=actor_for(request),
            ticket=data.validated_data["ticket"],
            reason=data.validated_data["reason"],
            rate=data.validated_data["rate"],
        )
        return Response({"handle": handle}, status=status.HTTP_201_CREATED)


class MoveTaskCancel(generics.GenericAPIView):
    """Cancel a running move task (what moved stays moved; operators)."""

    permission_classes = [IsAuthenticated]
    serializer_class = MoveCancelledSerializer

    @extend_schema(request=MoveCancelInput, responses={200: MoveCancelledSerializer})
    def post(self, request: Request, name: str) -> Response:
        data = MoveCancelInput(data=request.data)
        data.is_valid(raise_exception=True)
        moved = actions.cancel_move_task(
            name, data.validated_data["handle"], actor=actor_for(request)
        )
        return Response({"moved": moved})


class DeadLetterSearch(generics.GenericAPIView):
    """Dead letters across all DLQs by business key, correlation id, message id, error code
    or `$.path=value` (no AWS call)."""

    permission_classes = [IsViewer]
    serializer_class = DeadLetterSerializer
    pagination_class = None  # the search answers a bounded list, not pages

    @extend_schema(
        parameters=[SearchQuerySerializer], responses={200: DeadLetterSerializer(many=True)}
    )
    def get(self, request: Request) -> Response:
        params = SearchQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        found = selectors.search(**params.validated_data)
        return Response(DeadLetterSerializer(found.results, many=True).data)


class DeadLetterDetail(generics.RetrieveAPIView):
    """One dead letter: body (masked for the caller), attributes, envelope, its saga."""

    permission_classes = [IsViewer]
    serializer_class = DeadLetterDetailSerializer
    queryset = DeadLetter.objects.all()


def _submitted(job: Any, created: bool, preview: Any) -> Response:
    body = {
        "job": job.pk,
        "job_url": reverse("recovery:job", args=[job.pk]),
        "api_url": reverse("api-job", args=[job.pk]),
        "created": created,
        "preview": preview,
    }
    return Response(SubmittedSerializer(body).data, status=status.HTTP_202_ACCEPTED)


def _selection(data: dict[str, Any]) -> list[DeadLetter]:
    return sendback.selected(
        data["ids"], q=data["q"], dlq=data["dlq"], all_matching=data["all_matching"]
    )


class _SendBack(generics.GenericAPIView):
    """What redrive and delete share: operators only, a dry run answers the preview, the
    same Idempotency-Key answers the job already submitted, else the job (202)."""

    permission_classes = [IsAuthenticated]
    serializer_class = SubmittedSerializer
    action = ""
    input_class: type[SelectionInput] = SelectionInput

    def submit(self, letters: list[DeadLetter], v: dict[str, Any], **common: Any) -> Any:
        raise NotImplementedError

    def post(self, request: Request) -> Response:
        actions.require_operator(actor_for(request), f"dlq.{self.action}", "")
        data = self.input_class(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        key = request.headers.get("Idempotency-Key", "")
        if not v["dry_run"] and (existing := sendback.already_submitted(key)) is not None:
            return _submitted(existing, False, None)
        letters = _selection(v)
        shown = sendback.preview(letters, self.action)
        if v["dry_run"]:
            return Response(PreviewSerializer(shown).data)
        job, created = self.submit(
            letters,
            v,
            actor=actor_for(request),
            ticket=v["ticket"],
            reason=v["reason"],
            idempotency_key=key,
        )
        return _submitted(job, created, shown)


class Redrive(_SendBack):
    """Send dead letters back to their source (operators; 202 with the job)."""

    action = "redrive"
    input_class = RedriveInput

    def submit(self, letters: list[DeadLetter], v: dict[str, Any], **common: Any) -> Any:
        return sendback.submit_redrive(letters, rate_per_second=v["rate_per_second"], **common)

    @extend_schema(
        request=RedriveInput,
        parameters=[IDEMPOTENCY],
        responses={202: SubmittedSerializer, 200: PreviewSerializer},
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class Delete(_SendBack):
    """Delete dead letters from their DLQs; snapshots stay, marked (operators; 202 with the job)."""

    action = "delete"

    def submit(self, letters: list[DeadLetter], v: dict[str, Any], **common: Any) -> Any:
        return sendback.submit_delete(letters, **common)

    @extend_schema(
        request=SelectionInput,
        parameters=[IDEMPOTENCY],
        responses={202: SubmittedSerializer, 200: PreviewSerializer},
    )
    def post(self, request: Request) -> Response:
        return super().post(request)


class RedriveEdited(generics.GenericAPIView):
    """Send one dead letter back with a corrected body (JSON validated; the audit record
    keeps before, after and the diff; operators; 202 with the job)."""

    permission_classes = [IsAuthenticated]
    serializer_class = SubmittedSerializer

    @extend_schema(
        operation_id="dead_letter_redrive_edited",
        request=EditedRedriveInput,
        parameters=[IDEMPOTENCY],
        responses={202: SubmittedSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        actions.require_operator(actor_for(request), "dlq.redrive", str(pk))
        data = EditedRedriveInput(data=request.data)
        data.is_valid(raise_exception=True)
        letter = DeadLetter.objects.filter(pk=pk).first()
        if letter is None:
            raise MessageNotFound(message=pk)
        v = data.validated_data
        job, created = sendback.submit_edited(
            letter,
            v["body"],
            actor=actor_for(request),
            ticket=v["ticket"],
            reason=v["reason"],
            idempotency_key=request.headers.get("Idempotency-Key", ""),
            role=user_role(request),
        )
        return _submitted(job, created, None)
