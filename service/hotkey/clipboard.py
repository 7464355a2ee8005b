"""The system clipboard, through pyperclip, with errors an agent can act on."""

from __future__ import annotations

import sys
from typing import Protocol


class ClipboardError(Exception):
    """The clipboard cannot be read or written; ``str()`` says what to install or do."""


class Clipboard(Protocol):
    def read(self) -> str: ...

    def write(self, text: str) -> None: ...


def _advice() -> str:
    if sys.platform.startswith("linux"):
        return "install xclip or xsel (X11), or wl-clipboard (Wayland)"
    return "check that another program is not holding the clipboard"


class SystemClipboard:
    """pyperclip: xclip/xsel/wl-clipboard on Linux, the native clipboard elsewhere."""

    def __init__(self) -> None:
        import pyperclip

        self._pyperclip = pyperclip

    def read(self) -> str:
        try:
            text = self._pyperclip.paste()
        except self._pyperclip.PyperclipException as exc:
            raise ClipboardError(f"cannot read the clipboard: {_advice()}") from exc
        except UnicodeDecodeError as exc:  # pyperclip decodes xclip's bytes as UTF-8
            raise ClipboardError("the clipboard holds text that is not UTF-8") from exc
        # An image or a file on the clipboard reads as nothing, like an empty one.
        return text if isinstance(text, str) else ""

    def write(self, text: str) -> None:
        try:
            self._pyperclip.copy(text)
        except self._pyperclip.PyperclipException as exc:
            raise ClipboardError(f"cannot write the clipboard: {_advice()}") from exc
