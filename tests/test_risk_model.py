"""The reply-risk model: training, export, serving, and how the filter uses it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from quickphrase.model.artifact import (
    BUNDLED_RISK_DIR,
    METADATA_FILE,
    RISK_ONNX_FILE,
    ModelLoadError,
)
from quickphrase.model.normalize import canonical_chars
from quickphrase.model.risk import (
    Assessment,
    RiskModel,
    against_safe,
    clause_spans,
    risk_input,
    vetoed_cells,
)
from quickphrase.phrases.compliance import ComplianceFilter, RuleError, vetoes
from quickphrase.training.corpus import CorpusError
from quickphrase.training.risk import (
    BUDGETS,
    CATEGORIES,
    MAX_RULE_FLOOR,
    RULE_LOSSES,
    SHARES,
    Reply,
    RiskCandidate,
    RiskConfig,
    RiskCorpus,
    RuleMatches,
    Scores,
    best_option,
    best_scores,
    choose_decision,
    choose_rule_floors,
    choose_thresholds,
    choose_thresholds_weakest_first,
    fit,
    prepare,
    read_replies,
    read_scores,
    tolerated_cap,
    train_risk_model,
)


@pytest.fixture(scope="module")
def corpus() -> RiskCorpus:
    return RiskCorpus.load()


@pytest.fixture(scope="module")
def model() -> RiskModel:
    return RiskModel()


@pytest.fixture(
    scope="module",
    params=[RiskConfig(c=10.0), RiskConfig(hidden=16, epochs=8)],
    ids=["logistic", "hidden-layer"],
)
def small_model(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, corpus: RiskCorpus
) -> Path:
    """A model of each kind trained end to end on a slice of the corpus
    (seconds, not minutes)."""
    small = RiskCorpus(train=corpus.train[::6], dev=corpus.dev[::4])
    out = tmp_path_factory.mktemp("risk")
    train_risk_model(out, grid=(request.param,), corpus=small, progress=lambda _: None)
    return out


# -- what the model reads ---------------------------------------------------------


def test_digits_are_read_by_shape_and_offsets_do_not_move() -> None:
    text = canonical_chars("电话13812345678,尾号3567")
    assert risk_input(text) == "电话00000000000,尾号0000"
    assert len(risk_input(text)) == len(text)


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("订单号 3567890123", "订单号 1111111111"),
        ("快递单号:SF1234567890,电话13812345678", "快递单号:sf1111111111,电话00000000000"),
        ("您的订单编号是2024-0012哦", "您的订单编号是1111-1111哦"),
        ("编号12 的那款", "编号00 的那款"),  # a product's number is no order's
        # A phone number typed where the tracking number belongs keeps its shape.
        ("您填的单号:13912345678是电话", "您填的单号:00000000000是电话"),
    ],
)
def test_an_order_or_tracking_number_behind_its_label_is_read_apart_from_phones(
    text: str, read: str
) -> None:
    canonical = canonical_chars(text)
    assert risk_input(canonical) == read
    assert len(risk_input(canonical)) == len(canonical)


@pytest.mark.parametrize(
    ("text", "clauses"),
    [
        ("明天肯定到", []),  # one clause: reading the whole reply is enough
        ("亲,明天肯定到哦", []),  # clauses under two characters do not count
        ("好的。加我微信,vx123", [(0, 2), (3, 7), (8, 13)]),
        ("好的亲,,,加我微信", [(0, 3), (6, 10)]),
        # Spaces and colons do not break a clause: a label keeps its number.
        ("订单号 3567890 已发货", []),
        ("亲,快递单号:75312345678901,明天能查到", [(2, 21), (22, 27)]),
    ],
)
def test_clause_spans(text: str, clauses: list[tuple[int, int]]) -> None:
    assert clause_spans(text) == clauses


# -- served as trained --------------------------------------------------------------


def test_served_probabilities_equal_scikit_learns(small_model: Path, corpus: RiskCorpus) -> None:
    config = RiskConfig.from_dict(json.loads((small_model / METADATA_FILE).read_text())["config"])
    pipeline = fit(config, RiskCorpus(train=corpus.train[::6], dev=[]).train)
    served = RiskModel(small_model)
    texts = [prepare(r.text) for r in corpus.dev[:300]]
    expected = pipeline.predict_proba(texts)
    assert list(pipeline.classes_) == served.labels
    assert np.abs(served.proba(texts) - expected).max() < 1e-5


@pytest.mark.parametrize("read_clauses", [False, True])
def test_served_scores_are_what_training_scored(
    small_model: Path, corpus: RiskCorpus, read_clauses: bool
) -> None:
    """Floors and thresholds are chosen on ``best_scores``; serving must read
    replies the same way: with and without a rule match forcing the clauses,
    and with the vetoes of the rules' cancelled matches."""
    served = RiskModel(small_model)
    config = RiskConfig.from_dict(served.metadata["config"])
    pipeline = fit(config, corpus.train[::6])
    replies = [
        *corpus.dev[:200],
        Reply("不能保证明天一定到哈,放心一般都挺快的", (), "t:1"),
        Reply("亲 我们不支持微信交易哦,有问题旺旺找我就行", (), "t:2"),
        Reply("没法保证周五前一定送到。不过一般两三天也就到了", (), "t:3"),
    ]
    vetoes = RuleMatches.of(replies).vetoes
    assert all(vetoes[-3:])
    assert sum(map(bool, vetoes)) > 3
    forced = [read_clauses] * len(replies)
    best, shares = read_scores(pipeline, replies, forced, vetoes)
    assert np.array_equal(best, best_scores(pipeline, replies, forced, vetoes))
    trained = Scores(list(pipeline.classes_), best, replies, shares)
    for i, reply in enumerate(replies):
        assessed = served.assess(
            canonical_chars(reply.text), read_clauses=read_clauses, vetoes=vetoes[i]
        )
        for category in CATEGORIES:
            assert assessed[category].probability == pytest.approx(
                trained.column(category)[i], abs=1e-5
            ), reply.text
            assert assessed.against_safe(category) == pytest.approx(
                trained.against_safe(category)[i], abs=1e-5
            ), reply.text


def test_a_cancelled_rule_match_vetoes_the_model_where_it_stands(model: RiskModel) -> None:
    """不能保证明天一定到: the rule saw 一定到 taken back, so the rows holding
    it score delivery again with those words blanked. Another clause is
    read as it is."""
    negated = "不能保证明天一定到"
    veto = {"delivery_promise": [(2, 9)]}
    delivery = model.labels.index("delivery_promise")
    (blank,) = model.proba(["不能 "])
    assert model.assess(negated, vetoes=veto).best["delivery_promise"] == pytest.approx(
        blank[delivery]
    )
    # Unvetoed, the model still reads the promise words (model 32: 0.48; the
    # negation lowers it, the blanked row does not hold it at all).
    assert model.assess(negated).best["delivery_promise"] > 0.3 > blank[delivery]
    both = "不能保证明天一定到,后天下午前包到您手上"
    assessed = model.assess(both, vetoes=veto)
    (clause,) = model.proba(["后天下午前包到您手上"])
    assert assessed.best["delivery_promise"] == pytest.approx(clause[delivery])
    assert assessed["delivery_promise"].start == 10
    unvetoed = model.assess(both, read_clauses=True)
    assert assessed.best["off_platform"] == unvetoed.best["off_platform"]


@pytest.mark.parametrize(
    "text",
    [
        "宝 下次别在淘宝拍了 咱私下交易 我给你出厂价",
        "没有运费险 但是加我微信给你便宜",
        "不能保证明天一定到 后天下午前包到您手上",
        "亲 这个订单收货人叫刘振华 您是他家里人吧",
    ],
)
def test_only_words_taken_back_right_beside_them_veto_the_model(text: str) -> None:
    """A negation a few words off (没有运费险), a personal-data rule's
    look-alike check, or a negated clause beside a risky one does not blind
    the model to the rest of the reply."""
    assert ComplianceFilter.load().check(text, "tmall").verdict == "block"


def test_each_category_is_located_in_the_row_where_it_peaks() -> None:
    probabilities = np.array([[0.5, 0.2], [0.9, 0.1], [0.1, 0.8]])
    spans = [(0, 20), (0, 9), (10, 20)]
    assessed = Assessment(probabilities, spans, {"delivery_promise": 0, "off_platform": 1})
    assert assessed.best == pytest.approx({"delivery_promise": 0.9, "off_platform": 0.8})
    assert assessed["delivery_promise"][2:] == (0, 9)
    assert assessed["off_platform"][2:] == (10, 20)
    flagged = assessed.flagged({"delivery_promise": 0.95, "off_platform": 0.5})
    assert [hit.category for hit in flagged] == ["off_platform"]


def test_a_rule_match_is_weighed_against_safe_not_against_the_other_categories() -> None:
    """A phone number beside 加我vx takes softmax mass from off_platform
    without making the WeChat words any safer: the overrule asks how the
    category fares against ``safe`` alone, row by row."""
    # columns: safe, off_platform, pii_leak
    probabilities = np.array([[0.10, 0.28, 0.62], [0.60, 0.30, 0.10]])
    assessed = Assessment(probabilities, [(0, 20), (0, 8)], {"off_platform": 1, "pii_leak": 2}, 0)
    assert assessed.best["off_platform"] == pytest.approx(0.30)
    assert assessed.against_safe("off_platform") == pytest.approx(0.28 / 0.38)
    assert against_safe(np.array([0.0]), np.array([0.0]))[0] == 0.0
    # Without a safe column (an assessment made by hand) the probability stands.
    plain = Assessment(probabilities, [(0, 20), (0, 8)], {"off_platform": 1})
    assert plain.against_safe("off_platform") == pytest.approx(0.30)


def test_a_veto_re_scores_every_row_overlapping_its_span_and_no_other() -> None:
    spans = [(0, 20), (0, 9), (10, 20)]
    assert sorted(vetoed_cells(spans, {"delivery_promise": [(2, 9)]})) == [
        (0, "delivery_promise"),
        (1, "delivery_promise"),
    ]
    # A span that only touches a clause's edge does not overlap it.
    assert sorted(vetoed_cells(spans, {"abusive": [(9, 10)]})) == [(0, "abusive")]


def test_cancelled_matches_veto_only_categories_no_rule_found_live() -> None:
    rules = ComplianceFilter.load(risk_model=False)
    found, cancelled = rules.rule_findings(canonical_chars("不能保证明天一定到"), "tmall")
    assert found == []
    assert vetoes(found, cancelled) == {"delivery_promise": cancelled["delivery_promise"]}
    text = canonical_chars("不能保证明天一定到,但后天保证到")
    found, cancelled = rules.rule_findings(text, "tmall")
    assert {v.category for v in found} == {"delivery_promise"}
    assert cancelled
    assert vetoes(found, cancelled) == {}


@pytest.mark.parametrize(
    "text",
    ["好的亲\r\n明天发货", "您好  订单号  13812345678  已发货", "加我\t\t微信"],
)
def test_whitespace_runs_are_read_as_scikit_learn_reads_them(
    small_model: Path, corpus: RiskCorpus, text: str
) -> None:
    served = RiskModel(small_model)
    pipeline = fit(RiskConfig.from_dict(served.metadata["config"]), corpus.train[::6])
    (expected,) = best_scores(pipeline, [Reply(text, (), "t:1")], [True])
    got = served.assess(canonical_chars(text), read_clauses=True)
    for category in CATEGORIES:
        column = list(pipeline.classes_).index(category)
        assert got[category].probability == pytest.approx(expected[column], abs=1e-5)


@pytest.mark.parametrize(
    "text",
    [
        "快递单号:75312345678901",
        "亲,您的快递单号:75312345678901,明天就能查到物流",
        "订单号 3567890123456789012 已发货",
        "这罐奶粉的生产日期在罐底,订单号是3567890123456789",
    ],
)
def test_numbers_with_their_label_are_not_personal_data(model: RiskModel, text: str) -> None:
    shipped = ComplianceFilter.load(risk_model=model)
    assert shipped.check(text).verdict == "pass"


def test_the_bundled_model_was_trained_on_the_shipped_replies(
    model: RiskModel, corpus: RiskCorpus
) -> None:
    assert model.metadata["corpus_sha256"] == corpus.fingerprint()
    assert set(model.categories) == set(CATEGORIES)


def test_a_risky_clause_buried_in_a_long_reply_is_found_and_located(model: RiskModel) -> None:
    text = (
        "亲亲您好呀,这款羽绒服是今年的新款,充绒量很足,零下二十度穿也不冷,"
        "尺码按平时穿的拍就行,加我绿泡泡给您便宜二十块哈,有问题随时找我"
    )
    (hit,) = [h for h in model.flag(canonical_chars(text)) if h.category == "off_platform"]
    assert "绿泡泡" in text[hit.start : hit.end]
    assert hit.end - hit.start < len(text) // 2


# -- thresholds and floors ------------------------------------------------------------


def _scores(rows: list[tuple[tuple[str, ...], dict[str, float]]]) -> Scores:
    labels = ["safe", *CATEGORIES]
    probs = np.array([[p.get(label, 0.0) for label in labels] for _, p in rows])
    replies = [Reply(f"r{i}", cats, f"t:{i}") for i, (cats, _) in enumerate(rows)]
    return Scores(labels, probs, replies)


def test_thresholds_keep_blocked_safe_replies_within_the_budget() -> None:
    rows: list[tuple[tuple[str, ...], dict[str, float]]] = [
        ((), {"abusive": 0.01 * i}) for i in range(100)
    ]
    rows += [(("abusive",), {"abusive": 0.5 + 0.004 * i}) for i in range(100)]
    scores = _scores(rows)
    thresholds = choose_thresholds(scores, budget=0.07)  # 7 safe replies over 7 categories
    safe_blocked = sum(p >= thresholds["abusive"] for p in scores.column("abusive")[:100])
    assert safe_blocked == 1
    assert thresholds["abusive"] == pytest.approx(0.9801, abs=1e-4)
    # What the rules block already is spent first.
    already = np.zeros(200, dtype=bool)
    already[:7] = True
    spent = choose_thresholds(scores, 0.07, already)["abusive"]
    assert not any(p >= spent for p in scores.column("abusive")[7:100])


def test_the_weakest_first_share_spends_the_budget_where_little_is_caught() -> None:
    rows: list[tuple[tuple[str, ...], dict[str, float]]] = [
        ((), {"abusive": 0.01 * i}) for i in range(100)
    ]
    rows += [(("abusive",), {"abusive": 0.9 + 0.0009 * i}) for i in range(100)]
    scores = _scores(rows)
    already = np.zeros(200, dtype=bool)
    owed = [set(r.categories) for r in scores.replies]
    kept: list[set[str]] = [set() for _ in rows]
    even = choose_thresholds(scores, 0.07, already)
    weakest = choose_thresholds_weakest_first(scores, 0.07, already, kept, owed)
    risky = scores.column("abusive")[100:]
    # Evenly, abusive gets 1 of the 7 blocks; no other category has risky replies to catch.
    assert (risky >= even["abusive"]).sum() == 11
    assert (risky >= weakest["abusive"]).sum() == 77
    assert sum(p >= weakest["abusive"] for p in scores.column("abusive")[:100]) == 7
    # Risky replies the rules keep count as caught: the budget goes elsewhere.
    kept_all = [set(r.categories) for r in scores.replies]
    assert choose_thresholds_weakest_first(scores, 0.07, already, kept_all, owed)["abusive"] == (
        pytest.approx(0.9901, abs=1e-4)
    )


def test_an_unknown_budget_share_is_refused() -> None:
    scores = _scores([((), {}), (("abusive",), {"abusive": 0.9})])
    every = [frozenset(CATEGORIES)] * 2
    matches = RuleMatches([set(), set()], [set(), set()], every, [{}, {}])
    with pytest.raises(ValueError, match="budget share"):
        choose_decision(scores, matches, 0.01, share="biggest")


def test_rule_floors_overrule_almost_no_risky_reply_the_rules_catch() -> None:
    from quickphrase.training.risk import RuleMatches

    rows = [(("off_platform",), {"off_platform": 0.3 + 0.003 * i}) for i in range(200)]
    rows.append((("off_platform",), {"off_platform": 0.001}))  # one outlier the rules catch
    scores = _scores(rows)
    every = [frozenset(CATEGORIES)] * len(rows)
    matches = RuleMatches(
        [{"off_platform"}] * len(rows), [set()] * len(rows), every, [{}] * len(rows)
    )
    floors = choose_rule_floors(scores, matches, loss=0.005)
    assert floors["off_platform"] == pytest.approx(0.3)  # loses the outlier (0.5% of 201)
    assert choose_rule_floors(scores, matches, loss=0.0)["off_platform"] == 0.0
    assert floors["abusive"] == pytest.approx(MAX_RULE_FLOOR)  # nothing caught, nothing lost


def test_rule_floors_and_overrules_read_the_share_against_safe() -> None:
    from quickphrase.training.risk import RuleMatches

    labels = ["safe", *CATEGORIES]
    # A WeChat match beside a phone number: off_platform 0.2, pii 0.7, safe 0.1.
    split = [{"safe": 0.1, "off_platform": 0.2, "pii_leak": 0.7}.get(x, 0.0) for x in labels]
    # A WeChat feature the rules match: off_platform 0.2, safe 0.8.
    feature = [{"safe": 0.8, "off_platform": 0.2}.get(x, 0.0) for x in labels]
    probs = np.array([split, feature])
    shares = np.array([against_safe(row, row[0]) for row in probs])
    replies = [Reply("r0", ("off_platform", "pii_leak"), "t:0"), Reply("r1", (), "t:1")]
    scores = Scores(labels, probs, replies, shares)
    every = [frozenset(CATEGORIES)] * 2
    matches = RuleMatches([{"off_platform"}, {"off_platform"}], [set(), set()], every, [{}, {}])
    floors = {c: 0.5 for c in CATEGORIES}
    assert matches.kept(scores, floors) == [{"off_platform"}, set()]
    # Read against every category, the split reply's match would be overruled too.
    assert matches.kept(Scores(labels, probs, replies), floors) == [set(), set()]
    assert choose_rule_floors(scores, matches, loss=0.0)["off_platform"] == MAX_RULE_FLOOR


def test_dev_counts_are_made_in_each_replys_own_shop() -> None:
    """A Taobao C店 may decline an invoice: the filter passes the decline, so
    training must not count it as a safe reply blocked, nor miss it as a
    risky one; a Tmall shop's decline is blocked and counted."""
    from quickphrase.training.risk import Decision, RuleMatches

    texts = ["不好意思小店不开发票哈", "本店不开发票", "亲,这款包邮的"]
    shops = ["taobao", "tmall", "taobao"]
    replies = [
        Reply(t, ("invoice_refusal",) if "发票" in t else (), f"t:{i}", shop)
        for i, (t, shop) in enumerate(zip(texts, shops, strict=True))
    ]
    labels = ["safe", *CATEGORIES]
    row = [0.9 if label == "invoice_refusal" else 0.0 for label in labels]
    probs = np.array([row] * 3)
    scores = Scores(labels, probs, replies)
    matches = RuleMatches.of(replies)
    decision = Decision({c: 0.0 for c in CATEGORIES}, {c: 0.5 for c in CATEGORIES})
    blocked = decision.blocked(scores, matches)
    assert blocked == [set(), {"invoice_refusal"}, set()]
    recall, false_blocks = decision.evaluate(scores, matches)
    assert recall == {"invoice_refusal": 1.0}
    assert false_blocks == 0.0  # both Taobao replies are safe there, and pass


# -- how the filter uses it ---------------------------------------------------------------


def test_the_model_overrules_a_product_mention_but_not_contact() -> None:
    rules_only = ComplianceFilter.load(risk_model=False)
    shipped = ComplianceFilter.load()
    feature = "这款儿童手表支持微信视频,孩子放学路上也能联系上"
    contact = "加我微信 发您实拍视频"
    assert rules_only.check(feature).verdict == "block"
    assert shipped.check(feature).verdict == "pass"
    assert shipped.check(contact).verdict == "block"


def test_personal_data_and_a_shops_own_rules_are_never_overruled(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(
        "category: off_platform\nmessage: 站外\nrules:\n  - id: shop.tea\n    pattern: 茶叶\n",
        encoding="utf-8",
    )
    shop = ComplianceFilter.load([tmp_path])
    assert shop.overrulable("off_platform.messenger")
    assert not shop.overrulable("shop.tea")
    assert not any(shop.overrulable(r.id) for r in shop.rules if r.category == "pii_leak")
    assert shop.check("这款茶叶是今年的春茶").verdict == "block"


def test_model_violations_name_the_model_and_the_platform_rule(model: RiskModel) -> None:
    shipped = ComplianceFilter.load()
    text = "亲 您在别家拍个礼品单 我这边按单给您结算辛苦费"
    found = [v for v in shipped.check(text).violations if v.rule.startswith("model.")]
    assert found, "the model should add what no rule knows"
    for v in found:
        assert v.rule == f"model.{v.category}"
        assert v.severity == "block"
        assert 0 <= v.start < v.end <= len(text)
        assert v.message


def test_invoice_refusals_are_only_flagged_for_tmall() -> None:
    shipped = ComplianceFilter.load()
    text = "发票这个真没办法开,我们不提供的"
    assert "invoice_refusal" in shipped.categories_for("tmall")
    assert "invoice_refusal" not in shipped.categories_for("taobao")
    assert "invoice_refusal" in {v.category for v in shipped.check(text, "tmall").violations}
    assert not any(v.category == "invoice_refusal" for v in shipped.check(text).violations)


def test_the_model_checks_a_category_where_the_platform_rule_applies(tmp_path: Path) -> None:
    # Switching the rules off one by one leaves the model's check of the category,
    # and a shop's own C店-only rule does not make the model check C店s.
    off = ["invoice_refusal.refuse", "invoice_refusal.surcharge"]
    assert "invoice_refusal" in ComplianceFilter.load(disable=off).categories_for("tmall")
    (tmp_path / "mine.yaml").write_text(
        "category: invoice_refusal\nmessage: 票\nshop_types: [taobao]\nrules:\n"
        "  - id: shop.no_invoice\n    pattern: 不开票\n",
        encoding="utf-8",
    )
    shop = ComplianceFilter.load([tmp_path])
    assert "model.invoice_refusal" not in {
        v.rule for v in shop.check("发票这个真没办法开,我们不提供的", "taobao").violations
    }
    with pytest.raises(RuleError, match=r"model\.extreme_claim"):
        ComplianceFilter.load(disable=["model.extreme_claim"])


# -- bad models and data ---------------------------------------------------------------


def test_a_missing_or_corrupt_model_file_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "risk"
    shutil.copytree(BUNDLED_RISK_DIR, broken)
    (broken / RISK_ONNX_FILE).unlink()
    with pytest.raises(ModelLoadError, match=RISK_ONNX_FILE):
        RiskModel(broken)
    shutil.copy(BUNDLED_RISK_DIR / RISK_ONNX_FILE, broken / RISK_ONNX_FILE)
    (broken / METADATA_FILE).write_text('{"labels": ["safe"]}', encoding="utf-8")
    with pytest.raises(ModelLoadError, match=METADATA_FILE):
        RiskModel(broken)


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ('{"text": "", "categories": []}', "'text'"),
        ('{"text": "好的", "categories": ["rude"]}', "'categories'"),
        ("not json", "invalid JSON"),
    ],
)
def test_malformed_training_replies_name_file_and_line(
    tmp_path: Path, line: str, fragment: str
) -> None:
    path = tmp_path / "shop.jsonl"
    path.write_text('{"text": "好的亲", "categories": []}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=fragment) as info:
        read_replies(path)
    assert "shop.jsonl:2" in str(info.value)


def test_a_reply_too_long_to_check_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "shop.jsonl"
    path.write_text(json.dumps({"text": "亲" * 2001, "categories": []}) + "\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"shop\.jsonl:1.*longer"):
        read_replies(path)


def test_an_unreachable_false_block_cap_is_reported(corpus: RiskCorpus, tmp_path: Path) -> None:
    small = RiskCorpus(train=corpus.train[::6], dev=corpus.dev[::4])
    said: list[str] = []
    result = train_risk_model(
        tmp_path,
        grid=(RiskConfig(c=10.0),),
        corpus=small,
        max_false_blocks=0.0,
        progress=said.append,
    )
    if result.metadata["dev_metrics"]["safe_blocked"] > 0:
        assert result.metadata["cap_met"] is False
        assert any(m.startswith("warning: no candidate") for m in said)
    # Every setting tried is kept with its dev figures, the chosen one among them.
    tried = result.metadata["dev_options"]
    assert len(tried) == len(BUDGETS) * len(SHARES) * len(RULE_LOSSES)
    assert result.metadata["selection"][0] in tried


def option(min_recall: float, blocked: float, cap: float) -> tuple[RiskCandidate, str]:
    candidate = RiskCandidate(
        RiskConfig(), 0.01, 0.01, {"abusive": min_recall, "pii_leak": 1.0}, blocked, cap
    )
    return candidate, f"{min_recall}/{blocked}"


def test_the_setting_chosen_is_the_most_recall_within_the_cap_or_near_the_fewest_blocks() -> None:
    def chosen(cap: float) -> str:
        options = [option(0.4, 0.050, cap), option(0.7, 0.065, cap), option(0.9, 0.090, cap)]
        return best_option(options, cap)[1]  # type: ignore[arg-type]

    assert chosen(0.10) == "0.9/0.09"  # within the cap: the most recall
    assert chosen(0.06) == "0.4/0.05"
    # No setting meets the cap: the fewest blocks (5%) alone would catch 0.4;
    # within two points of it, 0.7.
    assert chosen(0.01) == "0.7/0.065"


def test_the_cap_allows_for_the_sampling_error_of_the_dev_count() -> None:
    # 1% of 473 safe replies is 4.7 replies; one standard error adds 0.46 points.
    assert tolerated_cap(0.01, 473) == pytest.approx(0.0146, abs=1e-4)
    assert tolerated_cap(0.01, 47_300) == pytest.approx(0.01046, abs=1e-5)
    assert tolerated_cap(0.0, 473) == 0.0  # "block no safe reply" stays exact
    assert tolerated_cap(0.01, 0) == 0.01


def test_thresholds_clear_the_replies_that_must_pass() -> None:
    from quickphrase.training.risk import Decision

    ceilings = {"delivery_promise": 0.93, "abusive": 0.1}
    decision = Decision({}, {"delivery_promise": 0.9, "abusive": 0.5}).clearing(ceilings)
    assert decision.thresholds == {"delivery_promise": 0.9301, "abusive": 0.5}


@pytest.mark.parametrize("shop", ["taobao", "tmall"])
def test_the_shipped_filter_passes_the_issues_own_safe_examples(shop: str) -> None:
    from quickphrase.training.risk import MUST_PASS

    shipped = ComplianceFilter.load()
    assert [t for t in MUST_PASS if shipped.check(t, shop).verdict != "pass"] == []


def test_the_same_reply_with_two_labels_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "shop.jsonl"
    path.write_text(
        '{"text": "加我微信", "categories": ["off_platform"]}\n'
        '{"text": "加我微信!", "categories": []}\n',
        encoding="utf-8",
    )
    with pytest.raises(CorpusError, match="same reply"):
        RiskCorpus.load(train_paths=[path])


def test_a_configuration_describes_the_settings_of_its_own_kind() -> None:
    logistic = RiskConfig(c=30.0).describe()
    network = RiskConfig(hidden=64, alpha=1e-3, epochs=25).describe()
    assert "c=30.0" in logistic
    assert "hidden" in logistic
    assert "alpha" not in logistic
    assert "hidden=64" in network
    assert "epochs=25" in network
    assert "c=" not in network
