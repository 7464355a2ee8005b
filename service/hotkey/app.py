"""The desktop helper: global hotkeys, a worker thread and the Tk popup.

Three threads, each with one job: pynput's listener turns hotkeys into jobs;
a worker runs jobs (clipboard, engine or sidecar, paste) so the network never
blocks the screen; the Tk main thread only draws panels and takes the pick.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import platformdirs

from .assistant import Assistant
from .clipboard import ClipboardError
from .keys import distinct_hotkeys, paste_modifier
from .panels import NoticePanel, Panel

if TYPE_CHECKING:
    import tkinter as tk

log = logging.getLogger(__name__)
POLL_MS = 30
# Long enough for the window manager to hand focus back to the chat window.
PASTE_DELAY = 0.25
# pynput's X11 listener says it is ready just before it starts recording keys
# (pynput/_util/xorg.py, ListenerMixin._run), so a hotkey pressed at once is lost.
LISTENER_SETTLE = 0.3


class DesktopError(Exception):
    """The helper cannot run on this desktop; ``str()`` says why and what to do."""


@dataclass(frozen=True)
class Hotkeys:
    suggest: str = "ctrl+alt+q"
    check: str = "ctrl+alt+w"


def display_problem(
    environ: dict[str, str] | None = None, platform: str = sys.platform
) -> str | None:
    """Why there is no desktop to run on, or None when there is one."""
    env = os.environ if environ is None else environ
    if platform in ("win32", "darwin") or env.get("DISPLAY"):
        return None
    if env.get("WAYLAND_DISPLAY"):
        return (
            "this is a Wayland session without X11 (DISPLAY is not set); global hotkeys "
            "need X11: log in with an Xorg session, or enable XWayland"
        )
    return (
        "no display: DISPLAY is not set; run the helper inside the agent's desktop "
        "session, not over a plain SSH or a service"
    )


@contextlib.contextmanager
def single_instance(environ: dict[str, str] | None = None) -> Iterator[None]:
    """Hold this desktop's lock: two helpers would both answer every hotkey."""
    from filelock import FileLock, Timeout

    env = os.environ if environ is None else environ
    desktop = re.sub(r"[^A-Za-z0-9]", "_", env.get("DISPLAY", ""))
    try:
        folder = platformdirs.user_runtime_path("quickphrase", ensure_exists=True)
    except OSError:
        folder = platformdirs.user_cache_path("quickphrase", ensure_exists=True)
    lock = FileLock(folder / f"hotkey{desktop}.lock", timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise DesktopError(
            "another quickphrase hotkey is already running on this desktop; "
            "stop it first (both would answer every hotkey)"
        ) from None
    try:
        yield
    finally:
        lock.release()


class Worker(threading.Thread):
    """Runs the assistant's jobs in order and posts the panels to show."""

    def __init__(self, assistant: Assistant, show: Callable[[Panel], None], paste: bool) -> None:
        super().__init__(name="quickphrase-hotkey-worker", daemon=True)
        self.assistant = assistant
        self.jobs: queue.Queue[tuple[Any, ...] | None] = queue.Queue()
        self._show = show
        self._paste = paste
        self._keyboard: Any = None

    def run(self) -> None:
        while (job := self.jobs.get()) is not None:
            try:
                self._do(*job)
            except ClipboardError as exc:
                self._show(NoticePanel("剪贴板出错", str(exc), "error"))
            except Exception:  # a bug must not kill the helper the agent relies on
                log.exception("the %s job failed", job[0])
                self._show(NoticePanel("出错了", "这次没有完成,请再按一次快捷键。", "error"))

    def stop(self) -> None:
        self.jobs.put(None)

    def _do(self, name: str, *args: Any) -> None:
        if name == "suggest":
            self._show(self.assistant.suggest())
        elif name == "check":
            self._show(self.assistant.check())
        elif name == "choose":
            if self.assistant.choose(*args) is not None:
                self._paste_clipboard()
        elif name == "copy":
            self.assistant.copy_redacted(*args)
            self._paste_clipboard()
        else:
            raise ValueError(f"unknown job {name!r}")

    def _paste_clipboard(self) -> None:
        if not self._paste:
            return
        from pynput.keyboard import Controller, Key

        time.sleep(PASTE_DELAY)
        self._keyboard = self._keyboard or Controller()
        with self._keyboard.pressed(getattr(Key, paste_modifier())):
            self._keyboard.tap("v")


def run(
    assistant: Assistant,
    hotkeys: Hotkeys = Hotkeys(),
    *,
    paste: bool = False,
    announce: Callable[[str], None] = print,
) -> None:
    """Listen for the hotkeys until Ctrl+C or SIGTERM. Raises ``DesktopError``.

    Callers hold ``single_instance()`` around it (the CLI does, before it
    spends seconds loading an engine).
    """
    suggest_combo, check_combo = distinct_hotkeys(hotkeys.suggest, hotkeys.check)
    problem = display_problem()
    if problem:
        raise DesktopError(problem)
    root = _tk_root()
    keyboard = _pynput_keyboard()
    from .focus import focus_keeper
    from .popup import Popup

    panels: queue.Queue[Panel] = queue.Queue()
    worker = Worker(assistant, panels.put, paste)
    popup = Popup(
        root,
        on_choose=lambda panel, n: worker.jobs.put(("choose", panel, n)),
        on_copy=lambda panel: worker.jobs.put(("copy", panel)),
        paste=paste,
        focus=focus_keeper(),
    )
    listener = keyboard.GlobalHotKeys(
        {
            suggest_combo: lambda: worker.jobs.put(("suggest",)),
            check_combo: lambda: worker.jobs.put(("check",)),
        }
    )
    stopping = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stopping.set()) for s in _stop_signals()}

    def poll() -> None:
        if stopping.is_set():
            root.quit()
            return
        try:
            while True:
                popup.show(panels.get_nowait())
        except queue.Empty:
            pass
        root.after(POLL_MS, poll)

    worker.start()
    listener.start()
    listener.wait()
    time.sleep(LISTENER_SETTLE)
    announce(
        f"quickphrase hotkey: ready. {hotkeys.suggest} suggests replies to the copied "
        f"buyer message, {hotkeys.check} checks a copied draft; Ctrl+C quits."
    )
    root.after(POLL_MS, poll)
    try:
        root.mainloop()
    finally:
        listener.stop()
        worker.stop()
        root.destroy()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop_signals() -> list[signal.Signals]:
    return [signal.SIGINT] + ([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])


def _tk_root() -> tk.Tk:
    try:
        import tkinter as tk
    except ImportError as exc:
        raise DesktopError(
            "tkinter is missing from this Python: install it (Debian/Ubuntu: python3-tk)"
        ) from exc
    try:
        root = tk.Tk(className="quickphrase")
    except tk.TclError as exc:
        raise DesktopError(f"cannot open the display: {exc}") from exc
    root.withdraw()
    return root


def _pynput_keyboard() -> Any:
    try:
        from pynput import keyboard
    except ImportError as exc:
        if "pynput" in str(exc) and "No module" in str(exc):
            raise DesktopError(
                "the hotkey helper needs pynput and pyperclip: pip install 'quickphrase[hotkey]'"
            ) from exc
        raise DesktopError(f"global hotkeys are not available here: {exc}") from exc
    except Exception as exc:  # pynput's X11 backend fails on import without a server
        raise DesktopError(f"global hotkeys are not available here: {exc}") from exc
    return keyboard
