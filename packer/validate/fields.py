"""Checks shared by analytic rules and hunting queries (their enum spellings are fixed in the CI view:
packer.content.document.canonicalise_enums)."""
from __future__ import annotations

import re
from packer.content.document import CiDocument
from packer.validate.problems import ERROR, WARNING, Problem
from packer.content.reference import connector_ids, entity_types, tactics_by_technique

CANONICAL_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# System.Guid.Parse also takes braces or 32 bare hex digits
ANY_GUID = re.compile(r"^\s*(\{)?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}(\})?\s*$")
TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$")
NON_ASCII = re.compile(r"[^\x00-\x7f]")


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
