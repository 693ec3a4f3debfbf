import pytest

pytestmark = pytest.mark.django_db


def test_it_reports_the_process_up_without_a_session(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_it_reports_each_dependency_when_ready(client, aws):
    from opsconsole.emulator import world

    world.build()
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200, body
    assert set(body["checks"]) == {"database", "broker", "aws"}
    assert all(check["ok"] for check in body["checks"].values())


def test_it_stays_ready_when_aws_is_unreachable_and_says_so(client, settings):
    from opsconsole.aws import clients
    from opsconsole.registry import reset_registry

    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    clients.reset_clients()
    reset_registry()
    try:
        response = client.get("/readyz")
    finally:
        clients.reset_clients()
        reset_registry()
    body = response.json()
    # Lists, search and cached case pages serve from the database: AWS is reported only.
    assert response.status_code == 200
    assert body["checks"]["database"]["ok"] is True and body["checks"]["database"]["required"]
    assert body["checks"]["aws"]["ok"] is False and body["checks"]["aws"]["required"] is False
    assert "unreachable" in body["checks"]["aws"]["error"].lower()
