"""The sidecar as it runs in production: a real ``quickphrase serve`` process.

Each test starts its own server on a free loopback port with a throwaway
SQLite file and stops it at the end (SIGTERM, then SIGKILL after 10 s).
"""

from __future__ import annotations

import http.client
import itertools
import json
import multiprocessing
import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from quickphrase.model.artifact import BUNDLED_MODEL_DIR

from .sidecars import (
    QUICKPHRASE,
    STOP_SECONDS,
    Server,
    api,
    free_port,
    request,
    server_env,
    start_server,
    stop_server,
)

BUYER_MESSAGES = [
    "亲,能便宜点吗",
    "什么时候发货呀",
    "发顺丰吗",
    "165 110斤穿什么码",
    "快递到哪了",
    "包邮吗",
    "可以退货吗",
    "有优惠券吗",
]

@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start servers with ``launch(db, *flags)``; all are stopped at teardown."""
    servers: list[Server] = []

    def _launch(db: Path, *args: str) -> Server:
        server = start_server(tmp_path, db, *args)
        servers.append(server)
        return server

    yield _launch
    for server in servers:
        stop_server(server)


def suggest(server: Server, text: str, k: int = 3) -> dict[str, Any]:
    return api(server, "POST", "/v1/suggest", {"text": text, "k": k})


def stored_event_ids(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT event_id FROM feedback WHERE event_id IS NOT NULL")
        return {event_id for (event_id,) in rows}


# --- a request's round trip, and a graceful stop ---------------------------------


def test_suggest_then_feedback_shows_in_stats_and_sigterm_stops_gracefully(
    launch: Callable[..., Server], tmp_path: Path
) -> None:
    db = tmp_path / "feedback.sqlite3"
    server = launch(db)

    answer = suggest(server, "什么时候发货呀")
    assert answer["intent"] == "shipping_eta"
    assert [s["position"] for s in answer["suggestions"]] == [1, 2, 3]
    second = answer["suggestions"][1]

    recorded = api(
        server,
        "POST",
        "/v1/feedback",
        {"suggestion_id": second["suggestion_id"], "action": "accepted"},
    )
    assert recorded["stored"] is True
    assert recorded["counted"] is True
    assert (recorded["phrase_id"], recorded["position"]) == (second["phrase_id"], 2)

    stats = api(server, "GET", "/v1/stats")
    assert stats["suggest_requests"] == 1
    assert stats["suggestions_served"] == 3
    assert stats["feedback"] == {"accepted": 1}
    by_position = {row["position"]: row for row in stats["acceptance_by_position"]}
    assert by_position[2]["accepted"] == 1
    assert by_position[1]["accepted"] == by_position[3]["accepted"] == 0

    server.proc.send_signal(signal.SIGTERM)
    try:
        server.proc.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the server did not stop within {STOP_SECONDS} s of SIGTERM")
    assert server.proc.returncode in (0, -signal.SIGTERM)
    assert "Traceback" not in server.stderr()
    # SQLite removes the write-ahead log when the last connection closes cleanly.
    assert not db.with_name(db.name + "-wal").exists(), "the store was not closed"


def test_sigterm_exits_with_code_0(launch: Callable[..., Server], tmp_path: Path) -> None:
    server = launch(tmp_path / "feedback.sqlite3")
    assert stop_server(server) == 0


# --- durability -------------------------------------------------------------------


@dataclass
class Writer:
    """One client posting feedback events until the server goes away."""

    port: int
    tag: str
    targets: list[dict[str, Any]]
    deadline: float
    acknowledged: list[str] = field(default_factory=list)
    refused: list[tuple[int, bytes]] = field(default_factory=list)
    ended_by: BaseException | None = None

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            for n in itertools.count():
                if time.monotonic() > self.deadline:
                    return
                event_id = f"{self.tag}-{n}"
                body = {
                    **self.targets[n % len(self.targets)],
                    "action": ("accepted", "edited", "rejected")[n % 3],
                    "event_id": event_id,
                }
                try:
                    conn.request(
                        "POST",
                        "/v1/feedback",
                        json.dumps(body).encode(),
                        {"Content-Type": "application/json"},
                    )
                    response = conn.getresponse()
                    raw = response.read()
                except (OSError, http.client.HTTPException) as exc:
                    self.ended_by = exc
                    return
                if 200 <= response.status < 300:
                    self.acknowledged.append(event_id)
                else:
                    self.refused.append((response.status, raw))
        finally:
            conn.close()


def write_until_killed(
    server: Server, targets: list[dict[str, Any]], seconds: float, tag: str, clients: int = 6
) -> set[str]:
    """Post feedback from concurrent clients, SIGKILL the server after ``seconds``
    while they are still writing, and return the event ids acknowledged with a 2xx."""
    deadline = time.monotonic() + seconds + 20  # only if the kill did not stop them
    writers = [Writer(server.port, f"{tag}-c{c}", targets, deadline) for c in range(clients)]
    threads = [threading.Thread(target=w.run, daemon=True) for w in writers]
    for thread in threads:
        thread.start()
    time.sleep(seconds)  # let them write
    assert all(t.is_alive() for t in threads), "a client stopped before the kill"
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(STOP_SECONDS)
    for thread in threads:
        thread.join(timeout=30)
    assert not any(t.is_alive() for t in threads), "a client hung after the kill"
    for w in writers:
        assert w.ended_by is not None, f"{w.tag} was not stopped by the kill"
        assert not w.refused, f"{w.tag} had events refused: {w.refused[:3]}"
        assert w.acknowledged, f"{w.tag} had no event acknowledged"
    return {event_id for w in writers for event_id in w.acknowledged}


def test_no_acknowledged_feedback_is_lost_when_the_server_is_killed(
    launch: Callable[..., Server], tmp_path: Path
) -> None:
    db = tmp_path / "feedback.sqlite3"
    server = launch(db)
    targets: list[dict[str, Any]] = []
    for n in range(30):
        for s in suggest(server, BUYER_MESSAGES[n % len(BUYER_MESSAGES)])["suggestions"]:
            targets.append({"suggestion_id": s["suggestion_id"]})
            targets.append({"phrase_id": s["phrase_id"], "intent": s["intent"]})
    assert len(targets) >= 60

    acknowledged: set[str] = set()
    for round_no, seconds in enumerate((1.0, 1.5)):
        if round_no:
            server = launch(db)  # starts on the database the kill left behind
        acked = write_until_killed(server, targets, seconds, tag=f"r{round_no}")
        print(f"round {round_no}: {len(acked)} events acknowledged before the kill")
        assert len(acked) >= 50, f"round {round_no}: only {len(acked)} events acknowledged"
        acknowledged |= acked

    restarted = launch(db)
    stored = stored_event_ids(db)
    lost = acknowledged - stored
    assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged events lost"
    stats = api(restarted, "GET", "/v1/stats")
    assert sum(stats["feedback"].values()) == len(stored)


# --- restarts, workers, startup ---------------------------------------------------


def test_feedback_survives_a_restart_in_stats_and_rankings(
    launch: Callable[..., Server], tmp_path: Path
) -> None:
    db = tmp_path / "feedback.sqlite3"
    first = launch(db)
    fresh = suggest(first, "发顺丰吗")["suggestions"]
    for s, action in zip(fresh, ("accepted", "edited", "rejected"), strict=True):
        api(first, "POST", "/v1/feedback", {"suggestion_id": s["suggestion_id"], "action": action})
    third = fresh[2]
    for _ in range(10):  # the agents keep picking the third phrase by hand
        api(
            first,
            "POST",
            "/v1/feedback",
            {"phrase_id": third["phrase_id"], "intent": third["intent"], "action": "accepted"},
        )
    before = api(first, "GET", "/v1/stats")
    assert before["feedback"] == {"accepted": 11, "edited": 1, "rejected": 1}
    stop_server(first)

    second = launch(db)
    assert _in_order(api(second, "GET", "/v1/stats")) == _in_order(before)
    later = {s["phrase_id"]: s["score"] for s in suggest(second, "发顺丰吗")["suggestions"]}
    assert third["phrase_id"] in later
    assert later[third["phrase_id"]] > third["score"], "acceptance learned before was lost"


def _in_order(stats: dict[str, Any]) -> dict[str, Any]:
    """Stats with the per-phrase rows sorted (phrases shown equally often tie)."""
    return {
        **stats,
        "acceptance_by_phrase": sorted(stats["acceptance_by_phrase"], key=str),
    }


def _samples(metrics_text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(metrics_text)
        for sample in family.samples
        if sample.name == name
    }


def test_two_workers_serve_suggestions_and_metrics_summed_over_workers(
    launch: Callable[..., Server], tmp_path: Path
) -> None:
    if "spawn" not in multiprocessing.get_all_start_methods():
        pytest.skip("worker processes cannot be spawned on this platform")
    server = launch(tmp_path / "feedback.sqlite3", "--workers", "2")
    for text in BUYER_MESSAGES[:4]:  # a new connection each: either worker may answer
        assert len(suggest(server, text)["suggestions"]) >= 1

    status, raw = request(server, "GET", "/metrics")
    assert status == 200
    requests = _samples(raw.decode(), "quickphrase_http_requests_total")
    key = (("method", "POST"), ("route", "/v1/suggest"), ("status", "200"))
    assert requests.get(key) == 4
    assert stop_server(server) in (0, -signal.SIGTERM)


def test_a_missing_model_file_stops_startup_with_exit_code_3_naming_it(tmp_path: Path) -> None:
    model = tmp_path / "model"
    shutil.copytree(BUNDLED_MODEL_DIR, model)
    (model / "features.json").unlink()
    db = tmp_path / "feedback.sqlite3"
    command = [str(QUICKPHRASE), "serve", "--model", str(model), "--db", str(db)]
    command += ["--port", str(free_port()), "--log-level", "warning"]

    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, env=server_env(), timeout=30)
    took = time.monotonic() - started

    assert done.returncode == 3, done.stderr
    assert str(model / "features.json") in done.stderr
    assert "Traceback" not in done.stderr
    assert took < 10, f"took {took:.1f} s to give up"


def test_cold_start_is_ready_within_10_seconds(
    launch: Callable[..., Server], tmp_path: Path
) -> None:
    server = launch(tmp_path / "feedback.sqlite3")
    print(f"cold start: {server.started_in:.2f} s from spawn to the first /readyz 200")
    assert server.started_in < 10
