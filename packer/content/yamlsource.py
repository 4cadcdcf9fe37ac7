"""Read a YAML file the way Microsoft's CI reads it, remembering where every value stands.

PyYAML is used only to *compose* the node tree; values are built here so that
- duplicate keys are reported instead of silently keeping the last one,
- every value keeps its position (line and column, 1-based) under its path,
- every scalar keeps its literal text (CI sees `version: 1.0` as "1.0", not 1.0).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from packer.content.safefile import MAX_FILE_BYTES, read_bytes
from packer.errors import ContentError
MAX_NODES = 200_000

FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    line: int
    column: int


@dataclass
class YamlDocument:
    """A parsed YAML mapping with the position and raw text of everything in it."""

    path: Path
    text: str
    value: Any
    positions: dict[FieldPath, Position] = field(default_factory=dict)
    scalar_text: dict[FieldPath, str] = field(default_factory=dict)
    duplicate_keys: list[tuple[FieldPath, Position]] = field(default_factory=list)
    nodes_built: int = 0  # guards against alias bombs (anchors expanded exponentially)
    root: Path | None = None  # the content root: files it refers to (workbook JSON) must be inside it

    def position(self, path: FieldPath) -> Position:
        """Where `path` stands; falls back to its nearest located parent."""
        while path:
            if path in self.positions:
                return self.positions[path]
            path = path[:-1]
        return self.positions.get((), Position(1, 1))

    def raw(self, path: FieldPath) -> str | None:
        return self.scalar_text.get(path)


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml when available: ~5x faster
    pass


def read_text(path: Path, root: Path | None = None) -> str:
    """Read a content file as text: BOM stripped, CRLF accepted, clear errors for the rest.
    Only a regular file inside `root` is read (packer.content.safefile)."""
    data = read_bytes(path, root)
    if b"\x00" in data:
        raise ContentError(path, 1, 1, "", "file is binary (contains NUL bytes), not YAML or JSON text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ContentError(path, line, 1, "", "file is not valid UTF-8 text") from None
    return text.replace("\r\n", "\n")


def load_yaml(path: Path, text: str | None = None, root: Path | None = None) -> YamlDocument:
    """Parse one YAML file into a YamlDocument; raises ContentError for unusable input."""
    if text is None:
        text = read_text(path, root)
    if not text.strip():
        raise ContentError(path, 1, 1, "", "file is empty")
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise ContentError(path, line, column, "", f"YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:  # composer errors without a mark (e.g. several documents)
        raise ContentError(path, 1, 1, "", f"YAML error: {exc}") from None
    if node is None:
        raise ContentError(path, 1, 1, "", "file holds no YAML document")
    doc = YamlDocument(path=path, text=text, value=None, root=root)
    try:
        doc.value = _build(node, (), doc)
    except RecursionError:
        raise ContentError(path, 1, 1, "", "YAML is nested too deeply to be a content file") from None
    return doc


_constructor = yaml.SafeLoader(stream="")
_SURROGATE = re.compile("[\ud800-\udfff]")
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


def _build(node: yaml.Node, path: FieldPath, doc: YamlDocument) -> Any:
    doc.nodes_built += 1
    if doc.nodes_built > MAX_NODES:
        raise ContentError(doc.path, node.start_mark.line + 1, node.start_mark.column + 1, "",
                           f"more than {MAX_NODES:,} YAML values (aliases expanding?); content files are far smaller")
    doc.positions[path] = Position(node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.ScalarNode):
        _check_unicode(node, doc)
        doc.scalar_text[path] = node.value
        if node.tag == _STR_TAG:  # most scalars: skip the constructor machinery
            return node.value
        construct = _constructor.yaml_constructors.get(node.tag)
        if construct is None:
            return node.value
        try:
            return construct(_constructor, node)
        except (yaml.constructor.ConstructorError, ValueError):
            return node.value
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), doc) for i, item in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        if any(key_node.tag == _MERGE_TAG for key_node, _ in node.value):
            _constructor.flatten_mapping(node)  # `<<: *anchor` merge keys
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                _check_unicode(key_node, doc)
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            child = path + (key,)
            if key in result:
                doc.duplicate_keys.append(
                    (child, Position(key_node.start_mark.line + 1, key_node.start_mark.column + 1))
                )
            # the key's own position is where a reader looks for "the field"
            result[key] = _build(value_node, child, doc)
            doc.positions[child] = Position(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            doc.positions[child + ("<value>",)] = Position(
                value_node.start_mark.line + 1, value_node.start_mark.column + 1
            )
        return result
    raise ContentError(doc.path, 1, 1, "", f"unsupported YAML node {node!r}")


def _check_unicode(node: yaml.ScalarNode, doc: YamlDocument) -> None:
    """Only an escape can make a surrogate (the text decoded as UTF-8); libyaml refuses them, the
    pure-Python reader keeps them, and they cannot be encoded into a package or an API body."""
    if _SURROGATE.search(node.value):
        raise ContentError(doc.path, node.start_mark.line + 1, node.start_mark.column + 1, "",
                           "text is not valid Unicode (a surrogate from a \\u escape); write the character itself")
