"""The assistant with the in-process engine: what an agent gets from the clipboard.

The agent copies a buyer message and presses the suggest hotkey, or copies a
draft and presses the check hotkey: the panels built from the clipboard, what a
pick or "copy the redacted text" puts on the clipboard, and what happens when
the clipboard holds nothing usable, too much, or odd text.
"""

from __future__ import annotations

import pytest

from quickphrase.engine import Engine
from quickphrase.model.classifier import MAX_CHARS
from quickphrase.service.hotkey.assistant import Assistant
from quickphrase.service.hotkey.backends import LocalBackend
from quickphrase.service.hotkey.clipboard import ClipboardError
from quickphrase.service.hotkey.panels import CheckPanel, NoticePanel, SuggestPanel

from .doubles import (
    BARGAIN,
    CHIT_CHAT,
    PHONE,
    PROMISE,
    RISKY_DRAFT,
    SAFE_REPLY,
    FakeClipboard,
    RecordingBackend,
    UnreadableClipboard,
    UnwritableClipboard,
)

# --- Assistant.suggest with the in-process engine -------------------------------------------------


def test_bargaining_message_gets_the_engines_three_replies_in_order(
    assistant: Assistant, clipboard: FakeClipboard, engine: Engine
) -> None:
    clipboard.text = BARGAIN
    panel = assistant.suggest()
    assert isinstance(panel, SuggestPanel)
    assert panel.intent == "bargaining"
    assert 0.0 < panel.confidence <= 1.0
    expected = engine.suggest(BARGAIN, shop_type="taobao", k=3).suggestions
    assert len(expected) == 3
    assert [c.position for c in panel.choices] == [1, 2, 3]
    assert [c.text for c in panel.choices] == [s.text for s in expected]
    assert [c.phrase_id for c in panel.choices] == [s.phrase_id for s in expected]
    assert all(c.suggestion_id is None for c in panel.choices)  # nobody to report to
    assert panel.notes == ()


def test_suggest_leaves_the_clipboard_as_it_was(
    assistant: Assistant, clipboard: FakeClipboard
) -> None:
    clipboard.text = BARGAIN
    assistant.suggest()
    assert clipboard.writes == []
    assert clipboard.text == BARGAIN


def test_spaces_around_the_copied_message_are_ignored(
    local: LocalBackend, clipboard: FakeClipboard
) -> None:
    backend = RecordingBackend(local)
    clipboard.text = f"  \n\t{BARGAIN} \r\n"
    panel = Assistant(backend, clipboard).suggest()
    assert backend.calls == [("suggest", BARGAIN)]
    assert isinstance(panel, SuggestPanel)
    assert panel.intent == "bargaining"


def test_k_limits_the_number_of_choices(local: LocalBackend, clipboard: FakeClipboard) -> None:
    clipboard.text = BARGAIN
    panel = Assistant(local, clipboard, k=1).suggest()
    assert isinstance(panel, SuggestPanel)
    assert [c.position for c in panel.choices] == [1]


def test_chit_chat_gets_no_choices_and_a_message_saying_so(
    assistant: Assistant, clipboard: FakeClipboard
) -> None:
    clipboard.text = CHIT_CHAT
    panel = assistant.suggest()
    assert isinstance(panel, SuggestPanel)
    assert panel.choices == ()
    assert panel.empty_message
    assert panel.choice(1) is None


# --- Assistant.choose -----------------------------------------------------------------------------


def test_choosing_copies_exactly_that_reply_and_returns_it(
    assistant: Assistant, clipboard: FakeClipboard, bargain_panel: SuggestPanel
) -> None:
    chosen = assistant.choose(bargain_panel, 1)
    assert chosen == bargain_panel.choices[0]
    assert clipboard.text == bargain_panel.choices[0].text
    assert clipboard.writes == [bargain_panel.choices[0].text]


def test_choosing_the_third_reply_copies_the_third(
    assistant: Assistant, clipboard: FakeClipboard, bargain_panel: SuggestPanel
) -> None:
    chosen = assistant.choose(bargain_panel, 3)
    assert chosen is not None
    assert chosen.position == 3
    assert clipboard.text == bargain_panel.choices[2].text
    assert bargain_panel.choices[2].text != bargain_panel.choices[0].text


@pytest.mark.parametrize("position", [0, 4, -1])
def test_choosing_a_position_the_panel_does_not_have_leaves_the_clipboard_alone(
    assistant: Assistant,
    clipboard: FakeClipboard,
    bargain_panel: SuggestPanel,
    position: int,
) -> None:
    assert assistant.choose(bargain_panel, position) is None
    assert clipboard.writes == []
    assert clipboard.text == BARGAIN


def test_choosing_with_the_local_engine_reports_nothing(
    bargain_panel: SuggestPanel, clipboard: FakeClipboard
) -> None:
    backend = RecordingBackend()
    chosen = Assistant(backend, clipboard).choose(bargain_panel, 2)
    assert chosen == bargain_panel.choices[1]
    assert backend.calls == [("accepted", bargain_panel.choices[1].text)]


def test_the_local_engine_has_nobody_to_report_a_choice_to(
    local: LocalBackend, bargain_panel: SuggestPanel
) -> None:
    assert local.accepted(bargain_panel.choices[0], agent_id="agent-7") is False


# --- nothing usable on the clipboard --------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\t \r\n", "\u3000"], ids=repr)
@pytest.mark.parametrize("action", ["suggest", "check"])
def test_empty_clipboard_gives_a_notice_and_asks_nothing(text: str, action: str) -> None:
    backend = RecordingBackend()
    panel = getattr(Assistant(backend, FakeClipboard(text)), action)()
    assert isinstance(panel, NoticePanel)
    assert "剪贴板" in panel.title
    assert panel.level == "info"
    assert panel.message
    assert backend.calls == []


def test_empty_clipboard_notice_says_what_to_copy() -> None:
    suggest = Assistant(RecordingBackend(), FakeClipboard()).suggest()
    check = Assistant(RecordingBackend(), FakeClipboard()).check()
    assert isinstance(suggest, NoticePanel)
    assert isinstance(check, NoticePanel)
    assert "买家消息" in suggest.message
    assert "回复草稿" in check.message


@pytest.mark.parametrize("action", ["suggest", "check"])
def test_unreadable_clipboard_gives_an_error_notice_with_its_reason(action: str) -> None:
    backend = RecordingBackend()
    clipboard = UnreadableClipboard("cannot read the clipboard: install xclip or xsel")
    panel = getattr(Assistant(backend, clipboard), action)()
    assert isinstance(panel, NoticePanel)
    assert panel.level == "error"
    assert "剪贴板" in panel.title
    assert panel.message == "cannot read the clipboard: install xclip or xsel"
    assert backend.calls == []


def test_choosing_when_the_clipboard_cannot_be_written_raises_clipboard_error(
    bargain_panel: SuggestPanel,
) -> None:
    backend = RecordingBackend()
    assistant = Assistant(backend, UnwritableClipboard(BARGAIN))
    with pytest.raises(ClipboardError, match="cannot write"):
        assistant.choose(bargain_panel, 1)
    assert backend.calls == []  # nothing is reported that the agent did not get


# --- long and odd text ----------------------------------------------------------------------------


def test_over_long_message_is_cut_to_max_chars_and_the_panel_says_so(
    local: LocalBackend, clipboard: FakeClipboard
) -> None:
    message = (BARGAIN * 400)[:2500]
    backend = RecordingBackend(local)
    clipboard.text = message
    panel = Assistant(backend, clipboard).suggest()
    assert isinstance(panel, SuggestPanel)
    [(_, sent)] = backend.calls
    assert sent == message[:MAX_CHARS]
    assert len(sent) == MAX_CHARS
    [note] = panel.notes
    assert "2500" in note
    assert str(MAX_CHARS) in note


def test_message_of_exactly_max_chars_is_not_cut(clipboard: FakeClipboard) -> None:
    backend = RecordingBackend()
    clipboard.text = "好" * MAX_CHARS
    panel = Assistant(backend, clipboard).suggest()
    assert isinstance(panel, SuggestPanel)
    assert backend.calls == [("suggest", "好" * MAX_CHARS)]
    assert panel.notes == ()


def test_over_long_draft_is_cut_for_the_check_and_the_panel_says_so(
    clipboard: FakeClipboard,
) -> None:
    backend = RecordingBackend()
    clipboard.text = SAFE_REPLY + "好" * 3000
    panel = Assistant(backend, clipboard).check()
    assert isinstance(panel, CheckPanel)
    assert [len(text) for _, text in backend.calls] == [MAX_CHARS]
    assert any(str(MAX_CHARS) in note for note in panel.notes)


def test_copying_the_redacted_text_of_an_over_long_draft_keeps_all_of_it(
    assistant: Assistant, clipboard: FakeClipboard
) -> None:
    tail = "以上是全部内容,谢谢亲"
    clipboard.text = RISKY_DRAFT + "好" * MAX_CHARS + tail
    panel = assistant.check()
    assert isinstance(panel, CheckPanel)
    if panel.offers_redacted:
        assistant.copy_redacted(panel)
    assert clipboard.text.endswith(tail)


def test_lone_surrogates_are_replaced_before_the_backend_sees_them(
    clipboard: FakeClipboard,
) -> None:
    backend = RecordingBackend()
    clipboard.text = f"\ud83d{BARGAIN}\udc00"
    Assistant(backend, clipboard).suggest()
    assert backend.calls == [("suggest", f"\ufffd{BARGAIN}\ufffd")]


def test_draft_with_a_lone_surrogate_is_checked_without_crashing(
    assistant: Assistant, clipboard: FakeClipboard
) -> None:
    clipboard.text = f"\ud800{RISKY_DRAFT}"
    panel = assistant.check()
    assert isinstance(panel, CheckPanel)
    assert panel.verdict == "block"
    assert panel.text == f"\ufffd{RISKY_DRAFT}"


# --- Assistant.check and copy_redacted ------------------------------------------------------------


@pytest.fixture
def risky_panel(assistant: Assistant, clipboard: FakeClipboard) -> CheckPanel:
    clipboard.text = RISKY_DRAFT
    panel = assistant.check()
    assert isinstance(panel, CheckPanel)
    return panel


def test_draft_promising_delivery_and_quoting_a_phone_is_blocked(risky_panel: CheckPanel) -> None:
    assert risky_panel.verdict == "block"
    assert risky_panel.text == RISKY_DRAFT
    categories = {f.category for f in risky_panel.flags}
    assert {"delivery_promise", "pii_leak"} <= categories


def test_flags_point_at_the_offending_words(risky_panel: CheckPanel) -> None:
    spans = {f.category: f.span for f in risky_panel.flags}
    assert spans["pii_leak"] == PHONE
    assert spans["delivery_promise"] == PROMISE
    for flag in risky_panel.flags:
        assert RISKY_DRAFT[flag.start : flag.end] == flag.span
        assert flag.severity in ("block", "warn")
        assert flag.message


def test_risky_draft_offers_a_redacted_text_without_the_phone(risky_panel: CheckPanel) -> None:
    assert risky_panel.offers_redacted
    assert PHONE not in risky_panel.redacted
    assert PROMISE in risky_panel.redacted  # only personal data is masked


def test_redaction_does_not_take_back_a_promise(risky_panel: CheckPanel) -> None:
    assert "delivery_promise" in risky_panel.redacted_problems
    assert "pii_leak" not in risky_panel.redacted_problems


def test_copy_redacted_puts_the_redacted_text_on_the_clipboard(
    assistant: Assistant, clipboard: FakeClipboard, risky_panel: CheckPanel
) -> None:
    assistant.copy_redacted(risky_panel)
    assert clipboard.text == risky_panel.redacted
    assert PHONE not in clipboard.text


def test_clean_reply_passes_and_offers_nothing_to_copy(
    local: LocalBackend, clipboard: FakeClipboard
) -> None:
    backend = RecordingBackend(local)
    clipboard.text = SAFE_REPLY
    panel = Assistant(backend, clipboard).check()
    assert isinstance(panel, CheckPanel)
    assert panel.verdict == "pass"
    assert panel.flags == ()
    assert not panel.offers_redacted
    assert panel.redacted_problems == ()
    assert backend.calls == [("check", SAFE_REPLY)]  # nothing redacted: no second look


def test_check_leaves_the_clipboard_as_it_was(
    clipboard: FakeClipboard, risky_panel: CheckPanel
) -> None:
    assert clipboard.writes == []
    assert clipboard.text == RISKY_DRAFT


def test_phone_only_draft_is_fine_once_redacted(
    assistant: Assistant, clipboard: FakeClipboard
) -> None:
    clipboard.text = f"好的,收件电话{PHONE}已备注"
    panel = assistant.check()
    assert isinstance(panel, CheckPanel)
    assert panel.verdict == "block"
    assert panel.offers_redacted
    assert panel.redacted_problems == ()
