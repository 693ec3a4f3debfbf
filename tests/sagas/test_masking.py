"""Secrets on the saga pages: a waiting step's task token never reaches a page, an API
response or the CSV export, whoever asks (admins included); sensitive fields are masked for
everybody but admins."""

from __future__ import annotations

import json

import pytest

from opsconsole.audit.log import Actor
from opsconsole.aws import sqs
from opsconsole.identity.actions import issue_api_token
from opsconsole.web.masking import MASK, REDACTED_TOKEN, masker
from sagas import actions
from sagas.models import Saga, SagaDetail

pytestmark = pytest.mark.django_db


def test_it_hides_a_waiting_orders_task_token_everywhere_even_from_admins(
    seeded, admin_client_, users
):
    actions.sync_all_kinds(kind="orders")
    saga = Saga.objects.get(kind="orders", business_key="8842")
    token = next(
        json.loads(m.body)["taskToken"]
        for m in sqs.receive_messages(seeded.queue_urls["order-approvals"], max_messages=10)
        if json.loads(m.body).get("orderId") == "8842"
    )
    assert len(token) > 8
    _, raw = issue_api_token(Actor.system("test"), "ticketing-admin", "admin")
    api = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    seen = {
        "case page": admin_client_.get(f"/sagas/orders/{saga.business_key}/"),
        "case fragment": admin_client_.get(
            f"/sagas/orders/{saga.business_key}/",
            HTTP_HX_REQUEST="true",
            HTTP_HX_TARGET="case-live",
        ),
        "list": admin_client_.get("/sagas/orders/"),
        "csv": admin_client_.get("/sagas/orders/export.csv"),
        "api detail": admin_client_.get(f"/api/v1/sagas/{saga.pk}/", **api),
        "api timeline": admin_client_.get(f"/api/v1/sagas/{saga.pk}/timeline/", **api),
        "api list": admin_client_.get("/api/v1/sagas/?kind=orders", **api),
    }
    for what, response in seen.items():
        assert response.status_code == 200, what
        body = (
            b"".join(response.streaming_content) if response.streaming else response.content
        ).decode()
        assert token not in body, f"the task token leaked into the {what}"
    page = seen["case page"].content.decode()
    assert "AwaitApproval" in page and "task token hidden" in page
    detail = SagaDetail.objects.get(saga=saga)
    assert token not in json.dumps(detail.history)  # not even the console's cached copy


def test_it_masks_sensitive_fields_for_everybody_but_admins(rf, users):
    doc = {"data": {"customer": {"email": "a@example.net"}}, "taskToken": "t0k"}
    fields = ("data.customer.email",)
    for role in ("viewer", "operator", "approver"):
        request = rf.get("/")
        request.user = users[role]
        shown = masker(fields, request)(doc)
        assert shown["data"]["customer"]["email"] == MASK and shown["taskToken"] == REDACTED_TOKEN
    request = rf.get("/")
    request.user = users["admin"]
    shown = masker(fields, request)(doc)
    assert shown["data"]["customer"]["email"] == "a@example.net"
    assert shown["taskToken"] == REDACTED_TOKEN


def test_it_masks_sensitive_fields_in_an_error_cause_for_non_admins(clients_by_role):
    from .factories import saga_from_history

    cause = json.dumps(
        {"errorMessage": "card refused", "data": {"customer": {"email": "x@ex.net"}}}
    )
    saga = saga_from_history("order_declined", last_error="PaymentFailed", last_cause=cause)
    for role, sees in (
        ("viewer", False),
        ("operator", False),
        ("approver", False),
        ("admin", True),
    ):
        client = clients_by_role[role]
        page = client.get(f"/sagas/orders/{saga.business_key}/").content.decode()
        api = client.get(f"/api/v1/sagas/{saga.pk}/").content.decode()
        assert "card refused" in page and "card refused" in api
        assert ("x@ex.net" in page) is sees, role
        assert ("x@ex.net" in api) is sees, role


def test_it_masks_the_payment_token_in_a_steps_request_parameters_for_non_admins(
    clients_by_role,
):
    # ChargePayment's request to DynamoDB carries the payment token as `:token`, a name
    # no sensitive path matches: it is masked because the input holds it at one.
    from .factories import saga_from_history

    saga = saga_from_history("order_needs_review", status="needs_review")
    for role, sees in (
        ("viewer", False),
        ("operator", False),
        ("approver", False),
        ("admin", True),
    ):
        client = clients_by_role[role]
        page = client.get(f"/sagas/orders/{saga.business_key}/").content.decode()
        assert "ChargePayment" in page and "dynamodb:updateItem" in page
        api = client.get(f"/api/v1/sagas/{saga.pk}/timeline/").content.decode()
        assert ("tok_visa" in page) is sees, role
        assert ("tok_visa" in api) is sees, role
        assert "customer" in page


def test_it_shows_a_viewer_no_sensitive_value_and_no_token_in_any_document(
    seeded, viewer_client, users
):
    # Two real executions: 8842 waits for approval (its token sits in the approval message),
    # 8845 ran ChargePayment, whose request carries the payment token under `:token`.
    from approvals import actions as approval_actions
    from approvals.models import ApprovalRequest
    from opsconsole.web.masking import sensitive_values
    from sagas.timeline import parse_json

    actions.sync_all_kinds(kind="orders")
    approval_actions.collect_approval_requests()
    fields = ("data.customer.email", "data.customer.phone", "data.shipping.address")
    fields += ("data.payment.token", "customerEmail")
    _, raw = issue_api_token(Actor.system("test"), "ticketing", "viewer")
    api = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    for key in ("8842", "8845"):
        saga = Saga.objects.get(kind="orders", business_key=key)
        data = actions.load_case(saga)
        secrets = sensitive_values([parse_json(data.timeline.input)], fields)
        assert {f"customer{key}@example.net"} <= secrets and len(secrets) >= 4
        documents = {
            "case page": viewer_client.get(f"/sagas/orders/{saga.business_key}/"),
            "case fragment": viewer_client.get(
                f"/sagas/orders/{saga.business_key}/",
                HTTP_HX_REQUEST="true",
                HTTP_HX_TARGET="case-live",
            ),
            "list": viewer_client.get("/sagas/orders/"),
            "search": viewer_client.get(f"/sagas/search/?q={key}"),
            "csv": viewer_client.get("/sagas/orders/export.csv"),
            "api detail": viewer_client.get(f"/api/v1/sagas/{saga.pk}/", **api),
            "api timeline": viewer_client.get(f"/api/v1/sagas/{saga.pk}/timeline/", **api),
            "api list": viewer_client.get("/api/v1/sagas/?kind=orders", **api),
        }
        requests = ApprovalRequest.objects.filter(business_key=key)
        assert requests.exists() is (key == "8842")
        for request in requests:
            documents["approval page"] = viewer_client.get(f"/approvals/{request.pk}/")
            documents["approval api"] = viewer_client.get(f"/api/v1/approvals/{request.pk}/", **api)
            documents["approval panel"] = viewer_client.get(f"/approvals/saga/{saga.pk}/panel/")
        for what, response in documents.items():
            assert response.status_code in (200, 302), (key, what, response.status_code)
            body = (
                b"".join(response.streaming_content) if response.streaming else response.content
            ).decode()
            leaked = sorted(s for s in secrets if s in body)
            assert not leaked, f"order {key}: {leaked} in the {what}"
    assert "ChargePayment" in viewer_client.get("/sagas/orders/8845/").content.decode()
