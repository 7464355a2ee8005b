"""The phrase library: quick phrases in YAML files, and the shop profile.

A library is a directory of ``*.yaml`` phrase files (one per stage of a sale)
plus ``shop.yaml``, the variables phrases may use with their default values.
``read_library`` returns every problem it finds, each with its file and line,
so ``quickphrase phrases lint`` can report them all at once; ``load_library``
raises on the first errors instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .yamlio import LINES, YamlError, line_of, load_yaml

BUNDLED_LIBRARY = Path(__file__).parent / "library"
PROFILE_FILE = "shop.yaml"
STAGES = ("pre_sale", "in_sale", "after_sale")
SHOP_TYPES = ("taobao", "tmall")
ORDER_STATUSES = ("unpaid", "paid", "shipped", "received", "refunding")

_VARIABLE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_CODE = re.compile(r"[a-z]{2,8}")
_ID = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)*")
MAX_VARIABLE_CHARS = 200


@dataclass(frozen=True)
class Issue:
    """One problem in a library file."""

    path: Path
    line: int | None
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.severity}: {self.message}"


class LibraryError(ValueError):
    """A library that cannot be used; ``issues`` lists every error found."""

    def __init__(self, issues: Iterable[Issue]) -> None:
        self.issues = tuple(issues)
        shown = "\n".join(str(i) for i in self.issues[:20])
        more = len(self.issues) - 20
        super().__init__(shown + (f"\n... and {more} more" if more > 0 else ""))


@dataclass(frozen=True)
class Variable:
    name: str
    description: str = ""
    default: str | None = None


@dataclass(frozen=True)
class Phrase:
    """One quick phrase. ``text`` may hold ``{variables}``."""

    id: str
    code: str
    text: str
    intents: tuple[str, ...]
    stage: str
    group: str
    shop_types: tuple[str, ...]
    examples: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    weight: float = 1.0
    order_status: tuple[str, ...] = ()
    path: Path | None = field(default=None, compare=False)
    line: int | None = field(default=None, compare=False)

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(_VARIABLE.findall(self.text)))

    def fill(self, values: Mapping[str, str]) -> str | None:
        """The text with its variables filled, or None if one has no value."""
        missing = False

        def value(match: re.Match[str]) -> str:
            nonlocal missing
            found = values.get(match.group(1))
            if found is None or not found.strip():  # a blank value fills nothing
                missing = True
                return ""
            return found

        filled = _VARIABLE.sub(value, self.text)
        return None if missing else filled

    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.path else self.id


@dataclass(frozen=True)
class PhraseLibrary:
    """Phrases and the variables they may use, as loaded from one directory."""

    phrases: tuple[Phrase, ...]
    variables: Mapping[str, Variable]
    directory: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {p.id: p for p in self.phrases})

    def get(self, phrase_id: str) -> Phrase | None:
        return self._by_id.get(phrase_id)  # type: ignore[attr-defined]

    def defaults(self) -> dict[str, str]:
        """Variable values from the shop profile."""
        return {v.name: v.default for v in self.variables.values() if v.default is not None}

    def values(self, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
        """Profile defaults overlaid with per-request values (checked)."""
        values = self.defaults()
        for name, value in (overrides or {}).items():
            if name not in self.variables:
                known = ", ".join(sorted(self.variables))
                raise ValueError(f"unknown variable {name!r}; known variables: {known}")
            if not isinstance(value, str):
                raise TypeError(f"variable {name!r} must be a string, not {type(value).__name__}")
            if len(value) > MAX_VARIABLE_CHARS:
                raise ValueError(
                    f"variable {name!r} is longer than {MAX_VARIABLE_CHARS} characters"
                )
            values[name] = value
        return values


def resolve_library_dir(directory: str | Path | None = None) -> Path:
    """The argument, else ``$QUICKPHRASE_PHRASES``, else the bundled library."""
    if directory is not None:
        return Path(directory)
    env = os.environ.get("QUICKPHRASE_PHRASES")
    return Path(env) if env else BUNDLED_LIBRARY


def load_library(
    directory: str | Path | None = None, *, intents: Iterable[str] | None = None
) -> PhraseLibrary:
    """Read a library; raise ``LibraryError`` listing every error in it."""
    library, issues = read_library(directory, intents=intents)
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        raise LibraryError(errors)
    return library


def read_library(
    directory: str | Path | None = None, *, intents: Iterable[str] | None = None
) -> tuple[PhraseLibrary, list[Issue]]:
    """Read a library and every problem in it (the phrases with errors are left out).

    ``intents``: the intent ids the model knows; phrases naming others are errors.
    """
    root = resolve_library_dir(directory)
    if not root.is_dir():
        return PhraseLibrary((), {}, root), [Issue(root, None, "no such phrase library directory")]
    issues: list[Issue] = []
    profile = root / PROFILE_FILE
    if not profile.exists():
        profile = BUNDLED_LIBRARY / PROFILE_FILE
    variables = _read_profile(profile, issues)
    files = sorted(p for p in root.glob("*.yaml") if p.name != PROFILE_FILE)
    if not files:
        issues.append(Issue(root, None, "no phrase files (*.yaml) in the library"))
    known = frozenset(intents) if intents is not None else None
    phrases: list[Phrase] = []
    for path in files:
        phrases += _read_phrase_file(path, variables, known, issues)
    phrases = _drop_duplicates(phrases, issues)
    return PhraseLibrary(tuple(phrases), variables, root), issues


def _read_profile(path: Path, issues: list[Issue]) -> dict[str, Variable]:
    try:
        data = load_yaml(path)
    except YamlError as exc:
        issues.append(Issue(path, exc.line, exc.reason))
        return {}
    table = data.get("variables") if isinstance(data, dict) else None
    if not isinstance(table, dict):
        issues.append(Issue(path, None, "expected a mapping 'variables:' of name -> settings"))
        return {}
    variables: dict[str, Variable] = {}
    for name, spec in table.items():
        if name == LINES:
            continue
        line = line_of(table, name)
        if not _VARIABLE.fullmatch("{" + str(name) + "}"):
            message = f"variable name {name!r} must be lowercase a-z, 0-9, _"
            issues.append(Issue(path, line, message))
            continue
        spec = spec if isinstance(spec, dict) else {}
        default = spec.get("default")
        if default is not None and not isinstance(default, str | int | float):
            issues.append(Issue(path, line, f"default of {name!r} must be text"))
            continue
        variables[name] = Variable(
            name, str(spec.get("description", "")), None if default is None else str(default)
        )
    return variables


def _read_phrase_file(
    path: Path,
    variables: Mapping[str, Variable],
    known_intents: frozenset[str] | None,
    issues: list[Issue],
) -> list[Phrase]:
    try:
        data = load_yaml(path)
    except YamlError as exc:
        issues.append(Issue(path, exc.line, exc.reason))
        return []
    if not isinstance(data, dict) or not isinstance(data.get("phrases"), list):
        issues.append(Issue(path, 1, "expected 'stage:' and a list 'phrases:'"))
        return []
    stage = data.get("stage")
    if stage is not None and stage not in STAGES:
        issues.append(Issue(path, line_of(data, "stage"), f"unknown stage {stage!r}; use {STAGES}"))
        stage = None
    out = []
    for entry in data["phrases"]:
        if not isinstance(entry, dict):
            issues.append(Issue(path, line_of(data, "phrases"), "each phrase must be a mapping"))
            continue
        phrase = _parse_phrase(entry, path, stage, variables, known_intents, issues)
        if phrase is not None:
            out.append(phrase)
    return out


def _parse_phrase(
    entry: dict[str, Any],
    path: Path,
    default_stage: str | None,
    variables: Mapping[str, Variable],
    known_intents: frozenset[str] | None,
    issues: list[Issue],
) -> Phrase | None:
    line = line_of(entry)
    count = len(issues)

    def error(key: str, message: str) -> None:
        issues.append(Issue(path, line_of(entry, key), message))

    known_keys = {f.name for f in Phrase.__dataclass_fields__.values()} - {"path", "line"}
    for key in entry:
        if key != LINES and key not in known_keys:
            error(key, f"unknown field {key!r}")
    pid = _text_field(entry, "id", error)
    if pid and not _ID.fullmatch(pid):
        error("id", f"id {pid!r} must be lowercase letters, digits, '_' and '.'")
    code = _text_field(entry, "code", error)
    if code and not _CODE.fullmatch(code):
        error("code", f"code {code!r} must be 2-8 lowercase ASCII letters (what agents type)")
    text = _text_field(entry, "text", error)
    group = _text_field(entry, "group", error)
    stage = entry.get("stage", default_stage)
    if stage not in STAGES:
        error("stage", f"stage must be one of {', '.join(STAGES)}, not {stage!r}")
    intents = _list_field(entry, "intents", error, required=True)
    if known_intents is not None:
        for intent in intents:
            if intent not in known_intents:
                error("intents", f"unknown intent {intent!r}")
    shop_types = _list_field(entry, "shop_types", error, required=True, allowed=SHOP_TYPES)
    order_status = _list_field(entry, "order_status", error, allowed=ORDER_STATUSES)
    examples = _list_field(entry, "examples", error)
    tags = _list_field(entry, "tags", error)
    weight = entry.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= 10:
        error("weight", f"weight must be a number above 0 and at most 10, not {weight!r}")
    for name in _VARIABLE.findall(text or ""):
        if name not in variables:
            error("text", f"unknown variable {{{name}}}; declare it in {PROFILE_FILE}")
    if len(issues) > count:
        return None
    return Phrase(
        id=pid,
        code=code,
        text=text.strip(),
        intents=intents,
        stage=stage,
        group=group,
        shop_types=shop_types,
        examples=examples,
        tags=tags,
        weight=float(weight),
        order_status=order_status,
        path=path,
        line=line,
    )


def _text_field(entry: dict[str, Any], key: str, error: Any) -> str:
    value = entry.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        error(key if key in entry else "", f"missing {key!r}")
        return ""
    if not isinstance(value, str | int):
        error(key, f"{key!r} must be text")
        return ""
    return str(value)


def _list_field(
    entry: dict[str, Any],
    key: str,
    error: Any,
    *,
    required: bool = False,
    allowed: tuple[str, ...] | None = None,
) -> tuple[str, ...]:
    value = entry.get(key)
    if value is None:
        if required:
            error("", f"missing {key!r}")
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        error(key, f"{key!r} must be a list of text")
        return ()
    if required and not value:
        error(key, f"{key!r} must not be empty")
    if allowed is not None:
        for v in value:
            if v not in allowed:
                error(key, f"{key!r}: unknown value {v!r}; use {', '.join(allowed)}")
    return tuple(value)


def _drop_duplicates(phrases: list[Phrase], issues: list[Issue]) -> list[Phrase]:
    seen_ids: dict[str, Phrase] = {}
    seen_codes: dict[str, Phrase] = {}
    out = []
    for p in phrases:
        clash = seen_ids.get(p.id)
        if clash is not None:
            message = f"duplicate id {p.id!r} (first at {clash.where()})"
            issues.append(Issue(p.path, p.line, message))
            continue
        clash = seen_codes.get(p.code)
        if clash is not None:
            issues.append(
                Issue(p.path, p.line, f"duplicate code {p.code!r} (first at {clash.where()})")
            )
            continue
        seen_ids[p.id] = seen_codes[p.code] = p
        out.append(p)
    return out
