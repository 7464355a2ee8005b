"""What a popup shows, as plain data: the assistant builds panels, the popup draws them.

Keeping panels free of tkinter is what lets the behaviour be tested without a
display.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# Agents read Chinese; the ids stay visible so a panel matches the logs and API.
INTENT_NAMES = {
    "greeting": "问候",
    "bargaining": "议价",
    "stock": "库存",
    "size": "尺码",
    "product_info": "商品咨询",
    "shipping_eta": "发货时效",
    "shipping_fee": "运费快递",
    "logistics": "物流查询",
    "address_change": "改地址",
    "refund": "退款退货",
    "exchange": "换货",
    "quality_issue": "质量问题",
    "invoice": "发票",
    "payment": "付款",
    "review": "评价",
    "closing": "结束语",
    "other": "其他",
}
CATEGORY_NAMES = {
    "delivery_promise": "违背承诺",
    "pii_leak": "泄露信息",
    "off_platform": "站外交易",
    "review_cashback": "好评返现",
    "fake_transaction": "虚假交易",
    "abusive": "辱骂买家",
    "invoice_refusal": "拒开发票",
    "extreme_claim": "极限用语",
}
VERDICT_NAMES = {"block": "拦截", "warn": "注意", "pass": "可以发送"}
Verdict = Literal["block", "warn", "pass"]


def intent_name(intent: str) -> str:
    return f"{INTENT_NAMES.get(intent, intent)} {intent}"


def category_name(category: str) -> str:
    return f"{CATEGORY_NAMES.get(category, category)} {category}"


@dataclass(frozen=True)
class Choice:
    """One suggested reply; ``suggestion_id`` is set when a sidecar served it."""

    position: int
    phrase_id: str
    text: str
    intent: str
    suggestion_id: str | None = None


@dataclass(frozen=True)
class Flag:
    """One rule a draft breaks, with the words that break it."""

    severity: str
    category: str
    span: str
    start: int
    end: int
    message: str
    masked: bool = False  # the redacted text masks this span


@dataclass(frozen=True)
class SuggestPanel:
    intent: str
    confidence: float
    choices: tuple[Choice, ...]
    notes: tuple[str, ...] = ()

    def choice(self, position: int) -> Choice | None:
        """The choice shown as ``position`` (1-based), if there is one."""
        return self.choices[position - 1] if 1 <= position <= len(self.choices) else None

    @property
    def empty_message(self) -> str:
        """Why there is nothing to pick (shown instead of the choices)."""
        if self.intent == "other":
            return "看不出买家在问什么,没有推荐短语,请人工回复。"
        return f"「{INTENT_NAMES.get(self.intent, self.intent)}」没有合适的快捷短语,请人工回复。"


@dataclass(frozen=True)
class CheckPanel:
    verdict: Verdict
    flags: tuple[Flag, ...]
    text: str
    redacted: str
    notes: tuple[str, ...] = ()
    truncated: bool = False  # only the first MAX_CHARS were checked

    @property
    def offers_redacted(self) -> bool:
        """Worth copying: redaction masked something, and it is the whole draft
        (copying a cut draft would lose its end)."""
        return self.redacted != self.text and not self.truncated

    @property
    def redacted_problems(self) -> tuple[str, ...]:
        """The categories the redacted text still breaks, in order, once each:
        masking personal data does not take back a promise."""
        return tuple(dict.fromkeys(f.category for f in self.flags if not f.masked))


@dataclass(frozen=True)
class NoticePanel:
    """Nothing to pick: a message to the agent (empty clipboard, an error...)."""

    title: str
    message: str
    level: Literal["info", "error"] = "info"
    notes: tuple[str, ...] = field(default=())


Panel = SuggestPanel | CheckPanel | NoticePanel
