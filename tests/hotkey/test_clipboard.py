"""The system clipboard (pyperclip faked): what the agent is told when it cannot be used."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from quickphrase.service.hotkey import clipboard as clipboard_module
from quickphrase.service.hotkey.clipboard import ClipboardError, SystemClipboard


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
