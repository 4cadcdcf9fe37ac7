"""Issue 19: export (every kind, the report, file names), adopt (who may be adopted, what is
written) and the `export` command, against the emulator."""
from __future__ import annotations

import json
import shutil
import uuid

import pytest
import yaml
from typer.testing import CliRunner

from packer.apply import apply_plan
from packer.bodies.automation import watchlist_create_body
from packer.bodies.resources import desired_resources
from packer.cli import app
from packer.errors import ConfigError
from packer.export import export_workspace
from packer.plan.model import Action
from packer.resource_ids import ResourceRole
from packer.views.export import export_dict, export_markdown
from tests.plankit import KASEYA_RULE, MESH_RULE, REPOSITORY, deployment

OTHER_REPOSITORY = "fabrikam/detections"


EXPORTED_KINDS = ["AnalyticsRule", "AutomationRule", "HuntingQuery", "Parser", "Watchlist", "Workbook"]


def _made_without_us(dep, content=None):
    """Every item PUT as it is (no metadata): made in the portal, by a script, or by Content Hub;
    a watchlist with its items in the same PUT, as the portal uploads a CSV."""
    for desired in desired_resources(content or dep.content(), dep.target):
        body = dict(desired.body)
        if desired.resource_type == "workbooks":
            body["location"] = "westeurope"
        if desired.resource_type == "watchlists":
            body = watchlist_create_body(body, desired.columns, desired.children)
        dep.client.put(desired.resource_id, body, create=True)


def _solutionless(repo):
    (repo / "solution.yaml").unlink()  # items alone: no package to install, nothing but adopt to plan
    return repo


def test_every_kind_exports_losslessly_and_plans_as_adopt_only(dep, tmp_path):
    _solutionless(dep.root)
    _made_without_us(dep)

    export = export_workspace(dep.client, tmp_path / "out")

    assert not export.not_exportable
    assert [(i.name, i.problems, [(c.path, c.before, c.after) for c in i.lost]) for i in export.items if not i.lossless] == []
    assert sorted({i.kind for i in export.items}) == EXPORTED_KINDS
    workbook = yaml.safe_load(next((tmp_path / "out/content/workbooks").glob("*.yaml")).read_text())
    assert (tmp_path / "out/content/workbooks" / workbook["templateRelativePath"]).is_file()
    exported = deployment(dep.emu, tmp_path / "out" / "content")
    plan = exported.plan()
    assert {i.action for i in plan.items} == {Action.ADOPT} and len(plan.items) == len(export.items) == 14


def test_the_report_lists_what_the_content_cannot_hold(emulator_factory, repo, tmp_path):
    emu = emulator_factory({"workspaces": [{"name": "ws-sentinel", "resource_group": "rg-sentinel",
                                            "builtin_fusion_rule": True}]})
    dep = deployment(emu, _solutionless(repo))
    content = dep.content()
    hunting = next(d for d in desired_resources(content, dep.target) if d.resource_type == "savedSearches"
                   and "functionAlias" not in d.body["properties"])
    body = json.loads(json.dumps(hunting.body))
    body["properties"]["tags"].append({"name": "createdBy", "value": "analyst@contoso.com"})  # the portal's tag
    dep.client.put(hunting.resource_id, body, create=True)
    rule = next(d for d in desired_resources(content, dep.target) if d.key.endswith(KASEYA_RULE))
    scratch = json.loads(json.dumps(rule.body))
    scratch["properties"]["displayName"] = "../../etc/passwd: made in the portal"
    for key in ("alertRuleTemplateName", "templateVersion"):  # made from scratch: no template link
        scratch["properties"].pop(key)
    scratch_id = rule.resource_id.rsplit("/", 1)[0] + "/" + str(uuid.uuid4())
    dep.client.put(scratch_id, scratch, create=True)

    export = export_workspace(dep.client, tmp_path / "out")

    assert [(n.kind, n.reason) for n in export.not_exportable] == [
        ("AnalyticsRule", "rule kind Fusion: the content format holds Scheduled and NRT rules only")]
    lossy = {i.name: [c.path for c in i.lost] for i in export.items if i.lost}
    assert lossy == {hunting.display_name: ["properties.tags"]}
    made = next(i for i in export.items if i.resource_id == scratch_id)
    assert made.lossless and made.template is None
    assert made.file.startswith("content/analytic-rules/etc_passwd_made_in_the_portal-")  # no path from a name
    assert yaml.safe_load((tmp_path / "out" / made.file).read_text())["alertRuleTemplateName"] == ""
    report = export_markdown(export)
    assert "rule kind Fusion" in report and "| `properties.tags` |" in report
    assert "analyst@contoso.com" in json.dumps(export_dict(export))  # the JSON keeps whole values


def test_an_existing_export_folder_is_never_overwritten(dep, tmp_path):
    (tmp_path / "out" / "content" / "analytic-rules").mkdir(parents=True)
    with pytest.raises(ConfigError, match="already exists and is not empty"):
        export_workspace(dep.client, tmp_path / "out")


def _metadata(dep, desired, source: dict, custom_version: str | None = None) -> None:
    props = {"parentId": desired.resource_id, "kind": desired.kind.value, "contentId": desired.key.split("/")[1],
             "version": "1.0.0", "source": source}
    if custom_version:
        props["customVersion"] = custom_version
    dep.client.put(desired.metadata_id, {"properties": props}, create=True)


def test_who_may_be_adopted_and_what_adopting_writes(dep):
    _solutionless(dep.root)
    _made_without_us(dep)
    desired = {d.key: d for d in dep.desired()}
    kaseya, mesh = desired[f"AnalyticsRule/{KASEYA_RULE}"], desired[f"AnalyticsRule/{MESH_RULE}"]
    _metadata(dep, kaseya, {"kind": "Solution", "name": "Microsoft Sentinel RMM", "sourceId": "azuresentinel.rmm"})
    _metadata(dep, mesh, {"kind": "SourceRepository", "name": OTHER_REPOSITORY, "sourceId": "repo-connection"})
    edited = next(d for d in desired.values() if d.kind.value == "HuntingQuery")
    body = json.loads(json.dumps(edited.body))
    body["properties"]["query"] += "\n| take 10"
    dep.client.put(edited.resource_id, body)

    plain = {i.key: i for i in dep.plan().items}
    assert plain[kaseya.key].action is Action.FOREIGN and "--adopt takes ownership" in plain[kaseya.key].reason
    assert plain[mesh.key].action is Action.FOREIGN and f"--adopt-from {OTHER_REPOSITORY}" in plain[mesh.key].reason
    assert plain[edited.key].action is Action.FOREIGN  # not equal to the content: never adopted
    assert sum(1 for i in plain.values() if i.action is Action.ADOPT) == 11  # equal, no metadata at all

    flagged = {i.key: i.action for i in dep.plan(adopt=True).items}
    assert flagged[kaseya.key] is Action.ADOPT and flagged[mesh.key] is Action.FOREIGN
    named = dep.plan(adopt=True, adopt_from=("FABRIKAM/Detections",))  # repository names ignore case
    assert {i.key: i.action for i in named.items}[mesh.key] is Action.ADOPT
    assert {w.role for i in named.items for w in i.writes} == {ResourceRole.METADATA}

    resources_before = {d.resource_id: dep.client.get(d.resource_id)["etag"] for d in desired.values()}
    report = apply_plan(named, dep.client)
    assert report.ok and "13 adopted" in report.summary()
    assert {rid: dep.client.get(rid)["etag"] for rid in resources_before} == resources_before  # never written
    after = {i.key: i.action for i in dep.plan().items}
    assert after.pop(edited.key) is Action.FOREIGN and set(after.values()) == {Action.UNCHANGED}


def test_export_command_writes_content_and_report(emulator, repo, tmp_path):
    dep = deployment(emulator, _solutionless(repo))
    _made_without_us(dep)
    ws = emulator.workspace
    target = ["--subscription", ws.subscription, "--resource-group", ws.resource_group, "--workspace", ws.name,
              "--tenant", emulator.tenant_id, "--repository", REPOSITORY, "--base-url", emulator.base_url,
              "--ca-cert", emulator.ca_path, "--emulator-tenant", "target"]
    out = tmp_path / "exported"

    result = CliRunner().invoke(app, ["export", *target, "--out", str(out)], env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    assert "Export: 14 item(s) from 1 workspace(s); 14 lossless" in result.output
    assert json.loads((out / "export-report.json").read_text())["lossless"] is True
    assert "Rules made from templates" in (out / "export-report.md").read_text()
    shutil.copytree(out / "content", tmp_path / "again")
    planned = CliRunner().invoke(app, ["plan", *target, "--content", str(tmp_path / "again"), "--commit", "c1"],
                                 env={"COLUMNS": "200"})
    assert planned.exit_code == 2 and "14 to adopt" in planned.output
