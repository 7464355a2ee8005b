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
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from quickphrase.model.artifact import BUNDLED_MODEL_DIR

QUICKPHRASE = Path(sys.executable).with_name("quickphrase")
READY_SECONDS = 20.0  # from spawning the process to the first /readyz 200
STOP_SECONDS = 10.0  # from SIGTERM to exit
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
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_names = itertools.count()


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    db: Path
    stderr_path: Path
    spawned: float  # time.monotonic() just before Popen
    started_in: float = 0.0  # seconds from Popen to the first /readyz 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env() -> dict[str, str]:
    """The test's environment without any QUICKPHRASE_* setting of the user's."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("QUICKPHRASE_") and k != "PROMETHEUS_MULTIPROC_DIR"
    }


def start_server(tmp_path: Path, db: Path, *args: str) -> Server:
    """``quickphrase serve`` on a free port, once /readyz answers 200.

    Fails with the server's stderr if it exits, logs a traceback or is not
    ready within READY_SECONDS; the process is stopped before failing. A port
    taken by someone else between finding it and binding it is tried again.
    """
    for attempt in range(3):
        server = spawn_server(tmp_path, db, *args)
        try:
            server.started_in = wait_ready(server)
        except BaseException:
            stop_server(server)
            if attempt < 2 and "address already in use" in server.stderr():
                continue
            raise
        return server
    raise AssertionError("unreachable")


def spawn_server(tmp_path: Path, db: Path, *args: str) -> Server:
    port = free_port()
    name = f"server-{next(_names)}"
    stderr_path = tmp_path / f"{name}.stderr"
    command = [str(QUICKPHRASE), "serve", "--port", str(port), "--db", str(db)]
    command += ["--log-level", "warning", *args]
    with (tmp_path / f"{name}.stdout").open("wb") as out, stderr_path.open("wb") as err:
        spawned = time.monotonic()
        proc = subprocess.Popen(
            command, stdout=out, stderr=err, env=server_env(), start_new_session=True
        )
    return Server(proc, port, db, stderr_path, spawned)


def wait_ready(server: Server) -> float:
    """Seconds from spawning the server to its first /readyz 200."""
    deadline = server.spawned + READY_SECONDS
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            pytest.fail(f"the server exited with {server.proc.returncode}:\n{server.stderr()}")
        if "Traceback" in server.stderr():
            pytest.fail(f"the server logged a traceback while starting:\n{server.stderr()}")
        try:
            status, _ = request(server, "GET", "/readyz", timeout=1.0)
        except OSError:
            status = None
        if status == 200:
            return time.monotonic() - server.spawned
        time.sleep(0.05)
    pytest.fail(f"the server was not ready within {READY_SECONDS} s:\n{server.stderr()}")


def stop_server(server: Server) -> int:
    """SIGTERM, then SIGKILL to its whole process group after STOP_SECONDS."""
    proc = server.proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            # The leader is not reaped yet, so its group id still names our processes.
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(STOP_SECONDS)
    return proc.returncode


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


def request(
    server: Server, method: str, path: str, body: Any = None, timeout: float = 10.0
) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"} if data is not None else {}
    req = urllib.request.Request(server.url + path, data=data, method=method, headers=headers)
    try:
        with _NO_PROXY.open(req, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def api(server: Server, method: str, path: str, body: Any = None) -> Any:
    """The JSON answer of a request that must succeed."""
    status, raw = request(server, method, path, body)
    assert status == 200, f"{method} {path} -> {status}: {raw.decode(errors='replace')}"
    return json.loads(raw)


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
