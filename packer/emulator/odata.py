"""The OData list options Sentinel's metadata list takes ($filter, $orderby, $top, $skip; Metadata.json
2024-09-01, example GetAllMetadataOData.json: "properties/kind eq 'AnalyticsRule'",
"properties/parentId desc"). $filter: comparisons `path eq|ne 'text'` (or true/false/numbers)
joined by `and`/`or`; paths are slash-separated members. Strings compare case-insensitively, as
the service's examples match; anything else is a 400 naming the option."""
from __future__ import annotations

import re

from packer.emulator import armerrors

_COMPARISON = re.compile(r"^\s*([A-Za-z0-9_/]+)\s+(eq|ne)\s+('(?:[^']|'')*'|true|false|null|-?\d+(?:\.\d+)?)\s*$", re.I)


def _value(body: dict, path: str):
    node = body
    for part in path.split("/"):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _literal(text: str):
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    return float(text)


def _equal(actual, expected) -> bool:
    if isinstance(actual, str) and isinstance(expected, str):
        return actual.lower() == expected.lower()
    if isinstance(expected, float) and isinstance(actual, (int, float)) and not isinstance(actual, bool):
        return float(actual) == expected
    return actual == expected


def _predicate(text: str):
    alternatives = [part for part in re.split(r"\s+or\s+", text, flags=re.I)]
    clauses = []
    for alternative in alternatives:
        terms = []
        for term in re.split(r"\s+and\s+", alternative, flags=re.I):
            match = _COMPARISON.match(term.strip().strip("()"))
            if not match:
                raise armerrors.bad_request(f"The $filter '{text}' is not supported: '{term.strip()}'.",
                                            target="$filter")
            path, operator, literal = match.groups()
            terms.append((path, operator.lower(), _literal(literal)))
        clauses.append(terms)

    def matches(body: dict) -> bool:
        return any(all(_equal(_value(body, p), v) == (op == "eq") for p, op, v in terms) for terms in clauses)

    return matches


def _number(query: dict[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw in (None, ""):
        return None
    if not raw.isdigit():
        raise armerrors.bad_request(f"The query parameter '{name}' must be a non-negative integer.", target=name)
    return int(raw)


def apply(items: list[dict], query: dict[str, str]) -> list[dict]:
    """Items filtered, ordered, skipped and cut as $filter, $orderby, $skip and $top say."""
    if query.get("$filter"):
        items = [b for b in items if _predicate(query["$filter"])(b)]
    if query.get("$orderby"):
        path, _, direction = query["$orderby"].strip().partition(" ")
        items = sorted(items, key=lambda b: str(_value(b, path) or "").lower(),
                       reverse=direction.strip().lower() == "desc")
    skip, top = _number(query, "$skip"), _number(query, "$top")
    if skip:
        items = items[skip:]
    if top is not None:
        items = items[:top]
    return items
