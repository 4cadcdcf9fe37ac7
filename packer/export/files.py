"""Write exported documents as content files: YAML (multi-line text as literal blocks), workbook
JSON beside its metadata, a watchlist's items CSV beside its YAML, under the content folders of
packer.content.load.FOLDERS."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from packer.errors import ConfigError
from packer.export.convert import ExportedDoc


class _Dumper(yaml.SafeDumper):
    """Keys in the order given; text with line breaks as a literal block where YAML allows one
    (PyYAML falls back to a quoted scalar when the text cannot be a block: the value is the same)."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump_yaml(document: dict) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=4096,
                     default_flow_style=False)


def check_empty(folder: Path) -> None:
    """Export never overwrites: the content folder must not exist yet, or be empty."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ConfigError(f"{folder} already exists and is not empty: export into a new folder (--out)")


def write_docs(docs: list[ExportedDoc], content_root: Path) -> dict[str, Path]:
    """Each document's file (by lower-cased resource id); file names are unique per folder."""
    written: dict[str, Path] = {}
    used: set[str] = set()
    for doc in sorted(docs, key=lambda d: (d.folder, d.stem, d.resource_id.lower())):
        stem, n = doc.stem, 1
        while f"{doc.folder}/{stem}".lower() in used:
            n += 1
            stem = f"{doc.stem}-{n}"
        used.add(f"{doc.folder}/{stem}".lower())
        written[doc.resource_id.lower()] = write_doc(doc, content_root / doc.folder, stem, used)
    return written


def write_doc(doc: ExportedDoc, folder: Path, stem: str, used: set[str]) -> Path:
    """`doc` as `folder`/`stem`.yaml, with its workbook JSON or items CSV beside it. The CSV keeps
    the watchlist's source name unless another CSV of the folder has it (then `stem`.csv: the
    round trip reports the source as lost)."""
    folder.mkdir(parents=True, exist_ok=True)
    document = dict(doc.document)
    if doc.workbook_json is not None:
        document["templateRelativePath"] = f"{stem}.json"
        (folder / f"{stem}.json").write_text(json.dumps(doc.workbook_json, indent=2, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
    if doc.items_csv is not None:
        name = doc.items_file if doc.items_file and f"{folder}/{doc.items_file}".lower() not in used else f"{stem}.csv"
        used.add(f"{folder}/{name}".lower())
        if name != f"{stem}.csv":
            document["itemsFile"] = name
        with open(folder / name, "w", encoding="utf-8", newline="") as csv_file:  # values keep their line breaks
            csv_file.write(doc.items_csv)
    path = folder / f"{stem}.yaml"
    path.write_text(dump_yaml(document), encoding="utf-8")
    return path
