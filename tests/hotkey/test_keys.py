"""Hotkeys as written and as pynput reads them.

How ``--suggest-key`` and ``--check-key`` are parsed: the accepted spellings,
the reasons an unusable hotkey is refused with, two hotkeys that are the same
or overlap, and the paste key on each platform.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from quickphrase.service.hotkey import keys
from quickphrase.service.hotkey.keys import HotkeyError, distinct_hotkeys, pynput_hotkey


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("ctrl+alt+q", "<ctrl>+<alt>+q"),
        ("control+option+q", "<ctrl>+<alt>+q"),
        ("cmd+shift+k", "<cmd>+<shift>+k"),
        ("command+q", "<cmd>+q"),
        ("win+q", "<cmd>+q"),
        ("super+q", "<cmd>+q"),
        ("meta+q", "<cmd>+q"),
        ("ctrl+f5", "<ctrl>+<f5>"),
        ("ctrl+shift+space", "<ctrl>+<shift>+<space>"),
        ("alt+page_down", "<alt>+<page_down>"),
        ("ctrl+alt+1", "<ctrl>+<alt>+1"),
        ("CTRL+Alt+Q", "<ctrl>+<alt>+q"),
        ("Ctrl+F12", "<ctrl>+<f12>"),
        (" ctrl + alt + q ", "<ctrl>+<alt>+q"),
        ("ctrl+control+q", "<ctrl>+q"),
    ],
)
def test_hotkey_is_written_in_pynput_form(spec: str, expected: str) -> None:
    assert pynput_hotkey(spec) == expected


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("", "write it like ctrl+alt+q"),
        ("   ", "write it like ctrl+alt+q"),
        ("ctrl++q", "write it like ctrl+alt+q"),
        ("ctrl+alt+", "write it like ctrl+alt+q"),
        ("q", "has no modifier"),
        ("f5", "has no modifier"),
        ("hyper+q", "'hyper' is not a modifier"),
        ("ctrl+q+alt", "ends in a modifier"),
        ("ctrl+q+x", "'q' is not a modifier"),
        ("ctrl+alt", "ends in a modifier"),
        ("ctrl+alt+shift", "ends in a modifier"),
        ("ctrl+alt+qq", "unknown key 'qq'"),
        ("ctrl+alt+f13", "unknown key 'f13'"),
        ("ctrl+alt+é", "unknown key 'é'"),
    ],
)
def test_unusable_hotkey_is_refused_with_a_reason_naming_it(spec: str, says: str) -> None:
    with pytest.raises(HotkeyError) as raised:
        pynput_hotkey(spec)
    assert says in str(raised.value)
    assert repr(spec) in str(raised.value)


def test_hotkey_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="no modifier"):
        pynput_hotkey("q")


def test_distinct_hotkeys_gives_the_pynput_forms_in_order() -> None:
    assert distinct_hotkeys("ctrl+alt+q", "ctrl+alt+w") == ["<ctrl>+<alt>+q", "<ctrl>+<alt>+w"]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("ctrl+alt+q", "ctrl+alt+q"),
        ("ctrl+alt+q", "alt+control+Q"),
        ("cmd+q", "win+q"),
        ("ctrl+f5", "CONTROL+F5"),
    ],
)
def test_distinct_hotkeys_refuses_the_same_keys_written_differently(
    first: str, second: str
) -> None:
    with pytest.raises(HotkeyError, match="same hotkey") as raised:
        distinct_hotkeys(first, second)
    assert repr(first) in str(raised.value)
    assert repr(second) in str(raised.value)


@pytest.mark.parametrize(
    ("first", "second"),
    [("ctrl+alt+q", "ctrl+alt+shift+q"), ("ctrl+shift+alt+w", "alt+ctrl+w")],
)
def test_distinct_hotkeys_refuses_one_inside_the_other(first: str, second: str) -> None:
    # pynput fires the shorter hotkey whenever the longer one is pressed.
    with pytest.raises(HotkeyError, match="overlap"):
        distinct_hotkeys(first, second)


def test_distinct_hotkeys_refuses_a_bad_hotkey_among_good_ones() -> None:
    with pytest.raises(HotkeyError, match="unknown key 'qq'"):
        distinct_hotkeys("ctrl+alt+q", "ctrl+alt+qq")


@pytest.mark.parametrize(
    ("platform", "modifier"), [("darwin", "cmd"), ("linux", "ctrl"), ("win32", "ctrl")]
)
def test_paste_is_cmd_v_on_macos_and_ctrl_v_elsewhere(
    monkeypatch: pytest.MonkeyPatch, platform: str, modifier: str
) -> None:
    monkeypatch.setattr(keys, "sys", SimpleNamespace(platform=platform))
    assert keys.paste_modifier() == modifier


def test_shift_with_a_digit_is_refused_because_it_types_a_symbol() -> None:
    with pytest.raises(HotkeyError, match="types a symbol"):
        pynput_hotkey("ctrl+shift+1")
    assert pynput_hotkey("ctrl+shift+q") == "<ctrl>+<shift>+q"
