"""What every request shares: the engine, the feedback store, the metrics.

Loaded once per worker process. ``StartupError`` carries a message for a
person (naming the file at fault), never a traceback.
"""

from __future__ import annotations

import gc
import logging
import secrets
import threading
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from quickphrase.engine import Engine
from quickphrase.model.artifact import ModelLoadError
from quickphrase.phrases.compliance import RuleError
from quickphrase.phrases.library import LibraryError

from .errors import ApiError
from .metrics import Metrics
from .settings import Settings
from .store import FeedbackStore, StoreError

log = logging.getLogger("quickphrase.sidecar")


class StartupError(RuntimeError):
    """The sidecar cannot start; the message says which file and why."""


@dataclass
class ServiceState:
    settings: Settings
    engine: Engine
    store: FeedbackStore
    metrics: Metrics = field(default_factory=Metrics)
    generation: int = 0  # the library generation this process serves
    ready: bool = True
    reload_lock: threading.Lock = field(default_factory=threading.Lock)

    def reload(self) -> list[str]:
        """Re-read the library and rules; raise (keeping the old engine) if invalid."""
        with self.reload_lock:
            fresh, issues = self.engine.reload()
            self.engine = fresh
            settle_heap()
            log.info("library reloaded", extra={"phrases": len(fresh.library.phrases)})
            return [str(i) for i in issues]


def settle_heap(*, collect: bool = True) -> None:
    """Hide what is loaded from the cyclic garbage collector.

    The imported libraries and the engine leave ~100k container objects that
    live as long as the process; a full collection walks them all (about 50 ms
    here), stalling every request queued behind it. Frozen, they cost nothing;
    what they free by reference counting is still freed. ``collect=False``
    skips collecting first (start-up: its garbage is small and the collection
    would delay readiness); a reload collects what it replaced.
    """
    if collect:
        gc.unfreeze()
        gc.collect()
    gc.freeze()


def load_engine(settings: Settings) -> Engine:
    try:
        return Engine(
            settings.model,
            settings.phrases,
            rules=settings.rules,
            disable_rules=settings.disable_rules,
        )
    except (ModelLoadError, RuleError) as exc:
        raise StartupError(str(exc)) from None
    except LibraryError as exc:
        raise StartupError(f"the phrase library has errors:\n{exc}") from None


def load_state(settings: Settings, engine: Engine | None = None) -> ServiceState:
    """Model, library, rules and store, or a ``StartupError`` naming what is wrong."""
    engine = engine or load_engine(settings)
    try:
        store = FeedbackStore(settings.db)
    except StoreError as exc:
        raise StartupError(str(exc)) from None
    engine.ranker.acceptance = store
    return ServiceState(settings, engine, store, generation=store.generation())


async def get_state(request: Request) -> ServiceState:
    return request.app.state.service


State = Annotated[ServiceState, Depends(get_state)]  # open routes: probes

API_KEY_HEADER = "X-API-Key"


def _presented(request: Request) -> str | None:
    key = request.headers.get(API_KEY_HEADER)
    if key is None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        key = token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return key


def _check(state: ServiceState, presented: str | None) -> None:
    expected = state.settings.api_key
    if expected is None:
        raise ApiError(
            403,
            "api_key_not_configured",
            "admin routes need an API key: start the sidecar with --api-key or QUICKPHRASE_API_KEY",
        )
    if presented is None or not secrets.compare_digest(
        presented.encode(), expected.get_secret_value().encode()
    ):
        raise ApiError(
            401, "unauthorized", f"a valid API key is needed in the {API_KEY_HEADER} header"
        )


# One dependency per route gives the state and checks the key: every
# dependency costs tens of microseconds per request, so the key is read from
# the headers here rather than through FastAPI's security classes (the
# OpenAPI schema documents it, see ``app._document_security``).
async def client_state(request: Request) -> ServiceState:
    """The state, for a client allowed in: off loopback it needs the key."""
    state: ServiceState = request.app.state.service
    if not state.settings.loopback:
        _check(state, _presented(request))
    return state


async def admin_state(request: Request) -> ServiceState:
    """The state, for an admin: the key is needed wherever the sidecar listens."""
    state: ServiceState = request.app.state.service
    _check(state, _presented(request))
    return state


ClientState = Annotated[ServiceState, Depends(client_state)]
AdminState = Annotated[ServiceState, Depends(admin_state)]
