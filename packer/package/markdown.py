"""Markdown to HTML as Microsoft's packager renders descriptions: PowerShell's
`ConvertFrom-Markdown`, which is Markdig with its advanced extensions.

markdown-it-py (CommonMark) with plugins set to Markdig's behaviour: pipe tables, `~~strike~~`
as `<del>`, bare URLs as links (GFM autolinks), heading ids (Markdig's AutoIdentifiers slug),
task lists, footnotes, definition lists, and Markdig's list extras: `a.`/`A.` items make an
`<ol type="a">` list, roman numerals an `<ol type="i">` (no plugin of mdit-py-plugins has them;
`alpha_lists` below adds them).
"""
from __future__ import annotations

import re
import unicodedata

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.gfm_autolink import gfm_autolink_plugin
from mdit_py_plugins.tasklists import tasklists_plugin

_ALPHA_MARKER = re.compile(r"([ivxlcdm]+|[IVXLCDM]+|[a-zA-Z])\.(?=[ \t]|$)")
_ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100, "d": 500, "m": 1000}


def _roman_value(numeral: str) -> int:
    values = [_ROMAN[c] for c in numeral.lower()]
    return sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))
_RESERVED = "_-."


def markdig_slug(text: str) -> str:
    """Markdig's AutoIdentifiers (LinkHelper.Urilize, ASCII only): letters lower-cased, leading
    non-letters dropped, `_-.` and digits kept, any other run of characters becomes one `-`."""
    out: list[str] = []
    has_letter = previous_space = False
    for char in unicodedata.normalize("NFKD", text):
        if char.isalpha():
            if not char.isascii():
                continue
            out.append(char.lower())
            has_letter, previous_space = True, False
        elif not has_letter:
            continue
        elif char in _RESERVED:
            if previous_space:
                out.pop()
            out.append(char)
            previous_space = False
        elif char.isdigit():
            out.append(char)
            previous_space = False
        elif not previous_space and not unicodedata.combining(char):
            out.append("-")
            previous_space = True
    return "".join(out).rstrip(_RESERVED) or "section"


def _list_type(marker: str, list_type: str | None) -> str | None:
    """Markdig's ListExtra bullet type of `marker` ("a", "A", "i", "I"), given the type of the list
    it would continue (None: a new list, where a roman letter starts a roman list), or None."""
    roman = all(c in _ROMAN for c in marker.lower()) and (marker.islower() or marker.isupper())
    if roman and list_type in (None, "i", "I"):
        return "i" if marker.islower() else "I"
    if len(marker) == 1 and list_type in (None, "a", "A"):
        return "a" if marker.islower() else "A"
    return None


def _alpha_marker(state: StateBlock, line: int, list_type: str | None = None) -> tuple[str, str, int] | None:
    """(bullet type, marker, position after it and one space) when `line` starts an item."""
    if state.sCount[line] - state.blkIndent >= 4:
        return None
    start = state.bMarks[line] + state.tShift[line]
    match = _ALPHA_MARKER.match(state.src, start, state.eMarks[line])
    bullet = _list_type(match.group(1), list_type) if match else None
    if bullet is None or (list_type is not None and bullet != list_type):
        return None
    after = match.end()
    if after < state.eMarks[line] and state.src[after] in " \t":
        after += 1
    return bullet, match.group(1), after


def alpha_lists(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    """Markdig's ListExtra: `a.`, `b.` ... items as `<ol type="a">`, a list starting with a
    roman numeral (`i.`, `iv.`, also `c.`) as `<ol type="i">`. Tight lists only; a paragraph is
    not interrupted, as for CommonMark ordered lists not starting at 1."""
    first = _alpha_marker(state, start_line)
    if first is None or (silent and state.parentType == "paragraph"):
        return False
    if silent:
        return True
    list_type, marker, _ = first
    start = _roman_value(marker) if list_type in "iI" else ord(marker.lower()) - ord("a") + 1
    token = state.push("ordered_list_open", "ol", 1)
    token.attrSet("type", list_type)
    if start != 1:
        token.attrSet("start", str(start))
    token.map = [start_line, start_line]
    line = start_line
    old_parent = state.parentType
    state.parentType = "list"
    while line < end_line and (item_marker := _alpha_marker(state, line, list_type)) is not None:
        item_end = line + 1
        while item_end < end_line and not state.isEmpty(item_end) and _alpha_marker(state, item_end, list_type) is None:
            item_end += 1
        old_mark, old_shift, old_count = state.bMarks[line], state.tShift[line], state.sCount[line]
        state.bMarks[line], state.tShift[line], state.sCount[line] = item_marker[2], 0, state.blkIndent
        item = state.push("list_item_open", "li", 1)
        item.map = [line, item_end]
        first_token = len(state.tokens)
        old_max, state.lineMax = state.lineMax, item_end
        state.md.block.tokenize(state, line, item_end)
        state.lineMax = old_max
        for inner in state.tokens[first_token:]:
            if inner.type in ("paragraph_open", "paragraph_close") and inner.level == item.level + 1:
                inner.hidden = True
        state.push("list_item_close", "li", -1)
        state.bMarks[line], state.tShift[line], state.sCount[line] = old_mark, old_shift, old_count
        line = item_end
        if line < end_line and state.isEmpty(line):
            break
    token.map[1] = line
    state.push("ordered_list_close", "ol", -1)
    state.parentType = old_parent
    state.line = line
    return True


def _table_alignment(state) -> None:
    """Markdig writes `style="text-align: center;"` where markdown-it writes `text-align:center`."""
    for token in state.tokens:
        if token.type in ("th_open", "td_open") and (style := token.attrGet("style")):
            token.attrSet("style", str(style).replace("text-align:", "text-align: ") + ";")


def _markdig() -> MarkdownIt:
    md = (MarkdownIt("commonmark")
          .enable(["table", "strikethrough"])
          .use(gfm_autolink_plugin)
          .use(anchors_plugin, min_level=1, max_level=6, slug_func=markdig_slug)
          .use(tasklists_plugin)
          .use(footnote_plugin)
          .use(deflist_plugin))
    md.block.ruler.before("list", "alpha_list", alpha_lists, {"alt": ["paragraph", "reference", "blockquote"]})
    md.core.ruler.push("markdig_table_alignment", _table_alignment)
    md.add_render_rule("s_open", lambda *args: "<del>")
    md.add_render_rule("s_close", lambda *args: "</del>")
    return md


_MARKDIG = _markdig()


def render(markdown: str) -> str:
    """HTML as ConvertFrom-Markdown's `.Html` gives it."""
    return _MARKDIG.render(markdown)
