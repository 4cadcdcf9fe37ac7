"""Canonical JSON comparison for the build conformance tests (key order ignored), and its tests.

Paths look like `main.resources[<resource name>].properties.query`: lists of objects that
all carry a unique `name` (resources, steps, elements) or `contentId` (criteria) are matched
by that key, other lists by position.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

MATCH_KEYS = ("name", "contentId")


def _key_of(items: list) -> str | None:
    for key in MATCH_KEYS:
        if items and all(isinstance(i, dict) and isinstance(i.get(key), str) for i in items):
            values = [i[key] for i in items]
            if len(set(values)) == len(values):
                return key
    return None


def differences(ours: Any, theirs: Any, path: str) -> Iterator[str]:
    """Every path where the two JSON values differ, with what differs."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        yield from _member_differences(ours, theirs, sorted(set(ours) | set(theirs)), lambda key: f"{path}.{key}")
    elif isinstance(ours, list) and isinstance(theirs, list):
        key = _key_of(ours)
        if key and key == _key_of(theirs):
            mine = {i[key]: i for i in ours}
            other = {i[key]: i for i in theirs}
            order = [n for n in other] + [n for n in mine if n not in other]
        else:
            mine, other = dict(enumerate(ours)), dict(enumerate(theirs))
            order = range(max(len(ours), len(theirs)))
        yield from _member_differences(mine, other, order, lambda name: f"{path}[{name}]")
    elif ours != theirs or type(ours) is not type(theirs):
        yield f"{path} (value differs)"


def _member_differences(ours: dict, theirs: dict, order, child_path) -> Iterator[str]:
    """Members missing on either side, and the differences inside those both have."""
    for member in order:
        child = child_path(member)
        if member not in ours:
            yield f"{child} (missing in ours)"
        elif member not in theirs:
            yield f"{child} (extra in ours)"
        else:
            yield from differences(ours[member], theirs[member], child)


def pattern_matches(pattern: str, path: str) -> bool:
    """`*` matches any text (brackets and dots are literal)."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, path) is not None


# --- tests of the comparison itself ---------------------------------------------------------


def test_key_order_is_ignored_and_named_lists_match_by_name() -> None:
    ours = {"resources": [{"name": "b", "x": 1}, {"name": "a", "y": [1, 2]}]}
    theirs = {"resources": [{"name": "a", "y": [1, 2]}, {"x": 1, "name": "b"}]}
    assert list(differences(ours, theirs, "main")) == []


def test_differences_name_the_path_and_what_differs() -> None:
    ours = {"resources": [{"name": "a", "v": 1}, {"name": "new"}], "extra": True}
    theirs = {"resources": [{"name": "a", "v": 2}, {"name": "gone"}]}
    assert sorted(differences(ours, theirs, "main")) == [
        "main.extra (extra in ours)",
        "main.resources[a].v (value differs)",
        "main.resources[gone] (missing in ours)",
        "main.resources[new] (extra in ours)",
    ]


def test_a_number_never_equals_a_string_or_bool() -> None:
    assert list(differences({"v": 1}, {"v": True}, "m")) == ["m.v (value differs)"]


def test_patterns_treat_brackets_literally() -> None:
    path = "main.resources[[variables('x1')]].properties.query (value differs)"
    assert pattern_matches("main.resources[*x1*].properties.query (value differs)", path)
    assert not pattern_matches("main.resources[*x2*]*", path)
