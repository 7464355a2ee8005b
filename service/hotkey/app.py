"""The desktop helper: global hotkeys, a worker thread and the Tk popup.

Three threads, each with one job: pynput's listener turns hotkeys into jobs;
a worker runs jobs (clipboard, engine or sidecar, paste) so the network never
blocks the screen; the Tk main thread only draws panels and takes the pick.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import queue
import re
import shutil
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import platformdirs

from ..tracebacks import where_it_failed
from .assistant import Assistant
from .clipboard import ClipboardError
from .keys import distinct_hotkeys, paste_modifier
from .panels import CheckPanel, NoticePanel, Panel, SuggestPanel

if TYPE_CHECKING:
    import tkinter as tk

log = logging.getLogger(__name__)
POLL_MS = 30
# Long enough for the window manager to hand focus back to the chat window.
PASTE_DELAY = 0.25
# pynput's X11 listener says it is ready just before it starts recording keys
# (pynput/_util/xorg.py, ListenerMixin._run), so a hotkey pressed at once is lost.
LISTENER_SETTLE = 0.3
LISTENER_START_SECONDS = 5.0
WORKER_DRAIN_SECONDS = 5.0  # for a pick's feedback still on its way at Ctrl+C


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
        with warnings.catch_warnings():  # no XDG_RUNTIME_DIR: its fallback is fine
            warnings.simplefilter("ignore")
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
    """Runs the assistant's jobs in order and hands the panels to show to ``show``.

    Jobs are its own methods, queued with ``submit(worker.suggest)`` and the like.
    """

    def __init__(
        self,
        assistant: Assistant,
        show: Callable[[Panel], None],
        paste: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(name="quickphrase-hotkey-worker", daemon=True)
        self.assistant = assistant
        self.jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._show = show
        self._paste = paste

    def submit(self, job: Callable[..., None], *args: Any) -> None:
        self.jobs.put(functools.partial(job, *args))

    def stop(self) -> None:
        """Finish the jobs already queued (a pick's feedback among them), then end."""
        self.jobs.put(None)

    def run(self) -> None:
        while (job := self.jobs.get()) is not None:
            try:
                job()
            except ClipboardError as exc:
                self._show(NoticePanel("剪贴板出错", str(exc), "error"))
            except Exception as exc:  # a bug must not kill the helper the agent relies on
                # The traceback without the message: a message may quote the text.
                log.error("a %s job failed: %s", _job_name(job), where_it_failed(exc))
                self._show(NoticePanel("出错了", "这次没有完成,请再按一次快捷键。", "error"))

    def suggest(self) -> None:
        self._show(self.assistant.suggest())

    def check(self) -> None:
        self._show(self.assistant.check())

    def choose(self, panel: SuggestPanel, position: int) -> None:
        # Paste before reporting: a slow sidecar must not delay the reply.
        choice = self.assistant.pick(panel, position)
        if choice is not None:
            self._paste_clipboard()
            self.assistant.report(choice)

    def copy(self, panel: CheckPanel) -> None:
        self.assistant.copy_redacted(panel)
        self._paste_clipboard()

    def _paste_clipboard(self) -> None:
        if self._paste is not None:
            time.sleep(PASTE_DELAY)
            self._paste()


def _job_name(job: Callable[[], None]) -> str:
    func = getattr(job, "func", job)
    return getattr(func, "__name__", repr(func))


def preflight() -> None:
    """Fail fast, before seconds go into loading an engine: a desktop, tkinter,
    pynput and a clipboard tool must all be there. Raises ``DesktopError``."""
    problem = display_problem()
    if problem:
        raise DesktopError(problem)
    _tkinter()
    _pynput_keyboard()
    if sys.platform.startswith("linux") and not any(
        shutil.which(tool) for tool in ("xclip", "xsel", "wl-copy")
    ):
        raise DesktopError("no clipboard tool: install xclip or xsel (apt install xclip)")


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
    preflight()
    keyboard = _pynput_keyboard()
    with contextlib.ExitStack() as cleanup:
        # pynput objects are made on the main thread, before Tk: macOS insists.
        paster = _paster(keyboard) if paste else None
        panels: queue.Queue[Panel] = queue.Queue()
        worker = Worker(assistant, panels.put, paster)
        listener = keyboard.GlobalHotKeys(
            {
                suggest_combo: lambda: worker.submit(worker.suggest),
                check_combo: lambda: worker.submit(worker.check),
            }
        )
        _start_listening(listener)
        cleanup.callback(listener.stop)
        worker.start()
        cleanup.callback(worker.join, WORKER_DRAIN_SECONDS)
        cleanup.callback(worker.stop)
        root = _tk_root()
        cleanup.callback(root.destroy)
        _show_panels(root, panels, worker, paste)
        announce(
            f"quickphrase hotkey: ready. {hotkeys.suggest} suggests replies to the copied "
            f"buyer message, {hotkeys.check} checks a copied draft; Ctrl+C quits."
        )
        _mainloop_until_signalled(root)


def _start_listening(listener: Any) -> None:
    """Start pynput's listener and wait until it records keys, or say why not."""
    listener.start()
    waiter = threading.Thread(target=listener.wait, daemon=True)
    waiter.start()
    waiter.join(LISTENER_START_SECONDS)
    if waiter.is_alive() or not listener.is_alive():
        listener.stop()
        raise DesktopError(
            "global hotkeys could not start (on X11 the server needs the RECORD extension)"
        )
    if not getattr(listener, "IS_TRUSTED", True):  # macOS without the permission
        listener.stop()
        raise DesktopError(
            "macOS does not let this program see the keyboard: allow your terminal under "
            "System Settings > Privacy & Security > Accessibility and Input Monitoring"
        )
    time.sleep(LISTENER_SETTLE)


def _show_panels(root: tk.Tk, panels: queue.Queue[Panel], worker: Worker, paste: bool) -> None:
    """Draw each panel the worker posts; the Tk thread is the only one touching widgets."""
    from .focus import focus_keeper
    from .popup import Popup

    popup = Popup(
        root,
        on_choose=lambda panel, n: worker.submit(worker.choose, panel, n),
        on_copy=lambda panel: worker.submit(worker.copy, panel),
        paste=paste,
        focus=focus_keeper(),
    )

    def poll() -> None:
        try:
            while True:
                popup.show(panels.get_nowait())
        except queue.Empty:
            pass
        except Exception as exc:  # one bad panel must not stop every later one
            log.error("a popup failed: %s", where_it_failed(exc))
        finally:
            root.after(POLL_MS, poll)

    root.after(POLL_MS, poll)


def _mainloop_until_signalled(root: tk.Tk) -> None:
    stopping = threading.Event()

    def check() -> None:
        if stopping.is_set():
            root.quit()
        else:
            root.after(POLL_MS, check)

    previous = {s: signal.signal(s, lambda *_: stopping.set()) for s in _stop_signals()}
    try:
        root.after(POLL_MS, check)
        root.mainloop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop_signals() -> list[signal.Signals]:
    return [signal.SIGINT] + ([signal.SIGTERM] if hasattr(signal, "SIGTERM") else [])


def _paster(keyboard: Any) -> Callable[[], None]:
    controller = keyboard.Controller()
    modifier = getattr(keyboard.Key, paste_modifier())

    def paste() -> None:
        with controller.pressed(modifier):
            controller.tap("v")

    return paste


def _tkinter() -> Any:
    try:
        import tkinter
    except ImportError as exc:
        raise DesktopError(
            "tkinter is missing from this Python: install it (Debian/Ubuntu: python3-tk)"
        ) from exc
    return tkinter


def _tk_root() -> tk.Tk:
    tkinter = _tkinter()
    try:
        root = tkinter.Tk(className="quickphrase")
    except tkinter.TclError as exc:
        raise DesktopError(f"cannot open the display: {exc}") from exc
    root.withdraw()

    def report(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
        # Tk prints callback errors with their message by default; keep text out.
        log.error("the popup failed: %s", where_it_failed(exc))

    root.report_callback_exception = report  # type: ignore[assignment]
    return root


def _pynput_keyboard() -> Any:
    try:
        from pynput import keyboard
    except ImportError as exc:
        if exc.name == "pynput":
            raise DesktopError(
                "the hotkey helper needs pynput and pyperclip: pip install 'quickphrase[hotkey]'"
            ) from exc
        # pynput's X11 backend raises ImportError when it cannot reach the server.
        raise DesktopError(f"global hotkeys are not available here: {exc}") from exc
    except Exception as exc:  # an X server that refuses the connection, say
        raise DesktopError(f"global hotkeys are not available here: {exc}") from exc
    return keyboard
