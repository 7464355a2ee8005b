"""Where suggestions and checks come from: the in-process engine or a sidecar.

``LocalBackend`` calls the engine directly. ``SidecarBackend`` calls a running
``quickphrase serve`` so that the agent's choices reach its feedback store.
``FallbackBackend`` prefers the sidecar and, when it cannot be reached, answers
from the in-process engine and says so on every panel until the sidecar is back.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from quickphrase.phrases.compliance import SEVERITIES, VERDICTS

from .panels import CheckPanel, Choice, Flag, SuggestPanel, Verdict

if TYPE_CHECKING:
    import httpx

    from quickphrase.engine import Engine

log = logging.getLogger(__name__)
API_KEY_HEADER = "X-API-Key"
FALLBACK_NOTE = "连不上 sidecar,本次用的是本机引擎(选择不会记入反馈)"


class BackendError(Exception):
    """A request the backend could not answer; ``str()`` is for the agent."""


class SidecarUnreachableError(BackendError):
    """The sidecar did not answer at all (down, wrong address, timed out, 5xx)."""


class Backend(Protocol):
    def suggest(
        self, text: str, *, shop_type: str, k: int, agent_id: str | None
    ) -> SuggestPanel: ...

    def check(self, text: str, *, shop_type: str, agent_id: str | None) -> CheckPanel: ...

    def accepted(self, choice: Choice, *, agent_id: str | None) -> bool:
        """Report that the agent picked ``choice``; False when there is nobody to tell."""
        ...


def _flags(text: str, violations: list[dict[str, Any]]) -> tuple[Flag, ...]:
    """Violations as ``/v1/check`` and ``Violation.to_dict`` give them, for a panel."""
    flags = tuple(
        Flag(
            severity=v["severity"],
            category=str(v["category"]),
            span=text[v["start"] : v["end"]],
            start=int(v["start"]),
            end=int(v["end"]),
            message=str(v["message"]),
            masked=bool(v.get("masked", False)),  # a sidecar older than the field: False
        )
        for v in violations
    )
    if any(f.severity not in SEVERITIES for f in flags):
        raise ValueError("unknown severity")
    return flags


def _verdict(value: Any) -> Verdict:
    if value not in VERDICTS:
        raise ValueError(f"unknown verdict {value!r}")
    return value


class LocalBackend:
    """The engine in this process; nothing to report feedback to."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def suggest(self, text: str, *, shop_type: str, k: int, agent_id: str | None) -> SuggestPanel:
        try:
            result = self.engine.suggest(text, shop_type=shop_type, k=k)
        except ValueError as exc:  # an unknown shop type
            raise BackendError(str(exc)) from exc
        choices = tuple(
            Choice(n, s.phrase_id, s.text, s.intent) for n, s in enumerate(result.suggestions, 1)
        )
        return SuggestPanel(result.prediction.intent, result.prediction.confidence, choices)

    def check(self, text: str, *, shop_type: str, agent_id: str | None) -> CheckPanel:
        try:
            result = self.engine.check(text, shop_type)
        except ValueError as exc:
            raise BackendError(str(exc)) from exc
        flags = _flags(text, [v.to_dict() for v in result.violations])
        return CheckPanel(_verdict(result.verdict), flags, text, result.redacted)

    def accepted(self, choice: Choice, *, agent_id: str | None) -> bool:
        return False


class SidecarBackend:
    """A running sidecar at ``url`` (``quickphrase serve``)."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        timeout: float = 2.0,
        client: httpx.Client | None = None,
    ) -> None:
        import httpx

        self.url = url.rstrip("/")
        headers = {API_KEY_HEADER: api_key} if api_key else {}
        if client is None:
            client = httpx.Client(base_url=self.url, timeout=timeout, headers=headers)
        else:  # a client of the caller's (tests): send to ``url`` all the same
            client.base_url = self.url
            client.headers.update(headers)
        self._client = client
        self._httpx = httpx

    def close(self) -> None:
        self._client.close()

    def ready(self) -> None:
        """Raise ``SidecarUnreachableError`` unless the sidecar answers that it is ready."""
        self._call("GET", "/readyz")

    def suggest(self, text: str, *, shop_type: str, k: int, agent_id: str | None) -> SuggestPanel:
        body: dict[str, Any] = {"text": text, "shop_type": shop_type, "k": k}
        if agent_id:
            body["agent_id"] = agent_id
        out = self._call("POST", "/v1/suggest", body)
        try:
            choices = tuple(
                Choice(n, s["phrase_id"], s["text"], s["intent"], s["suggestion_id"])
                for n, s in enumerate(out["suggestions"][:k], 1)
            )
            return SuggestPanel(str(out["intent"]), float(out["confidence"]), choices)
        except (KeyError, TypeError, ValueError) as exc:
            raise BackendError(f"the sidecar at {self.url} answered in an unknown shape") from exc

    def check(self, text: str, *, shop_type: str, agent_id: str | None) -> CheckPanel:
        body: dict[str, Any] = {"text": text, "shop_type": shop_type}
        if agent_id:
            body["agent_id"] = agent_id
        out = self._call("POST", "/v1/check", body)
        try:
            flags = _flags(text, out["violations"])
            return CheckPanel(_verdict(out["verdict"]), flags, text, str(out["redacted"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise BackendError(f"the sidecar at {self.url} answered in an unknown shape") from exc

    def accepted(self, choice: Choice, *, agent_id: str | None) -> bool:
        if choice.suggestion_id is None:
            return False
        body: dict[str, Any] = {
            "suggestion_id": choice.suggestion_id,
            "action": "accepted",
            # The same id on a retry: the sidecar stores the event once.
            "event_id": uuid.uuid4().hex,
        }
        if agent_id:
            body["agent_id"] = agent_id
        try:
            self._call("POST", "/v1/feedback", body)
        except SidecarUnreachableError:
            self._call("POST", "/v1/feedback", body)
        return True

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        httpx = self._httpx
        try:
            response = self._client.request(method, path, json=body)
        except httpx.TransportError as exc:
            raise SidecarUnreachableError(
                f"no answer from the sidecar at {self.url} ({exc!s})"
            ) from exc
        except httpx.InvalidURL as exc:
            raise BackendError(f"{self.url} is not a usable address: {exc}") from exc
        if response.status_code >= 500:
            raise SidecarUnreachableError(
                f"the sidecar at {self.url} failed ({response.status_code})"
            )
        if response.status_code in (401, 403):
            raise BackendError(
                f"the sidecar at {self.url} refused the request ({response.status_code}): "
                "give its API key with --api-key"
            )
        try:
            out = response.json()
        except ValueError as exc:
            raise BackendError(f"{self.url} did not answer with JSON: is it a sidecar?") from exc
        if response.status_code >= 400:
            message = out.get("message") if isinstance(out, dict) else None
            raise BackendError(
                f"the sidecar refused the request ({response.status_code}): {message or out}"
            )
        return out


class FallbackBackend:
    """The sidecar while it answers, else the in-process engine (loaded on first need).

    After falling back it tries the sidecar again every ``retry_after`` seconds.
    """

    def __init__(
        self,
        sidecar: SidecarBackend,
        local: Callable[[], LocalBackend],
        *,
        retry_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sidecar = sidecar
        self._make_local = local
        self._local: LocalBackend | None = None
        self._retry_after = retry_after
        self._clock = clock
        self._down_since: float | None = None
        self._local_failed: BackendError | None = None

    @property
    def using_sidecar(self) -> bool:
        return self._down_since is None

    def fall_back(self, reason: str) -> None:
        """Answer from the in-process engine from now on (until the next retry)."""
        if self._down_since is None:
            log.warning("%s: using the in-process engine", reason)
        self._down_since = self._clock()
        self.local()

    def local(self) -> LocalBackend:
        """The in-process engine, loaded on first need; a load that failed once
        is not tried again on every hotkey (it takes seconds)."""
        if self._local_failed is not None:
            raise self._local_failed
        if self._local is None:
            try:
                self._local = self._make_local()
            except BackendError as exc:
                self._local_failed = exc
                raise
        return self._local

    def close(self) -> None:
        self.sidecar.close()

    def suggest(self, text: str, *, shop_type: str, k: int, agent_id: str | None) -> SuggestPanel:
        return self._either("suggest", text, shop_type=shop_type, k=k, agent_id=agent_id)

    def check(self, text: str, *, shop_type: str, agent_id: str | None) -> CheckPanel:
        return self._either("check", text, shop_type=shop_type, agent_id=agent_id)

    def accepted(self, choice: Choice, *, agent_id: str | None) -> bool:
        return self.sidecar.accepted(choice, agent_id=agent_id)

    def _either(self, method: str, text: str, **kwargs: Any) -> Any:
        retry_due = (
            self._down_since is not None and self._clock() - self._down_since >= self._retry_after
        )
        if self._down_since is None or retry_due:
            try:
                panel = getattr(self.sidecar, method)(text, **kwargs)
            except SidecarUnreachableError as exc:
                self.fall_back(str(exc))
            else:
                if retry_due:
                    log.warning("the sidecar at %s answers again", self.sidecar.url)
                self._down_since = None
                return panel
        panel = getattr(self.local(), method)(text, **kwargs)
        return dataclasses.replace(panel, notes=(*panel.notes, FALLBACK_NOTE))
