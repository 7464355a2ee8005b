"""The HTTP sidecar: a FastAPI app over the engine, a SQLite feedback store,
Prometheus metrics. ``quickphrase serve`` runs it under uvicorn."""

from .app import create_app
from .settings import Settings
from .state import StartupError

__all__ = ["Settings", "StartupError", "create_app"]
