"""Benchmark the intent model against a keyword baseline and fastText+jieba.

Everything is measured in one run, on the same dev set and the same machine:

- accuracy and macro-F1 on the dev set (never trained on), multi-intent recall;
- single-message latency, normalisation to intents, median over every dev
  message and several rounds, the systems alternating round by round;
- large-batch throughput with a process per core for both systems;
- import plus model load time, in fresh interpreters.

The baseline is fastText behind jieba's own cut (``Segmenter(native=False)``),
as the target is set. Quickphrase cuts with its compiled copy of jieba's
dictionary cut (same tokens); for transparency the latency section also
times fastText behind that cutter (``fasttext_native_cut``).

Usage: python benchmarks/bench_intent.py [--rounds 5] [--batch 100000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

from quickphrase.model import IntentClassifier, Segmenter, normalize
from quickphrase.training.baselines import FastTextBaseline, KeywordBaseline
from quickphrase.training.corpus import Corpus
from quickphrase.training.evaluate import multi_intent_scores
from quickphrase.training.pipeline import TextPreparer

_worker: dict = {}


def _init_qp() -> None:
    _worker["clf"] = IntentClassifier()


def _run_qp(texts: list[str]) -> int:
    return len(_worker["clf"].predict_many(texts))


def _init_ft(model_path: str) -> None:
    import fasttext

    _worker["ft"] = fasttext.load_model(model_path)
    _worker["seg"] = Segmenter(native=False)


def _run_ft(texts: list[str]) -> int:
    ft, seg = _worker["ft"], _worker["seg"]
    for text in texts:
        ft.f.predict(seg.words(normalize(text)) + "\n", 1, 0.0, "strict")
    return len(texts)


def throughput(init, init_args, run, texts: list[str], processes: int, chunk: int = 2000) -> float:
    chunks = [texts[i : i + chunk] for i in range(0, len(texts), chunk)]
    with get_context("spawn").Pool(processes, initializer=init, initargs=init_args) as pool:
        pool.map(run, chunks[:processes])  # warm up every worker
        start = time.perf_counter()
        done = sum(pool.map(run, chunks, chunksize=1))
        elapsed = time.perf_counter() - start
    return done / elapsed


def load_time(repeats: int = 5) -> dict[str, float]:
    code = (
        "import time; t=time.perf_counter(); "
        "from quickphrase.model import IntentClassifier; c=IntentClassifier(); "
        "c.predict('在吗'); print(time.perf_counter()-t)"
    )
    inside, wall = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        wall.append(time.perf_counter() - start)
        inside.append(float(out.stdout.strip()))
    return {
        "import_and_load_s": statistics.median(inside),
        "process_wall_s": statistics.median(wall),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5, help="throughput runs per system")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()

    corpus = Corpus.load()
    dev_texts = [ex.text for ex in corpus.dev]
    gold = [ex.intent for ex in corpus.dev]
    prepare = TextPreparer()
    clf = IntentClassifier()
    keyword = KeywordBaseline()
    print("training fastText on the same corpus...", file=sys.stderr)
    ft = FastTextBaseline().fit(corpus.train, prepare([ex.text for ex in corpus.train]))
    jieba_cut = Segmenter(native=False)

    def ft_predict(text: str) -> str:
        return ft.predict_words(jieba_cut.words(normalize(text)))[0]

    native_cut = prepare.segmenter

    def ft_native_predict(text: str) -> str:
        return ft.predict_words(native_cut.words(normalize(text)))[0]

    systems = {
        "quickphrase": [p.intent for p in clf.predict_many(dev_texts)],
        "keyword": [keyword.predict(t) for t in dev_texts],
        "fasttext": [ft_predict(t) for t in dev_texts],
    }
    accuracy = {
        name: {
            "accuracy": float(np.mean(np.asarray(pred) == np.asarray(gold))),
            "macro_f1": float(f1_score(gold, pred, average="macro")),
        }
        for name, pred in systems.items()
    }
    multi = multi_intent_scores(clf, corpus.multi)

    print("timing single messages...", file=sys.stderr)
    # Each system handles the whole dev set message by message, as a sidecar
    # does; they take turns (the order reversed every other round) so all see
    # the same drift of this machine's speed.
    calls = {
        "quickphrase": clf.predict,
        "fasttext": ft_predict,
        "fasttext_native_cut": ft_native_predict,
    }
    timings: dict[str, list[float]] = {name: [] for name in calls}
    for round_ in range(args.rounds + 1):
        order = list(calls) if round_ % 2 == 0 else list(reversed(calls))
        for name in order:
            call, times = calls[name], []
            for text in dev_texts:
                t0 = time.perf_counter()
                call(text)
                times.append(time.perf_counter() - t0)
            if round_:  # round 0 warms caches
                timings[name] += times
    qp_us = statistics.median(timings["quickphrase"]) * 1e6
    ft_us = statistics.median(timings["fasttext"]) * 1e6
    ft_native_us = statistics.median(timings["fasttext_native_cut"]) * 1e6
    latency = {
        "quickphrase_median_us": qp_us,
        "fasttext_jieba_median_us": ft_us,
        "ratio": qp_us / ft_us,
        "fasttext_native_cut_median_us": ft_native_us,
        "ratio_to_fasttext_native_cut": qp_us / ft_native_us,
    }

    print("timing large batches on every core...", file=sys.stderr)
    processes = os.cpu_count() or 1
    big = (dev_texts * (args.batch // len(dev_texts) + 1))[: args.batch]
    with tempfile.TemporaryDirectory() as tmp:
        ft_path = str(Path(tmp) / "ft.bin")
        ft._model.save_model(ft_path)
        # Alternate the two systems and keep medians: this machine's speed
        # drifts by 10-20% from minute to minute.
        ft_runs, qp_runs = [], []
        for _ in range(args.repeats):
            ft_runs.append(throughput(_init_ft, (ft_path,), _run_ft, big, processes))
            qp_runs.append(throughput(_init_qp, (), _run_qp, big, processes))
        ft_rate, qp_rate = statistics.median(ft_runs), statistics.median(qp_runs)
        qp_rate_1 = throughput(_init_qp, (), _run_qp, big[: args.batch // 2], 1)
    batch = {
        "messages": len(big),
        "processes": processes,
        "quickphrase_msgs_per_s": qp_rate,
        "fasttext_jieba_msgs_per_s": ft_rate,
        "ratio": qp_rate / ft_rate,
        "quickphrase_one_process_msgs_per_s": qp_rate_1,
    }
    startup = load_time()

    results = {
        "dev_messages": len(dev_texts),
        "accuracy": accuracy,
        "multi_intent": multi,
        "latency": latency,
        "batch": batch,
        "startup": startup,
        "machine": {"cpus": processes, "python": sys.version.split()[0]},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "intent.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
