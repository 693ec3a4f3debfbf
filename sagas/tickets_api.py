"""REST API v1: tickets linked to sagas. The ticketing system finds the sagas of a ticket
(`/tickets/{number}/sagas/`), and lists or links a saga's tickets (`/sagas/{ref}/tickets/`)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from opsconsole.identity.permissions import IsOperator, IsViewer
from opsconsole.identity.roles import actor_for
from opsconsole.web.serializers import OutputSerializer, UtcDateTimeField

from . import tickets
from .api import REF_PARAMETER, SagaPagination, find_one
from .models import Saga, SagaTicket
from .serializers import SagaSerializer
from .views import ticket_url


class TicketSerializer(OutputSerializer):
    number = serializers.CharField()
    added_via = serializers.CharField(help_text="`input` (the execution input), `person` or `api`.")
    added_by = serializers.CharField(allow_blank=True)
    added_at = UtcDateTimeField(allow_null=True)
    url = serializers.CharField(
        allow_null=True, help_text="The ticket in the ticketing system, when configured."
    )


class TicketInput(serializers.Serializer):
    number = serializers.CharField(max_length=64, help_text="The ticket number, e.g. INC0012345.")


def _rows(saga: Saga) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if saga.ticket:
        rows.append({"number": saga.ticket, "added_via": "input", "added_by": "", "added_at": None})
    for link in saga.linked_tickets.order_by("added_at", "id"):
        if link.number != saga.ticket:
            rows.append(
                {
                    "number": link.number,
                    "added_via": link.source,
                    "added_by": link.added_by,
                    "added_at": link.added_at,
                }
            )
    return [{**r, "url": ticket_url(r["number"])} for r in rows]


NUMBER = OpenApiParameter("number", str, OpenApiParameter.PATH, description="A ticket number.")


class TicketSagas(generics.ListAPIView):
    """The sagas a ticket names (from the execution input or linked), newest first."""

    permission_classes = [IsViewer]
    serializer_class = SagaSerializer
    pagination_class = SagaPagination

    def get_queryset(self) -> Any:
        return tickets.sagas_for_ticket(self.kwargs["number"])

    @extend_schema(parameters=[NUMBER])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class SagaTickets(generics.GenericAPIView):
    """A saga's tickets; POST links one more (operators and admins; linking one already
    linked changes nothing and answers 200)."""

    # Reading needs a viewer, linking an operator: checked per method below.
    permission_classes = [IsAuthenticated]
    serializer_class = TicketSerializer
    queryset = SagaTicket.objects.none()

    @extend_schema(parameters=[REF_PARAMETER], responses={200: TicketSerializer(many=True)})
    def get(self, request: Request, ref: str) -> Response:
        if not IsViewer().has_permission(request, self):
            self.permission_denied(request)
        return Response(TicketSerializer(_rows(find_one(ref)), many=True).data)

    @extend_schema(
        parameters=[REF_PARAMETER],
        request=TicketInput,
        responses={200: TicketSerializer(many=True), 201: TicketSerializer(many=True)},
    )
    def post(self, request: Request, ref: str) -> Response:
        if not IsOperator().has_permission(request, self):
            self.permission_denied(request)
        saga = find_one(ref)
        payload = TicketInput(data=request.data)
        payload.is_valid(raise_exception=True)
        _, created = tickets.link_ticket(
            saga,
            payload.validated_data["number"],
            actor=actor_for(request),
            source=SagaTicket.Source.API,
        )
        return Response(
            TicketSerializer(_rows(saga), many=True).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
