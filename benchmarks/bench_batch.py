"""Benchmark the local batch engine end to end (issue: offline batch scoring).

Generates a buyer-only chat log CSV from the dev set (never trained on; 664
distinct messages, so a real log's repeats are there too) and runs
``quickphrase batch LOG -o OUT.jsonl`` as a user would, in a subprocess,
timing the whole command (start-up included) and, in separate runs, sampling
the peak memory of the command and its worker processes together (RSS and
PSS, every 50 ms). The sampler reads /proc/PID/smaps_rollup, which costs CPU
that two workers need on a two-core machine, so timed runs go unsampled.

This machine's speed drifts by 10-30% from minute to minute, so the
configurations take turns round by round (the order reversed every other
round) and each reports its median: a ratio of two configurations then
compares runs made minutes apart, not one configuration's good minute with
the other's bad one.

Configurations, all in this one session:

- ``2 workers`` vs ``1 worker`` with the default repeat cache: the headline
  throughput on the 1,000,000-line log, and the gain from the second core;
- ``1 worker, on one CPU``: the same pinned to one CPU (``sched_setaffinity``).
  Unpinned, one worker still has the idle second core for the kernel's share
  of its work (writing a gigabyte of output into the page cache, say), so
  "1 worker" vs "2 workers" understates what the second core adds and the
  pinned run overstates it a little: the two bracket it;
- the same two with ``--cache-size 0`` (every line classified and ranked on
  its own: the cost of a log without repeats) on a shorter log, since that is
  several times slower;
- ``2 workers, mixed log``: buyer and agent lines (agent lines get the
  compliance check), with the HTML report, on the shorter log.

Usage: python benchmarks/bench_batch.py [--lines 1000000] [--short 200000] [--rounds 1]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from quickphrase.training.chatlog import ChatLog

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "batch.json"
QUICKPHRASE = Path(sys.executable).parent / "quickphrase"
ONE_CPU = "on one CPU"


def peak_memory(process: psutil.Process, stop: threading.Event, out: list[tuple[int, int]]) -> None:
    """Peak total RSS and PSS of ``process`` and its children.

    RSS counts memory the forked workers share with the parent once per
    process (an overstatement); PSS splits shared pages among them.
    """
    peak_rss = peak_pss = 0
    while not stop.is_set():
        try:
            procs = [process, *process.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        rss = pss = 0
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                info = p.memory_full_info()
                rss += info.rss
                pss += getattr(info, "pss", info.rss)
        peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
        time.sleep(0.05)
    out.append((peak_rss, peak_pss))


def run(
    log: Path, out: Path, *options: str, sample: bool = False, one_cpu: bool = False
) -> dict[str, float]:
    command = [str(QUICKPHRASE), "batch", str(log), "-o", str(out), *options]
    # Replacing the last run's gigabyte would charge this run for freeing it
    # (0.3-0.7 s of system time here), which a first run never pays; and the
    # kernel would write the last runs' output back to disk during this one.
    out.unlink(missing_ok=True)
    os.sync()
    pin = (lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})) if one_cpu else None
    started = time.perf_counter()
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, preexec_fn=pin)
    stop, peak = threading.Event(), []
    sampler = None
    if sample:
        sampler = threading.Thread(target=peak_memory, args=(psutil.Process(proc.pid), stop, peak))
        sampler.start()
    _, err = proc.communicate()
    seconds = time.perf_counter() - started
    if sampler is not None:
        stop.set()
        sampler.join()
    if proc.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{err}")
    lines = int(re.search(r"([\d,]+) lines read", err).group(1).replace(",", ""))
    # The command's own summary times the scoring alone, without start-up.
    scoring = float(re.search(r" in ([\d.]+) s", err).group(1))
    result = {
        "seconds": seconds,
        "lines": lines,
        "lines_per_s": lines / seconds,
        "scoring_lines_per_s": lines / scoring,
    }
    if sample:
        result |= {"peak_rss_mb": peak[0][0] / 2**20, "peak_pss_mb": peak[0][1] / 2**20}
    return result


def measure(
    rounds: int, configs: dict[str, tuple[Path, list[str]]], out: Path
) -> dict[str, dict[str, Any]]:
    # A configuration named "... on one CPU" runs pinned to a single CPU.
    """Time every configuration ``rounds`` times in turns, then sample memory once each."""
    timed: dict[str, list[dict[str, float]]] = {name: [] for name in configs}
    for round_ in range(rounds):
        order = list(configs) if round_ % 2 == 0 else list(configs)[::-1]
        for name in order:
            log, options = configs[name]
            timed[name].append(run(log, out, *options, one_cpu=name.endswith(ONE_CPU)))
            print(
                f"round {round_ + 1}/{rounds} {name:32} "
                f"{timed[name][-1]['lines_per_s']:,.0f} lines/s",
                file=sys.stderr,
                flush=True,
            )
    summary = {}
    for name, results in timed.items():
        log, options = configs[name]
        memory = run(log, out, *options, sample=True, one_cpu=name.endswith(ONE_CPU))
        summary[name] = {
            "lines": results[0]["lines"],
            "seconds_median": round(statistics.median(r["seconds"] for r in results), 2),
            "lines_per_s_median": round(statistics.median(r["lines_per_s"] for r in results)),
            "lines_per_s_range": [
                round(min(r["lines_per_s"] for r in results)),
                round(max(r["lines_per_s"] for r in results)),
            ],
            "scoring_lines_per_s_median": round(
                statistics.median(r["scoring_lines_per_s"] for r in results)
            ),
            "lines_per_s_each_round": [round(r["lines_per_s"]) for r in results],
            "scoring_lines_per_s_each_round": [round(r["scoring_lines_per_s"]) for r in results],
            "peak_rss_mb": round(memory["peak_rss_mb"], 1),
            "peak_pss_mb": round(memory["peak_pss_mb"], 1),
            "rounds": rounds,
        }
        print(f"{name:32} {json.dumps(summary[name])}", flush=True)
    return summary


def gain(runs: dict[str, dict[str, Any]], two: str, one: str, kind: str = "") -> dict[str, Any]:
    """Two workers' speed over one's: the ratio of the medians, and the median
    of each round's ratio (runs minutes apart, so less exposed to a slow spell)."""
    each = [
        a / b
        for a, b in zip(
            runs[two][f"{kind}lines_per_s_each_round"],
            runs[one][f"{kind}lines_per_s_each_round"],
            strict=True,
        )
    ]
    return {
        "of_medians": round(
            runs[two][f"{kind}lines_per_s_median"] / runs[one][f"{kind}lines_per_s_median"], 2
        ),
        "median_of_rounds": round(statistics.median(each), 2),
        "rounds": [round(r, 2) for r in each],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--short", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    chats = ChatLog.from_dev_sets()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        big = chats.write_csv(tmp / "log.csv", args.lines, agents=False)
        short = chats.write_csv(tmp / "short.csv", args.short, agents=False)
        mixed = chats.write_csv(tmp / "mixed.csv", args.short, seed=1)
        out = tmp / "out.jsonl"
        runs = measure(
            args.rounds,
            {
                "2 workers": (big, ["--workers", "2"]),
                "1 worker": (big, ["--workers", "1"]),
                f"1 worker, {ONE_CPU}": (big, ["--workers", "1"]),
                "2 workers, no cache": (short, ["--workers", "2", "--cache-size", "0"]),
                "1 worker, no cache": (short, ["--workers", "1", "--cache-size", "0"]),
                "2 workers, mixed log + report": (
                    mixed,
                    ["--workers", "2", "--report", str(tmp / "report.html")],
                ),
            },
            out,
        )
    results = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "log": {
            "lines": args.lines,
            "short_lines": args.short,
            "distinct_buyer_messages": len(set(chats.buyer)),
        },
        "runs": runs,
        "gain_two_cores_over_one": gain(runs, "2 workers", "1 worker"),
        "gain_two_cores_over_one_pinned": gain(runs, "2 workers", f"1 worker, {ONE_CPU}"),
        "scoring_gain_two_cores_over_one": gain(runs, "2 workers", "1 worker", "scoring_"),
        "gain_two_cores_over_one_no_cache": gain(runs, "2 workers, no cache", "1 worker, no cache"),
        "scoring_gain_two_cores_over_one_no_cache": gain(
            runs, "2 workers, no cache", "1 worker, no cache", "scoring_"
        ),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in results.items() if "gain" in k}))


if __name__ == "__main__":
    main()
