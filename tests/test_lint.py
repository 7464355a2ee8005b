"""`lint_library`: schema errors plus each phrase checked against the platform rules
for every shop type it declares, and enough phrases per intent."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from quickphrase.model.artifact import read_model_files, resolve_model_dir
from quickphrase.phrases.compliance import ComplianceFilter
from quickphrase.phrases.library import BUNDLED_LIBRARY, PROFILE_FILE, Issue
from quickphrase.phrases.lint import MIN_PER_INTENT, lint_library

LABELS = read_model_files(resolve_model_dir(None)).labels


@pytest.fixture(scope="module")
def compliance() -> ComplianceFilter:
    return ComplianceFilter.load()


def phrase(
    pid: str,
    code: str,
    text: str,
    *,
    intent: str = "greeting",
    shops: str = "taobao, tmall",
) -> str:
    return (
        f"  - id: {pid}\n"
        f"    code: {code}\n"
        "    group: 测试\n"
        f"    intents: [{intent}]\n"
        f"    shop_types: [{shops}]\n"
        f"    text: {text}\n"
    )


def lint(root: Path, compliance: ComplianceFilter, *phrases: str) -> tuple[Path, list[Issue]]:
    """Lint a library of one file holding ``phrases``; return the file and the issues."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(BUNDLED_LIBRARY / PROFILE_FILE, root / PROFILE_FILE)
    path = root / "pre_sale.yaml"
    path.write_text("stage: pre_sale\nphrases:\n" + "".join(phrases), encoding="utf-8")
    return path, lint_library(root, intents=LABELS, compliance=compliance)


def about(issues: list[Issue], phrase_id: str) -> list[Issue]:
    return [i for i in issues if f"phrase {phrase_id!r}" in i.message]


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if needle in line)


def test_shipped_library_has_no_errors_and_no_warnings(compliance: ComplianceFilter) -> None:
    issues = lint_library(BUNDLED_LIBRARY, intents=LABELS, compliance=compliance)
    assert [str(i) for i in issues] == []


def test_a_clean_phrase_raises_no_issue(tmp_path: Path, compliance: ComplianceFilter) -> None:
    _, issues = lint(
        tmp_path, compliance, phrase("greeting.hi", "hy", "亲,您好,欢迎光临{shop_name}")
    )
    assert about(issues, "greeting.hi") == []
    assert [i for i in issues if i.severity == "error"] == []


def test_delivery_promise_is_an_error_naming_the_phrase_and_category(
    tmp_path: Path, compliance: ComplianceFilter
) -> None:
    path, issues = lint(
        tmp_path,
        compliance,
        phrase("greeting.hi", "hy", "亲,您好"),
        phrase("shipping_eta.promise", "fhmt", "亲,今天拍下明天肯定到哦", intent="shipping_eta"),
    )
    found = about(issues, "shipping_eta.promise")
    assert {i.severity for i in found} == {"error"}
    assert {i.message.split(":")[0] for i in found} == {
        "phrase 'shipping_eta.promise' (taobao)",
        "phrase 'shipping_eta.promise' (tmall)",
    }
    assert all("delivery_promise" in i.message for i in found)
    assert all((i.path, i.line) == (path, line_of(path, "shipping_eta.promise")) for i in found)
    assert about(issues, "greeting.hi") == []


def test_refusing_invoices_is_an_error_in_a_tmall_phrase(
    tmp_path: Path, compliance: ComplianceFilter
) -> None:
    _, issues = lint(
        tmp_path,
        compliance,
        phrase("invoice.none", "fpbk", "亲,我们不开发票的哦", intent="invoice", shops="tmall"),
    )
    [issue] = about(issues, "invoice.none")
    assert issue.severity == "error"
    assert "(tmall): invoice_refusal" in issue.message


def test_refusing_invoices_in_a_taobao_only_phrase_is_clean(
    tmp_path: Path, compliance: ComplianceFilter
) -> None:
    _, issues = lint(
        tmp_path,
        compliance,
        phrase("invoice.none", "fpbk", "亲,我们不开发票的哦", intent="invoice", shops="taobao"),
    )
    assert about(issues, "invoice.none") == []
    assert [i for i in issues if i.severity == "error"] == []


def test_extreme_claim_is_a_warning_not_an_error(
    tmp_path: Path, compliance: ComplianceFilter
) -> None:
    _, issues = lint(
        tmp_path,
        compliance,
        phrase("bargaining.lowest", "yjzd", "亲,我们家是全网最低价哦", intent="bargaining"),
    )
    found = about(issues, "bargaining.lowest")
    assert len(found) == 2  # once per shop type
    assert {i.severity for i in found} == {"warning"}
    assert all("extreme_claim" in i.message and "全网最低" in i.message for i in found)
    assert [i for i in issues if i.severity == "error"] == []


def test_intent_with_fewer_than_3_phrases_is_a_warning(
    tmp_path: Path, compliance: ComplianceFilter
) -> None:
    assert MIN_PER_INTENT == 3
    greetings = [phrase(f"greeting.g{n}", f"hy{c}", f"亲,您好{n}") for n, c in enumerate("ab")]
    closings = [
        phrase(f"closing.c{n}", f"zj{c}", f"感谢光临{n}", intent="closing")
        for n, c in enumerate("abc")
    ]
    _, issues = lint(tmp_path, compliance, *greetings, *closings)
    warnings = [i.message for i in issues if i.severity == "warning"]
    for shop in ("taobao", "tmall"):
        assert f"intent 'greeting' has 2 phrase(s) for {shop} shops" in " ".join(warnings)
    assert not any("'closing'" in w for w in warnings)
    assert not any("'other'" in w for w in warnings)
    assert [i for i in issues if i.severity == "error"] == []


def test_phrases_are_counted_per_shop_type(tmp_path: Path, compliance: ComplianceFilter) -> None:
    closings = [
        phrase(f"closing.c{n}", f"zj{c}", f"感谢光临{n}", intent="closing", shops="taobao")
        for n, c in enumerate("abc")
    ]
    _, issues = lint(tmp_path, compliance, *closings)
    about_closing = [i.message for i in issues if "'closing'" in i.message]
    assert len(about_closing) == 1
    assert "has 0 phrase(s) for tmall shops" in about_closing[0]


def test_lint_reports_schema_errors_too(tmp_path: Path, compliance: ComplianceFilter) -> None:
    path, issues = lint(
        tmp_path,
        compliance,
        phrase("greeting.hi", "hy", "亲,您好"),
        phrase("greeting.haggle", "kj", "亲,可以砍价哦", intent="haggling"),
    )
    errors = [i for i in issues if i.severity == "error"]
    assert [(i.path, i.line) for i in errors] == [(path, line_of(path, "[haggling]"))]
    assert "unknown intent 'haggling'" in errors[0].message
