"""YAML reading that remembers where each mapping came from.

Schema errors must point at a line the user can open, so every mapping read
here carries the 1-based line of each key under ``LINES``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

LINES = "__lines__"  # key -> line of that key; "" -> line of the mapping itself


class YamlError(ValueError):
    """A file that is not valid YAML; ``str()`` names the file and line."""

    def __init__(self, path: Path, line: int | None, reason: str) -> None:
        self.path, self.line, self.reason = path, line, reason
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {reason}")


# libyaml's parser (PyYAML's C extension) reads the bundled library about
# ten times faster; start-up of every surface waits for it. Its error
# messages are terser than the pure-Python parser's; lines are the same.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SafeLoader):  # type: ignore[misc, valid-type]
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        lines = {"": node.start_mark.line + 1}
        for key_node, _ in node.value:
            lines[str(self.construct_object(key_node))] = key_node.start_mark.line + 1
        mapping[LINES] = lines
        return mapping


def load_yaml(path: Path) -> Any:
    """Parse ``path``; mappings carry their key lines under ``LINES``."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise YamlError(path, None, f"cannot read file ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlError(path, line, "not valid UTF-8 text") from None
    try:
        return yaml.load(text, Loader=_LineLoader)  # safe: builds plain types only
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise YamlError(path, line, f"invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise YamlError(path, None, f"invalid YAML: {exc}") from None


def line_of(mapping: dict[str, Any], key: str = "") -> int | None:
    """Line of ``key`` in a mapping read by ``load_yaml`` (of the mapping for "")."""
    lines = mapping.get(LINES, {})
    return lines.get(key, lines.get(""))
