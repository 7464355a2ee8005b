"""Worker: runs the jobs off the screen's thread.

The worker thread does what the hotkeys and the popup ask, in order: it shows
the panels, copies the pick, survives a failing job (logging it without the
message), and pastes a pick before it reports it.
"""

from __future__ import annotations

import logging
import queue
from typing import Any

import pytest

from quickphrase.service.hotkey.app import Worker
from quickphrase.service.hotkey.assistant import Assistant
from quickphrase.service.hotkey.backends import LocalBackend
from quickphrase.service.hotkey.panels import CheckPanel, Choice, NoticePanel, Panel, SuggestPanel

from .doubles import (
    BARGAIN,
    CANNED_REPLY,
    PHONE,
    RISKY_DRAFT,
    SAFE_REPLY,
    TIMEOUT,
    FakeClipboard,
    RecordingBackend,
    UnwritableClipboard,
    running,
)


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
