"""The desktop hotkey helper (``quickphrase hotkey``), without a display.

What an agent gets when they copy a buyer message or a draft and press a
hotkey: hotkey parsing, the panels the assistant builds from the clipboard,
what a pick puts on the clipboard and reports to the sidecar, the fallback to
the in-process engine when the sidecar is unreachable, the logs (which must
never quote a buyer or a draft), the worker thread that runs the jobs, the
one-helper-per-desktop lock, and the command's checks before it opens a display.

Real objects where they are cheap: one engine per module, a real sidecar app
in process (through ``TestClient``, an ``httpx.Client``), a fake clipboard, and
``httpx.MockTransport`` for a sidecar that is down or answers oddly. Nothing
here needs a display: the Tk popup (``popup.py``), pynput's global hotkeys and
``app.run`` are not tested here.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from quickphrase.engine import Engine
from quickphrase.model.classifier import MAX_CHARS
from quickphrase.service.cli import app as cli_app
from quickphrase.service.hotkey import clipboard as clipboard_module
from quickphrase.service.hotkey import keys
from quickphrase.service.hotkey.app import DesktopError, Worker, display_problem, single_instance
from quickphrase.service.hotkey.assistant import Assistant
from quickphrase.service.hotkey.backends import (
    API_KEY_HEADER,
    FALLBACK_NOTE,
    Backend,
    BackendError,
    FallbackBackend,
    LocalBackend,
    SidecarBackend,
    SidecarUnreachableError,
)
from quickphrase.service.hotkey.clipboard import ClipboardError, SystemClipboard
from quickphrase.service.hotkey.focus import NoFocusKeeper, focus_keeper
from quickphrase.service.hotkey.keys import HotkeyError, distinct_hotkeys, pynput_hotkey
from quickphrase.service.hotkey.panels import (
    CheckPanel,
    Choice,
    Flag,
    NoticePanel,
    Panel,
    SuggestPanel,
    intent_name,
)
from quickphrase.service.sidecar import Settings, create_app

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


def wait_for_stats(
    client: TestClient, ready: Callable[[dict[str, Any]], bool], timeout: float = 5.0
) -> dict[str, Any]:
    """GET /v1/stats until ``ready`` holds (the sidecar commits statistics in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get("/v1/stats")
        assert response.status_code == 200, response.text
        stats = response.json()
        if ready(stats) or time.monotonic() > deadline:
            return stats
        time.sleep(0.02)


def by_position(stats: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {row["position"]: row for row in stats["acceptance_by_position"]}


# --- fixtures -------------------------------------------------------------------------------------


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


@pytest.fixture(scope="module")
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


# --- keys: hotkeys as written and as pynput reads them --------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("ctrl+alt+q", "<ctrl>+<alt>+q"),
        ("control+option+q", "<ctrl>+<alt>+q"),
        ("cmd+shift+k", "<cmd>+<shift>+k"),
        ("command+q", "<cmd>+q"),
        ("win+q", "<cmd>+q"),
        ("super+q", "<cmd>+q"),
        ("meta+q", "<cmd>+q"),
        ("ctrl+f5", "<ctrl>+<f5>"),
        ("ctrl+shift+space", "<ctrl>+<shift>+<space>"),
        ("alt+page_down", "<alt>+<page_down>"),
        ("ctrl+alt+1", "<ctrl>+<alt>+1"),
        ("CTRL+Alt+Q", "<ctrl>+<alt>+q"),
        ("Ctrl+F12", "<ctrl>+<f12>"),
        (" ctrl + alt + q ", "<ctrl>+<alt>+q"),
        ("ctrl+control+q", "<ctrl>+q"),
    ],
)
def test_hotkey_is_written_in_pynput_form(spec: str, expected: str) -> None:
    assert pynput_hotkey(spec) == expected


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("", "write it like ctrl+alt+q"),
        ("   ", "write it like ctrl+alt+q"),
        ("ctrl++q", "write it like ctrl+alt+q"),
        ("ctrl+alt+", "write it like ctrl+alt+q"),
        ("q", "has no modifier"),
        ("f5", "has no modifier"),
        ("hyper+q", "'hyper' is not a modifier"),
        ("ctrl+q+alt", "ends in a modifier"),
        ("ctrl+q+x", "'q' is not a modifier"),
        ("ctrl+alt", "ends in a modifier"),
        ("ctrl+alt+shift", "ends in a modifier"),
        ("ctrl+alt+qq", "unknown key 'qq'"),
        ("ctrl+alt+f13", "unknown key 'f13'"),
        ("ctrl+alt+é", "unknown key 'é'"),
    ],
)
def test_unusable_hotkey_is_refused_with_a_reason_naming_it(spec: str, says: str) -> None:
    with pytest.raises(HotkeyError) as raised:
        pynput_hotkey(spec)
    assert says in str(raised.value)
    assert repr(spec) in str(raised.value)


def test_hotkey_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="no modifier"):
        pynput_hotkey("q")


def test_distinct_hotkeys_gives_the_pynput_forms_in_order() -> None:
    assert distinct_hotkeys("ctrl+alt+q", "ctrl+alt+w") == ["<ctrl>+<alt>+q", "<ctrl>+<alt>+w"]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("ctrl+alt+q", "ctrl+alt+q"),
        ("ctrl+alt+q", "alt+control+Q"),
        ("cmd+q", "win+q"),
        ("ctrl+f5", "CONTROL+F5"),
    ],
)
def test_distinct_hotkeys_refuses_the_same_keys_written_differently(
    first: str, second: str
) -> None:
    with pytest.raises(HotkeyError, match="same hotkey") as raised:
        distinct_hotkeys(first, second)
    assert repr(first) in str(raised.value)
    assert repr(second) in str(raised.value)


@pytest.mark.parametrize(
    ("first", "second"),
    [("ctrl+alt+q", "ctrl+alt+shift+q"), ("ctrl+shift+alt+w", "alt+ctrl+w")],
)
def test_distinct_hotkeys_refuses_one_inside_the_other(first: str, second: str) -> None:
    # pynput fires the shorter hotkey whenever the longer one is pressed.
    with pytest.raises(HotkeyError, match="overlap"):
        distinct_hotkeys(first, second)


def test_distinct_hotkeys_refuses_a_bad_hotkey_among_good_ones() -> None:
    with pytest.raises(HotkeyError, match="unknown key 'qq'"):
        distinct_hotkeys("ctrl+alt+q", "ctrl+alt+qq")


@pytest.mark.parametrize(
    ("platform", "modifier"), [("darwin", "cmd"), ("linux", "ctrl"), ("win32", "ctrl")]
)
def test_paste_is_cmd_v_on_macos_and_ctrl_v_elsewhere(
    monkeypatch: pytest.MonkeyPatch, platform: str, modifier: str
) -> None:
    monkeypatch.setattr(keys, "sys", SimpleNamespace(platform=platform))
    assert keys.paste_modifier() == modifier


# --- panels: what a popup shows -------------------------------------------------------------------


def test_panel_choice_is_one_based_and_none_outside_the_choices() -> None:
    choices = tuple(Choice(n, f"p{n}", f"text {n}", "greeting") for n in (1, 2))
    panel = SuggestPanel("greeting", 0.9, choices)
    assert panel.choice(1) == choices[0]
    assert panel.choice(2) == choices[1]
    assert panel.choice(0) is None
    assert panel.choice(3) is None
    assert panel.choice(-1) is None


def test_empty_message_names_the_intent_or_says_the_question_is_unclear() -> None:
    assert "议价" in SuggestPanel("bargaining", 0.9, ()).empty_message
    unclear = SuggestPanel("other", 0.9, ()).empty_message
    assert "看不出" in unclear
    assert "其他" not in unclear


def test_intent_name_shows_the_chinese_name_and_the_id() -> None:
    assert intent_name("bargaining") == "议价 bargaining"
    assert intent_name("brand_new_intent") == "brand_new_intent brand_new_intent"


def test_redacted_problems_are_the_unmasked_categories_in_order_once_each() -> None:
    def flag(category: str, masked: bool = False) -> Flag:
        return Flag("block", category, "x", 0, 1, "m", masked=masked)

    flags = (
        flag("off_platform"),
        flag("pii_leak", masked=True),
        flag("delivery_promise"),
        flag("off_platform"),
    )
    panel = CheckPanel("block", flags, "a", "b")
    assert panel.redacted_problems == ("off_platform", "delivery_promise")
    assert panel.offers_redacted


def test_a_truncated_draft_is_not_offered_for_copying() -> None:
    panel = CheckPanel("block", (), "a", "b", truncated=True)
    assert not panel.offers_redacted


# --- the system clipboard (pyperclip faked) -------------------------------------------------------


@pytest.fixture
def pyperclip(monkeypatch: pytest.MonkeyPatch) -> Any:
    module = pytest.importorskip("pyperclip")
    monkeypatch.setattr(clipboard_module, "sys", SimpleNamespace(platform="linux"))
    return module


def test_system_clipboard_that_cannot_be_read_says_what_to_install(
    pyperclip: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def paste() -> str:
        raise pyperclip.PyperclipException("no copy/paste mechanism")

    monkeypatch.setattr(pyperclip, "paste", paste)
    with pytest.raises(ClipboardError, match="cannot read the clipboard") as raised:
        SystemClipboard().read()
    assert "xclip" in str(raised.value)


def test_system_clipboard_that_cannot_be_written_says_what_to_install(
    pyperclip: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def copy(text: str) -> None:
        raise pyperclip.PyperclipException("no copy/paste mechanism")

    monkeypatch.setattr(pyperclip, "copy", copy)
    with pytest.raises(ClipboardError, match="cannot write the clipboard") as raised:
        SystemClipboard().write("亲")
    assert "xsel" in str(raised.value)


def test_system_clipboard_holding_an_image_reads_as_empty(
    pyperclip: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pyperclip, "paste", lambda: None)
    assert SystemClipboard().read() == ""


def test_system_clipboard_holding_bytes_that_are_not_utf8_says_so(
    pyperclip: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def paste() -> str:
        return b"\xff\xfe".decode("utf-8")

    monkeypatch.setattr(pyperclip, "paste", paste)
    with pytest.raises(ClipboardError, match="not UTF-8"):
        SystemClipboard().read()


# --- Assistant.suggest with the in-process engine -------------------------------------------------


def test_bargaining_message_gets_the_engines_three_replies_in_order(
    assistant: Assistant, clipboard: FakeClipboard, engine: Engine
) -> None:
    clipboard.text = BARGAIN
    panel = assistant.suggest()
    assert isinstance(panel, SuggestPanel)
    assert panel.intent == "bargaining"
    assert 0.0 < panel.confidence <= 1.0
    expected = engine.suggest(BARGAIN, shop_type="taobao", k=3).suggestions
    assert len(expected) == 3
    assert [c.position for c in panel.choices] == [1, 2, 3]
    assert [c.text for c in panel.choices] == [s.text for s in expected]
    assert [c.phrase_id for c in panel.choices] == [s.phrase_id for s in expected]
    assert all(c.suggestion_id is None for c in panel.choices)  # nobody to report to
    assert panel.notes == ()


def test_suggest_leaves_the_clipboard_as_it_was(
    assistant: Assistant, clipboard: FakeClipboard
) -> None:
    clipboard.text = BARGAIN
    assistant.suggest()
    assert clipboard.writes == []
    assert clipboard.text == BARGAIN


def test_spaces_around_the_copied_message_are_ignored(
    local: LocalBackend, clipboard: FakeClipboard
) -> None:
    backend = RecordingBackend(local)
    clipboard.text = f"  \n\t{BARGAIN} \r\n"
    panel = Assistant(backend, clipboard).suggest()
    assert backend.calls == [("suggest", BARGAIN)]
    assert isinstance(panel, SuggestPanel)
    assert panel.intent == "bargaining"


def test_k_limits_the_number_of_choices(local: LocalBackend, clipboard: FakeClipboard) -> None:
    clipboard.text = BARGAIN
    panel = Assistant(local, clipboard, k=1).suggest()
    assert isinstance(panel, SuggestPanel)
    assert [c.position for c in panel.choices] == [1]


def test_chit_chat_gets_no_choices_and_a_message_saying_so(
    assistant: Assistant, clipboard: FakeClipboard
) -> None:
    clipboard.text = CHIT_CHAT
    panel = assistant.suggest()
    assert isinstance(panel, SuggestPanel)
    assert panel.choices == ()
    assert panel.empty_message
    assert panel.choice(1) is None


# --- Assistant.choose -----------------------------------------------------------------------------


@pytest.fixture
def bargain_panel(assistant: Assistant, clipboard: FakeClipboard) -> SuggestPanel:
    clipboard.text = BARGAIN
    panel = assistant.suggest()
    assert isinstance(panel, SuggestPanel)
    assert len(panel.choices) == 3
    return panel


def test_choosing_copies_exactly_that_reply_and_returns_it(
    assistant: Assistant, clipboard: FakeClipboard, bargain_panel: SuggestPanel
) -> None:
    chosen = assistant.choose(bargain_panel, 1)
    assert chosen == bargain_panel.choices[0]
    assert clipboard.text == bargain_panel.choices[0].text
    assert clipboard.writes == [bargain_panel.choices[0].text]


def test_choosing_the_third_reply_copies_the_third(
    assistant: Assistant, clipboard: FakeClipboard, bargain_panel: SuggestPanel
) -> None:
    chosen = assistant.choose(bargain_panel, 3)
    assert chosen is not None
    assert chosen.position == 3
    assert clipboard.text == bargain_panel.choices[2].text
    assert bargain_panel.choices[2].text != bargain_panel.choices[0].text


@pytest.mark.parametrize("position", [0, 4, -1])
def test_choosing_a_position_the_panel_does_not_have_leaves_the_clipboard_alone(
    assistant: Assistant,
    clipboard: FakeClipboard,
    bargain_panel: SuggestPanel,
    position: int,
) -> None:
    assert assistant.choose(bargain_panel, position) is None
    assert clipboard.writes == []
    assert clipboard.text == BARGAIN


def test_choosing_with_the_local_engine_reports_nothing(
    bargain_panel: SuggestPanel, clipboard: FakeClipboard
) -> None:
    backend = RecordingBackend()
    chosen = Assistant(backend, clipboard).choose(bargain_panel, 2)
    assert chosen == bargain_panel.choices[1]
    assert backend.calls == [("accepted", bargain_panel.choices[1].text)]


def test_the_local_engine_has_nobody_to_report_a_choice_to(
    local: LocalBackend, bargain_panel: SuggestPanel
) -> None:
    assert local.accepted(bargain_panel.choices[0], agent_id="agent-7") is False


# --- nothing usable on the clipboard --------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\t \r\n", "\u3000"], ids=repr)
@pytest.mark.parametrize("action", ["suggest", "check"])
def test_empty_clipboard_gives_a_notice_and_asks_nothing(text: str, action: str) -> None:
    backend = RecordingBackend()
    panel = getattr(Assistant(backend, FakeClipboard(text)), action)()
    assert isinstance(panel, NoticePanel)
    assert "剪贴板" in panel.title
    assert panel.level == "info"
    assert panel.message
    assert backend.calls == []


def test_empty_clipboard_notice_says_what_to_copy() -> None:
    suggest = Assistant(RecordingBackend(), FakeClipboard()).suggest()
    check = Assistant(RecordingBackend(), FakeClipboard()).check()
    assert isinstance(suggest, NoticePanel)
    assert isinstance(check, NoticePanel)
    assert "买家消息" in suggest.message
    assert "回复草稿" in check.message


@pytest.mark.parametrize("action", ["suggest", "check"])
def test_unreadable_clipboard_gives_an_error_notice_with_its_reason(action: str) -> None:
    backend = RecordingBackend()
    clipboard = UnreadableClipboard("cannot read the clipboard: install xclip or xsel")
    panel = getattr(Assistant(backend, clipboard), action)()
    assert isinstance(panel, NoticePanel)
    assert panel.level == "error"
    assert "剪贴板" in panel.title
    assert panel.message == "cannot read the clipboard: install xclip or xsel"
    assert backend.calls == []


def test_choosing_when_the_clipboard_cannot_be_written_raises_clipboard_error(
    bargain_panel: SuggestPanel,
) -> None:
    backend = RecordingBackend()
    assistant = Assistant(backend, UnwritableClipboard(BARGAIN))
    with pytest.raises(ClipboardError, match="cannot write"):
        assistant.choose(bargain_panel, 1)
    assert backend.calls == []  # nothing is reported that the agent did not get


# --- long and odd text ----------------------------------------------------------------------------


def test_over_long_message_is_cut_to_max_chars_and_the_panel_says_so(
    local: LocalBackend, clipboard: FakeClipboard
) -> None:
    message = (BARGAIN * 400)[:2500]
    backend = RecordingBackend(local)
    clipboard.text = message
    panel = Assistant(backend, clipboard).suggest()
    assert isinstance(panel, SuggestPanel)
    [(_, sent)] = backend.calls
    assert sent == message[:MAX_CHARS]
    assert len(sent) == MAX_CHARS
    [note] = panel.notes
    assert "2500" in note
    assert str(MAX_CHARS) in note


def test_message_of_exactly_max_chars_is_not_cut(clipboard: FakeClipboard) -> None:
    backend = RecordingBackend()
    clipboard.text = "好" * MAX_CHARS
    panel = Assistant(backend, clipboard).suggest()
    assert isinstance(panel, SuggestPanel)
    assert backend.calls == [("suggest", "好" * MAX_CHARS)]
    assert panel.notes == ()


def test_over_long_draft_is_cut_for_the_check_and_the_panel_says_so(
    clipboard: FakeClipboard,
) -> None:
    backend = RecordingBackend()
    clipboard.text = SAFE_REPLY + "好" * 3000
    panel = Assistant(backend, clipboard).check()
    assert isinstance(panel, CheckPanel)
    assert [len(text) for _, text in backend.calls] == [MAX_CHARS]
    assert any(str(MAX_CHARS) in note for note in panel.notes)


def test_copying_the_redacted_text_of_an_over_long_draft_keeps_all_of_it(
    assistant: Assistant, clipboard: FakeClipboard
) -> None:
    tail = "以上是全部内容,谢谢亲"
    clipboard.text = RISKY_DRAFT + "好" * MAX_CHARS + tail
    panel = assistant.check()
    assert isinstance(panel, CheckPanel)
    if panel.offers_redacted:
        assistant.copy_redacted(panel)
    assert clipboard.text.endswith(tail)


def test_lone_surrogates_are_replaced_before_the_backend_sees_them(
    clipboard: FakeClipboard,
) -> None:
    backend = RecordingBackend()
    clipboard.text = f"\ud83d{BARGAIN}\udc00"
    Assistant(backend, clipboard).suggest()
    assert backend.calls == [("suggest", f"\ufffd{BARGAIN}\ufffd")]


def test_draft_with_a_lone_surrogate_is_checked_without_crashing(
    assistant: Assistant, clipboard: FakeClipboard
) -> None:
    clipboard.text = f"\ud800{RISKY_DRAFT}"
    panel = assistant.check()
    assert isinstance(panel, CheckPanel)
    assert panel.verdict == "block"
    assert panel.text == f"\ufffd{RISKY_DRAFT}"


# --- Assistant.check and copy_redacted ------------------------------------------------------------


@pytest.fixture
def risky_panel(assistant: Assistant, clipboard: FakeClipboard) -> CheckPanel:
    clipboard.text = RISKY_DRAFT
    panel = assistant.check()
    assert isinstance(panel, CheckPanel)
    return panel


def test_draft_promising_delivery_and_quoting_a_phone_is_blocked(risky_panel: CheckPanel) -> None:
    assert risky_panel.verdict == "block"
    assert risky_panel.text == RISKY_DRAFT
    categories = {f.category for f in risky_panel.flags}
    assert {"delivery_promise", "pii_leak"} <= categories


def test_flags_point_at_the_offending_words(risky_panel: CheckPanel) -> None:
    spans = {f.category: f.span for f in risky_panel.flags}
    assert spans["pii_leak"] == PHONE
    assert spans["delivery_promise"] == PROMISE
    for flag in risky_panel.flags:
        assert RISKY_DRAFT[flag.start : flag.end] == flag.span
        assert flag.severity in ("block", "warn")
        assert flag.message


def test_risky_draft_offers_a_redacted_text_without_the_phone(risky_panel: CheckPanel) -> None:
    assert risky_panel.offers_redacted
    assert PHONE not in risky_panel.redacted
    assert PROMISE in risky_panel.redacted  # only personal data is masked


def test_redaction_does_not_take_back_a_promise(risky_panel: CheckPanel) -> None:
    assert "delivery_promise" in risky_panel.redacted_problems
    assert "pii_leak" not in risky_panel.redacted_problems


def test_copy_redacted_puts_the_redacted_text_on_the_clipboard(
    assistant: Assistant, clipboard: FakeClipboard, risky_panel: CheckPanel
) -> None:
    assistant.copy_redacted(risky_panel)
    assert clipboard.text == risky_panel.redacted
    assert PHONE not in clipboard.text


def test_clean_reply_passes_and_offers_nothing_to_copy(
    local: LocalBackend, clipboard: FakeClipboard
) -> None:
    backend = RecordingBackend(local)
    clipboard.text = SAFE_REPLY
    panel = Assistant(backend, clipboard).check()
    assert isinstance(panel, CheckPanel)
    assert panel.verdict == "pass"
    assert panel.flags == ()
    assert not panel.offers_redacted
    assert panel.redacted_problems == ()
    assert backend.calls == [("check", SAFE_REPLY)]  # nothing redacted: no second look


def test_check_leaves_the_clipboard_as_it_was(
    clipboard: FakeClipboard, risky_panel: CheckPanel
) -> None:
    assert clipboard.writes == []
    assert clipboard.text == RISKY_DRAFT


def test_phone_only_draft_is_fine_once_redacted(
    assistant: Assistant, clipboard: FakeClipboard
) -> None:
    clipboard.text = f"好的,收件电话{PHONE}已备注"
    panel = assistant.check()
    assert isinstance(panel, CheckPanel)
    assert panel.verdict == "block"
    assert panel.offers_redacted
    assert panel.redacted_problems == ()


# --- the sidecar backend, against a real sidecar app in process -----------------------------------


def test_sidecar_suggestions_carry_ids_to_report_back(
    sidecar: SidecarBackend, clipboard: FakeClipboard, engine: Engine
) -> None:
    clipboard.text = BARGAIN
    panel = Assistant(sidecar, clipboard).suggest()
    assert isinstance(panel, SuggestPanel)
    assert panel.intent == "bargaining"
    assert [c.position for c in panel.choices] == [1, 2, 3]
    ids = [c.suggestion_id for c in panel.choices]
    assert all(ids)
    assert len(set(ids)) == 3
    assert all(c.text and "{" not in c.text for c in panel.choices)


def test_choosing_a_sidecar_reply_shows_in_stats_as_accepted_at_its_position(
    sidecar: SidecarBackend, app_client: TestClient, clipboard: FakeClipboard
) -> None:
    assistant = Assistant(sidecar, clipboard)
    clipboard.text = BARGAIN
    panel = assistant.suggest()
    assert isinstance(panel, SuggestPanel)
    chosen = assistant.choose(panel, 2)
    assert chosen == panel.choices[1]
    assert clipboard.text == panel.choices[1].text
    stats = wait_for_stats(app_client, lambda s: s["feedback"].get("accepted") == 1)
    assert stats["feedback"] == {"accepted": 1}
    rows = by_position(stats)
    assert rows[2]["accepted"] == 1
    assert rows[1]["accepted"] == rows[3]["accepted"] == 0
    assert rows[2]["shown"] == 1


def test_sidecar_records_the_agent_id_with_the_request_and_the_choice(
    make_app_client: Callable[..., TestClient], tmp_path: Path, clipboard: FakeClipboard
) -> None:
    db = tmp_path / "agents.sqlite3"
    app_client = make_app_client(db=db)
    backend = SidecarBackend("http://testserver", client=app_client)
    assistant = Assistant(backend, clipboard, agent_id="agent-7")
    clipboard.text = BARGAIN
    panel = assistant.suggest()
    assert isinstance(panel, SuggestPanel)
    assert assistant.choose(panel, 2) is not None
    stats = wait_for_stats(app_client, lambda s: s["feedback"].get("accepted") == 1)
    assert by_position(stats)[2]["accepted"] == 1
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT agent_id, position FROM feedback").fetchall() == [
            ("agent-7", 2)
        ]
        assert conn.execute("SELECT agent_id FROM suggest_requests").fetchall() == [("agent-7",)]


def test_sidecar_check_agrees_with_the_local_engine(
    sidecar: SidecarBackend, local: LocalBackend, clipboard: FakeClipboard
) -> None:
    clipboard.text = RISKY_DRAFT
    remote = Assistant(sidecar, clipboard).check()
    here = Assistant(local, clipboard).check()
    assert isinstance(remote, CheckPanel)
    assert isinstance(here, CheckPanel)
    assert remote.verdict == here.verdict == "block"
    assert remote.flags == here.flags
    assert remote.redacted == here.redacted
    assert remote.redacted_problems == here.redacted_problems == ("delivery_promise",)


def test_one_check_through_the_sidecar_counts_once_in_stats(
    sidecar: SidecarBackend, app_client: TestClient, clipboard: FakeClipboard
) -> None:
    clipboard.text = RISKY_DRAFT
    assert isinstance(Assistant(sidecar, clipboard).check(), CheckPanel)
    stats = wait_for_stats(app_client, lambda s: sum(s["checks"].values()) >= 2, timeout=2.0)
    assert stats["checks"] == {"block": 1}


def test_sidecar_refusal_becomes_an_error_notice_with_its_reason(
    sidecar: SidecarBackend, clipboard: FakeClipboard
) -> None:
    clipboard.text = BARGAIN
    panel = Assistant(sidecar, clipboard, shop_type="jd").suggest()
    assert isinstance(panel, NoticePanel)
    assert panel.level == "error"
    assert "422" in panel.message
    assert "shop_type" in panel.message


@pytest.mark.parametrize("action", ["suggest", "check"])
def test_local_engine_with_an_unknown_shop_type_gives_an_error_notice_naming_it(
    local: LocalBackend, clipboard: FakeClipboard, action: str
) -> None:
    clipboard.text = BARGAIN
    panel = getattr(Assistant(local, clipboard, shop_type="jd"), action)()
    assert isinstance(panel, NoticePanel)
    assert panel.level == "error"
    assert "jd" in panel.message


def test_a_sidecar_client_without_a_base_url_still_reaches_the_sidecar(
    app_client: TestClient, clipboard: FakeClipboard
) -> None:
    app_client.base_url = ""  # type: ignore[assignment]
    clipboard.text = BARGAIN
    panel = Assistant(SidecarBackend("http://testserver", client=app_client), clipboard).suggest()
    assert isinstance(panel, SuggestPanel)
    assert panel.choices


def test_sidecar_refusal_of_a_check_becomes_an_error_notice(
    sidecar: SidecarBackend, clipboard: FakeClipboard
) -> None:
    clipboard.text = SAFE_REPLY
    panel = Assistant(sidecar, clipboard, shop_type="jd").check()
    assert isinstance(panel, NoticePanel)
    assert panel.level == "error"
    assert "422" in panel.message


def test_sidecar_that_needs_a_key_says_to_give_api_key(
    make_app_client: Callable[..., TestClient], clipboard: FakeClipboard
) -> None:
    app_client = make_app_client(host="0.0.0.0", api_key=KEY)
    backend = SidecarBackend("http://testserver", client=app_client)
    clipboard.text = BARGAIN
    panel = Assistant(backend, clipboard).suggest()
    assert isinstance(panel, NoticePanel)
    assert panel.level == "error"
    assert "401" in panel.message
    assert "--api-key" in panel.message


def test_sidecar_that_needs_a_key_answers_when_given_it(
    make_app_client: Callable[..., TestClient], clipboard: FakeClipboard
) -> None:
    app_client = make_app_client(host="0.0.0.0", api_key=KEY)
    backend = SidecarBackend("http://testserver", api_key=KEY, client=app_client)
    clipboard.text = BARGAIN
    panel = Assistant(backend, clipboard).suggest()
    assert isinstance(panel, SuggestPanel)
    assert all(c.suggestion_id for c in panel.choices)


def test_sidecar_backend_sends_the_api_key_header() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get(API_KEY_HEADER))
        return httpx.Response(200, json={"status": "ready"})

    SidecarBackend(SIDECAR_URL, api_key=KEY, client=mock_client(handler)).ready()
    SidecarBackend(SIDECAR_URL, client=mock_client(handler)).ready()
    assert seen == [KEY, None]


def test_ready_passes_against_a_running_sidecar(sidecar: SidecarBackend) -> None:
    sidecar.ready()


# --- the sidecar backend when the sidecar is down or odd ------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(raising(httpx.ConnectError("refused")), id="refused"),
        pytest.param(lambda r: httpx.Response(503, json={"error": "x"}), id="503"),
        pytest.param(lambda r: httpx.Response(500, text="oops"), id="500"),
        pytest.param(raising(httpx.ReadTimeout("timed out")), id="timeout"),
    ],
)
def test_sidecar_that_does_not_answer_is_unreachable(
    answer: Callable[[httpx.Request], httpx.Response],
) -> None:
    backend = mock_sidecar(answer)
    with pytest.raises(SidecarUnreachableError, match=SIDECAR_URL):
        backend.suggest(BARGAIN, shop_type="taobao", k=3, agent_id=None)
    with pytest.raises(SidecarUnreachableError):
        backend.ready()


def test_unreachable_sidecar_without_fallback_gives_an_error_notice(
    clipboard: FakeClipboard, fake_sidecar: FakeSidecar
) -> None:
    fake_sidecar.down = True
    clipboard.text = BARGAIN
    panel = Assistant(mock_sidecar(fake_sidecar), clipboard).suggest()
    assert isinstance(panel, NoticePanel)
    assert panel.level == "error"
    assert SIDECAR_URL in panel.message


def test_401_from_anything_says_to_give_api_key(clipboard: FakeClipboard) -> None:
    backend = mock_sidecar(lambda r: httpx.Response(401, json={"error": "unauthorized"}))
    clipboard.text = SAFE_REPLY
    panel = Assistant(backend, clipboard).check()
    assert isinstance(panel, NoticePanel)
    assert panel.level == "error"
    assert "--api-key" in panel.message


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (httpx.Response(200, json={"hello": "world"}), "unknown shape"),
        (httpx.Response(200, json=[1, 2, 3]), "unknown shape"),
        (httpx.Response(200, text="<html>a router login page</html>"), "is it a sidecar"),
        (httpx.Response(404, text="Not Found"), "is it a sidecar"),
    ],
    ids=["wrong-json", "json-list", "html", "html-404"],
)
def test_something_that_is_not_a_sidecar_gives_an_error_notice(
    clipboard: FakeClipboard, answer: httpx.Response, says: str
) -> None:
    backend = mock_sidecar(lambda r: answer)
    clipboard.text = BARGAIN
    panel = Assistant(backend, clipboard).suggest()
    assert isinstance(panel, NoticePanel)
    assert panel.level == "error"
    assert says in panel.message


# --- feedback that fails never costs the agent the reply ------------------------------------------


@pytest.fixture
def sidecar_panel(fake_sidecar: FakeSidecar, clipboard: FakeClipboard) -> SuggestPanel:
    clipboard.text = BARGAIN
    panel = Assistant(mock_sidecar(fake_sidecar), clipboard).suggest()
    assert isinstance(panel, SuggestPanel)
    assert panel.choices[0].suggestion_id == "r1-1"
    return panel


def test_sidecar_down_between_suggest_and_choose_still_copies_the_reply(
    fake_sidecar: FakeSidecar,
    clipboard: FakeClipboard,
    sidecar_panel: SuggestPanel,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_sidecar.feedback_down = True
    assistant = Assistant(mock_sidecar(fake_sidecar), clipboard)
    chosen = assistant.choose(sidecar_panel, 1)
    assert chosen == sidecar_panel.choices[0]
    assert clipboard.text == CANNED_REPLY
    assert fake_sidecar.paths.count("/v1/feedback") == 2  # tried once more
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "not recorded" in warnings[0].getMessage()
    assert "bargaining.coupon_instead" in warnings[0].getMessage()
    assert leaks(caplog.records, [BARGAIN, CANNED_REPLY]) == []


def test_feedback_the_sidecar_refuses_is_logged_and_the_reply_is_still_copied(
    clipboard: FakeClipboard, sidecar_panel: SuggestPanel, caplog: pytest.LogCaptureFixture
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"error": "not_found", "message": "no such suggestion"})

    assistant = Assistant(mock_sidecar(handler), clipboard)
    assert assistant.choose(sidecar_panel, 1) == sidecar_panel.choices[0]
    assert clipboard.text == CANNED_REPLY
    assert any(
        r.levelno == logging.WARNING and "no such suggestion" in r.getMessage()
        for r in caplog.records
    )


def test_feedback_is_retried_once_with_the_same_event_id(
    clipboard: FakeClipboard, sidecar_panel: SuggestPanel, caplog: pytest.LogCaptureFixture
) -> None:
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        if len(bodies) == 1:
            return httpx.Response(503, json={"error": "store_unavailable"})
        return httpx.Response(200, json={"stored": True})

    assistant = Assistant(mock_sidecar(handler), clipboard, agent_id="agent-7")
    assert assistant.choose(sidecar_panel, 1) is not None
    first, second = (json.loads(b) for b in bodies)
    assert first == second
    assert first["suggestion_id"] == "r1-1"
    assert first["action"] == "accepted"
    assert first["agent_id"] == "agent-7"
    assert first["event_id"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_each_choice_gets_its_own_event_id(
    fake_sidecar: FakeSidecar, clipboard: FakeClipboard, sidecar_panel: SuggestPanel
) -> None:
    assistant = Assistant(mock_sidecar(fake_sidecar), clipboard)
    assistant.choose(sidecar_panel, 1)
    assistant.choose(sidecar_panel, 1)
    feedback = [
        json.loads(r.content) for r in fake_sidecar.requests if r.url.path == "/v1/feedback"
    ]
    assert len(feedback) == 2
    assert feedback[0]["event_id"] != feedback[1]["event_id"]


# --- FallbackBackend: the sidecar while it answers, else the in-process engine --------------------


def test_fallback_uses_the_sidecar_and_loads_no_engine_while_it_answers(
    fallback: FallbackBackend, factory: CountingFactory, clipboard: FakeClipboard
) -> None:
    clipboard.text = BARGAIN
    assistant = Assistant(fallback, clipboard)
    for _ in range(2):
        panel = assistant.suggest()
        assert isinstance(panel, SuggestPanel)
        assert FALLBACK_NOTE not in panel.notes
        assert panel.choices[0].suggestion_id == "r1-1"
    assert factory.calls == 0
    assert fallback.using_sidecar


def test_unreachable_sidecar_falls_back_to_the_local_engine_and_says_so(
    fallback: FallbackBackend,
    fake_sidecar: FakeSidecar,
    factory: CountingFactory,
    clipboard: FakeClipboard,
    engine: Engine,
) -> None:
    fake_sidecar.down = True
    clipboard.text = BARGAIN
    panel = Assistant(fallback, clipboard).suggest()
    assert isinstance(panel, SuggestPanel)
    assert panel.notes == (FALLBACK_NOTE,)
    assert panel.intent == "bargaining"
    expected = engine.suggest(BARGAIN, shop_type="taobao", k=3).suggestions
    assert [c.text for c in panel.choices] == [s.text for s in expected]
    assert all(c.suggestion_id is None for c in panel.choices)
    assert factory.calls == 1
    assert not fallback.using_sidecar


def test_sidecar_failing_with_503_falls_back_too(
    factory: CountingFactory, clock: FakeClock, clipboard: FakeClipboard
) -> None:
    sidecar = mock_sidecar(lambda r: httpx.Response(503, json={"error": "not_ready"}))
    backend = FallbackBackend(sidecar, factory, retry_after=30, clock=clock)
    clipboard.text = BARGAIN
    panel = Assistant(backend, clipboard).suggest()
    assert isinstance(panel, SuggestPanel)
    assert FALLBACK_NOTE in panel.notes


def test_fallback_loads_the_local_engine_once(
    fallback: FallbackBackend,
    fake_sidecar: FakeSidecar,
    factory: CountingFactory,
    clock: FakeClock,
    clipboard: FakeClipboard,
) -> None:
    fake_sidecar.down = True
    clipboard.text = BARGAIN
    assistant = Assistant(fallback, clipboard)
    for _ in range(3):
        assert isinstance(assistant.suggest(), SuggestPanel)
        clock.now += 31  # each time a retry is due, and fails
    assert factory.calls == 1


def test_fallen_back_sidecar_is_not_asked_again_before_retry_after(
    fallback: FallbackBackend,
    fake_sidecar: FakeSidecar,
    clock: FakeClock,
    clipboard: FakeClipboard,
) -> None:
    fake_sidecar.down = True
    clipboard.text = BARGAIN
    assistant = Assistant(fallback, clipboard)
    assistant.suggest()
    asked = len(fake_sidecar.requests)
    assert asked == 1
    fake_sidecar.down = False  # back, but nobody asks yet
    clock.now += 29.9
    panel = assistant.suggest()
    clipboard.text = SAFE_REPLY
    check = assistant.check()
    assert len(fake_sidecar.requests) == asked
    assert isinstance(panel, SuggestPanel)
    assert FALLBACK_NOTE in panel.notes
    assert isinstance(check, CheckPanel)
    assert FALLBACK_NOTE in check.notes


def test_sidecar_is_asked_again_after_retry_after_and_the_note_goes_away(
    fallback: FallbackBackend,
    fake_sidecar: FakeSidecar,
    clock: FakeClock,
    clipboard: FakeClipboard,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_sidecar.down = True
    clipboard.text = BARGAIN
    assistant = Assistant(fallback, clipboard)
    assistant.suggest()
    clock.now += 30  # retry due; still down
    panel = assistant.suggest()
    assert len(fake_sidecar.requests) == 2
    assert isinstance(panel, SuggestPanel)
    assert FALLBACK_NOTE in panel.notes
    clock.now += 29  # the failed retry restarts the wait
    assistant.suggest()
    assert len(fake_sidecar.requests) == 2
    fake_sidecar.down = False
    clock.now += 1
    panel = assistant.suggest()
    assert len(fake_sidecar.requests) == 3
    assert isinstance(panel, SuggestPanel)
    assert FALLBACK_NOTE not in panel.notes
    assert panel.choices[0].suggestion_id == "r1-1"
    assert fallback.using_sidecar
    assert any("answers again" in r.getMessage() for r in caplog.records)
    assistant.suggest()  # back to normal: asked every time
    assert len(fake_sidecar.requests) == 4


def test_falling_back_is_logged_once_not_on_every_request(
    fallback: FallbackBackend,
    fake_sidecar: FakeSidecar,
    clock: FakeClock,
    clipboard: FakeClipboard,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_sidecar.down = True
    clipboard.text = BARGAIN
    assistant = Assistant(fallback, clipboard)
    for _ in range(3):
        assistant.suggest()
        clock.now += 31
    falling = [r for r in caplog.records if "in-process engine" in r.getMessage()]
    assert len(falling) == 1
    assert falling[0].levelno == logging.WARNING


def test_fallen_back_check_says_so_once(
    fallback: FallbackBackend, fake_sidecar: FakeSidecar, clipboard: FakeClipboard
) -> None:
    fake_sidecar.down = True
    clipboard.text = RISKY_DRAFT
    panel = Assistant(fallback, clipboard).check()
    assert isinstance(panel, CheckPanel)
    assert panel.verdict == "block"
    assert panel.notes.count(FALLBACK_NOTE) == 1
    assert panel.redacted_problems == ("delivery_promise",)


def test_a_local_engine_choice_is_not_reported_to_the_sidecar(
    fallback: FallbackBackend, fake_sidecar: FakeSidecar, clipboard: FakeClipboard
) -> None:
    fake_sidecar.down = True
    clipboard.text = BARGAIN
    assistant = Assistant(fallback, clipboard)
    panel = assistant.suggest()
    assert isinstance(panel, SuggestPanel)
    fake_sidecar.down = False
    chosen = assistant.choose(panel, 1)
    assert chosen is not None
    assert clipboard.text == chosen.text
    assert fallback.accepted(chosen, agent_id=None) is False
    assert "/v1/feedback" not in fake_sidecar.paths


def test_fallback_passes_a_sidecar_refusal_through_instead_of_falling_back(
    factory: CountingFactory, clock: FakeClock, clipboard: FakeClipboard
) -> None:
    sidecar = mock_sidecar(
        lambda r: httpx.Response(422, json={"error": "validation_error", "message": "bad k"})
    )
    backend = FallbackBackend(sidecar, factory, retry_after=30, clock=clock)
    clipboard.text = BARGAIN
    panel = Assistant(backend, clipboard).suggest()
    assert isinstance(panel, NoticePanel)
    assert panel.level == "error"
    assert "bad k" in panel.message
    assert factory.calls == 0
    assert backend.using_sidecar


def test_no_sidecar_and_no_local_engine_gives_an_error_notice(
    fake_sidecar: FakeSidecar, clock: FakeClock, clipboard: FakeClipboard
) -> None:
    def cannot_load() -> LocalBackend:
        raise BackendError("the in-process engine cannot load either (see the terminal)")

    fake_sidecar.down = True
    backend = FallbackBackend(mock_sidecar(fake_sidecar), cannot_load, clock=clock)
    clipboard.text = BARGAIN
    panel = Assistant(backend, clipboard).suggest()
    assert isinstance(panel, NoticePanel)
    assert panel.level == "error"
    assert "cannot load" in panel.message


def test_fall_back_loads_the_local_engine_at_once(
    fallback: FallbackBackend, factory: CountingFactory
) -> None:
    fallback.fall_back("the sidecar did not answer")
    assert factory.calls == 1
    assert not fallback.using_sidecar


# --- privacy: no buyer message, draft or reply in the logs ----------------------------------------


@pytest.fixture(params=["local", "sidecar", "fallback"])
def any_backend(request: pytest.FixtureRequest, fake_sidecar: FakeSidecar) -> Backend:
    if request.param == "local":
        return request.getfixturevalue("local")
    if request.param == "sidecar":
        return request.getfixturevalue("sidecar")
    fake_sidecar.down = True
    return request.getfixturevalue("fallback")


def test_a_whole_cycle_never_logs_the_buyer_or_the_draft(
    any_backend: Backend, clipboard: FakeClipboard, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assistant = Assistant(any_backend, clipboard, agent_id="agent-7")
    clipboard.text = f"亲,能便宜点吗,我的电话{PHONE}"
    panel = assistant.suggest()
    assert isinstance(panel, SuggestPanel)
    chosen = assistant.choose(panel, 1)
    assert chosen is not None
    clipboard.text = RISKY_DRAFT
    checked = assistant.check()
    assert isinstance(checked, CheckPanel)
    assistant.copy_redacted(checked)
    assert caplog.records  # the capture works: the assistant logs what it did
    secrets = [PHONE, "能便宜点", PROMISE, checked.redacted, chosen.text]
    assert leaks(caplog.records, secrets) == []


# --- what runs without a desktop ------------------------------------------------------------------


def test_the_helper_imports_neither_tkinter_nor_pynput_until_it_runs() -> None:
    code = (
        "import sys\n"
        "import quickphrase.service.cli\n"
        "import quickphrase.service.hotkey.app, quickphrase.service.hotkey.assistant\n"
        "import quickphrase.service.hotkey.backends, quickphrase.service.hotkey.clipboard\n"
        "print(sorted(m for m in ('tkinter', 'pynput', 'pyperclip') if m in sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# --- display_problem: is there a desktop to run on ------------------------------------------------


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_windows_and_macos_always_have_a_desktop(platform: str) -> None:
    assert display_problem(environ={}, platform=platform) is None


@pytest.mark.parametrize(
    "environ",
    [{"DISPLAY": ":0"}, {"DISPLAY": ":1", "WAYLAND_DISPLAY": "wayland-0"}],
    ids=["x11", "xwayland"],
)
def test_linux_with_display_set_has_a_desktop(environ: dict[str, str]) -> None:
    assert display_problem(environ=environ, platform="linux") is None


def test_wayland_without_x11_is_explained() -> None:
    problem = display_problem(environ={"WAYLAND_DISPLAY": "wayland-0"}, platform="linux")
    assert problem is not None
    assert "Wayland" in problem
    assert "XWayland" in problem


@pytest.mark.parametrize("environ", [{}, {"DISPLAY": ""}], ids=["unset", "empty"])
def test_no_display_at_all_names_display(environ: dict[str, str]) -> None:
    problem = display_problem(environ=environ, platform="linux")
    assert problem is not None
    assert "DISPLAY" in problem
    assert "Wayland" not in problem


def test_display_problem_reads_the_process_environment_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert display_problem(platform="linux") is not None
    monkeypatch.setenv("DISPLAY", ":42")
    assert display_problem(platform="linux") is None


def test_desktop_error_carries_its_message() -> None:
    assert str(DesktopError("no display")) == "no display"


# --- single_instance: one helper per desktop ------------------------------------------------------


@pytest.mark.usefixtures("runtime_dir")
def test_a_second_helper_on_the_same_desktop_is_refused() -> None:
    with (
        single_instance({"DISPLAY": ":0"}),  # the helper already running
        pytest.raises(DesktopError, match="already running"),
        single_instance({"DISPLAY": ":0"}),
    ):
        pass


@pytest.mark.usefixtures("runtime_dir")
def test_helpers_on_different_desktops_do_not_block_each_other() -> None:
    with single_instance({"DISPLAY": ":0"}), single_instance({"DISPLAY": ":1"}):
        pass


@pytest.mark.usefixtures("runtime_dir")
def test_the_desktop_lock_is_released_when_the_helper_ends() -> None:
    with single_instance({"DISPLAY": ":0"}):
        pass
    with single_instance({"DISPLAY": ":0"}):
        pass


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG_RUNTIME_DIR is Linux's")
def test_the_desktop_lock_lives_in_the_runtime_dir(runtime_dir: Path) -> None:
    with single_instance({"DISPLAY": ":0"}):
        assert list((runtime_dir / "quickphrase").glob("hotkey*.lock"))


# --- focus_keeper: whatever the platform, the popup gets a keeper ---------------------------------


@pytest.mark.parametrize("platform", ["linux", "win32", "darwin"])
def test_focus_is_left_alone_where_no_keeper_can_start(
    monkeypatch: pytest.MonkeyPatch, platform: str
) -> None:
    if platform == sys.platform and platform in ("win32", "darwin"):
        pytest.skip("this platform's keeper starts for real")
    monkeypatch.delenv("DISPLAY", raising=False)  # on Linux: no X server to ask
    keeper = focus_keeper(platform)
    assert isinstance(keeper, NoFocusKeeper)
    keeper.remember()
    keeper.restore()


# --- Worker: runs the jobs off the screen's thread ------------------------------------------------


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


def test_worker_shows_suggestions_and_copies_the_pick(
    assistant: Assistant, clipboard: FakeClipboard
) -> None:
    clipboard.text = BARGAIN
    with running(assistant) as (worker, shown):
        worker.submit(worker.suggest)
        panel = shown.get(timeout=TIMEOUT)
        assert isinstance(panel, SuggestPanel)
        worker.submit(worker.choose, panel, 1)
    assert clipboard.text == panel.choices[0].text
    assert shown.empty()  # a pick shows nothing more


def test_worker_runs_the_check_and_copies_the_redacted_text(
    assistant: Assistant, clipboard: FakeClipboard
) -> None:
    clipboard.text = RISKY_DRAFT
    with running(assistant) as (worker, shown):
        worker.submit(worker.check)
        panel = shown.get(timeout=TIMEOUT)
        assert isinstance(panel, CheckPanel)
        worker.submit(worker.copy, panel)
    assert clipboard.text == panel.redacted
    assert PHONE not in clipboard.text


def test_worker_runs_jobs_in_order(local: LocalBackend, clipboard: FakeClipboard) -> None:
    backend = RecordingBackend(local)
    clipboard.text = BARGAIN
    with running(Assistant(backend, clipboard)) as (worker, shown):
        worker.submit(worker.suggest)
        worker.submit(worker.check)
        first, second = shown.get(timeout=TIMEOUT), shown.get(timeout=TIMEOUT)
    assert isinstance(first, SuggestPanel)
    assert isinstance(second, CheckPanel)
    assert [name for name, _ in backend.calls] == ["suggest", "check"]


def test_worker_survives_a_failing_job_and_serves_the_next(
    clipboard: FakeClipboard, caplog: pytest.LogCaptureFixture
) -> None:
    class BrokenSuggest(RecordingBackend):
        def suggest(self, text: str, **kwargs: Any) -> SuggestPanel:
            raise RuntimeError("a bug")

    clipboard.text = SAFE_REPLY
    with running(Assistant(BrokenSuggest(), clipboard)) as (worker, shown):
        worker.submit(worker.suggest)
        failed = shown.get(timeout=TIMEOUT)
        worker.submit(worker.check)
        served = shown.get(timeout=TIMEOUT)
    assert isinstance(failed, NoticePanel)
    assert failed.level == "error"
    assert failed.message
    assert isinstance(served, CheckPanel)
    assert served.verdict == "pass"
    [logged] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "suggest" in logged.getMessage()
    assert "RuntimeError" in logged.getMessage()


def test_worker_logs_a_failing_job_without_its_message(
    clipboard: FakeClipboard, caplog: pytest.LogCaptureFixture
) -> None:
    class QuotingSuggest(RecordingBackend):
        def suggest(self, text: str, **kwargs: Any) -> SuggestPanel:
            raise RuntimeError(f"cannot handle {text}")  # a library quoting its input

    clipboard.text = BARGAIN
    with running(Assistant(QuotingSuggest(), clipboard)) as (worker, shown):
        worker.submit(worker.suggest)
        failed = shown.get(timeout=TIMEOUT)
    assert isinstance(failed, NoticePanel)
    [logged] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "RuntimeError" in logged.getMessage()
    assert BARGAIN not in logged.getMessage()
    assert logged.exc_info is None  # a formatted traceback would print the message


def test_worker_shows_a_clipboard_that_cannot_be_written_as_an_error(
    local: LocalBackend, bargain_panel: SuggestPanel
) -> None:
    clipboard = UnwritableClipboard(BARGAIN, "cannot write the clipboard: install xsel")
    with running(Assistant(local, clipboard)) as (worker, shown):
        worker.submit(worker.choose, bargain_panel, 1)
        panel = shown.get(timeout=TIMEOUT)
        worker.submit(worker.suggest)
        after = shown.get(timeout=TIMEOUT)
    assert isinstance(panel, NoticePanel)
    assert panel.level == "error"
    assert "剪贴板" in panel.title
    assert panel.message == "cannot write the clipboard: install xsel"
    assert isinstance(after, SuggestPanel)  # and it keeps going


def test_worker_choice_outside_the_panel_shows_and_copies_nothing(
    assistant: Assistant, clipboard: FakeClipboard, bargain_panel: SuggestPanel
) -> None:
    with running(assistant) as (worker, shown):
        worker.submit(worker.choose, bargain_panel, 9)
    assert shown.empty()
    assert clipboard.writes == []


def test_stopped_worker_ends(assistant: Assistant) -> None:
    with running(assistant) as (worker, _):
        assert worker.is_alive()
        assert worker.daemon


# --- the `quickphrase hotkey` command, up to where it would open a display ------------------------


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


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--suggest-key", "q"], "modifier"),
        (["--check-key", "ctrl+alt+qq"], "unknown key"),
        (["--suggest-key", "ctrl+alt+x", "--check-key", "alt+control+X"], "same hotkey"),
        (["--suggest-key", "ctrl+alt+w"], "same hotkey"),  # the check key's default
    ],
    ids=["no-modifier", "unknown-key", "same-twice", "same-as-default"],
)
def test_hotkey_command_refuses_unusable_hotkeys(
    invoke: Callable[..., Any], args: list[str], says: str
) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert says in result.output


def test_hotkey_command_refuses_an_unknown_shop_type(invoke: Callable[..., Any]) -> None:
    result = invoke("--shop-type", "jd")
    assert result.exit_code == 2
    assert "jd" in result.output
    assert "taobao" in result.output


@pytest.mark.usefixtures("with_display")
@pytest.mark.parametrize("server", ["ftp://x", "127.0.0.1:8000", "localhost"])
def test_hotkey_command_refuses_a_server_that_is_not_http_before_loading_anything(
    invoke: Callable[..., Any], server: str
) -> None:
    pytest.importorskip("pyperclip")
    result = invoke("--server", server)
    assert result.exit_code == 2
    assert "http://" in result.output
    assert repr(server) in result.output
    assert "loading" not in result.output


@pytest.mark.usefixtures("with_display")
def test_hotkey_command_reads_the_server_from_the_environment(
    invoke: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pyperclip")
    monkeypatch.setenv("QUICKPHRASE_SERVER", "ftp://from-env")
    result = invoke()
    assert result.exit_code == 2
    assert "ftp://from-env" in result.output


@pytest.mark.usefixtures("with_display")
def test_hotkey_command_refuses_to_run_twice_on_one_desktop_before_loading_the_engine(
    invoke: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pyperclip")
    # As if tkinter, pynput and a clipboard tool were all there (DISPLAY is fake).
    monkeypatch.setattr("quickphrase.service.hotkey.app.preflight", lambda: None)
    with single_instance({"DISPLAY": ":99"}):
        result = invoke()
    assert result.exit_code == 4
    assert "already running" in result.output
    assert "loading" not in result.output


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="DISPLAY matters on Linux")
def test_hotkey_command_without_a_display_exits_4_naming_display(
    invoke: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    result = invoke()
    assert result.exit_code == 4
    assert "DISPLAY" in result.output


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Wayland is Linux only")
def test_hotkey_command_on_wayland_only_exits_4_explaining_it(
    invoke: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    result = invoke()
    assert result.exit_code == 4
    assert "Wayland" in result.output


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="DISPLAY matters on Linux")
def test_hotkey_command_checks_the_hotkeys_before_the_display(
    invoke: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    result = invoke("--suggest-key", "q")
    assert result.exit_code == 2
    assert "modifier" in result.output


# --- after review: ordering, odd sidecars, an engine that cannot load --------------------------


def test_a_pick_is_pasted_before_it_is_reported(clipboard: FakeClipboard) -> None:
    # A slow sidecar must not hold the reply back from the chat window.
    events: list[str] = []

    class Reporting(RecordingBackend):
        def accepted(self, choice: Choice, *, agent_id: str | None) -> bool:
            events.append("reported")
            return True

    clipboard.text = BARGAIN
    shown: queue.Queue[Panel] = queue.Queue()
    worker = Worker(Assistant(Reporting(), clipboard), shown.put, lambda: events.append("pasted"))
    worker.start()
    worker.submit(worker.suggest)
    panel = shown.get(timeout=TIMEOUT)
    assert isinstance(panel, SuggestPanel)
    worker.submit(worker.choose, panel, 1)
    worker.stop()
    worker.join(TIMEOUT)
    assert events == ["pasted", "reported"]
    assert clipboard.text == CANNED_REPLY


@pytest.mark.parametrize(
    "answer",
    [
        {"verdict": "maybe", "violations": [], "redacted": "x"},
        {
            "verdict": "block",
            "violations": [
                {
                    "rule": "r",
                    "category": "c",
                    "severity": "fatal",
                    "start": 0,
                    "end": 1,
                    "message": "m",
                }
            ],
            "redacted": "x",
        },
    ],
    ids=["unknown-verdict", "unknown-severity"],
)
def test_a_sidecar_answering_an_unknown_verdict_gives_an_error_notice(
    clipboard: FakeClipboard, answer: dict[str, Any]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answer)

    clipboard.text = SAFE_REPLY
    backend = SidecarBackend(SIDECAR_URL, client=mock_client(handler))
    panel = Assistant(backend, clipboard).check()
    assert isinstance(panel, NoticePanel)
    assert panel.level == "error"
    assert "unknown shape" in panel.message


def test_an_in_process_engine_that_cannot_load_is_not_reloaded_on_every_hotkey(
    clipboard: FakeClipboard,
) -> None:
    loads = 0

    def broken() -> LocalBackend:
        nonlocal loads
        loads += 1
        raise BackendError("the in-process engine cannot load either")

    sidecar = SidecarBackend(SIDECAR_URL, client=mock_client(raising(httpx.ConnectError("no"))))
    assistant = Assistant(FallbackBackend(sidecar, broken), clipboard)
    clipboard.text = BARGAIN
    panels = [assistant.suggest(), assistant.suggest()]
    assert all(isinstance(p, NoticePanel) and p.level == "error" for p in panels)
    assert loads == 1


def test_shift_with_a_digit_is_refused_because_it_types_a_symbol() -> None:
    with pytest.raises(HotkeyError, match="types a symbol"):
        pynput_hotkey("ctrl+shift+1")
    assert pynput_hotkey("ctrl+shift+q") == "<ctrl>+<shift>+q"
