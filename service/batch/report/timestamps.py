"""The hour of day of a record's timestamp, however the log writes it."""

from __future__ import annotations

import re

UNKNOWN_HOUR = 24  # index of the "no usable timestamp" bucket after hours 0-23

# Timestamps the position slice cannot read: "2026-1-5 9:03", "2026年11月22日 14:03".
_CLOCK = re.compile(r"(?<!\d)(\d{1,2})[:时点](?:\d{2})?")
_EPOCH = re.compile(r"\d{9,13}(?:\.\d*)?")


def hour_of(timestamp: object, epoch_offset_seconds: int = 8 * 3600) -> int | None:
    """Hour of day (0-23) of a timestamp as written, or None when unreadable.

    Dates keep the hour written in them (the shop's clock, whatever the offset).
    Epoch seconds or milliseconds carry no clock, so they are read in
    ``epoch_offset_seconds`` (China time by default: the shops are Chinese).
    """
    if type(timestamp) is str:
        # The common case by position: "YYYY-MM-DD HH:", "YYYY/MM/DDTHH:" (and
        # "DD.MM.YYYY HH:" or ctime's "Sun Nov 22 HH:" as it happens).
        if timestamp[13:14] == ":" and timestamp[10] in " T":
            hour = timestamp[11:13]
            if hour.isdecimal():
                return int(hour) if hour < "24" else None
        if timestamp.isdecimal():
            return _digits_hour(timestamp, epoch_offset_seconds)
        return _slow_hour(timestamp.strip(), epoch_offset_seconds)
    if isinstance(timestamp, int | float) and not isinstance(timestamp, bool):
        return _epoch_hour(float(timestamp), epoch_offset_seconds)
    return None


def _digits_hour(digits: str, epoch_offset_seconds: int) -> int | None:
    if len(digits) == 14:  # "YYYYMMDDHHMMSS"
        return _valid_hour(int(digits[8:10]))
    if 9 <= len(digits) <= 13:  # epoch seconds (10 digits) or milliseconds (13)
        return _epoch_hour(int(digits), epoch_offset_seconds)
    return None  # "20261122": a date without a time


def _slow_hour(timestamp: str, epoch_offset_seconds: int) -> int | None:
    if timestamp.isdecimal():
        return _digits_hour(timestamp, epoch_offset_seconds)
    if _EPOCH.fullmatch(timestamp):
        return _epoch_hour(float(timestamp), epoch_offset_seconds)
    match = _CLOCK.search(timestamp)
    return _valid_hour(int(match.group(1))) if match else None


def _epoch_hour(seconds: float, epoch_offset_seconds: int) -> int | None:
    if seconds != seconds or seconds < 0:  # NaN or before 1970: not a log time
        return None
    if seconds >= 1e11:  # no log is from the year 5138: these are milliseconds
        seconds /= 1000
    return int((seconds + epoch_offset_seconds) // 3600 % 24)


def _valid_hour(hour: int) -> int | None:
    return hour if hour < 24 else None
