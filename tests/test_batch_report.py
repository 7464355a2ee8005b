"""The HTML report of the offline batch scorer: what it shows, and that it stays bounded."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from quickphrase.service.batch.report import (
    BatchSummary,
    ReportBuilder,
    UnansweredCounter,
    cluster_texts,
    hour_of,
)
from quickphrase.service.sidecar.store import FeedbackEvent, FeedbackStore, Served

SECTIONS = ("summary", "intents", "coverage", "confidence", "unanswered", "compliance", "replies")
PHONE = "13812345678"


# --- building records ----------------------------------------------------------


def suggestion(text: str, intent: str = "stock", n: int = 1) -> dict[str, Any]:
    return {"phrase_id": f"{intent}.{n}", "text": text, "intent": intent, "score": 0.8}


def buyer(
    text: str = "有货吗",
    *,
    intent: str = "stock",
    confidence: float = 0.9,
    suggestions: Sequence[str] = ("亲，有货的哦",),
    timestamp: str | None = "2026-11-22 14:03:05",
    conversation_id: str | None = None,
    intents: Sequence[tuple[str, float]] | None = None,
    row: int = 1,
) -> dict[str, Any]:
    """A scored buyer line; no suggestions means the engine abstained."""
    return {
        "row": row,
        "role": "buyer",
        "conversation_id": conversation_id,
        "agent_id": None,
        "timestamp": timestamp,
        "shop_type": "taobao",
        "text": text,
        "intent": intent,
        "confidence": confidence,
        "intents": [{"intent": i, "score": s} for i, s in (intents or [(intent, confidence)])],
        "suggestions": [suggestion(t, intent, n) for n, t in enumerate(suggestions, 1)],
        "verdict": None,
        "violations": None,
        "redacted": None,
    }


def unanswered(text: str, *, intent: str = "other", confidence: float = 0.3, **kw: Any) -> dict:
    return buyer(text, intent=intent, confidence=confidence, suggestions=(), **kw)


def agent(
    text: str = "亲，在的",
    *,
    verdict: str = "pass",
    violations: Iterable[tuple[str, str]] = (),
    redacted: str | None = None,
    agent_id: str | None = "agent-1",
    conversation_id: str | None = None,
    timestamp: str | None = "2026-11-22 14:04:00",
) -> dict[str, Any]:
    """A checked agent line; violations are (category, severity) pairs."""
    return {
        "row": 1,
        "role": "agent",
        "conversation_id": conversation_id,
        "agent_id": agent_id,
        "timestamp": timestamp,
        "shop_type": "tmall",
        "text": text,
        "intent": None,
        "confidence": None,
        "intents": None,
        "suggestions": None,
        "verdict": verdict,
        "violations": [
            {"rule": f"{c}.rule", "category": c, "severity": s, "start": 0, "end": 2}
            for c, s in violations
        ],
        "redacted": text if redacted is None else redacted,
    }


def summary(records: int = 0, rejected: int = 0) -> BatchSummary:
    return BatchSummary(
        source="chats.jsonl",
        lines_read=records + rejected,
        scored=records,
        rejected=rejected,
        seconds=1.5,
    )


# --- reading the report ----------------------------------------------------------


class ReportParser(HTMLParser):
    """Tables by id (rows by data-key), sections, chart figures, links, visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, dict[str, list[str]]] = {}
        self.sections: list[str] = []
        self.charts: list[dict[str, Any]] = []
        self.hours: dict[str, int] = {}
        self.links: list[str] = []
        self.scripts = 0
        self.html_lang: str | None = None
        self.charset: str | None = None
        self.text: list[str] = []
        self._table: str | None = None
        self._row: list[str] | None = None
        self._row_key: str | None = None
        self._cell: list[str] | None = None
        self._hour: str | None = None
        self._figure: dict[str, Any] | None = None
        self._in_figcaption = False
        self._in_svg = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for name in ("src", "href", "xlink:href"):
            if a.get(name):
                self.links.append(a[name] or "")
        if tag == "html":
            self.html_lang = a.get("lang")
        elif tag == "meta" and a.get("charset"):
            self.charset = a["charset"]
        elif tag == "script":
            self.scripts += 1
        elif tag == "section":
            self.sections.append(a.get("id") or "")
        elif tag == "table":
            self._table = a.get("id") or ""
            self.tables[self._table] = {}
        elif tag == "tr" and self._table is not None:
            self._row, self._row_key = [], a.get("data-key")
        elif tag == "td" and self._row is not None:
            self._cell, self._hour = [], a.get("data-hour")
        elif tag == "figure" and "chart" in (a.get("class") or ""):
            self._figure = {"id": a.get("id"), "svg": 0, "caption": ""}
        elif tag == "figcaption":
            self._in_figcaption = True
        elif tag == "svg":
            self._in_svg += 1
            if self._figure is not None:
                self._figure["svg"] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._row is not None:
            cell = " | ".join(part.strip() for part in self._cell if part.strip())
            self._row.append(cell)
            if self._hour is not None:
                self.hours[self._hour] = int(cell)
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            if self._row_key is not None:
                self.tables[self._table][self._row_key] = self._row
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "figure" and self._figure is not None:
            self.charts.append(self._figure)
            self._figure = None
        elif tag == "figcaption":
            self._in_figcaption = False
        elif tag == "svg":
            self._in_svg -= 1

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._in_figcaption and self._figure is not None:
            self._figure["caption"] += data
        if not self._in_svg:
            self.text.append(data)

    @property
    def visible_text(self) -> str:
        return " ".join(" ".join(self.text).split())


class Report:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.html = path.read_text(encoding="utf-8")
        self.parsed = ReportParser()
        self.parsed.feed(self.html)
        self.parsed.close()

    def table(self, table_id: str) -> dict[str, list[str]]:
        return self.parsed.tables[table_id]

    def count(self, table_id: str, key: str, column: int = 1) -> int:
        return int(self.table(table_id)[key][column].replace(",", ""))

    @property
    def text(self) -> str:
        return self.parsed.visible_text


def write_report(
    tmp_path: Path,
    records: Iterable[Mapping[str, Any]],
    *,
    rejected: int = 0,
    **options: Any,
) -> Report:
    builder = ReportBuilder(**options)
    records = list(records)
    for record in records:
        builder.add(record)
    path = tmp_path / "report.html"
    builder.write(path, summary(len(records), rejected))
    return Report(path)


def a_day_of_chats() -> list[dict[str, Any]]:
    """A few hundred lines: buyers of several intents, agents, some rule breaking."""
    records: list[dict[str, Any]] = []
    for i in range(120):
        conversation = f"c{i}"
        records.append(
            buyer(
                "还有货吗",
                suggestions=("亲，有货的哦", "现货秒发"),
                timestamp=f"2026-11-22 {i % 24:02d}:10:00",
                conversation_id=conversation,
            )
        )
        records.append(agent("亲，有货的哦", conversation_id=conversation))
    for i in range(80):
        records.append(
            buyer("能便宜点吗", intent="bargaining", suggestions=("亲，已经是最低价了",))
        )
        records.append(
            agent(
                f"加我微信 {PHONE} 给你便宜",
                verdict="block",
                violations=[("off_platform", "block"), ("pii_leak", "block")],
                redacted="加我微信 ***********给你便宜",
                agent_id=f"agent-{i % 3}",
            )
        )
    for _ in range(30):
        records.append(unanswered("这个能用在卫生间吗"))
    for _ in range(20):
        records.append(unanswered("卫生间可以用吗亲"))
    for _ in range(10):
        records.append(unanswered("你们有实体店吗"))
    records.append(unanswered("<script>alert('买家')</script>"))
    for _ in range(15):
        records.append(agent("全网最低价", verdict="warn", violations=[("extreme_claim", "warn")]))
    return records


@pytest.fixture(scope="module")
def day_report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return write_report(tmp_path_factory.mktemp("day"), a_day_of_chats())


# --- the file ------------------------------------------------------------------------


def test_the_report_is_one_self_contained_utf8_html_file_in_chinese(day_report: Report) -> None:
    parsed = day_report.parsed
    assert day_report.html.startswith("<!DOCTYPE html>")
    assert parsed.html_lang == "zh-CN"
    assert parsed.charset == "utf-8"
    assert parsed.scripts == 0
    assert "<script src" not in day_report.html
    assert not [link for link in parsed.links if re.match(r"(?i)\s*(https?:)?//", link)]
    assert "<?xml" not in day_report.html
    assert "<!DOCTYPE svg" not in day_report.html
    assert "@import" not in day_report.html
    assert "url(http" not in day_report.html


def test_every_section_is_there_with_its_charts_as_inline_svg_figures(day_report: Report) -> None:
    assert day_report.parsed.sections == list(SECTIONS)
    charts = day_report.parsed.charts
    assert {c["id"] for c in charts} >= {
        "chart-intents",
        "chart-hours",
        "chart-confidence",
        "chart-categories",
        "chart-reply-positions",
    }
    assert all(c["svg"] == 1 and c["caption"] for c in charts)
    # matplotlib names elements "figure_1" in every chart: ids must stay unique on the page.
    ids = re.findall(r'\sid="([^"]+)"', day_report.html)
    assert len(ids) == len(set(ids))


def test_the_header_names_the_source_counts_engine_and_time(tmp_path: Path) -> None:
    builder = ReportBuilder()
    builder.add(buyer())
    path = tmp_path / "report.html"
    builder.write(path, BatchSummary("日志/chats.csv", 12_345, 12_000, 345, 61.0, engine="spark"))
    text = Report(path).text
    for expected in ("日志/chats.csv", "12,345", "12,000", "345", "61.0 s", "spark", "Generated"):
        assert expected in text


def test_writing_replaces_the_report_atomically_and_leaves_no_temporary_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "out" / "report.html"
    for text in ("有货吗", "发什么快递"):
        builder = ReportBuilder()
        builder.add(unanswered(text))
        builder.write(path, summary(1))
    assert "发什么快递" in path.read_text(encoding="utf-8")
    assert [p.name for p in path.parent.iterdir()] == ["report.html"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # readable like any file written


def test_charts_leave_matplotlibs_global_state_alone(tmp_path: Path) -> None:
    import matplotlib

    backend, params = matplotlib.get_backend(), dict(matplotlib.rcParams)
    write_report(tmp_path, a_day_of_chats()[:50])
    assert matplotlib.get_backend() == backend
    assert dict(matplotlib.rcParams) == params


# --- intents, hours, coverage, confidence ------------------------------------------------


def test_intent_counts_and_shares_are_those_of_the_buyer_messages(day_report: Report) -> None:
    assert day_report.count("intent-counts", "stock") == 120
    assert day_report.count("intent-counts", "bargaining") == 80
    assert day_report.count("intent-counts", "other") == 61
    assert day_report.table("intent-counts")["stock"][2] == "46.0%"  # 120 of 261
    assert "greeting" not in day_report.table("intent-counts")  # none in the log


@pytest.mark.parametrize(
    ("timestamp", "hour"),
    [
        ("2026-11-22 14:03:05", 14),
        ("2026-11-22T09:03:05+08:00", 9),
        ("2026-11-22T23:59:59Z", 23),
        ("2026/11/22 06:03", 6),
        ("2026-1-5 7:03", 7),
        ("2026年11月22日 20:15", 20),
        ("1763791385", 14),  # epoch seconds, read in China time
        ("1763791385000", 14),  # epoch milliseconds
        (" 1763791385.5 ", 14),
        ("20261122140305", 14),
        ("20261122", None),  # a date alone has no hour
        (None, None),
        ("", None),
        ("yesterday", None),
        ("2026-11-22 25:00", None),
    ],
)
def test_hour_of_reads_every_timestamp_format_of_the_logs(timestamp: str | None, hour: int) -> None:
    assert hour_of(timestamp) == hour


def test_hourly_counts_land_in_the_written_hour_for_each_timestamp_format(tmp_path: Path) -> None:
    # One format per hour, n messages at the n-th, so a misplaced count shows.
    formats = [
        ("2026-11-22 23:03:05", 23),
        ("2026-11-22T09:03:05+08:00", 9),
        ("2026/11/22 06:03", 6),
        ("1763791385", 14),
        (str((1763791385 + 5 * 3600) * 1000), 19),
        ("2026-1-5 7:03", 7),
    ]
    records = [buyer(timestamp=ts) for n, (ts, _) in enumerate(formats, start=1) for _ in range(n)]
    hours = write_report(tmp_path, records).parsed.hours
    expected = {str(hour): n for n, (_, hour) in enumerate(formats, start=1)}
    assert {h: n for h, n in hours.items() if n} == expected
    assert hours["unknown"] == 0


def test_missing_or_unreadable_timestamps_are_counted_as_unknown_hour(tmp_path: Path) -> None:
    records = [buyer(timestamp=ts) for ts in (None, "", "昨天下午", "2026-11-22 99:00", "abc")]
    records.append(buyer(timestamp="2026-11-22 10:00:00"))
    report = write_report(tmp_path, records)
    assert report.parsed.hours["unknown"] == 5
    assert report.parsed.hours["10"] == 1
    assert "Unknown hour: 5 buyer messages" in report.text


def test_the_hour_by_intent_table_splits_each_hour_by_intent(tmp_path: Path) -> None:
    records = [
        buyer(timestamp="2026-11-22 08:00:00"),
        buyer(timestamp="2026-11-22 08:30:00", intent="size"),
        buyer(timestamp="2026-11-22 08:45:00", intent="size"),
    ]
    table = write_report(tmp_path, records).table("hourly-by-intent")
    assert table["stock"][1 + 8] == "1"
    assert table["size"][1 + 8] == "2"


def test_coverage_is_the_share_of_buyer_messages_with_a_suggestion_overall_and_per_intent(
    tmp_path: Path,
) -> None:
    records = [buyer(intent="size") for _ in range(3)]
    records.append(buyer("这个尺码", intent="size", confidence=0.4, suggestions=()))
    records += [unanswered("嗯嗯") for _ in range(4)]
    records.append(agent())  # agent lines are not buyer messages
    report = write_report(tmp_path, records)
    coverage = report.table("coverage-table")
    assert coverage["size"][1:] == ["4", "3", "75.0%"]
    assert coverage["other"][1:] == ["4", "0", "0.0%"]
    assert coverage["all"][1:] == ["8", "3", "37.5%"]
    assert "37.5% of buyer messages" in report.text


def test_the_confidence_histogram_counts_messages_per_bin_of_0_05(tmp_path: Path) -> None:
    confidences = (0.0, 0.03, 0.05, 0.5, 0.97, 1.0, float("nan"))
    report = write_report(tmp_path, [buyer(confidence=c) for c in confidences])
    histogram = report.table("confidence-table")
    assert len(histogram) == 20
    assert report.count("confidence-table", "0.00–0.05") == 2
    assert report.count("confidence-table", "0.05–0.10") == 1
    assert report.count("confidence-table", "0.50–0.55") == 1
    assert report.count("confidence-table", "0.95–1.00") == 2  # 1.0 falls in the last bin


# --- the unanswered queue -------------------------------------------------------------


def test_unanswered_messages_are_grouped_into_clusters_of_similar_questions(
    tmp_path: Path,
) -> None:
    records = [unanswered("这个能用在卫生间吗") for _ in range(5)]
    records += [unanswered("卫生间可以用吗亲") for _ in range(3)]
    records += [unanswered("卫生間可以用嗎親")]  # traditional script: the same text normalised
    records += [unanswered("孕妇可以用吗亲") for _ in range(4)]  # the same frame, another question
    records += [unanswered("你们有实体店吗") for _ in range(2)]
    records += [unanswered(t) for t in ("asdfghjkl", "[图片]", "订单号 3512874469021553812")]
    records += [buyer() for _ in range(10)]  # answered: not in the queue
    clusters = write_report(tmp_path, records).table("clusters")
    biggest = clusters["1"]
    assert biggest[1] == "9"
    assert biggest[4] == "2"  # distinct texts
    assert biggest[5] == "这个能用在卫生间吗 | 卫生间可以用吗亲"
    assert [clusters[rank][5] for rank in ("2", "3")] == ["孕妇可以用吗亲", "你们有实体店吗"]
    assert [clusters[rank][1] for rank in ("2", "3")] == ["4", "2"]
    assert len(clusters) == 6


def test_a_cluster_shows_the_models_most_common_guess(tmp_path: Path) -> None:
    records = [
        unanswered("这个能放洗衣机洗吗", intents=[("other", 0.5), ("product_info", 0.4)]),
        unanswered("能放洗衣机洗吗", intents=[("product_info", 0.45)]),
        unanswered("能放洗衣机洗吗", intent="product_info", confidence=0.42),
        unanswered("？？？", intents=[("other", 0.9)]),
    ]
    clusters = write_report(tmp_path, records).table("clusters")
    assert clusters["1"][1] == "3"
    assert clusters["1"][3] == "product_info"
    assert clusters["2"][3] == "other"


def test_a_cluster_shows_at_most_the_configured_number_of_distinct_examples(
    tmp_path: Path,
) -> None:
    variants = [
        "卫生间可以用吗",
        "卫生间能用吗",
        "卫生间可以用吗亲",
        "这个卫生间能用吗",
        "卫生间用可以吗",
    ]
    records = [unanswered(v) for n, v in enumerate(variants) for _ in range(5 - n)]
    clusters = write_report(tmp_path, records, examples=2).table("clusters")
    assert clusters["1"][1] == "15"
    assert clusters["1"][5] == "卫生间可以用吗 | 卫生间能用吗"  # the most frequent first


def test_clustering_zero_or_one_text_needs_no_model() -> None:
    assert cluster_texts([], 0.7) == []
    assert cluster_texts(["有货吗"], 0.7) == [[0]]


def test_the_bounded_counter_drops_singletons_beyond_max_unanswered_and_says_how_many(
    tmp_path: Path,
) -> None:
    records = [unanswered("卫生间可以用吗") for _ in range(10)]
    records += [unanswered(f"编号{n}的那个还有吗") for n in range(25)]
    report = write_report(tmp_path, records, max_unanswered=20)
    assert report.table("clusters")["1"][1] == "10"
    # The 21st distinct text drops the 20 seen once; the last 5 stay.
    assert "Dropped to bound memory: 20 messages (20 rarely seen distinct texts)" in report.text


def test_pruning_raises_the_bar_until_a_quarter_of_the_room_is_free() -> None:
    counter = UnansweredCounter(capacity=8)
    for n in range(8):
        for _ in range(2 + n % 2):  # texts seen twice or three times: no singleton yet
            counter.add(f"text {n}", f"text {n}", "other")
    counter.add("new text", "new text", "other")
    # Dropping the one singleton is not enough: the four texts seen twice go too.
    assert sorted(counter.entries) == ["text 1", "text 3", "text 5", "text 7"]
    assert counter.dropped_texts == 5
    assert counter.dropped_messages == 1 + 4 * 2


def test_add_keeps_memory_bounded_on_200000_distinct_unanswered_texts() -> None:
    builder = ReportBuilder(max_unanswered=1000, max_conversations=500)
    for n in range(200_000):
        builder.add(unanswered(f"问题{n}", conversation_id=f"c{n}"))
    assert len(builder.unanswered.entries) <= 1000
    assert (
        builder.unanswered.dropped_messages
        + sum(entry[0] for entry in builder.unanswered.entries.values())
        == 200_000
    )
    assert len(builder.replies._last) <= 500


def test_more_unanswered_texts_than_cluster_top_are_counted_but_not_clustered(
    tmp_path: Path,
) -> None:
    records = [unanswered("卫生间可以用吗") for _ in range(3)]
    records += [unanswered(f"第{n}号链接") for n in range(4)]
    report = write_report(tmp_path, records, cluster_top=2)
    assert "Only the 2 most frequent distinct texts were clustered; 3 rarer texts (3 messages)" in (
        report.text
    )


# --- compliance ---------------------------------------------------------------------------


def test_compliance_counts_verdicts_categories_and_agents(day_report: Report) -> None:
    assert day_report.count("verdicts", "pass") == 120
    assert day_report.count("verdicts", "block") == 80
    assert day_report.count("verdicts", "warn") == 15
    categories = day_report.table("categories")
    assert categories["off_platform"][1:3] == ["80", "80"]
    assert categories["extreme_claim"][1:3] == ["15", "0"]
    assert "站外" in categories["off_platform"][3]  # the bundled rule's advice to agents
    agents = day_report.table("agents")
    assert agents["agent-0"][1:4] == ["27", "27", "0"]
    assert agents["agent-1"][1:4] == ["162", "27", "15"]  # and 120 replies that passed
    assert "off_platform (27)" in agents["agent-0"][4]


def test_agent_examples_show_the_redacted_text_and_never_the_personal_data(
    day_report: Report,
) -> None:
    examples = day_report.table("category-examples")
    assert examples["pii_leak"][1] == "加我微信 ***********给你便宜"
    assert PHONE not in day_report.html


def test_category_examples_are_distinct_and_capped(tmp_path: Path) -> None:
    records = [
        agent(f"全网最低价{n % 4}", verdict="warn", violations=[("extreme_claim", "warn")])
        for n in range(20)
    ]
    examples = write_report(tmp_path, records, examples=3).table("category-examples")
    assert examples["extreme_claim"][1] == "全网最低价0 | 全网最低价1 | 全网最低价2"


def test_buyer_text_is_html_escaped(day_report: Report) -> None:
    assert "<script>alert" not in day_report.html
    assert "&lt;script&gt;alert(&#x27;买家&#x27;)&lt;/script&gt;" in day_report.html
    assert day_report.parsed.scripts == 0


def test_a_log_without_agent_lines_says_so(tmp_path: Path) -> None:
    report = write_report(tmp_path, [buyer()])
    assert "No agent replies in this log." in report.text


# --- agent replies vs suggestions ----------------------------------------------------------


def test_reply_matching_counts_matches_by_position_within_the_same_conversation(
    tmp_path: Path,
) -> None:
    offered = ("亲，有现货的哦", "今天下单明天发货", "这款库存充足，放心拍")
    records = [
        # c1: an exact match of the second suggestion, after a greeting line
        buyer(suggestions=offered, conversation_id="c1"),
        agent("亲，在的", conversation_id="c1"),
        agent("今天下单明天发货", conversation_id="c1"),
        agent("今天下单明天发货哈", conversation_id="c1"),  # the same message is matched once
        # c2: the first suggestion lightly edited (bigram Jaccard >= 0.6)
        buyer(suggestions=offered, conversation_id="c2"),
        agent("亲，有现货的哦！", conversation_id="c2"),
        # c3: the reply is about something else
        buyer(suggestions=offered, conversation_id="c3"),
        agent("您好，请问想了解哪款呢", conversation_id="c3"),
        # c4: answers in another conversation and with no conversation are not compared
        buyer(suggestions=offered, conversation_id="c4"),
        agent("这款库存充足，放心拍", conversation_id="c5"),
        agent("这款库存充足，放心拍", conversation_id=None),
        # c6: the engine abstained, so there is nothing to compare
        unanswered("在吗", conversation_id="c6"),
        agent("在的亲", conversation_id="c6"),
        # c7: the reply answers the buyer's last message, not an earlier one
        buyer(suggestions=offered, conversation_id="c7"),
        buyer("发什么快递", suggestions=("默认中通快递",), conversation_id="c7"),
        agent("这款库存充足，放心拍", conversation_id="c7"),
    ]
    report = write_report(tmp_path, records)
    assert report.count("reply-matching", "compared") == 4  # c1, c2, c3, c7
    assert report.count("reply-matching", "matched") == 2
    assert report.count("reply-matching", "position 1") == 1
    assert report.count("reply-matching", "position 2") == 1
    assert report.count("reply-matching", "position 3") == 0
    assert "Agents also answered 1 buyer messages" in report.text


def test_reply_matching_is_skipped_with_a_note_when_no_reply_follows_a_buyer_message(
    tmp_path: Path,
) -> None:
    report = write_report(tmp_path, [buyer(), agent(), agent(conversation_id="c1")])
    assert "replies" in report.parsed.sections
    assert "reply-matching" not in report.parsed.tables
    assert "nothing to compare" in report.text


def test_remembered_conversations_are_bounded_and_the_oldest_forgotten(tmp_path: Path) -> None:
    records = [buyer(conversation_id=f"c{n}") for n in range(5)]
    records += [agent("亲，有货的哦", conversation_id=f"c{n}") for n in range(5)]
    report = write_report(tmp_path, records, max_conversations=3)
    assert report.count("reply-matching", "compared") == 3
    assert report.count("reply-matching", "position 1") == 3


# --- sidecar feedback --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sidecar_stats(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    store = FeedbackStore(tmp_path_factory.mktemp("db") / "feedback.sqlite3", flush_seconds=0.01)
    try:
        for request in range(4):
            served = [Served(f"r{request}-{p}", f"stock.{p}", "stock", p) for p in (1, 2, 3)]
            store.record_suggestions(f"r{request}", served, intent="stock", shop_type="taobao")
        for suggestion_id, action in (
            ("r0-1", "accepted"),
            ("r1-1", "edited"),
            ("r2-2", "rejected"),
        ):
            store.record_feedback(FeedbackEvent(action, suggestion_id=suggestion_id)).result(10)
        return store.stats()
    finally:
        store.close()


def test_the_feedback_section_shows_acceptance_by_position_from_the_sidecar(
    tmp_path: Path, sidecar_stats: dict[str, Any]
) -> None:
    report = write_report(tmp_path, a_day_of_chats()[:20], feedback=sidecar_stats)
    assert report.parsed.sections[-1] == "feedback"
    positions = report.table("feedback-positions")
    assert positions["1"][1:] == ["4", "1", "1", "0", "50.0%"]
    assert positions["2"][1:] == ["4", "0", "0", "1", "0.0%"]
    assert "chart-feedback" in {c["id"] for c in report.parsed.charts}


def test_the_feedback_section_appears_only_when_feedback_is_given(day_report: Report) -> None:
    assert "feedback" not in day_report.parsed.sections


def test_feedback_with_nothing_shown_yet_still_renders(tmp_path: Path) -> None:
    empty = {"suggest_requests": 0, "requests_with_suggestions": 0, "acceptance_by_position": []}
    report = write_report(tmp_path, [buyer()], feedback=empty)
    assert "No suggestion was shown in the sidecar yet." in report.text


# --- empty logs ------------------------------------------------------------------------------


def test_an_empty_log_gives_a_valid_report_saying_there_is_nothing_to_show(tmp_path: Path) -> None:
    report = write_report(tmp_path, [], rejected=3)
    assert report.html.rstrip().endswith("</html>")
    assert report.parsed.sections == ["summary", "empty"]
    assert "there is nothing to show" in report.text
    assert report.parsed.charts == []
    assert "Rejected 3" in report.text


def test_a_log_of_agent_lines_only_still_renders_every_section(tmp_path: Path) -> None:
    report = write_report(
        tmp_path, [agent(), agent(verdict="warn", violations=[("abusive", "warn")])]
    )
    assert report.parsed.sections == list(SECTIONS)
    assert "No buyer messages in this log." in report.text


# --- in a browser ---------------------------------------------------------------------------


def chromium() -> str:
    found = (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )
    if found:
        return found
    if os.environ.get("QUICKPHRASE_REQUIRE_BROWSER") == "1":
        pytest.fail(
            "QUICKPHRASE_REQUIRE_BROWSER=1 but no chromium, chromium-browser or google-chrome "
            "is on PATH: install it (apt-get install -y chromium)"
        )
    pytest.skip("no Chromium on PATH (set QUICKPHRASE_REQUIRE_BROWSER=1 to make this a failure)")


def run_chromium(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_report_renders_in_headless_chromium_with_its_charts(tmp_path: Path) -> None:
    browser = chromium()
    report = write_report(tmp_path, a_day_of_chats())
    url = report.path.resolve().as_uri()

    dumped = run_chromium(browser, tmp_path / "profile-dom", "--dump-dom", url)
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    for section_id in SECTIONS:
        assert f'<section id="{section_id}"' in dom
    assert dom.count("<svg") >= 4

    png = tmp_path / "report.png"
    shot = run_chromium(
        browser, tmp_path / "profile-shot", f"--screenshot={png}", "--window-size=1280,2400", url
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    from matplotlib.image import imread

    pixels = imread(png)
    assert pixels.shape[:2] == (2400, 1280)
    assert pixels.reshape(-1, pixels.shape[-1]).std(axis=0).max() > 0.05  # not one flat colour
