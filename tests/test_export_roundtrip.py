"""Issue 19, round trip: every corpus rule and hunting query, already in a workspace (made there
from its template, without sentinel-packer), is exported, planned against the export with no
change to any resource (only `adopt`: its metadata), and after that apply plans 0 writes."""
from __future__ import annotations

import uuid
import pytest

from conftest import shared_path
from packer.apply import apply_plan
from packer.bodies.resources import desired_resources
from packer.emulator.config import DEFAULT_RESOURCE_GROUP, DEFAULT_WORKSPACE
from packer.emulator.kqltables import missing_tables
from packer.emulator.querycheck import QueryCompiler
from packer.export import export_workspace
from packer.kql import load_tables
from packer.plan.compute import compute_plan
from packer.plan.model import Action
from packer.resource_ids import ResourceRole
from packer.validate import load_content, validate_paths
from tests.plankit import deployment, full_tables

RULE_NAMES = uuid.UUID("9d6a4c1e-0b1f-4e55-8f37-2f1d6f3b8a40")  # portal-made rules get names of their own


def _tables(content) -> list[dict]:
    """The tables the corpus queries read: a workspace holding these rules has them."""
    reference = load_tables()
    names = sorted({t for item in content.items for t in missing_tables(item.query, frozenset(), frozenset())})
    return [full_tables(n)[0] if n in reference and reference[n].columns else {n: ["TimeGenerated:datetime"]}
            for n in names]


def _tokenizer_only() -> QueryCompiler:
    """The emulator's documented mode without Kusto.Language (docs/emulator.md): a query's tables
    are checked, not its columns. The corpus reads ~100 tables, many (custom logs, solution parsers)
    with no column reference to configure them from; those rules exist in real workspaces that have them."""
    compiler = QueryCompiler()
    compiler.unavailable = "tables are checked by name only for the corpus round trip"
    return compiler


@pytest.fixture(scope="module")
def corpus():
    rules = shared_path("corpus", "rules")
    return validate_paths([rules / "analytic", rules / "hunting"], kql=False).content


def _made_in_the_portal(dep, content) -> int:
    """Each rule PUT as the portal makes one from its template (a name of its own, linked to the
    template by alertRuleTemplateName/templateVersion), each hunting query as a saved search; no
    metadata: nothing marks them as sentinel-packer's."""
    count = 0
    for desired in desired_resources(content, dep.target):
        resource_id = desired.resource_id
        if desired.resource_type == "alertRules":
            resource_id = resource_id.rsplit("/", 1)[0] + "/" + str(uuid.uuid5(RULE_NAMES, desired.name))
        dep.client.put(resource_id, dict(desired.body), create=True)
        count += 1
    return count


def test_every_corpus_rule_exports_then_plans_adopt_only_then_nothing(emulator_factory, corpus, tmp_path):
    emu = emulator_factory({"workspaces": [{"name": DEFAULT_WORKSPACE, "resource_group": DEFAULT_RESOURCE_GROUP,
                                            "tables": _tables(corpus)}],
                           "throttling": {"scale": 10}})  # ~560 writes; the pacing is not under test here
    emu.service.handlers.compiler = _tokenizer_only()
    dep = deployment(emu, tmp_path / "unused")
    existing = _made_in_the_portal(dep, corpus)
    assert existing == len(corpus.analytic_rules) + len(corpus.hunting_queries) > 250

    export = export_workspace(dep.client, tmp_path / "export")

    assert not export.not_exportable
    assert len(export.items) == existing
    lossy = {i.name: [c.path for c in i.lost] or list(i.problems) for i in export.items if not i.lossless}
    assert lossy == {}
    rules = [i for i in export.items if i.kind == "AnalyticsRule"]
    assert all(i.template and i.template_version for i in rules)  # the template link is kept and reported

    content = load_content(tmp_path / "export" / "content", kql=False)
    before = dep.writes()
    plan = compute_plan(content, dep.target, dep.client, "c0ffee", root=tmp_path / "export", probe_tables=False)
    assert {i.action for i in plan.items} == {Action.ADOPT}
    assert len(plan.items) == existing
    assert {w.role for i in plan.items for w in i.writes} == {ResourceRole.METADATA}

    report = apply_plan(plan, dep.client)
    assert report.ok and report.writes == existing == dep.writes() - before  # one metadata PUT each

    again = compute_plan(content, dep.target, dep.client, "c0ffee", root=tmp_path / "export", probe_tables=False)
    assert {i.action for i in again.items} == {Action.UNCHANGED}
    assert not any(i.writes for i in again.items)
