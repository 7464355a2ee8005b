"""Hotkeys as people write them (``ctrl+alt+q``) and as pynput reads them.

Parsing is our own only so that a typo fails with a clear message before any
display or keyboard hook is touched; pynput checks the result again.
"""

from __future__ import annotations

import sys

_MODIFIERS = {
    "ctrl": "ctrl",
    "control": "ctrl",
    "alt": "alt",
    "option": "alt",
    "shift": "shift",
    "cmd": "cmd",
    "command": "cmd",
    "super": "cmd",
    "win": "cmd",
    "meta": "cmd",
}
_NAMED_KEYS = frozenset(
    {f"f{n}" for n in range(1, 13)}
    | {"space", "tab", "enter", "insert", "home", "end", "page_up", "page_down"}
)


class HotkeyError(ValueError):
    """A hotkey that cannot be used; ``str()`` says why."""


def pynput_hotkey(spec: str) -> str:
    """``ctrl+alt+q`` → ``<ctrl>+<alt>+q``, the form ``pynput.keyboard.GlobalHotKeys`` takes.

    A global hotkey needs at least one modifier, or it would swallow a key the
    agent types into chats all day.
    """
    parts = [p.strip().lower() for p in spec.split("+")]
    if not spec.strip() or any(not p for p in parts):
        raise HotkeyError(f"{spec!r} is not a hotkey; write it like ctrl+alt+q")
    *mods, key = parts
    if key in _MODIFIERS:
        raise HotkeyError(f"{spec!r} ends in a modifier; end it with a key such as q")
    unknown = [m for m in mods if m not in _MODIFIERS]
    if unknown:
        raise HotkeyError(
            f"{spec!r}: {unknown[0]!r} is not a modifier (ctrl, alt, shift, cmd); "
            "write the modifiers first and one key last, like ctrl+alt+q"
        )
    if not mods:
        raise HotkeyError(f"{spec!r} has no modifier; add ctrl, alt, shift or cmd")
    if not (len(key) == 1 and key.isascii() and key.isprintable()) and key not in _NAMED_KEYS:
        raise HotkeyError(
            f"{spec!r}: unknown key {key!r}; use a letter, digit, f1-f12, space or tab"
        )
    names = list(dict.fromkeys(_MODIFIERS[m] for m in mods))
    if "shift" in names and len(key) == 1 and not key.isalpha():
        raise HotkeyError(
            f"{spec!r}: shift with {key!r} types a symbol, which pynput sees instead; "
            "use shift with a letter or f1-f12"
        )
    return "+".join([*(f"<{m}>" for m in names), f"<{key}>" if key in _NAMED_KEYS else key])


def distinct_hotkeys(*specs: str) -> list[str]:
    """The pynput forms of ``specs``, refusing two that are the same keys, or
    one inside another (pynput fires ctrl+alt+q on ctrl+alt+shift+q too)."""
    seen: dict[frozenset[str], str] = {}
    out = []
    for spec in specs:
        combo = pynput_hotkey(spec)
        keys = frozenset(combo.split("+"))
        for other_keys, other in seen.items():
            if keys == other_keys:
                raise HotkeyError(f"{spec!r} and {other!r} are the same hotkey")
            if keys < other_keys or other_keys < keys:
                raise HotkeyError(
                    f"{spec!r} and {other!r} overlap: pressing the longer one would "
                    "fire both; choose keys that differ"
                )
        seen[keys] = spec
        out.append(combo)
    return out


def paste_modifier() -> str:
    """The modifier that pastes with V on this platform."""
    return "cmd" if sys.platform == "darwin" else "ctrl"
