"""The HTTP sidecar's API, in process: what a client sends and what it gets back.

One engine is loaded per module and shared by the apps (each test gets its own
app and its own SQLite store under ``tmp_path``). Tests that depend on what
the ranker learns, or that reload a library of their own, load their own engine.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import re
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError
from typer.testing import CliRunner

from quickphrase.engine import Engine
from quickphrase.model import features, segment
from quickphrase.model.artifact import (
    BUNDLED_MODEL_DIR,
    FEATURES_FILE,
    METADATA_FILE,
    ONNX_FILE,
)
from quickphrase.phrases.library import BUNDLED_LIBRARY
from quickphrase.service.cli import app as cli_app
from quickphrase.service.sidecar import Settings, StartupError, create_app, logs
from quickphrase.service.sidecar.fastpath import FastJsonRoute

from .sidecars import wait_for_stats

KEY = "test-key-0123456789"
BARGAIN = "亲,能便宜点吗"
CHIT_CHAT = "哈哈哈[图片]"
PROMISE = "亲,明天肯定能到的,放心哦"
SAFE_REPLY = "好的亲,已经为您备注了,请耐心等待哦"
PHONE = "13812345678"
PII_DRAFT = f"好的,收件电话{PHONE}已备注"
ERROR_KEYS = {"error", "message", "details"}
NEW_PHRASE_FILE = """\
stage: pre_sale
phrases:
  - id: product_info.new_arrival_test
    code: zzxp
    group: 商品咨询
    intents: [product_info]
    shop_types: [taobao, tmall]
    text: 亲,这款是本店的新品,欢迎收藏关注哦~
    examples: [这个是新款吗]
"""

ClientFactory = Callable[..., TestClient]


# --- fixtures and helpers ----------------------------------------------------


@pytest.fixture(autouse=True)
def _no_outside_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's QUICKPHRASE_* variables must not leak into these tests."""
    for name in list(os.environ):
        if name.startswith("QUICKPHRASE_"):
            monkeypatch.delenv(name)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine()


@pytest.fixture
def make_client(engine: Engine, tmp_path: Path) -> Iterator[ClientFactory]:
    """Starts an app over the shared engine (each with its own store) and a
    client for it; everything is closed when the test ends."""
    with contextlib.ExitStack() as stack:
        made = 0

        def make(
            *, own_engine: bool = False, raise_server_exceptions: bool = True, **settings: Any
        ) -> TestClient:
            """``own_engine``: let the app load its engine from the settings."""
            nonlocal made
            made += 1
            settings.setdefault("db", tmp_path / f"store-{made}.sqlite3")
            app = create_app(Settings(**settings), engine=None if own_engine else engine)
            client = TestClient(app, raise_server_exceptions=raise_server_exceptions)
            return stack.enter_context(client)

        yield make


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    """An app on loopback with no API key, as ``quickphrase serve`` starts by default."""
    return make_client()


def suggest(client: TestClient, text: str = BARGAIN, **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/suggest", json={"text": text, **fields})
    assert response.status_code == 200, response.text
    return response.json()


def feedback(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/feedback", json=fields)
    assert response.status_code == 200, response.text
    return response.json()


def post_raw(client: TestClient, path: str, body: str | bytes) -> Any:
    """POST a body exactly as given, as JSON (bytes no JSON library would write)."""
    return client.post(path, content=body, headers={"content-type": "application/json"})


def assert_error(response: Any, status: int, error: str | None = None) -> dict[str, Any]:
    """The response is a JSON error of the sidecar's shape with this status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert isinstance(body["message"], str)
    assert body["message"]
    assert isinstance(body["details"], list)
    for detail in body["details"]:
        assert set(detail) == {"field", "problem"}
    if error is not None:
        assert body["error"] == error
    return body


def samples(client: TestClient, **headers: str) -> list[tuple[str, dict[str, str], float]]:
    """Every sample of GET /metrics: (name, labels, value)."""
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    return [
        (s.name, s.labels, s.value)
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    ]


def ids(suggestions: list[dict[str, Any]]) -> list[str]:
    return [s["phrase_id"] for s in suggestions]


# --- POST /v1/suggest ----------------------------------------------------------


def test_bargaining_message_gets_three_distinct_filled_suggestions_in_order(
    client: TestClient,
) -> None:
    body = suggest(client, BARGAIN)
    assert body["intent"] == "bargaining"
    assert 0.0 <= body["confidence"] <= 1.0
    assert [i["intent"] for i in body["intents"]] == ["bargaining"]
    suggestions = body["suggestions"]
    assert len(suggestions) == 3
    assert [s["position"] for s in suggestions] == [1, 2, 3]
    assert len({s["suggestion_id"] for s in suggestions}) == 3
    assert len(set(ids(suggestions))) == 3
    for s in suggestions:
        assert s["text"]
        assert "{" not in s["text"]
        assert s["intent"] == "bargaining"
    scores = [s["score"] for s in suggestions]
    assert scores == sorted(scores, reverse=True)


def test_suggestion_ids_are_never_reused_across_requests(client: TestClient) -> None:
    first = {s["suggestion_id"] for s in suggest(client)["suggestions"]}
    second = {s["suggestion_id"] for s in suggest(client)["suggestions"]}
    assert not first & second


def test_k_limits_the_number_of_suggestions(client: TestClient) -> None:
    assert len(suggest(client, k=1)["suggestions"]) == 1
    assert len(suggest(client, k=5)["suggestions"]) == 5


@pytest.mark.parametrize("shop_type", ["taobao", "tmall"])
def test_suggestions_are_only_phrases_for_the_shop_type(client: TestClient, shop_type: str) -> None:
    body = suggest(client, BARGAIN, shop_type=shop_type, k=10)
    assert body["suggestions"]
    listed = client.get("/v1/phrases", params={"shop_type": shop_type}).json()["phrases"]
    allowed = {p["id"] for p in listed}
    assert set(ids(body["suggestions"])) <= allowed


def test_request_variables_fill_phrases_that_need_them(client: TestClient) -> None:
    without = suggest(client, "快递到哪了")
    assert all("SF123" not in s["text"] for s in without["suggestions"])
    body = suggest(client, "快递到哪了", variables={"tracking_no": "SF123"})
    assert body["intent"] == "logistics"
    assert any("SF123" in s["text"] for s in body["suggestions"])


def test_a_variable_value_the_rules_block_is_never_suggested(client: TestClient) -> None:
    body = suggest(client, "快递到哪了", variables={"tracking_no": "加我微信"})
    assert body["suggestions"]
    assert all("微信" not in s["text"] for s in body["suggestions"])


def test_unknown_variable_is_rejected_by_name(client: TestClient) -> None:
    response = client.post(
        "/v1/suggest", json={"text": "快递到哪了", "variables": {"parcel_colour": "red"}}
    )
    body = assert_error(response, 422, "validation_error")
    assert "parcel_colour" in body["message"]


def test_chit_chat_gets_intent_other_and_no_suggestions(client: TestClient) -> None:
    body = suggest(client, CHIT_CHAT)
    assert body["intent"] == "other"
    assert body["suggestions"] == []


# --- POST /v1/check ------------------------------------------------------------


def test_delivery_promise_is_blocked_with_the_offending_span(client: TestClient) -> None:
    response = client.post("/v1/check", json={"text": PROMISE})
    assert response.status_code == 200
    body = response.json()
    assert body["verdict"] == "block"
    promises = [v for v in body["violations"] if v["category"] == "delivery_promise"]
    assert promises
    for v in promises:
        assert v["severity"] == "block"
        assert v["rule"]
        assert v["message"]
        assert 0 <= v["start"] < v["end"] <= len(PROMISE)
        assert "肯定" in PROMISE[v["start"] : v["end"]]


def test_phone_number_is_blocked_and_masked_in_the_redacted_text(client: TestClient) -> None:
    body = client.post("/v1/check", json={"text": PII_DRAFT}).json()
    assert body["verdict"] == "block"
    leaks = [v for v in body["violations"] if v["category"] == "pii_leak"]
    assert [PII_DRAFT[v["start"] : v["end"]] for v in leaks] == [PHONE]
    assert PHONE not in body["redacted"]
    assert body["redacted"].startswith("好的,收件电话")
    assert body["redacted"].endswith("已备注")


def test_off_platform_contact_is_blocked(client: TestClient) -> None:
    body = client.post("/v1/check", json={"text": "加我微信返现5元"}).json()
    assert body["verdict"] == "block"
    assert "off_platform" in {v["category"] for v in body["violations"]}


def test_polite_reply_passes_unchanged(client: TestClient) -> None:
    body = client.post("/v1/check", json={"text": SAFE_REPLY, "shop_type": "tmall"}).json()
    assert body == {"verdict": "pass", "violations": [], "redacted": SAFE_REPLY}


def test_check_marks_which_violations_the_redacted_text_masks(client: TestClient) -> None:
    body = client.post("/v1/check", json={"text": f"亲,明天肯定能到的,电话{PHONE}"}).json()
    masked = {v["category"]: v["masked"] for v in body["violations"]}
    assert masked == {"delivery_promise": False, "pii_leak": True}


def test_check_answer_does_not_echo_the_draft(client: TestClient) -> None:
    body = client.post("/v1/check", json={"text": PII_DRAFT}).json()
    assert set(body) == {"verdict", "violations", "redacted"}


# --- POST /v1/classify -----------------------------------------------------------


@pytest.mark.parametrize("wrap", [True, False], ids=["messages-object", "bare-list"])
def test_classify_returns_one_result_per_message_in_order(client: TestClient, wrap: bool) -> None:
    messages = ["什么时候发货呀", "亲,能便宜点吗", "发顺丰吗", "165 110斤穿什么码", "快递到哪了"]
    response = client.post("/v1/classify", json={"messages": messages} if wrap else messages)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["intent"] for r in results] == [
        "shipping_eta",
        "bargaining",
        "shipping_fee",
        "size",
        "logistics",
    ]
    for r in results:
        assert set(r) == {"intent", "confidence", "intents"}


def test_classify_takes_a_thousand_messages(client: TestClient) -> None:
    messages = ["在吗", "包邮吗"] * 500
    response = client.post("/v1/classify", json=messages)
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1000


@pytest.mark.parametrize("wrap", [True, False], ids=["messages-object", "bare-list"])
def test_classify_refuses_more_than_a_thousand_messages(client: TestClient, wrap: bool) -> None:
    messages = ["在吗"] * 1001
    response = client.post("/v1/classify", json={"messages": messages} if wrap else messages)
    assert_error(response, 413)


@pytest.mark.parametrize(
    ("wrap", "field"),
    [(True, "body.messages.2"), (False, "body.2")],
    ids=["messages-object", "bare-list"],
)
def test_empty_message_in_classify_is_named_by_its_index(
    client: TestClient, wrap: bool, field: str
) -> None:
    messages = ["在吗", "包邮吗", ""]
    response = client.post("/v1/classify", json={"messages": messages} if wrap else messages)
    body = assert_error(response, 422, "validation_error")
    assert [d["field"] for d in body["details"]] == [field]


# --- POST /v1/feedback -----------------------------------------------------------


def test_accepted_suggestion_is_stored_with_its_position(client: TestClient) -> None:
    shown = suggest(client)["suggestions"][1]
    body = feedback(client, suggestion_id=shown["suggestion_id"], action="accepted")
    assert body == {
        "stored": True,
        "duplicate": False,
        "counted": True,
        "phrase_id": shown["phrase_id"],
        "intent": "bargaining",
        "position": 2,
    }


def test_a_retried_event_id_is_stored_once(client: TestClient) -> None:
    sid = suggest(client)["suggestions"][0]["suggestion_id"]
    first = feedback(client, suggestion_id=sid, action="accepted", event_id="evt-1")
    again = feedback(client, suggestion_id=sid, action="accepted", event_id="evt-1")
    assert (first["duplicate"], first["counted"]) == (False, True)
    assert (again["duplicate"], again["counted"]) == (True, False)


def test_a_reused_event_id_answers_with_what_was_stored_under_it(client: TestClient) -> None:
    first, second = suggest(client)["suggestions"][:2]
    stored = feedback(client, suggestion_id=first["suggestion_id"], action="accepted", event_id="e")
    again = feedback(client, suggestion_id=second["suggestion_id"], action="accepted", event_id="e")
    assert again["duplicate"]
    assert (again["phrase_id"], again["position"]) == (stored["phrase_id"], stored["position"])


def test_only_the_first_outcome_of_a_suggestion_counts(client: TestClient) -> None:
    sid = suggest(client)["suggestions"][0]["suggestion_id"]
    feedback(client, suggestion_id=sid, action="rejected")
    second = feedback(client, suggestion_id=sid, action="accepted")
    assert (second["duplicate"], second["counted"]) == (False, False)


def test_feedback_on_an_unknown_suggestion_is_404(client: TestClient) -> None:
    response = client.post(
        "/v1/feedback", json={"suggestion_id": "0000000000000000-1", "action": "accepted"}
    )
    assert_error(response, 404, "not_found")


def test_feedback_on_a_phrase_alone_credits_its_first_intent(client: TestClient) -> None:
    phrase = next(p for p in client.get("/v1/phrases").json()["phrases"] if len(p["intents"]) > 1)
    body = feedback(client, phrase_id=phrase["id"], action="edited")
    assert body["phrase_id"] == phrase["id"]
    assert body["intent"] == phrase["intents"][0]
    assert body["position"] is None


def test_feedback_on_a_phrase_for_an_intent_it_does_not_answer_is_refused(
    client: TestClient,
) -> None:
    phrase = client.get("/v1/phrases", params={"intent": "invoice"}).json()["phrases"][0]
    response = client.post(
        "/v1/feedback", json={"phrase_id": phrase["id"], "intent": "size", "action": "accepted"}
    )
    body = assert_error(response, 422, "validation_error")
    assert "invoice" in body["message"]


def test_feedback_on_an_unknown_phrase_is_404(client: TestClient) -> None:
    response = client.post(
        "/v1/feedback", json={"phrase_id": "bargaining.no_such_phrase", "action": "accepted"}
    )
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    "target",
    [{}, {"suggestion_id": "abc-1", "phrase_id": "bargaining.coupon_instead"}],
    ids=["neither", "both"],
)
def test_feedback_names_exactly_one_of_suggestion_and_phrase(
    client: TestClient, target: dict[str, str]
) -> None:
    response = client.post("/v1/feedback", json={"action": "accepted", **target})
    assert_error(response, 422, "validation_error")


def test_final_text_is_stored_with_personal_data_masked(engine: Engine, tmp_path: Path) -> None:
    db = tmp_path / "feedback.sqlite3"
    with TestClient(create_app(Settings(db=db), engine=engine)) as client:
        sid = suggest(client, "快递到哪了")["suggestions"][0]["suggestion_id"]
        final = f"亲,已经给您改好收件人电话{PHONE}啦"
        feedback(client, suggestion_id=sid, action="edited", final_text=final)
    with contextlib.closing(sqlite3.connect(db)) as conn:
        stored = [row[0] for row in conn.execute("SELECT final_text FROM feedback")]
    assert len(stored) == 1
    assert PHONE not in stored[0]
    assert stored[0].startswith("亲,已经给您改好收件人电话")


# --- learning from feedback ------------------------------------------------------


def test_accepted_feedback_lifts_a_phrase_in_later_rankings(make_client: ClientFactory) -> None:
    client = make_client(own_engine=True)  # its own ranker: acceptance starts from the prior
    before = suggest(client, BARGAIN)["suggestions"]
    assert len(before) == 3
    phrase_id, score_before = before[2]["phrase_id"], before[2]["score"]
    for _ in range(30):
        shown = {s["phrase_id"]: s for s in suggest(client, BARGAIN)["suggestions"]}
        assert phrase_id in shown
        feedback(client, suggestion_id=shown[phrase_id]["suggestion_id"], action="accepted")
    after = suggest(client, BARGAIN)["suggestions"]
    ranked = {s["phrase_id"]: s for s in after}
    assert phrase_id in ranked
    assert ranked[phrase_id]["score"] > score_before
    assert ranked[phrase_id]["position"] < len(after)


# --- GET /v1/stats ---------------------------------------------------------------


def populate(client: TestClient) -> None:
    """Two suggest requests (three suggestions each), three outcomes, two checks."""
    first = suggest(client, BARGAIN)["suggestions"]
    second = suggest(client, BARGAIN)["suggestions"]
    client.post("/v1/check", json={"text": PROMISE})
    client.post("/v1/check", json={"text": SAFE_REPLY})
    feedback(client, suggestion_id=first[0]["suggestion_id"], action="accepted")
    feedback(client, suggestion_id=second[1]["suggestion_id"], action="edited")
    feedback(client, suggestion_id=first[2]["suggestion_id"], action="rejected")


def test_stats_report_requests_acceptance_by_position_and_blocks(client: TestClient) -> None:
    populate(client)
    stats = wait_for_stats(
        client, lambda s: s["suggest_requests"] == 2 and sum(s["checks"].values()) == 2
    )
    assert stats["suggest_requests"] == 2
    assert stats["requests_with_suggestions"] == 2
    assert stats["suggestions_served"] == 6
    assert stats["requests_by_intent"] == {"bargaining": 2}
    assert stats["feedback"] == {"accepted": 1, "edited": 1, "rejected": 1}
    by_position = {row["position"]: row for row in stats["acceptance_by_position"]}
    assert set(by_position) == {1, 2, 3}
    assert [by_position[p]["shown"] for p in (1, 2, 3)] == [2, 2, 2]
    assert (by_position[1]["accepted"], by_position[1]["acceptance_rate"]) == (1, 0.5)
    assert (by_position[2]["edited"], by_position[2]["acceptance_rate"]) == (1, 0.5)
    assert (by_position[3]["rejected"], by_position[3]["acceptance_rate"]) == (1, 0.0)
    for row in stats["acceptance_by_phrase"]:
        taken = row["accepted"] + row["edited"]
        assert row["acceptance_rate"] == pytest.approx(taken / row["shown"], abs=1e-4)
    assert stats["checks"] == {"block": 1, "pass": 1}
    assert stats["blocks_by_category"] == {"delivery_promise": 1}


def test_stats_since_a_future_time_are_all_zero(client: TestClient) -> None:
    populate(client)
    wait_for_stats(client, lambda s: sum(s["checks"].values()) == 2)
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    stats = client.get("/v1/stats", params={"since": future}).json()
    assert stats["since"] is not None
    assert stats["suggest_requests"] == stats["suggestions_served"] == 0
    assert stats["requests_by_intent"] == {}
    assert stats["feedback"] == {}
    assert stats["acceptance_by_position"] == stats["acceptance_by_phrase"] == []
    assert stats["checks"] == stats["blocks_by_category"] == {}


def test_stats_since_must_be_a_time(client: TestClient) -> None:
    response = client.get("/v1/stats", params={"since": "last tuesday"})
    body = assert_error(response, 422, "validation_error")
    assert [d["field"] for d in body["details"]] == ["query.since"]


def test_stats_since_the_earliest_naive_time_is_not_a_server_error(client: TestClient) -> None:
    response = client.get("/v1/stats", params={"since": "0001-01-01T00:00:00"})
    assert response.status_code in (200, 422), response.text


# --- GET /v1/phrases ---------------------------------------------------------------


def test_phrases_filter_by_intent(client: TestClient) -> None:
    body = client.get("/v1/phrases", params={"intent": "size"}).json()
    assert body["count"] == len(body["phrases"]) > 0
    assert all("size" in p["intents"] for p in body["phrases"])
    assert body["count"] < client.get("/v1/phrases").json()["count"]


def test_phrases_filter_by_stage(client: TestClient) -> None:
    body = client.get("/v1/phrases", params={"stage": "after_sale"}).json()
    assert body["count"] > 0
    assert {p["stage"] for p in body["phrases"]} == {"after_sale"}


def test_phrases_filter_by_code_prefix(client: TestClient) -> None:
    body = client.get("/v1/phrases", params={"code": "HY"}).json()
    assert body["count"] > 1
    assert all(p["code"].startswith("hy") for p in body["phrases"])


@pytest.mark.parametrize("shop_type", ["taobao", "tmall"])
def test_phrases_filter_by_shop_type(client: TestClient, shop_type: str) -> None:
    body = client.get("/v1/phrases", params={"shop_type": shop_type}).json()
    assert all(shop_type in p["shop_types"] for p in body["phrases"])
    assert 0 < body["count"] < client.get("/v1/phrases").json()["count"]


@pytest.mark.parametrize(
    "params", [{"intent": "astrology"}, {"stage": "post_sale"}, {"shop_type": "jd"}]
)
def test_phrases_with_an_unknown_filter_value_are_422(
    client: TestClient, params: dict[str, str]
) -> None:
    assert_error(client.get("/v1/phrases", params=params), 422, "validation_error")


def test_phrases_with_profile_variables_only_are_shown_filled(
    client: TestClient, engine: Engine
) -> None:
    profile = set(engine.library.defaults())
    phrases = client.get("/v1/phrases").json()["phrases"]
    templated = [p for p in phrases if "{" in p["text"]]
    from_profile = [p for p in templated if set(_variables(p["text"])) <= profile]
    request_only = [p for p in templated if not set(_variables(p["text"])) <= profile]
    assert from_profile
    assert request_only
    for p in from_profile:
        assert p["filled"]
        assert "{" not in p["filled"]
    assert all(p["filled"] is None for p in request_only)


def _variables(text: str) -> list[str]:
    return re.findall(r"\{([a-z_][a-z0-9_]*)\}", text)


# --- POST /v1/admin/reload -----------------------------------------------------------


@pytest.fixture
def library_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "library"
    shutil.copytree(BUNDLED_LIBRARY, copy)
    return copy


@pytest.fixture
def own_library_client(make_client: ClientFactory, library_copy: Path) -> TestClient:
    """An app serving ``library_copy`` with its own engine (so reloads read the copy)."""
    return make_client(own_engine=True, phrases=library_copy, api_key=KEY)


def test_reload_without_or_with_a_wrong_key_is_401(make_client: ClientFactory) -> None:
    client = make_client(api_key=KEY)
    assert_error(client.post("/v1/admin/reload"), 401, "unauthorized")
    assert_error(
        client.post("/v1/admin/reload", headers={"X-API-Key": "not-the-key"}), 401, "unauthorized"
    )


def test_reload_is_403_when_no_key_is_configured(client: TestClient) -> None:
    response = client.post("/v1/admin/reload", headers={"X-API-Key": KEY})
    assert_error(response, 403, "api_key_not_configured")


def test_reload_picks_up_a_new_phrase(own_library_client: TestClient, library_copy: Path) -> None:
    client = own_library_client
    before = client.get("/readyz").json()["phrases"]
    (library_copy / "zz_extra.yaml").write_text(NEW_PHRASE_FILE, encoding="utf-8")
    response = client.post("/v1/admin/reload", headers={"X-API-Key": KEY})
    assert response.status_code == 200, response.text
    assert response.json()["phrases"] == before + 1
    assert client.get("/readyz").json()["phrases"] == before + 1
    listed = client.get("/v1/phrases", params={"code": "zzxp"}).json()["phrases"]
    assert [p["id"] for p in listed] == ["product_info.new_arrival_test"]


@pytest.mark.parametrize(
    "broken",
    [
        "stage: pre_sale\nphrases: [unclosed\n  - id: x: y\n",
        NEW_PHRASE_FILE.replace("product_info.new_arrival_test", "bargaining.coupon_instead"),
    ],
    ids=["invalid-yaml", "duplicate-id"],
)
def test_reload_of_a_broken_library_is_refused_and_the_old_one_keeps_serving(
    own_library_client: TestClient, library_copy: Path, broken: str
) -> None:
    client = own_library_client
    before = client.get("/readyz").json()["phrases"]
    (library_copy / "zz_broken.yaml").write_text(broken, encoding="utf-8")
    response = client.post("/v1/admin/reload", headers={"Authorization": f"Bearer {KEY}"})
    body = assert_error(response, 422, "invalid_library")
    assert body["details"]
    assert any("zz_broken.yaml" in d["field"] for d in body["details"])
    assert client.get("/readyz").json()["phrases"] == before
    assert len(suggest(client, BARGAIN)["suggestions"]) == 3


# --- bad input is never a 500 ---------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "status", "error"),
    [
        ('{"text": "亲,能便宜点吗"', "application/json", 400, "invalid_json"),
        ('{"text": "亲,能便宜点吗"}', "text/plain", 415, "unsupported_media_type"),
        ("text=亲,能便宜点吗", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        ('{"text": 12345}', "application/json", 422, "validation_error"),
        ('{"text": ""}', "application/json", 422, "validation_error"),
        ('{"text": "  \\n\\t "}', "application/json", 422, "validation_error"),
        ('{"text": "\\ud800"}', "application/json", 422, "validation_error"),
        ('{"text": "亲,能便宜点吗", "k": 0}', "application/json", 422, "validation_error"),
        ('{"text": "亲,能便宜点吗", "k": 11}', "application/json", 422, "validation_error"),
        ('{"text": "亲,能便宜点吗", "k": true}', "application/json", 422, "validation_error"),
        ('{"text": "亲,能便宜点吗", "k": "3"}', "application/json", 422, "validation_error"),
        ('{"text": "亲,能便宜点吗", "colour": "red"}', "application/json", 422, "validation_error"),
        ("[1, 2, 3]", "application/json", 422, "validation_error"),
    ],
    ids=[
        "invalid-json",
        "text-plain",
        "form",
        "number-text",
        "empty-text",
        "blank-text",
        "lone-surrogate",
        "k-0",
        "k-11",
        "k-true",
        "k-string",
        "extra-field",
        "not-an-object",
    ],
)
def test_bad_suggest_bodies_get_a_client_error(
    client: TestClient, body: str, content_type: str, status: int, error: str
) -> None:
    response = client.post(
        "/v1/suggest", content=body.encode(), headers={"content-type": content_type}
    )
    assert_error(response, status, error)


@pytest.mark.parametrize(
    "body",
    [b'{"text": "\xe4\xbd"}', ("[" * 3000 + "]" * 3000).encode()],
    ids=["not-utf8", "deeply-nested"],
)
def test_undecodable_body_is_reported_as_invalid_json(client: TestClient, body: bytes) -> None:
    assert_error(post_raw(client, "/v1/suggest", body), 400, "invalid_json")


def test_unknown_field_is_named_in_the_details(client: TestClient) -> None:
    response = client.post("/v1/suggest", json={"text": BARGAIN, "colour": "red"})
    body = assert_error(response, 422, "validation_error")
    assert [d["field"] for d in body["details"]] == ["body.colour"]


def test_unknown_shop_type_lists_the_known_ones(client: TestClient) -> None:
    response = client.post("/v1/suggest", json={"text": BARGAIN, "shop_type": "jd"})
    body = assert_error(response, 422, "validation_error")
    assert "taobao" in body["message"]
    assert "tmall" in body["message"]


@pytest.mark.parametrize("path", ["/v1/suggest", "/v1/check"])
def test_text_over_2000_characters_is_413(client: TestClient, path: str) -> None:
    response = client.post(path, json={"text": "亲" * 2001})
    assert_error(response, 413)
    assert client.post(path, json={"text": "亲" * 2000}).status_code == 200


def test_body_over_1_mib_is_413(client: TestClient) -> None:
    body = json.dumps({"text": "x" * (1 << 20)})
    assert_error(post_raw(client, "/v1/suggest", body), 413, "body_too_large")


def test_chunked_body_over_1_mib_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    response = client.post(
        "/v1/suggest", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "body_too_large")


def _without_ids(body: dict[str, Any]) -> dict[str, Any]:
    body.pop("request_id", None)
    for s in body.get("suggestions", ()):
        s.pop("suggestion_id")
    return body


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/v1/suggest", {"text": BARGAIN, "k": 2, "shop_type": "tmall"}),
        ("/v1/check", {"text": PII_DRAFT}),
    ],
)
def test_hot_routes_answer_plain_json_themselves_and_exactly_as_the_documented_route(
    make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch, path: str, fields: dict[str, Any]
) -> None:
    taken: list[bool] = []
    parse = FastJsonRoute._parse

    def noting(route: FastJsonRoute, request: Any, body: bytes) -> Any:
        parsed = parse(route, request, body)
        taken.append(parsed is not None)
        return parsed

    monkeypatch.setattr(FastJsonRoute, "_parse", noting)
    client = make_client()
    body = json.dumps(fields, ensure_ascii=False).encode()
    fast = client.post(path, content=body, headers={"content-type": "application/json"})
    # A JSON media type the fast path leaves to FastAPI: the documented route answers.
    documented = client.post(
        path, content=body, headers={"content-type": "application/vnd.api+json"}
    )
    refused = post_raw(client, path, json.dumps({**fields, "shop_type": "jd"}))
    assert taken == [True, False, False]
    assert fast.status_code == documented.status_code == 200
    assert _without_ids(fast.json()) == _without_ids(documented.json())
    assert_error(refused, 422, "validation_error")
    found = samples(client)
    served = [v for n, lab, v in found if n == "quickphrase_http_requests_total"
              and lab["route"] == path and lab["status"] == "200"]  # fmt: skip
    assert served == [2.0]


@pytest.mark.parametrize("agent_id", ["a\u0000b", "agent\n7", "\x7f"])
def test_an_id_with_control_characters_is_422(
    client: TestClient, agent_id: str
) -> None:
    for path in ("/v1/suggest", "/v1/check"):
        response = client.post(path, json={"text": BARGAIN, "agent_id": agent_id})
        body = assert_error(response, 422, "validation_error")
        assert body["details"][0]["field"] == "body.agent_id"


def test_the_loaded_engine_is_kept_out_of_garbage_collection(make_client: ClientFactory) -> None:
    gc.unfreeze()
    make_client()
    # The libraries and engine leave ~100k long-lived objects: a full collection
    # walking them would stall every queued request for tens of ms.
    assert gc.get_freeze_count() > 50_000


@pytest.mark.parametrize("path", ["/v1/suggest", "/v1/check", "/v1/classify", "/v1/feedback"])
def test_get_on_a_post_route_is_405_json(client: TestClient, path: str) -> None:
    assert_error(client.get(path), 405, "method_not_allowed")


def test_unknown_path_is_404_json(client: TestClient) -> None:
    assert_error(client.get("/v1/nothing-here"), 404, "not_found")


# --- API key ------------------------------------------------------------------------


@pytest.fixture
def exposed(make_client: ClientFactory) -> TestClient:
    """An app bound off loopback, with an API key."""
    return make_client(host="0.0.0.0", api_key=KEY)


@pytest.mark.parametrize(
    "headers", [{}, {"X-API-Key": "wrong-key-0000"}, {"Authorization": "Bearer wrong-key-0000"}]
)
def test_off_loopback_suggest_without_the_right_key_is_401(
    exposed: TestClient, headers: dict[str, str]
) -> None:
    response = exposed.post("/v1/suggest", json={"text": BARGAIN}, headers=headers)
    body = assert_error(response, 401, "unauthorized")
    assert KEY not in json.dumps(body)


@pytest.mark.parametrize(
    "headers", [{"X-API-Key": KEY}, {"Authorization": f"Bearer {KEY}"}], ids=["header", "bearer"]
)
def test_off_loopback_suggest_with_the_key_is_served(
    exposed: TestClient, headers: dict[str, str]
) -> None:
    response = exposed.post("/v1/suggest", json={"text": BARGAIN}, headers=headers)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/check"),
        ("POST", "/v1/classify"),
        ("POST", "/v1/feedback"),
        ("GET", "/v1/phrases"),
        ("GET", "/v1/stats"),
        ("GET", "/metrics"),
    ],
)
def test_off_loopback_every_client_route_needs_the_key(
    exposed: TestClient, method: str, path: str
) -> None:
    assert_error(exposed.request(method, path), 401, "unauthorized")


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/openapi.json", "/docs"])
def test_off_loopback_probes_and_docs_are_open(exposed: TestClient, path: str) -> None:
    assert exposed.get(path).status_code == 200


def test_off_loopback_metrics_are_served_with_the_key(exposed: TestClient) -> None:
    exposed.post("/v1/suggest", json={"text": BARGAIN}, headers={"X-API-Key": KEY})
    found = samples(exposed, **{"X-API-Key": KEY})
    assert ("quickphrase_intents_served_total", {"intent": "bargaining"}, 1.0) in found


def test_on_loopback_clients_need_no_key_but_admin_does(make_client: ClientFactory) -> None:
    client = make_client(api_key=KEY)
    assert client.post("/v1/suggest", json={"text": BARGAIN}).status_code == 200
    assert_error(client.post("/v1/admin/reload"), 401, "unauthorized")
    assert client.post("/v1/admin/reload", headers={"X-API-Key": KEY}).status_code == 200


# --- probes and metrics ------------------------------------------------------------------


def test_healthz_says_ok(client: TestClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_counts_what_is_loaded(client: TestClient, engine: Engine) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["phrases"] == len(engine.library.phrases) > 0
    assert body["intents"] == len(engine.classifier.labels)
    assert body["rules"] > 0
    assert body["featurizer"] == ("native" if features.NATIVE_AVAILABLE else "numpy")
    assert body["segmenter"] == ("native" if segment.NATIVE_AVAILABLE else "jieba")


def test_metrics_count_requests_latency_intents_and_blocks(client: TestClient) -> None:
    suggest(client, BARGAIN)
    client.post("/v1/check", json={"text": PROMISE})
    found = samples(client)

    def value(name: str, **labels: str) -> float:
        return sum(v for n, lab, v in found if n == name and labels.items() <= lab.items())

    assert value("quickphrase_http_requests_total", route="/v1/suggest", status="200") == 1
    assert value("quickphrase_http_requests_total", route="/v1/check", method="POST") == 1
    buckets = [
        lab
        for n, lab, _ in found
        if n == "quickphrase_http_request_duration_seconds_bucket"
        and lab.get("route") == "/v1/suggest"
    ]
    assert buckets
    assert all("le" in lab for lab in buckets)
    assert value("quickphrase_intents_served_total", intent="bargaining") == 1
    assert value("quickphrase_compliance_blocks_total", category="delivery_promise") == 1


def test_metrics_count_unknown_paths_without_the_raw_path(client: TestClient) -> None:
    client.get("/wp-admin/secret-9f8e7d")
    found = samples(client)
    routes = {lab["route"] for _, lab, _ in found if "route" in lab}
    assert "unmatched" in routes
    assert not any("secret-9f8e7d" in v for _, lab, _ in found for v in lab.values())
    assert any(
        n == "quickphrase_http_requests_total"
        and lab.get("route") == "unmatched"
        and lab.get("status") == "404"
        for n, lab, _ in found
    )


# --- privacy of logs ------------------------------------------------------------------------

SECRET_TEXT = "我的手机号13912345678地址是杭州西湖区文三路99号"
SECRET_PHONE = "13912345678"


def _leaks(records: list[logging.LogRecord]) -> list[str]:
    """Every captured log line or field that quotes the buyer's text."""
    found = []
    for record in records:
        parts = [record.getMessage(), *map(str, vars(record).values())]
        found += [p for p in parts if SECRET_PHONE in p or "文三路" in p]
    return found


@pytest.mark.parametrize("access_log", [False, True], ids=["default", "access-log"])
def test_buyer_text_never_reaches_the_logs(
    make_client: ClientFactory, caplog: pytest.LogCaptureFixture, access_log: bool
) -> None:
    caplog.set_level(logging.INFO)
    client = make_client(access_log=access_log)
    sid = suggest(client, SECRET_TEXT, agent_id="agent-7")["suggestions"]
    client.post("/v1/check", json={"text": SECRET_TEXT})
    client.post("/v1/classify", json=[SECRET_TEXT])
    if sid:
        feedback(
            client, suggestion_id=sid[0]["suggestion_id"], action="edited", final_text=SECRET_TEXT
        )
    feedback(client, phrase_id="greeting.welcome_shop", action="edited", final_text=SECRET_TEXT)
    client.post("/v1/suggest", json={"text": SECRET_TEXT, "k": 99})
    assert caplog.records  # the capture works: the sidecar logged that it is ready
    if access_log:
        assert any(getattr(r, "route", None) == "/v1/suggest" for r in caplog.records)
    assert _leaks(caplog.records) == []


def test_internal_error_is_a_500_whose_log_does_not_quote_the_text(
    make_client: ClientFactory,
    engine: Engine,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken_suggest(text: str, **_: Any) -> Any:
        raise ValueError(f"cannot handle {text!r}")

    monkeypatch.setattr(engine, "suggest", broken_suggest)
    caplog.set_level(logging.INFO)
    client = make_client(raise_server_exceptions=False)
    response = client.post("/v1/suggest", json={"text": SECRET_TEXT})
    body = assert_error(response, 500, "internal_error")
    assert SECRET_PHONE not in json.dumps(body, ensure_ascii=False)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors
    assert any("ValueError" in str(vars(r)) for r in errors)  # where it failed is logged
    assert _leaks(caplog.records) == []


# --- startup errors ---------------------------------------------------------------------------


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "model"
    shutil.copytree(BUNDLED_MODEL_DIR, copy)
    return copy


@pytest.mark.parametrize("missing", [ONNX_FILE, FEATURES_FILE, METADATA_FILE])
def test_startup_fails_naming_a_missing_model_file(
    model_copy: Path, tmp_path: Path, missing: str
) -> None:
    (model_copy / missing).unlink()
    with pytest.raises(StartupError, match=missing):
        create_app(Settings(db=tmp_path / "x.sqlite3", model=model_copy))
    assert not (tmp_path / "x.sqlite3").exists()


def test_startup_fails_naming_a_corrupt_onnx_file(model_copy: Path, tmp_path: Path) -> None:
    (model_copy / ONNX_FILE).write_bytes(b"\x00garbage\xff" * 100)
    with pytest.raises(StartupError) as raised:
        create_app(Settings(db=tmp_path / "x.sqlite3", model=model_copy))
    assert str(model_copy / ONNX_FILE) in str(raised.value)


def test_startup_fails_naming_a_broken_library_file(library_copy: Path, tmp_path: Path) -> None:
    (library_copy / "in_sale.yaml").write_text("phrases: [unclosed\n  - id: x: y\n")
    with pytest.raises(StartupError) as raised:
        create_app(Settings(db=tmp_path / "x.sqlite3", phrases=library_copy))
    assert str(library_copy / "in_sale.yaml") in str(raised.value)


def test_startup_fails_naming_a_db_that_cannot_be_created(engine: Engine, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    db = blocker / "feedback.sqlite3"
    with pytest.raises(StartupError) as raised:
        create_app(Settings(db=db), engine=engine)
    assert str(db) in str(raised.value)


# --- quickphrase serve ---------------------------------------------------------------------------


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    """Runs ``quickphrase serve`` without ever listening, and puts the logging
    configuration it installs back afterwards."""
    import uvicorn

    def no_listening(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("serve would have started listening")

    monkeypatch.setattr(uvicorn, "run", no_listening)
    root = logging.getLogger()
    root_level = root.level
    servers = [logging.getLogger(n) for n in ("uvicorn", "uvicorn.error", "uvicorn.access")]
    saved = [(lg, lg.handlers[:], lg.propagate) for lg in servers]
    runner = CliRunner()
    yield lambda *args: runner.invoke(cli_app, ["serve", *map(str, args)])
    # pytest re-adds its own capture handlers each phase: drop only the sidecar's.
    ours = (logs.KeyValueFormatter, logs.JsonFormatter)
    root.handlers[:] = [h for h in root.handlers if not isinstance(h.formatter, ours)]
    root.setLevel(root_level)
    for lg, handlers, propagate in saved:
        lg.handlers[:] = handlers
        lg.propagate = propagate


def test_serve_with_a_broken_model_exits_3_naming_the_file(
    serve: Callable[..., Any], model_copy: Path, tmp_path: Path
) -> None:
    (model_copy / METADATA_FILE).unlink()
    result = serve("--model", model_copy, "--db", tmp_path / "x.sqlite3")
    assert result.exit_code == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert str(model_copy / METADATA_FILE) in lines[0]
    assert "Traceback" not in result.output


def test_serve_off_loopback_without_a_key_exits_3(
    serve: Callable[..., Any], tmp_path: Path
) -> None:
    result = serve("--host", "0.0.0.0", "--db", tmp_path / "x.sqlite3")
    assert result.exit_code == 3
    assert result.stderr.startswith("error: ")
    assert "API key" in result.stderr
    assert "Traceback" not in result.output


def test_serve_with_a_missing_config_file_exits_3(
    serve: Callable[..., Any], tmp_path: Path
) -> None:
    config = tmp_path / "nowhere.toml"
    result = serve("--config", config, "--db", tmp_path / "x.sqlite3")
    assert result.exit_code == 3
    assert str(config) in result.stderr
    assert "Traceback" not in result.output


def test_serve_with_zero_workers_exits_2(serve: Callable[..., Any], tmp_path: Path) -> None:
    result = serve("--workers", "0", "--db", tmp_path / "x.sqlite3")
    assert result.exit_code == 2
    assert "workers" in result.stderr
    assert "Traceback" not in result.output


# --- settings -----------------------------------------------------------------------------------


def test_settings_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("QUICKPHRASE_PORT", "9100")
    monkeypatch.setenv("QUICKPHRASE_HOST", "10.1.2.3")
    monkeypatch.setenv("QUICKPHRASE_API_KEY", KEY)
    monkeypatch.setenv("QUICKPHRASE_ACCESS_LOG", "true")
    monkeypatch.setenv("QUICKPHRASE_DISABLE_RULES", '["extreme_claim"]')
    settings = Settings(db=tmp_path / "x.sqlite3")
    assert (settings.port, settings.host) == (9100, "10.1.2.3")
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == KEY
    assert settings.access_log is True
    assert settings.disable_rules == ["extreme_claim"]


def test_settings_are_read_from_a_toml_file(tmp_path: Path) -> None:
    config = tmp_path / "sidecar.toml"
    config.write_text('port = 9001\nworkers = 2\nlog-level = "debug"\nlog_json = true\n')
    settings = Settings(config=config, db=tmp_path / "x.sqlite3")
    assert (settings.port, settings.workers, settings.log_level) == (9001, 2, "debug")
    assert settings.log_json is True


def test_settings_are_read_from_a_yaml_file(tmp_path: Path) -> None:
    config = tmp_path / "sidecar.yaml"
    config.write_text("port: 9005\nworkers: 3\ndisable_rules: [extreme_claim]\n")
    settings = Settings(config=config, db=tmp_path / "x.sqlite3")
    assert (settings.port, settings.workers) == (9005, 3)
    assert settings.disable_rules == ["extreme_claim"]


def test_config_file_named_by_the_environment_is_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "sidecar.yaml"
    config.write_text("port: 9006\n")
    monkeypatch.setenv("QUICKPHRASE_CONFIG", str(config))
    assert Settings(db=tmp_path / "x.sqlite3").port == 9006


def test_arguments_beat_environment_which_beats_the_config_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "sidecar.toml"
    config.write_text("port = 9001\nworkers = 2\nsync_seconds = 7.5\n")
    monkeypatch.setenv("QUICKPHRASE_PORT", "9002")
    monkeypatch.setenv("QUICKPHRASE_WORKERS", "4")
    settings = Settings(config=config, db=tmp_path / "x.sqlite3", port=9003)
    assert settings.port == 9003  # argument over environment and file
    assert settings.workers == 4  # environment over file
    assert settings.sync_seconds == 7.5  # file over default


def test_config_file_with_an_unknown_key_is_rejected(tmp_path: Path) -> None:
    config = tmp_path / "sidecar.toml"
    config.write_text('port = 9001\ncolour = "blue"\n')
    with pytest.raises(ValidationError, match="colour"):
        Settings(config=config, db=tmp_path / "x.sqlite3")


def test_paths_in_a_config_file_are_relative_to_it(tmp_path: Path) -> None:
    config = tmp_path / "conf" / "sidecar.yaml"
    config.parent.mkdir()
    config.write_text("db: data/feedback.sqlite3\nrules: [shop_rules.yaml]\n")
    settings = Settings(config=config)
    assert settings.db == config.parent / "data" / "feedback.sqlite3"
    assert settings.rules == [config.parent / "shop_rules.yaml"]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("10.1.2.3", False),
        ("0.0.0.0", False),
        ("cs-sidecar.internal", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool, tmp_path: Path) -> None:
    assert Settings(host=host, db=tmp_path / "x.sqlite3").loopback is loopback


def test_api_key_must_not_be_trivially_short(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="api_key"):
        Settings(api_key="abc", db=tmp_path / "x.sqlite3")
