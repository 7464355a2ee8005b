"""What a chat-log line becomes once read: a row to score or a reject."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

BUYER = "buyer"
AGENT = "agent"


@dataclass(frozen=True)
class Columns:
    """Input column names for each field of a chat-log line."""

    text: str = "text"
    role: str = "role"
    conversation: str = "conversation_id"
    agent: str = "agent_id"
    time: str = "timestamp"
    shop_type: str = "shop_type"

    def in_row_order(self) -> tuple[str, ...]:
        """Column names in the order of ``Row``'s value fields."""
        return (self.text, self.role, self.conversation, self.agent, self.time, self.shop_type)


class Row(NamedTuple):
    """One input record, as read (any types: validation is the scorer's job).

    ``row`` counts records from 1; ``line`` is the line it starts on (None for
    Parquet). A field whose column the input lacks is None; a column that is
    there but empty gives "" (CSV) or whatever the file holds.
    """

    row: int
    line: int | None
    text: Any
    role: Any = None
    conversation_id: Any = None
    agent_id: Any = None
    timestamp: Any = None
    shop_type: Any = None


@dataclass(frozen=True, slots=True)
class Reject:
    """A record that cannot be scored, with the reason and what was read."""

    row: int | None
    line: int | None
    reason: str
    raw: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "line": self.line, "reason": self.reason, "raw": self.raw}


class InputError(Exception):
    """The input cannot be read at all: missing file or column, unknown format."""
