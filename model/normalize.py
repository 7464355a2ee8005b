"""Text normalisation shared by training and inference.

Both sides must see byte-identical text, so this module is the single place
where buyer messages are cleaned: traditional to simplified (OpenCC),
full-width to half-width (NFKC), lowercase, 旺旺 emoticons, bracket tags and
emoji replaced by marker words, URLs marked, repeated punctuation collapsed.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import emoji
import opencc

TRADITIONAL_CHARS_FILE = Path(__file__).parent / "resources" / "t2s_changed.txt"

# Marker words: ASCII so they cannot collide with Chinese vocabulary, and
# lowercase because normalisation lowercases everything else first.
EMOTICON = "emo"
IMAGE = "img"
MEDIA = "media"
URL = "url"
# Thumbs-up style emoticons say "ok, got it" (a closing), unlike other faces.
ACK = "ok"

# 旺旺 codes look like "/:^_^", "/:-(", "/:814", "/:066" or "/:handclap".
_WANGWANG_CODE = re.compile(r"/:(?:\d{3}|\^[^\s^]{1,3}\^|[-'8]?[()|?!*$@<>]|[a-z]{1,2}(?![a-z]))")
_BRACKET_TAG = re.compile(r"\[([^\[\]\s]{1,6})\]")
_URL = re.compile(r"(?:https?://|www\.)\S+|\b[a-z0-9.-]+\.(?:com|cn|net)\b\S*")
_REPEATED_PUNCT = re.compile(r"([^\w\s])\1+")
# "哈哈哈哈哈" and "???" carry no more meaning than two; digits are left alone.
_REPEATED_CHAR = re.compile(r"([^\d\s])\1{2,}")
_SPACES = re.compile(r"\s+")
# A full stop typed as "." or "…" ends a sentence, unless it is a decimal point.
_SENTENCE_DOT = re.compile(r"(?<!\d)\.|\.(?!\d)")
# Unpaired surrogates (undecodable input kept by surrogateescape) are not text:
# OpenCC, the prefilter's automaton and the sidecar's contract reject them.
LONE_SURROGATES = re.compile("[\ud800-\udfff]")
# Cheap pre-check so the (slower) emoji library only runs on text that may
# hold an emoji; CJK punctuation (U+3000-U+303F) is deliberately excluded.
_MAYBE_EMOJI = re.compile(
    "[\u00a9\u00ae\u203c-\u2bff\u3030\u303d\u3297\u3299\ufe0f\U0001f000-\U0001faff]"
)

_ACK_EMOJI = frozenset({"👌", "👍", "🆗", "🙏", "🤝", "✅", "✔️", "✔"})
# Tags are matched after conversion to simplified, lowercase text.
_ACK_TAGS = frozenset({"ok", "好的", "强", "抱拳", "握手", "赞", "收到"})
_IMAGE_TAGS = frozenset({"图片", "照片", "截图", "image", "photo"})
_MEDIA_TAGS = frozenset({"视频", "语音", "文件", "链接", "商品", "宝贝", "订单", "位置"})


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


@lru_cache(maxsize=1)
def _maybe_traditional() -> re.Pattern[str]:
    # The characters that make OpenCC's t2s change a text (built by
    # training/opencc_triggers.py; tests/test_normalize.py holds the file to the
    # installed OpenCC). Characters beyond the BMP go in as one range: listed
    # one by one, they make the class a linear scan.
    chars = TRADITIONAL_CHARS_FILE.read_text(encoding="utf-8").strip()
    bmp = re.escape("".join(c for c in chars if ord(c) < 0x10000))
    return re.compile(f"[{bmp}\U00010000-\U0010ffff]")


def to_simplified(text: str) -> str:
    """Traditional to simplified Chinese (OpenCC t2s).

    Text without a character that makes t2s convert it (nor any beyond the
    BMP, emoji included) is returned as it is: finding that out costs OpenCC about 4 µs
    on a 100-character reply, a regular expression half of one, and most
    replies are simplified already.
    """
    if _maybe_traditional().search(text) is None:
        return text
    return _t2s().convert(text)


class _SingleCharNfkc(dict[int, int]):
    """A ``str.translate`` table: each character to its NFKC form when that is
    exactly one character, else to itself. Filled as characters are met:
    normalising a character at a time in Python cost about 3 µs a reply."""

    def __missing__(self, code: int) -> int:
        folded = unicodedata.normalize("NFKC", chr(code))
        value = ord(folded) if len(folded) == 1 else code
        if code < 0x10000:  # at most 64k entries (~7 MB); rarer characters are worked out each time
            self[code] = value
        return value


_SINGLE_CHAR_NFKC = _SingleCharNfkc()


def _nfkc_in_place(text: str) -> str:
    """NFKC for each character that it maps to exactly one character (，to ,
    ８ to 8); characters it would expand (… to ..., ㎡ to m2) stay as they are,
    so one of them no longer keeps a whole reply full-width."""
    # Most replies are already NFKC; the check is much cheaper than translating.
    if unicodedata.is_normalized("NFKC", text):
        return text
    return text.translate(_SINGLE_CHAR_NFKC)


# NFKC keeps curly apostrophes, so can’t would miss every rule and hedge written can't.
_APOSTROPHES = str.maketrans("‘’", "''")


def canonical_chars(text: str) -> str:
    """Full-width to half-width, traditional to simplified, curly apostrophes
    to straight ones and lowercase, each only where it keeps every character
    in place, so that offsets found in the result point into the original text
    (the compliance filter's spans)."""
    text = _nfkc_in_place(text)
    if "’" in text or "‘" in text:
        text = text.translate(_APOSTROPHES)
    for convert in (to_simplified, str.lower):
        converted = convert(text)
        if len(converted) == len(text):
            text = converted
    return text


def _emoji_marker(chars: str, _data: dict) -> str:
    return f" {ACK} " if chars in _ACK_EMOJI else f" {EMOTICON} "


def _tag_marker(match: re.Match[str]) -> str:
    tag = match.group(1)
    if tag in _ACK_TAGS:
        return f" {ACK} "
    if tag in _IMAGE_TAGS:
        return f" {IMAGE} "
    if tag in _MEDIA_TAGS:
        return f" {MEDIA} "
    return f" {EMOTICON} "


def normalize(text: str) -> str:
    """Return the canonical form of a buyer message used for features.

    >>> normalize("請問還有貨嗎？？？[微笑]")
    '请问还有货吗? emo'
    """
    text = LONE_SURROGATES.sub("\ufffd", text)
    text = unicodedata.normalize("NFKC", text)
    text = to_simplified(text).lower()
    text = _URL.sub(f" {URL} ", text)
    if _MAYBE_EMOJI.search(text):
        text = emoji.replace_emoji(text, replace=_emoji_marker)
    text = _BRACKET_TAG.sub(_tag_marker, text)
    text = _WANGWANG_CODE.sub(f" {EMOTICON} ", text)
    text = _SENTENCE_DOT.sub("。", text)
    text = _REPEATED_PUNCT.sub(r"\1", text)
    text = _REPEATED_CHAR.sub(r"\1\1", text)
    return _SPACES.sub(" ", text).strip()
