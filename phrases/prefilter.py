"""A literal prefilter for the compliance rules.

Most replies break no rule, and running ~25 regular expressions over each
one costs hundreds of microseconds. Every rule's pattern is parsed once into
a set of literal strings of which any match must contain at least one (保证 or
肯定 for "(?:保证|肯定)...到"); one Aho-Corasick pass over the text then
tells which rules can possibly match. ahocorasick-rs (the Rust aho-corasick
crate) makes that pass: about 2 µs over a 100-character reply, where
pyahocorasick took over 4. A pattern with no such
literals (a rule that can match anything) always runs.
"""

from __future__ import annotations

import re
import re._constants as sre  # the parser's opcodes; stable since Python 2
import re._parser as sre_parse
from collections.abc import Sequence
from typing import Any

import ahocorasick_rs

from ..model.normalize import LONE_SURROGATES

_MAX_CLASS = 16  # a character class larger than this is not a useful anchor
_MAX_WORDS = 64  # a finite stretch with more spellings than this is split


def required_literals(pattern: str, flags: int = 0) -> frozenset[str] | None:
    """Literals one of which every match of ``pattern`` contains (lowercased),
    or None when no such set was found."""
    try:
        parsed = sre_parse.parse(pattern, flags)
    except re.error:
        return None
    return _sequence(list(parsed))


def _better(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    """The more selective of two anchor sets: longer shortest literal, then fewer."""
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b, key=lambda s: (min(map(len, s)), -len(s)))


def _sequence(items: Sequence[tuple[Any, Any]]) -> frozenset[str] | None:
    best: frozenset[str] | None = None
    # The spellings of the finite stretch read so far: 冲(?:个|一下)?(?:皇冠|钻)
    # anchors on 冲皇冠, 冲个钻, ... rather than on 冲 alone, which the regex
    # parser's folding of a shared prefix would otherwise leave as the literal.
    words: frozenset[str] = frozenset({""})
    for op, av in items:
        exact = _spellings(op, av)
        if exact is not None:
            joined = _joined(words, exact)
            if len(joined) <= _MAX_WORDS:
                words = joined
                continue
            best = _better(best, _anchors(words))
            words = exact
            continue
        best = _better(best, _anchors(words))
        words = frozenset({""})
        best = _better(best, _item(op, av))
    return _better(best, _anchors(words))


def _item(op: Any, av: Any) -> frozenset[str] | None:
    if op is sre.BRANCH:
        found: set[str] = set()
        for alternative in av[1]:
            literals = _sequence(list(alternative))
            if literals is None:
                return None
            found |= literals
        return frozenset(found)
    if op is sre.SUBPATTERN:
        return _sequence(list(av[-1]))
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None)):
        low, _, inner = av
        return _sequence(list(inner)) if low >= 1 else None
    return None  # classes, lookarounds, anchors, wildcards: no literal to require


def _joined(left: frozenset[str], right: frozenset[str]) -> frozenset[str]:
    """Every spelling of ``left`` followed by every spelling of ``right``."""
    return frozenset(a + b for a in left for b in right)


def _anchors(words: frozenset[str]) -> frozenset[str] | None:
    """The spellings as anchors, unless one of them is empty."""
    return words if "" not in words else None


def _spellings(op: Any, av: Any) -> frozenset[str] | None:
    """Every string one item matches, when they are few (None otherwise).
    Lookarounds and anchors match the empty string."""
    if op is sre.LITERAL:
        return frozenset({chr(av).lower()})
    if op in (sre.ASSERT, sre.ASSERT_NOT, sre.AT):
        return frozenset({""})
    if op is sre.IN:
        if len(av) > _MAX_CLASS or any(o is not sre.LITERAL for o, _ in av):
            return None
        return frozenset(chr(c).lower() for _, c in av)
    if op is sre.SUBPATTERN:
        return _sequence_spellings(av[-1])
    if op is sre.BRANCH:
        found: set[str] = set()
        for alternative in av[1]:
            spelt = _sequence_spellings(alternative)
            if spelt is None:
                return None
            found |= spelt
        return frozenset(found) if len(found) <= _MAX_WORDS else None
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None)):
        low, high, inner = av
        spelt = _sequence_spellings(inner)
        if spelt is None or high > 2:
            return None
        found = {""} if low == 0 else set()
        power = frozenset({""})
        for count in range(1, high + 1):
            power = _joined(power, spelt)
            if count >= low:
                found |= power
        return frozenset(found) if len(found) <= _MAX_WORDS else None
    return None


def _sequence_spellings(items: Any) -> frozenset[str] | None:
    words: frozenset[str] = frozenset({""})
    for op, av in items:
        spelt = _spellings(op, av)
        if spelt is None:
            return None
        words = _joined(words, spelt)
        if len(words) > _MAX_WORDS:
            return None
    return words


class Prefilter:
    """Which of ``patterns`` can match a text, found in one pass."""

    def __init__(self, patterns: Sequence[re.Pattern[str]]) -> None:
        self._always: list[int] = []
        table: dict[str, list[int]] = {}
        for index, pattern in enumerate(patterns):
            literals = required_literals(pattern.pattern, pattern.flags)
            if not literals:
                self._always.append(index)
                continue
            for literal in literals:
                table.setdefault(literal, []).append(index)
        # Pattern i of the automaton is literal i; its rules are _indices[i].
        self._indices = [tuple(indices) for indices in table.values()]
        self._automaton = ahocorasick_rs.AhoCorasick(list(table)) if table else None

    def candidates(self, text: str) -> set[int]:
        """Indices of the patterns that may match ``text`` (lowercase it first)."""
        found = set(self._always)
        if self._automaton is not None:
            indices = self._indices
            try:
                matches = self._automaton.find_matches_as_indexes(text, overlapping=True)
            except UnicodeEncodeError:
                # A lone surrogate (undecodable input) cannot cross into the
                # Rust automaton; it is in no literal, so a stand-in of the
                # same length finds the same ones.
                text = LONE_SURROGATES.sub("\ufffd", text)
                matches = self._automaton.find_matches_as_indexes(text, overlapping=True)
            for literal, _, _ in matches:
                found.update(indices[literal])
        return found
