"""The compliance filter: what it blocks, what it lets through, and how it is configured."""

from __future__ import annotations

from pathlib import Path

import pytest

from quickphrase.model.normalize import canonical_chars
from quickphrase.phrases.compliance import (
    CATEGORIES,
    MAX_CHECK_CHARS,
    ComplianceFilter,
    RuleError,
)
from quickphrase.phrases.evaluation import read_labelled, score_compliance
from quickphrase.phrases.prefilter import required_literals
from quickphrase.training.risk import DEV_FILE as RISK_DEV_FILE
from quickphrase.training.risk import TRAIN_DIR as RISK_TRAIN_DIR
from quickphrase.training.risk import RiskCorpus, reply_key

DATA = Path(__file__).parent / "data" / "compliance"
HOLDOUT = DATA / "holdout.jsonl"
RULE_TUNING = sorted(RISK_TRAIN_DIR.glob("rule_tuning_*.jsonl"))
BLOCK_CATEGORIES = [c for c in CATEGORIES if c != "extreme_claim"]
# Floors at the first look at the held-out set (the thirty-third, written
# 2026-11-25, measured once with the shipped risk model 32): lowest recall
# 0.690 (pii_leak), 3.82% of safe replies blocked (12 of 314). Neither
# the recall target (0.97) nor its false-block target (1%) is met on
# this set; see README "Suggestions and compliance".
HOLDOUT_MIN_RECALL = 0.65
HOLDOUT_MAX_FALSE_BLOCKS = 0.05


@pytest.fixture(scope="module")
def compliance() -> ComplianceFilter:
    """The filter as shipped: rules and the risk model."""
    return ComplianceFilter.load()


@pytest.fixture(scope="module")
def rules() -> ComplianceFilter:
    """The hand-written rules alone."""
    return ComplianceFilter.load(risk_model=False)


def categories(compliance: ComplianceFilter, text: str, shop: str = "taobao") -> set[str]:
    return {v.category for v in compliance.check(text, shop).violations}


# -- the labelled sets ---------------------------------------------------------


@pytest.mark.parametrize("path", RULE_TUNING, ids=lambda p: p.stem)
def test_rules_alone_meet_the_targets_on_the_sets_they_were_written_from(
    rules: ComplianceFilter, path: Path
) -> None:
    report = score_compliance(rules, read_labelled(path))
    for category in BLOCK_CATEGORIES:
        assert report.recall[category] >= 0.97, (category, report.misses)
    assert report.false_block_rate <= 0.01, report.misses


def test_holdout_set_does_not_regress(compliance: ComplianceFilter) -> None:
    """The held-out replies were written apart from the rules and the model's
    training data and never used to tune either (benchmarks/results/suggest.json)."""
    report = score_compliance(compliance, read_labelled(HOLDOUT))
    assert min(report.recall[c] for c in BLOCK_CATEGORIES) >= HOLDOUT_MIN_RECALL, report.misses
    assert report.false_block_rate <= HOLDOUT_MAX_FALSE_BLOCKS, report.misses


def test_the_risk_model_adds_recall_the_rules_lack(
    compliance: ComplianceFilter, rules: ComplianceFilter
) -> None:
    with_model = score_compliance(compliance, read_labelled(HOLDOUT)).recall
    alone = score_compliance(rules, read_labelled(HOLDOUT)).recall
    assert sum(with_model.values()) > sum(alone.values())
    assert all(with_model[c] >= alone[c] for c in alone)


def test_holdout_set_is_large_enough_and_apart_from_training() -> None:
    rows = read_labelled(HOLDOUT)
    risky = [r for r in rows if r.expected != "pass"]
    safe = [r for r in rows if not r.categories]
    assert len(risky) >= 80
    assert len(safe) >= 80
    for category in CATEGORIES:
        assert sum(category in r.categories for r in rows) >= 12, category
    training = RiskCorpus.load()
    seen = {reply_key(r.text) for r in training.train + training.dev}
    assert not {reply_key(r.text) for r in rows} & seen


# -- behaviour the issue names -------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["明天肯定能到", "保证后天到哦", "次日必达的亲", "晚一天赔您5块钱"],
)
def test_guaranteed_delivery_is_blocked(compliance: ComplianceFilter, text: str) -> None:
    result = compliance.check(text)
    assert result.verdict == "block"
    assert {v.category for v in result.violations} == {"delivery_promise"}


@pytest.mark.parametrize(
    ("text", "shop", "rule"),
    [
        ("扑街,自己整烂咗仲赖人", "taobao", "abusive.dialect"),
        ("您看着也不像买得起的,去看看便宜的吧", "tmall", "abusive.contempt"),
        ("您这样的顾客我们也不缺,差评随便给", "tmall", "abusive.contempt"),
        ("只有单笔消费满1000元的订单才能申请发票", "tmall", "invoice_refusal.condition"),
        ("开具发票后将不再支持退换货,请您慎重选择", "tmall", "invoice_refusal.condition"),
        ("发票找厂家要去,我们店里不负责的", "tmall", "invoice_refusal.condition"),
        ("两日内冇到我赔你5蚊", "taobao", "delivery_promise.compensation"),
    ],
)
def test_round_seven_rules_catch_what_the_seventh_set_showed_missing(
    rules: ComplianceFilter, text: str, shop: str, rule: str
) -> None:
    assert rule in {v.rule for v in rules.check(text, shop).violations}


@pytest.mark.parametrize(
    ("text", "shop"),
    [
        ("这包猫粮是二百五十克的小包装,适合先买来试吃", "taobao"),
        ("发票可以开,公司抬头同个人抬头都得,唔使加钱", "tmall"),
        ("电子发票确认收货后自动开具,开票后也支持七天无理由退换", "tmall"),
        ("十三点前下单的话一般当天能发出", "taobao"),
        ("店是一九九八年开的,订单号一三八二三四五六七八九零", "taobao"),
        ("明天统一准备发货", "tmall"),
        ("发票开好后,您有空再看一下", "tmall"),
        ("开不开个人抬头都可以的", "tmall"),
        ("这款粉饼能有效吸收皮脂", "taobao"),
        ("每天十三点截单,这款羽绒服二百五一件", "taobao"),
        ("我们这边找人上门帮您安装", "tmall"),
        ("拼多多上的款式不一定适合您", "taobao"),
        ("晚上拍的话可以退您3元差价", "taobao"),
    ],
)
def test_look_alikes_of_the_round_seven_rules_pass(
    rules: ComplianceFilter, text: str, shop: str
) -> None:
    assert rules.check(text, shop).verdict == "pass"


@pytest.mark.parametrize(
    "text",
    [
        "一般1-3天到,具体以物流为准",
        "不能保证明天一定到",
        "不能保证明天一定到哦",
        "正常情况下明天能到",
    ],
)
def test_hedged_or_negated_delivery_passes(compliance: ComplianceFilter, text: str) -> None:
    assert compliance.check(text).verdict == "pass"


@pytest.mark.parametrize(
    "text",
    [
        "您尾号5678的手机收到短信了吗",
        "是138****5678这个号码吗",
        "订单号 3567890123456789012 已发货",
    ],
)
def test_masked_numbers_and_order_numbers_are_not_personal_data(
    compliance: ComplianceFilter, text: str
) -> None:
    assert compliance.check(text).verdict == "pass"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("电话 138 1234 5678 对吗", "138 **** 5678"),
        ("电话一三八 幺二三四 五六七八", "一三八 **** 五六七八"),  # read out in numerals
        ("身份证110101199003074514", "110***********4514"),
        ("邮箱 abc.d@qq.com", "a***@qq.com"),
        ("寄到杭州市西湖区文三路90号", "杭州市西湖区****"),
        ("收件人王芳", "收件人王*"),
    ],
)
def test_personal_data_is_blocked_and_masked(
    compliance: ComplianceFilter, text: str, masked: str
) -> None:
    result = compliance.check(text)
    assert "pii_leak" in {v.category for v in result.violations}
    assert masked in result.redacted


def test_violations_say_whether_the_redacted_text_masks_them(
    rules: ComplianceFilter,
) -> None:
    result = rules.check("亲,明天肯定能到哈,有事打13812345678")
    masked = {v.category: v.masked for v in result.violations}
    # Masking the number does not take back the promise: that one still stands.
    assert masked == {"delivery_promise": False, "pii_leak": True}
    assert [v.to_dict()["masked"] for v in result.violations] == [False, True]


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        ("地址是上海市浦东新区世纪大道100号环球公寓3栋1201室", "1201"),  # one span inside another
        ("寄到北京市朝阳区建国路88号阳光花园3栋2单元501", "501"),  # one sticking out of another
    ],
)
def test_overlapping_personal_data_is_masked_as_a_whole(
    rules: ComplianceFilter, text: str, leaked: str
) -> None:
    result = rules.check(text)
    assert len(result.violations) >= 2
    assert all(v.masked for v in result.violations)
    assert leaked not in result.redacted


def test_id_card_needs_a_valid_check_digit(rules: ComplianceFilter) -> None:
    assert categories(rules, "号码110101199003074514") == {"pii_leak"}
    assert categories(rules, "号码110101199003074515") == set()


def test_violation_offsets_point_at_the_original_text(rules: ComplianceFilter) -> None:
    text = "亲,請放心,明天肯定能到"  # traditional characters are checked too
    (violation,) = rules.check(text).violations
    assert text[violation.start : violation.end] == "明天肯定能到"
    assert violation.rule.startswith("delivery_promise.")
    assert "违背承诺" in violation.message


def test_mentioning_wechat_to_refuse_it_passes(compliance: ComplianceFilter) -> None:
    assert categories(compliance, "加我微信聊") == {"off_platform"}
    assert categories(compliance, "不支持微信支付哦,请在淘宝下单") == set()


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("我们只在淘宝内交易 微信上不接单的哦", "pass"),
        ("支付宝转账不行的哈,一定要走淘宝担保交易", "pass"),
        ("明天肯定能到吗?这个真保证不了", "pass"),
        ("微信不方便的话加我扣扣", "block"),
        ("支付宝转我吧", "block"),
        # A refusal must follow closely and be one: these still invite or promise.
        ("加我微信不用排队哦", "block"),
        ("扫这个收款码不用手续费", "block"),
        ("加我vx不加价的", "block"),
        ("您加我微信不行吗", "block"),
        ("明天肯定到 好吗", "block"),
    ],
)
def test_a_refusal_right_after_the_words_takes_them_back(
    rules: ComplianceFilter, text: str, verdict: str
) -> None:
    assert rules.check(text).verdict == verdict


def test_asking_for_a_review_passes_but_paying_for_one_is_blocked(
    compliance: ComplianceFilter,
) -> None:
    assert categories(compliance, "满意的话麻烦给个五星好评哦") == set()
    assert categories(compliance, "五星好评截图给您返现5元") == {"review_cashback"}


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        # An invoice traded against a price, or talked out of, or put off sine die.
        ("要发票就不能用店铺券哈,您二选一", "block"),
        ("不要票的话再给您便宜15,要票就原价", "block"),
        ("发票这个东西您用不上的,就别要了吧", "block"),
        ("开票系统在升级,这单就不给您开了哈", "block"),
        ("票会开的 啥时候开我也说不准", "block"),
        ("电子发票等您确认收货并给了五星好评以后才开", "block"),
        # Look-alikes that issue the invoice, or give its date.
        ("发票我们都开的,不知道您要个人还是公司抬头呢", "pass"),
        ("不要发票的话也没关系,保修凭订单就行", "pass"),
        ("电子发票确认收货后24小时内开好,订单详情里能下载", "pass"),
        ("抬头和税号核对好哦,开票就不能改了", "pass"),
        ("不要发票也不会更便宜的哦,价格都一样", "pass"),
        ("发票明天开好,开好后多久到账我们也不知道,看税务系统", "pass"),
        ("纸质发票已经随货寄出了,电子版就不开了哦", "pass"),
        ("门票什么时候能用我们也不好说,以景区公告为准", "pass"),
    ],
)
def test_round_fourteen_invoice_rules_read_trade_offs_and_put_offs(
    rules: ComplianceFilter, text: str, verdict: str
) -> None:
    assert rules.check(text, "tmall").verdict == verdict
    assert rules.check(text, "taobao").verdict == "pass"  # a C店 may decline


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        # Shorthand, 100% and Cantonese promises, and pay-outs for lateness.
        ("bz后天到哈 顺丰的", "block"),
        ("顺丰走的 深圳→广州 隔日100%到货哈", "block"),
        ("急用的话拍加急 准时准点到 一分钟都唔差", "block"),
        ("今天肯定帮你寄 哪怕我自己骑车跑去驿站", "block"),
        ("亲这个收纳盒周三还没到的话 我直接全额退您", "block"),
        ("两日内唔到货 我哋全单免费", "block"),
        ("晚到了算我的 这单运费全免", "block"),
        # Meeting in person, a card to pay into, a penguin for QQ.
        ("二手机面交都得,线下睇机再俾钱", "block"),
        ("拍完给我发个截图 本金+5块我转你卡上", "block"),
        ("有需要戳我 🐧 285046193", "block"),
        # Contempt without a swear word.
        ("你算哪根葱 也配让我们主管出来", "block"),
        ("哪凉快哪待着去 别耽误我做生意", "block"),
        ("我们家的键盘不是给你这种菜鸡用的", "block"),
        # An invoice held back for a review, suspended, or never reissued.
        ("给个好评我就给您开发票", "block"),
        ("本店發票暫停開具，請見諒", "block"),
        ("发票开错了也不能重开 就这样用吧", "block"),
        ("开票系统坏了 修好不知道什么时候 你先别等了", "block"),
        # Look-alikes: hedged, about a lost parcel's safety, or refusing.
        ("当面交易万一机器有问题你一点保障都没有,还是在淘宝上拍哈", "pass"),
        ("这款包装很精致 送人一点都不寒酸", "pass"),
        ("我们不会跟您说不开票的哈,天猫店都要开,您放心", "pass"),
        ("我宜家帮你做单,备注咗黑色同埋加钢化膜", "pass"),
        ("发票月底前统一开好,具体哪天我也说不准", "pass"),
        # Found by the round's review: the new words in their other meanings.
        ("亲,晚上好,来回运费算我的,您放心退", "pass"),
        ("亲,今晚8点前付款的前50名免单,到时候系统自动抽", "pass"),
        ("亲,要是拆开发现配件找不到,直接申请,全额退给您", "pass"),
        ("亲,开票系统今天上午暂停维护,下午3点恢复后第一时间给您开", "pass"),
        ("亲,发票已经开具,您别等了,直接在订单详情里下载就行", "pass"),
        ("亲,开票不用好评哦,付款后就开票", "pass"),
        ("亲不好意思,面交我们这边做不了,只能快递哈", "pass"),
        ("亲,我真是蠢到家了,把您的地址看错了,马上给您改", "pass"),
        ("亲,这款企鹅🐧冰箱贴还有3个库存哦", "pass"),
        ("亲,微信转账也一样,保障都没有区别的", "block"),
    ],
)
def test_round_fifteen_rules_read_shorthand_dialect_and_conditions(
    rules: ComplianceFilter, text: str, verdict: str
) -> None:
    assert rules.check(text, "tmall").verdict == verdict


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        # Tmall invoices refused in plain words, held back or talked out of.
        ("发票这东西 我们店里不整的哈", "block"),
        ("亲,我们只给公司客户开票,个人的开不了", "block"),
        ("不好意思 发票系统这阵子停开了", "block"),
        ("发票可以开,不过纸质的要另收工本费8块", "block"),
        ("想要票的话补拍一个税点链接就行", "block"),
        ("我们只能开收据哦 盖公章的", "block"),
        ("开票的话会影响活动价 建议您别开了", "block"),
        ("发票金额只能按实付的一半来开", "block"),
        ("好评之后才能申请开票哈 这是规定", "block"),
        ("Sorry, we do not issue invoices for sale items", "block"),
        ("fp暂时没有哦亲", "block"),
        # Phone numbers spelt digit by digit, and Taiwan mobiles.
        ("收件人电话 1 3 9 1 2 3 4 5 6 7 8 您核对下", "block"),
        ("收件電話是0935-221-874喔", "block"),
        # Contempt, Sichuanese and sarcastic.
        ("屁事咋这么多 一会一个问题", "block"),
        ("想退款?退个锤子", "block"),
        ("您可真能折腾 换了三次颜色了", "block"),
        ("嫌贵自己去厂里买啊", "block"),
        ("你这脑袋瓜子不转的吗 尺码表都看不懂", "block"),
        # Lateness paid back, Cantonese certainty, WeChat and cash in hand.
        ("过了周五还没到 我给您退差价", "block"),
        ("聽日梗係收到啦 放心", "block"),
        ("咱整个微 下次直接找我", "block"),
        ("同城的话一手交钱一手交货 不用下单", "block"),
        ("等您好评一到 小礼品马上寄出", "block"),
        ("店里缺刷手 一单给八块", "block"),
        # Look-alikes: the same words in their ordinary meanings.
        ("亲,个人抬头可以开普票,专票只能给企业开哈", "pass"),
        ("电子发票付款后自动开具,纸质发票我们随货寄出,不另外收费", "pass"),
        ("亲,您的收件人是李先生吗 麻烦用下单账号核对一下哦", "pass"),
        ("亲,价保期内降价了可以申请退差价哈", "pass"),
        ("这款锤子手机壳有现货", "pass"),
        ("配件在快递里没到的话 联系我给您补发", "pass"),
        ("路由器下载APP后微信扫码配网就可以了", "pass"),
        ("整个微波炉的内胆都是不锈钢的", "pass"),
        ("刷手机支付也可以 在淘宝付款页面选就行", "pass"),
        ("开票不影响您享受活动价哦 放心开", "pass"),
        ("订单号 0912345678 这个是内部编号哈", "pass"),
        ("嫌麻烦的话 我们可以帮您预约上门取件", "pass"),
        # Found by the round's review: the new words in their other meanings.
        ("个人抬头不能开具专票哦,可以开普票", "pass"),
        ("我个人建议您先不开封,确认型号再拆", "pass"),
        ("发票金额只按您实际支付的部分开具哈", "pass"),
        ("开票跟好评没关系,确认收货后才能开", "pass"),
        ("发票正常开哈,偏远地区需要补运费10元", "pass"),
        ("页面是含税价不会多收您一分钱", "pass"),
        ("我们发票从来不停开的,放心", "pass"),
        ("安装费是师傅上门收的只能给收据,商品发票我们照常开", "pass"),
        ("这台显示器144fps没有拖影,打游戏很流畅", "pass"),
        ("价保还没到期的,降价了给您退差价", "pass"),
        ("这款的条码是0912345678", "pass"),
        ("那个快递员真没素质 我们已经投诉他了", "pass"),
        ("这款化妆刷手感特别软", "pass"),
        ("这台HP返厂检测要一周左右", "pass"),
        ("纸质发票我们顺丰寄出,运费不用您到付", "pass"),
        ("发票的话建议您别开了,开了就没有活动价", "block"),
        ("We can't issue an invoice for this order, sorry", "block"),
        ("配网有问题的话加我微信,远程指导", "block"),
        ("收件人電話 +886-912-345-678", "block"),
        ("纸质发票需自付邮费15元", "block"),
    ],
)
def test_round_sixteen_rules_read_plain_refusals_spelt_numbers_and_sarcasm(
    rules: ComplianceFilter, text: str, verdict: str
) -> None:
    assert rules.check(text, "tmall").verdict == verdict


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        # Round 17: pay-outs for a late dispatch, deals off the platform in person,
        # rewards in kind, condescension, invoices put off to next year; and look-alikes.
        ("亲 今天下午五点前没发出 我赔您十块", "block"),
        ("您要哪天收 说哪天就哪天到", "block"),
        ("量大的话走线下 价格好商量", "block"),
        ("您来店里看货 满意了现场付款就行", "block"),
        ("那家实体店还有货 您直接找他买 比这便宜", "block"),
        ("晒个买家秀 送您一副同款耳钉", "block"),
        ("帮忙拍一单五星好评 钱转回给你 多给五块", "block"),
        ("修改评价后给您补发一对枕套 作为感谢", "block"),
        ("您别给差评了 我给您20块红包", "block"),
        ("这问题问得真有水平 建议百度", "block"),
        ("我们是卖茶的 不是卖脑子的", "block"),
        ("您怕不是专门来薅羊毛的吧", "block"),
        ("行行行 您说得都对 您最懂 行了吧", "block"),
        ("发票统一过完年再开 现在财务不在", "block"),
        ("开票太麻烦了 要不给您便宜点", "block"),
        ("只能先给您开个收款证明哈", "block"),
        ("急用的话加钱走顺丰 晚了运费我出", "block"),
        ("亲 超时未发货可以申请平台赔付哦", "pass"),
        ("按天猫规则超时没发货会自动赔付您 违约金以积分形式到账", "pass"),
        ("这个2元链接是补运费专用的 单拍不发货哦", "pass"),
        ("刷单活动?没有的哈 我们不搞虚的", "pass"),
        ("发票正常开 不需要加钱也不需要好评", "pass"),
        ("您说得对 我们这款确实偏小 建议拍大一码", "pass"),
        ("羊毛毡手工材料包有现货", "pass"),
        ("好评差评您随便打 我们都虚心接受", "pass"),
        ("修改收货地址后我们给您补发", "pass"),
        ("现场安装的师傅会带好工具", "pass"),
        ("开票不麻烦的 订单里点申请就行", "pass"),
        ("刷单活动?有的 一单5块佣金", "block"),
        ("空包?那是啥 我们都是真实发货", "pass"),
        # Found by the round's review: offers asked as questions, and the new
        # words in their other meanings.
        ("亲 刷单吗?做的 量大从优", "block"),
        ("微信吗?可以 我发您", "block"),
        ("我们不搞虚的 刷单一单给5块佣金 当天返", "block"),
        ("明天还没有发出的话 我们补偿您20块", "block"),
        ("晚了运费我们出", "block"),
        ("好评送您三双袜子", "block"),
        ("您说哪天到就哪天到", "block"),
        ("非常抱歉 仓库爆单了还没发货 我们给您补偿一张5元无门槛券", "pass"),
        ("亲 商品还没发货 取消订单后全额退给您", "pass"),
        ("48小时未发货的订单平台会自动赔付 这个不用您操作", "pass"),
        ("好评不好评都是您的自由 下单送您一副手套是店铺活动", "pass"),
        ("评价我们不强求 今晚有整点免单活动 拍下就有机会", "pass"),
        ("我们不走线下交易的 请在淘宝拍下", "pass"),
        ("安装费是现场付款给师傅的 不经过店铺", "pass"),
        ("说明您宝宝长胖了 恭喜 换大一码就好", "pass"),
        ("开票不会太麻烦的 订单页点申请开票就行", "pass"),
        ("发票明年1月3号开 财务那天上班", "pass"),
        ("我们不会只给您开收款证明的 发票一定开", "pass"),
        ("亲 定做的需要排期 不是说哪天就哪天发的哈", "pass"),
    ],
)
def test_round_seventeen_rules_read_late_dispatch_pay_outs_and_condescension(
    rules: ComplianceFilter, text: str, verdict: str
) -> None:
    assert rules.check(text, "tmall").verdict == verdict


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        # Round 18: Tmall invoice charges in words, quotas, queues, paperwork and
        # price pairs; contempt said politely and threats; promises with dates in
        # numerals; payment apps from Malaysia and Hong Kong; and look-alikes.
        ("亲 发漂这边暂时开不出来哦", "block"),
        ("发票我们不方便开 您见谅", "block"),
        ("Sorry, we cannot issue any official fapiao for this order", "block"),
        ("我们旗舰店不出invoice的哈", "block"),
        ("这个月开票额度用完了 下月再说", "block"),
        ("开专票要加六个点哈", "block"),
        ("纸质发票要收十块钱工本费", "block"),
        ("开票的代开费需要您承担哦", "block"),
        ("纸质发票可以寄 运费您出", "block"),
        ("The invoice comes with an extra 6% handling fee", "block"),
        ("只有满一千的订单才开发票", "block"),
        ("开发票要公司营业执照和合同 缺一样都不开", "block"),
        ("可以开 但只能按一半的金额开", "block"),
        ("开票要排队哈 前面单子多", "block"),
        ("不要发票九十 要发票一百零五", "block"),
        ("几十块的东西要什么发票嘛", "block"),
        ("你脑子是不是进水了 说明书写得清清楚楚", "block"),
        ("下回买东西带上脑子好吗", "block"),
        ("你这记性 金鱼的记忆都比你好", "block"),
        ("你是nc吧 尺码表都不看", "block"),
        ("这都看不懂 找个 someone who can read 帮你吧", "block"),
        ("鞋子没毛病 是你脚的问题", "block"),
        ("爱要不要 就这个价", "block"),
        ("要就拍 不要就走人", "block"),
        ("连手机都不会用还学人网购", "block"),
        ("不懂搭配就别买这么贵的", "block"),
        ("别在这里磨叽了 拍不拍", "block"),
        ("你地址我有 别逼我", "block"),
        ("我们会一直打 直到你撤了差评", "block"),
        ("不删差评你就别想安静", "block"),
        ("报证明天能到 放心拍", "block"),
        ("二十号前包你收到", "block"),
        ("周六前保你穿得上", "block"),
        ("下午三点以前一定给您发出", "block"),
        ("付款后半小时内保证发给你", "block"),
        ("发顺丰 两天准到", "block"),
        ("今天拍的一单都不会拖", "block"),
        ("到账是铁定的 系统自动充", "block"),
        ("发货绝对没有延迟 您放心", "block"),
        ("It will definitely arrive before Monday", "block"),
        ("今天发不了我倒贴你十块", "block"),
        ("亲 店里有hpfx活动 好评联系客服", "block"),
        ("hp+晒图 fan 5 yuan", "block"),
        ("给个五星 送你一个angpow", "block"),
        ("空bao就行 有单号就好", "block"),
        ("Could you do a brushing order for us?", "block"),
        ("ben jin + yong jin 当天结", "block"),
        ("单号可以从别家买 有轨迹的", "block"),
        ("用Touch 'n Go转给我 快一点", "block"),
        ("可以用转数快直接过数给我", "block"),
        ("We can do a bank transfer for bulk orders", "block"),
        ("发票我们都正常开 不方便的话可以晚点申请", "pass"),
        ("开票不需要排队 订单页申请就行", "pass"),
        ("花呗额度用完了的话可以换银行卡支付", "pass"),
        ("电子发票免费开 不收工本费", "pass"),
        ("纸质发票我们包邮寄给您 运费不用您出", "pass"),
        ("十点以前下单一般当天发 具体看仓库", "pass"),
        ("单号已经发给你了 SF1234567890", "pass"),
        ("您说十八号前要收到 这个真不好说 尽量", "pass"),
        ("我们发货很准的 一般两天到", "pass"),
        ("这款保温杯能保你一整天的热水", "pass"),
        ("您的地址我核对过了 是杭州西湖区对吧", "pass"),
        ("您的地址我有备注 放心", "pass"),
        ("型号NC-200的配件有现货", "pass"),
        ("这款爱用的人很多 回购率很高", "pass"),
        ("不会安装没关系 我们包上门", "pass"),
        ("亲亲 说明书有图解 不懂的地方随时问我", "pass"),
        ("客服排队的话 您留言我看到马上回", "pass"),
        ("我们不收Touch 'n Go 请在淘宝下单", "pass"),
        ("直到您满意为止 我们都可以给您换", "pass"),
        ("好评晒图不强制 没有返现的哈", "pass"),
        ("空包装盒我们可以单独寄给您", "pass"),
        # Found by the round's review: the new words in their other meanings,
        # and risky wordings the first version's regexes missed.
        ("亲 您这金鱼记忆 同一个问题问第五遍了", "block"),
        ("不懂就别买 省得来烦我", "block"),
        ("不好意思亲 我们不收手续费 转数快过来就行", "block"),
        ("我们一单都不会延误 放心", "block"),
        ("Give us 5 stars and we'll give you an angpow", "block"),
        ("店里也没有多余的额度 这单暂时开不了票", "block"),
        ("发票只能按百分之五十开", "block"),
        ("莫跟我磨叽 就这价", "block"),
        ("明天上午十点以前准到", "block"),
        ("It will definitely be delivered by Friday, no worries", "block"),
        ("你直接PayMe俾我 我即刻寄", "block"),
        ("发票只能按一半开 全额开不了", "block"),
        ("哎呀我脑子怕不是进水了 把颜色备注反了 马上给您改过来", "pass"),
        ("您是NC15还是NC20的肤色呀 这款粉底液两个色号都有", "pass"),
        ("可能是您脚的问题 也可能是码数 您量一下脚长发我", "pass"),
        ("狗狗爱吃不吃 多半是换粮太快 慢慢过渡就好", "pass"),
        ("我就不跟您磨叽了 有问题随时找我", "pass"),
        ("库存会帮您一直保留 直到您删除购物车为止", "pass"),
        ("十点以前下单的一般当天发 十点以后的第二天发", "pass"),
        ("这款电子秤24小时精准到0.1克 称重很准的", "pass"),
        ("We can't promise it will definitely arrive by Friday, it depends on the courier", "pass"),
        ("十八号开始活动 一定记得来拍哦 到时候发货很快", "pass"),
        ("您发的这个单号从别家买的吧 我们系统里查不到", "pass"),
        ("HP笔记本风扇 fan 2 和 fan 3 都有货", "pass"),
        ("头发漂完没有光泽的话 可以用这款发膜", "pass"),
        ("代开费不用您出 我们店铺承担", "pass"),
        ("只有确认收货后才能开票 您收货后在订单里申请就行", "pass"),
        ("要开啥票呀 个人还是公司抬头", "pass"),
        ("这款面膜敷完脸的问题基本都能改善 比如干燥暗沉", "pass"),
        ("要就拍这个链接 不要就拍那个 都是今天发", "pass"),
        ("亲 必须十点前付款的话 才能赶上今天的车", "pass"),
        ("这个路由器一定不会有延迟 打游戏很稳", "pass"),
        ("您要是不要发票 运费也一样 要发票 价格也一样", "pass"),
        ("只有这一款才有赠品 发票都能开", "pass"),
    ],
)
def test_round_eighteen_rules_read_invoice_charges_polite_contempt_and_numeral_dates(
    rules: ComplianceFilter, text: str, verdict: str
) -> None:
    assert rules.check(text, "tmall").verdict == verdict


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        # Round 19: idioms of certainty about arrival, other platforms and personal
        # accounts, orders placed for their numbers, vouchers and gifts for stars,
        # invoices held for a warranty, dismissals; 不过/不管 join clauses, they do
        # not negate; and the round review's look-alikes and misses.
        ("不过你评完私我 我悄悄发红包给你", "block"),
        ("渝中区半天就到 我敢打包票", "block"),
        ("顺丰三天铁到 你放宽心", "block"),
        ("明早就到 错不了的", "block"),
        ("跨年夜前一定到你手上", "block"),
        ("加个好友 把延保的钱转我就行", "block"),
        ("这个我闲鱼上重新挂一个给你拍", "block"),
        ("关注我们快手号 直播间比这便宜", "block"),
        ("我用个人支付宝先把退款垫给您", "block"),
        ("S单接不接 一天十单", "block"),
        ("链接缺销量 你就拍它 我发你要的那款", "block"),
        ("先别退款 这笔要凑活动门槛 过两天退你", "block"),
        ("这单不发了 订单留着算销量", "block"),
        ("天猫店拍单返现 大学生兼职 手机就能做", "block"),
        ("确认收货加五星 赠您一张满200减50的券", "block"),
        ("好评的话给您寄个小风扇 不要钱的", "block"),
        ("删评=退一半货款", "block"),
        ("那个二星能改一下不 我免费给你换个新的", "block"),
        ("发票要等过了保修期才能开", "block"),
        ("发票只能到店自取 不邮寄", "block"),
        ("税号要填的话得加收手续费20元", "block"),
        ("砍价请出门左转", "block"),
        ("这种买家不配用我们的东西", "block"),
        ("您是真闲 一条评价改来改去", "block"),
        ("您全家都有理", "block"),
        ("你智商是充值了没到账嘛", "block"),
        ("请您用用脑袋", "block"),
        ("刮破脸是您手法有问题", "block"),
        ("亲 明天铁到 放心拍", "block"),
        ("后天到 板上钉钉的", "block"),
        ("后天到 我敢打包票", "block"),
        ("保证除夕前到货 放心过年", "block"),
        ("腊八前保证送到", "block"),
        ("直接V我50 我给你留货", "block"),
        ("来我们拼多多店拍 同款便宜15", "block"),
        ("我在闲鱼重新挂一个给你 你去拍", "block"),
        ("尾款直接转给我个人账户就行", "block"),
        ("帮忙自己拍来冲个量 钱我全退给你", "block"),
        ("有兼职吗 在家动动手指就能拍单赚佣金", "block"),
        ("打五分的话送您一瓶同款小样", "block"),
        ("好评免费送您一年延保", "block"),
        ("删评的话退您10块", "block"),
        ("中评改好评 免费送您一个", "block"),
        ("开票需要等三十个工作日", "block"),
        ("这种买家不配用我们家的东西", "block"),
        ("智商充值了没到账吧 说明书都看不懂", "block"),
        ("你是闲得慌吧 问了八百遍了", "block"),
        ("后天能送到 这个我给你打包票", "block"),
        ("上我某鱼 同款便宜", "block"),
        ("定金翻倍返你 不用付尾款", "block"),
        ("嫌贵出门右拐 不送", "block"),
        ("晒图后给您补一张满300减40的券", "block"),
        ("我们店从来没有过好评返现这种活动哦", "pass"),
        ("不过我们不支持微信交易哦", "pass"),
        ("亲 我们仓库在地铁到站口旁边 快递员一般下午来取件", "pass"),
        ("我已经在钉钉的审批里提交了 补发的申请 预计明天处理", "pass"),
        ("到哪天送达这个谁也不敢打包票 只能说尽快", "pass"),
        ("这款是抖音同款 很多博主推荐过 质量没问题的", "pass"),
        ("温馨提示 任何人让您转账到个人账户都是诈骗 请勿相信", "pass"),
        ("现在活动满200减50 评价区也有很多买家晒图 您可以参考下", "pass"),
        ("这个优惠券的门槛是满99可用 您凑一下满99就能用", "pass"),
        ("我是兼职做客服的 下班时间回复可能慢点 抱歉", "pass"),
        ("今天终于不忙了 我真闲下来了哈哈 有什么问题随时问", "pass"),
        ("维修师傅说是手柄有问题 不是您的问题 我们给您换新", "pass"),
        ("不过亲 我们不做刷单的哦 销量都是真实的", "pass"),
        ("我们是平台规定不能给好评返现的 还请理解", "pass"),
        ("双十一前的订单量很大 发货可能会延迟 请您谅解", "pass"),
        ("亲 S单是什么我不太清楚 我们只做正常销售", "pass"),
        ("亲 你去我们的小红书看看买家穿搭也行 不过下单请在淘宝店里", "pass"),
        ("差评我们会认真处理的 您遇到的问题我们一定负责到底", "pass"),
        ("亲 发票和商品一起寄出 不用等的", "pass"),
        ("开发票需要提供税号 公司抬头的话请填写准确 不收手续费", "pass"),
        ("亲 您是想问铁到底是什么材质吗 这个是铸铁的", "pass"),
        ("在我们抖音直播间看到的同款 淘宝店里也有的 链接发您", "pass"),
        ("亲 凑单满299包邮哦 可以看看其他款", "pass"),
        ("您是说智商充值卡？我们没有这种商品哦", "pass"),
        ("您好 请在旺旺上沟通 个人账号转账的要求都是诈骗", "pass"),
        ("您动动手指在订单页点申请售后就可以了", "pass"),
        ("收到的货错不了 都是原厂正品 有防伪码可以查", "pass"),
        ("我把您的问题发到钉钉的工作群里了 稍等哈", "pass"),
        ("能到 但不能打包票哦 具体看快递", "pass"),
        ("亲 这款灯是220v我看了下是国标插头 可以直接用", "pass"),
        ("拼多多上那家便宜的您拍了吗 那个不是我们家的 注意辨别", "pass"),
        ("您的退款钱转我们财务处理了 原路退回 预计1-3天到账", "pass"),
        ("店铺券要凑门槛才能用 满199可用", "pass"),
        ("这次双十一活动争取把销量冲上去 给老顾客多送点赠品", "pass"),
        ("看到您评价说有瑕疵 这边免费给您换一个新的", "pass"),
        ("删评后退款不受影响 都是独立的流程", "pass"),
        ("发票需要等1-3个工作日 开好后在订单里下载", "pass"),
        ("你好闲鱼那边的不是我们家的 我们只在天猫卖", "pass"),
        ("我今天智商掉线了 刚才发错链接了 不好意思", "pass"),
        ("您动动脑筋就能解开这个九连环 孩子也会喜欢", "pass"),
        ("快手直播间在淘宝也有链接 您在淘宝拍就行", "pass"),
        ("这边电烙铁到货了 明天开始陆续发 具体以物流为准", "pass"),
        ("您这单取消了 订单保留着不算销量的 放心", "pass"),
        ("删评是您的自由 退了的款不会受影响", "pass"),
        ("亲 这款手机壳您这款不配用 要选13pro的", "pass"),
        ("保留订单到明天中午 过时自动取消哦", "pass"),
        ("您打五分还是三分 我们都尊重 有问题我们照样负责", "pass"),
        ("亲 收到如果有瑕疵 我们免费给您换新 跟评价无关", "pass"),
        ("我们没有拼多多店 拼多多上的都是仿冒的", "pass"),
        ("亲 12v我们也有 看您车型用哪个", "pass"),
        ("您说的S单是什么意思呀 我们不太懂", "pass"),
        ("亲亲 打包票这种事情我们不做的 只能说尽快", "pass"),
        ("我们从来没有过好评返现 也不会让您删评", "pass"),
        ("您这个问题 是不是手法有问题呢 我们先看看视频再说", "pass"),
        ("我们的快手直播间会讲解使用方法 购买还是在淘宝下单哈", "pass"),
        ("亲 为了您的资金安全 请不要用个人账户给任何人转账", "pass"),
        ("凑单满减的话 再加一件袜子就满了", "pass"),
        ("亲 我们店只有这一个淘宝店 闲鱼抖音快手都没开店", "pass"),
        ("这个维修师傅说是您手机的主板有问题 不是人为的 可以保修", "pass"),
        ("保证金我们交了 您放心 正品保障", "pass"),
        ("我们从来没有过刷单 销量都是真实的", "pass"),
        ("不过亲 我们不会好评返现的", "pass"),
        ("亲 不过不能保证明天一定到 以实际为准", "pass"),
        ("不管您是否好评 都不会有返现", "pass"),
        ("不过这边没有好评返现活动哦", "pass"),
        ("不过 我们不接受支付宝转账", "pass"),
        ("到时候您不会放我们鸽子吧 哈哈 开玩笑的", "pass"),
    ],
)
def test_round_nineteen_rules_read_sure_arrivals_other_platforms_and_dismissals(
    rules: ComplianceFilter, text: str, verdict: str
) -> None:
    assert rules.check(text, "tmall").verdict == verdict


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        # Round 20: Cantonese refusals of a promise, certainty said as an idiom
        # (差不了, 从没失手过, 百分百), pay-outs by the day; invoices that need a
        # company transfer, are "outside the scope", are held or talked out of;
        # rewards for collected reviews; orders never really shipped; threats to
        # expose the buyer; and the round review's look-alikes and misses.
        ("腊八那天你就能喝上咱家小米粥了，差不了", "block"),
        ("下午四点前拍当天发,我们发了五年一次都没失误过", "block"),
        ("亲 我们今天最迟六点发货 百分百", "block"),
        ("晚一天按天返您五块钱，上不封顶", "block"),
        ("备注了就保准当天发、隔天到", "block"),
        ("明天肯定到?必须的亲,放心拍", "block"),
        ("要专票得多付三个点，普票不要钱", "block"),
        ("要票就得走对公账户打款，天猫下的单开不了", "block"),
        ("您的发票申请我先压着，等双十二忙完再说", "block"),
        ("开发票影响俺们成本，您就当帮帮忙，别开了呗", "block"),
        ("翡翠本身唔属于开票范围，法律都冇规定要开", "block"),
        ("不开票的话可以便宜十块", "block"),
        ("开票的话发货要往后推一周", "block"),
        ("集齐三次晒图好评可以换一个和田玉小挂件", "block"),
        ("累计晒图3次送一个收纳盒", "block"),
        ("评语里面提到『鉴定证书齐全』就返红包", "block"),
        ("买家秀拍得好看的，俺们挑三个送冻梨一箱", "block"),
        ("这批是给你拍着玩的，不真发，回头评价写写就行", "block"),
        ("亲，这个是'刷'的链接来的，你唔好当真购买呀", "block"),
        ("我们在闲鱼也有个店,同款便宜二十", "block"),
        ("拼多多那边拍减十块,你去那边拍", "block"),
        ("走对公比天猫下单便宜,省了扣点", "block"),
        ("就这点钱还想买正品,做梦呢你", "block"),
        ("恶意差评的人都没好下场", "block"),
        ("你再打差评我们就把你的聊天记录截图放上直播间给大家看", "block"),
        ("再来这套我们就在网上公开你的ID", "block"),
        ("冇钱就唔好问价啦", "block"),
        ("棉絮同裂都分唔到，宝你真系要返去读下书先来买翡翠喔", "block"),
        ("彪呼呼的，退货不写单号，我上哪给你退去", "block"),
        ("讲咗几次都唔明，你个脑係咪生锈咗", "block"),
        ("唔可以保证明天一定到㗎亲，快递那边我们控制唔到，会尽量帮你催", "pass"),
        ("唔敢保证听日一定到,快递嗰边控制唔到", "pass"),
        ("开发票不用额外加钱，税是我们出的，您放心", "pass"),
        ("不开发票的话价格也是这个价，开不开都一样，您需要就说一声", "pass"),
        ("不开票也不会便宜的,都是统一价", "pass"),
        ("您填的税号多出1位,麻烦核对一下再提交", "pass"),
        ("我们不支持走对公转账,只能在天猫拍下付款", "pass"),
        ("这款平替用上效果跟大牌差不了", "pass"),
        ("退货运费险迟点会返您12元,耐心等一下", "pass"),
        ("评价说好吃的,现在满99送2袋", "pass"),
        ("化妆刷的链接发您了,一套12支", "pass"),
        ("我们不会真的发空包,都是真实发货", "pass"),
        ("不用真的发快递寄回,我们直接补发一件", "pass"),
        ("价格低到像做梦吧哈哈,这次双11力度真的大", "pass"),
        ("让您给我等着急了吧,实在抱歉,马上帮您查", "pass"),
        ("学生党没钱不要买太贵的,这款性价比高", "pass"),
        ("赠品唔要就算啦,我哋照样帮你退款", "pass"),
        ("电脑机箱生锈的话拍照给我们看看", "pass"),
        ("我们不会公开您的信息,请放心", "pass"),
        ("亲,我们在拼多多有店吗?没有的哦,谨防假冒", "pass"),
    ],
)
def test_round_twenty_rules_read_idioms_of_certainty_company_transfers_and_threats(
    rules: ComplianceFilter, text: str, verdict: str
) -> None:
    assert rules.check(text, "tmall").verdict == verdict


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        # Round 21: dispatch marked before the goods exist, 好评单 and 冲皇冠,
        # 拍五件发一件, Malaysian English promises, numbers, addresses and bank
        # transfers, 侬 sarcasm and threats to slow-walk an order; quotations the
        # agent disowns (「X」这种话绝不是…) or answers after 关于您提到的 pass;
        # and the round review's look-alikes and misses.
        ("先点一下发货,东西其实还没做好,系统不让超时", "block"),
        ("提前标记发货,货其实还没到仓", "block"),
        ("有兴趣做兼职吗?帮店铺拍单,一单五块", "block"),
        ("小姐妹们好评单今晚开放,一单八块", "block"),
        ("這個月衝皇冠,幫忙拍一單,錢我退你", "block"),
        ("你拍五件,其实我们只给你发一件,剩下的钱返你", "block"),
        ("多拍几件,这样销量会好看一点", "block"),
        ("不用等收到货,先确认收货,钱我微信返你", "block"),
        ("不用真的发货,物流都是真实的,平台查不出来", "block"),
        ("信不信我故意卡着你的货不发", "block"),
        ("你再闹我就故意拖你几天", "block"),
        ("是是是,全世界就你最懂,行了吧", "block"),
        ("没说的,咱家发货速度,保证后天到", "block"),
        ("Confirm sampai esok boss, jangan risau", "block"),
        ("confirm tmr reach lah", "block"),
        ("100% sure reach by Friday boss", "block"),
        ("bank in to our Maybank acc 5621 1234 5678 lah cheaper", "block"),
        ("transfer to our Public Bank account, skip the Taobao fee", "block"),
        ("you DuitNow to me directly lah, cheaper", "block"),
        ("买家电话 011-2345 6789 你直接打给他", "block"),
        ("Receiver Ahmad, 23 Lorong Bunga Raya 5, Klang", "block"),
        ("Boss you give 5星好评 with photo, I refund you RM15", "block"),
        ("好评不返现,但是晒图送5元券", "block"),
        ("您好,如需更优惠的价格,可拨打手机 159 6712 1188 私下下单", "block"),
        ("这是我们实体店用的收款码,您扫码付款就行,比淘宝便宜", "block"),
        ('"刷单"这种事我们可以安排,一单五块', "block"),
        ('"好评返现"这种活动不是每天都有,今天好评返5元', "block"),
        ('对于您提到的"好评返现",可以的,好评后联系我领5元', "block"),
        ("已经点了发货,快递员马上上门取件", "pass"),
        ("实际给您寄两箱,因为一箱装不下,运费还是一份", "pass"),
        ("这个颜色没货了,实际只能寄您两盒,另外一盒的钱原路退回给您", "pass"),
        ("冲皇冠活动期间全场满199减30,欢迎来拍", "pass"),
        ("这款电锤冲钻两用,拍下送一套钻头", "pass"),
        ("这几款都是我们家好评单品,闭眼入不踩雷", "pass"),
        ("兼职客服晚上在线,拍单问题可以直接留言", "pass"),
        ("不用等快递到再确认收货,系统十天后会自动确认收货的", "pass"),
        ("唔係我哋故意拖你張單,係物流爆倉呀", "pass"),
        ("拖鞋是故意给您做大半码的,冬天穿袜子刚好", "pass"),
        ("我可没说保证明天到哦,只说今天发", "pass"),
        ("Sorry boss, cannot confirm reach by Friday, depends on courier", "pass"),
        ("Please confirm once it arrives, thanks!", "pass"),
        ("Refund will be credited back to your Maybank account within 3-5 working days", "pass"),
        ("We refund you RM10 for the missing item, sorry ya", "pass"),
        # Round 26: a full landline is personal data unless it is a hotline or switchboard.
        ("北京仓库座机010-62345678,有问题可以打", "block"),
        ("亚克力收款码立牌可以定制,把您店铺的收款码发过来我们帮您排版", "pass"),
        ("五星好评不返现的哈 不过产品有问题三年内免费修", "pass"),
        ('"刷单"这种事我们是不会做的,您放心购买', "pass"),
        ('您好,"没钱就别买"这种话绝不是我们的态度,非常抱歉', "pass"),
        ("關於您提到的「加LINE聯繫」,很抱歉我們只能在旺旺溝通", "pass"),
        ("这单拍A发B我们是不会做的哈", "pass"),
    ],
)
def test_round_twenty_one_rules_read_fake_dispatch_malaysian_english_and_disowned_quotes(
    rules: ComplianceFilter, text: str, verdict: str
) -> None:
    assert rules.check(text, "tmall").verdict == verdict


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        # Round 22: fake orders as tasks, empty boxes, GMV drives and refunds
        # without delivery; Italian and Singapore addresses and phones, numbers
        # split by commas, dorm addresses; Tmall invoices pushed onto the platform,
        # collected in person or held for a review; red packets to the agent and
        # Carousell deals; English five-star rewards; 普信 and 消失; and the
        # round review's look-alikes and misses.
        ("做任务返现,钱直接打你银行卡", "block"),
        ("给您个假单号先填上", "block"),
        ("我们寄个空箱过去走个物流,您点签收就行", "block"),
        ("钱全额退给你,不用收货,东西我们也不发", "block"),
        ("先点了发货,货其实还没发出,您先确认收货", "block"),
        ("help us place a few orders, we refund you after", "block"),
        ("you place the order, no need to ship, we refund the money", "block"),
        ("给我消失,别再来了", "block"),
        ("你也太普信了吧", "block"),
        ("您老年纪大了耳朵也不好吧,我说了好几遍", "block"),
        ("明天一早稳稳收到", "block"),
        ("电话一三九,零五七七,八八六六", "block"),
        ("地址 Via Paolo Sarpi 12 电话 +39 02 1234 5678", "block"),
        ("浙江工商大学下沙校区金沙港生活区9号楼416", "block"),
        ("发票要跟货一起寄?不可能 要你自己来温州拿", "block"),
        ("发票的事归平台管,我们这边不负责开", "block"),
        ("这么点钱的单子也不给开", "block"),
        ("发票五星好评之后才给开", "block"),
        ("转个红包给我,我给你改价", "block"),
        ("Singapore 的亲 Carousell 上找我们 那边 direct deal cheaper 啦", "block"),
        ("Ciao 亲 review five stars 就送你一双鞋垫", "block"),
        ("leave a good review and get rm5 cashback", "block"),
        ("鞋子脏了用这个小刷子帮忙刷一刷就干净了", "pass"),
        ("刷新一下页面,这个提示给我消失了,您那边看看是不是也好了", "pass"),
        ("亲 新买的衣服有点味道是正常的,挂在通风处晾一两天异味马上消失哦", "pass"),
        ("亲 我们包装里三层外三层,会稳稳地送到您手上的,不用担心磕碰", "pass"),
        ("退款穩穩到賬了嗎?您看下支付寶", "pass"),
        ("Singapore friend, no need to ship it back, we refund you", "pass"),
        ("pay via alipay 100 rmb", "pass"),
        ("La borsa è larga 30 cm, via mail ti mando le foto", "pass"),
        ("Hotel 8123 4567 room booked", "pass"),
        ("身份证号 110101********1234 已核对", "pass"),
        ("宿舍区3栋 2025届的毕业季活动我们也有", "pass"),
        ("亲 请拍指定链接补差价,如果多付了我们原路全额退回", "pass"),
        ("这个游戏每天发任务,完成可以领钻石", "pass"),
        ("这单不用下了,这款缺货了,我帮您看看别的", "pass"),
        ("不用找別的客服了,我就是負責售後的", "pass"),
        ("我們只在淘寶賣,shopee上的都不是我們的", "pass"),
        ("退款中的订单不给开票,售后结束就能开", "pass"),
        ("订单完成半年内都能申请开票哦", "pass"),
        ("亲 电子发票得您自己到订单详情里下载一下", "pass"),
        ("晒单里那个小样是618活动赠品,现在活动结束了", "pass"),
        ("Kindly review the total 30 SGD before paying", "pass"),
        ("如果您年纪大了眼睛不好,可以选这款大字版老人机,字特别大", "pass"),
        ("有买家以为是假的物流单号,其实是中转没扫描,您放心", "pass"),
        ("這幾天店鋪在衝gmv 有滿減活動 歡迎來逛", "pass"),
    ],
)
def test_round_twenty_two_rules_read_tasks_overseas_addresses_and_invoices_pushed_away(
    rules: ComplianceFilter, text: str, verdict: str
) -> None:
    assert rules.check(text, "tmall").verdict == verdict


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        # Round 23: 额 and 俺 for 我 in transfers and contact, Q我 with a number,
        # a WeChat id after V:, the listing copied on another platform and
        # mini-programs with a better price; Tmall invoices refused in few
        # words or in Japanese; scorn in 陕西话 and 闽南话; parcels with nothing
        # in them; stars traded for money or a coupon; 敢保证 and 打包票 after a
        # date; and the round review's look-alikes and misses.
        ("好评返两块 额转你支付宝", "block"),
        ("直接给俺支付宝转58就行", "block"),
        ("老顾客了 以后直接微额", "block"),
        ("有事Q我 号码是28765432", "block"),
        ("我朋友店里有货 你加他V:kt2024xa", "block"),
        ("去闲鱼拍我那个链接 便宜十块", "block"),
        ("拼多多上也有我们家同款 便宜些", "block"),
        ("去我们小程序下单可以打8折", "block"),
        ("发票不随货,也不补开", "block"),
        ("平台订单一律不开专票", "block"),
        ("这价都给你了还要啥发票", "block"),
        ("报销的话不太方便开哈", "block"),
        ("領収書は発行していません、すみません", "block"),
        ("哟 书都读傻了吧", "block"),
        ("你们公司是有多穷啊", "block"),
        ("谝啥谝 说重点", "block"),
        ("五十块买正品?做梦比较快", "block"),
        ("你头壳坏去了哦", "block"),
        ("旧机不用真寄 拍个零元链接就行", "block"),
        ("先填个别家的单号交差", "block"),
        ("我们不寄实物,只寄个信封过去", "block"),
        ("您拍了我们寄您一包纸巾,钱全退", "block"),
        ("中身は送りませんが、代金はお返しします", "block"),
        ("实际额只给你寄十份 剩下的钱退你", "block"),
        ("五颗星换五块钱 划算不", "block"),
        ("レビューで星5なら次回のクーポン差し上げます", "block"),
        ("额敢保证礼拜四装完", "block"),
        ("江浙沪次日送达,这个我给您打包票", "block"),
        ("tomorrow confirm can receive", "block"),
        ("退款金额打您支付宝了哈,是原路退回的", "pass"),
        ("客服太卑微我哈,求个好评", "pass"),
        ("充电头是5V:type-c接口的", "pass"),
        ("这个颜色叫V:navy-blue深海蓝", "pass"),
        ("拼多多上有我们家同款的都不是正品哈", "pass"),
        ("抖音上有我们家同款的开箱视频,下单还是在淘宝哈", "pass"),
        ("天猫超市小程序下单满199减30更划算", "pass"),
        ("个人抬头不能开专票的,普票可以", "pass"),
        ("亲 要不补开一张专票给您?", "pass"),
        ("积分兑换的0元订单无法补开哈", "pass"),
        ("请问您还要什么发票呢?普票还是专票?", "pass"),
        ("专票不是只给大客户开的", "pass"),
        ("領収書はポイント利用分が対象外となります", "pass"),
        ("哈哈我这是读书读傻了,把型号看反了", "pass"),
        ("歹势 阮今日头壳坏去了", "pass"),
        ("睡得香做梦还快乐呢", "pass"),
        ("不用真寄样品,拍照给我们看就行", "pass"),
        ("请勿用别人的快递单号登记哦", "pass"),
        ("五星级酒店换两块毛巾", "pass"),
        ("五分钟换一块电池", "pass"),
        ("这个我敢保证是正品", "pass"),
        ("明天一般能到,我不敢打包票", "pass"),
        ("tomorrow not sure arrive, usually 2-3 days", "pass"),
        ("WeChatは使っていないので、旺旺でお願いします", "pass"),
    ],
)
def test_round_twenty_three_rules_read_dialect_me_terse_invoices_and_empty_parcels(
    rules: ComplianceFilter, text: str, verdict: str
) -> None:
    assert rules.check(text, "tmall").verdict == verdict


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        # Round 24: Korean mobiles and European street addresses; 绿泡泡, 小绿书,
        # 公众号 and 云闪付, KakaoTalk and WhatsApp, 微 信 spelled with spaces;
        # rewards in kind and in Korean; accounts lent for orders and parcels
        # sent empty; contempt for where the buyer comes from or how they look;
        # refunds if late and arrival promised in Korean; Tmall invoices behind
        # a condition; and the round review's look-alikes that pass.
        ("周三收不到的话您就不用付钱了", "block"),
        ("礼拜天前收不到 申请全额退款 东西也不用退货", "block"),
        ("모레까지 꼭 받으실 수 있어요", "block"),
        ("주문하시면 무조건 도착해요 내일", "block"),
        ("제 번호는 +82 10 3344 5566 이에요", "block"),
        ("연락처 010-7788-2211 로 전화 주세요", "block"),
        ("地址是 Calle de Serrano 41, 3º B, 28001 Madrid 对吧", "block"),
        ("寄到 14 rue de la Paix 就行", "block"),
        ("加下我绿泡泡 发视频给你看", "block"),
        ("小绿书私我 回得快", "block"),
        ("关注我们公众号下单 有预售价", "block"),
        ("货款用云闪付转过来就行", "block"),
        ("售后问题 在 微 信 上 找 王 经 理", "block"),
        ("카톡 아이디 알려드릴게요", "block"),
        ("用WhatsApp联系我们 方便点", "block"),
        ("好评卡刮开就是现金哦", "block"),
        ("五星一打 下次请你喝奶茶", "block"),
        ("改一下评价 免费给你换个新的", "block"),
        ("리뷰 써 주시면 적립금 드려요", "block"),
        ("你的账号借我们下单用一下 一单给十块", "block"),
        ("付了款马上把钱退给你 就当帮店里撑个场子", "block"),
        ("放心 这种单淘宝查不到的", "block"),
        ("单号是真的 只是包裹里是空的", "block"),
        ("주문만 해 주시면 전액 환불해 드려요", "block"),
        ("甘肃来的就是事多", "block"),
        ("穿不上是孩子太胖了", "block"),
        ("您是没吃过好东西吧", "block"),
        ("不会用就叫家里识字的人帮你看", "block"),
        ("바보예요? 몇 번을 말해야 해요", "block"),
        ("发票只给回购三次以上的老客户开", "block"),
        ("满三件才能开发票哦", "block"),
        ("发票要等您追评晒图了我们再开", "block"),
        ("开发票的话 赠品就没有了", "block"),
        ("要票的话金额乘1.1", "block"),
        ("发票抬头只能写个人", "block"),
        ("发票是品牌方开的 我们管不了 您找品牌吧", "block"),
        ("亲 加微信就算了哈 旺旺聊就好", "pass"),
        ("vx不方便加 图片旺旺发我", "pass"),
        ("哈哈 v我50 开玩笑的亲", "pass"),
        ("门票不寄实物 只发电子票二维码 凭码入场", "pass"),
        ("这张图您可以微信转给你家人看看", "pass"),
        ("亲,“空包”?不会的", "pass"),
        ("亲 不是很敢保证明天到哦", "pass"),
        ("老板 你想拆单冲量我们帮不了", "pass"),
        ("绿泡泡是我们家沐浴球的名字 薄荷味的", "pass"),
        ("저희는 카톡 상담 안 해요 타오바오 채팅으로 주세요", "pass"),
        ("보통 3~5일 걸려요 꼭 도착한다고 장담은 못 해요", "pass"),
        ("宝宝偏胖的话建议拍大一码", "pass"),
        ("满三件包邮 发票也正常开", "pass"),
        ("是你家宝宝穿吗 要不要量下身高", "pass"),
        ("您是从延边来的吧 欢迎欢迎", "pass"),
        ("我太笨了 把颜色发错了 马上给您换", "pass"),
        ("제가 바보같이 주소를 잘못 적었어요 죄송해요", "pass"),
        ("我们是货到付款的 收不到货就不用付钱哈", "pass"),
        ("쿠폰 꼭 받아 가세요", "pass"),
        ("品牌售后热线 010-8457-2200 北京总部的", "pass"),
        ("El repartidor ya está en la calle desde las 9", "pass"),
        ("找绿泡泡那个颜色就对了", "pass"),
        ("公众号拍了教程视频 可以看看", "pass"),
        ("Não atendemos pelo WhatsApp, fale com a gente aqui pelo chat", "pass"),
        ("好评很多 请您吃之前先解冻", "pass"),
        ("这种单号暂时查不到 明天再看看", "pass"),
        ("如果是宝宝太胖的话 建议拍大一码", "pass"),
        ("满两件才提供礼盒包装", "pass"),
        ("开票和赠品没有冲突的哈 都正常给", "pass"),
        ("发票是厂家开的 有问题您找我们就行", "pass"),
        ("细致入微 信赖之选", "pass"),
        ("亲 “保证周六前到”这句话我们不能讲 发出后看物流哈", "pass"),
        ("亲 “保证周六前到”这句话不是问题 肯定到", "block"),
    ],
)
def test_round_twenty_four_rules_read_korean_routes_rewards_in_kind_and_invoice_conditions(
    rules: ComplianceFilter, text: str, verdict: str
) -> None:
    assert rules.check(text, "tmall").verdict == verdict


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        # Round 25: arrival promised in Vietnamese, Thai and Russian, and a
        # refund in Cantonese if it misses the day; Vietnamese, Thai and
        # Russian mobiles and addresses; Zalo, Telegram, LINE, ВК, PromptPay
        # and card transfers, short links and the shop's own website; rewards
        # for a review in those languages and benefits that hang on a review;
        # fake orders (đơn ảo, выкуп, 互拍群, 养权重); contempt; Tmall invoices
        # capped, surcharged, held back or refused in Russian, Thai or
        # Vietnamese; and the round review's look-alikes that pass.
        ("做乜担心咧?荔枝48钟头内到北京,冇到全额退,讲真滴", "block"),
        ("今日拍明日到,到唔到你直接揾我退款", "block"),
        ("Chị ơi yên tâm nha, 胡志明市 3天内 chắc chắn到", "block"),
        ("曼谷 5天 ถึงแน่นอน ค่ะ", "block"),
        ("Доставка в Хабаровск — точно до пятницы, обещаю", "block"),
        ("do Moskvy tochno dojdet za nedelyu", "block"),
        ("số điện thoại shipper: +84 908 321 765, chị gọi nhé", "block"),
        ("คนส่งของเบอร์ +66 81 234 5678 นะคะ", "block"),
        ("kuryer pozvonit na +7 701 552 48 19", "block"),
        ("收件地址 45 Nguyễn Huệ, Quận 1, TP.HCM 对吗", "block"),
        ("Адрес: ул. Ленина, д. 5, кв. 12 верно?", "block"),
        ("lần sau nhắn Zalo cho em, chuyển khoản trực tiếp là được", "block"),
        ("亲 โอนเงิน ผ่าน พร้อมเพย์ 给我 ได้เลยค่ะ", "block"),
        ("Друг, давай в ВК спишемся, там дешевле", "block"),
        ("亲 点这个链接跳出去付款有额外折扣哦 t.cn/A6x9Kp2", "block"),
        ("这个充电器我们自己官网卖更便宜", "block"),
        ("你喺香港嘅話可以嚟深圳揾我朋友拎貨,現金交收就得", "block"),
        ("đánh giá 5 sao + ảnh, em tặng chị 一个手机壳 nhé", "block"),
        ("Оставьте отзыв с фото на 5 звёзд — и мы вернём вам 200 рублей", "block"),
        ("Za otzyv 5 zvyozd darim skidku 10% na sleduyushchiy zakaz", "block"),
        ("您这个一星能改一下吗 我哋老板话改咗就唔收你呢单钱", "block"),
        ("追评能不能不要写有烂果,写了的话补偿就没有了哦", "block"),
        ("加我微信发好评截图 领红包", "block"),
        ("giúp em 拍 mấy đơn ảo nha, 不发货", "block"),
        ("Нужны помощники для выкупа заказов, вернём деньги", "block"),
        ("Vykup tovara: my otpravlyaem pustuyu posylku", "block"),
        ("亲 我这有个互拍群 大家互相拍互相收 您进不进", "block"),
        ("这个链接在养权重,你先拍下别付款,等我通知", "block"),
        ("我这边用您的地址下几单可以吗", "block"),
        ("钱我已经退你了,但订单先别取消,留着算销量哈", "block"),
        ("穷就直说 不用找借口说芒果小", "block"),
        ("我看你才是骗子 一家子都是骗子", "block"),
        ("Ne trat' moyo vremya, tupitsa", "block"),
        ("我们店发票是要加点的哦 懂的都懂", "block"),
        ("开票金额最多200,超出的部分开不了", "block"),
        ("发票得您本人来哈尔滨门店取", "block"),
        ("发票等您穿满一个冬天 没有质量问题了 再来找我们开", "block"),
        ("给您开票可以 但是这单送的保温杯就得寄回来", "block"),
        ("老表 发票冇得开啦 你买咁少", "block"),
        ("好评后联系客服开票哈", "block"),
        ("Счёт-фактуру не выдаём, извините", "block"),
        ("ใบกำกับภาษี ร้านเรา ไม่มี นะคะ", "block"),
        ("荔枝我们承诺不了明天必到,冷链也有延误的时候,但坏果包赔", "pass"),
        ("物流显示签收人是门卫 放在驿站了", "pass"),
        ("哎哟 你说之前的客服讲开票要加点?那个是乱说的 开票不要钱的撒", "pass"),
        ("Non usiamo Telegram né WhatsApp, scriva pure qui nella chat", "pass"),
        ("Извините, мы не общаемся в Telegram, пишите здесь в чате", "pass"),
        ("Chị bảo Zalo nhanh hơn, em hiểu ạ nhưng quy định sàn không cho", "pass"),
        (
            "Chị nói có người nhắn chị 'đánh giá 5 sao được hoàn"
            " tiền', bên em không có chương trình đó đâu ạ",
            "pass",
        ),
        ("Chị hỏi có nhận đặt đơn ảo không ạ? Dạ không đâu chị", "pass"),
        ("Вы предлагаете накрутить продажи за деньги? Спасибо, но нам это не нужно", "pass"),
        ("ออกใบกำกับภาษีให้ได้เลยค่ะ ไม่มีค่าใช้จ่ายเพิ่ม", "pass"),
        ("Обычно до Владивостока 5-7 дней, но точно сказать не могу", "pass"),
        ("Dạ hàng đi đường bộ thường 5-7 ngày, em không dám chắc chắn đến ngày nào", "pass"),
        ("Ваш номер заказа 2468135790, посылка уже в пути", "pass"),
        ("Выкуп товара у фабрики занимает 2-3 дня", "pass"),
        ("Tiền hoàn về số tài khoản Alipay đã thanh toán ạ", "pass"),
        ("用咗唔到3日有问题全额退款,唔使担心", "pass"),
        ("亲,收唔到货揾我退款就得,包裹丢咗我哋负责", "pass"),
        ("Деньги вернутся автоматически: перевод на карту занимает 3-7 дней", "pass"),
        (
            "Chị hỏi chắc chắn đến trước thứ 6 không ạ? Dạ em không dám hứa, dự kiến thứ 6-7 ạ",
            "pass",
        ),
        ("退款不会以现金结算,会原路退回", "pass"),
        ("Все расходы за счёт магазина, доплат не делаем", "pass"),
        ("发票不用您本人来取,直接寄给您", "pass"),
        ("Giao tới chị chắc chắn ưng, vải mát lắm", "pass"),
        ("Cảm ơn chị đã đánh giá ạ, đơn sau shop vẫn freeship như thường lệ cho mọi khách", "pass"),
        ("发票最多2个工作日就开好了", "pass"),
        ("我们官网购买也不会更便宜哦,价格全渠道统一", "pass"),
        ("您朋友要的话,用您的地址直接下单也可以的", "pass"),
        ("Когда получите посылку, обязательно проверьте её при курьере", "pass"),
        ("确认收货、好评之后开票也行的,您什么时候需要都行", "pass"),
        ("Telegram u nas net, pishite v chat Taobao", "pass"),
        ("不好意思 我們不加LINE也不加微信 有問題直接在旺旺問就好", "pass"),
        ("Mình mua hạt óc chó loại nào ạ", "pass"),
        ("Этот нож тупой? Пришлите фото, заменим", "pass"),
        ("Крышку нужно плотно накрутить", "pass"),
        ("Giày số 38, đường may chắc chắn", "pass"),
        ("Phí ship 25 nghìn, quận 1 giao nhanh", "pass"),
        ("Nakrutka prodazh, platim 10 yuaney za zakaz", "block"),
        ("Mai chị nhận được hàng luôn, em hứa đó", "block"),
        ("ขอใบกำกับภาษีต้องบวก 7% ค่ะ", "block"),
        ("За отзыв с фото переведём 100 р на Алипей", "block"),
        ("我们独立站下单打9折", "block"),
        ("การันตีพรุ่งนี้ถึงค่ะ ไม่ถึงคืนเงิน", "block"),
        ("Chị ơi, shipper gọi số 0908321765 mà không ai nghe", "block"),
        ("帮忙用你的收货地址拍几单,东西送你", "block"),
        ("Поставите пятёрку — вернём 10%", "block"),
        ("俾五星就唔收你运费", "block"),
        ("先拍下不用付款,帮我们养下权重", "block"),
        ("Звоните 89123456789", "block"),
        ("ул. Ленина 5, кв. 12", "block"),
        # 如果 no longer cancels every delivery rule in its clause: a pay-out
        # if late is a promise; 如果顺利 or 如果物流正常 still hedges.
        ("如果周四前收不到 全额退款 不用退货", "block"),
        ("如果晚到一天 我们赔您十块", "block"),
        ("如果今天拍 明天保证到", "block"),
        ("如果顺利的话 明天能到", "pass"),
        ("如果物流正常 后天肯定能到", "pass"),
        ('如果我说"保证明天到"那是骗您的 一般两三天', "pass"),
        ("如果延误了可以申请平台赔付", "pass"),
    ],
)
def test_round_twenty_five_rules_read_vietnamese_thai_russian_and_cantonese_refunds(
    rules: ComplianceFilter, text: str, verdict: str
) -> None:
    assert rules.check(text, "tmall").verdict == verdict


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("亲 退货直接寄到杭州市江干区四季青服装市场意法服饰城三楼3218档口 收件人小美就行", "block"),
        ("親 您的身分證字號A223456789我們這邊需要登記做海關實名認證喔,已經幫您填好了", "block"),
        ("亲您好,售后问题也可以拨打我们客服经理的座机:0571-86752134转602", "block"),
        ("親 如果不方便用淘寶付款,也可以用街口支付或轉帳到我們台灣的帳戶喔", "block"),
        ("亲 你点开我发的那个链接,跳到微信里填地址付款就行,是我们官方的", "block"),
        ("亲,直播间下单的可以用我们抖店的链接,天猫这边价格高一些", "block"),
        ("親 給五星評價後加LINE傳截圖給我,送你一支髮簪喔", "block"),
        ("親 可以幫我們淘寶店衝個銷量嗎?下單後我們不出貨,錢用街口退給您,再加50元紅包", "block"),
        (
            "亲 这款马面裙之前的销量都是我们刷的,你放心,"
            "这次新款也会这么操作,你要不要接单赚点零花钱",
            "block",
        ),
        ("小赤佬,退个货搞得像我欠你八百万一样", "block"),
        ("比什凯克(Бишкек)两周以内百分之百能到,放心拍就是了", "block"),
        ("五星评价后加客服企鹅号领取返现,名额有限哦", "block"),
        ("亲 店铺最近在整改,先别在店里拍了,有需要小红书私信我", "block"),
        (
            "亲您好,艾德莱斯丝巾建议单独冷水手洗,不要暴晒,轻微掉色属于手工扎染的正常现象。"
            "如果您对商品满意,写一段使用感受加两张实拍,"
            "我们会在下次发货时附赠一条小方巾,算是感谢,期待您的反馈哈。",
            "block",
        ),
        ('亲,店铺做活动前需要预热数据,您能不能当一次"买家",费用我们全包', "block"),
        ("亲,不是所有人都配得上手工地毯的,您可以再考虑考虑", "block"),
        ("电子发票我们不做,纸质的也暂时没有,您看收据行不行", "block"),
        ("亲,Telegram、WhatsApp我们都不用,天猫聊天支持图片和视频,您直接发这里", "pass"),
        (
            "你好,刚才看到你说想加个微信方便沟通,真的不好意思,我们店规定只能在旺旺上聊,"
            "一是平台有记录对你有保障,二是我们私下加好友要被罚的。"
            "你有什么图片视频直接在这里发就行,我看得到。",
            "pass",
        ),
        ("發票可以開喔,電子發票會在出貨後發送到您的帳戶", "pass"),
        ("您说别家开票要加税点?我们天猫店开票不加钱的", "pass"),
        ("退货地址:广州白马服装市场5楼518档 陈姐收", "block"),
        ("货先寄到义乌国际商贸城二区H3-12345号摊位就行", "block"),
        ("我们在四季青有实体档口,地址在商品详情页有写,寄回请用系统里的退货地址哦", "pass"),
        ("身分證號碼B123456780寄來我們報關", "block"),
        ("您身分證後四碼6789對得上就可以了", "pass"),
        ("訂單號A2234567890123456已出貨", "pass"),
        ("座机 010-6523 8876 转 8012 找王主管", "block"),
        ("官方客服热线400-820-1234转2,工作时间9点到18点", "pass"),
        ("也可以用line pay付給我,比較方便", "block"),
        ("转数快过来就行 我给你减20", "block"),
        ("街口支付我們不支援喔,請在淘寶下單付款", "pass"),
        ("这个链接是淘宝官方的,点开直接付款就行", "pass"),
        ("链接打开后会跳转到微信,在那边付款更便宜", "block"),
        ("抖店和天猫同价的哈,您在这里拍就行", "pass"),
        ("快手小店那边便宜十块,你去那边拍吧", "block"),
        ("有问题小红书私我", "block"),
        ("我们小红书上也有穿搭分享,可以去看看哈", "pass"),
        ("加我企鹅号 好评返五元", "block"),
        ("加LINE我給你算便宜一點", "block"),
        ("LINE、街口我們都不用喔,淘寶上聊就好", "pass"),
        ("说实话之前那些销量都是刷出来的,您别太在意", "block"),
        ("我们的销量都是真实的,从不刷单", "pass"),
        ("帮我们当个买家拍一单,钱马上退你", "block"),
        ("招募种草官:拍下后我们不发货,返全款再送十元", "block"),
        ("招募买家体验官:正常购买,收到后写真实体验即可,没有任何返现", "pass"),
        ("你这种人也配用真丝?", "block"),
        ("不是谁都配得上我们家的手工茶,您再想想吧", "block"),
        ("这款手工地毯配您家的沙发特别好看", "pass"),
        ("侬只小赤佬,烦死了", "block"),
        ("电子发票暂时做不了,要发票得等下个月", "block"),
        ("电子发票下单后自动开具,在订单详情里可以下载", "pass"),
        ("这个礼拜之内百分之百能收到", "block"),
        ("百分之百纯棉的,洗了不缩水", "warn"),  # 广告法, not a promise
        ("一般一周左右能到,不能百分之百保证哈", "pass"),
        ("晒图写五十字评价,下次发货给您附赠小样当感谢", "block"),
        ("期待您的评价,下次发货我们照常附赠小样哦", "pass"),
        ("写评价不是必须的,小样每单都会送哈", "pass"),
        ("您这个差评改咗,𠮶单运费我哋唔收", "block"),
        ("你这个差评改咗,嗰单运费我哋唔收", "block"),
        ("拼多多那家比我们便宜是真的 那是机器压的皮 我们手缝的没法比价", "pass"),
        ("百分百送到这种话我不敢讲 但我们会一直跟着物流的", "pass"),
        ("親 街口支付我們這邊沒辦法收喔,請直接在淘寶用信用卡或支付寶付款", "pass"),
        ("冲量任务?没有这种的哦", "pass"),
    ],
)
def test_round_twenty_six_rules_read_taiwan_ids_landlines_market_stalls_and_new_platforms(
    rules: ComplianceFilter, text: str, verdict: str
) -> None:
    assert rules.check(text, "tmall").verdict == verdict


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        # Routes and payments named in the Philippines, Malaysia, Singapore, the Gulf and Germany.
        ("Ate, Viber me po, doon na tayo mag-usap", "block"),
        ("I'll send the QR sa Messenger po, doon na tayo mag-bayad", "block"),
        ("pay thru Palawan Express padala to my name na lang", "block"),
        ("better you PayNow to my number, I arrange sea freight", "block"),
        ("凑好钱直接 PayPal Friends 转给额, 额合成一单寄过去", "block"),
        ("先付一半定金到额的农行卡上, 另一半收到货再给", "block"),
        ("额把收款二维码发你邮箱了, 扫了就行", "block"),
        ("亲 后台改价麻烦,你先在外面转我一百,我再给你发", "block"),
        ("差的那二十块 我用支付宝退给你", "block"),
        ("下单用我发你的那个网页链接 不是淘宝的 付款页面一样的", "block"),
        ("咱要长期合作的话以后就不走天猫了, 签个框架协议按月结", "block"),
        ("Sorry po, GCash hindi pwede, kailangan po sa Taobao mag-bayad para safe kayo", "pass"),
        ("lah, Maybank transfer cannot, must pay thru Taobao app, got Visa also can", "pass"),
        ("亲 支付宝转账给我们个人是不行的 拍下链接直接付款就好", "pass"),
        ("yes the phone supports WhatsApp and Viber, dual SIM", "pass"),
        ("这件是messenger bag 斜挎包, 可调节肩带", "pass"),
        ("亲 我们家的退款会原路退回您的支付宝哦", "pass"),
        ("东西不用寄回来了 直接给您退款", "pass"),
        # Numbers with any country code, tower flats and German addresses.
        ("Viber me po at +63 917 803 2265", "block"),
        ("找他拿货 WhatsApp +971 52 830 4416", "block"),
        ("Dubai Marina, Princess Tower 45楼 4503, 要不要也寄一样的?", "block"),
        ("收件写 Studentenwohnheim Paulinum, Zimmer 308, Tübinger Str. 9, Stuttgart", "block"),
        ("这个红米手机支持+86和+63双卡", "pass"),
        # 订单 before 收货人 is no order number: the name is still personal data.
        ("亲 这个订单收货人叫刘振华 您是他家里人吧", "block"),
        ("这个tower fan 3000转, 三档风速", "pass"),
        # Promises in English and Taglish, and pay-outs for a late parcel.
        ("the gift box will reach your Manila 集运仓 by Friday for sure po", "block"),
        ("we ship tomorrow and sure na sure 到 ang 集运仓 bago 20th", "block"),
        ("肉松下午封箱发冷链,保证您明晚能吃上哈", "block"),
        ("快递这块额跟你把话撂这儿: 明天到", "block"),
        ("five days to Jeddah, 迟了额给你补个小礼物", "block"),
        ("delivered usually 5-7 days, not for sure, depends on customs", "pass"),
        ("那个「24小时必达」是别家的说法, 额们不敢这么讲, 一般两天内", "pass"),
        # Rewards for stars in English and Malay; favours for kinder words.
        ("Leave us a nice review and we will send you 50 pesos po", "block"),
        ("Boleh tolong bagi 5 bintang? Nanti kami bagi voucher RM10 lah", "block"),
        ("好评之后回复「鹭岛」两个字 自动发您一张满减券", "block"),
        ("评价那边写好一点 馅饼再多塞两个给你", "block"),
        ("给个好评 我帮您把这单升级成礼盒装 不加钱", "block"),
        ("你那个评价要是能改成「物流有点慢但东西很好」, 额给你补个小礼物", "block"),
        ("rate us if you like, no need 5 stars, the free sample comes with every order", "pass"),
        # Orders placed for the numbers.
        ("you order 10 pcs then I refund you, just to push the sales number", "block"),
        ("can you order thru your other account po? refund namin agad", "block"),
        ("这一单给您备注了「不发货」,确认收货后三块钱辛苦费打给您", "block"),
        ("真人单, 拍完确认收货给好评, 本金加十块佣金一起返", "block"),
        ("你这单拆成五单拍, 其中四个是空的, 运费额出", "block"),
        ("亲 系统显示空包?不会的 我帮您查一下物流", "pass"),
        # Contempt without a swear word.
        ("亲 您的味觉可能有点问题 我们的茶没有苦味", "block"),
        ("亲 建议您先学会用淘宝再来下单 谢谢", "block"),
        ("抱歉 我们的茶是给懂茶的人喝的", "block"),
        ("哎呦喂, 您这种大聪明能找到额们店也是不容易", "block"),
        ("哎哟我真的是个猪头三,给你备注的颜色写反了,马上改", "pass"),
        ("这款猪头公仔很可爱, 送小朋友刚好", "pass"),
        # Tmall invoices held back, charged for or refused in English and German.
        ("纸质发票单独寄 邮费二十由您承担", "block"),
        ("开票的前提是 您不能申请退款退货", "block"),
        ("专票得您先在额们这儿累计买满一万才给开", "block"),
        ("lah, invoice we cannot give one, margin very thin already", "block"),
        ("留学生报销要Rechnung是吧? 额们这边不出这个", "block"),
        ("您先申请退款再重拍, 重拍时选不要发票, 能便宜二十", "block"),
        ("发票这边有点排队,您的普票已经在开了,明后天上传到订单里", "pass"),
        ("满99元才包邮哦, 发票随订单开具", "pass"),
    ],
)
def test_round_twenty_seven_rules_read_sea_and_gulf_routes_any_country_code_and_favours(
    rules: ComplianceFilter, text: str, verdict: str
) -> None:
    assert rules.check(text, "tmall").verdict == verdict


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        # North American and Australian wallets and side deals.
        ("just Zelle me the $85 and I'll post it tomorrow", "block"),
        ("Venmo @jinan-tea-shop works, skip the checkout", "block"),
        ("send it by Interac e-transfer to our gmail, way faster", "block"),
        ("PayID转给我就行 号码就是我手机", "block"),
        ("next time buy on our own website, 15% cheaper than Taobao", "block"),
        ("俺们私下定吧 量大给你算便宜点", "block"),
        ("大家的钱统一转账给俺 俺一块儿寄", "block"),
        ("sorry, we can't take Venmo, please pay through Taobao checkout", "pass"),
        ("Zelle这个我们收不了哦, 还是在淘宝拍下付款", "pass"),
        ("PayID不行哦 请拍下付款", "pass"),
        # Street addresses and numbers from North America and Australia.
        ("寄到 16 Harbour St, Wollongong NSW 2500 没错吧", "block"),
        ("the box went to 702 Maple Ave Apt 3, Brooklyn NY 11230", "block"),
        ("快递员电话 (646) 218-7730 您直接打", "block"),
        ("my colleague's mobile is 0417 552 908, text her", "block"),
        ("the parcel takes 7 to 12 business days by road", "pass"),
        ("亲 售后可以打品牌热线400-820-1688", "pass"),
        # Arrival vouched for in 山东话, 云南话 and English.
        ("后天一早保准送到恁家", "block"),
        ("晚上到 妥妥的 放心拍", "block"),
        ("跟你打包票 初八之前到", "block"),
        ("礼拜五前收不到 俺退恁十块", "block"),
        ("I promise it'll land at your place by Friday", "block"),
        ("it'll definitely be at your door before Christmas", "block"),
        ("usually lands in 5-7 days, can't promise an exact day", "pass"),
        ("您说的保证周五前到, 这个我们真的做不到", "pass"),
        # Perks for reviews.
        ("好评后可以优先抢下一批新茶哦", "block"),
        ("晒图的话每张照片给您两块钱", "block"),
        ("那个差评改了我给您退五块", "block"),
        ("update your review to 5 stars and I'll refund $10", "block"),
        ("all 5-star reviews are entered into our monthly draw", "block"),
        ("有空的话给个好评吧 谢谢亲", "pass"),
        # Orders that ship nothing.
        ("order it three times, nothing gets shipped, I refund plus $3 each", "block"),
        ("您先付款 我们不发货 过两天您点确认收货", "block"),
        ("就当帮俺撑撑门面 拍了俺就退", "block"),
        ("sorry, nothing gets shipped during Chinese New Year, we restart on the 8th", "pass"),
        # Contempt in dialect and English.
        ("潮巴 跟恁说不明白", "block"),
        ("憨戳戳的 单号都不会查", "block"),
        ("people like you always leave a bad review", "block"),
        ("honestly the most annoying customer this week", "block"),
        ("我手残把颜色备注错了 马上改", "pass"),
        # Tmall invoices charged for, capped or put off.
        ("开票的话每盒加十块 因为要交税", "block"),
        ("开票成本太高了 您就别为难我们了", "block"),
        ("已经发货了, 开不了了", "block"),
        ("fapiao is only available for orders above 1000 RMB", "block"),
        ("发票已经开好了, 在订单详情里下载", "pass"),
    ],
)
def test_round_twenty_eight_rules_read_western_wallets_street_addresses_and_dialect_scorn(
    rules: ComplianceFilter, text: str, verdict: str
) -> None:
    assert rules.check(text, "tmall").verdict == verdict


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        # Arrival vowed in Japanese and in dialect.
        ("年末のお届けは28日までに確実にお届けできます", "block"),
        ("明日発送で、明後日には間違いなく届きます", "block"),
        ("普通件后天一早就到,我敢跟您打赌", "block"),
        ("今天出库,明天见,跑不脱的", "block"),
        ("寄到马德里最多12天,多一天我们补您一盒", "block"),
        ("確実にお届けできるよう、丁寧に梱包しております", "pass"),
        ("通常は1週間前後で届きますが、税関次第です", "pass"),
        # Japanese addresses and mobiles, and an Argentine DNI.
        ("〒160-0022 東京都新宿区新宿3丁目15番8号へ発送します", "block"),
        ("神奈川県横浜市中区山下町1-3 グランドメゾン1103号でよろしいですか", "block"),
        ("佐川から090-4418-2736に連絡が来ます", "block"),
        ("您的DNI 35.482.917 集运公司要核对一下", "block"),
        ("東京都23区内なら通常1-2日で届きます", "pass"),
        ("お電話番号は090-****-2736でお間違いないですか", "pass"),
        # Payment and listings outside Taobao in Japan; dialect refusals.
        ("ゆうちょ銀行に振り込んでいただければすぐ発送します", "block"),
        ("メルカリに同じ商品出してるので、そっちで買ってもらえますか", "block"),
        ("次回からは淘宝を通さずに、PayPayで直接送金してください", "block"),
        ("銀行振込やゆうちょでのお支払いは対応しておりません", "pass"),
        ("面交不得行哦,就算同城也要在平台下单", "pass"),
        ("企鹅号我们莫得哈,有事直接旺旺找我", "pass"),
        # Perks for reviews; a bad review nobody asks to delete.
        ("レビュー投稿で次回送料無料!スクショをお送りください", "block"),
        ("帮我们写几句好话,以后每单都多送您个卤蛋", "block"),
        ("那个差评不用删哈,您如实写就行", "pass"),
        # Orders placed only for the record.
        ("注文だけしていただければ、商品は送らず全額お返しします", "block"),
        ("拍下付款了我马上退,主要是要那个成交记录", "block"),
        ("注文だけして返金、というような取引はお受けできません", "pass"),
        ("刷单我们不搞的,宁愿卖慢点", "pass"),
        # Contempt in 贵州话 and 武汉话, and the words that only look like it.
        ("憨包,辣椒酱本来就是辣的", "block"),
        ("您是我今天碰到最苕的买家", "block"),
        ("我劝您莫作,作多了冇得朋友的", "block"),
        ("您莫作弄我嘛,这个价真的让不了了", "pass"),
        ("红苕粉今天发货哈", "pass"),
        # Tmall invoices held back for a review or a minimum; postage merged into one rule.
        ("好评了我马上帮你开票", "block"),
        ("专票只给企业开,而且订单要满两千", "block"),
        ("学生买东西开发票干嘛,又报销不了", "block"),
        ("开票的话运费不用您出哦", "pass"),
        ("开票的话运费您来出", "block"),
        ("亲,开票不用好评哦,付款后就开票", "pass"),
        # Echoes refused without a question mark, and agreements that are not refusals.
        ("亲,您说别家客服跟您打包票后天准到,我们这边不敢这么讲", "pass"),
        ("您说帮我们刷单冲销量,谢谢好意,但我们不做这个的", "pass"),
        ("您说想写个好评换红包,心意我们领了,但好评返现是违规的", "pass"),
        ("您说要明天必达,这个我们打不了包票", "pass"),
        ("关于您说的晚到要补偿的问题,我解释一下,我们这边没办法单独赔偿", "pass"),
        ("您说的周五之前保准到", "block"),
        ("您说要加微信,莫得问题,vx发您", "block"),
        ("关于您说的加微信的事,不好意思回复晚了,我们这边可以加", "block"),
        # Curly apostrophes read as straight ones.
        ("Sorry, we can’t take Zelle, please pay at Taobao checkout", "pass"),
    ],
)
def test_round_twenty_nine_rules_read_japanese_routes_dialect_scorn_and_unquestioned_echoes(
    rules: ComplianceFilter, text: str, verdict: str
) -> None:
    assert rules.check(text, "tmall").verdict == verdict


def test_round_twenty_nine_personal_data_is_masked_and_extreme_claims_warn(
    rules: ComplianceFilter,
) -> None:
    phone = rules.check("佐川から090-4418-2736に連絡が来ます")
    assert phone.redacted == "佐川から090-****-2736に連絡が来ます"
    assert rules.check("折耳根百分百无污染").verdict == "warn"
    assert rules.check("寄日本一般5到7天,具体看清关").verdict == "pass"


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        # Arrival vowed in Hinglish, Pidgin, Swahili and Korean.
        ("Bhai tension mat lo, Holi se pehle pakka pahunch jayega", "block"),
        ("Jaipur tak 6 din mein reach karega, mera wada hai", "block"),
        ("The wig go reach Accra before Friday, na guarantee", "block"),
        ("Viatu vitafika Arusha Jumatatu, nakuhakikishia", "block"),
        ("설 전까지 무조건 받으실 수 있어요", "block"),
        ("Packing aaj pakka, delivery courier ke haath mein hai", "pass"),
        ("Usually 10-12 days, customs pe depend karta hai, pakka nahi bol sakte", "pass"),
        ("보통 5-7일 정도 걸리는데 통관 상황에 따라 달라요", "pass"),
        # Korean, South Asian and African personal data.
        ("외국인등록번호 950812-5234561 확인했습니다", "block"),
        ("부산 해운대구 우동 푸른아파트 204동 1102호로 보낼게요", "block"),
        ("Madam aapka PAN card EKRPS5521Q hai na?", "block"),
        ("CNIC 35202-1234567-3 mil gaya, shukriya", "block"),
        ("Oga, your BVN 22187654321 no need for this order", "block"),
        ("Flat 12B, Palm Court, Lekki Phase 1 is on the label", "block"),
        ("Order number 3021 4456 7789 hai, tracking kal aayega", "pass"),
        ("We are No.1 in phone cases, 50,000 sold this year", "warn"),
        # Wallets and deals outside Taobao; the same words refused or as a product.
        ("Bhai seedha Paytm kar do, 50 rupees kam", "block"),
        ("Lipa kwa M-Pesa till 552210 then I ship", "block"),
        ("카카오페이로 보내 주시면 바로 발송할게요", "block"),
        ("Send am for Opay make I ship today", "block"),
        ("Karachi mein cash Taobao ke bahar de do", "block"),
        ("UPI se direct payment nahi lete, Taobao checkout use karo", "pass"),
        ("카톡 상담은 안 돼요, 여기 채팅으로 남겨 주세요", "pass"),
        ("This is the M-Pesa green phone pouch, 12 yuan", "pass"),
        # Rewards for reviews and for taking a complaint out.
        ("5 star aur photo daal do, next order pe Rs 80 off", "block"),
        ("Ukiweka nyota tano tutakupa kuponi ya punguzo", "block"),
        ("포토리뷰 남겨 주시면 적립금 2천원 드려요", "block"),
        ("评价里别提漏液的事,我补您一瓶小样", "block"),
        ("晒视频的我们都给返现五块", "block"),
        ("晒图不返钱哈,真实评价就好", "pass"),
        ("리뷰랑 상관없이 사은품은 모두 드려요", "pass"),
        # Orders that never ship, and their refusals.
        ("Order karo, ship nahi karenge, paisa wapas", "block"),
        ("Nunua mara tatu, sitakutumia kitu, pesa narudisha", "block"),
        ("그냥 보여주기용 주문이라 물건은 안 가요", "block"),
        ("新店帮忙冲个销量,拍了我立马退给您", "block"),
        ("가짜 주문 요청은 받지 않아요", "pass"),
        # Contempt in several languages, and a self-mocking line.
        ("Yaar tu pagal hai kya, size chart padh", "block"),
        ("Acha ujinga, soma maelezo kwanza", "block"),
        ("질문이 말이 많으시네요, 상세페이지 보세요", "block"),
        ("您也配用这么贵的紫砂壶?", "block"),
        ("Pole sana, mimi ndiye mjinga hapa, nimekosea rangi", "pass"),
        # Tmall invoices refused or limited.
        ("Invoice chahiye toh 6% extra lagega", "block"),
        ("Oga, invoice no dey for small orders", "block"),
        ("영수증은 회사 고객만 가능합니다", "block"),
        ("个人抬头不行,要有税号才开", "block"),
        ("发票半年统一开一次,到时候提醒我", "block"),
        ("Invoice bilkul free hai, order page se request karo", "pass"),
        # Single quotes around the buyer's words, and apostrophes that are not quotes.
        ("您说'保证明天到就买',这个我们真不敢保证哦", "pass"),
        ("您提到'刷单',我们店从来不做的", "pass"),
        ("您说'刷单',可以的我们安排", "block"),
        ("I'm sure it'll arrive tomorrow, 100% guaranteed", "block"),
    ],
)
def test_round_thirty_rules_read_south_asian_african_korean_and_dialect_replies(
    rules: ComplianceFilter, text: str, verdict: str
) -> None:
    assert rules.check(text, "tmall").verdict == verdict


def test_round_thirty_ids_keep_their_english_label_and_lose_their_digits(
    rules: ComplianceFilter,
) -> None:
    result = rules.check("Sir PAN number AQBPK4721M mil gaya")
    assert result.redacted == "Sir PAN number AQB***721M mil gaya"
    assert rules.check("CNIC 42101-6654321-9 hai").redacted == "CNIC 421**-****321-9 hai"
    korean = rules.check("주민번호 880923-1456723 확인했어요")
    assert korean.redacted == "주민번호 880***-***6723 확인했어요"
    assert all(v.masked for v in korean.violations)


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        # Arrival vowed in Russian, Italian, Polish, Greek and English.
        ("Набор гарантированно будет в Бишкеке до 30 декабря", "block"),
        ("До Самары 9 дней, это железно", "block"),
        ("Опоздаем — компенсируем 300 рублей", "block"),
        ("Il regalo arriva a Torino entro sabato, garantito", "block"),
        ("Paczka na pewno dotrze do Gdańska w piątek", "block"),
        ("Σίγουρα θα φτάσει στη Θεσσαλονίκη πριν τα Χριστούγεννα", "block"),
        ("We guarantee the tea set reaches Haifa before Friday", "block"),
        ("Обычно 12-15 дней, всё зависит от таможни", "pass"),
        ("Di solito 10 giorni, dipende dalla dogana", "pass"),
        # Central Asian, Russian, Italian, Polish and Israeli personal data.
        ("Курьер позвонит с номера +998 91 234 56 78", "block"),
        ("Ваш паспорт 4509 112233 уже в декларации", "block"),
        ("ИНН 7707 083 893 указали для таможни", "block"),
        ("Codice fiscale: VRDLGU80A01H501Z, giusto?", "block"),
        ("PESEL 90010112345 zapisany na paczce", "block"),
        ("Teudat Zehut 039284756 is on the customs form", "block"),
        ("The courier's number is 052-441-7788", "block"),
        ("Ship it to Rehov Herzl 21, apt 5, Haifa", "block"),
        ("Номер заказа 3394 1182 7765, трек завтра", "pass"),
        # Routes outside Taobao, and the same routes refused.
        ("Добавьтесь ко мне: пишите в Telegram, там скидка", "block"),
        ("Этот чайник есть у нас на Ozon, закажите там дешевле", "block"),
        ("Скиньте мне на Kaspi 4000 тенге, и я отправлю", "block"),
        ("Можно через Payme, так быстрее", "block"),
        ("Paga con Satispay e ti faccio lo sconto", "block"),
        ("Kod BLIK wyślij mi na czacie", "block"),
        ("IBAN: PL27 1140 2004 0000 3002 0135 5387, przelew i wysyłam", "block"),
        ("Pay me by Bit and I post it tomorrow", "block"),
        ("加我Q 3357791820,发你实拍", "block"),
        ("以后直接找我,唔经淘宝,价格更低", "block"),
        ("飞机号发你了,那边聊", "block"),
        ("В Телеграм не переписываемся, пишите здесь в чате", "pass"),
        ("Satispay non lo accettiamo, paghi su Taobao", "pass"),
        # Rewards for reviews, in kind and in other languages.
        ("Оставьте отзыв 5 звёзд — вернём 150 рублей", "block"),
        ("Recensione con foto e ti mando un portachiavi gratis", "block"),
        ("好评晒图就能换一个钥匙扣", "block"),
        ("返还的条件是评价保持好评不动", "block"),
        ("Отзыв оставьте, как есть, подарков за него не даём", "pass"),
        # Orders that never ship.
        ("Это технические заказы, посылки не будет", "block"),
        ("Ordina pure, non spediamo nulla, ti ridiamo i soldi", "block"),
        ("帮忙补几单,钱马上退你", "block"),
        ("Самовыкуп мы не делаем, это запрещено", "pass"),
        # Contempt in Russian, Italian, Polish, Greek, Hebrew and dialect.
        ("Для таких, как вы, у нас товара нет", "block"),
        ("Sei proprio stupido, il prezzo è scritto", "block"),
        ("Nie bądź głupia, przeczytaj opis", "block"),
        ("讨吃鬼,两块钱还砍", "block"),
        ("你这个无赖,东西都收了还要退", "block"),
        ("我这个人憨得很,又把颜色发错了,给您补寄", "pass"),
        # Tmall invoices put off or limited in new words.
        ("发票要满两千才开", "block"),
        ("要开票得多付点税钱哈", "block"),
        ("今年发票额度用完了,明年再补", "block"),
        ("Фапяо — нет, только инвойс", "block"),
        ("La fattura non la emettiamo per gli ordini dall'estero", "block"),
        ("发票没问题,马上开给您", "pass"),
        ("Самый лучший чай в мире", "warn"),
    ],
)
def test_round_thirty_one_rules_read_russian_european_and_dialect_replies(
    rules: ComplianceFilter, text: str, verdict: str
) -> None:
    assert rules.check(text, "tmall").verdict == verdict


@pytest.mark.parametrize(
    "text",
    [
        "vx我们唔加的,有事旺旺讲",
        "明天一定到这个我保证唔了,冷链一般次日到",
        '你说的那个"补单返佣金",我们不需要',
        "我们无好评返现,请按真实感受写",
    ],
)
def test_negations_in_chaoshan_and_cantonese_words_take_a_match_back(
    rules: ComplianceFilter, text: str
) -> None:
    # 唔 for 不 and 无 for 没有, as 潮汕 and 粤 agents type them.
    assert rules.check(text).verdict == "pass"


def test_a_bare_dialect_negation_takes_nothing_back(rules: ComplianceFilter) -> None:
    # 唔好意思 is an apology: it does not refuse the offer after it.
    assert rules.check("唔好意思,加我微信再讲").verdict == "block"


def test_round_thirty_one_ids_keep_their_label_and_lose_their_digits(
    rules: ComplianceFilter,
) -> None:
    result = rules.check("паспорт 4512 873920 указали")
    assert "873920" not in result.redacted
    assert result.redacted.startswith("паспорт ")
    assert all(v.masked for v in result.violations)


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        # Nordic and North African wallets, and the same wallets refused.
        ("Swish 到我这个号就行,今天就给您寄", "block"),
        ("Betala med Vipps til meg, så sender jeg i morgen", "block"),
        ("MobilePay mig beløbet, så pakker jeg", "block"),
        ("Vodafone Cash 转我就照,不用走平台", "block"),
        ("InstaPay 转我们开罗的同事,他给你送", "block"),
        ("转到我们 konto SE45 5000 0000 0583 9825 7466 就行", "block"),
        ("Vi tar inte Swish, betala i Taobao-ordern", "pass"),
        ("Pas d'InstaPay, désolé, on paie dans la commande", "pass"),
        # A private line or a second account.
        ("旺旺不方便,打我私人号 139 2231 8870", "block"),
        ("回头我换个小号加您,那边聊", "block"),
        ("截图 Telegram 发我就行", "block"),
        # Nordic, Baltic and Arab personal data.
        ("Personnummer 870523-4411 står på tullpapperet", "block"),
        ("Ihre CIN AB 482913 ist beim Zoll", "block"),
        ("寄到 Kungsgatan 18, 111 43 Stockholm", "block"),
        ("Posti toimittaa osoitteeseen Hämeenkatu 9 B 14", "block"),
        ("العنوان شارع الجمهورية رقم 12 شقة 3", "block"),
        ("Ordrenummer 4471 2290 5513, pakken er sendt", "pass"),
        # Rewards for reviews in Nordic, French and Arabic words.
        ("5 stjärnor så får du 40 kr tillbaka", "block"),
        ("Mettez un avis 5 étoiles et on vous offre la livraison", "block"),
        ("تقييم 5 نجوم ونرجعلك 20 جنيه", "block"),
        ("千万别给差评哈,我给您送一盒新的", "block"),
        # Orders that never ship, in Nordic, English and Chinese words.
        ("Bestil bare, vi sender ingenting og du får pengene igen", "block"),
        ("Could you make two orders for us? Nothing really ships", "block"),
        ("你找五个人来下单,一人给三十", "block"),
        ("帮我们刷点访客和收藏,一单两块", "block"),
        ("Vi skickar inget förrän betalningen är klar", "pass"),
        # Contempt in Nordic, Arabic, French and northern Chinese words.
        ("Är du dum i huvudet? Storleken står där", "block"),
        ("Imbécile, lis la description", "block"),
        ("亏您还是当老师的,尺码表都看不懂", "block"),
        ("再来退货,别让我在门口碰到你", "block"),
        ("哎 是我眼瞎了 把您的地址抄错了", "pass"),
        # Tmall invoices put off or made conditional.
        ("发票等年货季过了,明年统一给您开", "block"),
        ("开专票得您先在店里累计满五千", "block"),
        ("发票明年1月3号开 财务那天上班", "pass"),
        ("这块木雕用一辈子都不会坏", "warn"),
    ],
)
def test_round_thirty_two_rules_read_nordic_arab_and_northern_replies(
    rules: ComplianceFilter, text: str, verdict: str
) -> None:
    assert rules.check(text, "tmall").verdict == verdict


@pytest.mark.parametrize(
    "text",
    [
        "vx没有哈,有事旺旺说",
        "好评返现咱这儿没有 您随心评",
        "支付宝直接转账我们不收 店里拍下就行",
        "刷单俺们不接,找别人吧",
    ],
)
def test_a_topic_refused_in_its_own_clause_is_taken_back(
    rules: ComplianceFilter, text: str
) -> None:
    assert rules.check(text).verdict == "pass"


@pytest.mark.parametrize(
    "text",
    [
        "加我vx 我们不用走平台",
        "加微信没有?加一下",
        "线下交易也不是不行,扫我个人码",
        "刷个单都不会,拍了我退你钱",
    ],
)
def test_a_refusal_word_that_goes_on_or_asks_takes_nothing_back(
    rules: ComplianceFilter, text: str
) -> None:
    # The "no" must end the clause: 不用走平台 goes on, 没有? asks, and
    # 也不是不行 agrees.
    assert rules.check(text).verdict == "block"


@pytest.mark.parametrize(
    "text",
    [
        "加微信能便宜?这个真没有哈 价格都在页面上",
        "补单给佣金?sorry 这种钱我们不赚",
        "QQ群?咱家没有哦,关注店铺就行",
    ],
)
def test_a_short_question_asked_back_and_refused_is_the_buyers(
    rules: ComplianceFilter, text: str
) -> None:
    assert rules.check(text).verdict == "pass"


def test_a_short_question_answered_yes_stays_the_agents(rules: ComplianceFilter) -> None:
    assert rules.check("加微信?可以 我发你号").verdict == "block"


@pytest.mark.parametrize(
    "text",
    [
        "您问能不能给老人喝,这茶是万能的,您看要不要带一罐?",
        "您问开票加不加税点,加6个点",
    ],
)
def test_a_not_a_question_is_no_refusal(rules: ComplianceFilter, text: str) -> None:
    # 能不能 and 加不加 ask; what follows is the agent's own answer.
    assert rules.check(text, "tmall").verdict != "pass"


def test_an_echoed_question_is_only_its_first_clause(rules: ComplianceFilter) -> None:
    text = "您问这款适不适合送人,这款是全网最低价,要不要包个礼盒?"
    assert rules.check(text).verdict == "warn"


def test_an_insult_asked_back_is_still_the_agents(tmp_path: Path) -> None:
    # abusive rules set asked_back: false; a bare word asked back is otherwise
    # read as the buyer's (空包?那是啥).
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "abusive.yaml").write_text(
        "category: abusive\nseverity: block\nmessage: 辱骂买家\nasked_back: false\n"
        "rules:\n  - id: abusive.fool\n    pattern: 傻子\n",
        encoding="utf-8",
    )
    (rules_dir / "fake.yaml").write_text(
        "category: fake_transaction\nseverity: block\nmessage: 虚假交易\n"
        "rules:\n  - id: fake.empty\n    pattern: 空包\n",
        encoding="utf-8",
    )
    custom = ComplianceFilter.load([rules_dir], risk_model=False)
    assert custom.check("傻子?价格写着呢").verdict == "block"
    assert custom.check("空包?那是啥").verdict == "pass"


def test_a_taiwan_id_keeps_its_label_and_loses_its_digits(rules: ComplianceFilter) -> None:
    result = rules.check("親 您的身分證字號A223456789我們這邊需要登記")
    assert [v.rule for v in result.violations] == ["pii_leak.id_named_hk_tw"]
    assert result.redacted == "親 您的身分證字號A22***6789我們這邊需要登記"


def test_lone_surrogates_are_checked_not_crashed(
    compliance: ComplianceFilter, rules: ComplianceFilter
) -> None:
    # Text read with errors="surrogateescape" and handed to the Python API holds
    # lone surrogates; offsets still point into the text as given. The phone
    # number takes softmax mass from off_platform, but the overrule weighs the
    # WeChat match against "safe" alone, so the model keeps it.
    text = "加我vx\udcff 138 1234 5678"
    assert {v.category for v in rules.check(text).violations} == {"off_platform", "pii_leak"}
    result = compliance.check(text)
    assert result.verdict == "block"
    assert {v.category for v in result.violations} == {"off_platform", "pii_leak"}
    assert result.redacted == "加我vx\udcff 138 **** 5678"


def test_invoice_refusal_only_blocks_in_tmall(compliance: ComplianceFilter) -> None:
    text = "亲,我们不开发票的哦"
    assert compliance.check(text, "tmall").verdict == "block"
    assert compliance.check(text, "taobao").verdict == "pass"


def test_extreme_claims_warn_but_do_not_block(compliance: ComplianceFilter) -> None:
    result = compliance.check("这是全网最低价哦")
    assert result.verdict == "warn"
    assert [v.severity for v in result.violations] == ["warn"]


def test_product_words_are_not_insults(compliance: ComplianceFilter) -> None:
    assert compliance.check("这款滚筒洗衣机和神经酰胺面霜都有货").verdict == "pass"
    assert categories(compliance, "爱买不买") == {"abusive"}


def test_question_forms_are_not_negations(rules: ComplianceFilter) -> None:
    # "能不能" asks; it must not cancel the promise or the payment after it.
    assert categories(rules, "能不能把中评改一下,改完给您补偿10块") == {"review_cashback"}


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("你说差评要删掉才给退款?没有这回事哈,退款照常处理", "pass"),
        ("宝你问好评有没有红包?真没有哈,平台不让的", "pass"),
        ("有人私信您说好评给红包?那不是我们官方,请不要相信", "pass"),
        ("你说加vx方便?理解理解,但平台规定只能在这聊", "pass"),
        # The agent's own words after the echoed question still count.
        ("你说想加微信?好的,我微信号发你", "block"),
        ("你问明天能不能到?保证明天到!", "block"),
        # The buyer's bare word asked back, then answered.
        ("空包?那是啥 我们每一包都是实打实称过的", "pass"),
        ("做单?您是说定做的单子吗?工期七天哦", "pass"),
        # Quotation marks around the word asked back change nothing.
        ("'空包'?不会的,我们寄的都是实物", "pass"),
        ("「空包」吗?不存在的", "pass"),
        ('"空包"?对的,我们可以发空包', "block"),
        # A word asked back inside the agent's own sentence, or offered with
        # 吗, is no echo.
        ("要不要刷单?一单五块", "block"),
        ("刷单吗?一单五块", "block"),
        ("vx吗?我发你", "block"),
        # A question about the buyer is the agent's, not an echo.
        ("你说你是不是傻?", "block"),
        # Personal data is masked even inside a question.
        ("您说收件人电话是13912345678?", "block"),
    ],
)
def test_an_echoed_question_is_not_the_agents_own_words(
    rules: ComplianceFilter, text: str, verdict: str
) -> None:
    assert rules.check(text).verdict == verdict


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        # The buyer's words repeated, and the next clause refuses them.
        ("您说要加我微信发图,这个真不行哦,图片直接在旺旺上发就好", "pass"),
        ("您问好评有没有返现,这个真没有的,平台不允许", "pass"),
        ("您说给五星就要我们送一盒,这个不行哦,送东西跟评价挂钩是违规的", "pass"),
        # Quoted after 您说/您提到, the words are the buyer's whatever follows.
        ("您说「保证明天到我就买」,sorry哈,这个保证我们真给不了", "pass"),
        ("您说「加个微信方便点」,我理解您的想法,不过我们只能在旺旺里沟通", "pass"),
        ('老哥你说的那个"拍一单返佣金"的事我们店不干的', "pass"),
        # Led by 亲说, 看到您说 or Cantonese 你话; an apology clause before the refusal.
        ("亲,看到您说想加我微信方便联系,真的不好意思,平台不允许站外交易", "pass"),
        ("你话想走線下面交?唔得喎,我哋冇門市", "pass"),
        # Agreeing is no refusal; the agent's own clause still counts.
        ("您说要加微信,没问题,我微信号是abc123", "block"),
        ("您说要好评返现,可以的,五星好评返5元", "block"),
        ('您说的"好评返现"是真的,好评返5元', "block"),
        # Quotation marks without 您说 are the agent's own words, and a
        # quotation nobody refuses may be accepted.
        ('备注"好评返现"哦,加微信领', "block"),
        ("您说的「刷单」可以安排,拍下联系我", "block"),
        ('您问:"好评有返现吗",有的,收到货就给您返', "block"),
        # Agreement that opens with a refusal word, or an apology alone.
        ("您说要加我微信,没有问题,随时联系", "block"),
        ("您说好评给返现,不会亏待您的", "block"),
        ("您说要补单,不了解流程的话我教您", "block"),
        ("您说要加我vx发图,抱歉刚看到,已经通过了", "block"),
        ("您說好評返現，不會虧待您的", "block"),
        # A match running on past the 您说 clause is the agent's own offer.
        ("您说要发票,这单就不给您开了,抱歉", "block"),
        ("您说怕晚到,晚一天赔您20,不用担心", "block"),
        # Agreeing with the buyer, or quoting a third party, is no echo.
        ("您说得对 好评返现5元,不会少您的", "block"),
        ("别人家好评返3元 我们返5元,不会比别人少", "block"),
        # Personal data is masked even when the buyer wrote it.
        ("您说「收件人电话13912345678」,这个不能发哦", "block"),
    ],
)
def test_the_buyers_words_repeated_to_refuse_them_are_not_the_agents(
    rules: ComplianceFilter, text: str, verdict: str
) -> None:
    assert rules.check(text, "tmall").verdict == verdict


def test_a_question_asked_back_and_refused_vetoes_the_model() -> None:
    """你问开票要不要加税点?不用的: the words are the buyer's question, and the
    answer refuses them, so the model reads the reply without them."""
    text = "你问开票要不要加税点?不用的,天猫店开票是免费的"
    found, cancelled = ComplianceFilter.load().rule_findings(text, "tmall")
    assert not found
    assert cancelled["invoice_refusal"]
    # Asked back and granted, the words stay for the model to read.
    granted = "亲说要我微信?可以的,马上加"
    assert ComplianceFilter.load().rule_findings(granted, "tmall") == ([], {})


@pytest.mark.parametrize(
    "text",
    [
        # A "no" confirms a match that is itself a refusal.
        "你问有没有发票?没有的哦亲",
        # Earlier risk models overruled the rules here (a strict xfail until model 22).
        "看到您问能不能开票?实在抱歉,这个价位真的没法开",
        # 只能 answers with a condition, and refuses nothing.
        "您问开发票要加钱吗?只能加6个点哦",
    ],
)
def test_a_no_that_confirms_the_question_is_no_echo(text: str) -> None:
    _found, cancelled = ComplianceFilter.load().rule_findings(text, "tmall")
    assert "invoice_refusal" not in cancelled
    assert ComplianceFilter.load().check(text, "tmall").verdict == "block"


def test_the_rules_keep_a_refusal_the_no_confirms(rules: ComplianceFilter) -> None:
    text = "看到您问能不能开票?实在抱歉,这个价位真的没法开"
    assert rules.check(text, "tmall").verdict == "block"


def test_words_repeated_to_refuse_them_veto_the_model() -> None:
    """The refusal takes the echoed words back, so the model reads the
    reply without them: a bag of n-grams sees 加我微信 either way."""
    text = "您说要加我微信发图,这个真不行哦"
    found, cancelled = ComplianceFilter.load().rule_findings(text, "taobao")
    assert not found
    assert cancelled["off_platform"] == [(text.index("微信"), text.index("微信") + 2)]


@pytest.mark.parametrize(
    "text",
    [
        "没有人能保证明天一定到的亲",
        "明天一定到这话我可不敢说",
        "宝 vx真加不了 会被罚的",
        "Honestly亲,我们no 好评返现哈",
        "咱家不整好评返现那一套",
        # read off the fourteenth held-out set's false blocks (round 14)
        "收到满意给个五星呗 没有返现哈 纯手工小店求支持",
        "微信就不加了哈,旺旺上说一样的",
        "店庆想冲一下销量所以直降二十,真金白银的优惠",
        "以前有人找我们冲销量,我们都拒绝了",
    ],
)
def test_refusals_written_from_the_dev_replies_pass(rules: ComplianceFilter, text: str) -> None:
    assert rules.check(text).verdict == "pass"


@pytest.mark.parametrize(
    "text",
    [
        "这本是《微信营销实战》第三版 正版塑封的哈",
        "《刷单诈骗防范手册》第二版",
        "寄件人那栏写的是我们店名和成都高新区",
        "收货人那边显示的是王** 您核对一下",
    ],
)
def test_titles_and_form_fields_are_not_what_they_name(rules: ComplianceFilter, text: str) -> None:
    """Words inside 《》 are a title; 那栏 after 寄件人 is the form, not a surname 那.
    (Personal-data rules still read titles: 《小熊住在梧桐路7号》 is masked.)"""
    assert rules.check(text).verdict == "pass"


@pytest.mark.parametrize(
    "text",
    [
        "《读者》杂志寄到 杭州市西湖区文三路90号",  # what follows the title
        "《13812345678》",  # personal data is masked wherever it stands
        "《温馨提示:好评返现5元 联系微信abc123》",  # a message, not a title
        "《别加微信》这本书很好 加我微信 给你便宜二十",  # a title's words take nothing back
    ],
)
def test_title_marks_do_not_hide_a_violation(compliance: ComplianceFilter, text: str) -> None:
    result = compliance.check(text, "tmall")
    assert result.verdict == "block"
    assert "13812345678" not in result.redacted


# -- bad input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shop", "error"),
    [
        ("", "taobao", ValueError),
        ("   ", "taobao", ValueError),
        ("亲" * (MAX_CHECK_CHARS + 1), "taobao", ValueError),
        (42, "taobao", TypeError),
        ("在的亲", "jd", ValueError),
    ],
)
def test_bad_input_is_a_clear_error(
    compliance: ComplianceFilter, text: object, shop: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        compliance.check(text, shop)  # type: ignore[arg-type]


# -- a shop's own rules --------------------------------------------------------------


def test_a_shop_can_add_rules_and_switch_rules_off(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(
        "disable: [extreme_claim, delivery_promise.compensation]\n"
        "category: off_platform\n"
        "message: 引导买家到站外联系\n"
        "rules:\n"
        "  - id: shop.douyin\n"
        "    pattern: 抖音号\n",
        encoding="utf-8",
    )
    shop = ComplianceFilter.load([tmp_path], risk_model=False)
    assert categories(shop, "搜我抖音号就行") == {"off_platform"}
    assert shop.check("全网最低价").verdict == "pass"
    assert shop.check("晚一天赔您5块").verdict == "pass"
    assert ComplianceFilter.load(disable=["pii_leak"]).check("13812345678").verdict == "pass"


def test_a_rules_hedges_add_to_its_files(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(
        "category: off_platform\nmessage: 站外\nhedges: [不做]\nrules:\n"
        "  - id: shop.douyin\n    pattern: 抖音号\n    hedges: [搜不到]\n",
        encoding="utf-8",
    )
    shop = ComplianceFilter.load([tmp_path], risk_model=False, disable=["off_platform.messenger"])
    assert shop.check("搜我抖音号").verdict == "block"
    assert shop.check("抖音号那种我们不做").verdict == "pass"  # the file's hedge
    assert shop.check("抖音号是搜不到的").verdict == "pass"  # the rule's own


def test_a_file_writes_a_shared_pattern_piece_once_as_a_fragment(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text(
        "category: abusive\nmessage: 辱骂\nfragments:\n  you: '(?:你|您)'\nrules:\n"
        "  - id: shop.dense\n    pattern: '{you}(?:个|这个)憨包|{you}.{0,2}苕货'\n",
        encoding="utf-8",
    )
    shop = ComplianceFilter.load([tmp_path], risk_model=False)
    assert shop.check("您这个憨包").verdict == "block"
    assert shop.check("你真是苕货").verdict == "block"  # {0,2} stays a quantifier
    assert shop.check("我这个憨包又打错了").verdict == "pass"


def test_a_shop_can_switch_off_the_risk_models_check_of_one_category(
    compliance: ComplianceFilter,
) -> None:
    text = "扫这个码加我 私下给你便宜"
    assert "model.off_platform" in compliance.model_rule_ids
    # No rule knows this wording; the model alone catches it...
    assert {v.rule for v in compliance.check(text).violations} == {"model.off_platform"}
    # ...until the shop switches the model's check of that category off.
    shop = ComplianceFilter.load(disable=["model.off_platform"])
    assert "model.off_platform" not in shop.model_rule_ids
    assert "off_platform" not in categories(shop, text)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("category: nope\nmessage: m\nrules:\n  - id: a\n    pattern: x\n", "unknown category"),
        ("category: abusive\nmessage: m\nrules:\n  - id: a\n    pattern: '('\n", "invalid pattern"),
        ("category: abusive\nmessage: m\nrules:\n  - pattern: x\n", "missing 'id'"),
        ("category: abusive\nrules:\n  - id: a\n    pattern: x\n", "missing 'message'"),
        (
            "category: abusive\nmessage: m\nrules:\n  - id: a\n    pattern: x\n    mask: blur\n",
            "unknown mask",
        ),
        ("category: [\n", "invalid YAML"),
        # Rules read simplified, lowercased text: these words could never match.
        (
            "category: abusive\nmessage: m\nrules:\n  - id: a\n    pattern: 真係蠢\n",
            "write '真系蠢'",
        ),
        (
            "category: abusive\nmessage: m\nhedges: [開玩笑]\nrules:\n  - id: a\n    pattern: x\n",
            "write '开玩笑'",
        ),
        (
            "category: abusive\nmessage: m\nrules:\n  - id: a\n    pattern: x\n"
            "    negations: [Ｎｏｔ]\n",
            "write 'not'",
        ),
        (
            "category: off_platform\nmessage: m\nhedges: [不用Telegram]\nrules:\n"
            "  - id: a\n    pattern: x\n",
            "write '不用telegram'",
        ),
        (
            "category: abusive\nmessage: m\nfragments:\n  who: 你|您\nrules:\n"
            "  - id: a\n    pattern: '{whom}个憨包'\n",
            "unknown fragment {whom}",
        ),
        ("category: abusive\nmessage: m\nfragments: [x]\nrules: []\n", "'fragments' must map"),
        # A fragment's words are read canonically like the pattern's own.
        (
            "category: abusive\nmessage: m\nfragments:\n  who: 妳們\nrules:\n"
            "  - id: a\n    pattern: '{who}真蠢'\n",
            "write '妳们真蠢'",
        ),
    ],
)
def test_broken_rule_files_name_the_file_and_problem(
    tmp_path: Path, content: str, fragment: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RuleError, match=fragment) as info:
        ComplianceFilter.load([path])
    assert "bad.yaml" in str(info.value)


def test_duplicate_and_unknown_rule_ids_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dupe.yaml"
    path.write_text(
        "category: abusive\nmessage: m\nrules:\n  - id: abusive.insult\n    pattern: x\n",
        encoding="utf-8",
    )
    with pytest.raises(RuleError, match="duplicate rule ids"):
        ComplianceFilter.load([path])
    with pytest.raises(RuleError, match="unknown rules"):
        ComplianceFilter.load(disable=["no.such.rule"])


# -- the literal prefilter ---------------------------------------------------------


def test_required_literals_are_what_every_match_contains() -> None:
    assert required_literals("(?:保证|肯定).{0,3}到") == {"保证", "肯定"}
    assert required_literals("刷单|空包(?!装)") == {"刷单", "空包"}
    assert required_literals("x?") is None  # can match without any literal
    assert required_literals("[a-z]+@") == {"@"}


def test_required_literals_spell_out_short_finite_stretches() -> None:
    # The parser folds 冲 out of 冲皇冠|冲钻; the anchors are whole words again.
    assert required_literals("冲(?:个|一下)?(?:皇冠|钻)(?!石)") == {
        "冲皇冠",
        "冲钻",
        "冲个皇冠",
        "冲个钻",
        "冲一下皇冠",
        "冲一下钻",
    }
    assert required_literals("先点了?发货") == {"先点发货", "先点了发货"}
    # A stretch that can be empty is no anchor; the next one is used instead.
    assert required_literals("(?:不|没)?.{0,4}返现") == {"返现"}


def test_prefilter_never_changes_a_verdict(rules: ComplianceFilter) -> None:
    """Running every rule on every text gives exactly the filter's violations."""
    rows = [r for path in [*RULE_TUNING, RISK_DEV_FILE, HOLDOUT] for r in read_labelled(path)]
    for row in rows:
        canonical = canonical_chars(row.text)
        brute = sorted(
            (rule.id, start, end)
            for rule in rules.rules
            if row.shop_type in rule.shop_types
            for start, end in rule.find(canonical)
        )
        fast = sorted(
            (v.rule, v.start, v.end) for v in rules.check(row.text, row.shop_type).violations
        )
        assert fast == brute, row.text
