"""`sentinel-packer demo`: the whole job, on emulated workspaces started in this process.

validate -> build -> plan -> apply -> re-plan (no changes) -> a portal edit -> plan (drift)
-> the fleet of examples/fleet (plan, rollout in waves) -> where everything was written.
Each step calls what the commands call against Azure (packer.connect for targets, credentials
and clients; validate_paths, build_package, compute_plan, apply_plan, plan_fleet, rollout, the
views): nothing here imitates them. Azure is never contacted: the endpoint is an in-process
emulator, the credentials its test tokens (as `--emulator-tenant target`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from rich.console import Console
from rich.markup import escape

from packer.errors import ConfigError, ValidationFailed
from packer.views.output import write_output

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_CONTENT = PROJECT_ROOT / "content"
FLEET_EXAMPLE = PROJECT_ROOT / "examples" / "fleet"
REPOSITORY = "contoso/sentinel-content"
DRIFT_RULE = "RMM tool abuse - MeshCentral*"
DEMO_COMMIT = "demo"


@dataclass
class DemoResult:
    out: Path
    written: list[Path] = field(default_factory=list)
    first_apply_ok: bool = False
    replan_changes: bool = True
    drifted: int = 0
    fleet_ok: bool = False

    @property
    def ok(self) -> bool:
        return self.first_apply_ok and not self.replan_changes and self.drifted > 0 and self.fleet_ok

    def summary(self) -> str:
        if self.ok:
            return ("Demo complete: deployed, re-planned with no changes, drift detected, fleet rolled out. "
                    "Next: the same commands against your own workspaces, README.md#plan-and-apply")
        return (f"Demo INCOMPLETE: apply ok={self.first_apply_ok}, re-plan had changes={self.replan_changes}, "
                f"drifted items={self.drifted}, fleet ok={self.fleet_ok}")


def run_demo(content: Path | None, out: Path, console: Console, fleet: Path = FLEET_EXAMPLE) -> DemoResult:
    content = content or BUNDLED_CONTENT
    if not (content / "solution.yaml").is_file():
        raise ConfigError(f"--content {content}: no solution.yaml there; give a content folder "
                          "(the bundled one is content/ in a clone of sentinel-packer)")
    result = DemoResult(out)
    content_set = _validate(content, console)
    _build(content_set, out, console, result)
    _single_workspace(content_set, out, console, result)
    _fleet(content_set, content, fleet, out, console, result)
    _step(console, "written")
    for path in result.written:
        console.print(f"  {path}", soft_wrap=True, markup=False)
    console.print()
    console.print(result.summary(), soft_wrap=True, markup=False)
    return result


def _step(console: Console, title: str) -> None:
    console.print()
    console.print(f"[bold]==> {escape(title)}[/]", soft_wrap=True)


def _validate(content: Path, console: Console):
    from packer.validate import validate_paths
    from packer.views.validation import render

    _step(console, f"validate {content}")
    report = validate_paths([content])
    text = render(report, "text")
    if report.errors:
        console.print(text, markup=False, highlight=False, soft_wrap=True, end="")
        raise ValidationFailed(len(report.errors), None)
    console.print(text.splitlines()[-1], markup=False, highlight=False, soft_wrap=True)
    return report.content


def _build(content_set, out: Path, console: Console, result: DemoResult) -> None:
    from packer.package.build import build_package
    from packer.package.inputs import from_content_set

    _step(console, "build")
    built = build_package(from_content_set(content_set), out / "package")
    package = next((built.out / f for f in built.files if f.suffix == ".zip"), built.out)
    console.print(f"built {built.solution_name} {built.version}: {len(built.files)} files; package {package}",
                  soft_wrap=True, markup=False)
    result.written.append(package)


def _single_workspace(content_set, out: Path, console: Console, result: DemoResult) -> None:
    from packer.apply import apply_plan
    from packer.connect import Endpoint, WorkspaceFlags, connect_workspace
    from packer.emulator import Emulator
    from packer.emulator.portal import edit_alert_rule
    from packer.plan.compute import compute_plan
    from packer.views.plan import render_table

    with Emulator() as emu:
        ws = emu.workspace
        flags = WorkspaceFlags(ws.subscription, ws.resource_group, ws.name, emu.tenant_id, REPOSITORY)
        workspace = connect_workspace(flags=flags, endpoint=Endpoint(emu.base_url, emu.ca_path, "target"))
        workspace.check()
        with workspace.client() as client:
            target = workspace.target
            _step(console, f"plan: one workspace, {ws.name} (emulated at {emu.base_url})")
            plan = compute_plan(content_set, target, client, DEMO_COMMIT)
            render_table(plan, console)
            result.written.append(_write(out / "plan.json", plan.to_json()))

            _step(console, "apply")
            report = apply_plan(plan, client)
            console.print(report.summary(), markup=False, soft_wrap=True)
            result.first_apply_ok = report.ok
            result.written.append(_write(out / "apply-report.json", report.to_json()))

            _step(console, "plan again: nothing to do")
            again = compute_plan(content_set, target, client, DEMO_COMMIT)
            console.print(again.summary(), markup=False, soft_wrap=True)
            result.replan_changes = again.has_changes

            _step(console, "someone edits a rule in the portal")
            rules = content_set.analytic_rules
            rule = next((r for r in rules if "meshcentral" in r.name.lower()), rules[0] if rules else None)
            if rule is not None:
                severity = "High" if str(rule.severity).lower() == "low" else "Low"
                console.print(edit_alert_rule(client, rule.name, {"severity": severity}).describe(),
                              markup=False, soft_wrap=True)
            _step(console, "plan: the drift is shown, never silently overwritten")
            drift = compute_plan(content_set, target, client, DEMO_COMMIT)
            render_table(drift, console)
            result.drifted = sum(1 for item in drift.items if item.action.value == "drifted")
            result.written.append(_write(out / "plan-after-portal-edit.json", drift.to_json()))


def _fleet(content_set, content: Path, fleet: Path, out: Path, console: Console, result: DemoResult) -> None:
    from packer.connect import Endpoint, connect_fleet
    from packer.emulator import Emulator, EmulatorConfig
    from packer.rollout.engine import RolloutOptions, rollout
    from packer.rollout.fleet_plan import plan_fleet
    from packer.views.fleet_plan import fleet_plan_markdown, print_fleet_plan
    from packer.views.rollout import rollout_report_markdown

    targets_file = fleet / "targets.yaml"
    if content.resolve() != BUNDLED_CONTENT.resolve():
        targets_file = _without_overlays(targets_file, out / "fleet-targets.yaml")
        console.print(f"note: the example fleet's overlays name items of the bundled content; "
                      f"your content is rolled out without them ({targets_file})", markup=False, soft_wrap=True)
    with Emulator(EmulatorConfig.load(fleet / "emulator.yaml")) as emu:
        fleet_ = connect_fleet(targets_file, endpoint=Endpoint(emu.base_url, emu.ca_path, "target"))
        inventory, targets = fleet_.inventory, fleet_.targets
        tenants = ", ".join(t.name for t in inventory.tenants)
        _step(console, f"the fleet: {len(targets)} workspaces of {len(inventory.tenants)} tenants "
                       f"({tenants}), {len(inventory.waves)} waves, from {targets_file}")
        fleet_.check()
        fleet_plan = plan_fleet(content_set, inventory, targets, fleet_.connection, DEMO_COMMIT)
        print_fleet_plan(fleet_plan, console)
        console.print(fleet_plan.summary(), markup=False, soft_wrap=True)
        result.written.append(_write(out / "fleet-plan.md", fleet_plan_markdown(fleet_plan)))

        _step(console, "rollout, wave by wave")
        report = rollout(content_set, inventory, targets, fleet_.connection, RolloutOptions(commit=DEMO_COMMIT),
                         _LineObserver(console))
        console.print(report.summary(), markup=False, soft_wrap=True)
        result.fleet_ok = report.ok
        result.written.append(_write(out / "rollout-report.md", rollout_report_markdown(report)))
        result.written.append(_write(out / "rollout-report.json", report.to_json()))


class _LineObserver:
    """One line per wave and per workspace: readable in a terminal and in CI logs alike."""

    def __init__(self, console: Console):
        self.console = console

    def wave_started(self, wave, targets) -> None:
        self.console.print(f"wave {wave.name}: {', '.join(t.name for t in targets)}", markup=False, soft_wrap=True)

    def workspace_finished(self, wave, result) -> None:
        detail = result.error or (f"{result.created} created, {result.updated} updated, "
                                  f"{result.skipped} skipped, {result.failed} failed")
        self.console.print(f"  {result.status.value:>9} {result.name}: {detail}", markup=False, soft_wrap=True)

    def wave_finished(self, wave, result) -> None:
        pass


def _without_overlays(source: Path, dest: Path) -> Path:
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    for entry in (data.get("tenants") or []) + (data.get("workspaces") or []):
        entry.pop("overlay", None)
    return _write(dest, yaml.safe_dump(data, sort_keys=False))


def _write(path: Path, text: str) -> Path:
    """views.output.write_output, returning the path for the demo's list of what it wrote."""
    write_output(path, text)
    return path
