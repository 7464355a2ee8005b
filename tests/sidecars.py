"""Sidecars for tests: real ``quickphrase serve`` processes (start on a free
port, call, stop) and waiting on an in-process app's statistics.

Shared by the sidecar's tests and the hotkey helper's.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

QUICKPHRASE = Path(sys.executable).with_name("quickphrase")
READY_SECONDS = 20.0  # from spawning the process to the first /readyz 200
STOP_SECONDS = 10.0  # from SIGTERM to exit
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


def wait_for_stats(
    client: TestClient, ready: Callable[[dict[str, Any]], bool], timeout: float = 5.0
) -> dict[str, Any]:
    """GET /v1/stats until ``ready`` holds (the sidecar commits statistics in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get("/v1/stats")
        assert response.status_code == 200, response.text
        stats = response.json()
        if ready(stats) or time.monotonic() > deadline:
            return stats
        time.sleep(0.02)
