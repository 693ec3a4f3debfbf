"""REST API v1: webhook endpoints (admins). Same actions, roles and audit as the pages."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from opsconsole.identity.permissions import IsAdmin
from opsconsole.identity.roles import actor_for
from opsconsole.web.openapi import problem_response

from . import actions
from .models import Delivery, WebhookEndpoint
from .serializers import (
    DeliverySerializer,
    EndpointChange,
    EndpointInput,
    EndpointWithSecretSerializer,
    WebhookEndpointSerializer,
)


class NewestFirst(CursorPagination):
    ordering = ("-id",)
    page_size = 50


class EndpointList(generics.ListCreateAPIView):
    """Webhook endpoints; POST subscribes a URL and answers with its secret, once."""

    permission_classes = [IsAdmin]
    serializer_class = WebhookEndpointSerializer
    pagination_class = NewestFirst
    queryset = WebhookEndpoint.objects.all()

    @extend_schema(
        request=EndpointInput,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="Retry safely: the same key and request again (within 24 hours, "
                "before a rotation) answer the endpoint it created, with its secret (200).",
            )
        ],
        responses={
            201: EndpointWithSecretSerializer,
            200: EndpointWithSecretSerializer,
            **problem_response(409, "The Idempotency-Key was used for another request."),
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = EndpointInput(data=request.data)
        payload.is_valid(raise_exception=True)
        created = actions.create_endpoint(
            actor_for(request),
            idempotency_key=request.headers.get("Idempotency-Key", ""),
            **payload.validated_data,
        )
        body = EndpointWithSecretSerializer(
            {"endpoint": created.endpoint, "secret": created.secret}
        ).data
        return Response(
            body, status=status.HTTP_201_CREATED if created.created else status.HTTP_200_OK
        )


class EndpointDetail(generics.RetrieveAPIView):
    """One endpoint; PATCH changes it (URL, description, event types, enabled); DELETE
    removes it with its delivery log."""

    permission_classes = [IsAdmin]
    serializer_class = WebhookEndpointSerializer

    def get_object(self) -> WebhookEndpoint:
        return actions.get_endpoint(self.kwargs["pk"])

    @extend_schema(request=EndpointChange, responses={200: WebhookEndpointSerializer})
    def patch(self, request: Request, pk: int) -> Response:
        payload = EndpointChange(data=request.data)
        payload.is_valid(raise_exception=True)
        changed = actions.update_endpoint(actor_for(request), pk, **payload.validated_data)
        return Response(WebhookEndpointSerializer(changed).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        actions.delete_endpoint(actor_for(request), pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RotateSecret(generics.GenericAPIView):
    """A new signing secret (answered once); the previous one signs too for 24 hours."""

    permission_classes = [IsAdmin]
    serializer_class = EndpointWithSecretSerializer

    @extend_schema(request=None, responses={200: EndpointWithSecretSerializer})
    def post(self, request: Request, pk: int) -> Response:
        rotated = actions.rotate_secret(actor_for(request), pk)
        return Response(
            EndpointWithSecretSerializer(
                {"endpoint": rotated.endpoint, "secret": rotated.secret}
            ).data
        )


class DeliveryList(generics.ListAPIView):
    """The endpoint's delivery log, newest first, with every attempt."""

    permission_classes = [IsAdmin]
    serializer_class = DeliverySerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> Any:
        endpoint = actions.get_endpoint(self.kwargs["pk"])
        return Delivery.objects.filter(endpoint=endpoint).prefetch_related("log")


class Redeliver(generics.GenericAPIView):
    """Send a delivery again now, with its original webhook id (202: queued)."""

    permission_classes = [IsAdmin]
    serializer_class = DeliverySerializer

    @extend_schema(request=None, responses={202: DeliverySerializer})
    def post(self, request: Request, pk: int, delivery_pk: int) -> Response:
        queued = actions.redeliver(actor_for(request), pk, delivery_pk)
        return Response(DeliverySerializer(queued).data, status=status.HTTP_202_ACCEPTED)
