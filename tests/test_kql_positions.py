"""Offsets inside a query map back to the line and column where that character stands in the file."""
from __future__ import annotations

import json

import pytest

from packer.content.yamlsource import Position
from packer.kql.positions import json_string, yaml_scalar

QUERY_LINES = [
    "DeviceProcessEvents",
    "| where Timestamp > ago(5d)",
    "| where ProcessVersionInfoCompanyName has 'Servably, Inc.'",
    "| summarize Count=count() by DeviceId, DeviceName",
]
TOKEN = "ProcessVersionInfoCompanyName"


def expected_position(file_text: str, token: str) -> tuple[int, int]:
    """Where `token` stands in the file, as an editor shows it (BOM not counted, CRLF = one line break)."""
    text = file_text.lstrip("\ufeff").replace("\r\n", "\n")
    index = text.index(token)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column


def block(indicator: str) -> str:
    body = "".join(f"  {line}\n" for line in QUERY_LINES)
    return f"query: {indicator}\n{body}"


def folded() -> str:
    # a folded scalar: each line break inside a paragraph becomes a space in the value
    return "query: >\n" + "".join(f"  {line}\n" for line in QUERY_LINES)


def double_quoted() -> str:
    escaped = "\\n".join(line.replace('"', '\\"') for line in QUERY_LINES)
    return f'query: "{escaped}"\n'


def single_quoted() -> str:
    joined = "\n\n  ".join(line.replace("'", "''") for line in QUERY_LINES)
    return f"query: '{joined}'\n"


def plain() -> str:
    return "query: " + "\n  ".join(line for line in QUERY_LINES if "'" not in line and ": " not in line) + \
        f"\n  | where {TOKEN} has 'x'\n"


STYLES = {
    "literal": block("|"),
    "literal-strip": block("|-"),
    "literal-keep": block("|+"),
    "literal-indent-indicator": block("|2"),
    "literal-with-comment": block("| # the query"),
    "folded": folded(),
    "double-quoted": double_quoted(),
    "single-quoted": single_quoted(),
    "plain": plain(),
}


def write(tmp_path, content: str, crlf: bool = False, bom: bool = False):
    text = "id: 1\nname: test\n" + content + "version: 1.0.0\n"
    if crlf:
        text = text.replace("\n", "\r\n")
    path = tmp_path / "rule.yaml"
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode())
    return path, text


def load_value(path) -> str:
    import yaml
    return yaml.safe_load(path.read_text(encoding="utf-8-sig"))["query"]


@pytest.mark.parametrize("style", sorted(STYLES))
@pytest.mark.parametrize("crlf,bom", [(False, False), (True, False), (False, True), (True, True)])
def test_token_offset_maps_to_its_place_in_the_file(tmp_path, style, crlf, bom):
    path, text = write(tmp_path, STYLES[style], crlf=crlf, bom=bom)
    value = load_value(path)
    source = yaml_scalar(path, ("query",), value)
    assert source is not None
    where = source.position(value.index(TOKEN))
    assert (where.line, where.column) == expected_position(text, TOKEN)


def test_last_character_and_end_of_query(tmp_path):
    path, text = write(tmp_path, block("|-"))
    value = load_value(path)
    source = yaml_scalar(path, ("query",), value)
    last_line, last_column = expected_position(text, "DeviceName\n")
    assert source.position(len(value) - 1) == Position(last_line, last_column + len("DeviceName") - 1)
    # Kusto reports "missing" things at the end of the text: just after the last character
    end = source.position(len(value))
    assert (end.line, end.column) == (last_line, last_column + len("DeviceName"))


def test_blank_offset_points_just_after_the_previous_token(tmp_path):
    path, text = write(tmp_path, "query: |\n  T\n  | where X has \n  | take 1\n")
    value = load_value(path)
    source = yaml_scalar(path, ("query",), value)
    where = source.position(value.index("has ") + len("has"))
    line, column = expected_position(text, "has \n")
    assert (where.line, where.column) == (line, column + len("has"))


def test_keys_are_matched_case_insensitively_and_missing_keys_give_none(tmp_path):
    path = tmp_path / "parser.yaml"
    path.write_text("FunctionName: P\nFunctionQuery: |\n  T | take 1\n", encoding="utf-8")
    source = yaml_scalar(path, ("functionquery",), "T | take 1\n")
    assert source is not None and source.position(4).line == 3
    assert yaml_scalar(path, ("query",), "T") is None


def test_json_string_in_a_workbook(tmp_path):
    query = "SigninLogs\n| where ResultType == \"0\"\n| project Zzz"
    other = "SecurityEvent | take 1"
    data = {"version": "Notebook/1.0", "items": [
        {"type": 3, "content": {"query": other}},
        {"type": 3, "content": {"query": query}},
    ]}
    path = tmp_path / "workbook.json"
    text = json.dumps(data, indent=2)
    path.write_text(text, encoding="utf-8")
    source = json_string(path, query)
    where = source.position(query.index("Zzz"))
    assert (where.line, where.column) == expected_position(text, "Zzz")
    assert json_string(path, "not in the file") is None


def test_every_corpus_query_maps_back_to_its_own_characters():
    from conftest import shared_path
    from packer.content.yamlsource import read_text
    import yaml

    checked = 0
    for folder in ("analytic", "hunting"):
        for path in sorted(shared_path("corpus", "rules", folder).glob("*.yaml")):
            value = yaml.safe_load(path.read_text(encoding="utf-8-sig")).get("query")
            if not isinstance(value, str):
                continue
            source = yaml_scalar(path, ("query",), value)
            lines = read_text(path).split("\n")
            for offset in range(0, len(value), 53):
                if value[offset].isspace():
                    continue
                where = source.position(offset)
                assert lines[where.line - 1][where.column - 1] == value[offset], (path.name, offset)
                checked += 1
    assert checked > 4000
