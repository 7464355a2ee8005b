"""The compliance filter: platform rules a reply can break, checked before it is sent.

Two checks run on every reply and their findings are merged:

- Rules are data (``phrases/rules/*.yaml``, one file per category); this
  module only runs them. A rule is a regular expression plus the context that
  makes a match harmless: a negation just before it (不能保证明天到, 不支持微信),
  a hedge in the same clause (一般..., 以物流为准), or a validator that rejects
  look-alikes (an 18-digit order number is not an ID card). Rules say exactly
  where a violation is, and personal data they find is masked in ``redacted``.
- The risk model (``quickphrase.model.risk``), trained on labelled replies,
  catches wordings no rule was written for. Its violations (rule id
  ``model.<category>``) point at the clause that scored highest; it only adds
  categories the rules did not already find. Where it is confident a reply
  is safe (the category's share of itself plus ``safe`` below its
  ``rule_floor``), it overrules the match of a bundled rule that masks
  nothing: 微信 in 手表支持微信消息提醒 is a feature.
  A shop's own rules and the personal-data rules are never overruled.
  The other way round, a bundled rule's match that a negation right beside
  it took back, or that repeats the buyer's words to refuse them, vetoes its
  category: the model's rows holding it score that category again with the
  matched words blanked (``vetoes``).

The same filter checks suggestions, agents' drafts, the library (lint) and
agent lines in batch scoring.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..model.normalize import canonical_chars
from ..model.risk import RiskModel
from .library import SHOP_TYPES
from .prefilter import Prefilter
from .yamlio import LINES, YamlError, line_of, load_yaml

BUNDLED_RULES = Path(__file__).parent / "rules"
SEVERITIES = ("block", "warn")
VERDICTS = ("pass", "warn", "block")  # from harmless to blocked
CATEGORIES = (
    "delivery_promise",
    "pii_leak",
    "off_platform",
    "review_cashback",
    "fake_transaction",
    "abusive",
    "invoice_refusal",
    "extreme_claim",
)
# What the risk model checks: every category that blocks.
MODEL_CATEGORIES = tuple(c for c in CATEGORIES if c != "extreme_claim")
MAX_CHECK_CHARS = 2000
# How many characters may stand between a negation and the match it cancels
# (不能保证明天到: none; 请勿添加陌生人微信: four).
DEFAULT_NEGATION_GAP = 4
MODEL_RULE_PREFIX = "model."
# Where a rule match stands (``Rule.scan``). Only a match taken back by a
# negation right beside it, or repeated from the buyer to refuse it, vetoes
# the risk model: a hedge or a negation a few words off is often about
# something else (没有运费险 但是加我微信).
LIVE, TAKEN_BACK, CANCELLED = 0, 1, 2
_ADJACENT = 1
# How many characters may stand between a match and a refusal after it
# (微信上不接单: one). Kept short: 加我微信不用排队 is no refusal.
DEFAULT_NEGATION_AFTER_GAP = 2
_CLAUSE_END = re.compile(r"[。!?;\n,]")
_SENTENCE_END = re.compile(r"[。!?;\n]")
# The bare word asked back: only a greeting before it in its sentence and
# nothing after it but the question mark (做单?您是说定做的单子吗?). 刷单吗? and
# vx吗? are more often the agent's own offer.
# Quotation marks around the word asked back ('空包'?不会的) change nothing.
# Single quotes count here even between letters; in a quotation
# (_STRAIGHT_QUOTES) one between letters is an apostrophe.
_OPENING_MARKS = "\"'“‘「『"
_CLOSING_MARKS = "\"'”’」』"
_LEAD_IN = re.compile(rf"\s*(?:亲亲|宝子|[亲宝嗯哦噢啊呀哈~\s,]){{0,3}}[{_OPENING_MARKS}]?")
# What may follow a word asked back before its question mark (刷单活动?, 空包的事?).
# With anything after the word, the question is only an echo when the next
# sentence turns it down (刷单活动?没有的哈): 刷单吗?做的 and 微信吗?可以 offer.
_ASKED_BACK_TAIL = re.compile(
    rf"[{_CLOSING_MARKS}]?\s*(?:活动|任务|的事儿?|这(?:种)?事儿?)?\s*[吗呢啊呀嘛]?\s*"
)
_ASKED_BACK_REFUSED = re.compile(
    r"没有(?!问题)|没的|不做|不干|不搞|不碰|不加|不存在|不允许|做不了|违规|没听说|骗"
)
# A 《》 title: short, with no spaces or clause punctuation.
_TITLE = re.compile(r"[^\s,。!?;:、《]{1,20}")
# How words that repeat what the buyer (or someone else) said begin, before
# the agent answers them: 你说差评要删掉才给退款?没有这回事; 有人加你vx说是我们店的?
# Their words are not the agent's. 你说你是不是傻? asks the buyer about
# themselves: that one is the agent's.
_GREETING_WORDS = "亲亲|宝子|老铁|老哥|老乡|家人们"
_GREETING_CHARS = "亲宝嗯哦噢啊呀哈~"
_YOU_SAID = (
    "(?:刚才|刚刚)?(?:看到|听到)?(?:你|您|亲)(?:刚才|刚刚|刚|之前|是)?(?:说|问|讲|话|提到|提的)"
)
_ECHO_LEAD = (
    rf"\s*(?:{_GREETING_WORDS}|[{_GREETING_CHARS}\s]){{0,3}}"
    # 您在小红书上看到有人说…: where the buyer saw the words.
    rf"(?:{_YOU_SAID}(?![你您])|(?:(?:您|你)在?[^,。!?;\n\"“「『]{{0,6}}?(?:看到|听到|看见))?"
    rf"(?:要是|如果|万一)?(?:有人|有些人|别人|对方))"
)
_ECHOED_QUESTION = re.compile(_ECHO_LEAD)
# Any character an echo's lead or quotation needs: most replies hold none,
# and skip the echo patterns.
_ECHO_HINT = re.compile(r"[说問问讲话提人方「『“\"]")
# The buyer's words quoted after 您说/您提到 (您说「加个微信方便点」,...;
# 你说的那个"拍一单返佣金"的事): quotation marks say whose words they are.
_QUOTE_LEAD = re.compile(
    r"(?:关于|对于|针对)?"
    + _ECHO_LEAD
    + r"(?:说|问|讲)?(?:的(?:那个|这个|那种|那句)?)?\s*[::]?\s*"
)
# Quoted words named and disowned right after the closing mark ("爱买不买"这种话
# 绝不是我们的态度; 拍A发B这种事我们不做 needs no quote): a mention, not a use.
_DISOWNED = re.compile(
    r"\s*(?:这种|这样的|这类|此类|这些|这)(?:句话|个条款|个说法|话|说法|字眼|事|做法|行为|操作|套路|要求|请求)"
    r"(?![^。!?;\n]{0,12}不是不)[^。!?;\n]{0,10}?"
    r"(?:绝不是|绝对不是|不是|不会|绝不|从不|不允许|不能|禁止|是违规|不做|不搞|不干|不接受|不支持|不答应|做不了)"
    # ... but not 不是不能做, 不是问题, 不会有风险, 不会被查到: those go along with it.
    r"(?!不|问题|难事|事儿|有(?:任何)?(?:风险|问题|事)|被|出事)"
)
_QUOTES = {"「": "」", "『": "』", "“": "”"}
# Straight quotes open and close with the same mark, so they pair up within
# the sentence. A single quote between two letters is an apostrophe (don't,
# I'm); any other pairs like a double quote (您问'好评返多少',我们没有).
_STRAIGHT_QUOTES = {'"': re.compile('"'), "'": re.compile(r"(?<![a-z])'|'(?![a-z])")}
# Without quotation marks, only the agent repeating the buyer (not 有人, and
# not 您说得对) in one unbroken clause, and a refusal opening the next clause
# (您问好评有没有返现,这个真没有的), make an echo. 您说要加微信,没有问题 and
# 您说好评给返现,不会亏待您的 agree; an apology must come with its refusal.
_GREETING = rf"\s*(?:{_GREETING_WORDS}|[{_GREETING_CHARS}]){{0,3}}\s*"
_BUYERS_WORDS = rf"{_YOU_SAID}(?![你您得]|的(?:对|没错|是))\S*"
_REFUSED_ECHO_LEAD = re.compile(_GREETING + _BUYERS_WORDS)
# The buyer's words named as a topic (关于您说的晚到要补偿的问题,...): the
# refusal may come anywhere later in the sentence.
_ECHO_TOPIC = re.compile(_GREETING + "(?:关于|对于|针对)" + _BUYERS_WORDS + "的(?:问题|事情?|要求)")
_REFUSAL_WORD = (
    # 能不能, 会不会, 行不行 ask rather than refuse (您问能不能给老人喝,这茶是万能的).
    r"(?:(?<!(?<!不)行)不行|(?<!(?<!不)可)不可以|(?<!(?<!不)能)不能|(?<=可能)不能|"
    r"(?<!(?<!不)加)不加(?![^,。!?;\n]{0,3}(?:吗|么|\?))|不了|没有|没的|"
    r"(?<!(?<!不)做)不做|(?<!(?<!不)干)不干|(?<!(?<!不)搞)不搞|"
    r"(?<!(?<!不)支持)不支持|不允许|不提供|(?<!(?<!不)用)不用|(?<!(?<!不)会)不会|不整(?![齐洁理容])|"
    r"(?<!(?<!不)收)不收|(?<!(?<!不)接)不接|不玩|不赚|不碰|没这(?:个|种|回事|活动|规矩|说法|事)|"
    r"(?<!(?<!不)照)不照(?![顾片相着镜])|么得(?!事)|"
    r"做不到|办不到|给不了|没法|没办法|不得行|莫得|冇得|不需要|无(?:得|法|办法)|"
    r"唔(?:得|可以|行|支持|能|会|做|搞|干|用|需要|提供|接受|了)|"
    # 只能 refuses when it sends the buyer back to the platform (只能在旺旺聊),
    # not in 我只能用私人号加您.
    r"只能(?=[^,。!?;\n]{0,4}(?:淘宝|天猫|旺旺|千牛|平台|站内|线上|店里|尽量|尽快|说|按|快递|在这))|"
    r"只在(?=[^,。!?;\n]{0,4}(?:淘宝|天猫|旺旺|千牛|平台|站内|线上|店里))|"
    r"不敢(?:这么|这样|乱|保证|打包票|承诺|答应)|[^,。!?;\n不]{0,6}?(?<!不)是违规|"
    r"(?:承诺|答应|保证|打包票)[不唔]了|打不了(?:这个)?包票|说不准|说不好|不好说|说了不算|控制不了|"
    r"谁(?:也|都)不敢|(?:得|要|还得)看(?:快递|物流))"
    # ... but 没有问题, 不会亏待, 莫得事, 冇得关系, 不介意 agree.
    r"(?!(?:任何|什么|啥)?问题|少|亏待|客气|担心|犹豫|了解|解|的话|让|不|多|错|事|关系|所谓|意见|"
    r"拒绝|介意|反对|计较|在意|着急|急)"
)
# The risky topic refused in its own clause, the clause ending there (vx没有哈;
# 好评返现咱这儿没有; 支付宝直接转账我们不收 店里拍下就照); 加我vx我们不用走平台
# goes on past the "no", and 加微信没有? asks.
_REFUSED_IN_CLAUSE = re.compile(
    # 现在不接了 (等大促再说) is for now; 也不是不行 and 刷个单都不会 agree or mock;
    # 丢不了 reassures.
    r"(?:(?!现在|暂时|目前|最近|今天|这两天)[^,。!?;\n]){0,6}?"
    r"(?:我们|咱们?|咱家|俺们?|我家|本店|店里)?(?:这边?|这里|这儿|这块)?"
    r"(?:都|也|真的?|从来|坚决|是|可|确实)?(?<!不是)(?!不了|(?<=都)不会)(?:" + _REFUSAL_WORD + r")"
    r"[的哦哈呢啦了滴哟呀啊亲~]*(?=[\s,。!;\n~]|$)",
    re.IGNORECASE,
)
# A short question asked back (加微信能便宜?; 补单给佣金?) is the buyer's
# when the answer turns it down at once (这个真没有哈; sorry 这种钱我们不赚).
_SHORT_ASK = 12
# A thanks may come before the refusal (您说帮我们刷单,谢谢好意,但我们不做这个的),
# and a sigh or the courier named as the topic (唉这个真说不准; 快递的事我们说了不算).
_REFUSAL = re.compile(
    r"\s*(?:(?:谢谢|感谢|心意)[^,。!?;\n]{0,8},\s*)?(?:唉|哎呀?|哈哈)?"
    r"(?:(?:真的?|实在)?(?:抱歉|不好意思|sorry)[^。!?;\n]{0,8}?)?"
    r"(?:但是?|不过)?(?:这个|这|那个|那)?\s*(?:(?:快递|物流)的事儿?|时效(?:这块|方面)?)?"
    r"(?:(?:我们|咱们?|俺们?|我)(?:店|家)?(?:这边|这里)?|这边|这里)?(?:两样|哪样)?(?:真的?|实在|确实|是|可|都|也)?"
    + _REFUSAL_WORD,
    re.IGNORECASE,
)
# A topic echo needs a refusal word later in its sentence: a bare 不好意思
# (回复晚了) is no refusal.
_REFUSAL_WORD_ANYWHERE = re.compile(_REFUSAL_WORD, re.IGNORECASE)
# After a quotation the refusal may come later in the sentence (您说「加个微信
# 方便点」,我理解您的想法,不过我们只能在旺旺里沟通); without one, the quotation
# may be accepted (您说的「刷单」可以安排).
_REFUSAL_ANYWHERE = re.compile(
    _REFUSAL_WORD + r"|sorry|抱歉|不好意思|不是我们(?:店|家)?的|不是本店的", re.IGNORECASE
)


class RuleError(ValueError):
    """A rules file that cannot be used; ``str()`` names the file and line."""


@dataclass(frozen=True)
class Violation:
    rule: str
    category: str
    severity: str
    start: int
    end: int
    message: str
    # True when the redacted text masks this span; what is not masked still
    # stands after redaction (masking a phone number does not take back a promise).
    masked: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "category": self.category,
            "severity": self.severity,
            "start": self.start,
            "end": self.end,
            "message": self.message,
            "masked": self.masked,
        }


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one reply: ``block`` if any blocking rule fired, else
    ``warn`` if any warning did, else ``pass``."""

    text: str
    verdict: str
    violations: tuple[Violation, ...]
    redacted: str

    @property
    def blocked(self) -> bool:
        return self.verdict == "block"

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "verdict": self.verdict,
            "violations": [v.to_dict() for v in self.violations],
            "redacted": self.redacted,
        }


# -- validators and maskers: named in rules files -----------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _valid_id_card(span: str) -> bool:
    """Mainland resident ID: 17 digits and a check character (GB 11643)."""
    digits = re.sub(r"\s", "", span).upper()
    if len(digits) != 18 or not digits[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == digits[17]


VALIDATORS: dict[str, Callable[[str], bool]] = {"id_card": _valid_id_card}


def _mask_digits(span: str) -> str:
    """Keep the first 3 and last 4 digits: 138****5678, like the platform shows."""
    digits = [i for i, ch in enumerate(span) if ch.isalnum()]
    keep = set(digits[:3] + digits[-4:]) if len(digits) > 8 else set(digits[:1])
    return "".join(ch if (i in keep or not ch.isalnum()) else "*" for i, ch in enumerate(span))


def _mask_email(span: str) -> str:
    user, _, domain = span.partition("@")
    return f"{user[:1]}***@{domain}"


def _mask_address(span: str) -> str:
    """Keep the region (province, city, district), hide the street and door."""
    cut = max((span.rfind(m, 0, 12) for m in "省市区县"), default=-1)
    return span[: cut + 1] + "****"


_NAME_LABEL = re.compile(r"(?:收件人|收货人|联系人|签收人|寄件人)(?:姓名)?\s*(?:[::是为]|叫)?\s*")


def _mask_name(span: str) -> str:
    """Keep the label (收件人) and the surname: 收件人张**."""
    label = _NAME_LABEL.match(span)
    at = label.end() if label else 0
    return span[: at + 1] + "*" * (len(span) - at - 1)


# The label a number follows: Chinese words (身分证字号), or any words up to the
# last space or colon before the number (PAN number, CNIC:).
_LABELLED_NUMBER = re.compile(r"[^\x00-\x7f]*(?:[^\d\n]*[\s:])?")


def _mask_labelled_digits(span: str) -> str:
    """Keep the word naming the number (身分证字号) and mask the number like digits."""
    at = _LABELLED_NUMBER.match(span).end()  # type: ignore[union-attr]
    return span[:at] + _mask_digits(span[at:])


MASKS: dict[str, Callable[[str], str]] = {
    "digits": _mask_digits,
    "labelled_digits": _mask_labelled_digits,
    "email": _mask_email,
    "address": _mask_address,
    "name": _mask_name,
}


# -- rules ----------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    severity: str
    pattern: re.Pattern[str]
    message: str
    shop_types: frozenset[str]
    negation: re.Pattern[str] | None = None
    negation_reach: int = 0
    # Refusals that follow the match in its clause (微信上不接单, 转账不行).
    negation_after: re.Pattern[str] | None = None
    hedge: re.Pattern[str] | None = None
    hedge_scope: re.Pattern[str] = _CLAUSE_END
    validator: Callable[[str], bool] | None = None
    mask: Callable[[str], str] | None = None
    extend_left: int = 0
    # A bare word asked back (空包?那是啥) is the buyer's; an insult asked
    # back (傻子?价格写着呢) is the agent's own, so abusive rules turn this off.
    asked_back: bool = True
    # A topic word (vx, 返现, 刷单) refused in its own clause: vx没有哈.
    refused_in_clause: bool = False
    bundled: bool = False  # shipped with quickphrase (the risk model may overrule it)

    def find(self, text: str) -> Iterable[tuple[int, int]]:
        """Spans of the matches that break the rule."""
        return ((start, end) for start, end, standing in self.scan(text) if standing == LIVE)

    def scan(self, text: str) -> Iterator[tuple[int, int, int]]:
        """Every match and where it stands (``LIVE``: it breaks the rule;
        see ``_standing``)."""
        for match in self.pattern.finditer(text):
            start, end = match.span()
            # Patterns anchor on a distinctive word (路 + 门牌号) because a
            # pattern that starts anywhere is slow; the span then takes in
            # the words before it (the road, district, city) for redaction.
            floor = max(0, start - self.extend_left)
            while start > floor and text[start - 1].isalnum():
                start -= 1
            if self.validator is not None and not self.validator(match.group()):
                continue
            # Personal data is masked wherever it stands, even quoted or titled.
            if self.mask is not None:
                yield start, end, self._standing(text, start, end)
                continue
            if _in_title(text, start, end):
                continue
            question = _echoed_question(text, start, end, bare=self.asked_back)
            if question is not None:
                # Asked back and refused (你问开票要不要加税点?不用的): vetoes the
                # model like a refused echo, when the buyer asked it (您问, not
                # 有人问). A match that is itself a refusal (没有发票 in
                # 有没有发票?没有的) the "no" confirms. Otherwise the model decides.
                begin, stop = question
                if _answer_refuses(text, stop):
                    if text[start] in _NEGATING_CHARS:
                        yield start, end, self._standing(text, start, end)
                    elif _REFUSED_ECHO_LEAD.fullmatch(text, begin, start):
                        yield start, end, TAKEN_BACK
                continue
            # Before the hedges: a refused echo must veto the model even when
            # a hedge would only have cancelled the match.
            echoed = _echo_standing(text, start, end)
            yield start, end, self._standing(text, start, end) if echoed is None else echoed

    def _standing(self, text: str, start: int, end: int) -> int:
        """``LIVE``; ``TAKEN_BACK`` by a negation right before or after the
        words (不能保证明天一定到, 微信上不接单); or ``CANCELLED`` by a hedge or
        a negation a few characters away (请勿添加陌生人微信)."""
        if self.negation is not None:
            negated = self.negation.search(text, max(0, start - self.negation_reach), start)
            if negated:
                return TAKEN_BACK if len(negated.group(1)) <= _ADJACENT else CANCELLED
        if self.negation_after is not None and self.negation_after.match(text, end):
            return TAKEN_BACK
        if self.refused_in_clause and _REFUSED_IN_CLAUSE.match(text, end):
            return TAKEN_BACK
        if self.hedge is not None and self.hedge.search(
            text, *_around(text, start, end, self.hedge_scope)
        ):
            return CANCELLED
        return LIVE


def vetoes(
    found: Iterable[Violation], cancelled: Mapping[str, list[tuple[int, int]]]
) -> dict[str, list[tuple[int, int]]]:
    """Taken-back matches that veto the risk model: those of categories no
    rule found live. A rule that saw a negation right beside its words, or
    the buyer's words repeated to refuse them, knows the clause better than a
    bag of n-grams does (the model reads 明天一定到 in 不能保证明天一定到); a live
    match of the category decides on its own."""
    live = {v.category for v in found}
    return {c: spans for c, spans in cancelled.items() if c not in live}


def category_info(rules: Iterable[Rule]) -> dict[str, tuple[frozenset[str], str]]:
    """Each category's shop types (where any of its rules applies) and message
    (its first rule's)."""
    shops: dict[str, set[str]] = {}
    messages: dict[str, str] = {}
    for rule in rules:
        shops.setdefault(rule.category, set()).update(rule.shop_types)
        messages.setdefault(rule.category, rule.message)
    return {c: (frozenset(shops[c]), messages[c]) for c in shops}


def _around(text: str, start: int, end: int, boundary: re.Pattern[str]) -> tuple[int, int]:
    """The clause or sentence holding text[start:end]."""
    before = [m.end() for m in boundary.finditer(text, 0, start)]
    after = boundary.search(text, end)
    return (before[-1] if before else 0), (after.start() if after else len(text))


def _echoed_question(
    text: str, start: int, end: int, *, bare: bool = True
) -> tuple[int, int] | None:
    """The bounds of the sentence holding text[start:end] if it is a question
    that repeats someone's words: led by 你说/有人..., the bare word asked
    back (空包?那是啥), or a short question the answer turns down at once
    (加微信能便宜?这个真没有哈); else None. ``bare=False`` (abusive rules)
    keeps only the led questions: 傻子?价格写着呢 is the agent's own."""
    begin, stop = _around(text, start, end, _SENTENCE_END)
    if stop == len(text) or text[stop] != "?":
        return None
    # The echo is the question's first clause; what follows a comma (您问能不能给
    # 老人喝,这茶是万能的,…您看要不要带一份?) is the agent's own.
    if _ECHOED_QUESTION.match(text, begin) and not _CLAUSE_END.search(text, begin, start):
        return begin, stop
    if bare and _LEAD_IN.fullmatch(text, begin, start):
        if not text[end:stop].strip().strip(_CLOSING_MARKS).strip():
            return begin, stop
        answer = _SENTENCE_END.search(text, stop + 1)
        if _ASKED_BACK_TAIL.fullmatch(text, end, stop) and _ASKED_BACK_REFUSED.search(
            text, stop + 1, answer.start() if answer else len(text)
        ):
            return begin, stop
    if (
        bare
        and stop - begin <= _SHORT_ASK
        and not _CLAUSE_END.search(text, begin, stop)
    ):
        clause = _CLAUSE_END.search(text, stop + 1)
        if _answer_refuses(text, stop) or _ASKED_BACK_REFUSED.search(
            text, stop + 1, clause.start() if clause else len(text)
        ):
            return begin, stop
    return None


# A match that is itself a refusal (没有发票 in 有没有发票, 不能开票 in
# 能不能开票) is confirmed, not refused, by a "no": 你问有没有发票?没有的.
_NEGATING_CHARS = "不没无"


def _answer_refuses(text: str, question_mark: int) -> bool:
    """Whether the sentence after a question opens with a refusal (只能
    answers with a condition: 您问开发票要加钱吗?只能加6个点)."""
    answer = _REFUSAL.match(text, question_mark + 1)
    return answer is not None and not answer.group().endswith(("只能", "只在"))


def _echo_standing(text: str, start: int, end: int) -> int | None:
    """How the buyer's words repeated without a question mark stand, or
    None if text[start:end] is the agent's own. In a 您说/您问 clause the next
    clause refuses (您说要加我微信发图,这个真不行哦), or they are named as a topic
    refused later in the sentence (关于您说的晚到要补偿的问题,…没办法赔偿):
    ``TAKEN_BACK``, and the model reads the reply without them. Quoted after
    您说 (您说「保证明天到我就买」, sorry, refused later in the sentence):
    ``CANCELLED`` only, so the model still reads every word."""
    if not _ECHO_HINT.search(text, 0, start):
        return None
    if _CLAUSE_END.search(text, start, end):  # it runs on into the agent's own clause
        return None
    begin, stop = _around(text, start, end, _CLAUSE_END)
    quoted = _quote_around(text, start, end)
    if quoted is not None:
        opened, closed = quoted
        lead_from = _around(text, opened, opened, _CLAUSE_END)[0]
        sentence_end = _around(text, closed, closed, _SENTENCE_END)[1]
        if _QUOTE_LEAD.fullmatch(text, lead_from, opened) and _REFUSAL_ANYWHERE.search(
            text, closed + 1, sentence_end
        ):
            return CANCELLED
        if _DISOWNED.match(text, closed + 1):
            return CANCELLED
    refused = (
        stop < len(text)
        and text[stop] == ","
        and _REFUSED_ECHO_LEAD.fullmatch(text, begin, start) is not None
        and _REFUSAL.match(text, stop + 1) is not None
    )
    if refused:
        return TAKEN_BACK
    if _ECHO_TOPIC.fullmatch(text, begin, stop) and _REFUSAL_WORD_ANYWHERE.search(
        text, stop, _around(text, stop, stop, _SENTENCE_END)[1]
    ):
        return TAKEN_BACK
    return None


def _quote_around(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Where the quotation holding text[start:end] opens and closes, if one does."""
    sentence = _around(text, start, end, _SENTENCE_END)[0]
    for opening, closing in _QUOTES.items():
        opened = text.rfind(opening, sentence, start)
        if opened < 0 or text.find(closing, opened + 1, start) >= 0:
            continue
        closed = text.find(closing, opened + 1)
        if closed >= end:
            return opened, closed
    for mark, marks in _STRAIGHT_QUOTES.items():
        if mark not in text:
            continue
        at = [m.start() for m in marks.finditer(text, sentence)]
        before = sum(m < start for m in at)
        # An odd number of marks before the words makes the last an opening one.
        if before % 2 and before < len(at) and at[before] >= end:
            return at[before - 1], at[before]
    return None


def _in_title(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] lies inside a short 《...》 title (《小熊住在梧桐路7号》
    is a picture book, not an address). A long or punctuated "title" is a
    message wrapped in title marks, and is read as one."""
    opened = text.rfind("《", 0, start)
    if opened < 0 or "》" in text[opened:start]:
        return False
    closed = text.find("》", opened)
    return closed >= end and _TITLE.fullmatch(text, opened + 1, closed) is not None


def _words(values: Any, where: str) -> re.Pattern[str] | None:
    """A regex that finds any of the listed words (``None`` for no words)."""
    if values is None:
        return None
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise RuleError(f"{where}: expected a list of words")
    for word in values:
        _require_canonical(word, where, ignore_case=False)
    forms = {form for word in values for form in _dialect_forms(word)}
    return re.compile("|".join(re.escape(v) for v in sorted(forms, key=len, reverse=True)))


def _dialect_forms(word: str) -> set[str]:
    """The word, and the word as 潮汕 and 粤 agents write it: 唔 for 不 and 无 for
    没 or 没有 (我们唔加的, 这个我保证唔了). Never a bare 唔 or 无: 唔好意思
    and 唔该 are thanks and apologies, 无门槛 and 无线 negate nothing."""
    if len(word) < 2:
        return {word}
    forms = {word, word.replace("不", "唔")}
    without = word.replace("没有", "无").replace("没", "无")
    if len(without) > 1:
        forms.add(without)
    return forms


# Runs of letters outside ASCII in a pattern: its literal Chinese, Cyrillic...
_LITERAL_RUN = re.compile(r"[^\x00-\x7f]+")


def _require_canonical(literal: str, where: str, *, ignore_case: bool = True) -> None:
    """Rules read canonical text (simplified, half-width, lowercase): a literal
    written otherwise, such as 關係 or 嗰 (canonical 𠮶), can never match.
    Patterns ignore case; words (hedges, negations) do not, so Telegram there
    is as dead as 關係."""
    canonical = canonical_chars(literal)
    if canonical != (literal.lower() if ignore_case else literal):
        raise RuleError(
            f"{where}: {literal!r} never occurs in the text rules read; write {canonical!r}"
        )


def _negation_after(values: Any, gap: int, where: str) -> re.Pattern[str] | None:
    """Refusal words starting at most ``gap`` characters after the match, in its clause."""
    words = _words(values, where)
    if words is None:
        return None
    # 莫得问题, 冇得事 and 没有关系 agree: those take nothing back.
    return re.compile(f"[^,。!?;\\n]{{0,{gap}}}(?:{words.pattern})(?!问题|事|关系)")


def _negation_before(values: Any, gap: int, where: str) -> re.Pattern[str] | None:
    """Negation words that end at most ``gap`` characters before the match."""
    words = _words(values, where)
    if words is None:
        return None
    # 能不能, 是不是, 有没有... ask a question; a bare 不 opening 不过, 不管, 不仅,
    # 不但 or 不论 joins clauses (不过你评完私我, 我悄悄发红包): they negate nothing.
    return re.compile(
        f"(?<![能可是要会有])(?:{words.pattern})(?!(?<=不)[过管仅但论])([^,。!?;\\n]{{0,{gap}}})$"
    )


@dataclass
class RuleSet:
    """Rules read from files, with the ids and categories switched off."""

    rules: list[Rule]
    disabled: set[str]


class ComplianceFilter:
    """Checks a reply for the shop type it is sent from.

    Parameters
    ----------
    rules:
        The rules to run; usually ``ComplianceFilter.load()``.
    """

    def __init__(
        self,
        rules: Sequence[Rule],
        risk_model: RiskModel | None = None,
        *,
        disabled: Iterable[str] = (),
        categories: Mapping[str, tuple[frozenset[str], str]] | None = None,
    ) -> None:
        self.rules = tuple(rules)
        self.risk_model = risk_model
        self._by_shop: dict[str, tuple[tuple[Rule, ...], Prefilter]] = {}
        for shop in SHOP_TYPES:
            rules_here = tuple(r for r in self.rules if shop in r.shop_types)
            self._by_shop[shop] = (rules_here, Prefilter([r.pattern for r in rules_here]))
        self._masks = {r.id: r.mask for r in self.rules if r.mask is not None}
        self._overrulable = {r.id: r.bundled and r.mask is None for r in self.rules}
        # The model flags a category in the shop types where the platform rule
        # applies (a C店 may decline invoices), with the message its rules
        # give: ``categories``, from the bundled rules. Switching off one rule
        # does not switch off the model; ``model.<category>`` or the category
        # does (and also stops the model overruling that category's rules).
        off = set(disabled)
        if categories is None:
            categories = category_info(self.rules)
        self._messages: dict[str, str] = {}
        self._model_shops: dict[str, set[str]] = {shop: set() for shop in SHOP_TYPES}
        for category in risk_model.categories if risk_model else ():
            if category in off or f"{MODEL_RULE_PREFIX}{category}" in off:
                continue
            if category not in categories:
                continue
            shops, self._messages[category] = categories[category]
            for shop in shops:
                self._model_shops[shop].add(category)

    @property
    def model_rule_ids(self) -> tuple[str, ...]:
        """Rule ids of the categories the risk model checks."""
        return tuple(f"{MODEL_RULE_PREFIX}{c}" for c in self._messages)

    def overrulable(self, rule_id: str) -> bool:
        """Whether the risk model may overrule this rule's matches (a bundled
        rule that masks nothing)."""
        return self._overrulable.get(rule_id, False)

    def categories_for(self, shop_type: str) -> frozenset[str]:
        """The categories checked in a ``shop_type`` shop (a C店 may decline invoices)."""
        rules, _ = self._by_shop[shop_type]
        return frozenset(r.category for r in rules) | self._model_shops[shop_type]

    @classmethod
    def load(
        cls,
        extra: Iterable[str | Path] = (),
        *,
        disable: Iterable[str] = (),
        risk_model: RiskModel | bool = True,
    ) -> ComplianceFilter:
        """The bundled rules plus a shop's own, and the risk model.

        ``extra``: rule files or directories of them, read after the bundled
        ones; they may add rules and switch rules off (``disable:``).
        ``disable``: rule ids (``model.<category>`` for the risk model's
        check of one category) or whole categories to switch off.
        ``risk_model``: ``True`` for the bundled model, ``False`` for rules
        only, or a loaded ``RiskModel``.
        """
        sources = [BUNDLED_RULES]
        sources += [Path(p) for p in extra]
        rules: list[Rule] = []
        off = set(disable)
        for source in sources:
            files = sorted(source.glob("*.yaml")) if source.is_dir() else [source]
            if not files:
                raise RuleError(f"{source}: no rule files (*.yaml)")
            for path in files:
                found = read_rules(path)
                bundled = source == BUNDLED_RULES
                rules += [replace(r, bundled=bundled) for r in found.rules]
                off |= found.disabled
        ids = [r.id for r in rules]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise RuleError(f"duplicate rule ids: {', '.join(dupes)}")
        model = RiskModel() if risk_model is True else risk_model or None
        checked = model.categories if model else MODEL_CATEGORIES
        known = set(ids) | set(CATEGORIES) | {f"{MODEL_RULE_PREFIX}{c}" for c in checked}
        unknown = sorted(off - known)
        if unknown:
            raise RuleError(f"cannot disable unknown rules or categories: {', '.join(unknown)}")
        return cls(
            [r for r in rules if r.id not in off and r.category not in off],
            model,
            disabled=off,
            categories=category_info([r for r in rules if r.bundled]),
        )

    def check(self, text: str, shop_type: str = "taobao") -> CheckResult:
        """Violations in ``text`` sent from a ``shop_type`` shop, and its redacted form."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a string, not {type(text).__name__}")
        if not text.strip():
            raise ValueError("text is empty")
        if len(text) > MAX_CHECK_CHARS:
            raise ValueError(f"text is longer than {MAX_CHECK_CHARS} characters")
        if shop_type not in self._by_shop:
            raise ValueError(f"unknown shop type {shop_type!r}; use {' or '.join(SHOP_TYPES)}")
        canonical = canonical_chars(text)
        found, cancelled = self.rule_findings(canonical, shop_type)
        model_categories = self._model_shops[shop_type]
        if model_categories and self.risk_model is not None:
            found = self._with_model(found, cancelled, canonical, model_categories, self.risk_model)
        if not found:
            return CheckResult(text, "pass", (), text)
        found.sort(key=lambda v: (v.start, v.end))
        severities = {v.severity for v in found}
        verdict = "block" if "block" in severities else "warn"
        redacted, masked = self._redact(text, found)
        return CheckResult(text, verdict, tuple(masked), redacted)

    def rule_findings(
        self, canonical: str, shop_type: str
    ) -> tuple[list[Violation], dict[str, list[tuple[int, int]]]]:
        """What the rules for ``shop_type`` find in a reply put through
        ``canonical_chars``: the violations, and per category the spans of
        matches of bundled rules a negation right beside them took back
        (不能保证明天一定到), or that repeat the buyer's words to refuse them."""
        rules, prefilter = self._by_shop[shop_type]
        found: list[Violation] = []
        cancelled: dict[str, list[tuple[int, int]]] = {}
        for rule in map(rules.__getitem__, prefilter.candidates(canonical)):
            for start, end, standing in rule.scan(canonical):
                if standing == LIVE:
                    found.append(
                        Violation(rule.id, rule.category, rule.severity, start, end, rule.message)
                    )
                elif standing == TAKEN_BACK and rule.bundled and rule.mask is None:
                    # Training sees only the bundled rules; and a personal-data
                    # rule's "negations" (订单号) tell numbers apart, they do not
                    # take anything back.
                    cancelled.setdefault(rule.category, []).append((start, end))
        return found, cancelled

    def _with_model(
        self,
        found: list[Violation],
        cancelled: Mapping[str, list[tuple[int, int]]],
        canonical: str,
        categories: set[str],
        model: RiskModel,
    ) -> list[Violation]:
        """Rule matches the model does not overrule, plus the categories it flags."""
        assessed = model.assess(
            canonical,
            read_clauses=any(v.severity == "block" for v in found),
            vetoes=vetoes(found, cancelled),
        )
        floors, best = model.rule_floors, assessed.best
        kept = [
            v
            for v in found
            if v.category not in categories
            or not self._overrulable[v.rule]
            # A share against safe is never below the probability itself,
            # so the plain probability settles most matches without it.
            or best[v.category] >= floors.get(v.category, 0.0)
            or assessed.against_safe(v.category) >= floors.get(v.category, 0.0)
        ]
        have = {v.category for v in kept}
        kept += [
            Violation(
                f"{MODEL_RULE_PREFIX}{hit.category}",
                hit.category,
                "block",
                hit.start,
                hit.end,
                self._messages[hit.category],
            )
            for hit in assessed.flagged(model.thresholds)
            if hit.category in categories and hit.category not in have
        ]
        return kept

    def _redact(self, text: str, found: list[Violation]) -> tuple[str, list[Violation]]:
        """The text with personal data masked, and the violations marked masked or not."""
        out, at, marked = [], 0, []
        for v in found:  # sorted by start
            mask = self._masks.get(v.rule)
            if mask is None:
                marked.append(v)
                continue
            if v.start >= at:
                out += [text[at : v.start], mask(text[v.start : v.end])]
            elif v.end > at:
                # Overlaps a span masked already: its own mask would repeat that
                # part, so star out only what sticks out (a flat number, say).
                out.append("*" * (v.end - at))
            at = max(at, v.end)
            marked.append(replace(v, masked=True))
        out.append(text[at:])
        return "".join(out), marked


def read_rules(path: Path) -> RuleSet:
    """Parse one rules file (schema: ``phrases/rules/README.md``)."""
    try:
        data = load_yaml(path)
    except YamlError as exc:
        raise RuleError(str(exc)) from None
    if not isinstance(data, dict):
        raise RuleError(f"{path}: expected a mapping with 'category' and 'rules'")
    disabled = data.get("disable", [])
    if not isinstance(disabled, list) or not all(isinstance(d, str) for d in disabled):
        raise RuleError(f"{path}:{line_of(data, 'disable')}: 'disable' must be a list of rule ids")
    entries = data.get("rules", [])
    if not isinstance(entries, list):
        raise RuleError(f"{path}:{line_of(data, 'rules')}: 'rules' must be a list")
    if entries and "category" not in data:
        raise RuleError(f"{path}: rules need a 'category'")
    fragments = _fragments(data, path)
    return RuleSet([_parse_rule(e, data, path, fragments) for e in entries], set(disabled))


# A fragment named in a pattern: {when}. Quantifiers ({0,8}) hold no letters.
_FRAGMENT_NAME = re.compile(r"\{([a-z_]+)\}")


def _fragments(data: Mapping[str, Any], path: Path) -> dict[str, str]:
    """A file's named pattern pieces, which its rules write as {name} (a word
    list several rules share, written once)."""
    fragments = data.get("fragments", {})
    if isinstance(fragments, dict):
        fragments = {k: v for k, v in fragments.items() if k != LINES}
    if not isinstance(fragments, dict) or not all(
        isinstance(k, str) and re.fullmatch(r"[a-z_]+", k) and isinstance(v, str) and v
        for k, v in fragments.items()
    ):
        where = f"{path}:{line_of(data, 'fragments')}"
        raise RuleError(f"{where}: 'fragments' must map lowercase names to pattern text")
    return fragments


def _expand_fragments(pattern: str, fragments: Mapping[str, str], where: str) -> str:
    def fragment(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in fragments:
            defined = ", ".join(sorted(fragments)) or "none"
            raise RuleError(f"{where}: unknown fragment {{{name}}}; the file defines {defined}")
        return fragments[name]

    return _FRAGMENT_NAME.sub(fragment, pattern)


def _hedges(entry: Mapping[str, Any], defaults: Mapping[str, Any], where: str) -> Any:
    """A rule's hedges are its file's plus its own."""
    lists = [defaults.get("hedges"), entry.get("hedges")]
    for words in lists:
        if words is not None and not isinstance(words, list):
            raise RuleError(f"{where}: expected a list of words")
    merged = [w for words in lists if words for w in words]
    return list(dict.fromkeys(merged)) if merged else None


def _parse_rule(
    entry: Any, defaults: Mapping[str, Any], path: Path, fragments: Mapping[str, str]
) -> Rule:
    if not isinstance(entry, dict):
        raise RuleError(f"{path}:{line_of(defaults, 'rules')}: each rule must be a mapping")
    where = f"{path}:{line_of(entry)}"

    def setting(key: str, default: Any = None) -> Any:
        return entry.get(key, defaults.get(key, default))

    unknown = set(entry) - {
        LINES, "id", "pattern", "message", "severity", "shop_types", "negations", "hedges",
        "validator", "mask", "description", "category", "negation_gap", "hedge_scope",
        "extend_left", "negations_after", "negation_after_gap", "asked_back",
        "refused_in_clause",
    }
    if unknown:
        raise RuleError(f"{where}: unknown fields {', '.join(sorted(unknown))}")
    rule_id = entry.get("id")
    if not isinstance(rule_id, str) or not rule_id:
        raise RuleError(f"{where}: missing 'id'")
    category = setting("category")
    if category not in CATEGORIES:
        raise RuleError(f"{where}: unknown category {category!r}; use {', '.join(CATEGORIES)}")
    severity = setting("severity", "block")
    if severity not in SEVERITIES:
        raise RuleError(f"{where}: severity must be block or warn, not {severity!r}")
    shop_types = setting("shop_types", list(SHOP_TYPES))
    if not isinstance(shop_types, list) or not set(shop_types) <= set(SHOP_TYPES) or not shop_types:
        raise RuleError(f"{where}: shop_types must list taobao and/or tmall")
    pattern = entry.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise RuleError(f"{where}: missing 'pattern'")
    pattern = _expand_fragments(pattern, fragments, where)
    for literal in _LITERAL_RUN.findall(pattern):
        _require_canonical(literal, where)
    try:
        compiled = re.compile(pattern, re.IGNORECASE | re.VERBOSE)
    except re.error as exc:
        raise RuleError(f"{where}: invalid pattern: {exc}") from None
    message = setting("message")
    if not isinstance(message, str) or not message:
        raise RuleError(f"{where}: missing 'message'")
    gap = setting("negation_gap", DEFAULT_NEGATION_GAP)
    if not isinstance(gap, int) or not 0 <= gap <= 20:
        raise RuleError(f"{where}: negation_gap must be a whole number from 0 to 20")
    gap_after = setting("negation_after_gap", DEFAULT_NEGATION_AFTER_GAP)
    if not isinstance(gap_after, int) or not 0 <= gap_after <= 8:
        raise RuleError(f"{where}: negation_after_gap must be a whole number from 0 to 8")
    scope = setting("hedge_scope", "clause")
    if scope not in ("clause", "sentence"):
        raise RuleError(f"{where}: hedge_scope must be clause or sentence, not {scope!r}")
    asked_back = setting("asked_back", True)
    refused_in_clause = setting("refused_in_clause", False)
    if not isinstance(asked_back, bool) or not isinstance(refused_in_clause, bool):
        raise RuleError(f"{where}: asked_back and refused_in_clause must be true or false")
    extend_left = entry.get("extend_left", 0)
    if not isinstance(extend_left, int) or not 0 <= extend_left <= 50:
        raise RuleError(f"{where}: extend_left must be a whole number from 0 to 50")
    validator, mask = setting("validator"), setting("mask")
    if validator is not None and validator not in VALIDATORS:
        raise RuleError(f"{where}: unknown validator {validator!r}; use {', '.join(VALIDATORS)}")
    if mask is not None and mask not in MASKS:
        raise RuleError(f"{where}: unknown mask {mask!r}; use {', '.join(MASKS)}")
    return Rule(
        id=rule_id,
        category=category,
        severity=severity,
        pattern=compiled,
        message=message,
        shop_types=frozenset(shop_types),
        negation=_negation_before(setting("negations"), gap, where),
        negation_reach=gap + max((len(w) for w in setting("negations") or ()), default=0),
        negation_after=_negation_after(setting("negations_after"), gap_after, where),
        hedge=_words(_hedges(entry, defaults, where), where),
        hedge_scope=_CLAUSE_END if scope == "clause" else _SENTENCE_END,
        validator=VALIDATORS.get(validator) if validator else None,
        mask=MASKS.get(mask) if mask else None,
        extend_left=extend_left,
        asked_back=asked_back,
        refused_in_clause=refused_in_clause,
    )
