"""Coverage as people read it: Markdown, the tactic x technique heatmap of a workspace and the
fleet matrix (workspaces x tactics) as PNG or SVG (matplotlib), and Navigator layer files."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from packer.content.model import ContentKind
from packer.coverage.attack import Tactic
from packer.coverage.compute import CoverageReport, TechniqueCoverage, WorkspaceCoverage
from packer.coverage.navigator import fleet_layer, workspace_layer
from packer.errors import ConfigError

KIND_LABEL = {ContentKind.ANALYTIC_RULE: "analytic rules", ContentKind.HUNTING_QUERY: "hunting queries"}
PICTURE_FORMATS = ("png", "svg")
COVERED, PARTIAL, NOT_COVERED, EMPTY = "#5fae3c", "#c6e3a4", "#e46a6a", "#eeeeee"


@dataclass(frozen=True)
class Cell:
    """One technique under one tactic in one workspace."""

    technique: str
    name: str
    coverage: TechniqueCoverage

    @property
    def colour(self) -> str:
        if not self.coverage.covered:
            return NOT_COVERED
        return PARTIAL if self.coverage.not_counted else COVERED

    @property
    def ratio(self) -> str:
        c = self.coverage
        return f"{len(c.counted)}/{len(c.counted) + len(c.not_counted)}"


def tactic_columns(report: CoverageReport, workspace: WorkspaceCoverage,
                   kind: ContentKind = ContentKind.ANALYTIC_RULE) -> list[tuple[Tactic, list[Cell]]]:
    """ATT&CK's tactics in matrix order, each with the mapped techniques shown under it."""
    columns: dict[str, list[Cell]] = {t.shortname: [] for t in report.attack.tactics}
    for technique, coverage in workspace.techniques(kind).items():
        for tactic in report.tactics_of(technique, coverage.counted + coverage.not_counted):
            columns.setdefault(tactic, []).append(Cell(technique, report.attack.display_name(technique), coverage))
    return [(t, columns[t.shortname]) for t in report.attack.tactics]


@dataclass(frozen=True)
class MatrixCell:
    """One tactic of one workspace in the fleet matrix."""

    covered: int  # techniques with a rule that counts
    mapped: int  # techniques the content maps under this tactic
    weakened: bool = False  # some mapped technique has rules that do not count here

    @property
    def colour(self) -> str:
        if self.mapped == 0:
            return EMPTY
        if self.covered == 0:
            return NOT_COVERED
        return PARTIAL if self.covered < self.mapped or self.weakened else COVERED

    @property
    def label(self) -> str:
        return f"{self.covered}/{self.mapped}" + ("*" if self.weakened else "") if self.mapped else ""


def fleet_rows(report: CoverageReport, kind: ContentKind = ContentKind.ANALYTIC_RULE
               ) -> list[tuple[WorkspaceCoverage, list[MatrixCell]]]:
    """Per workspace, per tactic: techniques covered and mapped, and whether rules are missing."""
    rows = []
    for workspace in report.workspaces:
        cells = [MatrixCell(sum(1 for c in column if c.coverage.covered), len(column),
                            any(c.coverage.not_counted for c in column))
                 for _, column in tactic_columns(report, workspace, kind)]
        rows.append((workspace, cells))
    return rows


# --- Markdown ---------------------------------------------------------------------------------


def coverage_markdown(report: CoverageReport) -> str:
    lines = [f"## ATT&CK coverage ({report.mode})", "",
             f"MITRE ATT&CK Enterprise **v{report.attack_version}** ({report.attack.source}). A rule counts where it "
             "is deployed, enabled, and the tables and columns it reads exist.", ""]
    for workspace in report.workspaces:
        title = workspace.name + (f" ({workspace.tenant})" if workspace.tenant else "")
        lines += [f"### {title}", ""]
        if workspace.error:
            lines += [f"Not read: {workspace.error}", ""]
            continue
        if workspace.note:
            lines += [f"_{workspace.note}_", ""]
        for kind in (ContentKind.ANALYTIC_RULE, ContentKind.HUNTING_QUERY):
            techniques = workspace.techniques(kind)
            covered = sum(1 for c in techniques.values() if c.covered)
            lines += [f"{KIND_LABEL[kind].capitalize()}: {covered} of {len(techniques)} mapped technique(s) covered.", "",
                      "| technique | name | covered | rules that count | rules that do not |", "|---|---|---|---|---|"]
            for technique, c in techniques.items():
                lines.append(f"| {technique} | {_cell(report.attack.display_name(technique))} | "
                             f"{'yes' if c.covered else '**no**'} | {_cell(', '.join(r.name for r in c.counted))} | "
                             f"{_cell('; '.join(r.describe() for r in c.not_counted))} |")
            lines.append("")
    if report.unknown_techniques():
        lines += [f"Not in ATT&CK Enterprise v{report.attack_version}: {', '.join(report.unknown_techniques())}", ""]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# --- Navigator layers -------------------------------------------------------------------------


def write_layers(report: CoverageReport, folder: Path) -> list[Path]:
    """<workspace>.<kind>.layer.json per workspace and fleet.<kind>.layer.json."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, suffix in ((ContentKind.ANALYTIC_RULE, "rules"), (ContentKind.HUNTING_QUERY, "hunting")):
        for workspace in report.workspaces:
            if not workspace.error:
                written.append(_write_json(folder / f"{workspace.name}.{suffix}.layer.json",
                                           workspace_layer(report, workspace, kind)))
        if len(report.workspaces) > 1:
            written.append(_write_json(folder / f"fleet.{suffix}.layer.json", fleet_layer(report, kind)))
    return written


def _write_json(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


# --- pictures ---------------------------------------------------------------------------------


def write_pictures(report: CoverageReport, folder: Path, fmt: str = "svg") -> list[Path]:
    """<workspace>.heatmap.<fmt> per workspace (analytic rules) and fleet.matrix.<fmt>."""
    if fmt not in PICTURE_FORMATS:
        raise ConfigError(f"--picture-format {fmt!r} is not supported; use png or svg")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for workspace in report.workspaces:
        if not workspace.error:
            path = folder / f"{workspace.name}.heatmap.{fmt}"
            _save(heatmap_figure(report, workspace), path)
            written.append(path)
    if len(report.workspaces) > 1:
        path = folder / f"fleet.matrix.{fmt}"
        _save(fleet_matrix_figure(report), path)
        written.append(path)
    return written


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text (searchable, small)
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path: Path) -> None:
    figure.savefig(path, format=path.suffix.lstrip("."), bbox_inches="tight", dpi=110)
    _pyplot().close(figure)


def heatmap_figure(report: CoverageReport, workspace: WorkspaceCoverage, kind: ContentKind = ContentKind.ANALYTIC_RULE):
    """ATT&CK's tactics as columns, the mapped techniques under each: green covered (light green:
    some of its rules do not count), red not covered; the label says rules counting / mapped."""
    from matplotlib.patches import Rectangle

    plt = _pyplot()
    columns = tactic_columns(report, workspace, kind)
    depth = max(1, max(len(cells) for _, cells in columns))
    figure, axes = plt.subplots(figsize=(1.45 * len(columns), 0.8 + 0.55 * (depth + 1)))
    for x, (tactic, cells) in enumerate(columns):
        axes.add_patch(Rectangle((x, 0), 0.96, 0.9, color="#dddddd"))
        axes.text(x + 0.48, 0.45, tactic.name.replace(" and ", " &\n").replace(" ", "\n", 1), ha="center",
                  va="center", fontsize=6.5, weight="bold")
        for y, cell in enumerate(cells, start=1):
            axes.add_patch(Rectangle((x, y), 0.96, 0.9, color=cell.colour))
            axes.text(x + 0.48, y + 0.45, f"{cell.technique}\n{cell.name[:22]}\n{cell.ratio}", ha="center",
                      va="center", fontsize=5.5)
    axes.set_xlim(0, len(columns))
    axes.set_ylim(depth + 1, 0)
    axes.axis("off")
    axes.set_title(f"{workspace.name}: ATT&CK v{report.attack_version} techniques of the {KIND_LABEL[kind]} "
                   f"({report.mode}; rules counting / mapped; light green: some do not count here; red: none)",
                   fontsize=8)
    return figure


def fleet_matrix_figure(report: CoverageReport, kind: ContentKind = ContentKind.ANALYTIC_RULE):
    """Workspaces x tactics: techniques covered / mapped in each tactic."""
    from matplotlib.patches import Rectangle

    plt = _pyplot()
    rows = fleet_rows(report, kind)
    tactics = report.attack.tactics
    figure, axes = plt.subplots(figsize=(2 + 0.9 * len(tactics), 0.8 + 0.3 * (len(rows) + 1)))
    for x, tactic in enumerate(tactics):
        axes.text(x + 0.45, -0.1, tactic.name, ha="left", va="bottom", rotation=40, fontsize=6.5)
    for y, (workspace, cells) in enumerate(rows):
        axes.text(-0.1, y + 0.45, workspace.name, ha="right", va="center", fontsize=6.5)
        for x, cell in enumerate(cells):
            axes.add_patch(Rectangle((x, y), 0.92, 0.9, color="#bbbbbb" if workspace.error else cell.colour))
            if cell.mapped and not workspace.error:
                axes.text(x + 0.46, y + 0.45, cell.label, ha="center", va="center", fontsize=6)
    axes.set_xlim(0, len(tactics))
    axes.set_ylim(len(rows), 0)
    axes.axis("off")
    axes.set_title(f"Fleet: ATT&CK v{report.attack_version} techniques covered / mapped per tactic "
                   f"({KIND_LABEL[kind]}, {report.mode}; *: some rules do not count there)", fontsize=8, pad=70)
    return figure
