"""The ranker: which phrases are suggested for a classified message, and which never are."""

from __future__ import annotations

from pathlib import Path

import pytest

from quickphrase.model.classifier import IntentScore, Prediction
from quickphrase.phrases.compliance import ComplianceFilter
from quickphrase.phrases.feedback import SmoothedAcceptance
from quickphrase.phrases.library import load_library
from quickphrase.phrases.ranker import Context, Ranker

SHOP = """
variables:
  shop_name: {default: 小满生活馆}
  courier: {default: 中通快递}
  tracking_no: {description: per request}
"""

PHRASES = """
stage: pre_sale
phrases:
  - {id: bargaining.coupon, code: yjq, group: 议价, intents: [bargaining],
     shop_types: [taobao, tmall], text: "亲,{shop_name}首页可以领券哦,下单自动抵扣",
     examples: [有优惠券吗]}
  - {id: bargaining.fixed, code: yjgd, group: 议价, intents: [bargaining],
     shop_types: [taobao, tmall], text: "亲,价格是统一定价的,没法改价呢,请您理解",
     examples: [能便宜点吗]}
  - {id: bargaining.fixed_twin, code: yjgt, group: 议价, intents: [bargaining],
     shop_types: [taobao, tmall], text: "亲,价格是统一定价的,没法改价呢,请您理解哈"}
  - {id: bargaining.gift, code: yjzp, group: 议价, intents: [bargaining],
     shop_types: [taobao, tmall], text: "亲,现在下单会随单附赠小礼品,数量有限送完为止"}
  - {id: bargaining.promise, code: yjmt, group: 议价, intents: [bargaining],
     shop_types: [taobao, tmall], text: "亲,今天拍明天肯定能到,放心买"}
  - {id: shipping_fee.free, code: yfby, group: 运费, intents: [shipping_fee],
     shop_types: [taobao, tmall], text: "亲,除偏远地区外都是包邮的哦"}
  - {id: shipping_fee.sf, code: yfsf, group: 运费, intents: [shipping_fee],
     shop_types: [taobao, tmall], text: "亲,默认发{courier},需要顺丰可以补差价哦"}
  - {id: invoice.tmall_free, code: fpmf, group: 发票, intents: [invoice],
     shop_types: [tmall], text: "亲,天猫订单都可以免费开具电子发票哦"}
  - {id: invoice.taobao_decline, code: fpbk, group: 发票, intents: [invoice],
     shop_types: [taobao], text: "亲,小店暂时不提供发票哦,请您谅解"}
  - {id: logistics.tracking, code: wldh, group: 物流, intents: [logistics],
     shop_types: [taobao, tmall], text: "亲,您的包裹单号是{tracking_no},可以在订单里查看物流哦",
     order_status: [shipped]}
  - {id: logistics.check, code: wlcx, group: 物流, intents: [logistics], stage: in_sale,
     shop_types: [taobao, tmall], text: "亲,我这边帮您查一下物流进度,请稍等哦",
     order_status: [shipped, received]}
"""


@pytest.fixture(scope="module")
def library_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("library")
    (root / "shop.yaml").write_text(SHOP, encoding="utf-8")
    (root / "pre_sale.yaml").write_text(PHRASES, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def ranker(library_dir: Path) -> Ranker:
    return Ranker(load_library(library_dir), ComplianceFilter.load())


def prediction(
    *intents: tuple[str, float], ranked: tuple[tuple[str, float], ...] = ()
) -> Prediction:
    scores = tuple(IntentScore(i, p) for i, p in intents)
    ranked_scores = tuple(IntentScore(i, p) for i, p in (ranked or intents))
    return Prediction(
        "msg", intents[0][0], intents[0][1], scores, False, ranked_scores, "能 便宜 点 吗"
    )


def ids(suggestions: list) -> list[str]:
    return [s.phrase_id for s in suggestions]


def test_suggests_up_to_k_phrases_of_the_predicted_intent(ranker: Ranker) -> None:
    found = ranker.rank(prediction(("bargaining", 0.95)), Context(), k=3)
    assert len(found) == 3
    assert {s.intent for s in found} == {"bargaining"}
    assert found == sorted(found, key=lambda s: -s.score)


def test_example_questions_lift_the_matching_phrase(ranker: Ranker) -> None:
    # The message is "能便宜点吗": bargaining.fixed declares exactly that question.
    assert ranker.rank(prediction(("bargaining", 0.95)), Context(), k=1)[0].phrase_id == (
        "bargaining.fixed"
    )


def test_near_duplicates_are_never_suggested_together(ranker: Ranker) -> None:
    found = ids(ranker.rank(prediction(("bargaining", 0.95)), Context(), k=5))
    assert not {"bargaining.fixed", "bargaining.fixed_twin"} <= set(found)


def test_blocked_phrases_are_never_suggested(ranker: Ranker) -> None:
    found = ids(ranker.rank(prediction(("bargaining", 0.95)), Context(), k=10))
    assert "bargaining.promise" not in found  # 明天肯定能到 is a delivery promise


def test_the_shop_type_decides_which_phrases_exist(ranker: Ranker) -> None:
    invoice = prediction(("invoice", 0.9))
    assert ids(ranker.rank(invoice, Context("tmall"))) == ["invoice.tmall_free"]
    assert ids(ranker.rank(invoice, Context("taobao"))) == ["invoice.taobao_decline"]


def test_other_means_no_suggestion(ranker: Ranker) -> None:
    assert ranker.rank(prediction(("other", 0.4)), Context()) == []


def test_several_questions_get_one_answer_each_first(ranker: Ranker) -> None:
    both = prediction(("bargaining", 0.9), ("shipping_fee", 0.8))
    found = ranker.rank(both, Context(), k=3)
    assert [s.intent for s in found[:2]] == ["bargaining", "shipping_fee"]


def test_a_likely_runner_up_intent_gets_the_last_slot(ranker: Ranker) -> None:
    unsure = prediction(("bargaining", 0.6), ranked=(("bargaining", 0.6), ("shipping_fee", 0.3)))
    found = ranker.rank(unsure, Context(), k=3)
    assert [s.intent for s in found] == ["bargaining", "bargaining", "shipping_fee"]
    sure = prediction(("bargaining", 0.9), ranked=(("bargaining", 0.9), ("shipping_fee", 0.05)))
    assert {s.intent for s in ranker.rank(sure, Context(), k=3)} == {"bargaining"}


def test_variables_are_filled_and_unfillable_phrases_are_skipped(ranker: Ranker) -> None:
    tracking = prediction(("logistics", 0.9))
    assert ids(ranker.rank(tracking, Context())) == ["logistics.check"]
    found = ranker.rank(tracking, Context(variables={"tracking_no": "75312345678901"}))
    texts = {s.phrase_id: s.text for s in found}
    assert "75312345678901" in texts["logistics.tracking"]
    assert all("{" not in s.text for s in found)
    shipping = ranker.rank(prediction(("shipping_fee", 0.9)), Context(), k=3)
    assert any("中通快递" in s.text for s in shipping)


def test_request_values_that_break_a_rule_drop_the_phrase(ranker: Ranker) -> None:
    leaky = Context(variables={"tracking_no": "753123456789,有事加我微信"})
    assert "logistics.tracking" not in ids(ranker.rank(prediction(("logistics", 0.9)), leaky))


def test_order_status_limits_phrases_that_declare_it(ranker: Ranker) -> None:
    values = {"tracking_no": "75312345678901"}
    unpaid = Context(order_status="unpaid", variables=values)
    assert ranker.rank(prediction(("logistics", 0.9)), unpaid) == []
    received = Context(order_status="received", variables=values)
    assert ids(ranker.rank(prediction(("logistics", 0.9)), received)) == ["logistics.check"]


def test_accepted_phrases_rise(library_dir: Path) -> None:
    library = load_library(library_dir)
    learned = SmoothedAcceptance({("bargaining.gift", "bargaining"): (95, 100)})
    ranker = Ranker(library, ComplianceFilter.load(), acceptance=learned)
    plain = Ranker(library, ComplianceFilter.load())
    msg = prediction(("bargaining", 0.95))
    gift_learned = next(
        s for s in ranker.rank(msg, Context(), k=5) if s.phrase_id == "bargaining.gift"
    )
    gift_plain = next(
        s for s in plain.rank(msg, Context(), k=5) if s.phrase_id == "bargaining.gift"
    )
    assert gift_learned.score > gift_plain.score


def test_acceptance_is_smoothed_towards_the_prior() -> None:
    model = SmoothedAcceptance({("a", "x"): (2, 2)}, prior=0.3, strength=10)
    assert model.acceptance("a", "x") == pytest.approx((2 + 3) / 12)
    assert model.acceptance("unseen", "x") == pytest.approx(0.3)


@pytest.mark.parametrize(
    "kwargs",
    [{"shop_type": "jd"}, {"stage": "later"}, {"order_status": "lost"}],
)
def test_context_rejects_unknown_values(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="unknown"):
        Context(**kwargs)


@pytest.mark.parametrize("k", [0, 11])
def test_k_must_be_sensible(ranker: Ranker, k: int) -> None:
    with pytest.raises(ValueError, match="k must be"):
        ranker.rank(prediction(("bargaining", 0.9)), Context(), k=k)


def test_unknown_request_variables_are_an_error(ranker: Ranker) -> None:
    with pytest.raises(ValueError, match="unknown variable"):
        ranker.rank(prediction(("bargaining", 0.9)), Context(variables={"shopname": "x"}))
