"""The API against its own OpenAPI document (issue 16.5): schemathesis generates requests for every
operation, valid and not, sends them with an admin token, and finds no 5xx, no undocumented status,
no undocumented content type and no answer that breaks its declared schema; on SQLite and PostgreSQL.

The run is bounded (`MAX_EXAMPLES` per operation, `MICROFACTORY_FUZZ_EXAMPLES` to change it) so it
fits in a couple of minutes. Every operation runs even when one fails; the failures are reported
together, each with the request that reproduces it. (Operations are walked here rather than with
schemathesis' pytest loader, which does not run under this pytest.)
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import ADMIN_TOKEN

MAX_EXAMPLES = int(os.environ.get("MICROFACTORY_FUZZ_EXAMPLES", "15"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# Operations whose valid requests are slow by design (a solver runs up to `time_limit` seconds)
SLOW = {"POST /api/v1/sites/{site_id}/plan"}


@pytest.mark.slow
def test_the_api_keeps_to_its_schema(client: TestClient) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    failures: list[str] = []
    ran = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        examples = 2 if label in SLOW else MAX_EXAMPLES

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
            print_blob=False,
        )
        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=ADMIN, checks=CHECKS)

        try:
            call()
        except (Exception, BaseExceptionGroup) as error:  # every failure is collected, reported below
            failures.append(f"{label}:\n{error}")
        ran += 1
    assert ran > 40, "the OpenAPI document lists every operation"
    assert not failures, "\n\n".join(failures)
