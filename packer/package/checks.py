"""Static checks of every template the build writes (what arm-ttk would reject first).

- the text is valid JSON;
- every `variables('x')` / `parameters('y')` used in an expression is defined;
- every parameter is used somewhere (arm-ttk "Parameters Must Be Referenced");
- every resource, nested ones included, has an apiVersion;
- every resource name has as many `/` segments as its type has type segments;
- every createUiDefinition output is a mainTemplate parameter.
A failed check raises PackerError naming the template and the problem.
"""
from __future__ import annotations

import json
import re
from typing import Any, Iterator

from packer.errors import PackerError
from packer.package.arm_expr import Evaluator, ExpressionError, is_expression

_REFERENCE = re.compile(r"\b(variables|parameters)\s*\(\s*'([^']*)'\s*\)", re.IGNORECASE)


class TemplateCheckFailed(PackerError):
    def __init__(self, template: str, problems: list[str]):
        self.template = template
        self.problems = problems
        listed = "\n  ".join(problems)
        super().__init__(f"{template}: {len(problems)} problem(s) in the generated template:\n  {listed}")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for member in value.values():
            yield from _strings(member)
    elif isinstance(value, list):
        for member in value:
            yield from _strings(member)


def _resources(resources: list, where: str) -> Iterator[tuple[str, dict]]:
    for index, resource in enumerate(resources or []):
        path = f"{where}[{index}]"
        yield path, resource
        nested = ((resource.get("properties") or {}).get("mainTemplate") or {}).get("resources")
        if nested:
            yield from _resources(nested, f"{path}.properties.mainTemplate.resources")
        if resource.get("resources"):
            yield from _resources(resource["resources"], f"{path}.resources")


def reference_problems(template: dict) -> list[str]:
    parameters = template.get("parameters") or {}
    variables = template.get("variables") or {}
    problems, used = [], set()
    for text in _strings(template):
        if not is_expression(text):
            continue
        for kind, name in _REFERENCE.findall(text):
            defined = parameters if kind.lower() == "parameters" else variables
            if kind.lower() == "parameters":
                used.add(name)
            if name not in defined:
                problems.append(f"{kind}('{name}') is used but not defined")
    problems += [f"parameter '{name}' is never used" for name in parameters if name not in used]
    return sorted(set(problems))


# Microsoft's CCP packages name a custom table by its table name alone inside the connector's
# content template (Ermes Browser Security 3.0.3, published); Content Hub deploys it so.
CCP_TABLE_TYPE = "microsoft.operationalinsights/workspaces/tables"


def resource_problems(template: dict) -> list[str]:
    evaluator = Evaluator(template)
    problems = []
    for path, resource in _resources(template.get("resources") or [], "resources"):
        type_ = str(resource.get("type", ""))
        if not resource.get("apiVersion"):
            problems.append(f"{path} ({type_}): no apiVersion")
        if type_.count("/") < 1:
            problems.append(f"{path}: type '{type_}' is not <namespace>/<type>")
            continue
        try:
            name = evaluator.value(resource.get("name", ""))
        except (ExpressionError, KeyError, IndexError, TypeError) as exc:
            problems.append(f"{path}: name {resource.get('name')!r} cannot be resolved: {exc}")
            continue
        if path.count(".mainTemplate.") and type_.lower() == CCP_TABLE_TYPE:
            continue  # named by the table alone inside a CCP content template, as Microsoft's packages are
        want = type_.count("/")
        got = len(str(name).split("/")) if name else 0
        if got != want or any(not segment for segment in str(name).split("/")):
            problems.append(f"{path}: name {resource.get('name')!r} has {got} segment(s); type {type_} needs {want}")
    return problems


def _parsed(label: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise TemplateCheckFailed(label, [f"not valid JSON: {exc}"]) from None


def check_template_text(label: str, text: str) -> dict:
    """Parse and check one ARM template; returns the parsed template."""
    template = _parsed(label, text)
    problems = reference_problems(template) + resource_problems(template)
    if problems:
        raise TemplateCheckFailed(label, problems)
    return template


def check_create_ui_text(label: str, text: str, main_template: dict) -> None:
    ui = _parsed(label, text)
    outputs = ((ui.get("parameters") or {}).get("outputs")) or {}
    parameters = main_template.get("parameters") or {}
    problems = [f"output '{name}' is not a mainTemplate parameter" for name in outputs if name not in parameters]
    if problems:
        raise TemplateCheckFailed(label, problems)
