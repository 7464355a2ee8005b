"""Word segmentation (jieba) and clause splitting for normalised messages."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path

import jieba

from .normalize import EMOTICON, IMAGE, MEDIA, URL

try:
    from ._dag import DagCutter, split_clauses
except ImportError:  # installed without a C compiler: jieba's own cut serves
    DagCutter = split_clauses = None

NATIVE_AVAILABLE = DagCutter is not None

# jieba announces dictionary loading on stderr at DEBUG level; keep it quiet.
jieba.setLogLevel(logging.WARNING)

_RESOURCES = Path(str(resources.files(__package__) / "resources"))
MAIN_DICT = _RESOURCES / "jieba_dict.txt"
USER_DICT = _RESOURCES / "ecommerce_dict.txt"

_CLAUSE_BREAKS = frozenset(" ?!。,;:~、…()[]{}<>\"'|/\\\t\n—【】「」《》")
# Words that open a new question in the middle of a message ("另外发票怎么开").
# They are in the user dictionary, so jieba emits each as one token.
_CLAUSE_OPENERS = frozenset(
    {"另外", "顺便", "顺便问下", "顺便问一下", "还想问", "再问下", "再问一下"}
)
_MARKERS = frozenset({EMOTICON, IMAGE, MEDIA, URL})
_MIN_CLAUSE_CHARS = 2
_MAX_REMEMBERED = 200_000

# What a token does to clause splitting (plain ints: compared per token).
_WORD = 0
_BREAK = 1  # punctuation or space: ends the clause
_OPENER = 2  # starts a new clause and belongs to it
_SKIP = 3  # other symbols: dropped


@dataclass(frozen=True, slots=True)
class Segmented:
    """A normalised message cut into words and clauses.

    ``words`` is the space-joined token string the classifier reads (both its
    word and character n-grams); ``clauses`` holds the same for each clause.
    """

    words: str
    clauses: tuple[str, ...]


class Segmenter:
    """jieba with the shipped dictionaries; build one per process and reuse it.

    Parameters
    ----------
    main_dict:
        jieba main dictionary (a trimmed copy of jieba's own, see
        ``quickphrase.training.dictionary``).
    user_dict:
        E-commerce words added on top; ``None`` for none.
    hmm:
        Let jieba guess unknown words with its HMM. Off by default: it is
        slower and makes the token stream less stable across typos.
    native:
        Cut with the compiled copy of jieba's dictionary cut
        (``quickphrase.model._dag``: the same tokens, about twenty times
        faster): ``None`` (default) when it was built at install and ``hmm``
        is off, ``False`` for jieba's own cut, ``True`` to fail if it was not
        built. It has no HMM, so ``hmm=True`` always uses jieba. The same
        switch picks the compiled clause splitter over the Python one (same
        clauses).
    """

    def __init__(
        self,
        main_dict: Path = MAIN_DICT,
        user_dict: Path | None = USER_DICT,
        *,
        hmm: bool = False,
        native: bool | None = None,
    ) -> None:
        if native and hmm:
            raise ValueError("the native cutter has no HMM; pass hmm=False or native=None")
        if native and DagCutter is None:
            raise ImportError(
                "the native cutter quickphrase.model._dag was not built; "
                "reinstall with a C compiler (pip install -e .) or pass native=False"
            )
        self._tokenizer = jieba.Tokenizer(str(main_dict))
        self._tokenizer.initialize()
        if user_dict is not None:
            # jieba leaves a file it opened from a path unclosed; hand it ours.
            with Path(user_dict).open("rb") as fh:
                self._tokenizer.load_userdict(fh)
        self.hmm = hmm
        self.native = (NATIVE_AVAILABLE and not hmm) if native is None else native
        # The cutter copies the dictionary as it is now: words added to the
        # tokenizer later would not reach it, so the tokenizer stays private.
        if self.native:
            self._cut = DagCutter(self._tokenizer.FREQ, self._tokenizer.total).cut
            self._split = partial(split_clauses, _MARKERS, _MIN_CLAUSE_CHARS)
        else:
            self._cut = self._jieba_cut
            self._split = _split_clauses
        self._kinds: dict[str, int] = {}

    def cut(self, text: str) -> list[str]:
        """Every token of ``text``, punctuation and spaces included (jieba's ``cut``)."""
        return self._cut(text)

    def _jieba_cut(self, text: str) -> list[str]:
        return list(self._tokenizer.cut(text, HMM=self.hmm))

    def words(self, text: str) -> str:
        """Space-joined words of ``text`` (normalised) without punctuation.

        Equal to ``segment(text).words``, without the work of finding clauses.
        """
        return " ".join(
            t for t in self._cut(text) if not t.isspace() and _has_alnum(t)
        )

    def segment(self, text: str) -> Segmented:
        """Cut ``text`` (already normalised) into words and clauses."""
        words, clauses = self._split(self._cut(text), self._kinds, self._remember_kind)
        return Segmented(words, clauses)

    def _remember_kind(self, token: str) -> int:
        # Looking the kind up beats three tests per token; the cap bounds the
        # memory that unknown tokens (numbers, Latin words) can take.
        # Spaces separate clauses in chat ("在吗 有货吗"), so they break too.
        if token in _CLAUSE_BREAKS or token.isspace():
            kind = _BREAK
        elif token in _CLAUSE_OPENERS:
            kind = _OPENER
        else:
            kind = _WORD if _has_alnum(token) else _SKIP
        if len(self._kinds) < _MAX_REMEMBERED:
            self._kinds[token] = kind
        return kind


def _has_alnum(token: str) -> bool:
    # jieba emits punctuation one character at a time, so the first
    # character decides for all but rare mixed tokens.
    return token[0].isalnum() or any(ch.isalnum() for ch in token)


def _split_clauses(
    tokens: list[str], kinds: dict[str, int], remember: Callable[[str], int]
) -> tuple[str, tuple[str, ...]]:
    """The space-joined words of ``tokens`` and the tuple of their clauses.

    ``kinds`` maps a token to what it does to clause splitting;
    ``remember(token)`` classifies one it lacks. ``_dag.split_clauses`` is
    this function compiled, merging included (calling back into
    ``_merge_short`` lost the in-place gain); tests hold the two to the same
    output.
    """
    clauses: list[list[str]] = []
    current: list[str] = []
    kind_of = kinds.get
    for token in tokens:
        kind = kind_of(token)
        if kind is None:
            kind = remember(token)
        if kind == _WORD:
            current.append(token)
        elif kind == _BREAK:
            if current:
                clauses.append(current)
                current = []
        elif kind == _OPENER:
            if current:
                clauses.append(current)
            current = [token]
    if current:
        clauses.append(current)
    if len(clauses) == 1:  # most messages: nothing to merge
        words = " ".join(clauses[0])
        return words, (words,)
    parts = tuple(" ".join(c) for c in _merge_short(clauses))
    return " ".join(parts), parts


def _merge_short(clauses: list[list[str]]) -> list[list[str]]:
    """Fold fragments such as a lone "亲" or an emoticon into a neighbour."""
    out: list[list[str]] = []
    pending: list[str] = []
    for clause in clauses:
        if sum(len(t) for t in clause if t not in _MARKERS) < _MIN_CLAUSE_CHARS:
            pending.extend(clause)
            continue
        out.append(pending + clause)
        pending = []
    if pending:
        if out:
            out[-1].extend(pending)
        else:
            out.append(pending)
    return out
