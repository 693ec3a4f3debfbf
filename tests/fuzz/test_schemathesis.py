"""Schemathesis over the committed OpenAPI schema (api/openapi.yaml), in process, as an
admin token and as a viewer token: no server error and no response that breaks the schema.

Marked `fuzz`: `make fuzz` (and CI) runs it, with the seed and the number of examples in
the log (`FUZZ_SEED`, `FUZZ_EXAMPLES` choose them; the seed is random when unset).
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

SCHEMA = Path(__file__).resolve().parents[2] / "api" / "openapi.yaml"
SEED = int(os.environ.get("FUZZ_SEED") or random.randrange(2**32))  # noqa: S311 - not crypto
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or 25)
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db(transaction=True)]

schema = schemathesis.openapi.from_path(SCHEMA)
schema.app = get_wsgi_application()
calls: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    print(f"\nschemathesis: seed {SEED}, up to {EXAMPLES} examples per operation and role")
    yield
    total = sum(calls.values())
    print(f"\nschemathesis: {total} requests over {len(calls)} operation/role pairs, seed {SEED}")
    for key, n in sorted(calls.items()):
        print(f"  {n:4d}  {key}")


@pytest.fixture
def world(aws: None, settings: Any) -> dict[str, str]:
    """A little of everything the API serves, and one token per role."""
    # A redelivery the fuzzer asks for must not wait on the network.
    settings.INTEGRATIONS_TIMEOUT = 0.2
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    from opsconsole.audit.log import Actor
    from opsconsole.identity.actions import issue_api_token
    from opsconsole.integrations import actions as integrations
    from tests.approvals.factories import make_request
    from tests.sagas.factories import make_saga

    make_saga(key="8842", ticket="INC0010001")
    make_saga(key="8843", status="failed")
    make_request()
    system = Actor.system("fuzz")
    integrations.create_endpoint(
        Actor("user", "admin@example.com", role="admin"), url="https://93.184.216.34/x"
    )
    return {
        role: issue_api_token(system, f"fuzz-{role}", role, rate_limit="100000/minute")[1]
        for role in ("admin", "viewer")
    }


@pytest.mark.parametrize("role", ["admin", "viewer"])
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=False,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_never_errs_and_keeps_its_schema(
    case: Any, role: str, world: dict[str, str]
) -> None:
    calls[f"{role} {case.method} {case.path}"] += 1
    case.call_and_validate(headers={"Authorization": f"Bearer {world[role]}"}, checks=CHECKS)
