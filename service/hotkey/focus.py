"""Giving the keyboard back to the chat window when the popup closes.

The popup must take the keyboard for keys 1-3; afterwards the reply belongs in
the window the agent was typing in. Window managers usually hand focus back,
but not all do (and a bare X server never does), so the popup remembers the
focused window when it opens and restores it when the agent picks or presses
Esc. Each platform has its own call; where none works, focus is left alone.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Protocol

log = logging.getLogger(__name__)


class FocusKeeper(Protocol):
    def remember(self) -> None:
        """Note the window that has the keyboard now."""

    def restore(self) -> None:
        """Give the keyboard back to the window noted last, if it still exists."""


class NoFocusKeeper:
    def remember(self) -> None:
        pass

    def restore(self) -> None:
        pass


class X11FocusKeeper:
    """python-xlib (pynput's own X11 dependency) on a connection of its own."""

    def __init__(self) -> None:
        from Xlib import X, display, error

        self._x = X
        self._errors = (error.XError, error.ConnectionClosedError)
        self._catch = error.CatchError
        self._display = display.Display()
        self._window: Any = None

    def remember(self) -> None:
        try:
            focus = self._display.get_input_focus().focus
        except self._errors:
            focus = None
        # PointerRoot and None come back as ints: there is no window to return to.
        self._window = None if isinstance(focus, int) else focus

    def restore(self) -> None:
        if self._window is None:
            return
        # Without a catcher python-xlib prints an X error about a window closed
        # meanwhile to stderr; that is no error of ours.
        gone = self._catch()
        try:
            self._window.set_input_focus(self._x.RevertToParent, self._x.CurrentTime, onerror=gone)
            self._display.sync()
        except self._errors:
            gone = None
        if gone is None or gone.get_error():
            log.debug("the window that had focus is gone")


class WindowsFocusKeeper:
    def __init__(self) -> None:
        import ctypes

        self._user32 = ctypes.windll.user32  # type: ignore[attr-defined]
        self._window = 0

    def remember(self) -> None:
        self._window = self._user32.GetForegroundWindow()

    def restore(self) -> None:
        if self._window and self._user32.IsWindow(self._window):
            self._user32.SetForegroundWindow(self._window)


class MacFocusKeeper:
    def __init__(self) -> None:
        import AppKit  # pyobjc, installed with pynput on macOS

        self._appkit = AppKit
        self._app: Any = None

    def remember(self) -> None:
        self._app = self._appkit.NSWorkspace.sharedWorkspace().frontmostApplication()

    def restore(self) -> None:
        if self._app is not None:
            self._app.activateWithOptions_(self._appkit.NSApplicationActivateIgnoringOtherApps)


def focus_keeper(platform: str = sys.platform) -> FocusKeeper:
    """The keeper for this platform, or one that does nothing if it cannot start."""
    kinds = {"win32": WindowsFocusKeeper, "darwin": MacFocusKeeper}
    kind = kinds.get(platform, X11FocusKeeper)
    try:
        return kind()
    except Exception as exc:  # no Xlib, no AppKit, no display: the popup still works
        log.debug("focus is left to the window manager: %s", exc)
        return NoFocusKeeper()
