"""What a popup shows: the panels the assistant builds, as plain data."""

from __future__ import annotations

from quickphrase.service.hotkey.panels import CheckPanel, Choice, Flag, SuggestPanel, intent_name


def test_panel_choice_is_one_based_and_none_outside_the_choices() -> None:
    choices = tuple(Choice(n, f"p{n}", f"text {n}", "greeting") for n in (1, 2))
    panel = SuggestPanel("greeting", 0.9, choices)
    assert panel.choice(1) == choices[0]
    assert panel.choice(2) == choices[1]
    assert panel.choice(0) is None
    assert panel.choice(3) is None
    assert panel.choice(-1) is None


def test_empty_message_names_the_intent_or_says_the_question_is_unclear() -> None:
    assert "议价" in SuggestPanel("bargaining", 0.9, ()).empty_message
    unclear = SuggestPanel("other", 0.9, ()).empty_message
    assert "看不出" in unclear
    assert "其他" not in unclear


def test_intent_name_shows_the_chinese_name_and_the_id() -> None:
    assert intent_name("bargaining") == "议价 bargaining"
    assert intent_name("brand_new_intent") == "brand_new_intent brand_new_intent"


def test_redacted_problems_are_the_unmasked_categories_in_order_once_each() -> None:
    def flag(category: str, masked: bool = False) -> Flag:
        return Flag("block", category, "x", 0, 1, "m", masked=masked)

    flags = (
        flag("off_platform"),
        flag("pii_leak", masked=True),
        flag("delivery_promise"),
        flag("off_platform"),
    )
    panel = CheckPanel("block", flags, "a", "b")
    assert panel.redacted_problems == ("off_platform", "delivery_promise")
    assert panel.offers_redacted


def test_a_truncated_draft_is_not_offered_for_copying() -> None:
    panel = CheckPanel("block", (), "a", "b", truncated=True)
    assert not panel.offers_redacted
