"""Helpers for the plan/apply tests: a content copy in tmp_path and a client on the emulator."""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from packer.apply import apply_plan
from packer.plan.compute import compute_plan
from packer.plan.query_needs import tokenized_tables
from packer.remote.client import WorkspaceClient
from packer.bodies.resources import desired_resources
from packer.content.model import UNPACKAGED_KINDS
from packer.targets.model import Target
from packer.validate import load_content

REPOSITORY = "contoso/sentinel-content"
KASEYA_RULE = "2bfc9d99-5051-4aee-ae25-05b62a1e052d"
MESH_RULE = "beff88cc-39d5-4b6f-9336-768884029217"


def copy_content(source: Path, tmp_path: Path) -> Path:
    root = tmp_path / "repo" / "content"
    shutil.copytree(source, root)
    return root


def edit(path: Path, pattern: str, replacement: str) -> None:
    text = path.read_text(encoding="utf-8")
    new, count = re.subn(pattern, replacement, text, count=1, flags=re.M)
    assert count == 1, f"{pattern!r} not found in {path}"
    path.write_text(new, encoding="utf-8")


def full_tables(*names: str, without: dict[str, list[str]] | None = None) -> list[dict]:
    """Emulator `tables` entries listing every column Microsoft's table reference gives
    (packer/kql/schemas), as a real workspace lists them; the emulator's own defaults hold only
    a handful of columns, and plan blocks a rule reading a column its workspace lacks.
    `without` drops columns: {"DeviceNetworkEvents": ["RemoteUrl"]}."""
    from packer.kql import load_tables

    schemas, without = load_tables(), without or {}
    return [{name: [f"{column}:{kind}" for column, kind in schemas[name].columns.items()
                    if column not in without.get(name, ())]} for name in names]


def fast_tables(content):
    """The tokenizer (no Node.js needed), knowing the content's parser functions."""
    functions = frozenset(p.function_alias for p in content.parsers)
    return lambda item: tokenized_tables(getattr(item, "query", "") or "", functions)


@dataclass
class Deployment:
    """One emulator workspace, one content folder, one client: plan/apply as the CLI would."""

    emu: object
    root: Path
    target: Target
    client: WorkspaceClient
    commit: str = "c0ffee"

    def content(self):
        return load_content(self.root, kql=False)

    def desired(self):
        return desired_resources(self.content(), self.target, self.commit, self.root.parent)

    def packaged(self):
        """The desired items the Content Hub package carries (not watchlists, automation rules)."""
        return [d for d in self.desired() if d.kind not in UNPACKAGED_KINDS]

    def plan(self, **kwargs):
        content = self.content()
        kwargs.setdefault("tables_needed", fast_tables(content))
        return compute_plan(content, self.target, self.client, self.commit, root=self.root.parent, **kwargs)

    def apply(self, plan=None, **kwargs):
        return apply_plan(plan or self.plan(), self.client, **kwargs)

    def writes(self) -> int:
        totals = self.emu.counters.total()
        return totals["writes"] + totals["deletes"]

    def successful(self, method: str, fragment: str) -> int:
        """Successful requests of `method` whose path contains `fragment` (case-insensitive)."""
        return sum(1 for r in list(self.emu.requests)
                   if r[0] == method and fragment.lower() in r[1].lower() and 200 <= r[2] < 300)


def deployment(emu, root: Path, repository: str = REPOSITORY, **client_kwargs) -> Deployment:
    ws = emu.workspace
    target = Target(ws.name, emu.tenant_id, ws.subscription, ws.resource_group, ws.name, repository)
    client_kwargs.setdefault("retry_backoff_factor", 0.01)
    client = WorkspaceClient(target, emu.credential(), emu.base_url, emu.ca_path, **client_kwargs)
    return Deployment(emu, root, target, client)
