"""Map a character offset inside a query back to line:column in the file it was written in.

A query's text is a YAML scalar (`|`, `|-`, `|+`, `>`, quoted or plain) or a JSON string; its
characters are not where they stand in the file (indentation, folding, escapes). Every
non-blank character of the value is matched, in order, against the scalar's source text, which
is exact for block scalars and plain text and good to a character for escapes.
File text is read like the loader reads it (BOM dropped, CRLF as LF), so lines match editors.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml

from packer.content.yamlsource import Position, read_text

_SEARCH_LIMIT = 12  # source characters an escape sequence may take for one value character


@dataclass
class ScalarSource:
    """Where a query value stands in a file: its source span and the file's text."""

    text: str  # the whole file, as the loader reads it
    start: int  # index in `text` where the value's characters begin
    end: int
    value: str
    literal_indent: int | None = None  # a `|` block: each value line is a source line, this indented

    @cached_property
    def _line_starts(self) -> list[int]:
        starts = [0]
        starts += [m.end() for m in re.finditer("\n", self.text)]
        return starts

    def position_of_index(self, index: int) -> Position:
        lo, hi = 0, len(self._line_starts) - 1
        while lo < hi:  # last line start <= index
            mid = (lo + hi + 1) // 2
            if self._line_starts[mid] <= index:
                lo = mid
            else:
                hi = mid - 1
        return Position(lo + 1, index - self._line_starts[lo] + 1)

    def position(self, offset: int) -> Position:
        """Line and column (1-based) of the value's character at `offset`."""
        fast = self._literal_position(offset) if self.literal_indent is not None else None
        return fast or self.position_of_index(self._source_index(offset))

    def _literal_position(self, offset: int) -> Position | None:
        """In a literal block the value's line n is the block's line n, indented: no alignment of
        the whole query needed. None when the source line does not hold the value's line as
        expected (tabs, a blank character): the general alignment answers then."""
        if not 0 <= offset < len(self.value) or self.value[offset].isspace():
            return None
        line_start = self.value.rfind("\n", 0, offset) + 1
        line_end = self.value.find("\n", offset)
        line = self.value[line_start:line_end if line_end >= 0 else len(self.value)]
        first = self.position_of_index(self.start).line - 1
        index = first + self.value.count("\n", 0, offset)
        if index >= len(self._line_starts):
            return None
        source = self._line_starts[index] + self.literal_indent
        if self.text[source:source + len(line)] != line:
            return None
        return Position(index + 1, self.literal_indent + offset - line_start + 1)

    @cached_property
    def _alignment(self) -> tuple[list[int | None], list[int], int]:
        """Per value character: its source index (None if blank or not found) and the source
        position before it; plus the index just after the last matched character."""
        matched: list[int | None] = [None] * len(self.value)
        before = [self.start] * len(self.value)
        src, end = self.start, self.start
        for i, char in enumerate(self.value):
            before[i] = src
            if char.isspace():
                continue
            found = self._find(char, src)
            if found is not None:
                matched[i] = found
                src = end = found + 1
        return matched, before, end

    def _source_index(self, offset: int) -> int:
        matched, before, end = self._alignment
        if offset >= len(self.value):  # past the end: just after the last character
            return end
        if matched[offset] is not None:
            return matched[offset]
        return min(before[offset], max(self.end, self.start))  # blank: just after the previous match

    def _find(self, char: str, src: int) -> int | None:
        stop = min(self.end, src + _SEARCH_LIMIT)
        # skip blank runs (indentation, folded line breaks) without spending the escape budget
        while src < self.end and self.text[src].isspace() and char != self.text[src]:
            src += 1
            stop = min(self.end, max(stop, src + _SEARCH_LIMIT))
        found = self.text.find(char, src, stop)
        return found if found >= 0 else None


def yaml_scalar(path: Path, field: tuple[str | int, ...], value: str) -> ScalarSource | None:
    """The source of the YAML scalar at `field` (keys matched case-insensitively)."""
    try:
        text = read_text(path)
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except Exception:  # the file was validated already; a failure here only loses the position
        return None
    for part in field:
        node = _child(node, part)
        if node is None:
            return None
    if not isinstance(node, yaml.ScalarNode):
        return None
    start, end = node.start_mark.index, node.end_mark.index
    indent = None
    if node.style in ("|", ">"):
        newline = text.find("\n", start)
        start = end if newline < 0 else newline + 1
        if node.style == "|":
            first = next((line for line in text[start:end].split("\n") if line.strip()), "")
            indent = len(first) - len(first.lstrip(" "))
    elif node.style in ('"', "'"):
        start += 1
    return ScalarSource(text, start, end, value, indent)


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int):
        return node.value[part] if 0 <= part < len(node.value) else None
    if isinstance(node, yaml.MappingNode):
        for key, child in node.value:
            if isinstance(key, yaml.ScalarNode) and str(key.value).lower() == str(part).lower():
                return child
    return None


_JSON_QUERY_KEY = re.compile(r'"query"\s*:\s*"', re.IGNORECASE)


def json_string(path: Path, value: str, occurrence: int = 0) -> ScalarSource | None:
    """The source of the `occurrence`-th JSON string `"query": "<value>"` in a JSON file."""
    try:
        text = read_text(path)
    except Exception:
        return None
    seen = 0
    for match in _JSON_QUERY_KEY.finditer(text):
        start = match.end()
        try:
            decoded, end = json.decoder.scanstring(text, start)
        except ValueError:
            continue
        if decoded == value:
            if seen == occurrence:
                return ScalarSource(text, start, end - 1, value)
            seen += 1
    return None
