"""The fleet report page: one self-contained HTML file (no external script, style or font: it
works offline and as a CI artifact) with, per wave and workspace, the plan or rollout result,
drift, blocked items with the missing table, failures with their error, and the ATT&CK coverage
heatmap. Rows are sortable (click a column heading) and filterable by tenant, wave, name and
"problems only"; every section follows the same filter."""
from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from packer.coverage.compute import CoverageReport, RuleState
from packer.plan.model import Action
from packer.plan.query_needs import is_blocked_reason
from packer.rollout.fleet_plan import FleetPlan
from packer.rollout.report import FleetReport
from packer.views.coverage import fleet_rows, tactic_columns


@dataclass(frozen=True)
class Finding:
    """Something a reader of one workspace's row should see: drift, a blocked item, a failure."""

    category: str  # drifted | blocked | failed | conflict | foreign | error | skipped
    item: str
    detail: str = ""


@dataclass(frozen=True)
class WorkspaceRow:
    name: str
    tenant: str
    wave: str
    status: str
    counts: dict[str, int] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()

    @property
    def has_problem(self) -> bool:
        return any(f.category in ("drifted", "blocked", "failed", "conflict", "error") for f in self.findings) \
            or self.status in ("failed", "refused", "error")


PLAN_COLUMNS = ("create", "update", "prune", "drifted", "blocked", "foreign")
ROLLOUT_COLUMNS = ("created", "updated", "pruned", "skipped", "failed")
NOTABLE = (Action.DRIFTED, Action.BLOCKED, Action.CONFLICT, Action.FOREIGN)


def rows_from_plan(plan: FleetPlan) -> list[WorkspaceRow]:
    rows = []
    for w in plan.workspaces:
        if w.plan is None:
            rows.append(WorkspaceRow(w.target.name, w.tenant, w.target.wave or "", "error",
                                     findings=(Finding("error", "plan", w.error or ""),)))
            continue
        findings = tuple(Finding(i.action.value, f"{i.kind} {i.name}", i.reason) for i in w.plan.items
                         if i.action in NOTABLE)
        status = "changes" if w.has_changes else "no changes"
        rows.append(WorkspaceRow(w.target.name, w.tenant, w.target.wave or "", status,
                                 {c: w.counts.get(c, 0) for c in PLAN_COLUMNS}, findings))
    return rows


def rows_from_rollout(report: FleetReport) -> list[WorkspaceRow]:
    rows = []
    for r in report.results:
        findings = [Finding("failed", f.item, f.message) for f in r.failures]
        findings += [Finding("blocked" if is_blocked_reason(f.message) else "skipped", f.item, f.message)
                     for f in r.skipped_items]
        if r.error:
            findings.insert(0, Finding("error", "workspace", r.error))
        rows.append(WorkspaceRow(r.name, r.tenant, r.wave, str(r.status),
                                 {c: getattr(r, c) for c in ROLLOUT_COLUMNS}, tuple(findings)))
    return rows


def rows_from_coverage(coverage: CoverageReport) -> list[WorkspaceRow]:
    rows = []
    for w in coverage.workspaces:
        findings = [Finding("error", "workspace", w.error)] if w.error else []
        findings += [Finding("blocked", f"{r.kind.value} {r.name}", r.reason) for r in w.rules if r.state is RuleState.BLOCKED]
        status = "not read" if w.error else f"{len(w.covered())}/{len(w.techniques())} covered"
        rows.append(WorkspaceRow(w.name, w.tenant, w.wave, status, findings=tuple(findings)))
    return rows


def fleet_report_html(*, title: str, summary: str, plan: FleetPlan | None = None, rollout: FleetReport | None = None,
                      coverage: CoverageReport | None = None) -> str:
    """The page for a fleet plan, a rollout or a coverage run (any of them; coverage adds the heatmap)."""
    if rollout is not None:
        rows, columns = rows_from_rollout(rollout), ROLLOUT_COLUMNS
    elif plan is not None:
        rows, columns = rows_from_plan(plan), PLAN_COLUMNS
    elif coverage is not None:
        rows, columns = rows_from_coverage(coverage), ()
    else:
        raise ValueError("a fleet report needs a plan, a rollout report or a coverage report")
    tenants = sorted({r.tenant for r in rows if r.tenant})
    waves = list(dict.fromkeys(r.wave for r in rows if r.wave))
    parts = [_head(title), f"<header><h1>{escape(title)}</h1><p id=summary>{escape(summary)}</p></header>",
             _controls(tenants, waves), _workspace_table(rows, columns), _findings(rows)]
    if coverage is not None:
        parts.append(_coverage(coverage))
    parts.append(f"<script>{_SCRIPT}</script></body></html>\n")
    return "\n".join(parts)


def _attrs(row: WorkspaceRow) -> str:
    return (f'data-ws="{escape(row.name)}" data-tenant="{escape(row.tenant)}" data-wave="{escape(row.wave)}" '
            f'data-problem="{1 if row.has_problem else 0}"')


def _head(title: str) -> str:
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<meta name=viewport content='width=device-width, initial-scale=1'><title>{escape(title)}</title>"
            f"<style>{_STYLE}</style></head><body>")


def _controls(tenants: list[str], waves: list[str]) -> str:
    def options(values: list[str], everything: str) -> str:
        return f"<option value=''>{everything}</option>" + "".join(
            f"<option value='{escape(v, quote=True)}'>{escape(v)}</option>" for v in values)

    return ("<form id=controls onsubmit='return false'>"
            f"<label>Tenant <select id=tenant>{options(tenants, 'all tenants')}</select></label>"
            f"<label>Wave <select id=wave>{options(waves, 'all waves')}</select></label>"
            "<label>Workspace <input id=q type=search placeholder='name contains'></label>"
            "<label><input id=problems type=checkbox> problems only</label>"
            "<output id=shown></output></form>")


def _workspace_table(rows: list[WorkspaceRow], columns: tuple[str, ...]) -> str:
    heads = "".join(f"<th data-type=text>{h}</th>" for h in ("Wave", "Workspace", "Tenant", "Result"))
    heads += "".join(f"<th data-type=num>{escape(c)}</th>" for c in columns)
    heads += "<th data-type=num>problems</th>"
    body = []
    for row in rows:
        cells = (f"<td>{escape(row.wave)}</td><td><a href='#ws-{escape(row.name)}'>{escape(row.name)}</a></td>"
                 f"<td>{escape(row.tenant)}</td><td class='st {_status_class(row)}'>{escape(row.status)}</td>")
        cells += "".join(f"<td class=n>{row.counts.get(c, 0)}</td>" for c in columns)
        problems = sum(1 for f in row.findings if f.category != "skipped")
        cells += f"<td class=n>{problems}</td>"
        body.append(f"<tr {_attrs(row)}>{cells}</tr>")
    return (f"<section><h2>Workspaces</h2><table id=workspaces class=sortable><thead><tr>{heads}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></section>")


def _status_class(row: WorkspaceRow) -> str:
    if row.status in ("failed", "refused", "error", "not read"):
        return "bad"
    return "warn" if row.has_problem else "ok"


def _findings(rows: list[WorkspaceRow]) -> str:
    out = ["<section id=findings><h2>Drift, blocked items and failures</h2>"]
    for row in rows:
        if not row.findings:
            continue
        items = "".join(f"<li class={escape(f.category)}><b>{escape(f.category)}</b> {escape(f.item)}"
                        f"{': ' + escape(f.detail) if f.detail else ''}</li>" for f in row.findings)
        out.append(f"<details open id='ws-{escape(row.name)}' {_attrs(row)}><summary>{escape(row.wave)} / "
                   f"<b>{escape(row.name)}</b> ({escape(row.tenant)}): {len(row.findings)} item(s)</summary>"
                   f"<ul>{items}</ul></details>")
    if len(out) == 1:
        out.append("<p>None.</p>")
    out.append("</section>")
    return "".join(out)


def _coverage(coverage: CoverageReport) -> str:
    tactics = coverage.attack.tactics
    heads = "<th data-type=text>Workspace</th><th data-type=text>Tenant</th>" + "".join(
        f"<th data-type=num title='{escape(t.name)}'>{escape(t.name)}</th>" for t in tactics)
    body = []
    for workspace, cells in fleet_rows(coverage):
        row = WorkspaceRow(workspace.name, workspace.tenant, workspace.wave, "",
                           findings=tuple(Finding("blocked", t) for t in workspace.not_covered()))
        tds = "".join(f"<td class=n style='background:{c.colour}' "
                      f"data-sort='{c.covered / c.mapped - 0.5 * c.weakened if c.mapped else -1:.3f}'>{c.label}</td>"
                      for c in cells)
        body.append(f"<tr {_attrs(row)}><td>{escape(workspace.name)}</td><td>{escape(workspace.tenant)}</td>{tds}</tr>")
    out = [f"<section id=coverage><h2>ATT&amp;CK coverage (Enterprise v{escape(coverage.attack_version)}, "
           f"{escape(str(coverage.mode))})</h2><p>Techniques covered / mapped per tactic, analytic rules. A rule counts "
           "where it is deployed, enabled and the tables it reads exist. Green: all covered; light green: some, or "
           "covered with rules that do not count there (*); red: none.</p>",
           f"<table id=matrix class=sortable><thead><tr>{heads}</tr></thead><tbody>{''.join(body)}</tbody></table>"]
    for workspace in coverage.workspaces:
        if workspace.error:
            continue
        row = WorkspaceRow(workspace.name, workspace.tenant, workspace.wave, "",
                           findings=tuple(Finding("blocked", t) for t in workspace.not_covered()))
        cells = []
        for tactic, column in tactic_columns(coverage, workspace):
            for cell in column:
                why = "; ".join(r.describe() for r in cell.coverage.not_counted)
                cells.append(f"<li style='background:{cell.colour}' title='{escape(why, quote=True)}'>"
                             f"<small>{escape(tactic.name)}</small><br><b>{escape(cell.technique)}</b> "
                             f"{escape(cell.name)} <span>{cell.ratio}</span>"
                             f"{'<br><em>' + escape(why) + '</em>' if why else ''}</li>")
        out.append(f"<div class=heat {_attrs(row)}><h3>{escape(workspace.name)}</h3><ul>{''.join(cells)}</ul></div>")
    out.append("</section>")
    return "".join(out)


_STYLE = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 1.5rem 2rem;color:#222}
h1{font-size:1.4rem;margin:1rem 0 .3rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem}h3{font-size:1rem;margin:.8rem 0 .3rem}
#controls{position:sticky;top:0;background:#f6f6f6;padding:.5rem;display:flex;gap:1rem;flex-wrap:wrap;border-bottom:1px solid #ccc;z-index:1}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border:1px solid #ddd;padding:.25rem .4rem;text-align:left}
th{background:#eee;cursor:pointer;user-select:none;position:relative}th[aria-sort=ascending]::after{content:" \\25B2"}
th[aria-sort=descending]::after{content:" \\25BC"}td.n{text-align:right}.st.ok{color:#256029}.st.warn{color:#8a5a00}
.st.bad{color:#b00020;font-weight:bold}#matrix th{writing-mode:vertical-rl;transform:rotate(180deg);max-height:9rem;font-weight:normal}
#matrix td.n{text-align:center}li.blocked b,li.failed b,li.error b{color:#b00020}li.drifted b{color:#8a5a00}
.heat ul{display:flex;flex-wrap:wrap;gap:.4rem;list-style:none;padding:0}.heat li{padding:.3rem .5rem;border-radius:4px;max-width:22rem}
details{margin:.3rem 0}[hidden]{display:none!important}
"""

_SCRIPT = """
(function(){
  var tenant=document.getElementById('tenant'),wave=document.getElementById('wave'),
      q=document.getElementById('q'),problems=document.getElementById('problems'),shown=document.getElementById('shown');
  function filter(){
    var t=tenant.value,w=wave.value,s=q.value.trim().toLowerCase(),p=problems.checked,n=0;
    document.querySelectorAll('[data-ws]').forEach(function(el){
      var ok=(!t||el.dataset.tenant===t)&&(!w||el.dataset.wave===w)&&(!s||el.dataset.ws.toLowerCase().indexOf(s)>=0)&&(!p||el.dataset.problem==='1');
      el.hidden=!ok;
      if(ok&&el.closest('#workspaces'))n++;
    });
    shown.textContent=n+' workspace(s) shown';
  }
  [tenant,wave,problems].forEach(function(el){el.addEventListener('change',filter)});
  q.addEventListener('input',filter);
  document.querySelectorAll('table.sortable th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var body=th.closest('table').tBodies[0],num=th.dataset.type==='num',
          dir=th.getAttribute('aria-sort')==='ascending'?-1:1;
      th.closest('tr').querySelectorAll('th').forEach(function(h){h.removeAttribute('aria-sort')});
      th.setAttribute('aria-sort',dir>0?'ascending':'descending');
      function key(row){var c=row.cells[i];var v=c.dataset.sort!==undefined?c.dataset.sort:c.textContent.trim();return num?parseFloat(v)||0:v.toLowerCase()}
      Array.prototype.slice.call(body.rows).sort(function(a,b){var x=key(a),y=key(b);return x<y?-dir:x>y?dir:0})
        .forEach(function(r){body.appendChild(r)});
    });
  });
  filter();
})();
"""
