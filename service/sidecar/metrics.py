"""Prometheus metrics for ``GET /metrics`` and the middleware that times requests.

Each app has its own registry (two apps in one process, as in tests, do not
share counts). With several worker processes, ``quickphrase serve`` sets
``PROMETHEUS_MULTIPROC_DIR`` and a scrape sums every worker's files.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

access_log = logging.getLogger("quickphrase.access")

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


class Metrics:
    """The sidecar's counters and histograms."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "quickphrase_http_requests", "HTTP requests", ["route", "method", "status"], registry=r
        )
        self.latency = Histogram(
            "quickphrase_http_request_duration_seconds",
            "Time from request to response, by route",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.intents = Counter(
            "quickphrase_intents_served",
            "Buyer messages by predicted intent",
            ["intent"],
            registry=r,
        )
        self.suggestions = Counter(
            "quickphrase_suggestions_served", "Suggestions returned", ["position"], registry=r
        )
        self.blocks = Counter(
            "quickphrase_compliance_blocks",
            "Checked texts blocked, by rule category",
            ["category"],
            registry=r,
        )
        self.feedback = Counter(
            "quickphrase_feedback", "Feedback events stored", ["action"], registry=r
        )

        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}

    def child(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, remembered: ``labels()`` costs
        microseconds, on every request of a hot route."""
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def count(self, counter: Counter, label: str) -> None:
        self.child(counter, label).inc()

    def render(self) -> tuple[bytes, str]:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            merged = CollectorRegistry()
            MultiProcessCollector(merged)
            return generate_latest(merged), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Counts and times every HTTP request by route template (never by raw path,
    so unknown paths cannot blow up the label set); optionally logs it."""

    def __init__(self, app: Any, metrics: Metrics, *, log_requests: bool = False) -> None:
        self.app = app
        self.metrics = metrics
        self.log_requests = log_requests

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_note(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            elapsed = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            metrics = self.metrics
            metrics.child(metrics.requests, route, scope["method"], str(status)).inc()
            metrics.child(metrics.latency, route).observe(elapsed)
            if self.log_requests:
                access_log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "route": route,
                        "status": status,
                        "ms": round(elapsed * 1000, 2),
                    },
                )
