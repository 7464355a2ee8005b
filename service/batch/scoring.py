"""The one scoring function both batch engines run: rows in, records out.

Buyer lines get intents and suggestions, agent lines the compliance verdict.
Validation lives here too, so the local and Spark engines reject the same rows
for the same reasons.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from quickphrase.engine import Engine
from quickphrase.phrases.library import SHOP_TYPES
from quickphrase.phrases.ranker import DEFAULT_K, Context

from .parsing import undecodable
from .rows import AGENT, BUYER, Reject, Row

ROLE_NAMES = {
    "buyer": BUYER,
    "customer": BUYER,
    "买家": BUYER,
    "顾客": BUYER,
    "agent": AGENT,
    "seller": AGENT,
    "客服": AGENT,
    "卖家": AGENT,
}
SHOP_NAMES = {"taobao": "taobao", "tmall": "tmall", "淘宝": "taobao", "c店": "taobao",
              "天猫": "tmall"}
# Output fields, in order; every record has all of them (None where not applicable).
FIELDS = (
    "row",
    "role",
    "conversation_id",
    "agent_id",
    "timestamp",
    "shop_type",
    "text",
    "intent",
    "confidence",
    "intents",
    "suggestions",
    "verdict",
    "violations",
    "redacted",
)
_BUYER_NONE = {"verdict": None, "violations": None, "redacted": None}
_AGENT_NONE = {"intent": None, "confidence": None, "intents": None, "suggestions": None}


class _InvalidRowError(ValueError):
    """Why a row cannot be scored (goes to the rejects file)."""


def _label(value: Any) -> str | None:
    """An optional pass-through field as text (ids and times may be numbers)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        if undecodable(value):
            raise _InvalidRowError("undecodable bytes")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float | dt.date | dt.time):
        raise _InvalidRowError(f"a {type(value).__name__} where a text or number belongs")
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return value.isoformat() if isinstance(value, dt.date | dt.time) else str(value)


class Scorer:
    """Scores chunks of rows with one engine; build one per process.

    Parameters
    ----------
    engine:
        The engine (model, phrase library, rules).
    shop_type:
        For rows without a shop type of their own.
    k:
        Suggestions per buyer message.
    cache_size:
        Distinct messages whose results are remembered; chat logs repeat
        ("在吗", "好的谢谢") so a repeat costs a lookup. 0 turns it off.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        shop_type: str = "taobao",
        k: int = DEFAULT_K,
        cache_size: int = 100_000,
    ) -> None:
        # One context per shop type, built once; building them checks shop_type.
        self._contexts = {shop: Context(shop) for shop in {*SHOP_TYPES, shop_type}}
        self.engine = engine
        self.shop_type = shop_type
        self.k = k
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str, str], dict[str, Any]] = OrderedDict()

    def score(self, rows: Sequence[Row | Reject]) -> list[dict[str, Any] | Reject]:
        """One record per row, in order, or the row's ``Reject``."""
        out: list[dict[str, Any] | Reject] = []
        todo: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        for row in rows:
            if isinstance(row, Reject):
                out.append(row)
                continue
            try:
                record = self._validated(row)
            except _InvalidRowError as exc:
                out.append(Reject(row.row, row.line, str(exc), _raw(row)))
                continue
            key = (record["role"], record["shop_type"], record["text"])
            if not self.cache_size:
                # Without a cache every line is scored on its own (the honest
                # cost of a log without repeats).
                todo[(*key, row.row)] = [record]
            elif (cached := self._cache.get(key)) is not None:
                self._cache.move_to_end(key)
                record.update(cached)
            else:
                todo.setdefault(key, []).append(record)
            out.append(record)
        if todo:
            self._fill(todo)
        return out

    def _validated(self, row: Row) -> dict[str, Any]:
        text = row.text
        if text is None:
            raise _InvalidRowError("missing text")
        if not isinstance(text, str):
            raise _InvalidRowError(f"text is not a string but {type(text).__name__}")
        if not text.strip():
            raise _InvalidRowError("missing text")  # as for None: Spark reads "" as null
        if undecodable(text):
            raise _InvalidRowError("undecodable bytes in the text")
        role = _choice(row.role, ROLE_NAMES, "role", "buyer or agent") or BUYER
        shop = _choice(row.shop_type, SHOP_NAMES, "shop type", "taobao or tmall", blank=True)
        try:
            conversation, agent, timestamp = (
                _label(row.conversation_id), _label(row.agent_id), _label(row.timestamp)
            )
        except _InvalidRowError as exc:
            raise _InvalidRowError(f"{exc} in the conversation, agent or time column") from None
        return {
            "row": row.row,
            "role": role,
            "conversation_id": conversation,
            "agent_id": agent,
            "timestamp": timestamp,
            "shop_type": shop or self.shop_type,
            "text": text,
        }

    def _fill(self, todo: dict[tuple[Any, ...], list[dict[str, Any]]]) -> None:
        """Score each distinct (role, shop type, text) once and share the result."""
        buyers = [key for key in todo if key[0] == BUYER]
        results = self.engine.suggest_many(
            [key[2] for key in buyers],
            contexts=[self._contexts[key[1]] for key in buyers],
            k=self.k,
        )
        for key, result in zip(buyers, results, strict=True):
            prediction = result.prediction.to_dict()
            self._share(key, todo[key], {
                "intent": prediction["intent"],
                "confidence": prediction["confidence"],
                "intents": prediction["intents"],
                "suggestions": [s.to_dict() for s in result.suggestions],
                **_BUYER_NONE,
            })
        for key in todo:
            if key[0] == AGENT:
                check = self.engine.check(key[2], key[1])
                self._share(key, todo[key], {
                    **_AGENT_NONE,
                    "verdict": check.verdict,
                    "violations": [_violation(v.to_dict()) for v in check.violations],
                    "redacted": check.redacted,
                })

    def _share(self, key: tuple[Any, ...], records: list[dict[str, Any]],
               scored: dict[str, Any]) -> None:
        for record in records:
            record.update(scored)
        if self.cache_size:
            self._cache[key[:3]] = scored
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)


def _choice(
    value: Any, names: dict[str, str], what: str, expected: str, *, blank: bool = False
) -> str | None:
    """The canonical name of ``value``; None when the column is absent (or, with
    ``blank``, empty), so the caller's default applies."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _InvalidRowError(f"{what} is not a string but {type(value).__name__}")
    if blank and not value.strip():
        return None
    found = names.get(value.strip().lower())
    if found is None:
        shown = value if len(value) <= 20 else value[:20] + "…"
        raise _InvalidRowError(f"unknown {what} {shown!r} (expected {expected})")
    return found


def _violation(found: dict[str, Any]) -> dict[str, Any]:
    # The rule's advice is the same on every line; the report looks it up.
    return {k: found[k] for k in ("rule", "category", "severity", "start", "end")}


def _raw(row: Row) -> dict[str, Any]:
    """What was read, for the rejects file (so nothing is lost)."""
    values = row._asdict()
    del values["row"], values["line"]
    return {k: v if v is None or isinstance(v, str | int | float | bool) else repr(v)
            for k, v in values.items()}
