"""Request bodies over the limit are refused with a JSON 413 before anything parses them.

FastAPI's own ``max_body_size`` answers a declared oversize ``Content-Length``
with plain text; every error of the sidecar is JSON, hence this middleware.
"""

from __future__ import annotations

import json
from typing import Any

from .schemas import error_body

_BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})


class BodyLimitMiddleware:
    """Reads the body (at most ``max_bytes``) and hands it on; more is a 413.

    A declared ``Content-Length`` is checked first so a huge upload is refused
    without being read; chunked bodies are counted as they arrive.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in _BODYLESS:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared == -1:
            await _refuse(send, 400, "bad_request", "the Content-Length header is not a number")
            return
        if declared is not None and declared > self.max_bytes:
            await self._too_large(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Any) -> None:
        message = f"the request body is over {self.max_bytes:,} bytes"
        await _refuse(send, 413, "body_too_large", message)


def _content_length(scope: dict) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return None


async def _refuse(send: Any, status: int, error: str, message: str) -> None:
    body = json.dumps(error_body(error, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
