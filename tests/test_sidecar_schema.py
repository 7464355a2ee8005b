"""Property-based fuzzing of the sidecar's HTTP API against its own OpenAPI schema.

Schemathesis generates requests from ``/openapi.json`` and sends them to the
app in process. Whatever it sends, the answer is never a 500, its status is
one the operation documents and its body fits the documented schema; invalid
requests get a 4xx.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    negative_data_rejection,
    positive_data_acceptance,
)

from quickphrase.engine import Engine
from quickphrase.service.sidecar import Settings, create_app

API_KEY = "schema-fuzz-key-0123456789"
AUTH = {"X-API-Key": API_KEY}
FUZZ = settings(
    max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
# Operations without any input to get wrong (the key is sent with every request).
NO_INPUT = ["/healthz", "/readyz", "/metrics", "/v1/admin/reload"]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


def _app(directory: Path, engine: Engine) -> FastAPI:
    return create_app(Settings(db=directory / "x.sqlite3", api_key=API_KEY), engine=engine)


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """Schemathesis 4.32's fixture-loaded schemas read ``Node._nodeid``, which
    pytest 9.2 replaced by ``Node._id``: give the test node the old attribute."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


# One app per test: schemathesis ends an app's lifespan after each test, and
# the end of a lifespan closes the app's store for good.
@pytest.fixture(scope="module")
def valid_requests(
    tmp_path_factory: pytest.TempPathFactory, engine: Engine
) -> Iterator[schemathesis.BaseSchema]:
    app = _app(tmp_path_factory.mktemp("sidecar-schema"), engine)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.generation.update(modes=[GenerationMode.POSITIVE])
    yield schema
    app.state.service.store.close()


@pytest.fixture(scope="module")
def invalid_requests(
    tmp_path_factory: pytest.TempPathFactory, engine: Engine
) -> Iterator[schemathesis.BaseSchema]:
    app = _app(tmp_path_factory.mktemp("sidecar-schema"), engine)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.generation.update(modes=[GenerationMode.NEGATIVE])
    # A string or list over its maximum length is refused with 413 by design.
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    yield schema
    app.state.service.store.close()


positive = schemathesis.pytest.from_fixture("valid_requests")
negative = schemathesis.pytest.from_fixture("invalid_requests").exclude(path=NO_INPUT)


@positive.parametrize()
@FUZZ
def test_schema_valid_requests_get_documented_statuses_and_bodies(case: schemathesis.Case) -> None:
    # Rules the schema cannot express (known intents and variables, exactly one of
    # suggestion_id and phrase_id) answer a documented 422 to schema-valid requests.
    case.call_and_validate(headers=AUTH, excluded_checks=[positive_data_acceptance])


@negative.parametrize()
@FUZZ
def test_schema_invalid_requests_are_refused_with_a_documented_4xx(
    case: schemathesis.Case,
) -> None:
    excluded = []
    if case.operation.path == "/v1/stats":
        # `since` also takes a Unix timestamp (pydantic's lax datetime), not only ISO 8601.
        excluded.append(negative_data_rejection)
    case.call_and_validate(headers=AUTH, excluded_checks=excluded)


@pytest.mark.parametrize("parameter", ["intent", "code"])
def test_over_long_phrases_filter_gets_a_documented_status(
    tmp_path: Path, engine: Engine, parameter: str
) -> None:
    with TestClient(_app(tmp_path, engine)) as client:
        documented = client.get("/openapi.json").json()["paths"]["/v1/phrases"]["get"]
        response = client.get("/v1/phrases", params={parameter: "a" * 65})
    assert 400 <= response.status_code < 500
    assert str(response.status_code) in documented["responses"]
