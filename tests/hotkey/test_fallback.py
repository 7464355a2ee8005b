"""FallbackBackend: the sidecar while it answers, else the in-process engine.

When the sidecar is unreachable the helper falls back to an engine loaded in
process (once), says so on the panel and in the log (once), asks the sidecar
again only after ``retry_after`` seconds, and passes a sidecar's refusal through
instead of falling back.
"""

from __future__ import annotations

import logging

import httpx
import pytest

from quickphrase.engine import Engine
from quickphrase.service.hotkey.assistant import Assistant
from quickphrase.service.hotkey.backends import (
    FALLBACK_NOTE,
    BackendError,
    FallbackBackend,
    LocalBackend,
    SidecarBackend,
)
from quickphrase.service.hotkey.panels import CheckPanel, NoticePanel, SuggestPanel

from .doubles import (
    BARGAIN,
    RISKY_DRAFT,
    SAFE_REPLY,
    SIDECAR_URL,
    CountingFactory,
    FakeClipboard,
    FakeClock,
    FakeSidecar,
    mock_client,
    mock_sidecar,
    raising,
)


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
