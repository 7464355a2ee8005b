"""The FastAPI application: ``create_app(settings)`` builds one, fully loaded.

>>> from quickphrase.service.sidecar import Settings, create_app
>>> app = create_app(Settings(db="/tmp/quickphrase-doc.sqlite3"))  # doctest: +SKIP

Loading happens here, not on the first request, so a broken model or library
stops the process before it listens (``StartupError``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.telemetry import TelemetryConfig

import quickphrase
from quickphrase.engine import Engine

from . import errors, logs, routes
from .fastpath import FastJsonRoute
from .limits import BodyLimitMiddleware
from .metrics import MetricsMiddleware
from .routes import admin, api, probes
from .schemas import CheckRequest, SuggestRequest
from .settings import Settings
from .state import API_KEY_HEADER, ServiceState, client_state, load_state, settle_heap

log = logging.getLogger("quickphrase.sidecar")

NO_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
}

DESCRIPTION = """
Reply suggestions and compliance checks for Taobao/Tmall customer service,
beside the agent's client.

* **POST /v1/suggest**: a buyer message → its intents and up to k compliant
  quick phrases, each with a `suggestion_id` to report back.
* **POST /v1/check**: an agent's draft → verdict, violations, redacted text.
* **POST /v1/feedback**: what the agent did with a suggestion (stored on disk
  before the answer; acceptance rates shape later rankings).

Errors are JSON `{error, message, details}`. Off loopback every `/v1` route
needs the `X-API-Key` header; `/v1/admin` routes always do.
"""


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """A sidecar app with its model, library, rules and store loaded.

    ``engine``: an already loaded engine to serve (tests share one).
    Raises ``StartupError`` naming the file that stops it from starting.
    """
    settings = settings or Settings()
    state = load_state(settings, engine)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settle_heap(collect=False)
        sync = asyncio.create_task(_follow_other_workers(state))
        log.info(
            "ready",
            extra={"phrases": len(state.engine.library.phrases), "db": str(settings.db)},
        )
        try:
            yield
        finally:
            state.ready = False
            sync.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sync
            state.store.close()

    app = FastAPI(
        title="quickphrase sidecar",
        version=quickphrase.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # FastAPI's own OpenTelemetry hooks would check for providers on every
        # request and could export request bodies (buyer text); /metrics is
        # the sidecar's telemetry.
        telemetry=NO_TELEMETRY,
    )
    app.state.service = state
    for path, model, endpoint in (
        ("/v1/suggest", SuggestRequest, routes.suggest),
        ("/v1/check", CheckRequest, routes.check),
    ):
        fast = FastJsonRoute(
            path, model=model, endpoint=endpoint, state=client_state, router=app.router
        )
        app.router.routes.insert(0, fast)  # before the documented route it stands in for
    app.include_router(api)
    app.include_router(admin)
    app.include_router(probes)
    errors.install(app)
    _document_security(app)
    # Added innermost first: metrics see every answer, 500s and 413s included.
    app.add_middleware(errors.CatchAllMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=state.metrics, log_requests=settings.access_log)
    return app


def app_from_environment() -> FastAPI:
    """Factory for worker processes: settings come from ``QUICKPHRASE_*``."""
    settings = Settings()
    logs.configure(settings.log_level, as_json=settings.log_json)
    return create_app(settings)


async def _follow_other_workers(state: ServiceState) -> None:
    """Pick up acceptance counts and library reloads written by other workers."""
    while True:
        await asyncio.sleep(state.settings.sync_seconds)
        try:
            await run_in_threadpool(state.store.refresh)
            generation = await run_in_threadpool(state.store.generation)
            if generation != state.generation:
                await run_in_threadpool(state.reload)
                state.generation = generation
        except Exception as exc:  # keep serving what is loaded
            log.warning("sync with the store failed", extra={"error": type(exc).__name__})


def _document_security(app: FastAPI) -> None:
    """Add the API key to the OpenAPI schema: optional on /v1 (needed off
    loopback), required on /v1/admin."""
    plain = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = plain()
        schema.setdefault("components", {})["securitySchemes"] = {
            "ApiKey": {"type": "apiKey", "in": "header", "name": API_KEY_HEADER},
            "Bearer": {"type": "http", "scheme": "bearer"},
        }
        for path, operations in schema["paths"].items():
            for operation in operations.values():
                if path.startswith("/v1/admin"):
                    operation["security"] = [{"ApiKey": []}, {"Bearer": []}]
                elif path.startswith("/v1") or path == "/metrics":
                    operation["security"] = [{"ApiKey": []}, {"Bearer": []}, {}]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
