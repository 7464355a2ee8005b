"""The hotkey helper on a real X server: what an agent does, key by key.

Each test drives a ``quickphrase hotkey`` process on Xvfb the way an agent
would: xclip puts a message on the clipboard, xdotool presses the hotkey and
then ``1`` or ``c`` in the popup, and the clipboard (or the chat window) is
read back. Screenshots of the popups are saved under ``.artefacts/`` for
people to look at.

Needs Debian's xvfb, xdotool and xclip (``.ci/run`` installs them); without
them the tests skip, unless ``QUICKPHRASE_REQUIRE_DESKTOP=1`` makes that a
failure, as in CI.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from quickphrase.engine import Engine

from ..sidecars import QUICKPHRASE, api, free_port, server_env, start_server, stop_server

TOOLS = ("Xvfb", "xdotool", "xclip")
ARTEFACTS = Path(__file__).resolve().parents[2] / ".artefacts"  # at the repository's root
READY_SECONDS = 30.0
POPUP_SECONDS = 10.0
BARGAIN = "亲,能便宜点吗"
SHIPPING = "什么时候发货呀"
RISKY_DRAFT = "亲,明天肯定能到哈,收件人张三 13812345678 杭州市西湖区文三路100号"
POINTER = (400, 300)
SUGGEST_TITLE = "quickphrase: suggest"
CHECK_TITLE = "quickphrase: check"
NOTICE_TITLE = "quickphrase: notice"

_missing = [tool for tool in TOOLS if shutil.which(tool) is None]
if _missing:
    reason = f"needs {', '.join(_missing)} (Debian: xvfb xdotool xclip)"
    if os.environ.get("QUICKPHRASE_REQUIRE_DESKTOP") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason, allow_module_level=True)


# --- an X server and the tools an agent's hands stand in for ---------------------


@dataclass
class Desktop:
    display: str

    @property
    def env(self) -> dict[str, str]:
        return {**server_env(), "DISPLAY": self.display}

    def run(self, *command: str, data: bytes | None = None) -> str:
        done = subprocess.run(
            command,
            input=data,
            env=self.env,
            capture_output=data is None,
            stdout=subprocess.DEVNULL if data is not None else None,
            stderr=subprocess.DEVNULL if data is not None else None,
            timeout=10,
            check=False,
        )
        return done.stdout.decode() if data is None else ""

    def copy(self, text: str) -> None:
        """What Ctrl+C in the chat window does: xclip owns the clipboard from now on."""
        # xclip stays behind to serve the selection, so its output must not be a pipe.
        self.run("xclip", "-selection", "clipboard", "-i", data=text.encode())

    def clipboard(self) -> str:
        return self.run("xclip", "-selection", "clipboard", "-o")

    def press(self, *keys: str) -> None:
        self.run("xdotool", "key", *keys)

    def point_at(self, x: int, y: int) -> None:
        self.run("xdotool", "mousemove", str(x), str(y))

    def windows(self, title: str) -> list[str]:
        return self.run("xdotool", "search", "--onlyvisible", "--name", f"^{title}$").split()

    def wait_for_window(self, title: str) -> str:
        deadline = time.monotonic() + POPUP_SECONDS
        while time.monotonic() < deadline:
            found = self.windows(title)
            if found:
                time.sleep(0.3)  # mapped; let it take the keyboard
                return found[0]
            time.sleep(0.05)
        pytest.fail(f"no window {title!r} within {POPUP_SECONDS} s")

    def wait_until_closed(self, title: str) -> None:
        deadline = time.monotonic() + POPUP_SECONDS
        while self.windows(title):
            if time.monotonic() > deadline:
                pytest.fail(f"the window {title!r} is still open")
            time.sleep(0.05)

    def wait_for_clipboard(self, expected: str) -> str:
        deadline = time.monotonic() + POPUP_SECONDS
        while (found := self.clipboard()) != expected and time.monotonic() < deadline:
            time.sleep(0.05)
        return found

    def geometry(self, window: str) -> tuple[int, int]:
        out = self.run("xdotool", "getwindowgeometry", "--shell", window)
        values = dict(line.split("=", 1) for line in out.split())
        return int(values["X"]), int(values["Y"])

    def size(self, window: str) -> tuple[int, int]:
        out = self.run("xdotool", "getwindowgeometry", "--shell", window)
        values = dict(line.split("=", 1) for line in out.split())
        return int(values["WIDTH"]), int(values["HEIGHT"])

    def screenshot(self, name: str) -> Path:
        from PIL import ImageGrab

        ARTEFACTS.mkdir(exist_ok=True)
        path = ARTEFACTS / name
        ImageGrab.grab(xdisplay=self.display).save(path)
        return path


@pytest.fixture(scope="module")
def desktop() -> Iterator[Desktop]:
    """A fresh Xvfb on a display number it picks itself."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number:
        xvfb.kill()
        pytest.fail("Xvfb did not start")
    try:
        yield Desktop(f":{number}")
    finally:
        xvfb.terminate()
        xvfb.wait(10)


@dataclass
class Helper:
    proc: subprocess.Popen[bytes]
    stderr_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


def start_helper(desktop: Desktop, log_dir: Path, *args: str) -> Helper:
    """``quickphrase hotkey`` once it says it is listening."""
    stderr_path = log_dir / f"hotkey-{time.monotonic_ns()}.stderr"
    with stderr_path.open("wb") as err:
        proc = subprocess.Popen(
            [str(QUICKPHRASE), "hotkey", *args],
            env=desktop.env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    helper = Helper(proc, stderr_path)
    deadline = time.monotonic() + READY_SECONDS
    while "ready" not in helper.stderr():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_helper(helper)
            pytest.fail(f"the helper did not start:\n{helper.stderr()}")
        time.sleep(0.1)
    return helper


def stop_helper(helper: Helper) -> int:
    if helper.proc.poll() is None:
        helper.proc.send_signal(signal.SIGTERM)
        try:
            helper.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(helper.proc.pid, signal.SIGKILL)
            helper.proc.wait(10)
    return helper.proc.returncode


@pytest.fixture
def launch(desktop: Desktop, tmp_path: Path) -> Iterator[Callable[..., Helper]]:
    """Start helpers with ``launch(*flags)``; each must exit 0 on SIGTERM."""
    helpers: list[Helper] = []

    def _launch(*args: str) -> Helper:
        helpers.append(start_helper(desktop, tmp_path, *args))
        return helpers[-1]

    yield _launch
    for helper in helpers:
        code = stop_helper(helper)
        assert code == 0, f"the helper exited with {code} on SIGTERM:\n{helper.stderr()}"
        assert "Traceback" not in helper.stderr(), helper.stderr()


# --- the suggest hotkey ------------------------------------------------------------


def test_suggest_hotkey_opens_a_popup_near_the_pointer_and_1_copies_the_first_reply(
    desktop: Desktop, launch: Callable[..., Helper], engine: Engine
) -> None:
    expected = engine.suggest(BARGAIN).suggestions[0].text
    helper = launch()
    desktop.copy(BARGAIN)
    desktop.point_at(*POINTER)
    desktop.press("ctrl+alt+q")
    popup = desktop.wait_for_window(SUGGEST_TITLE)
    x, y = desktop.geometry(popup)
    assert 0 <= x - POINTER[0] <= 40, (x, y)
    assert 0 <= y - POINTER[1] <= 60, (x, y)
    desktop.screenshot("hotkey-suggest.png")

    desktop.press("1")

    assert desktop.wait_for_clipboard(expected) == expected
    desktop.wait_until_closed(SUGGEST_TITLE)
    assert "suggested: bargaining" in helper.stderr()
    assert BARGAIN not in helper.stderr()  # buyer text stays out of the log


def test_escape_closes_the_popup_and_leaves_the_clipboard_alone(
    desktop: Desktop, launch: Callable[..., Helper]
) -> None:
    launch()
    desktop.copy(SHIPPING)
    desktop.point_at(*POINTER)
    desktop.press("ctrl+alt+q")
    desktop.wait_for_window(SUGGEST_TITLE)

    desktop.press("Escape")

    desktop.wait_until_closed(SUGGEST_TITLE)
    assert desktop.clipboard() == SHIPPING


def test_an_empty_clipboard_shows_a_notice_instead_of_suggestions(
    desktop: Desktop, launch: Callable[..., Helper]
) -> None:
    launch()
    desktop.copy("   ")
    desktop.press("ctrl+alt+q")
    desktop.wait_for_window(NOTICE_TITLE)
    desktop.screenshot("hotkey-empty-clipboard.png")
    assert not desktop.windows(SUGGEST_TITLE)

    desktop.press("Escape")

    desktop.wait_until_closed(NOTICE_TITLE)


def test_paste_puts_the_reply_into_the_chat_window_that_had_focus(
    desktop: Desktop, launch: Callable[..., Helper], engine: Engine, tmp_path: Path
) -> None:
    expected = engine.suggest(SHIPPING).suggestions[1].text
    typed = tmp_path / "typed.txt"
    # A stand-in for the 千牛 chat box: a text field that has the keyboard and
    # writes what it holds when it closes.
    chat = subprocess.Popen([sys.executable, "-c", CHAT_WINDOW, str(typed)], env=desktop.env)
    try:
        desktop.wait_for_window("chat")
        launch("--paste")
        desktop.copy(SHIPPING)
        desktop.point_at(300, 650)
        desktop.press("ctrl+alt+q")
        desktop.wait_for_window(SUGGEST_TITLE)

        desktop.press("2")

        desktop.wait_until_closed(SUGGEST_TITLE)
        deadline = time.monotonic() + POPUP_SECONDS
        while chat.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        if chat.poll() is None:
            chat.kill()
    assert typed.read_text(encoding="utf-8") == expected


CHAT_WINDOW = """
import sys, tkinter as tk
root = tk.Tk(); root.title("chat"); root.geometry("600x60+100+620")
box = tk.Entry(root, width=80); box.pack()
def save():
    if box.get():
        open(sys.argv[1], "w", encoding="utf-8").write(box.get()); root.destroy()
    else:
        root.after(100, save)
root.after(300, box.focus_force)
root.after(100, save)
root.after(30000, root.destroy)
root.mainloop()
"""


# --- the check hotkey --------------------------------------------------------------


def test_check_hotkey_lists_the_violations_and_c_copies_the_redacted_draft(
    desktop: Desktop, launch: Callable[..., Helper], engine: Engine
) -> None:
    result = engine.check(RISKY_DRAFT)
    assert result.verdict == "block"
    assert result.redacted != RISKY_DRAFT
    helper = launch()
    desktop.copy(RISKY_DRAFT)
    desktop.point_at(*POINTER)
    desktop.press("ctrl+alt+w")
    desktop.wait_for_window(CHECK_TITLE)
    desktop.screenshot("hotkey-check.png")

    desktop.press("c")

    assert desktop.wait_for_clipboard(result.redacted) == result.redacted
    desktop.wait_until_closed(CHECK_TITLE)
    assert f"checked: block, {len(result.violations)} violation(s)" in helper.stderr()
    assert "13812345678" not in helper.stderr()


# --- with a sidecar ----------------------------------------------------------------


def test_with_a_sidecar_the_pick_is_recorded_as_feedback_at_its_position(
    desktop: Desktop, launch: Callable[..., Helper], tmp_path: Path
) -> None:
    server = start_server(tmp_path, tmp_path / "feedback.sqlite3")
    try:
        expected = api(server, "POST", "/v1/suggest", {"text": BARGAIN})["suggestions"][1]
        helper = launch("--server", server.url, "--agent-id", "agent-7")
        assert f"using the sidecar at {server.url}" in helper.stderr()
        desktop.copy(BARGAIN)
        desktop.press("ctrl+alt+q")
        desktop.wait_for_window(SUGGEST_TITLE)

        desktop.press("2")

        assert desktop.wait_for_clipboard(expected["text"]) == expected["text"]
        deadline = time.monotonic() + POPUP_SECONDS
        while True:
            stats = api(server, "GET", "/v1/stats")
            second = [p for p in stats["acceptance_by_position"] if p["position"] == 2]
            if (second and second[0]["accepted"] == 1) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert second, stats
        assert second[0]["accepted"] == 1, stats
    finally:
        stop_server(server)


def test_an_unreachable_sidecar_falls_back_to_the_in_process_engine_and_says_so(
    desktop: Desktop, launch: Callable[..., Helper], engine: Engine
) -> None:
    expected = engine.suggest(BARGAIN).suggestions[0].text
    nowhere = f"http://127.0.0.1:{free_port()}"
    helper = launch("--server", nowhere)
    assert "using the in-process engine" in helper.stderr()
    desktop.copy(BARGAIN)
    desktop.press("ctrl+alt+q")
    desktop.wait_for_window(SUGGEST_TITLE)
    desktop.screenshot("hotkey-fallback.png")

    desktop.press("1")

    assert desktop.wait_for_clipboard(expected) == expected


# --- one helper per desktop ----------------------------------------------------------


def test_a_second_helper_on_the_same_desktop_refuses_to_start(
    desktop: Desktop, launch: Callable[..., Helper]
) -> None:
    launch()
    second = subprocess.run(
        [str(QUICKPHRASE), "hotkey"],
        env=desktop.env,
        capture_output=True,
        text=True,
        timeout=READY_SECONDS,
        check=False,
    )
    assert second.returncode == 4
    assert "already running" in second.stderr
    assert "loading" not in second.stderr  # refused before spending seconds on an engine


def test_a_click_on_a_reply_copies_it_and_closes_the_popup(
    desktop: Desktop, launch: Callable[..., Helper], engine: Engine
) -> None:
    replies = [s.text for s in engine.suggest(BARGAIN).suggestions]
    launch()
    desktop.copy(BARGAIN)
    desktop.point_at(*POINTER)
    desktop.press("ctrl+alt+q")
    popup = desktop.wait_for_window(SUGGEST_TITLE)
    x, y = desktop.geometry(popup)
    width, height = desktop.size(popup)
    # The middle of the popup is on one of the three replies (header and footer
    # are one short line each).
    desktop.point_at(x + width // 2, y + height // 2)
    desktop.run("xdotool", "click", "1")

    desktop.wait_until_closed(SUGGEST_TITLE)
    assert desktop.clipboard() in replies
