"""Checks the Sentinel RP makes on a Scheduled/NRT rule beyond its JSON shape.

Grouping rules are stated in AlertRules.json (2024-09-01) GroupingConfiguration descriptions;
the time ranges come from the Sentinel documentation ("Create a scheduled analytics rule":
run every 5 minutes to 14 days, look back 5 minutes to 14 days, suppression 5 minutes to 24 hours,
grouping look-back up to 7 days). Messages are ours; status and code are the RP's 400 BadRequest.
"""
from __future__ import annotations

import re
from datetime import timedelta

from packer.emulator import armerrors

_ISO = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
FIVE_MINUTES = timedelta(minutes=5)
RANGES = {
    "queryFrequency": (FIVE_MINUTES, timedelta(days=14)),
    "queryPeriod": (FIVE_MINUTES, timedelta(days=14)),
    "suppressionDuration": (FIVE_MINUTES, timedelta(hours=24)),
}
LOOKBACK_RANGE = (FIVE_MINUTES, timedelta(days=7))


def iso_duration(text: str) -> timedelta | None:
    match = _ISO.match(text or "")
    if not match:
        return None
    years, months, weeks, days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return timedelta(days=years * 365 + months * 30 + weeks * 7 + days, hours=hours, minutes=minutes,
                     seconds=seconds)


def _in_range(props: dict, name: str, bounds: tuple[timedelta, timedelta], target: str) -> None:
    value = props.get(name)
    duration = iso_duration(value) if isinstance(value, str) else None
    if duration is None:
        return
    low, high = bounds
    if not low <= duration <= high:
        raise armerrors.bad_request(f"{name} '{value}' is out of range: it must be between {_human(low)} "
                                    f"and {_human(high)}.", target=target)


def _human(value: timedelta) -> str:
    if value % timedelta(days=1) == timedelta(0):
        return f"{value.days} days"
    if value % timedelta(hours=1) == timedelta(0):
        return f"{int(value.total_seconds() // 3600)} hours"
    return f"{int(value.total_seconds() // 60)} minutes"


def check_rule(kind: str, props: dict) -> None:
    for name, bounds in RANGES.items():
        if kind == "NRT" and name != "suppressionDuration":
            continue
        if name == "suppressionDuration" and not props.get("suppressionEnabled"):
            continue
        _in_range(props, name, bounds, f"properties.{name}")
    _check_grouping(props)


def _check_grouping(props: dict) -> None:
    grouping = (props.get("incidentConfiguration") or {}).get("groupingConfiguration") or {}
    target = "properties.incidentConfiguration.groupingConfiguration"
    if not grouping:
        return
    if grouping.get("enabled"):
        _in_range(grouping, "lookbackDuration", LOOKBACK_RANGE, f"{target}.lookbackDuration")
    entities = grouping.get("groupByEntities") or []
    details = grouping.get("groupByAlertDetails") or []
    custom = grouping.get("groupByCustomDetails") or []
    if grouping.get("matchingMethod") == "Selected" and not (entities or details or custom):
        raise armerrors.bad_request("When matchingMethod is Selected at least one of groupByEntities, "
                                    "groupByAlertDetails, groupByCustomDetails must be provided and not empty.",
                                    target=f"{target}.matchingMethod")
    mapped = {m.get("entityType") for m in props.get("entityMappings") or [] if isinstance(m, dict)}
    unmapped = [e for e in entities if e not in mapped]
    if unmapped:
        raise armerrors.bad_request(f"groupByEntities may only use entities mapped by this rule; not mapped: "
                                    f"{', '.join(unmapped)}.", target=f"{target}.groupByEntities")
    keys = set(props.get("customDetails") or {})
    unknown = [k for k in custom if k not in keys]
    if unknown:
        raise armerrors.bad_request(f"groupByCustomDetails may only use keys of this rule's customDetails; "
                                    f"unknown: {', '.join(unknown)}.", target=f"{target}.groupByCustomDetails")
