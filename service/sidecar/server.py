"""Run the sidecar under uvicorn: one process, or several workers on one port."""

from __future__ import annotations

import os
import signal
import tempfile

import uvicorn

from . import logs
from .app import create_app
from .settings import Settings
from .state import StartupError, load_engine
from .store import FeedbackStore, StoreError

FACTORY = "quickphrase.service.sidecar.app:app_from_environment"


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def check_exposure(settings: Settings) -> None:
    if not settings.loopback and settings.api_key is None:
        raise StartupError(
            f"binding to {settings.host} (not loopback) needs an API key: "
            "set QUICKPHRASE_API_KEY (or --api-key); clients send it as X-API-Key"
        )


def run(settings: Settings) -> None:
    """Load everything, then listen until stopped. Raises ``StartupError``."""
    logs.configure(settings.log_level, as_json=settings.log_json)
    check_exposure(settings)
    options = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,  # our middleware logs requests when asked, without bodies
        "server_header": False,
        "timeout_graceful_shutdown": 10,
    }
    # uvicorn stops gracefully on SIGTERM, then re-raises it to the handler it
    # found: with this one the process exits 0 instead of dying by the signal.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    if settings.workers == 1:
        uvicorn.run(create_app(settings), **options)
        return
    # Fail here, once and clearly, rather than in every worker.
    load_engine(settings)
    try:
        FeedbackStore(settings.db).close()
    except StoreError as exc:
        raise StartupError(str(exc)) from None
    os.environ.update(settings.env())
    with tempfile.TemporaryDirectory(prefix="quickphrase-metrics-") as metrics_dir:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
        uvicorn.run(FACTORY, factory=True, workers=settings.workers, **options)
