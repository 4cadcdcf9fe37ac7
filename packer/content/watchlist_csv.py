"""A watchlist's items: a CSV file (header row, then one item per row), read with line numbers.

Sentinel takes a watchlist's items as CSV (`rawContent`, `contentType: text/csv`: Watchlists.json,
CreateWatchlistAndWatchlistItems.json) and identifies rows by the search key column. The limits
checked here are Sentinel's for a file uploaded from a local source ("Microsoft Sentinel service
limits", watchlists: 3.8 MB per upload); larger lists go through Azure Storage, which this tool
does not do.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from packer.content.model import WatchlistRow
from packer.content.yamlsource import read_text
from packer.errors import ContentError

MAX_UPLOAD_BYTES = 3_800_000  # "3.8 MB" (Sentinel service limits, watchlist upload from a local file)


@dataclass(frozen=True)
class WatchlistItems:
    path: Path
    columns: tuple[str, ...]
    rows: tuple[WatchlistRow, ...]


def read_items(path: Path, root: Path | None = None) -> WatchlistItems:
    """The CSV's header and rows; ContentError naming the file and line for anything unusable."""
    text = read_text(path, root)
    size = len(text.encode("utf-8"))
    if size > MAX_UPLOAD_BYTES:
        raise ContentError(path, 1, 1, "", f"is {size:,} bytes; Sentinel takes at most 3.8 MB of watchlist items "
                                           "from a file (larger lists need an Azure Storage upload)")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise ContentError(path, 1, 1, "", "has no header row (the first line names the columns)")
        columns = tuple(h.strip() for h in header)
        _check_header(path, columns)
        rows: list[WatchlistRow] = []
        for record in reader:
            line = reader.line_num
            if not any(v.strip() for v in record):
                continue  # blank lines carry no item
            if len(record) != len(columns):
                raise ContentError(path, line, 1, "", f"has {len(record)} values; the header has {len(columns)} "
                                                      f"columns ({', '.join(columns)})")
            rows.append(WatchlistRow(dict(zip(columns, (v.strip() for v in record))), line))
    except csv.Error as exc:
        raise ContentError(path, reader.line_num or 1, 1, "", f"is not valid CSV: {exc}") from None
    return WatchlistItems(path, columns, tuple(rows))


def _check_header(path: Path, columns: tuple[str, ...]) -> None:
    seen: set[str] = set()
    for index, name in enumerate(columns, 1):
        if not name:
            raise ContentError(path, 1, 1, "", f"column {index} of the header has no name")
        if name.lower() in seen:
            raise ContentError(path, 1, 1, "", f"the header names column {name!r} twice")
        seen.add(name.lower())


# What search_key_errors found, as the validator's problem codes.
KEY_NOT_A_COLUMN = "watchlist.search-key"
KEY_MISSING = "watchlist.search-key"
KEY_DUPLICATE = "watchlist.duplicate-key"


def search_key_errors(key: str, columns: tuple[str, ...],
                      rows: tuple[WatchlistRow, ...]) -> list[tuple[int, str, str]]:
    """(line, code, message) for each reason the items cannot be matched by `key`: not a header
    column (line 1, the only error then), an item without a value, or two items with the same value
    (keys compare case-insensitively)."""
    if key not in columns:
        near = next((c for c in columns if c.lower() == key.lower()), None)
        hint = f"; the header spells it {near!r}" if near else f"; the header has {', '.join(columns)}"
        return [(1, KEY_NOT_A_COLUMN, f"the search key {key!r} is not a column of the header{hint}")]
    errors: list[tuple[int, str, str]] = []
    seen: dict[str, int] = {}
    for row in rows:
        value = row.values.get(key, "")
        if not value:
            errors.append((row.line, KEY_MISSING, f"this item has no {key} (the search key identifies each item)"))
        elif value.lower() in seen:
            errors.append((row.line, KEY_DUPLICATE, f"{key} {value!r} is already the key of the item on line {seen[value.lower()]}; "
                                     "every item needs its own search-key value"))
        else:
            seen[value.lower()] = row.line
    return errors


def to_csv(columns: tuple[str, ...], rows: tuple[WatchlistRow, ...]) -> str:
    """The items as CSV text (what a watchlist create uploads as rawContent)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.values.get(c, "") for c in columns])
    return out.getvalue()
