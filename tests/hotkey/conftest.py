"""Fixtures for the hotkey helper's tests.

Real objects where they are cheap: one engine for the whole session, a real
sidecar app in process (through ``TestClient``, an ``httpx.Client``), a fake
clipboard, and ``httpx.MockTransport`` for a sidecar that is down or answers
oddly (see ``doubles.py``). The user's ``QUICKPHRASE_*`` settings are kept out.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from quickphrase.engine import Engine
from quickphrase.service.cli import app as cli_app
from quickphrase.service.hotkey.assistant import Assistant
from quickphrase.service.hotkey.backends import FallbackBackend, LocalBackend, SidecarBackend
from quickphrase.service.hotkey.panels import SuggestPanel
from quickphrase.service.sidecar import Settings, create_app

from .doubles import BARGAIN, CountingFactory, FakeClipboard, FakeClock, FakeSidecar, mock_sidecar


@pytest.fixture(autouse=True)
def _no_outside_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's QUICKPHRASE_* variables must not leak into these tests."""
    for name in list(os.environ):
        if name.startswith("QUICKPHRASE_"):
            monkeypatch.delenv(name)


@pytest.fixture
def runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private XDG_RUNTIME_DIR, where the helper keeps its one-per-desktop lock (on Linux)."""
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine()


@pytest.fixture
def local(engine: Engine) -> LocalBackend:
    return LocalBackend(engine)


@pytest.fixture
def clipboard() -> FakeClipboard:
    return FakeClipboard()


@pytest.fixture
def assistant(local: LocalBackend, clipboard: FakeClipboard) -> Assistant:
    return Assistant(local, clipboard)


@pytest.fixture
def factory(engine: Engine) -> CountingFactory:
    return CountingFactory(engine)


@pytest.fixture
def fake_sidecar() -> FakeSidecar:
    return FakeSidecar()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fallback(
    fake_sidecar: FakeSidecar, factory: CountingFactory, clock: FakeClock
) -> FallbackBackend:
    return FallbackBackend(mock_sidecar(fake_sidecar), factory, retry_after=30, clock=clock)


@pytest.fixture
def make_app_client(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., TestClient]]:
    """Starts a real sidecar app over the shared engine, each with its own store.

    The app plugs its store into the engine's ranker; that is undone after the
    test so that what one test's agent picks does not rank another test's replies.
    """
    monkeypatch.setattr(engine.ranker, "acceptance", engine.ranker.acceptance)
    with contextlib.ExitStack() as stack:
        made = 0

        def make(**settings: Any) -> TestClient:
            nonlocal made
            made += 1
            settings.setdefault("db", tmp_path / f"store-{made}.sqlite3")
            app = create_app(Settings(**settings), engine=engine)
            return stack.enter_context(TestClient(app))

        yield make


@pytest.fixture
def app_client(make_app_client: Callable[..., TestClient]) -> TestClient:
    """A sidecar on loopback without an API key, as ``quickphrase serve`` starts by default."""
    return make_app_client()


@pytest.fixture
def sidecar(app_client: TestClient) -> SidecarBackend:
    return SidecarBackend("http://testserver", client=app_client)


@pytest.fixture
def bargain_panel(assistant: Assistant, clipboard: FakeClipboard) -> SuggestPanel:
    """The in-process engine's three replies to ``BARGAIN`` (still on the clipboard)."""
    clipboard.text = BARGAIN
    panel = assistant.suggest()
    assert isinstance(panel, SuggestPanel)
    assert len(panel.choices) == 3
    return panel


@pytest.fixture
def invoke() -> Callable[..., Any]:
    """Runs ``quickphrase hotkey ARGS``; the command must never end in a traceback."""
    runner = CliRunner()

    def run(*args: str) -> Any:
        result = runner.invoke(cli_app, ["hotkey", *args])
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            result.exception
        )
        assert "Traceback" not in result.output
        return result

    return run


@pytest.fixture
def with_display(monkeypatch: pytest.MonkeyPatch, runtime_dir: Path) -> None:
    """A desktop to get past the display check (nothing here opens it), with its own
    runtime dir so that the one-per-desktop lock is this test's."""
    monkeypatch.setenv("DISPLAY", ":99")
