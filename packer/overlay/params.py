"""Query parameters: declared placeholders in KQL that an overlay may set per workspace.

A parameter is a one-line `let` statement marked with a `// @param` comment:

    let KnownHosts = dynamic(["jump01"]); // @param hosts the customer's RMM legitimately manages
    let Lookback = 5d;                    // @param

The query stays valid, analysable KQL (the written value is the default) and the rule YAML
stays valid for Microsoft's tooling. The parameter's type is the type of its default literal:
string ("..." or '...'), long, real, bool, timespan (5m, 1h, 2d...), datetime(...), dynamic(...).
An overlay value replaces the literal; its type must fit.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from packer.durations import parse_iso_datetime
from packer.overlay.model import ParameterValue

_PARAM_LINE = re.compile(
    r"^(?P<head>[ \t]*let[ \t]+(?P<name>[A-Za-z_]\w*)[ \t]*=[ \t]*)(?P<value>.*?)(?P<tail>[ \t]*;[ \t]*//[ \t]*@param\b.*)$",
    re.MULTILINE,
)
_TIMESPAN = re.compile(r"^\d+(\.\d+)?(d|h|m|s|ms|microseconds?|ticks?)$")


class ParameterError(ValueError):
    pass


@dataclass(frozen=True)
class QueryParameter:
    name: str
    type: str  # string | long | real | bool | timespan | datetime | dynamic
    default: str  # the literal as written


def declared_parameters(query: str) -> dict[str, QueryParameter]:
    """The parameters a query declares, by name; raises ParameterError for an untyped default."""
    found: dict[str, QueryParameter] = {}
    for match in _PARAM_LINE.finditer(query):
        name, literal = match.group("name"), match.group("value").strip()
        if name in found:
            raise ParameterError(f"parameter '{name}' is declared twice")
        found[name] = QueryParameter(name, literal_type(literal, name), literal)
    return found


def literal_type(literal: str, name: str = "") -> str:
    lowered = literal.lower()
    if lowered.startswith("dynamic("):
        return "dynamic"
    if lowered.startswith("datetime("):
        return "datetime"
    if literal[:1] in ("'", '"') or literal[:2] in ('@"', "@'"):
        return "string"
    if lowered in ("true", "false"):
        return "bool"
    if _TIMESPAN.match(lowered) or lowered.startswith("time("):
        return "timespan"
    if re.fullmatch(r"-?\d+", literal):
        return "long"
    if re.fullmatch(r"-?\d+\.\d*", literal):
        return "real"
    raise ParameterError(
        f"parameter '{name}' has default {literal!r}, which is not a literal; write a string, number, "
        "bool, timespan (5m), datetime(...) or dynamic(...) value"
    )


def render_literal(parameter: QueryParameter, value: ParameterValue) -> str:
    """The KQL literal for an overlay value; ParameterError if it does not fit the type."""
    kind = parameter.type
    if kind == "dynamic":
        items = list(value) if isinstance(value, tuple) else value
        return f"dynamic({json.dumps(items, ensure_ascii=False)})"
    if isinstance(value, tuple):
        raise _mismatch(parameter, value)
    if kind == "string" and isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if kind == "bool" and isinstance(value, bool):
        return "true" if value else "false"
    if kind == "long" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if kind == "real" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(float(value))
    if kind == "timespan" and isinstance(value, str) and _TIMESPAN.match(value.strip().lower()):
        return value.strip()
    if kind == "datetime" and isinstance(value, str) and _is_datetime(value):
        return f"datetime({value.strip()})"
    raise _mismatch(parameter, value)


def substitute(query: str, values: dict[str, ParameterValue]) -> str:
    """The query with each declared parameter named in `values` set to its value."""
    declared = declared_parameters(query)

    def replace(match: re.Match) -> str:
        name = match.group("name")
        if name not in values:
            return match.group(0)
        literal = render_literal(declared[name], values[name])
        return f"{match.group('head')}{literal}{match.group('tail')}"

    return _PARAM_LINE.sub(replace, query)


def _is_datetime(text: str) -> bool:
    try:
        parse_iso_datetime(text)
    except ValueError:
        return False
    return True


def _mismatch(parameter: QueryParameter, value: ParameterValue) -> ParameterError:
    return ParameterError(
        f"parameter '{parameter.name}' is a {parameter.type} (default {parameter.default}); "
        f"the value {value!r} does not fit"
    )
