"""Load test of the HTTP sidecar (issue: sidecar HTTP service), on loopback only.

Starts ``quickphrase serve`` (one worker, a throwaway SQLite file) unless
``--url`` names a running one, then measures, in one session:

- cold start: from spawning the process to the first ``/readyz`` 200;
- the latency curve: ``POST /v1/suggest`` at rising fixed rates (open loop:
  each request has a scheduled send time and its latency is counted from it,
  so a stalled server cannot hide its queue), until errors appear, p99
  passes 100 ms or the achieved rate falls short: the last rate before that
  is the saturation throughput;
- a sustained run at ``--rate`` (default 1,000 requests/s) for ``--duration``
  seconds (default 60): errors, p50/p90/p99/max latency, and the server's
  resident memory sampled every second (growth from the end of the first 5 s);
- the baseline in the same session: ``GET /healthz`` through the same server
  and client at the same rate, i.e. what HTTP alone costs.

Messages are the dev set's buyer messages (never trained on), in a shuffled
cycle. Every loop is bounded in count and time and only loopback is a target.

Usage: python benchmarks/load_sidecar.py [--rate 1000] [--duration 60] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from quickphrase.training.corpus import Corpus

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "sidecar.json"
CONNECTIONS = 64
MAX_SECONDS_PER_STEP = 120  # hard stop for any one measurement


@dataclass
class Run:
    rate: float
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    sent: int = 0

    def summary(self) -> dict[str, float | int]:
        lat = sorted(self.latencies) or [float("nan")]

        def pct(q: float) -> float:
            return round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 3)

        return {
            "target_rps": self.rate,
            "achieved_rps": round(len(self.latencies) / self.seconds, 1),
            "requests": self.sent,
            "errors": self.errors,
            "p50_ms": pct(0.50),
            "p90_ms": pct(0.90),
            "p99_ms": pct(0.99),
            "max_ms": round(lat[-1] * 1000, 3),
        }


class Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough of the protocol."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self.reader.readexactly(length)
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def build_requests(
    host: str, path: str, bodies: list[bytes] | None, api_key: str | None
) -> list[bytes]:
    auth = f"X-API-Key: {api_key}\r\n".encode() if api_key else b""
    if bodies is None:
        return [f"GET {path} HTTP/1.1\r\nHost: {host}\r\n".encode() + auth + b"\r\n"]
    return [
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n".encode()
        + auth
        + b"\r\n"
        + body
        for body in bodies
    ]


async def open_loop(
    host: str, port: int, requests: list[bytes], rate: float, seconds: float
) -> Run:
    """Send ``rate`` requests/s for ``seconds`` on a schedule; latency from the schedule."""
    run = Run(rate, seconds)
    total = int(rate * seconds)
    queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
    connections = [Connection(host, port) for _ in range(CONNECTIONS)]
    deadline = time.perf_counter() + seconds + MAX_SECONDS_PER_STEP

    async def worker(conn: Connection) -> None:
        while (item := await queue.get()) is not None:
            scheduled, raw = item
            if time.perf_counter() > deadline:
                run.errors += 1
                continue
            try:
                status, _ = await conn.request(raw)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                conn.close()
                run.errors += 1
                continue
            if status != 200:
                run.errors += 1
                continue
            run.latencies.append(time.perf_counter() - scheduled)

    workers = [asyncio.create_task(worker(c)) for c in connections]
    start = time.perf_counter()
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((scheduled, requests[i % len(requests)]))
        run.sent += 1
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    for c in connections:
        c.close()
    return run


def sample_rss(pid: int, stop: asyncio.Event, samples: list[tuple[float, int]]) -> asyncio.Task:
    process = psutil.Process(pid)

    async def loop() -> None:
        start = time.perf_counter()
        while not stop.is_set():
            samples.append((time.perf_counter() - start, process.memory_info().rss))
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    return asyncio.create_task(loop())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, timeout: float, process: subprocess.Popen | None = None) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=1) as response:
                if response.status == 200:
                    return time.perf_counter() - start
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.01)
    raise SystemExit(f"{url} was not ready within {timeout:.0f} s")


def start_server(port: int, db: Path, workers: int) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("quickphrase")
    cmd = [str(exe), "serve", "--port", str(port), "--db", str(db), "--log-level", "warning"]
    cmd += ["--workers", str(workers)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def suggest_bodies(limit: int) -> list[bytes]:
    texts = [e.text for e in Corpus.load().dev]
    random.Random(7).shuffle(texts)
    return [json.dumps({"text": t}, ensure_ascii=False).encode() for t in texts[:limit]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running sidecar on loopback (default: start one)")
    parser.add_argument("--api-key", default=os.environ.get("QUICKPHRASE_API_KEY"))
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--workers", type=int, default=1, help="worker processes to start")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to save the results")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--step-seconds", type=float, default=8.0)
    parser.add_argument("--quick", action="store_true", help="short steps, for a smoke run")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.step_seconds = 10.0, 3.0

    process = None
    tmp = tempfile.TemporaryDirectory()
    if args.url:
        url = args.url.rstrip("/")
        host = urlsplit(url).hostname or ""
        port = urlsplit(url).port or 80
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise SystemExit("only a sidecar on loopback may be load-tested")
        cold_start = None
    else:
        host, port = "127.0.0.1", free_port()
        url = f"http://{host}:{port}"
        process = start_server(port, Path(tmp.name) / "feedback.sqlite3", args.workers)
        cold_start = wait_ready(url, 30, process)
        print(f"cold start to ready: {cold_start:.2f} s")
    bodies = suggest_bodies(10_000)
    suggest = build_requests(host, "/v1/suggest", bodies, args.api_key)
    health = build_requests(host, "/healthz", None, args.api_key)
    results: dict[str, object] = {
        "workers": None if args.url else args.workers,
        "cold_start_s": cold_start,
        "connections": CONNECTIONS,
    }
    try:
        results.update(asyncio.run(measure(host, port, suggest, health, process, args)))
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        tmp.cleanup()
    print(json.dumps(results, indent=2))
    if not args.no_save:
        args.out.parent.mkdir(exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")


async def measure(
    host: str,
    port: int,
    suggest: list[bytes],
    health: list[bytes],
    process: subprocess.Popen | None,
    args: argparse.Namespace,
) -> dict[str, object]:
    try:
        import uvloop  # the client's overhead is not what is measured

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    await open_loop(host, port, suggest, 200, 2)  # warm-up: caches, connections
    curve = []
    for rate in (250, 500, 750, 1000, 1250, 1500, 2000, 2500, 3000):
        run = await open_loop(host, port, suggest, rate, args.step_seconds)
        row = run.summary()
        curve.append(row)
        print("curve", row)
        if row["errors"] or row["p99_ms"] > 100 or row["achieved_rps"] < 0.9 * rate:
            break
    good = [r for r in curve if not r["errors"] and r["p99_ms"] <= 100]
    saturation = max((r["achieved_rps"] for r in good), default=0.0)

    samples: list[tuple[float, int]] = []
    stop = asyncio.Event()
    sampler = sample_rss(process.pid, stop, samples) if process else None  # the main process
    sustained = await open_loop(host, port, suggest, args.rate, args.duration)
    stop.set()
    if sampler:
        await sampler
    row = sustained.summary()
    print("sustained", row)
    memory = None
    if samples:
        after_warmup = next((rss for t, rss in samples if t >= 5), samples[0][1])
        end = samples[-1][1]
        memory = {
            "rss_after_5s_mb": round(after_warmup / 2**20, 1),
            "rss_end_mb": round(end / 2**20, 1),
            "growth_pct": round(100 * (end - after_warmup) / after_warmup, 2),
        }
        print("memory", memory)
    baseline = (await open_loop(host, port, health, args.rate, min(args.duration, 10))).summary()
    print("baseline /healthz", baseline)
    return {
        "curve": curve,
        "saturation_rps": saturation,
        "sustained": row,
        "memory": memory,
        "baseline_healthz": baseline,
        "p99_ratio_to_healthz": round(row["p99_ms"] / baseline["p99_ms"], 2),
    }


if __name__ == "__main__":
    main()
