"""Custom tables created and deleted through the API, as long-running operations.

Tables_CreateOrUpdate and Tables_Delete (Tables.json 2025-07-01) are `x-ms-long-running-operation`
with `final-state-via: azure-async-operation`: the answer is 202 with an `Azure-AsyncOperation`
header, polled until `status` is Succeeded. Here the work is done at once and the first poll
says Succeeded (operations.py, shared with watchlist uploads). Only custom tables (`_CL`) may be created or deleted; the rest come from the config.
"""
from __future__ import annotations

from packer.emulator import armerrors
from packer.emulator.armerrors import ArmError
from packer.emulator.config import TableConfig, WorkspaceConfig

OPERATIONS = "Microsoft.OperationalInsights/locations/{location}/operationStatuses"


def created_tables(store, ws: WorkspaceConfig) -> tuple[TableConfig, ...]:
    """The custom tables created through the API in this workspace, as config tables."""
    found = []
    for body in store.iter_under(f"{ws.resource_id}/tables"):
        columns = ((body.get("properties") or {}).get("schema") or {}).get("columns") or []
        found.append(TableConfig(body["name"], tuple((c.get("name", ""), c.get("type", "string")) for c in columns)))
    return tuple(found)


def checked_body(name: str, body: dict) -> dict:
    if not name.endswith("_CL"):
        raise armerrors.bad_request(f"Table '{name}' cannot be created or changed: only custom tables (whose name "
                                    "ends in _CL) can be.", target="name")
    schema = (body.get("properties") or {}).get("schema") or {}
    columns = schema.get("columns")
    if not isinstance(columns, list) or not all(isinstance(c, dict) and c.get("name") for c in columns):
        raise armerrors.bad_request("properties.schema.columns must list the table's columns ({name, type}).",
                                    target="properties.schema.columns")
    return body


def stored_body(ws: WorkspaceConfig, name: str, body: dict) -> dict:
    props = body.get("properties") or {}
    schema = props.get("schema") or {}
    return {"id": f"{ws.resource_id}/tables/{name}", "name": name,
            "type": "Microsoft.OperationalInsights/workspaces/tables",
            "properties": {"retentionInDays": props.get("retentionInDays", 30),
                           "totalRetentionInDays": props.get("totalRetentionInDays", 30),
                           "plan": props.get("plan", "Analytics"), "provisioningState": "Succeeded",
                           "schema": {"name": name, "tableType": "CustomLog",
                                      "columns": list(schema.get("columns") or []),
                                      "standardColumns": [{"name": "TenantId", "type": "guid"}]}}}


def status_collection(subscription: str, location: str) -> str:
    """Where a table operation's status is polled (Azure-AsyncOperation, Location)."""
    return f"/subscriptions/{subscription}/providers/{OPERATIONS.format(location=location)}"


def not_found(name: str, workspace: str) -> ArmError:
    return ArmError(404, "ResourceNotFound", f"The table '{name}' was not found in workspace '{workspace}'.")
