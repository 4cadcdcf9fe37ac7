"""Coverage: which ATT&CK techniques each workspace's analytic rules (and, apart, its hunting
queries) cover, counting a rule only where it runs: deployed, enabled, and not blocked for a
table or column the workspace lacks.

- `repository_coverage`: the content alone (every enabled rule counts).
- `offline_coverage`: per workspace, from the content and the inventory's overlays (an overlay
  that disables an item: not deployed; `enabled: false`: disabled). Tables are known offline
  only from a saved fleet plan (`plan --all --out`): its `blocked` items.
- `live_coverage`: per workspace, from the workspace itself: the rule exists there, is enabled
  there, and the tables and columns its query reads exist there. The tables are read and judged
  as plan and doctor do (packer.plan.live.workspace_tables, WorkspaceTables.blocked_reason, the
  analysis cache: one analysis per query for the fleet), never re-derived.
"""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Callable, Iterable, Mapping

from packer import resource_ids
from packer.bodies.resources import desired_resource, item_key
from packer.content.model import AnalyticRule, ContentKind, ContentSet, HuntingQuery
from packer.coverage.attack import DOMAIN, AttackCatalog, load_attack
from packer.errors import PackerError
from packer.plan.live import workspace_tables
from packer.plan.model import Action, Plan
from packer.rollout.connection import FleetConnection
from packer.rollout.fleet_plan import workspace_contents
from packer.plan.query_needs import needs_reader
from packer.targets import Inventory, Target

COVERAGE_FORMAT = "sentinel-packer/coverage@1"
KINDS = (ContentKind.ANALYTIC_RULE, ContentKind.HUNTING_QUERY)
OVERLAY_DISABLED = "disabled for this workspace by an overlay in targets.yaml"

Rule = AnalyticRule | HuntingQuery


class RuleState(StrEnum):
    COUNTED = "counted"
    NOT_DEPLOYED = "not deployed"
    DISABLED = "disabled"
    BLOCKED = "blocked"  # a table or column its query reads is missing in the workspace


class Mode(StrEnum):
    REPOSITORY = "repository"
    OFFLINE = "offline"
    LIVE = "live"


@dataclass(frozen=True)
class RuleCoverage:
    kind: ContentKind
    id: str
    name: str
    techniques: tuple[str, ...]
    tactics: tuple[str, ...]
    state: RuleState
    reason: str = ""

    @property
    def counted(self) -> bool:
        return self.state is RuleState.COUNTED

    def describe(self) -> str:
        """The name, and for a rule that does not count, why: "X (blocked: table(s) missing ...)"."""
        if self.counted:
            return self.name
        return f"{self.name} ({self.state}: {self.reason})" if self.reason else f"{self.name} ({self.state})"


@dataclass(frozen=True)
class TechniqueCoverage:
    """One technique the content maps, in one workspace: the rules that count, and those that don't."""

    technique: str
    counted: tuple[RuleCoverage, ...]
    not_counted: tuple[RuleCoverage, ...]

    @property
    def covered(self) -> bool:
        return bool(self.counted)


@dataclass(frozen=True)
class WorkspaceCoverage:
    name: str  # the inventory's workspace name, or "repository"
    tenant: str = ""
    wave: str = ""
    rules: tuple[RuleCoverage, ...] = ()
    tables_checked: bool = False
    error: str = ""  # the workspace could not be read (live)
    note: str = ""

    def techniques(self, kind: ContentKind = ContentKind.ANALYTIC_RULE) -> dict[str, TechniqueCoverage]:
        """Technique id -> its coverage, for every technique some rule of `kind` maps (sorted)."""
        by_technique: dict[str, list[RuleCoverage]] = {}
        for rule in self.rules:
            if rule.kind is kind:
                for technique in rule.techniques:
                    by_technique.setdefault(technique, []).append(rule)
        return {t: TechniqueCoverage(t, tuple(r for r in rules if r.counted), tuple(r for r in rules if not r.counted))
                for t, rules in sorted(by_technique.items())}

    def covered(self, kind: ContentKind = ContentKind.ANALYTIC_RULE) -> set[str]:
        return {t for t, c in self.techniques(kind).items() if c.covered}

    def not_covered(self, kind: ContentKind = ContentKind.ANALYTIC_RULE) -> set[str]:
        return {t for t, c in self.techniques(kind).items() if not c.covered}


@dataclass(frozen=True)
class CoverageReport:
    mode: Mode
    workspaces: tuple[WorkspaceCoverage, ...]
    attack: AttackCatalog = field(default_factory=load_attack, repr=False)

    @property
    def attack_version(self) -> str:
        return self.attack.version

    def mapped_techniques(self, kind: ContentKind = ContentKind.ANALYTIC_RULE) -> list[str]:
        """Every technique some rule of `kind` maps, in any workspace (sorted)."""
        return sorted({t for w in self.workspaces for t in w.techniques(kind)})

    def unknown_techniques(self) -> list[str]:
        """Mapped ids this ATT&CK version does not have (ICS ids, revoked or mistyped ones)."""
        return sorted({t for kind in KINDS for t in self.mapped_techniques(kind) if self.attack.technique(t) is None})

    def tactics_of(self, technique: str, rules: Iterable[RuleCoverage] = ()) -> list[str]:
        """The ATT&CK tactics (shortnames) a technique is shown under: ATT&CK's own, narrowed to
        those the rules name when they name any of them."""
        known = self.attack.technique(technique)
        own = list(known.tactics) if known else []
        named = {tactic.shortname for r in rules for name in r.tactics
                 if (tactic := self.attack.tactic_for_sentinel(name)) is not None}
        narrowed = [t for t in own if t in named]
        return narrowed or own

    def summary(self) -> str:
        parts = []
        for w in self.workspaces:
            if w.error:
                parts.append(f"{w.name}: not read ({w.error})")
                continue
            mapped = len(w.techniques())
            parts.append(f"{w.name}: {len(w.covered())} of {mapped} technique(s) covered by analytic rules, "
                         f"{len(w.covered(ContentKind.HUNTING_QUERY))} of "
                         f"{len(w.techniques(ContentKind.HUNTING_QUERY))} by hunting queries")
        return f"ATT&CK Enterprise v{self.attack_version} coverage ({self.mode}): " + "; ".join(parts)

    def to_dict(self) -> dict:
        return {
            "format": COVERAGE_FORMAT,
            "mode": str(self.mode),
            "attack": {"domain": DOMAIN, "version": self.attack_version, "source": self.attack.source},
            "unknown_techniques": self.unknown_techniques(),
            "workspaces": [_workspace_dict(self, w) for w in self.workspaces],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)


def _workspace_dict(report: CoverageReport, w: WorkspaceCoverage) -> dict:
    def techniques(kind: ContentKind) -> list[dict]:
        return [{"id": t, "name": report.attack.display_name(t), "tactics": report.tactics_of(t, c.counted + c.not_counted),
                 "covered": c.covered, "rules": [r.name for r in c.counted],
                 "not_counted": [{"name": r.name, "state": str(r.state), "reason": r.reason} for r in c.not_counted]}
                for t, c in w.techniques(kind).items()]

    return {"name": w.name, "tenant": w.tenant, "wave": w.wave, "error": w.error or None, "note": w.note or None,
            "tables_checked": w.tables_checked,
            "analytic_rules": techniques(ContentKind.ANALYTIC_RULE),
            "hunting_queries": techniques(ContentKind.HUNTING_QUERY)}


# --- computing it ---------------------------------------------------------------------------------

Judge = Callable[[Rule], "tuple[RuleState, str]"]


def repository_coverage(content: ContentSet) -> CoverageReport:
    """The content as written: every rule counts unless it says `enabled: false`."""
    rules = _judged(content, content, _enabled_only)
    return CoverageReport(Mode.REPOSITORY, (WorkspaceCoverage("repository", rules=rules),))


def offline_coverage(content: ContentSet, inventory: Inventory, targets: list[Target],
                     fleet_plan: Mapping[str, Plan] | None = None) -> CoverageReport:
    """Per workspace from the content and its overlays. `fleet_plan` (workspace name -> its plan,
    from a saved fleet plan) says which rules are blocked there; without it tables are not checked."""
    contents = workspace_contents(content, inventory, targets)
    out = []
    for target in targets:
        plan = (fleet_plan or {}).get(target.name)
        blocked = {i.key: i.reason for i in plan.items if i.action is Action.BLOCKED} if plan else {}

        def judge(rule: Rule, blocked=blocked) -> tuple[RuleState, str]:
            state, reason = _enabled_only(rule)
            if state is RuleState.COUNTED and item_key(rule) in blocked:
                return RuleState.BLOCKED, blocked[item_key(rule)]
            return state, reason

        note = "" if plan else "tables not checked (offline without a saved fleet plan: use --plan or --live)"
        out.append(WorkspaceCoverage(target.name, inventory.tenant_of(target).name, target.wave or "",
                                     _judged(content, contents[target.name], judge), tables_checked=plan is not None,
                                     note=note))
    return CoverageReport(Mode.OFFLINE, tuple(out))


def live_coverage(content: ContentSet, inventory: Inventory, targets: list[Target], connection: FleetConnection,
                  parallel: int = 8) -> CoverageReport:
    """Per workspace from what it holds: rules deployed (ours, by resource id) and enabled there,
    whose tables and columns exist there. Read-only."""
    contents = workspace_contents(content, inventory, targets)

    def one(target: Target) -> WorkspaceCoverage:
        return _live_workspace(content, contents[target.name], inventory, target, connection)

    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="coverage") as pool:
        return CoverageReport(Mode.LIVE, tuple(pool.map(one, targets)))


def _live_workspace(content: ContentSet, mine: ContentSet, inventory: Inventory, target: Target,
                    connection: FleetConnection) -> WorkspaceCoverage:
    base = WorkspaceCoverage(target.name, inventory.tenant_of(target).name, target.wave or "")
    try:
        with connection.client_for(target) as client:
            live = {b["id"].lower(): b for b in (*client.list_in(resource_ids.ALERT_RULES),
                                                 *client.list_in(resource_ids.SAVED_SEARCHES)) if b.get("id")}
            tables, note = workspace_tables(client)
    except PackerError as exc:
        return WorkspaceCoverage(base.name, base.tenant, base.wave, error=str(exc))
    needs_of = needs_reader(mine)

    def judge(rule: Rule) -> tuple[RuleState, str]:
        # missing data first: it is also why plan and rollout leave such a rule undeployed
        reason = tables.blocked_reason(needs_of(rule.query)) if tables is not None else None
        if reason:
            return RuleState.BLOCKED, reason
        body = live.get(desired_resource(rule, target).resource_id.lower())
        if body is None:
            return RuleState.NOT_DEPLOYED, "not in the workspace (apply or rollout deploys it)"
        if isinstance(rule, AnalyticRule) and (body.get("properties") or {}).get("enabled") is False:
            return RuleState.DISABLED, "disabled in the workspace"
        return RuleState.COUNTED, ""

    return WorkspaceCoverage(base.name, base.tenant, base.wave, _judged(content, mine, judge),
                             tables_checked=tables is not None, note=note)


def _enabled_only(rule: Rule) -> tuple[RuleState, str]:
    if isinstance(rule, AnalyticRule) and not rule.enabled:
        return RuleState.DISABLED, "enabled: false in the content or an overlay"
    return RuleState.COUNTED, ""


def _judged(content: ContentSet, workspace_content: ContentSet, judge: Judge) -> tuple[RuleCoverage, ...]:
    """Every rule and hunting query of the content, judged as this workspace receives it."""
    received = {item_key(r): r for r in (*workspace_content.analytic_rules, *workspace_content.hunting_queries)}
    out = []
    for rule in (*content.analytic_rules, *content.hunting_queries):
        here = received.get(item_key(rule))
        state, reason = (RuleState.NOT_DEPLOYED, OVERLAY_DISABLED) if here is None else judge(here)
        shown = here or rule
        out.append(RuleCoverage(rule.content_kind, rule.content_id, shown.name,
                                tuple(t.strip().upper() for t in shown.relevant_techniques), tuple(shown.tactics),
                                state, reason))
    return tuple(out)


def plans_by_workspace(fleet_plan_json: dict) -> dict[str, Plan]:
    """A saved fleet plan (`plan --all --out`) as workspace name -> Plan (workspaces without a plan
    left out); a one-workspace plan (`plan --target NAME --out`) gives that workspace's."""
    from packer.errors import ConfigError
    from packer.plan.model import PLAN_FORMAT
    from packer.rollout.fleet_plan import FLEET_PLAN_FORMAT

    if isinstance(fleet_plan_json, dict) and fleet_plan_json.get("format") == PLAN_FORMAT:
        plan = Plan.from_dict(fleet_plan_json)
        return {plan.target.name: plan}
    if not isinstance(fleet_plan_json, dict) or fleet_plan_json.get("format") != FLEET_PLAN_FORMAT:
        raise ConfigError(f"not a sentinel-packer fleet plan (expected format {FLEET_PLAN_FORMAT!r}); "
                          "save one with `plan --all --out FILE`")
    return {w["name"]: Plan.from_dict(w["plan"]) for w in fleet_plan_json.get("workspaces") or ()
            if isinstance(w, dict) and w.get("plan")}
