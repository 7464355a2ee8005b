"""The sidecar's contract: request and response bodies (they make ``/openapi.json``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from quickphrase.model.classifier import MAX_CHARS
from quickphrase.model.normalize import LONE_SURROGATES
from quickphrase.phrases.ranker import DEFAULT_K, MAX_K

MAX_MESSAGES = 1000
MAX_ID_CHARS = 128
MAX_VARIABLES = 50

ShopType = Literal["taobao", "tmall"]
Stage = Literal["pre_sale", "in_sale", "after_sale"]
OrderStatus = Literal["unpaid", "paid", "shipped", "received", "refunding"]
Verdict = Literal["block", "warn", "pass"]
Action = Literal["accepted", "edited", "rejected"]


def _real_text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or only spaces")
    if LONE_SURROGATES.search(value):
        raise ValueError("must be valid Unicode (it holds an unpaired surrogate escape)")
    return value


Text = Annotated[
    str,
    Field(min_length=1, max_length=MAX_CHARS, description=f"1 to {MAX_CHARS} characters."),
    AfterValidator(_real_text),
]
# No control characters: an id is a name, and the store's JSON path
# (SQLite's json_extract) would cut a string at a NUL.
Identifier = Annotated[
    str, Field(min_length=1, max_length=MAX_ID_CHARS, pattern=r"^[^\x00-\x1f\x7f]+$")
]


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SuggestRequest(Contract):
    text: Text = Field(description="The buyer's message.", examples=["亲,能便宜点吗"])
    shop_type: ShopType = Field("taobao", description="taobao (C店) or tmall: the rules differ.")
    # strict: a JSON true is not the number 1 (the schema says integer).
    k: int = Field(
        DEFAULT_K, ge=1, le=MAX_K, strict=True, description="How many suggestions at most."
    )
    stage: Stage | None = Field(None, description="Prefer phrases of this stage.")
    order_status: OrderStatus | None = Field(None, description="Skip phrases for other statuses.")
    variables: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=200)]] = (
        Field(
            default_factory=dict,
            max_length=MAX_VARIABLES,
            description="Values for phrase variables, e.g. tracking_no (see GET /v1/phrases).",
        )
    )
    conversation_id: Identifier | None = None
    agent_id: Identifier | None = None


class IntentScore(Contract):
    intent: str
    score: float


class Suggestion(Contract):
    suggestion_id: str = Field(description="Report it back to POST /v1/feedback.")
    position: int = Field(description="1 for the first suggestion.")
    phrase_id: str
    text: str = Field(description="The phrase with its variables filled.")
    intent: str
    score: float


class SuggestResponse(Contract):
    request_id: str
    intent: str = Field(description='What the buyer wants; "other" when unsure.')
    confidence: float
    intents: list[IntentScore] = Field(description="Every intent found, in the order asked.")
    suggestions: list[Suggestion]


class CheckRequest(Contract):
    text: Text = Field(description="The agent's draft reply.", examples=["明天肯定能到"])
    shop_type: ShopType = "taobao"
    agent_id: Identifier | None = None


class Violation(Contract):
    rule: str
    category: str
    severity: Literal["block", "warn"]
    start: int = Field(description="Offset of the offending span (characters).")
    end: int
    message: str
    masked: bool = Field(
        description="True when `redacted` masks this span; a violation not masked "
        "(a promise, an off-platform contact) still stands in the redacted text."
    )


class CheckResponse(Contract):
    verdict: Verdict
    violations: list[Violation]
    redacted: str = Field(description="The text with personal data masked.")


Messages = Annotated[
    list[Text],
    Field(min_length=1, max_length=MAX_MESSAGES, description="1 to 1,000 buyer messages."),
]


class ClassifyRequest(Contract):
    messages: Messages


class Classification(Contract):
    intent: str
    confidence: float
    intents: list[IntentScore]


class ClassifyResponse(Contract):
    results: list[Classification] = Field(description="One per message, in order.")


class FeedbackRequest(Contract):
    suggestion_id: Identifier | None = Field(None, description="From POST /v1/suggest.")
    phrase_id: Identifier | None = Field(
        None, description="A phrase the agent picked without a suggestion id."
    )
    intent: str | None = Field(
        None, max_length=64, description="With phrase_id: the intent it answered."
    )
    action: Action
    final_text: Text | None = Field(
        None, description="What the agent sent; stored only after redaction."
    )
    agent_id: Identifier | None = None
    event_id: Identifier | None = Field(
        None, description="A client id for this event: a retry with the same id is stored once."
    )

    @model_validator(mode="after")
    def _one_target(self) -> FeedbackRequest:
        if (self.suggestion_id is None) == (self.phrase_id is None):
            raise ValueError("give exactly one of suggestion_id and phrase_id")
        if self.intent is not None and self.phrase_id is None:
            raise ValueError("intent goes with phrase_id (a suggestion id knows its intent)")
        return self


class FeedbackResponse(Contract):
    stored: Literal[True] = True
    duplicate: bool = Field(description="True when this event_id was stored before.")
    counted: bool = Field(
        description="False when it does not change acceptance rates: a duplicate, or "
        "a suggestion that already had feedback (its first outcome counts)."
    )
    phrase_id: str
    intent: str
    position: int | None


class PhraseOut(Contract):
    id: str
    code: str
    text: str = Field(description="The template, with {variables}.")
    filled: str | None = Field(description="Filled from the shop profile; null if it cannot be.")
    intents: list[str]
    stage: Stage
    group: str
    shop_types: list[ShopType]
    tags: list[str]


class PhrasesResponse(Contract):
    count: int
    phrases: list[PhraseOut]


class Rate(Contract):
    shown: int
    accepted: int
    edited: int
    rejected: int
    acceptance_rate: float = Field(description="(accepted + edited) / shown")


class PositionRate(Rate):
    position: int


class PhraseRate(Rate):
    phrase_id: str


class StatsResponse(Contract):
    since: str | None
    suggest_requests: int
    requests_with_suggestions: int
    suggestions_served: int
    requests_by_intent: dict[str, int]
    feedback: dict[str, int]
    acceptance_by_position: list[PositionRate]
    acceptance_by_phrase: list[PhraseRate]
    checks: dict[str, int]
    blocks_by_category: dict[str, int]


class ReloadResponse(Contract):
    phrases: int
    rules: int
    warnings: list[str]


class Health(Contract):
    status: Literal["ok"] = "ok"


class Ready(Contract):
    status: Literal["ready"] = "ready"
    intents: int
    phrases: int
    rules: int
    featurizer: Literal["native", "numpy"] = Field(
        description="native: the compiled n-gram kernel; numpy: the slower fallback "
        "of an install without a C compiler."
    )
    segmenter: Literal["native", "jieba"] = Field(
        description="native: the compiled copy of jieba's dictionary cut; jieba: jieba's "
        "own cut (same words, slower), on an install without a C compiler."
    )


class Problem(Contract):
    field: str = Field(description="Where in the request, e.g. body.text; empty if general.")
    problem: str


class ErrorResponse(Contract):
    error: str = Field(description="A stable code, e.g. validation_error, body_too_large.")
    message: str = Field(description="What is wrong, for a person.")
    details: list[Problem] = Field(default_factory=list)


def error_body(error: str, message: str, details: list[dict[str, Any]] | None = None) -> dict:
    return {"error": error, "message": message, "details": details or []}
