"""The sidecar's endpoints: thin wrappers that validate, call the engine, record."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Query, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse

from quickphrase.phrases.compliance import RuleError
from quickphrase.phrases.library import LibraryError
from quickphrase.phrases.ranker import MAX_K

from .errors import ApiError, responses
from .schemas import (
    CheckRequest,
    CheckResponse,
    ClassifyRequest,
    ClassifyResponse,
    FeedbackRequest,
    FeedbackResponse,
    Health,
    Messages,
    PhraseOut,
    PhrasesResponse,
    Ready,
    ReloadResponse,
    Stage,
    StatsResponse,
    SuggestRequest,
    SuggestResponse,
    error_body,
)
from .state import AdminState, ClientState, State
from .store import FeedbackEvent, Served, StoreError, UnknownSuggestionError, new_request_id

FEEDBACK_TIMEOUT = 30.0
POSITIONS = [str(n) for n in range(MAX_K + 1)]

api = APIRouter(prefix="/v1")  # routes take ClientState: the key is checked off loopback
admin = APIRouter(prefix="/v1/admin", tags=["admin"])  # routes take AdminState
probes = APIRouter(tags=["probes"])

CLIENT_ERRORS = responses(400, 401, 413, 415, 422)


def _without_text(out: dict[str, Any]) -> dict[str, Any]:
    """An engine result's ``to_dict()`` without the text it was given: the
    client has it, and the answer should not carry personal data twice."""
    del out["text"]
    return out


def json_response(content: dict[str, Any]) -> Response:
    """Serialised here, not by FastAPI: the hot routes build exactly their
    response model's shape (tests check it against the schema), and skipping
    a second validation pass saves a tenth of the request's time."""
    return Response(orjson.dumps(content), media_type="application/json")


@api.post("/suggest", response_model=SuggestResponse, responses=CLIENT_ERRORS, tags=["replies"])
async def suggest(body: SuggestRequest, state: ClientState) -> Response:
    """What the buyer wants and up to k compliant quick phrases, best first."""
    engine = state.engine
    if body.variables:  # the ranker would raise the same ValueError, less precisely placed
        try:
            engine.library.values(body.variables)
        except ValueError as exc:
            raise ApiError(422, "validation_error", f"variables: {exc}") from None
    result = engine.suggest(
        body.text,
        shop_type=body.shop_type,
        k=body.k,
        stage=body.stage,
        order_status=body.order_status,
        variables=body.variables,
    )
    prediction = result.prediction
    request_id = new_request_id()
    served = [
        Served(f"{request_id}-{n}", s.phrase_id, s.intent, n)
        for n, s in enumerate(result.suggestions, 1)
    ]
    state.store.record_suggestions(
        request_id,
        served,
        intent=prediction.intent,
        shop_type=body.shop_type,
        agent_id=body.agent_id,
        conversation_id=body.conversation_id,
    )
    metrics = state.metrics
    metrics.count(metrics.intents, prediction.intent)
    for s in served:
        metrics.count(metrics.suggestions, POSITIONS[s.position])
    out = _without_text(prediction.to_dict())
    out["request_id"] = request_id
    out["suggestions"] = [
        {"suggestion_id": shown.suggestion_id, "position": shown.position, **s.to_dict()}
        for shown, s in zip(served, result.suggestions, strict=True)
    ]
    return json_response(out)


@api.post("/check", response_model=CheckResponse, responses=CLIENT_ERRORS, tags=["replies"])
async def check(body: CheckRequest, state: ClientState) -> Response:
    """The compliance verdict on a draft reply, each violation's span, and the
    text with personal data masked."""
    result = state.engine.check(body.text, body.shop_type)
    violations = [(v.category, v.rule, v.severity) for v in result.violations]
    state.store.record_check(body.shop_type, result.verdict, violations, body.agent_id)
    for category in {v.category for v in result.violations if v.severity == "block"}:
        state.metrics.count(state.metrics.blocks, category)
    return json_response(_without_text(result.to_dict()))


@api.post("/classify", response_model=ClassifyResponse, responses=CLIENT_ERRORS, tags=["replies"])
async def classify(
    body: Annotated[
        ClassifyRequest | Messages,
        Body(
            description='{"messages": [...]} or a bare JSON list; at most 1,000 messages.',
            examples=[{"messages": ["在吗", "包邮吗"]}],
        ),
    ],
    state: ClientState,
) -> Response:
    """Intents for a list of messages, in order."""
    messages = body.messages if isinstance(body, ClassifyRequest) else body
    predictions = await run_in_threadpool(state.engine.classifier.predict_many, messages)
    results = []
    for p in predictions:
        state.metrics.count(state.metrics.intents, p.intent)
        results.append(_without_text(p.to_dict()))
    return json_response({"results": results})


@api.post(
    "/feedback",
    response_model=FeedbackResponse,
    responses=responses(400, 401, 404, 413, 415, 422, 503),
    tags=["feedback"],
)
async def feedback(body: FeedbackRequest, state: ClientState) -> FeedbackResponse:
    """Record what the agent did with a suggestion. A 2xx answer means the
    event is on disk; acceptance rates then shape the ranking."""
    engine = state.engine
    intent = body.intent
    if body.phrase_id is not None:
        phrase = engine.library.get(body.phrase_id)
        if phrase is None:
            raise ApiError(404, "not_found", f"no phrase {body.phrase_id!r} in the library")
        intent = intent or phrase.intents[0]
        if intent not in phrase.intents:
            raise ApiError(
                422,
                "validation_error",
                f"intent: phrase {phrase.id!r} answers {', '.join(phrase.intents)}, not {intent!r}",
            )
    final_text = None
    if body.final_text is not None:
        final_text = engine.check(body.final_text).redacted  # personal data never stored
    event = FeedbackEvent(
        action=body.action,
        suggestion_id=body.suggestion_id,
        phrase_id=body.phrase_id,
        intent=intent,
        final_text=final_text,
        agent_id=body.agent_id,
        event_id=body.event_id,
    )
    try:
        recorded = await asyncio.wait_for(
            asyncio.wrap_future(state.store.record_feedback(event)), FEEDBACK_TIMEOUT
        )
    except UnknownSuggestionError as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except (StoreError, TimeoutError) as exc:
        raise ApiError(503, "store_unavailable", f"feedback not stored: {exc}") from None
    if recorded.counted:
        state.metrics.count(state.metrics.feedback, body.action)
    return FeedbackResponse(
        duplicate=recorded.duplicate,
        counted=recorded.counted,
        phrase_id=recorded.phrase_id,
        intent=recorded.intent,
        position=recorded.position,
    )


@api.get(
    "/phrases", response_model=PhrasesResponse, responses=responses(401, 422), tags=["library"]
)
def phrases(
    state: ClientState,
    intent: Annotated[str | None, Query(max_length=64)] = None,
    stage: Stage | None = None,
    code: Annotated[str | None, Query(max_length=64, description="快捷编码 prefix")] = None,
    shop_type: Annotated[str | None, Query(pattern="^(taobao|tmall)$")] = None,
) -> dict:
    """The phrase library, filtered; ``filled`` shows each phrase as the shop sends it."""
    library = state.engine.library
    if intent is not None and intent not in state.engine.classifier.labels:
        raise ApiError(422, "validation_error", f"intent: unknown intent {intent!r}")
    defaults = library.defaults()
    found = [
        PhraseOut.model_construct(
            id=p.id,
            code=p.code,
            text=p.text,
            filled=p.fill(defaults),
            intents=list(p.intents),
            stage=p.stage,
            group=p.group,
            shop_types=list(p.shop_types),
            tags=list(p.tags),
        )
        for p in library.phrases
        if (intent is None or intent in p.intents)
        and (stage is None or p.stage == stage)
        and (code is None or p.code.startswith(code.lower()))
        and (shop_type is None or shop_type in p.shop_types)
    ]
    return {"count": len(found), "phrases": found}


@api.get(
    "/stats", response_model=StatsResponse, responses=responses(401, 422, 503), tags=["feedback"]
)
async def stats(
    state: ClientState,
    since: Annotated[
        datetime | None, Query(description="Only events from this time on (ISO 8601).")
    ] = None,
) -> dict:
    """Suggestions served, acceptance by position and by phrase, blocks by category."""
    try:
        if since is not None and since.tzinfo is None:
            since = since.astimezone()  # a naive time is the sidecar's local time
        start = since.timestamp() if since else None
    except (OverflowError, OSError, ValueError) as exc:
        raise ApiError(422, "validation_error", f"since: not a usable time ({exc})") from None
    try:
        out = await run_in_threadpool(state.store.stats, start)
    except StoreError as exc:
        raise ApiError(503, "store_unavailable", str(exc)) from None
    return {"since": since.isoformat() if since else None, **out}


@admin.post("/reload", response_model=ReloadResponse, responses=responses(401, 403, 422, 503))
async def reload(state: AdminState) -> ReloadResponse:
    """Re-read the phrase library and rules. An invalid library is refused
    with its lint errors and the one loaded keeps serving."""
    try:
        warnings = await run_in_threadpool(state.reload)
    except LibraryError as exc:
        details = [
            {"field": str(i.path) + (f":{i.line}" if i.line else ""), "problem": i.message}
            for i in exc.issues
        ]
        raise ApiError(
            422,
            "invalid_library",
            "the phrase library has errors; the loaded one keeps serving",
            details,
        ) from None
    except RuleError as exc:
        raise ApiError(422, "invalid_rules", f"{exc}; the loaded rules keep serving") from None
    try:
        state.generation = await asyncio.wrap_future(state.store.bump_generation())
    except StoreError as exc:
        raise ApiError(
            503, "store_unavailable", f"reloaded here, other workers not told: {exc}"
        ) from None
    engine = state.engine
    return ReloadResponse(
        phrases=len(engine.library.phrases),
        rules=len(engine.compliance.rules),
        warnings=warnings,
    )


@probes.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is alive."""
    return Health()


@probes.get("/readyz", response_model=Ready, responses=responses(503))
async def readyz(state: State) -> Ready | JSONResponse:
    """Model, library and store are loaded and the sidecar takes requests."""
    if not state.ready:
        return JSONResponse(error_body("not_ready", "the sidecar is shutting down"), 503)
    engine = state.engine
    return Ready(
        intents=len(engine.classifier.labels),
        phrases=len(engine.library.phrases),
        rules=len(engine.compliance.rules),
        featurizer="native" if engine.classifier.native else "numpy",
        segmenter="native" if engine.classifier.native_cut else "jieba",
    )


@probes.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses=responses(401),
)
def metrics(state: ClientState) -> Response:
    """Prometheus text format: requests and latency by route, intents, blocks."""
    content, media_type = state.metrics.render()
    return Response(content, media_type=media_type)
