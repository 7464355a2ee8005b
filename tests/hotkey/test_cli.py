"""The ``quickphrase hotkey`` command, up to where it would open a display.

What runs without a desktop (no tkinter or pynput until it runs), whether there
is a desktop to run on (``display_problem``), one helper per desktop
(``single_instance``), the focus keeper, and the command's checks of its
options, the display and the desktop lock, all before it loads an engine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from quickphrase.service.hotkey.app import DesktopError, display_problem, single_instance
from quickphrase.service.hotkey.focus import NoFocusKeeper, focus_keeper

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


# --- the `quickphrase hotkey` command, up to where it would open a display ------------------------


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
