"""Build ``model/resources/t2s_changed.txt``: the characters that make
``normalize.to_simplified`` run OpenCC.

Text holding none of them is returned as typed, which must be exactly what
OpenCC's t2s returns for it. So the file holds every character t2s changes on
its own and, for each phrase of OpenCC's phrase dictionary that converts
although none of its characters is in the file yet (重覆 to 重复, 瞭解 to 了解),
its least common character (by jieba's frequencies). Rebuild it when OpenCC is
upgraded; ``tests/test_normalize.py`` holds the shipped file to this build.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import jieba
import opencc

_SHARE = Path(opencc.__file__).parent / "clib" / "share" / "opencc"
_DICT_TOOL = Path(opencc.__file__).parent / "clib" / "bin" / "opencc_dict"


def changed_alone() -> list[str]:
    """Every character the installed OpenCC's t2s changes on its own."""
    chars = [chr(c) for c in range(0x20, 0x110000) if not 0xD800 <= c < 0xE000 and c != 0x0A]
    converted = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):
        raise RuntimeError("OpenCC merged or split lines; cannot map characters")
    return [c for c, s in zip(chars, converted, strict=True) if s != c]


def phrases() -> dict[str, str]:
    """OpenCC's t2s phrase dictionary: each phrase and its first conversion."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "TSPhrases.txt"
        subprocess.run(
            [str(_DICT_TOOL), "-i", str(_SHARE / "TSPhrases.ocd2"), "-o", str(out),
             "-f", "ocd2", "-t", "text"],
            check=True,
            capture_output=True,
        )
        rows = [line.split("\t") for line in out.read_text(encoding="utf-8").splitlines()]
    return {key: value.split(" ")[0] for key, value in rows if key}


def triggers() -> str:
    """The characters of ``t2s_changed.txt``, in code point order."""
    chars = set(changed_alone())
    frequency = jieba.Tokenizer().gen_pfdict(jieba.get_dict_file())[0]
    for key, value in sorted(phrases().items()):
        if value != key and not chars & set(key):
            chars.add(min(key, key=lambda ch: (frequency.get(ch, 0), ch)))
    return "".join(sorted(chars))


def write_triggers(out: Path) -> int:
    """Write ``triggers()`` to ``out``; returns how many characters."""
    chars = triggers()
    out.write_text(chars + "\n", encoding="utf-8")
    return len(chars)
