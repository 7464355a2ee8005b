"""Baselines the intent model is measured against, on the same data.

- ``KeywordBaseline``: what shops configure today as 关键词回复: an ordered
  list of keyword rules, first match wins, no match is "other".
- ``FastTextBaseline``: fastText supervised on the same normalised, jieba-
  segmented corpus. Prediction calls ``model.f.predict`` directly because the
  wrapper's ``predict`` breaks on NumPy 2.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from quickphrase.model.normalize import normalize

from .corpus import Example

# A careful shop's 关键词回复 list: one rule per intent, first match wins,
# short everyday words plus the typos buyers actually send (包油, 发或, 退宽).
# Order matters: unambiguous after-sale topics (发票, 评价, 地址, 换, 退) come
# first so that e.g. "退货运费" is a refund, not a shipping-fee question; the
# broad single characters ("换", "退", "价", "码") sit at the end of their own
# rule; pre-sale product questions follow; greetings and thanks come last,
# since "你好"/"谢谢" often wrap a real question. Kept unformatted so the list
# reads like the rule table a shop would type in.
# fmt: off
KEYWORD_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("invoice", (
        "发票", "专票", "普票", "抬头", "税号", "开票", "开个票", "电子票", "收据", "红冲", "税率",
        "增值税", "报销", "发漂", "抬投", "fp",
    )),
    ("review", (
        "好评", "差评", "中评", "评价", "追评", "评分", "晒图", "晒单", "嗮图", "买家秀", "返现",
        "五星", "好平", "追平", "评",
    )),
    ("address_change", (
        "地址", "收件人", "收货人", "收件信息", "收货信息", "手机号", "电话号", "改电话", "门牌",
        "楼号", "单元", "改寄", "改送", "改到", "转寄", "改派", "写错", "填错", "省市区",
    )),
    ("exchange", (
        "换货", "换码", "换尺", "换颜色", "换款", "换色", "调换", "调个码", "换大", "换小", "换一",
        "换个", "换成", "能换", "想换", "换",
    )),
    ("refund", (
        "退款", "退货", "退钱", "退宽", "无理由", "运费险", "取消", "差价", "不想要", "不要了",
        "不买了", "拒收", "拍错", "拍多", "下错", "退",
    )),
    ("quality_issue", (
        "质量问题", "质量差", "坏", "破", "碎", "裂", "断了", "漏", "发错", "少发", "漏发", "少了",
        "不符", "不一样", "开线", "开胶", "起球了", "霉", "烂了", "过期", "有虫", "异味", "甲醛",
        "假的", "假货", "用过", "划痕", "污渍", "没反应", "不亮",
    )),
    ("logistics", (
        "到哪", "物流", "单号", "签收", "派送", "派件", "驿站", "快递员", "快递柜", "丰巢", "取件",
        "揽收", "网点", "中转", "转运", "包裹", "不动", "没动", "卡住", "卡在", "丢件", "滞留",
        "投递", "送达", "在路上", "查快递",
    )),
    ("payment", (
        "花呗", "分期", "免息", "付款", "付不了", "付钱", "代付", "支付", "信用卡", "银行卡",
        "储蓄卡", "货到付款", "尾款", "定金", "先用后付", "转账", "白条", "扣款", "扣了", "收款码",
        "亲密付", "亲情卡", "怎么付",
    )),
    ("shipping_fee", (
        "包邮", "包油", "保邮", "运费", "运废", "邮费", "yf", "快递费", "配送费", "上楼费", "到付",
        "免运", "什么快递", "哪个快递", "哪家快递", "啥快递", "偏远", "顺丰", "中通", "圆通",
        "韵达", "申通", "极兔", "邮政", "ems", "德邦", "kd",
    )),
    ("shipping_eta", (
        "发货", "发或", "几天到", "多久到", "什么时候到", "能到", "送到", "还不发", "没发", "发了",
        "发出", "什么时候发", "啥时候发", "今天发", "能发", "寄出", "出货", "出库", "打包", "加急",
        "催", "预售", "截单", "次日", "要多久", "多久能", "多久发", "几天", "能收到", "多久收到",
    )),
    ("stock", (
        "有货", "没货", "无货", "现货", "补货", "缺货", "库存", "断货", "断码", "到货", "还有吗",
        "还有没", "还有不", "还有嘛", "还有木", "有吗", "卖完", "卖光", "没了", "还能买", "还能拍",
        "还剩", "剩几", "上新", "上架", "下架", "停产", "还卖", "在卖",
    )),
    ("size", (
        "尺码", "码数", "尺寸", "几码", "什么码", "哪个码", "啥码", "偏码", "正码", "大一码",
        "小一码", "偏大", "偏小", "身高", "体重", "斤", "腰围", "胸围", "头围", "脚长", "衣长",
        "长度", "宽度", "高度", "厚度", "多大", "多高", "多长", "容量", "码",
    )),
    ("product_info", (
        "材质", "面料", "什么材料", "纯棉", "全棉", "正品", "正版", "zp", "色差", "掉色", "掉毛",
        "起球", "缩水", "透气", "防水", "防滑", "暖和", "加绒", "组装", "安装", "保质期",
        "生产日期", "产地", "进口", "成分", "含量", "敏感肌", "味道", "质量", "会不会",
    )),
    ("bargaining", (
        "便宜", "优惠", "折", "券", "减", "赠品", "送点", "少点", "活动", "价", "砍", "抹零",
        "抹个零", "让点", "让一", "团购", "批发", "送啥", "送什么", "送不送", "小样", "会员",
        "积分", "红包", "补贴", "划算",
    )),
    ("greeting", (
        "在吗", "在么", "在嘛", "在马", "再吗", "在不", "在没", "在线", "你好", "您好", "妳好",
        "有人", "人呢", "客服呢", "哈喽", "哈罗", "嗨", "hello", "hi", "hey", "老板好", "掌柜好",
        "店家好", "早上好", "下午好", "晚上好", "早安", "打扰",
    )),
    ("closing", (
        "谢", "感谢", "thx", "thank", "好的", "好嘞", "好滴", "好哒", "好吧", "好好", "嗯嗯", "ok",
        "知道了", "明白", "懂了", "了解", "辛苦", "麻烦你", "没问题", "已拍", "拍了", "拍下",
        "拍好", "下单了", "下单啦", "收到", "拜拜", "再见", "bye", "晚安",
    )),
)
# fmt: on


class KeywordBaseline:
    """First keyword rule that matches the normalised message wins."""

    def __init__(self, rules: Sequence[tuple[str, Sequence[str]]] = KEYWORD_RULES) -> None:
        self.rules = rules

    def predict(self, text: str) -> str:
        norm = normalize(text)
        for intent, keywords in self.rules:
            if any(k in norm for k in keywords):
                return intent
        return "other"


class FastTextBaseline:
    """fastText over the same prepared text as the main model."""

    def __init__(
        self,
        *,
        epoch: int = 40,
        lr: float = 0.5,
        dim: int = 50,
        word_ngrams: int = 2,
        minn: int = 1,
        maxn: int = 3,
        seed: int = 0,
    ) -> None:
        self.params = {
            "epoch": epoch,
            "lr": lr,
            "dim": dim,
            "wordNgrams": word_ngrams,
            "minn": minn,
            "maxn": maxn,
            "seed": seed,
            "thread": 1,  # deterministic
            "verbose": 0,
        }
        self._model = None

    def fit(self, examples: Sequence[Example], prepared: Sequence[str]) -> FastTextBaseline:
        import fasttext

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "train.txt"
            path.write_text(
                "".join(
                    f"__label__{ex.intent} {words}\n"
                    for ex, words in zip(examples, prepared, strict=True)
                ),
                encoding="utf-8",
            )
            self._model = fasttext.train_supervised(input=str(path), **self.params)
        return self

    def predict_words(self, words: str) -> tuple[str, float]:
        """Label and probability for one prepared (segmented) message."""
        if self._model is None:
            raise RuntimeError("fit the baseline first")
        result = self._model.f.predict(words + "\n", 1, 0.0, "strict")
        if not result:
            return "other", 0.0
        prob, label = result[0]
        return label.removeprefix("__label__"), float(prob)
