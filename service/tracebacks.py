"""Errors in logs without their messages: a message may quote a buyer or a draft."""

from __future__ import annotations

import traceback


def where_it_failed(exc: BaseException) -> str:
    """``Type at file:line in function <- ...``: the traceback without the message."""
    frames = traceback.extract_tb(exc.__traceback__)[-4:]
    at = " <- ".join(
        f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} in {f.name}" for f in reversed(frames)
    )
    return f"{type(exc).__name__} at {at}" if at else type(exc).__name__
