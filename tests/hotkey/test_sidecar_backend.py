"""The sidecar backend: the assistant against a sidecar instead of the in-process engine.

A real sidecar app in process (through ``TestClient``): suggestions carry ids,
a pick is reported back as feedback and shows in the statistics, refusals and
a missing API key become error notices. Then a sidecar that is down or is not
a sidecar at all (``httpx.MockTransport``), and feedback that fails, which must
never cost the agent the reply.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from quickphrase.engine import Engine
from quickphrase.service.hotkey.assistant import Assistant
from quickphrase.service.hotkey.backends import (
    API_KEY_HEADER,
    LocalBackend,
    SidecarBackend,
    SidecarUnreachableError,
)
from quickphrase.service.hotkey.panels import CheckPanel, NoticePanel, SuggestPanel

from ..sidecars import wait_for_stats
from .doubles import (
    BARGAIN,
    CANNED_REPLY,
    KEY,
    RISKY_DRAFT,
    SAFE_REPLY,
    SIDECAR_URL,
    FakeClipboard,
    FakeSidecar,
    by_position,
    leaks,
    mock_client,
    mock_sidecar,
    raising,
)

# --- the sidecar backend, against a real sidecar app in process -----------------------------------


def test_sidecar_suggestions_carry_ids_to_report_back(
    sidecar: SidecarBackend, clipboard: FakeClipboard, engine: Engine
) -> None:
    clipboard.text = BARGAIN
    panel = Assistant(sidecar, clipboard).suggest()
    assert isinstance(panel, SuggestPanel)
    assert panel.intent == "bargaining"
    assert [c.position for c in panel.choices] == [1, 2, 3]
    ids = [c.suggestion_id for c in panel.choices]
    assert all(ids)
    assert len(set(ids)) == 3
    assert all(c.text and "{" not in c.text for c in panel.choices)


def test_choosing_a_sidecar_reply_shows_in_stats_as_accepted_at_its_position(
    sidecar: SidecarBackend, app_client: TestClient, clipboard: FakeClipboard
) -> None:
    assistant = Assistant(sidecar, clipboard)
    clipboard.text = BARGAIN
    panel = assistant.suggest()
    assert isinstance(panel, SuggestPanel)
    chosen = assistant.choose(panel, 2)
    assert chosen == panel.choices[1]
    assert clipboard.text == panel.choices[1].text
    stats = wait_for_stats(app_client, lambda s: s["feedback"].get("accepted") == 1)
    assert stats["feedback"] == {"accepted": 1}
    rows = by_position(stats)
    assert rows[2]["accepted"] == 1
    assert rows[1]["accepted"] == rows[3]["accepted"] == 0
    assert rows[2]["shown"] == 1


def test_sidecar_records_the_agent_id_with_the_request_and_the_choice(
    make_app_client: Callable[..., TestClient], tmp_path: Path, clipboard: FakeClipboard
) -> None:
    db = tmp_path / "agents.sqlite3"
    app_client = make_app_client(db=db)
    backend = SidecarBackend("http://testserver", client=app_client)
    assistant = Assistant(backend, clipboard, agent_id="agent-7")
    clipboard.text = BARGAIN
    panel = assistant.suggest()
    assert isinstance(panel, SuggestPanel)
    assert assistant.choose(panel, 2) is not None
    stats = wait_for_stats(app_client, lambda s: s["feedback"].get("accepted") == 1)
    assert by_position(stats)[2]["accepted"] == 1
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT agent_id, position FROM feedback").fetchall() == [
            ("agent-7", 2)
        ]
        assert conn.execute("SELECT agent_id FROM suggest_requests").fetchall() == [("agent-7",)]


def test_sidecar_check_agrees_with_the_local_engine(
    sidecar: SidecarBackend, local: LocalBackend, clipboard: FakeClipboard
) -> None:
    clipboard.text = RISKY_DRAFT
    remote = Assistant(sidecar, clipboard).check()
    here = Assistant(local, clipboard).check()
    assert isinstance(remote, CheckPanel)
    assert isinstance(here, CheckPanel)
    assert remote.verdict == here.verdict == "block"
    assert remote.flags == here.flags
    assert remote.redacted == here.redacted
    assert remote.redacted_problems == here.redacted_problems == ("delivery_promise",)


def test_one_check_through_the_sidecar_counts_once_in_stats(
    sidecar: SidecarBackend, app_client: TestClient, clipboard: FakeClipboard
) -> None:
    clipboard.text = RISKY_DRAFT
    assert isinstance(Assistant(sidecar, clipboard).check(), CheckPanel)
    stats = wait_for_stats(app_client, lambda s: sum(s["checks"].values()) >= 2, timeout=2.0)
    assert stats["checks"] == {"block": 1}


def test_sidecar_refusal_becomes_an_error_notice_with_its_reason(
    sidecar: SidecarBackend, clipboard: FakeClipboard
) -> None:
    clipboard.text = BARGAIN
    panel = Assistant(sidecar, clipboard, shop_type="jd").suggest()
    assert isinstance(panel, NoticePanel)
    assert panel.level == "error"
    assert "422" in panel.message
    assert "shop_type" in panel.message


@pytest.mark.parametrize("action", ["suggest", "check"])
def test_local_engine_with_an_unknown_shop_type_gives_an_error_notice_naming_it(
    local: LocalBackend, clipboard: FakeClipboard, action: str
) -> None:
    clipboard.text = BARGAIN
    panel = getattr(Assistant(local, clipboard, shop_type="jd"), action)()
    assert isinstance(panel, NoticePanel)
    assert panel.level == "error"
    assert "jd" in panel.message


def test_a_sidecar_client_without_a_base_url_still_reaches_the_sidecar(
    app_client: TestClient, clipboard: FakeClipboard
) -> None:
    app_client.base_url = ""  # type: ignore[assignment]
    clipboard.text = BARGAIN
    panel = Assistant(SidecarBackend("http://testserver", client=app_client), clipboard).suggest()
    assert isinstance(panel, SuggestPanel)
    assert panel.choices


def test_sidecar_refusal_of_a_check_becomes_an_error_notice(
    sidecar: SidecarBackend, clipboard: FakeClipboard
) -> None:
    clipboard.text = SAFE_REPLY
    panel = Assistant(sidecar, clipboard, shop_type="jd").check()
    assert isinstance(panel, NoticePanel)
    assert panel.level == "error"
    assert "422" in panel.message


def test_sidecar_that_needs_a_key_says_to_give_api_key(
    make_app_client: Callable[..., TestClient], clipboard: FakeClipboard
) -> None:
    app_client = make_app_client(host="0.0.0.0", api_key=KEY)
    backend = SidecarBackend("http://testserver", client=app_client)
    clipboard.text = BARGAIN
    panel = Assistant(backend, clipboard).suggest()
    assert isinstance(panel, NoticePanel)
    assert panel.level == "error"
    assert "401" in panel.message
    assert "--api-key" in panel.message


def test_sidecar_that_needs_a_key_answers_when_given_it(
    make_app_client: Callable[..., TestClient], clipboard: FakeClipboard
) -> None:
    app_client = make_app_client(host="0.0.0.0", api_key=KEY)
    backend = SidecarBackend("http://testserver", api_key=KEY, client=app_client)
    clipboard.text = BARGAIN
    panel = Assistant(backend, clipboard).suggest()
    assert isinstance(panel, SuggestPanel)
    assert all(c.suggestion_id for c in panel.choices)


def test_sidecar_backend_sends_the_api_key_header() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get(API_KEY_HEADER))
        return httpx.Response(200, json={"status": "ready"})

    SidecarBackend(SIDECAR_URL, api_key=KEY, client=mock_client(handler)).ready()
    SidecarBackend(SIDECAR_URL, client=mock_client(handler)).ready()
    assert seen == [KEY, None]


def test_ready_passes_against_a_running_sidecar(sidecar: SidecarBackend) -> None:
    sidecar.ready()


# --- the sidecar backend when the sidecar is down or odd ------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(raising(httpx.ConnectError("refused")), id="refused"),
        pytest.param(lambda r: httpx.Response(503, json={"error": "x"}), id="503"),
        pytest.param(lambda r: httpx.Response(500, text="oops"), id="500"),
        pytest.param(raising(httpx.ReadTimeout("timed out")), id="timeout"),
    ],
)
def test_sidecar_that_does_not_answer_is_unreachable(
    answer: Callable[[httpx.Request], httpx.Response],
) -> None:
    backend = mock_sidecar(answer)
    with pytest.raises(SidecarUnreachableError, match=SIDECAR_URL):
        backend.suggest(BARGAIN, shop_type="taobao", k=3, agent_id=None)
    with pytest.raises(SidecarUnreachableError):
        backend.ready()


def test_unreachable_sidecar_without_fallback_gives_an_error_notice(
    clipboard: FakeClipboard, fake_sidecar: FakeSidecar
) -> None:
    fake_sidecar.down = True
    clipboard.text = BARGAIN
    panel = Assistant(mock_sidecar(fake_sidecar), clipboard).suggest()
    assert isinstance(panel, NoticePanel)
    assert panel.level == "error"
    assert SIDECAR_URL in panel.message


def test_401_from_anything_says_to_give_api_key(clipboard: FakeClipboard) -> None:
    backend = mock_sidecar(lambda r: httpx.Response(401, json={"error": "unauthorized"}))
    clipboard.text = SAFE_REPLY
    panel = Assistant(backend, clipboard).check()
    assert isinstance(panel, NoticePanel)
    assert panel.level == "error"
    assert "--api-key" in panel.message


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (httpx.Response(200, json={"hello": "world"}), "unknown shape"),
        (httpx.Response(200, json=[1, 2, 3]), "unknown shape"),
        (httpx.Response(200, text="<html>a router login page</html>"), "is it a sidecar"),
        (httpx.Response(404, text="Not Found"), "is it a sidecar"),
    ],
    ids=["wrong-json", "json-list", "html", "html-404"],
)
def test_something_that_is_not_a_sidecar_gives_an_error_notice(
    clipboard: FakeClipboard, answer: httpx.Response, says: str
) -> None:
    backend = mock_sidecar(lambda r: answer)
    clipboard.text = BARGAIN
    panel = Assistant(backend, clipboard).suggest()
    assert isinstance(panel, NoticePanel)
    assert panel.level == "error"
    assert says in panel.message


@pytest.mark.parametrize(
    "answer",
    [
        {"verdict": "maybe", "violations": [], "redacted": "x"},
        {
            "verdict": "block",
            "violations": [
                {
                    "rule": "r",
                    "category": "c",
                    "severity": "fatal",
                    "start": 0,
                    "end": 1,
                    "message": "m",
                }
            ],
            "redacted": "x",
        },
    ],
    ids=["unknown-verdict", "unknown-severity"],
)
def test_a_sidecar_answering_an_unknown_verdict_gives_an_error_notice(
    clipboard: FakeClipboard, answer: dict[str, Any]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answer)

    clipboard.text = SAFE_REPLY
    backend = SidecarBackend(SIDECAR_URL, client=mock_client(handler))
    panel = Assistant(backend, clipboard).check()
    assert isinstance(panel, NoticePanel)
    assert panel.level == "error"
    assert "unknown shape" in panel.message


# --- feedback that fails never costs the agent the reply ------------------------------------------


@pytest.fixture
def sidecar_panel(fake_sidecar: FakeSidecar, clipboard: FakeClipboard) -> SuggestPanel:
    clipboard.text = BARGAIN
    panel = Assistant(mock_sidecar(fake_sidecar), clipboard).suggest()
    assert isinstance(panel, SuggestPanel)
    assert panel.choices[0].suggestion_id == "r1-1"
    return panel


def test_sidecar_down_between_suggest_and_choose_still_copies_the_reply(
    fake_sidecar: FakeSidecar,
    clipboard: FakeClipboard,
    sidecar_panel: SuggestPanel,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_sidecar.feedback_down = True
    assistant = Assistant(mock_sidecar(fake_sidecar), clipboard)
    chosen = assistant.choose(sidecar_panel, 1)
    assert chosen == sidecar_panel.choices[0]
    assert clipboard.text == CANNED_REPLY
    assert fake_sidecar.paths.count("/v1/feedback") == 2  # tried once more
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "not recorded" in warnings[0].getMessage()
    assert "bargaining.coupon_instead" in warnings[0].getMessage()
    assert leaks(caplog.records, [BARGAIN, CANNED_REPLY]) == []


def test_feedback_the_sidecar_refuses_is_logged_and_the_reply_is_still_copied(
    clipboard: FakeClipboard, sidecar_panel: SuggestPanel, caplog: pytest.LogCaptureFixture
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"error": "not_found", "message": "no such suggestion"})

    assistant = Assistant(mock_sidecar(handler), clipboard)
    assert assistant.choose(sidecar_panel, 1) == sidecar_panel.choices[0]
    assert clipboard.text == CANNED_REPLY
    assert any(
        r.levelno == logging.WARNING and "no such suggestion" in r.getMessage()
        for r in caplog.records
    )


def test_feedback_is_retried_once_with_the_same_event_id(
    clipboard: FakeClipboard, sidecar_panel: SuggestPanel, caplog: pytest.LogCaptureFixture
) -> None:
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        if len(bodies) == 1:
            return httpx.Response(503, json={"error": "store_unavailable"})
        return httpx.Response(200, json={"stored": True})

    assistant = Assistant(mock_sidecar(handler), clipboard, agent_id="agent-7")
    assert assistant.choose(sidecar_panel, 1) is not None
    first, second = (json.loads(b) for b in bodies)
    assert first == second
    assert first["suggestion_id"] == "r1-1"
    assert first["action"] == "accepted"
    assert first["agent_id"] == "agent-7"
    assert first["event_id"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_each_choice_gets_its_own_event_id(
    fake_sidecar: FakeSidecar, clipboard: FakeClipboard, sidecar_panel: SuggestPanel
) -> None:
    assistant = Assistant(mock_sidecar(fake_sidecar), clipboard)
    assistant.choose(sidecar_panel, 1)
    assistant.choose(sidecar_panel, 1)
    feedback = [
        json.loads(r.content) for r in fake_sidecar.requests if r.url.path == "/v1/feedback"
    ]
    assert len(feedback) == 2
    assert feedback[0]["event_id"] != feedback[1]["event_id"]
