"""Code blocks of the project's Markdown documents, read with markdown-it (as GitHub renders them),
so tests run the commands the documents show instead of copies of them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

RUNNABLE_MARK = "<!-- runnable -->"


@dataclass(frozen=True)
class Block:
    info: str
    text: str
    section: str  # the heading above it
    runnable: bool  # preceded by the RUNNABLE_MARK comment
    line: int  # 1-based line of the opening fence


def blocks(path: Path) -> list[Block]:
    tokens = MarkdownIt("commonmark").parse(path.read_text(encoding="utf-8"))
    found: list[Block] = []
    section, marked = "", False
    for i, token in enumerate(tokens):
        if token.type == "inline" and i and tokens[i - 1].type == "heading_open":
            section = token.content
        if token.type == "html_block":
            marked = token.content.strip() == RUNNABLE_MARK
            continue
        if token.type == "fence":
            found.append(Block(token.info.strip(), token.content, section, marked, token.map[0] + 1))
        marked = False
    return found


def section_blocks(path: Path, section: str) -> list[Block]:
    return [b for b in blocks(path) if b.section == section]


def commands(block: Block) -> list[str]:
    """The shell commands of a bash block: its lines without blanks and comments."""
    return [line.strip() for line in block.text.splitlines() if line.strip() and not line.strip().startswith("#")]
