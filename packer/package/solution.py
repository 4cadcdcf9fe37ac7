"""The solution description (Markdown and HTML) and the `contentPackages` resource (4.9)."""
from __future__ import annotations

from urllib.parse import quote

from packer.package.markdown import render as render_markdown

from packer.package.inputs import PackageInput
from packer.package.template import CONTENT_API, WORKSPACE_LOCATION, TemplateBuilder, support_json

LEARN_MORE = (
    "[Learn more about Microsoft Sentinel](https://aka.ms/azuresentinel) | "
    "[Learn more about Solutions](https://aka.ms/azuresentinelsolutionsdoc)"
)
KNOWN_ISSUES = (
    " • There may be [known issues](https://aka.ms/sentinelsolutionsknownissues) pertaining to this Solution, "
    "please refer to them before installing."
)
# (builder counter kind, label) in the order the packager lists the counts.
COUNT_LABELS = (
    ("DataConnector", "Data Connectors"),
    ("Parser", "Parsers"),
    ("Workbook", "Workbooks"),
    ("AnalyticsRule", "Analytic Rules"),
    ("HuntingQuery", "Hunting Queries"),
)



def release_notes_url(solution_name: str) -> str:
    """Where Microsoft's packages link their release notes (Azure-Sentinel repository)."""
    return f"https://github.com/Azure/Azure-Sentinel/tree/master/Solutions/{quote(solution_name)}/ReleaseNotes.md"


def counts_line(b: TemplateBuilder) -> str:
    return ", ".join(f"**{label}:** {b.count(kind)}" for kind, label in COUNT_LABELS if b.count(kind))


def description_markdown(b: TemplateBuilder, package: PackageInput) -> str:
    """The createUi `basics.description` without the logo line."""
    note = "**Note:** Please refer to the following before installing the solution: \n\n"
    if package.release_notes_url:
        note += f"• Review the solution [Release Notes]({package.release_notes_url})\n\n"
    parts = [note + KNOWN_ISSUES, package.solution.description]  # verbatim: the packager keeps trailing spaces
    counts = counts_line(b)
    if counts:
        parts.append(counts)
    parts.append(LEARN_MORE)
    return "\n\n".join(parts)


def description_with_logo(b: TemplateBuilder, package: PackageInput) -> str:
    text = description_markdown(b, package)
    return f"{package.solution.logo}\n\n{text}" if package.solution.logo is not None else text


def description_html(b: TemplateBuilder, package: PackageInput) -> str:
    return render_markdown(description_markdown(b, package))


def publisher_display_name(package: PackageInput) -> str:
    support = package.solution.support
    name = support.name or ""
    return f"Microsoft Sentinel, {name}" if (support.tier or "").lower() == "microsoft" else name


def add_solution_resource(b: TemplateBuilder, package: PackageInput) -> None:
    """The contentPackages resource; always last, after every item added its criterion."""
    solution = package.solution
    b.variables["_solutioncontentProductId"] = (
        "[concat(take(variables('_solutionId'),50),'-','sl','-', uniqueString(concat(variables('_solutionId'),"
        "'-','Solution','-',variables('_solutionId'),'-', variables('_solutionVersion'))))]"
    )
    # The packager builds this resource when the data file's walk reaches `Metadata`: items listed
    # after it are packaged but are not among the solution's dependencies.
    listed = b.criteria if package.entries_before_metadata is None else b.criteria[:package.entries_before_metadata]
    criteria = list(listed) + [{"kind": "Solution", "contentId": s} for s in solution.dependent_solution_ids]
    dependencies = {"criteria": criteria} if solution.dependent_solution_ids else {"operator": "AND", "criteria": criteria}
    props = {
        "version": b.version,
        "kind": "Solution",
        "contentSchemaVersion": "3.0.0",
        "displayName": solution.name,
        "publisherDisplayName": publisher_display_name(package),
        "descriptionHtml": description_html(b, package),
        "contentKind": "Solution",
        "contentProductId": "[variables('_solutioncontentProductId')]",
        "id": "[variables('_solutioncontentProductId')]",
    }
    if solution.logo is not None:  # an empty Logo still gives `icon` (PrepareSolutionMetadata adds it)
        props["icon"] = solution.logo
    props.update({
        "contentId": "[variables('_solutionId')]",
        "parentId": "[variables('_solutionId')]",
        "source": b.source(),
        "author": b.author(),
        "support": support_json(solution),
        "dependencies": dependencies,
    })
    for key, value in (("firstPublishDate", solution.first_publish_date), ("lastPublishDate", solution.last_publish_date)):
        if value:
            props[key] = value
    if solution.providers:
        props["providers"] = list(solution.providers)
    categories = {k: list(v) for k, v in (("domains", solution.domains), ("verticals", solution.verticals)) if v}
    if categories:
        props["categories"] = categories
    b.resources.append({
        "type": "Microsoft.OperationalInsights/workspaces/providers/contentPackages",
        "apiVersion": CONTENT_API,
        "location": WORKSPACE_LOCATION,
        "properties": props,
        "name": "[concat(parameters('workspace'),'/Microsoft.SecurityInsights/', variables('_solutionId'))]",
    })
