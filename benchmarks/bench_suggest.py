"""Benchmark suggestions and the compliance filter (issue: phrase library, ranker, compliance).

Measured in one run on this machine:

- suggestion quality on the dev set (never trained on): share of messages whose
  first suggestion, or one of the first three, is for a labelled intent (an
  ``other`` message counts when nothing is suggested), for both shop types,
  and on the multi-intent dev messages;
- compliance recall per category and false-block rate on the labelled sets,
  for the shipped filter (rules and risk model) and the rules alone:
  ``rule_tuning_*`` were read while writing the rules and are risk-model
  training data, ``risk_dev`` chose the model and its thresholds, and
  ``holdout`` was never used for either;
- in-process latency medians over every message, several rounds:
  ``classify`` alone (the baseline: what the ranker adds is the difference),
  ``suggest`` (classify, rank, fill, filter) and ``rank`` alone;
  ``check`` on 100-character replies, against two baselines in the same
  process: the rules alone, and every rule without the literal prefilter.

Usage: python benchmarks/bench_suggest.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from quickphrase.engine import Engine
from quickphrase.model.normalize import canonical_chars
from quickphrase.phrases.compliance import ComplianceFilter
from quickphrase.phrases.evaluation import read_labelled, score_compliance, score_suggestions
from quickphrase.phrases.ranker import Context
from quickphrase.training.corpus import Corpus
from quickphrase.training.risk import DEV_FILE as RISK_DEV_FILE
from quickphrase.training.risk import TRAIN_DIR as RISK_TRAIN_DIR

ROOT = Path(__file__).resolve().parent.parent
HOLDOUT = ROOT / "tests" / "data" / "compliance" / "holdout.jsonl"
RESULTS = ROOT / "benchmarks" / "results" / "suggest.json"
REPLY_CHARS = 100


def median_us(fn: Callable[[str], object], items: Sequence[str], rounds: int) -> float:
    """Median per-call latency over every item, best of ``rounds`` rounds."""
    best = []
    for _ in range(rounds):
        times = []
        for item in items:
            start = time.perf_counter()
            fn(item)
            times.append(time.perf_counter() - start)
        best.append(statistics.median(times) * 1e6)
    return min(best)


def brute_force_check(compliance: ComplianceFilter, text: str, shop: str = "taobao") -> list:
    """The filter without its prefilter: every rule on every reply."""
    canonical = canonical_chars(text)
    return [
        (rule.id, span)
        for rule in compliance.rules
        if shop in rule.shop_types
        for span in rule.find(canonical)
    ]


def replies_of(length: int, texts: Sequence[str]) -> list[str]:
    """Replies of exactly ``length`` characters: each text continued with the next ones."""
    out = []
    for i in range(len(texts)):
        reply, j = "", i
        while len(reply) < length:
            reply += texts[j % len(texts)] + "。"
            j += 1
        out.append(reply[:length])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    engine = Engine()
    corpus = Corpus.load()
    dev_texts = [e.text for e in corpus.dev]
    results: dict = {"dev_messages": len(dev_texts)}

    quality = {}
    for shop in ("taobao", "tmall"):
        found = list(engine.suggest_many(dev_texts, Context(shop)))
        quality[shop] = score_suggestions(
            [[s.intent for s in r.suggestions] for r in found], [[e.intent] for e in corpus.dev]
        ).to_dict()
    multi = list(engine.suggest_many([m.text for m in corpus.multi]))
    quality["multi_intent"] = score_suggestions(
        [[s.intent for s in r.suggestions] for r in multi], [m.intents for m in corpus.multi]
    ).to_dict()
    quality["multi_intent"]["first_two_cover_two_asked_intents"] = round(
        sum(
            len({s.intent for s in r.suggestions[:2]} & set(m.intents)) >= min(2, len(m.intents))
            for r, m in zip(multi, corpus.multi, strict=True)
        )
        / len(multi),
        4,
    )
    results["suggestions"] = quality
    print(json.dumps(quality, ensure_ascii=False), file=sys.stderr)

    compliance = engine.compliance
    rules_only = ComplianceFilter.load(risk_model=False)
    labelled_sets = {p.stem: p for p in sorted(RISK_TRAIN_DIR.glob("rule_tuning_*.jsonl"))}
    labelled_sets |= {"risk_dev": RISK_DEV_FILE, "holdout": HOLDOUT}
    results["compliance"] = {}
    for name, path in labelled_sets.items():
        rows = read_labelled(path)
        results["compliance"][name] = {}
        for filter_name, which in (("shipped", compliance), ("rules_only", rules_only)):
            report = score_compliance(which, rows).to_dict()
            report["misses"] = len(report["misses"])
            results["compliance"][name][filter_name] = report
            print(name, filter_name, json.dumps(report, ensure_ascii=False), file=sys.stderr)

    predictions = {t: engine.classify(t) for t in dev_texts}
    context = Context()
    classify_us = median_us(engine.classify, dev_texts, args.rounds)
    suggest_us = median_us(engine.suggest, dev_texts, args.rounds)
    rank_us = median_us(
        lambda t: engine.ranker.rank(predictions[t], context), dev_texts, args.rounds
    )

    phrase_texts = [p.fill(engine.library.defaults()) or p.text for p in engine.library.phrases]
    safe_replies = replies_of(REPLY_CHARS, phrase_texts)
    labelled = [r.text for r in read_labelled(RISK_DEV_FILE)]
    mixed_replies = replies_of(REPLY_CHARS, labelled)
    check_safe_us = median_us(engine.check, safe_replies, args.rounds)
    check_mixed_us = median_us(engine.check, mixed_replies, args.rounds)
    rules_us = median_us(rules_only.check, safe_replies, args.rounds)
    brute_us = median_us(lambda t: brute_force_check(compliance, t), safe_replies, args.rounds)
    results["latency_us"] = {
        "classify_median": round(classify_us, 1),
        "suggest_median": round(suggest_us, 1),
        "rank_median": round(rank_us, 1),
        "suggest_over_classify_ratio": round(suggest_us / classify_us, 3),
        "check_100_chars_library_replies_median": round(check_safe_us, 1),
        "check_100_chars_labelled_replies_median": round(check_mixed_us, 1),
        "check_rules_only_median": round(rules_us, 1),
        "check_over_rules_only_ratio": round(check_safe_us / rules_us, 2),
        "rules_without_prefilter_median": round(brute_us, 1),
        "prefilter_speedup": round(brute_us / rules_us, 2),
    }
    results["targets"] = {
        "top1_at_least_0.93": min(quality[s]["top1_intent_rate"] for s in ("taobao", "tmall"))
        >= 0.93,
        "top3_at_least_0.97": min(quality[s]["top3_intent_rate"] for s in ("taobao", "tmall"))
        >= 0.97,
        "suggest_under_150us": suggest_us < 150,
        "check_under_50us": check_safe_us < 50,
        "holdout_recall_at_least_0.97": min(
            r for c, r in results["compliance"]["holdout"]["shipped"]["recall"].items()
            if c != "extreme_claim"
        )
        >= 0.97,
        "holdout_false_blocks_at_most_1pct": results["compliance"]["holdout"]["shipped"][
            "false_block_rate"
        ]
        <= 0.01,
    }
    results["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results["latency_us"], indent=2))
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
