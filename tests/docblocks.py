"""Code blocks of the project's Markdown documents, read with markdown-it (as GitHub renders them),
so tests run the commands the documents show instead of copies of them."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

# `<!-- runnable -->` or `<!-- runnable emulator: examples/fleet/emulator.yaml -->` before a block
RUNNABLE_MARK = re.compile(r"<!--\s*runnable(?:\s+emulator:\s*(?P<config>\S+))?\s*-->")


@dataclass(frozen=True)
class Block:
    info: str
    text: str
    section: str  # the heading above it
    runnable: bool  # preceded by the RUNNABLE_MARK comment
    line: int  # 1-based line of the opening fence
    emulator_config: str | None = None  # the mark's emulator config (a path from the project root)


def blocks(path: Path) -> list[Block]:
    tokens = MarkdownIt("commonmark").parse(path.read_text(encoding="utf-8"))
    found: list[Block] = []
    section, mark = "", None
    for i, token in enumerate(tokens):
        if token.type == "inline" and i and tokens[i - 1].type == "heading_open":
            section = token.content
        if token.type == "html_block":
            mark = RUNNABLE_MARK.fullmatch(token.content.strip())
            continue
        if token.type == "fence":
            found.append(Block(token.info.strip(), token.content, section, mark is not None, token.map[0] + 1,
                               mark["config"] if mark else None))
        mark = None
    return found


def section_blocks(path: Path, section: str) -> list[Block]:
    return [b for b in blocks(path) if b.section == section]


def commands(block: Block) -> list[str]:
    """The shell commands of a bash block: its lines without blanks and comments."""
    return [line.strip() for line in block.text.splitlines() if line.strip() and not line.strip().startswith("#")]


@dataclass(frozen=True)
class Step:
    command: str
    exit_code: int
    expected: tuple[str, ...]  # lines the output must contain (`...` matches any text)


def steps(block: Block) -> list[Step]:
    """A console block: `$ command   # exit code N` lines, each followed by lines of its output.
    A bash block: one command per line (exit code 0 unless its comment says otherwise)."""
    console = block.info in ("console", "shell-session")
    result: list[Step] = []
    for line in block.text.splitlines():
        is_command = line.startswith("$ ") if console else bool(line.strip()) and not line.lstrip().startswith("#")
        if is_command:
            command = line[2:] if console else line
            code = re.search(r"#\s*exit code (\d+)", command)
            result.append(Step(command.strip(), int(code[1]) if code else 0, ()))
        elif console and result and line.strip() and line.strip() != "...":
            last = result[-1]
            result[-1] = Step(last.command, last.exit_code, (*last.expected, line))
    return result


def _plain(text: str) -> str:
    """Table borders and runs of spaces out: a row matches whatever the column widths are."""
    return " ".join(re.sub(r"[│┃┆|]", " ", text).split())


def missing_lines(expected: tuple[str, ...], output: str) -> list[str]:
    lines = [_plain(line) for line in output.splitlines()]
    missing = []
    for want in expected:
        pattern = ".*".join(re.escape(_plain(part)) for part in want.split("...") if _plain(part))
        if not any(re.search(pattern, line) for line in lines):
            missing.append(want)
    return missing
