"""Checks shared by analytic rules and hunting queries (and the enum spelling fix-ups)."""
from __future__ import annotations

import re
from packer.content.document import CiDocument
from packer.validate.problems import ERROR, WARNING, Problem
from packer.validate.reference import connector_ids, entity_types, tactics_by_technique
from packer.vocabulary import AGGREGATION_KINDS, SEVERITIES, canonical_tactic

CANONICAL_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# System.Guid.Parse also takes braces or 32 bare hex digits
ANY_GUID = re.compile(r"^\s*(\{)?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}(\})?\s*$")
TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$")
NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _by_lower(names) -> dict[str, str]:
    return {n.lower(): n for n in names}


def canonicalise_enums(doc: CiDocument, list_from_text: bool) -> None:
    """Json.NET binds enum names case-insensitively: fix the spelling, warn, let the schema judge the rest.

    With `list_from_text` (hunting queries) a text value for tactics/relevantTechniques is split
    on commas into a list, with a warning, as the packager reads it.
    """
    d = doc.value
    if list_from_text:
        _lists_from_text(doc)
    _fix_enum(doc, ("severity",), _by_lower(SEVERITIES))
    if isinstance(d.get("tactics"), list):
        for i, tactic in enumerate(d["tactics"]):
            # the packager joins hunting tactics with spaces removed: "Initial access" -> InitialAccess
            spelled = tactic.replace(" ", "") if list_from_text and isinstance(tactic, str) else tactic
            if isinstance(tactic, str) and canonical_tactic(spelled) and canonical_tactic(spelled) != tactic:
                d["tactics"][i] = canonical_tactic(spelled)
                doc.problems.append(_case_warning(doc, ("tactics", i), tactic, d["tactics"][i]))
    if isinstance(d.get("eventGroupingSettings"), dict):
        _fix_enum(doc, ("eventGroupingSettings", "aggregationKind"), _by_lower(AGGREGATION_KINDS))
    mappings = d.get("entityMappings")
    for i, mapping in enumerate(mappings if isinstance(mappings, list) else []):
        if isinstance(mapping, dict):
            _fix_enum(doc, ("entityMappings", i, "entityType"), _by_lower(entity_types()))


def _lists_from_text(doc: CiDocument) -> None:
    """Hunting queries (never structure-checked by CI) may write `tactics: A, B` or leave empty entries."""
    d = doc.value
    for name in ("tactics", "relevantTechniques"):
        if isinstance(d.get(name), str):
            d[name] = [part.strip() for part in d[name].split(",") if part.strip()]
            doc.problems.append(doc.problem((name,), WARNING, "list-as-text",
                                            "is written as text; write a YAML list (- value), one entry per line"))
        elif isinstance(d.get(name), list) and any(v is None or v == "" for v in d[name]):
            d[name] = [v for v in d[name] if v is not None and v != ""]
            doc.problems.append(doc.problem((name,), WARNING, "list-empty-entry",
                                            "has an empty entry; remove it"))


def _fix_enum(doc: CiDocument, path: tuple, names: dict[str, str]) -> None:
    parent = doc.value
    for part in path[:-1]:
        parent = parent[part]
    value = parent.get(path[-1])
    if isinstance(value, str) and value.strip().lower() in names and names[value.strip().lower()] != value:
        parent[path[-1]] = names[value.strip().lower()]
        doc.problems.append(_case_warning(doc, path, value, parent[path[-1]]))


def _case_warning(doc: CiDocument, path: tuple, written: str, canonical: str) -> Problem:
    return doc.problem(path, WARNING, "enum-case",
                       f"'{written}' is read as '{canonical}' (CI matches names case-insensitively); write '{canonical}'",
                       at_value=True)


def check_id_form(doc: CiDocument) -> list[Problem]:
    value = doc.value.get("id")
    if isinstance(value, str) and ANY_GUID.match(value) and not CANONICAL_GUID.match(value.strip()):
        return [doc.problem(("id",), WARNING, "id.format",
                            f"'{value}' is a GUID CI accepts, but write it as 8-4-4-4-12 hex digits without braces")]
    return []


def check_techniques(doc: CiDocument, tactics_must_match: bool) -> list[Problem]:
    """Each technique's tactics (ATT&CK map) must include a listed tactic; CI enforces this for Scheduled rules."""
    techniques, tactics = doc.value.get("relevantTechniques"), doc.value.get("tactics")
    if not isinstance(techniques, list):
        return []
    listed = {t for t in tactics if isinstance(t, str)} if isinstance(tactics, list) else set()
    problems = []
    for i, technique in enumerate(techniques):
        if not isinstance(technique, str) or not TECHNIQUE.match(technique):
            continue  # the schema reports the format
        mapped = tactics_by_technique().get(technique.split(".")[0])
        if mapped is None:
            problems.append(doc.problem(("relevantTechniques", i), WARNING, "technique.unknown",
                                        f"{technique} is not in the ATT&CK technique map CI uses; check the id "
                                        "(newer ATT&CK techniques are real but CI would reject them)"))
        elif not mapped & listed:
            severity = ERROR if tactics_must_match else WARNING
            problems.append(doc.problem(("relevantTechniques", i), severity, "technique.tactic",
                                        f"{technique} belongs to {', '.join(sorted(mapped))}; add one of these to tactics"))
    return problems


def check_entity_mappings(doc: CiDocument, severity=ERROR) -> list[Problem]:
    """`severity` WARNING for hunting queries: CI never checks them and the packager drops their mappings."""
    mappings = doc.value.get("entityMappings")
    if not isinstance(mappings, list):
        return []
    problems = []
    for i, mapping in enumerate(mappings):
        if not isinstance(mapping, dict):
            continue
        entity_type = mapping.get("entityType")
        entity = entity_types().get(entity_type) if isinstance(entity_type, str) else None
        fields = mapping.get("fieldMappings")
        if entity is None or not isinstance(fields, list):
            continue  # the schema reports unknown types and shapes
        used: set[str] = set()
        for j, field_mapping in enumerate(fields):
            identifier = field_mapping.get("identifier") if isinstance(field_mapping, dict) else None
            if not isinstance(identifier, str):
                continue
            path = ("entityMappings", i, "fieldMappings", j, "identifier")
            if identifier not in entity.identifiers:
                problems.append(doc.problem(path, severity, "entity.identifier",
                                            f"'{identifier}' is not an identifier of {entity.name}; use one of: "
                                            + ", ".join(sorted(entity.identifiers)), at_value=True))
            elif identifier in used:
                problems.append(doc.problem(path, severity, "entity.identifier-duplicate",
                                            f"identifier '{identifier}' is mapped twice in this {entity.name} mapping", at_value=True))
            used.add(identifier)
        if used <= entity.identifiers and not any(required <= used for required in entity.required_sets):
            sets = " or ".join("+".join(sorted(s)) for s in entity.required_sets)
            problems.append(doc.problem(("entityMappings", i, "entityType"), severity, "entity.required",
                                        f"a {entity.name} mapping needs {sets}"))
    return problems


def check_connectors(doc: CiDocument) -> list[Problem]:
    connectors = doc.value.get("requiredDataConnectors")
    if not isinstance(connectors, list):
        return []
    problems = []
    for i, connector in enumerate(connectors):
        connector_id = connector.get("connectorId") if isinstance(connector, dict) else None
        if isinstance(connector_id, str) and connector_id not in connector_ids():
            problems.append(doc.problem(("requiredDataConnectors", i, "connectorId"), WARNING, "connector.unknown",
                                        f"'{connector_id}' is not in Azure-Sentinel's ValidConnectorIds list "
                                        "(compared case-sensitively); Microsoft's CI would reject it", at_value=True))
    return problems


def check_ascii(doc: CiDocument) -> list[Problem]:
    text = doc.source.text
    match = NON_ASCII.search(text)
    if not match:
        return []
    line = text.count("\n", 0, match.start()) + 1
    column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
    count = len(NON_ASCII.findall(text))
    return [Problem(doc.path, line, column, "", WARNING, "non-ascii",
               f"{count} non-ASCII character(s), first {match.group()!r}; Microsoft's CI rejects non-ASCII "
               "text unless the id is on its skip list")]
