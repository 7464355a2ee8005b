"""Offline batch scoring: what the Scorer makes of each chat-log row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import pytest

from quickphrase.engine import Engine, SuggestResult
from quickphrase.phrases.compliance import CheckResult
from quickphrase.phrases.ranker import Context
from quickphrase.service.batch.rows import Reject, Row
from quickphrase.service.batch.scoring import FIELDS, Scorer

PHONE = "13812345678"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


@pytest.fixture(scope="module")
def scorer(engine: Engine) -> Scorer:
    return Scorer(engine)


class CountingEngine:
    """An engine that counts the messages it is asked to score."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.suggested: list[tuple[str, str]] = []
        self.checked: list[tuple[str, str]] = []

    def suggest_many(
        self,
        texts: Iterable[str],
        context: Context | None = None,
        k: int = 3,
        *,
        contexts: Iterable[Context] | None = None,
    ) -> Iterator[SuggestResult]:
        texts = list(texts)
        contexts = list(contexts) if contexts is not None else [context or Context()] * len(texts)
        self.suggested += [(t, c.shop_type) for t, c in zip(texts, contexts, strict=True)]
        return self._engine.suggest_many(texts, k=k, contexts=contexts)

    def check(self, text: str, shop_type: str = "taobao") -> CheckResult:
        self.checked.append((text, shop_type))
        return self._engine.check(text, shop_type)


def row(n: int, text: Any, role: Any = None, **fields: Any) -> Row:
    return Row(n, n + 1, text, role, **fields)


def score_one(scorer: Scorer, r: Row) -> dict[str, Any] | Reject:
    (result,) = scorer.score([r])
    return result


def scored(scorer: Scorer, r: Row) -> dict[str, Any]:
    result = score_one(scorer, r)
    assert isinstance(result, dict), result
    return result


def rejected(scorer: Scorer, r: Row) -> Reject:
    result = score_one(scorer, r)
    assert isinstance(result, Reject), result
    return result


# A small realistic log: buyers ask, agents answer (some answers break the rules).
CHAT: list[Row] = [
    row(1, "在吗", "buyer", conversation_id="c1", timestamp="2026-11-11 10:00:00"),
    row(2, "亲，在的，请问有什么可以帮您", "agent", conversation_id="c1", agent_id="a7"),
    row(3, "亲这个能便宜点吗", "buyer", conversation_id="c1"),
    row(4, "亲，明天肯定能到哦", "agent", conversation_id="c1", agent_id="a7"),
    row(5, "什么时候发货呀", "buyer", conversation_id="c2", shop_type="tmall"),
    row(6, "加我微信xxx", "agent", conversation_id="c2", agent_id="a8", shop_type="tmall"),
    row(7, "165/110斤穿什么码", "buyer", conversation_id="c2", shop_type="tmall"),
    row(8, f"有问题请打{PHONE}", "agent", conversation_id="c2", agent_id="a8", shop_type="tmall"),
    row(9, "在吗", "buyer", conversation_id="c3"),
    row(10, "好的谢谢", "buyer", conversation_id="c3"),
    row(11, "在吗", "buyer", conversation_id="c4", shop_type="tmall"),
    row(12, "亲，明天肯定能到哦", "agent", conversation_id="c4", agent_id="a9"),
]


# --- buyer lines -----------------------------------------------------------------


def test_a_record_has_every_field_in_order(scorer: Scorer) -> None:
    for result in scorer.score(CHAT):
        assert isinstance(result, dict)
        assert tuple(result) == FIELDS


def test_a_buyer_line_gets_intents_and_suggestions_and_no_verdict(scorer: Scorer) -> None:
    record = scored(
        scorer,
        row(1, "亲这个能便宜点吗", "buyer", conversation_id="c1", timestamp="2026-11-11 10:00:20"),
    )
    assert record["row"] == 1
    assert record["role"] == "buyer"
    assert record["conversation_id"] == "c1"
    assert record["timestamp"] == "2026-11-11 10:00:20"
    assert record["shop_type"] == "taobao"
    assert record["text"] == "亲这个能便宜点吗"
    assert record["intent"] == "bargaining"
    assert 0.0 < record["confidence"] <= 1.0
    assert record["intents"][0] == {"intent": "bargaining", "score": record["confidence"]}
    assert len(record["suggestions"]) == 3
    assert all(set(s) == {"phrase_id", "text", "intent", "score"} for s in record["suggestions"])
    assert (record["verdict"], record["violations"], record["redacted"]) == (None, None, None)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("在吗", "greeting"),
        ("什么时候发货呀", "shipping_eta"),
        ("165/110斤穿什么码", "size"),
        ("好的谢谢", "closing"),
    ],
)
def test_buyer_messages_get_their_intent(scorer: Scorer, text: str, intent: str) -> None:
    assert scored(scorer, row(1, text, "buyer"))["intent"] == intent


def test_a_buyer_line_matches_what_the_engine_suggests(scorer: Scorer, engine: Engine) -> None:
    record = scored(scorer, row(1, "什么时候发货呀", "buyer", shop_type="tmall"))
    expected = engine.suggest("什么时候发货呀", shop_type="tmall").to_dict()
    assert record["intent"] == expected["intent"]
    assert record["confidence"] == expected["confidence"]
    assert record["intents"] == expected["intents"]
    assert record["suggestions"] == expected["suggestions"]


def test_suggestions_come_from_the_library_and_are_never_blocked(
    scorer: Scorer, engine: Engine
) -> None:
    library = {p.id: p for p in engine.library.phrases}
    suggestions = 0
    for result in scorer.score(CHAT):
        assert isinstance(result, dict)
        for s in result["suggestions"] or ():
            suggestions += 1
            assert s["phrase_id"] in library
            assert engine.check(s["text"], result["shop_type"]).verdict != "block"
    assert suggestions >= 15


def test_k_sets_the_number_of_suggestions(engine: Engine) -> None:
    record = scored(Scorer(engine, k=1), row(1, "亲这个能便宜点吗", "buyer"))
    assert len(record["suggestions"]) == 1


# --- agent lines -------------------------------------------------------------------


def test_an_agent_line_gets_a_verdict_and_no_intent(scorer: Scorer) -> None:
    record = scored(scorer, row(1, "亲，明天肯定能到哦", "agent", agent_id="a7"))
    assert record["agent_id"] == "a7"
    assert (record["intent"], record["confidence"], record["intents"], record["suggestions"]) == (
        None,
        None,
        None,
        None,
    )
    assert record["verdict"] == "block"
    assert [v["category"] for v in record["violations"]] == ["delivery_promise"]
    assert record["redacted"] == "亲，明天肯定能到哦"  # nothing personal to mask


def test_a_violation_says_rule_category_severity_and_where(scorer: Scorer) -> None:
    record = scored(scorer, row(1, "加我微信xxx", "agent"))
    (violation,) = record["violations"]
    assert set(violation) == {"rule", "category", "severity", "start", "end"}
    assert violation["category"] == "off_platform"
    assert violation["severity"] == "block"
    assert violation["rule"].startswith("off_platform.")
    assert "微信" in record["text"][violation["start"] : violation["end"]]


def test_a_phone_number_in_a_reply_is_masked_in_redacted(scorer: Scorer) -> None:
    text = f"有问题请打{PHONE}联系我"
    record = scored(scorer, row(1, text, "agent"))
    assert record["verdict"] == "block"
    (violation,) = record["violations"]
    assert violation["category"] == "pii_leak"
    assert text[violation["start"] : violation["end"]] == PHONE
    assert record["redacted"] == "有问题请打138****5678联系我"
    assert record["text"] == text  # the original stays as it was


def test_a_clean_reply_passes(scorer: Scorer) -> None:
    record = scored(scorer, row(1, "亲，已经帮您备注了哦", "agent"))
    assert record["verdict"] == "pass"
    assert record["violations"] == []
    assert record["redacted"] == "亲，已经帮您备注了哦"


def test_an_agent_line_matches_what_the_engine_checks(scorer: Scorer, engine: Engine) -> None:
    for text in ("亲，明天肯定能到哦", "加我微信xxx", f"有问题请打{PHONE}"):
        for shop in ("taobao", "tmall"):
            record = scored(scorer, row(1, text, "agent", shop_type=shop))
            check = engine.check(text, shop)
            assert record["verdict"] == check.verdict
            assert record["redacted"] == check.redacted
            assert [v["rule"] for v in record["violations"]] == [v.rule for v in check.violations]


# --- roles -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "role"),
    [
        ("buyer", "buyer"),
        ("customer", "buyer"),
        ("买家", "buyer"),
        ("顾客", "buyer"),
        ("Buyer", "buyer"),
        ("CUSTOMER", "buyer"),
        (" buyer ", "buyer"),
        ("agent", "agent"),
        ("seller", "agent"),
        ("客服", "agent"),
        ("卖家", "agent"),
        ("Agent", "agent"),
        ("SELLER", "agent"),
        ("客服 ", "agent"),
    ],
)
def test_role_names_in_english_and_chinese_are_understood(
    scorer: Scorer, given: str, role: str
) -> None:
    record = scored(scorer, row(1, "在吗", given))
    assert record["role"] == role
    assert (record["intent"] is None) == (role == "agent")


def test_without_a_role_every_line_is_a_buyer_message(scorer: Scorer) -> None:
    for result in scorer.score([row(1, "在吗"), row(2, "亲，明天肯定能到哦")]):
        assert isinstance(result, dict)
        assert result["role"] == "buyer"
        assert result["intent"] is not None
        assert result["verdict"] is None


@pytest.mark.parametrize("given", ["", "  ", "boss", "机器人", "buyer/agent"])
def test_an_unknown_role_is_rejected(scorer: Scorer, given: str) -> None:
    reject = rejected(scorer, row(4, "在吗", given))
    assert (reject.row, reject.line) == (4, 5)
    assert reject.reason == f"unknown role {given!r} (expected buyer or agent)"


def test_a_long_unknown_role_is_shortened_in_the_reason(scorer: Scorer) -> None:
    reject = rejected(scorer, row(1, "在吗", "x" * 50))
    assert reject.reason == f"unknown role {'x' * 20 + '…'!r} (expected buyer or agent)"


def test_a_role_that_is_not_text_is_rejected(scorer: Scorer) -> None:
    assert rejected(scorer, row(1, "在吗", 1)).reason == "role is not a string but int"


# --- shop types --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "shop"),
    [
        ("taobao", "taobao"),
        ("tmall", "tmall"),
        ("淘宝", "taobao"),
        ("C店", "taobao"),
        ("c店", "taobao"),
        ("天猫", "tmall"),
        ("TMALL", "tmall"),
        (" 天猫 ", "tmall"),
        (None, "taobao"),
        ("", "taobao"),
        ("   ", "taobao"),
    ],
)
def test_shop_type_names_are_understood_and_blank_means_the_default(
    scorer: Scorer, given: str | None, shop: str
) -> None:
    assert scored(scorer, row(1, "在吗", "buyer", shop_type=given))["shop_type"] == shop


def test_the_default_shop_type_applies_to_lines_without_one(engine: Engine) -> None:
    tmall = Scorer(engine, shop_type="tmall")
    assert scored(tmall, row(1, "在吗", shop_type=None))["shop_type"] == "tmall"
    assert scored(tmall, row(1, "在吗", shop_type=""))["shop_type"] == "tmall"
    assert scored(tmall, row(1, "在吗", shop_type="淘宝"))["shop_type"] == "taobao"


def test_an_unknown_shop_type_is_rejected(scorer: Scorer) -> None:
    reject = rejected(scorer, row(1, "在吗", "buyer", shop_type="京东"))
    assert reject.reason == "unknown shop type '京东' (expected taobao or tmall)"


def test_an_unknown_default_shop_type_is_refused(engine: Engine) -> None:
    with pytest.raises(ValueError, match="unknown shop type 'jd'"):
        Scorer(engine, shop_type="jd")


# --- texts and pass-through fields ----------------------------------------------------


@pytest.mark.parametrize("text", [None, "", "   ", "\t\n"])
def test_a_line_without_text_is_rejected(scorer: Scorer, text: str | None) -> None:
    assert rejected(scorer, row(1, text, "buyer")).reason == "missing text"


@pytest.mark.parametrize(
    ("text", "kind"), [(12345, "int"), (1.5, "float"), (True, "bool"), (["在吗"], "list")]
)
def test_a_text_that_is_not_a_string_is_rejected(scorer: Scorer, text: Any, kind: str) -> None:
    assert rejected(scorer, row(1, text)).reason == f"text is not a string but {kind}"


def test_undecodable_text_is_rejected(scorer: Scorer) -> None:
    reject = rejected(scorer, row(1, "\udcff\udcfe在吗", "buyer"))
    assert reject.reason == "undecodable bytes in the text"


def test_undecodable_pass_through_fields_are_rejected(scorer: Scorer) -> None:
    reject = rejected(scorer, row(1, "在吗", "buyer", agent_id="a\udcff"))
    assert reject.reason == "undecodable bytes in the conversation, agent or time column"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("c1001", "c1001"),
        (1001, "1001"),
        (2.5, "2.5"),
        ("", None),
        (None, None),
        (dt.date(2026, 11, 11), "2026-11-11"),
        (dt.datetime(2026, 11, 11, 10, 3, 30), "2026-11-11 10:03:30"),
        (dt.time(10, 3, 30), "10:03:30"),
    ],
)
def test_pass_through_fields_become_text(scorer: Scorer, value: Any, shown: str | None) -> None:
    record = scored(
        scorer, row(1, "在吗", "buyer", conversation_id=value, agent_id=value, timestamp=value)
    )
    assert (record["conversation_id"], record["agent_id"], record["timestamp"]) == (
        shown,
        shown,
        shown,
    )


@pytest.mark.parametrize(
    ("value", "kind"), [(["c1"], "list"), ({"id": 1}, "dict"), (True, "bool"), (b"c1", "bytes")]
)
def test_pass_through_fields_of_other_types_are_rejected(
    scorer: Scorer, value: Any, kind: str
) -> None:
    for field in ("conversation_id", "agent_id", "timestamp"):
        reject = rejected(scorer, row(1, "在吗", "buyer", **{field: value}))
        assert reject.reason == (
            f"a {kind} where a text or number belongs in the conversation, agent or time column"
        )


def test_a_reject_keeps_what_was_read(scorer: Scorer) -> None:
    reject = rejected(scorer, Row(7, 9, "在吗", "boss", ["c1"], 1001, None, "淘宝"))
    assert reject.to_dict() == {
        "row": 7,
        "line": 9,
        "reason": "unknown role 'boss' (expected buyer or agent)",
        "raw": {
            "text": "在吗",
            "role": "boss",
            "conversation_id": "['c1']",
            "agent_id": 1001,
            "timestamp": None,
            "shop_type": "淘宝",
        },
    }


def test_a_long_text_is_scored(scorer: Scorer) -> None:
    text = "亲这个能便宜点吗" * 25_000
    record = scored(scorer, row(1, text, "buyer"))
    assert record["text"] == text
    assert record["intent"] == "bargaining"


# --- order and rejects in a chunk -------------------------------------------------------


def test_results_come_back_in_row_order_with_rejects_in_place(scorer: Scorer) -> None:
    reader_reject = Reject(3, 4, "malformed row: 3 fields where the header has 2", ["a", "b", "c"])
    rows: list[Row | Reject] = [
        row(1, "在吗", "buyer"),
        row(2, "亲，明天肯定能到哦", "agent"),
        reader_reject,
        row(4, "", "buyer"),
        row(5, "什么时候发货呀", "boss"),
        row(6, "好的谢谢", "buyer"),
    ]
    results = scorer.score(rows)
    assert len(results) == len(rows)
    assert results[2] is reader_reject  # the reader's rejects pass through as they are
    assert [r["row"] if isinstance(r, dict) else ("reject", r.row) for r in results] == [
        1,
        2,
        ("reject", 3),
        ("reject", 4),
        ("reject", 5),
        6,
    ]
    assert [r["role"] for r in results if isinstance(r, dict)] == ["buyer", "agent", "buyer"]


def test_an_empty_chunk_gives_no_results(scorer: Scorer) -> None:
    assert scorer.score([]) == []


# --- the cache ----------------------------------------------------------------------------


def test_repeated_messages_are_scored_once(engine: Engine) -> None:
    counting = CountingEngine(engine)
    scorer = Scorer(counting, cache_size=100)  # type: ignore[arg-type]
    scorer.score(CHAT)
    # "在吗" comes three times: twice on taobao, once on tmall; the delivery promise twice.
    assert counting.suggested.count(("在吗", "taobao")) == 1
    assert counting.suggested.count(("在吗", "tmall")) == 1
    assert counting.checked.count(("亲，明天肯定能到哦", "taobao")) == 1
    # A later chunk with the same messages costs nothing.
    before = (len(counting.suggested), len(counting.checked))
    scorer.score([row(20, "在吗", "buyer"), row(21, "亲，明天肯定能到哦", "agent")])
    assert (len(counting.suggested), len(counting.checked)) == before


def test_cache_size_zero_scores_every_line(engine: Engine) -> None:
    counting = CountingEngine(engine)
    scorer = Scorer(counting, cache_size=0)  # type: ignore[arg-type]
    scorer.score(CHAT)
    scorer.score(CHAT)
    buyers = sum(1 for r in CHAT if r.role == "buyer")
    agents = len(CHAT) - buyers
    assert len(counting.suggested) == 2 * buyers
    assert len(counting.checked) == 2 * agents


def test_the_same_text_as_buyer_and_as_agent_is_scored_for_each_role(scorer: Scorer) -> None:
    text = "明天肯定能到吗"
    buyer, agent = scorer.score([row(1, text, "buyer"), row(2, text, "agent")])
    assert isinstance(buyer, dict)
    assert isinstance(agent, dict)
    assert buyer["intent"] is not None
    assert buyer["verdict"] is None
    assert agent["intent"] is None
    assert agent["verdict"] is not None


def plain(results: Sequence[dict[str, Any] | Reject]) -> list[Any]:
    return [r if isinstance(r, dict) else r.to_dict() for r in results]


def test_results_are_the_same_with_and_without_the_cache(engine: Engine) -> None:
    rows = CHAT * 3 + [row(50, "", "buyer"), row(51, "在吗", "boss")]
    rows = [r._replace(row=n, line=n + 1) for n, r in enumerate(rows, start=1)]
    cached = Scorer(engine)
    uncached = Scorer(engine, cache_size=0)
    tiny = Scorer(engine, cache_size=2)  # forgets almost at once
    expected = plain(uncached.score(rows))
    assert plain(cached.score(rows)) == expected
    assert plain(tiny.score(rows)) == expected
    # In chunks, with the cache warm from earlier chunks.
    chunked = Scorer(engine)
    assert plain([r for i in range(0, len(rows), 5) for r in chunked.score(rows[i : i + 5])]) == (
        expected
    )


def test_records_from_the_cache_are_independent_copies(engine: Engine) -> None:
    scorer = Scorer(engine)
    first, second = scorer.score(
        [
            row(1, "在吗", "buyer", conversation_id="c1"),
            row(2, "在吗", "buyer", conversation_id="c2"),
        ]
    )
    assert isinstance(first, dict)
    assert isinstance(second, dict)
    assert (first["row"], first["conversation_id"]) == (1, "c1")
    assert (second["row"], second["conversation_id"]) == (2, "c2")
    (third,) = scorer.score([row(3, "在吗", "buyer", conversation_id="c3")])
    assert isinstance(third, dict)
    assert (third["row"], third["conversation_id"]) == (3, "c3")
    assert first["row"] == 1  # untouched by the later rows
