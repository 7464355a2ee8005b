"""Test doubles and helpers shared by the hotkey helper's tests (not fixtures: see conftest).

A fake clipboard, backend doubles that record what they are asked, a fake
sidecar (an ``httpx`` handler with canned answers), a clock that moves only
when told, the canned texts an agent copies, and helpers to wait for the
sidecar's statistics, to look for quoted text in the logs and to run a worker.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx

from quickphrase.engine import Engine
from quickphrase.service.hotkey.app import Worker
from quickphrase.service.hotkey.assistant import Assistant
from quickphrase.service.hotkey.backends import Backend, LocalBackend, SidecarBackend
from quickphrase.service.hotkey.clipboard import ClipboardError
from quickphrase.service.hotkey.panels import CheckPanel, Choice, Panel, SuggestPanel

BARGAIN = "亲,能便宜点吗"
CHIT_CHAT = "哈哈哈[图片]"
PHONE = "13812345678"
PROMISE = "明天肯定能到"
RISKY_DRAFT = f"亲,{PROMISE},电话{PHONE}"
SAFE_REPLY = "好的亲,已经为您备注了"
KEY = "test-key-0123456789"
SIDECAR_URL = "http://sidecar.test"
CANNED_REPLY = "亲,宝贝已经是实在价了哦~"
TIMEOUT = 30.0  # seconds a test waits for a worker thread or the sidecar's store


# --- fakes and doubles ----------------------------------------------------------------------------


class FakeClipboard:
    """The system clipboard as a string; remembers every write."""

    def __init__(self, text: str = "") -> None:
        self.text = text
        self.writes: list[str] = []

    def read(self) -> str:
        return self.text

    def write(self, text: str) -> None:
        self.text = text
        self.writes.append(text)


class UnreadableClipboard(FakeClipboard):
    """A clipboard that cannot be read (no xclip, say)."""

    def __init__(self, message: str = "cannot read the clipboard: install xclip") -> None:
        super().__init__()
        self.message = message

    def read(self) -> str:
        raise ClipboardError(self.message)


class UnwritableClipboard(FakeClipboard):
    """A clipboard that holds a message but refuses every write."""

    def __init__(self, text: str, message: str = "cannot write the clipboard: xsel") -> None:
        super().__init__(text)
        self.message = message

    def write(self, text: str) -> None:
        raise ClipboardError(self.message)


class RecordingBackend:
    """A backend double: answers from ``inner`` (or with fixed panels) and records each call."""

    def __init__(self, inner: Backend | None = None) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str]] = []

    def suggest(self, text: str, *, shop_type: str, k: int, agent_id: str | None) -> SuggestPanel:
        self.calls.append(("suggest", text))
        if self.inner is not None:
            return self.inner.suggest(text, shop_type=shop_type, k=k, agent_id=agent_id)
        return SuggestPanel("bargaining", 0.9, (Choice(1, "bargaining.x", CANNED_REPLY, "x"),))

    def check(self, text: str, *, shop_type: str, agent_id: str | None) -> CheckPanel:
        self.calls.append(("check", text))
        if self.inner is not None:
            return self.inner.check(text, shop_type=shop_type, agent_id=agent_id)
        return CheckPanel("pass", (), text, text)

    def accepted(self, choice: Choice, *, agent_id: str | None) -> bool:
        self.calls.append(("accepted", choice.text))
        return False


class FakeSidecar:
    """An httpx handler standing in for a sidecar, with canned answers.

    ``down``: every request is refused; ``feedback_down``: only ``/v1/feedback``
    is (the sidecar went away after suggesting).
    """

    def __init__(self) -> None:
        self.down = False
        self.feedback_down = False
        self.requests: list[httpx.Request] = []

    @property
    def paths(self) -> list[str]:
        return [r.url.path for r in self.requests]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if self.down or (self.feedback_down and path == "/v1/feedback"):
            raise httpx.ConnectError("refused", request=request)
        if path == "/v1/suggest":
            return httpx.Response(200, json=canned_suggestions())
        if path == "/v1/check":
            text = json.loads(request.content)["text"]
            return httpx.Response(200, json={"verdict": "pass", "violations": [], "redacted": text})
        if path == "/v1/feedback":
            return httpx.Response(200, json={"stored": True, "duplicate": False, "counted": True})
        if path == "/readyz":
            return httpx.Response(200, json={"status": "ready"})
        return httpx.Response(404, json={"error": "not_found", "message": path})


class FakeClock:
    """``time.monotonic`` that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingFactory:
    """The in-process engine as FallbackBackend loads it, counting the loads."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.calls = 0

    def __call__(self) -> LocalBackend:
        self.calls += 1
        return LocalBackend(self.engine)


def canned_suggestions() -> dict[str, Any]:
    return {
        "request_id": "r1",
        "intent": "bargaining",
        "confidence": 0.93,
        "intents": [{"intent": "bargaining", "score": 0.93}],
        "suggestions": [
            {
                "suggestion_id": "r1-1",
                "position": 1,
                "phrase_id": "bargaining.coupon_instead",
                "text": CANNED_REPLY,
                "intent": "bargaining",
                "score": 0.8,
            }
        ],
    }


def mock_client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler), base_url=SIDECAR_URL)


def raising(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    """A handler for a sidecar that never answers: every request fails with ``exc``."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


def mock_sidecar(handler: Callable[[httpx.Request], httpx.Response]) -> SidecarBackend:
    return SidecarBackend(SIDECAR_URL, client=mock_client(handler))


def leaks(records: Iterable[logging.LogRecord], secrets: Iterable[str]) -> list[str]:
    """Every captured log message or field that quotes one of ``secrets``."""
    secrets = [s for s in secrets if s]
    found = []
    for record in records:
        parts = [record.getMessage(), *map(str, vars(record).values())]
        found += [p for p in parts if any(s in p for s in secrets)]
    return found


def by_position(stats: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {row["position"]: row for row in stats["acceptance_by_position"]}


@contextlib.contextmanager
def running(assistant: Assistant) -> Iterator[tuple[Worker, queue.Queue[Panel]]]:
    """A started worker (no pasting) and the panels it shows; stopped and joined at the end."""
    shown: queue.Queue[Panel] = queue.Queue()
    worker = Worker(assistant, shown.put)
    worker.start()
    try:
        yield worker, shown
    finally:
        worker.stop()
        worker.join(TIMEOUT)
    assert not worker.is_alive()
