"""The popup near the pointer: draws a panel with tkinter and turns keys into actions.

Only the Tk thread may touch widgets, so the popup never calls the backend: it
hands the agent's pick to ``on_choose`` / ``on_copy`` and the app does the rest.
"""

from __future__ import annotations

import contextlib
import time
import tkinter as tk
from collections.abc import Callable
from tkinter import font as tkfont

from .focus import FocusKeeper, NoFocusKeeper
from .panels import (
    CATEGORY_NAMES,
    INTENT_NAMES,
    VERDICT_NAMES,
    CheckPanel,
    Choice,
    NoticePanel,
    Panel,
    SuggestPanel,
    category_name,
    intent_name,
)

TITLE = "quickphrase"  # ASCII: tools such as xdotool match titles as Latin-1
WIDTH = 460  # pixels of text before a phrase wraps
NOTICE_SECONDS = 6
NOTICE_DEAF_MS = 300  # keys still held from the hotkey must not close a notice at once
MAX_FLAGS = 6  # more would push the footer off the screen
MAX_SHOWN_CHARS = 300  # of the redacted draft; the copy is whole
_MODIFIER_KEYS = ("Control", "Alt", "Shift", "Super", "Meta", "ISO_", "Caps", "Num")
_COLOURS = {"block": "#c62828", "warn": "#e65100", "pass": "#2e7d32", "error": "#c62828"}
_BG, _HOVER, _TEXT, _MUTED = "#ffffff", "#e3f2fd", "#212121", "#666666"
_ACCENT, _NOTE = "#1565c0", "#e65100"


class Popup:
    """One always-on-top window at a time; showing a panel replaces the last one."""

    def __init__(
        self,
        root: tk.Tk,
        *,
        on_choose: Callable[[SuggestPanel, int], None],
        on_copy: Callable[[CheckPanel], None],
        paste: bool = False,
        focus: FocusKeeper | None = None,
    ) -> None:
        self.root = root
        self._focus = focus or NoFocusKeeper()
        self._on_choose = on_choose
        self._on_copy = on_copy
        self._verb = "复制并粘贴" if paste else "复制"
        self._window: tk.Toplevel | None = None
        base = tkfont.nametofont("TkDefaultFont").actual()
        self._font = tkfont.Font(root, family=base["family"], size=11)
        self._bold = tkfont.Font(root, family=base["family"], size=11, weight="bold")
        self._small = tkfont.Font(root, family=base["family"], size=9)
        # A pinyin input method would swallow C and digits typed into the popup.
        with contextlib.suppress(tk.TclError):
            root.tk.call("tk", "useinputmethods", "0")

    @property
    def showing(self) -> bool:
        return self._window is not None

    def show(self, panel: Panel) -> None:
        if self._window is None:
            self._focus.remember()
        self.close(restore_focus=False)
        win = tk.Toplevel(self.root, background=_BG, padx=12, pady=10)
        win.withdraw()
        win.attributes("-topmost", True)
        win.resizable(False, False)
        win.protocol("WM_DELETE_WINDOW", self.close)  # the title bar's ×
        self._window = win
        if isinstance(panel, SuggestPanel):
            self._suggestions(win, panel)
        elif isinstance(panel, CheckPanel):
            self._verdict(win, panel)
        else:
            self._notice(win, panel)
        win.bind("<Escape>", lambda _e: self.close())
        self._place(win)

    def close(self, *, restore_focus: bool = True) -> None:
        if self._window is None:
            return
        self._window.destroy()
        self._window = None
        if restore_focus:
            self._focus.restore()

    def _suggestions(self, win: tk.Toplevel, panel: SuggestPanel) -> None:
        win.title(f"{TITLE}: suggest")
        self._label(win, f"{intent_name(panel.intent)} · {panel.confidence:.0%}", self._bold)
        self._notes(win, panel.notes)
        if not panel.choices:
            self._label(win, panel.empty_message, self._font)
            self._footer(win, "Esc 关闭")
            return
        for choice in panel.choices:
            self._choice_row(win, panel, choice)
            for key in (str(choice.position), f"KP_{choice.position}"):
                win.bind(f"<KeyPress-{key}>", lambda _e, n=choice.position: self._choose(panel, n))
        last = len(panel.choices)
        keys = "1" if last == 1 else f"1-{last}"
        self._footer(win, f"按 {keys} 或点击{self._verb} · Esc 关闭")

    def _choice_row(self, win: tk.Toplevel, panel: SuggestPanel, choice: Choice) -> None:
        position, text = choice.position, choice.text
        if choice.intent != panel.intent:  # a multi-question message: say which one
            # No space after the tag: Tk would wrap there and leave it on a line alone.
            text = f"【{INTENT_NAMES.get(choice.intent, choice.intent)}】{text}"
        row = tk.Frame(win, background=_BG, cursor="hand2")
        row.pack(fill="x", pady=(4, 0))
        number = tk.Label(
            row, text=str(position), font=self._bold, foreground=_ACCENT, background=_BG, width=2
        )
        number.pack(side="left", anchor="n")
        phrase = tk.Label(
            row,
            text=text,
            font=self._font,
            foreground=_TEXT,
            background=_BG,
            wraplength=WIDTH - 30,
            justify="left",
            anchor="w",
        )
        phrase.pack(side="left", fill="x", expand=True)
        parts = (row, number, phrase)
        for part in parts:
            part.bind("<Button-1>", lambda _e: self._choose(panel, position))
            part.bind("<Enter>", lambda _e: [p.configure(background=_HOVER) for p in parts])
            part.bind("<Leave>", lambda _e: [p.configure(background=_BG) for p in parts])

    def _verdict(self, win: tk.Toplevel, panel: CheckPanel) -> None:
        win.title(f"{TITLE}: check")
        heading = f"{VERDICT_NAMES[panel.verdict]} {panel.verdict}"
        self._label(win, heading, self._bold, colour=_COLOURS[panel.verdict])
        self._notes(win, panel.notes)
        explained: set[str] = set()
        for flag in panel.flags[:MAX_FLAGS]:
            self._label(
                win,
                f"{category_name(flag.category)}「{flag.span}」",
                self._font,
                colour=_COLOURS[flag.severity],
                pad=2,
            )
            if flag.message not in explained:  # three phone numbers need one explanation
                explained.add(flag.message)
                self._label(win, flag.message, self._small, colour=_MUTED)
        if len(panel.flags) > MAX_FLAGS:
            self._label(win, f"还有 {len(panel.flags) - MAX_FLAGS} 处", self._small, colour=_MUTED)
        if not panel.offers_redacted:
            if panel.truncated:
                advice = "草稿太长,请分段检查"
            elif panel.verdict == "pass":
                advice = "没有发现问题"
            else:
                advice = "请按提示改写后再发送"
            self._footer(win, f"{advice} · Esc 关闭")
            return
        self._label(win, "脱敏后:", self._small, colour=_MUTED, pad=4)
        shown = panel.redacted
        if len(shown) > MAX_SHOWN_CHARS:
            shown = shown[:MAX_SHOWN_CHARS] + "……"
        self._label(win, shown, self._font)
        if panel.redacted_problems:
            still = "、".join(CATEGORY_NAMES.get(c, c) for c in panel.redacted_problems)
            self._label(win, f"脱敏后仍有「{still}」问题,发送前请改写。", self._small, colour=_NOTE)
        for key in ("Return", "KP_Enter", "c", "C"):
            win.bind(f"<KeyPress-{key}>", lambda _e: self._copy(panel))
        self._footer(win, f"按 Enter(或 C){self._verb}脱敏后的文本 · Esc 关闭")

    def _notice(self, win: tk.Toplevel, panel: NoticePanel) -> None:
        win.title(f"{TITLE}: notice")
        colour = _COLOURS["error"] if panel.level == "error" else None
        self._label(win, panel.title, self._bold, colour=colour)
        self._notes(win, panel.notes)
        self._label(win, panel.message, self._font)
        self._footer(win, "按任意键关闭")
        opened = time.monotonic()

        def key(event: tk.Event) -> None:
            held = time.monotonic() - opened < NOTICE_DEAF_MS / 1000
            if not held and not str(event.keysym).startswith(_MODIFIER_KEYS):
                self.close()

        win.bind("<KeyPress>", key)
        win.after(NOTICE_SECONDS * 1000, lambda w=win: self._expire(w))

    def _choose(self, panel: SuggestPanel, position: int) -> None:
        self.close()
        self._on_choose(panel, position)

    def _copy(self, panel: CheckPanel) -> None:
        self.close()
        self._on_copy(panel)

    def _expire(self, win: tk.Toplevel) -> None:
        if self._window is win:
            # The agent may have clicked into another window meanwhile: keep it.
            self.close(restore_focus=win.focus_get() is not None)

    def _notes(self, win: tk.Toplevel, notes: tuple[str, ...]) -> None:
        for note in notes:
            self._label(win, note, self._small, colour=_NOTE)

    def _footer(self, win: tk.Toplevel, text: str) -> None:
        self._label(win, text, self._small, colour=_MUTED, pad=6)

    def _label(
        self,
        win: tk.Toplevel,
        text: str,
        font: tkfont.Font,
        *,
        colour: str | None = None,
        pad: int = 1,
    ) -> tk.Label:
        label = tk.Label(
            win,
            text=text,
            font=font,
            foreground=colour or _TEXT,
            background=_BG,
            wraplength=WIDTH,
            justify="left",
            anchor="w",
        )
        label.pack(fill="x", pady=(pad, 0))
        return label

    def _place(self, win: tk.Toplevel) -> None:
        """Just below and right of the pointer, kept on screen; then take the keyboard."""
        win.update_idletasks()
        x, y = win.winfo_pointerxy()
        width, height = win.winfo_reqwidth(), win.winfo_reqheight()
        screen_w, screen_h = win.winfo_screenwidth(), win.winfo_screenheight()
        x, y = x + 12, y + 12
        # Tk knows only the primary monitor's size on Windows and macOS: keep a
        # popup on it, but leave one opened on another monitor where it is.
        if 0 <= x < screen_w and 0 <= y < screen_h:
            x = max(0, min(x, screen_w - width - 8))
            y = max(0, min(y, screen_h - height - 8))
        win.geometry(f"+{x}+{y}")
        win.deiconify()
        win.lift()
        win.focus_force()
