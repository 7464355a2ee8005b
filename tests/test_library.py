"""The phrase library: the shipped phrases, the YAML schema and its errors, variables."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml

from quickphrase.model.artifact import read_model_files, resolve_model_dir
from quickphrase.phrases.compliance import ComplianceFilter
from quickphrase.phrases.library import (
    BUNDLED_LIBRARY,
    MAX_VARIABLE_CHARS,
    PROFILE_FILE,
    SHOP_TYPES,
    Issue,
    LibraryError,
    Phrase,
    PhraseLibrary,
    Variable,
    load_library,
    read_library,
)

LABELS = read_model_files(resolve_model_dir(None)).labels

# A small valid phrase file; every line is distinct so an edit can target one.
BASE = """\
stage: pre_sale
phrases:
  - id: greeting.welcome
    code: hy
    group: 问候
    intents: [greeting]
    shop_types: [taobao, tmall]
    text: 亲,您好~欢迎光临{shop_name}
  - id: greeting.here
    code: hyzd
    group: 在线
    intents: [greeting, closing]
    shop_types: [tmall, taobao]
    text: 在的亲,请问有什么可以帮您?
"""


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once"
    return text.replace(old, new)


def line_with(text: str, needle: str) -> int:
    """The 1-based number of the only line of ``text`` holding ``needle``."""
    found = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(found) == 1, f"{needle!r} is on lines {found}"
    return found[0]


def make_library(root: Path, **files: str) -> Path:
    """A library directory: the shipped shop profile plus the given phrase files."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(BUNDLED_LIBRARY / PROFILE_FILE, root / PROFILE_FILE)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def the_issue(issues: list[Issue], fragment: str) -> Issue:
    found = [i for i in issues if fragment in i.message]
    assert len(found) == 1, [str(i) for i in issues]
    return found[0]


@pytest.fixture(scope="module")
def shipped() -> PhraseLibrary:
    return load_library(BUNDLED_LIBRARY, intents=LABELS)


# -- the shipped library -------------------------------------------------------


def test_shipped_library_loads_with_no_issues() -> None:
    library, issues = read_library(BUNDLED_LIBRARY, intents=LABELS)
    assert [str(i) for i in issues] == []
    assert library.phrases


def test_shipped_library_has_110_phrases_and_6_distinct_per_intent(
    shipped: PhraseLibrary,
) -> None:
    assert len(shipped.phrases) >= 110
    texts: dict[str, set[str]] = {intent: set() for intent in LABELS}
    for phrase in shipped.phrases:
        for intent in phrase.intents:
            texts[intent].add(phrase.text)
    thin = {i: len(t) for i, t in texts.items() if i != "other" and len(t) < 6}
    assert thin == {}


def test_shipped_ids_and_codes_are_unique_across_files_and_codes_are_ascii() -> None:
    # Read the raw YAML: read_library drops duplicates, so count them here.
    entries = []
    for path in sorted(BUNDLED_LIBRARY.glob("*.yaml")):
        if path.name != PROFILE_FILE:
            entries += yaml.safe_load(path.read_text(encoding="utf-8"))["phrases"]
    ids = Counter(e["id"] for e in entries)
    codes = Counter(e["code"] for e in entries)
    assert {k: n for k, n in ids.items() if n > 1} == {}
    assert {k: n for k, n in codes.items() if n > 1} == {}
    assert [c for c in codes if not (c.isascii() and c.isalpha() and c.islower())] == []
    assert len(entries) >= 110


def test_every_shipped_phrase_may_be_offered_in_each_shop_type_it_declares(
    shipped: PhraseLibrary,
) -> None:
    compliance = ComplianceFilter.load()
    values = shipped.values(
        {
            "tracking_no": "YT1234567890123",
            "order_no": "3605123456789012",
            "product_name": "纯棉T恤",
        }
    )
    blocked = []
    for shop in SHOP_TYPES:
        declared = [p for p in shipped.phrases if shop in p.shop_types]
        assert len(declared) >= 110
        for phrase in declared:
            text = phrase.fill(values)
            assert text is not None, phrase.id
            if compliance.check(text, shop).blocked:
                blocked.append((shop, phrase.id))
    assert blocked == []
    # And both shop types have phrases for every intent.
    for shop in SHOP_TYPES:
        covered = {i for p in shipped.phrases if shop in p.shop_types for i in p.intents}
        assert covered >= set(LABELS) - {"other"}, shop


# -- schema errors: each with its file and line --------------------------------


def test_the_base_file_is_valid(tmp_path: Path) -> None:
    library, issues = read_library(make_library(tmp_path, **{"a.yaml": BASE}), intents=LABELS)
    assert issues == []
    assert [p.id for p in library.phrases] == ["greeting.welcome", "greeting.here"]
    assert library.get("greeting.here").stage == "pre_sale"


@pytest.mark.parametrize(
    ("old", "new", "message", "marker"),
    [
        pytest.param("    code: hyzd\n", "", "missing 'code'", "id: greeting.here", id="missing"),
        pytest.param(
            "    code: hyzd\n",
            "    code: hyzd\n    colour: red\n",
            "unknown field 'colour'",
            "colour: red",
            id="unknown-field",
        ),
        pytest.param("code: hyzd", "code: hy2", "code 'hy2'", "code: hy2", id="code-digit"),
        pytest.param("code: hyzd", "code: HyZd", "code 'HyZd'", "code: HyZd", id="code-upper"),
        pytest.param(
            "code: hyzd", "code: hyzaixian", "code 'hyzaixian'", "code: hyzaixian", id="code-long"
        ),
        pytest.param(
            "    group: 在线\n",
            "    group: 在线\n    stage: during_sale\n",
            "stage must be one of",
            "stage: during_sale",
            id="unknown-stage",
        ),
        pytest.param(
            "shop_types: [tmall, taobao]",
            "shop_types: [tmall, jd]",
            "unknown value 'jd'",
            "shop_types: [tmall, jd]",
            id="unknown-shop-type",
        ),
        pytest.param(
            "    group: 在线\n",
            "    group: 在线\n    order_status: [unpaid, lost]\n",
            "unknown value 'lost'",
            "order_status:",
            id="unknown-order-status",
        ),
        pytest.param(
            "intents: [greeting, closing]",
            "intents: [greeting, haggling]",
            "unknown intent 'haggling'",
            "haggling",
            id="unknown-intent",
        ),
        pytest.param(
            "text: 在的亲,",
            "text: 在的{buyer_nick}亲,",
            "unknown variable {buyer_nick}",
            "buyer_nick",
            id="unknown-variable",
        ),
    ],
)
def test_schema_error_names_the_file_and_line_and_drops_only_that_phrase(
    tmp_path: Path, old: str, new: str, message: str, marker: str
) -> None:
    text = edit(BASE, old, new)
    root = make_library(tmp_path, **{"a.yaml": text})
    library, issues = read_library(root, intents=LABELS)
    issue = the_issue(issues, message)
    line = line_with(text, marker)
    assert (issue.path, issue.line, issue.severity) == (root / "a.yaml", line, "error")
    assert str(issue).startswith(f"{root / 'a.yaml'}:{line}: error: ")
    assert [p.id for p in library.phrases] == ["greeting.welcome"]


def test_unknown_stage_for_the_whole_file_names_its_line(tmp_path: Path) -> None:
    text = edit(BASE, "stage: pre_sale", "stage: presale")
    root = make_library(tmp_path, **{"a.yaml": text})
    _, issues = read_library(root)
    issue = the_issue(issues, "unknown stage 'presale'")
    assert (issue.path, issue.line) == (root / "a.yaml", 1)


def test_unknown_intents_are_errors_only_when_the_known_intents_are_given(tmp_path: Path) -> None:
    text = edit(BASE, "intents: [greeting, closing]", "intents: [greeting, haggling]")
    root = make_library(tmp_path, **{"a.yaml": text})
    assert read_library(root)[1] == []
    assert len(read_library(root, intents=LABELS)[1]) == 1


def test_duplicate_id_is_reported_with_both_lines(tmp_path: Path) -> None:
    second = edit(edit(BASE, "code: hy\n", "code: nh\n"), "code: hyzd", "code: nhzd")
    second = edit(second, "id: greeting.here", "id: greeting.there")
    root = make_library(tmp_path, **{"a.yaml": BASE, "b.yaml": second})
    library, issues = read_library(root)
    issue = the_issue(issues, "duplicate id 'greeting.welcome'")
    first_line = line_with(BASE, "id: greeting.welcome")
    assert (issue.path, issue.line) == (root / "b.yaml", line_with(second, "id: greeting.welcome"))
    assert f"first at {root / 'a.yaml'}:{first_line}" in issue.message
    assert library.get("greeting.welcome").code == "hy"  # the first one is kept


def test_duplicate_code_is_reported_with_both_lines(tmp_path: Path) -> None:
    text = edit(BASE, "code: hyzd", "code: hy")
    root = make_library(tmp_path, **{"a.yaml": text})
    library, issues = read_library(root)
    issue = the_issue(issues, "duplicate code 'hy'")
    assert (issue.path, issue.line) == (root / "a.yaml", line_with(text, "id: greeting.here"))
    assert f"first at {root / 'a.yaml'}:{line_with(text, 'id: greeting.welcome')}" in issue.message
    assert [p.id for p in library.phrases] == ["greeting.welcome"]


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    text = edit(BASE, "text: 在的亲,请问有什么可以帮您?", "text: 截单时间: 16:00")
    root = make_library(tmp_path, **{"a.yaml": text})
    library, issues = read_library(root)
    issue = the_issue(issues, "invalid YAML")
    assert (issue.path, issue.line) == (root / "a.yaml", line_with(text, "截单时间"))
    assert library.phrases == ()


def test_non_utf8_file_names_the_first_bad_line(tmp_path: Path) -> None:
    root = make_library(tmp_path)
    raw = BASE.encode("utf-8").replace("在的亲".encode(), "在的亲".encode("gbk"))
    (root / "a.yaml").write_bytes(raw)
    issue = the_issue(read_library(root)[1], "not valid UTF-8")
    assert (issue.path, issue.line) == (root / "a.yaml", line_with(BASE, "在的亲"))


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    root = make_library(tmp_path)
    (root / "a.yaml").write_bytes(BASE.encode("utf-8-sig"))
    library, issues = read_library(root)
    assert issues == []
    assert len(library.phrases) == 2


def test_directory_without_phrase_files_is_an_error(tmp_path: Path) -> None:
    root = make_library(tmp_path / "lib")  # shop.yaml only
    library, issues = read_library(root)
    assert library.phrases == ()
    assert [(i.path, i.severity) for i in issues] == [(root, "error")]
    assert "no phrase files" in issues[0].message
    empty = tmp_path / "empty"
    empty.mkdir()
    assert ["no phrase files" in i.message for i in read_library(empty)[1]] == [True]


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    library, issues = read_library(missing)
    assert library.phrases == ()
    assert [(i.path, i.line) for i in issues] == [(missing, None)]
    assert "no such phrase library directory" in issues[0].message
    with pytest.raises(LibraryError, match="no such phrase library directory"):
        load_library(missing)


def test_load_library_raises_listing_every_error(tmp_path: Path) -> None:
    bad_code = edit(BASE, "code: hyzd", "code: hy2")
    bad_yaml = edit(BASE, "text: 在的亲,请问有什么可以帮您?", "text: 截单时间: 16:00")
    root = make_library(tmp_path, **{"a.yaml": bad_code, "b.yaml": bad_yaml})
    with pytest.raises(LibraryError) as raised:
        load_library(root)
    where = {(i.path.name, i.line) for i in raised.value.issues}
    assert where == {
        ("a.yaml", line_with(bad_code, "hy2")),
        ("b.yaml", line_with(bad_yaml, "截单")),
    }
    message = str(raised.value)
    assert f"{root / 'a.yaml'}:{line_with(bad_code, 'hy2')}" in message
    assert f"{root / 'b.yaml'}:{line_with(bad_yaml, '截单')}" in message


def test_load_library_returns_a_valid_library(tmp_path: Path) -> None:
    library = load_library(make_library(tmp_path, **{"a.yaml": BASE}), intents=LABELS)
    assert library.get("greeting.here").intents == ("greeting", "closing")
    assert library.get("greeting.here").shop_types == ("tmall", "taobao")


# -- variables -------------------------------------------------------------------


@pytest.fixture
def small() -> PhraseLibrary:
    phrase = Phrase(
        id="logistics.sent",
        code="wl",
        text="{shop_name}已发货,运单号{tracking_no},{shop_name}感谢您",
        intents=("logistics",),
        stage="in_sale",
        group="物流",
        shop_types=("taobao",),
    )
    variables = {
        "shop_name": Variable("shop_name", "店铺名称", "小满生活馆"),
        "tracking_no": Variable("tracking_no", "运单号"),
    }
    return PhraseLibrary((phrase,), variables)


def test_fill_uses_the_defaults_for_every_occurrence(small: PhraseLibrary) -> None:
    phrase = small.get("logistics.sent")
    filled = phrase.fill(small.values({"tracking_no": "YT123"}))
    assert filled == "小满生活馆已发货,运单号YT123,小满生活馆感谢您"
    plain = Phrase("a.b", "ab", "没有变量", ("a",), "pre_sale", "g", ("taobao",))
    assert plain.fill({}) == "没有变量"


def test_fill_is_none_when_a_variable_has_no_value(small: PhraseLibrary) -> None:
    assert small.defaults() == {"shop_name": "小满生活馆"}
    assert small.get("logistics.sent").fill(small.defaults()) is None
    assert small.get("logistics.sent").fill({}) is None


def test_request_values_override_the_defaults(small: PhraseLibrary) -> None:
    values = small.values({"shop_name": "大满旗舰店", "tracking_no": "YT1"})
    assert values == {"shop_name": "大满旗舰店", "tracking_no": "YT1"}
    assert small.values() == {"shop_name": "小满生活馆"}  # the defaults are not changed


def test_values_refuse_unknown_variables(small: PhraseLibrary) -> None:
    with pytest.raises(ValueError, match=r"unknown variable 'buyer_nick'.*shop_name, tracking_no"):
        small.values({"buyer_nick": "小明"})


@pytest.mark.parametrize("value", [123, None, ["YT1"]])
def test_values_refuse_non_strings(small: PhraseLibrary, value: object) -> None:
    with pytest.raises(TypeError, match="'tracking_no' must be a string"):
        small.values({"tracking_no": value})  # type: ignore[dict-item]


def test_values_refuse_more_than_200_characters(small: PhraseLibrary) -> None:
    assert MAX_VARIABLE_CHARS == 200
    assert small.values({"tracking_no": "9" * 200})["tracking_no"] == "9" * 200
    with pytest.raises(ValueError, match="longer than 200"):
        small.values({"tracking_no": "9" * 201})


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_request_value_never_reaches_the_buyer(small: PhraseLibrary, blank: str) -> None:
    # Either refusing the value or treating it as missing would do.
    try:
        values = small.values({"tracking_no": blank})
    except ValueError:
        return
    assert small.get("logistics.sent").fill(values) is None


# -- where the library comes from ------------------------------------------------


def test_environment_variable_selects_the_library(tmp_path: Path, monkeypatch) -> None:
    root = make_library(tmp_path, **{"a.yaml": BASE})
    monkeypatch.setenv("QUICKPHRASE_PHRASES", str(root))
    assert [p.id for p in load_library().phrases] == ["greeting.welcome", "greeting.here"]
    library, issues = read_library()
    assert (library.directory, issues) == (root, [])
    # An explicit directory wins over the environment.
    assert len(load_library(BUNDLED_LIBRARY).phrases) >= 110


def test_without_the_environment_variable_the_bundled_library_is_used(monkeypatch) -> None:
    monkeypatch.delenv("QUICKPHRASE_PHRASES", raising=False)
    assert load_library().directory == BUNDLED_LIBRARY


def test_a_library_without_its_own_profile_uses_the_bundled_one(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(BASE, encoding="utf-8")
    library = load_library(tmp_path)
    assert library.get("greeting.welcome").fill(library.defaults()) == "亲,您好~欢迎光临小满生活馆"
