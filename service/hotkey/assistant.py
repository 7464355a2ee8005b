"""The hotkey helper's behaviour, without a display: clipboard in, panel out,
choice back to the clipboard and to the sidecar's feedback store::

    assistant = Assistant(LocalBackend(Engine()), SystemClipboard())
    panel = assistant.suggest()    # reads the buyer message from the clipboard
    assistant.choose(panel, 1)     # copies reply 1; a sidecar records it as accepted
"""

from __future__ import annotations

import dataclasses
import logging

from quickphrase.model.classifier import MAX_CHARS
from quickphrase.phrases.compliance import MAX_CHECK_CHARS
from quickphrase.phrases.ranker import DEFAULT_K

from .backends import Backend, BackendError
from .clipboard import Clipboard, ClipboardError
from .panels import CheckPanel, Choice, NoticePanel, Panel, SuggestPanel

log = logging.getLogger(__name__)
_SURROGATES = dict.fromkeys(range(0xD800, 0xE000), "\ufffd")


class Assistant:
    """Suggests replies to the message on the clipboard and checks drafts there.

    Parameters
    ----------
    backend:
        Where suggestions and checks come from (engine or sidecar).
    clipboard:
        Read for the buyer message or draft; written with what the agent picks.
    shop_type:
        ``taobao`` (C店) or ``tmall``: the rules differ.
    agent_id:
        Sent with requests and feedback so the sidecar's stats are per agent.
    """

    def __init__(
        self,
        backend: Backend,
        clipboard: Clipboard,
        *,
        shop_type: str = "taobao",
        agent_id: str | None = None,
        k: int = DEFAULT_K,
    ) -> None:
        self.backend = backend
        self.clipboard = clipboard
        self.shop_type = shop_type
        self.agent_id = agent_id
        self.k = k

    def suggest(self) -> Panel:
        """Suggestions for the buyer message on the clipboard, or a notice why not."""
        read = self._read("买家消息", MAX_CHARS)
        if isinstance(read, NoticePanel):
            return read
        text, notes = read.text, read.notes
        try:
            panel = self.backend.suggest(
                text, shop_type=self.shop_type, k=self.k, agent_id=self.agent_id
            )
        except BackendError as exc:
            return NoticePanel("没拿到推荐", str(exc), "error")
        log.info(
            "suggested: %s %.2f, %d choice(s)", panel.intent, panel.confidence, len(panel.choices)
        )
        return dataclasses.replace(panel, notes=(*notes, *panel.notes))

    def check(self) -> Panel:
        """The compliance verdict on the draft on the clipboard, or a notice why not."""
        read = self._read("回复草稿", MAX_CHECK_CHARS)
        if isinstance(read, NoticePanel):
            return read
        text, notes = read.text, read.notes
        try:
            panel = self.backend.check(text, shop_type=self.shop_type, agent_id=self.agent_id)
        except BackendError as exc:
            return NoticePanel("没能检查", str(exc), "error")
        log.info("checked: %s, %d violation(s)", panel.verdict, len(panel.flags))
        return dataclasses.replace(panel, notes=(*notes, *panel.notes), truncated=read.truncated)

    def choose(self, panel: SuggestPanel, position: int) -> Choice | None:
        """``pick`` then ``report``: copy choice ``position`` (1-based) and record it."""
        choice = self.pick(panel, position)
        if choice is not None:
            self.report(choice)
        return choice

    def pick(self, panel: SuggestPanel, position: int) -> Choice | None:
        """Copy choice ``position`` (1-based) to the clipboard.

        Returns the choice, or None when the panel has no such position.
        Raises ``ClipboardError`` when the copy fails.
        """
        choice = panel.choice(position)
        if choice is not None:
            self.clipboard.write(choice.text)
        return choice

    def report(self, choice: Choice) -> None:
        """Tell the sidecar the agent took ``choice``. A report that fails is
        logged, never raised: the agent has the reply either way."""
        try:
            reported = self.backend.accepted(choice, agent_id=self.agent_id)
        except BackendError as exc:
            log.warning("the choice of %s was not recorded: %s", choice.phrase_id, exc)
        else:
            if reported:
                log.info("recorded: %s accepted at position %d", choice.phrase_id, choice.position)

    def copy_redacted(self, panel: CheckPanel) -> None:
        """Put the draft with its personal data masked on the clipboard."""
        self.clipboard.write(panel.redacted)

    def _read(self, what: str, limit: int) -> _Read | NoticePanel:
        try:
            raw = self.clipboard.read()
        except ClipboardError as exc:
            return NoticePanel("读不到剪贴板", str(exc), "error")
        text = raw.translate(_SURROGATES).strip()
        if not text:
            return NoticePanel("剪贴板是空的", f"先复制{what},再按快捷键。")
        if len(text) <= limit:
            return _Read(text)
        note = f"{what}有 {len(text)} 字,只看了前 {limit} 字。"
        return _Read(text[:limit], (note,), truncated=True)


@dataclasses.dataclass(frozen=True)
class _Read:
    """Text taken from the clipboard, cut to what the engine reads."""

    text: str
    notes: tuple[str, ...] = ()
    truncated: bool = False
