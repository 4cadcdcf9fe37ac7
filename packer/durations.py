"""Rule time values: parsed as Microsoft's CI parses them, rendered as the API wants them.

CI (`ScheduledTemplateTimeSpanConverter`) first tries .NET `TimeSpan.TryParse` (so `01:00:00`,
`1.00:00:00` and a bare `5`, meaning five days, are accepted), then `<int><m|h|d>`.
"""
from __future__ import annotations

import re
from datetime import timedelta

_SHORT = re.compile(r"^(\d+)([mhd])$")
# [-][d.]hh:mm[:ss[.fffffff]] or a bare number of days
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?$")
_DAYS = re.compile(r"^\d+$")
_UNIT = {"m": "minutes", "h": "hours", "d": "days"}

MIN_INTERVAL = timedelta(minutes=5)
MAX_INTERVAL = timedelta(days=14)


class DurationError(ValueError):
    pass


def parse_duration(text: str) -> timedelta:
    value = str(text).strip()
    if _DAYS.match(value):
        return timedelta(days=int(value))
    match = _TIMESPAN.match(value)
    if match:
        days, hours, minutes, seconds, fraction = match.groups()
        if int(hours) > 23 or int(minutes) > 59 or int(seconds or 0) > 59:
            raise DurationError(f"'{value}' is not a valid time span")
        return timedelta(
            days=int(days or 0),
            hours=int(hours),
            minutes=int(minutes),
            seconds=int(seconds or 0),
            microseconds=int((fraction or "0").ljust(7, "0")[:6]),
        )
    match = _SHORT.match(value)
    if match:
        return timedelta(**{_UNIT[match.group(2)]: int(match.group(1))})
    raise DurationError(f"'{value}' is not a duration; write a whole number with m, h or d (5m, 1h, 14d)")


def to_iso8601(text_or_delta: str | timedelta) -> str:
    """`1d` -> `P1D`, `5h` -> `PT5H`, `90m` -> `PT1H30M` (what the API and the packager write)."""
    delta = text_or_delta if isinstance(text_or_delta, timedelta) else parse_duration(text_or_delta)
    total = int(delta.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    out = "P" + (f"{days}D" if days else "")
    time = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{seconds}S" if seconds else "")
    if time:
        out += "T" + time
    return out if out != "P" else "PT0S"
