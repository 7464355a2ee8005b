"""The hot routes' well-formed requests, served without FastAPI's per-request machinery.

On this machine FastAPI's routing, dependency solving and body parsing cost
about 170 µs per request, as much as half the engine's own work, and
``POST /v1/suggest`` has a 1,000 requests/s target on one process. A
``FastJsonRoute`` sits before the documented FastAPI route of the same path
and answers the ordinary request itself with the same parts: the Pydantic
request model (parsing with pydantic-core's JSON reader), the same state
dependency function (the API key check), the same endpoint function.

Anything out of the ordinary (another content type, a body the model
refuses, another method) is declined and the documented route answers it,
so every error reads exactly as FastAPI and ``errors.py`` make it. The
documented route is also what ``/openapi.json`` describes.

The state dependency is called directly: ``app.dependency_overrides`` does
not reach the fast path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

_DECLINED = "quickphrase.fastpath.declined"

Endpoint = Callable[[Any, Any], Awaitable[Response]]
StateDependency = Callable[[Request], Awaitable[Any]]


class FastJsonRoute(Route):
    """``POST path`` with a JSON body: ``endpoint(model.parse(body), await state(request))``.

    ``router`` is the app's router, which hands a declined request to the
    documented route; insert this route before it (``routes.insert(0, ...)``).
    """

    def __init__(
        self,
        path: str,
        *,
        model: type[BaseModel],
        endpoint: Endpoint,
        state: StateDependency,
        router: ASGIApp,
    ) -> None:
        super().__init__(path, endpoint, methods=["POST"], include_in_schema=False)
        self.model = model
        self.call = endpoint
        self.state = state
        self.router = router

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope["method"] != "POST" or scope.get(_DECLINED):
            return Match.NONE, {}  # the documented route answers, 405s included
        match, child_scope = super().matches(scope)
        if match is Match.FULL:
            child_scope["route"] = self  # metrics label requests by route path
        return match, child_scope

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        body = await request.body()
        parsed = self._parse(request, body)
        if parsed is None:
            scope[_DECLINED] = True
            await self.router(scope, _replay(body, receive), send)
            return
        response = await self.call(parsed, await self.state(request))
        await response(scope, receive, send)

    def _parse(self, request: Request, body: bytes) -> BaseModel | None:
        kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if kind != "application/json":
            return None
        try:
            return self.model.model_validate_json(body)
        except ValidationError:
            return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` for a request whose body was read already."""
    given = False

    async def replay() -> dict[str, Any]:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
