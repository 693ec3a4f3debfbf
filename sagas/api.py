"""The sagas REST API (v1), for the ticketing integration: list, summary, timeline.

One view style for the whole API: DRF generics (`ListAPIView`, `RetrieveAPIView`), each with
its `serializer_class`. Generics carry pagination, permissions and the serializer in class
attributes that drf-spectacular reads, so the committed schema follows the code with few
annotations; a view only overrides `get_queryset`/`get_object` and, where an answer needs
live data, `retrieve`.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from opsconsole.identity.permissions import IsViewer
from opsconsole.registry import get_registry
from opsconsole.web.masking import masker
from opsconsole.web.problems import PROBLEM_CONTENT_TYPE

from . import actions, queries
from .errors import AmbiguousSagaRef
from .models import Saga
from .serializers import (
    AmbiguousRefProblemSerializer,
    SagaCandidateSerializer,
    SagaDetailSerializer,
    SagaQuerySerializer,
    SagaSerializer,
    TimelineSerializer,
)
from .timeline import parse_json

# Enough for a person to choose; a key restarted more often than this is a bug elsewhere.
MAX_CANDIDATES = 20

REF_PARAMETER = OpenApiParameter(
    "ref",
    str,
    OpenApiParameter.PATH,
    description=(
        "The console id, the execution ARN or name, or `<kind>:<business key>` "
        "(409 `saga.ambiguous_ref` when that key has several executions)."
    ),
)
AMBIGUOUS = {
    (409, PROBLEM_CONTENT_TYPE): OpenApiResponse(
        AmbiguousRefProblemSerializer,
        description="`<kind>:<business key>` names several sagas: choose one of `candidates`.",
    )
}


class SagaPagination(CursorPagination):
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = ("-started_at", "-id")


def find_one(reference: str) -> Saga:
    """The saga `reference` names; a `<kind>:<key>` with several executions is refused
    rather than answered with the newest (the caller would not know it got a guess)."""
    registry = get_registry()
    kind, sep, key = reference.strip().partition(":")
    if sep and not reference.startswith("arn:") and kind in registry.kinds:
        candidates = list(
            Saga.objects.filter(kind=kind, business_key=key).order_by("-started_at", "-id")[
                :MAX_CANDIDATES
            ]
        )
        if len(candidates) > 1:
            raise AmbiguousSagaRef(
                reference=reference, candidates=SagaCandidateSerializer(candidates, many=True).data
            )
    saga = queries.find_saga(reference, registry)
    if saga is None:
        raise NotFound(
            f"No saga {reference!r}: use the console id, the execution ARN or name, "
            "or <kind>:<business key>."
        )
    return saga


class SagaRefView(generics.RetrieveAPIView):
    """A view of one saga named by `ref` in the path."""

    permission_classes = [IsViewer]
    queryset = Saga.objects.all()

    def get_object(self) -> Saga:
        return find_one(self.kwargs["ref"])


class SagaList(generics.ListAPIView):
    """Sagas, newest first, filtered; cursor-paginated (`next`/`previous` links)."""

    serializer_class = SagaSerializer
    permission_classes = [IsViewer]
    pagination_class = SagaPagination

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "now": getattr(self, "now", None)}

    def get_queryset(self) -> Any:
        params = SagaQuerySerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        p = params.validated_data
        self.now = timezone.now()
        filters = queries.Filters(
            q=p.get("q") or "",
            status=p.get("status") or "",
            step=p.get("step") or "",
            since=p.get("since"),
            until=p.get("until"),
            stuck=p.get("stuck", False),
        )
        return queries.filtered(
            p.get("kind") or None, filters, now=self.now, registry=get_registry()
        )

    @extend_schema(parameters=[SagaQuerySerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class SagaDetail(SagaRefView):
    """One saga: the summary, its business items read from DynamoDB, its approval requests,
    and links."""

    serializer_class = SagaDetailSerializer

    @extend_schema(parameters=[REF_PARAMETER], responses={200: SagaDetailSerializer, **AMBIGUOUS})
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        saga = self.get_object()
        now = timezone.now()
        kind = get_registry().kinds[saga.kind]
        context = {
            **self.get_serializer_context(),
            "now": now,
            "business": actions.load_business(saga, now=now),
            "mask": masker(kind.sensitive_fields, request, seeds=[actions.cached_input(saga)]),
        }
        return Response(SagaDetailSerializer(saga, context=context).data)


class SagaTimeline(SagaRefView):
    """Every state visit of the saga's execution, its attempts and outcome."""

    serializer_class = TimelineSerializer

    @extend_schema(parameters=[REF_PARAMETER], responses={200: TimelineSerializer, **AMBIGUOUS})
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        saga = Saga.objects.select_related("sagadetail").get(pk=self.get_object().pk)
        now = timezone.now()
        kind = get_registry().kinds[saga.kind]
        case = actions.load_case(saga, now=now)
        mask = masker(kind.sensitive_fields, request, seeds=[parse_json(case.timeline.input)])
        context = {**self.get_serializer_context(), "now": now, "mask": mask}
        return Response(TimelineSerializer(case, context=context).data)
