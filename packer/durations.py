"""Rule time values: parsed as Microsoft's CI parses them, rendered as the API wants them;
and the ISO 8601 date-times of content (automation rule expiries, overlay datetime parameters).

CI (`ScheduledTemplateTimeSpanConverter`) first tries .NET `TimeSpan.TryParse` (so `01:00:00`,
`1.00:00:00` and a bare `5`, meaning five days, are accepted), then `<int><m|h|d>`.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

_SHORT = re.compile(r"^(\d+)([mhd])$")
# [-][d.]hh:mm[:ss[.fffffff]] or a bare number of days
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?$")
_DAYS = re.compile(r"^\d+$")
# What the API returns and the packager writes: P[nD][T[nH][nM][n[.n]S]]
_ISO8601 = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$", re.I)
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


def parse_iso8601(text: str) -> timedelta | None:
    """`PT1H`, `P1DT30M`, `PT0.5S` -> the duration; None for anything else (`P1Y`, `1h`, `PT`)."""
    match = _ISO8601.match(str(text).strip())
    if not match or not any(match.groups()):
        return None
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def canonical_iso8601(text: str) -> str:
    """An ISO 8601 duration in one spelling (P1D == PT24H == PT1440M -> "P1D"), to the second;
    text that is not one is returned as it is."""
    delta = parse_iso8601(text)
    return text if delta is None else to_iso8601(timedelta(seconds=round(delta.total_seconds())))


def to_short(delta: timedelta) -> str | None:
    """The content files' spelling: whole days `2d`, else whole hours `26h`, else minutes `90m`;
    None when it has seconds or is zero (no short spelling)."""
    seconds = delta.total_seconds()
    if seconds <= 0 or seconds % 60:
        return None
    minutes = int(seconds // 60)
    for size, unit in ((1440, "d"), (60, "h")):
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"


def parse_iso_datetime(text: str) -> datetime:
    """`2027-01-31T00:00:00Z` (a trailing Z is UTC) -> an aware or naive datetime; ValueError
    for text that is not an ISO 8601 date-time."""
    return datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
