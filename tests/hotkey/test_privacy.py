"""Privacy: no buyer message, draft or reply in the logs, whatever the backend."""

from __future__ import annotations

import logging

import pytest

from quickphrase.service.hotkey.assistant import Assistant
from quickphrase.service.hotkey.backends import Backend
from quickphrase.service.hotkey.panels import CheckPanel, SuggestPanel

from .doubles import PHONE, PROMISE, RISKY_DRAFT, FakeClipboard, FakeSidecar, leaks


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
