"""Rules on an analytic rule's field values, as pure functions of the values as written.

Validation reports what they find at a file's line and column; overlays report it against the
inventory entry that set the value. One copy of each rule, so an overlay can never give a
workspace a schedule or threshold that a content file may not have.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from packer.durations import MAX_INTERVAL, MIN_INTERVAL, DurationError, parse_duration

MAX_THRESHOLD = 10000
SCHEDULED_ONLY = ("queryFrequency", "queryPeriod", "triggerOperator", "triggerThreshold")  # not in an NRT rule
LONG_PERIOD = timedelta(days=2)  # from here on, the service wants queryFrequency >= MIN_FREQUENCY_FOR_LONG_PERIOD
MIN_FREQUENCY_FOR_LONG_PERIOD = timedelta(hours=1)


@dataclass(frozen=True)
class Violation:
    """One broken rule: the field to point at, a stable code (SARIF rule id) and how to fix it."""

    field: str
    code: str
    message: str


def schedule_violations(frequency: object, period: object) -> list[Violation]:
    """queryFrequency and queryPeriod (text as written; anything else is the schema's to report)."""
    violations: list[Violation] = []
    values: dict[str, timedelta] = {}
    for name, text in (("queryFrequency", frequency), ("queryPeriod", period)):
        if not isinstance(text, str):
            continue
        try:
            values[name] = parse_duration(text)
        except DurationError as exc:
            violations.append(Violation(name, "duration.format", str(exc)))
            continue
        if not MIN_INTERVAL <= values[name] <= MAX_INTERVAL:
            violations.append(Violation(name, "duration.range", f"'{text}' is outside the allowed range 5m to 14d"))
    every, window = values.get("queryFrequency"), values.get("queryPeriod")
    if every is not None and window is not None:
        if window < every:
            violations.append(Violation("queryPeriod", "duration.period-shorter",
                                        "queryPeriod must be at least queryFrequency, or events between runs are never queried"))
        if window >= LONG_PERIOD and every < MIN_FREQUENCY_FOR_LONG_PERIOD:
            violations.append(Violation("queryFrequency", "duration.long-period",
                                        "with a queryPeriod of 2 days or more, queryFrequency must be at least 1h"))
    return violations


def threshold_violations(threshold: object) -> list[Violation]:
    """triggerThreshold as written (text of digits; other shapes are the schema's to report)."""
    if isinstance(threshold, str) and re.fullmatch(r"\s*[0-9]+\s*", threshold) and int(threshold) > MAX_THRESHOLD:
        return [Violation("triggerThreshold", "threshold.range",
                          f"{threshold.strip()} is out of range; triggerThreshold must be 0 to {MAX_THRESHOLD}")]
    return []
