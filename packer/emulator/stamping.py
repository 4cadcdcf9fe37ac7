"""Server-populated fields ARM resource providers add to every stored resource."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from packer.emulator.routes import Kind


def utc_now() -> str:
    """ISO 8601 with 7 fractional digits and Z, as the Sentinel and Log Analytics RPs write times."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond:06d}0Z"


def new_etag(kind: Kind | None = None, now: str = "") -> str:
    """The etag shape each service uses.

    Sentinel: a quoted GUID-shaped string ("0300bf09-0000-0000-0000-5c37296e0000", AlertRules
    examples). Log Analytics saved searches: a weak datetime etag (W/"datetime'2017-10-02T23%3A15%3A41.0709875Z'",
    SavedSearches examples); the time gets a random tail so two writes in one tick still differ.
    """
    if kind is not None and kind.name == "savedSearches":
        stamp = (now or utc_now()).replace(":", "%3A")
        return f"W/\"datetime'{stamp[:-2]}{uuid.uuid4().int % 10}Z'\""
    return f'"{uuid.uuid4()}"'


def system_data(existing: dict | None, principal: str, principal_type: str, now: str) -> dict:
    previous = (existing or {}).get("systemData") or {}
    return {
        "createdBy": previous.get("createdBy", principal),
        "createdByType": previous.get("createdByType", principal_type),
        "createdAt": previous.get("createdAt", now),
        "lastModifiedBy": principal,
        "lastModifiedByType": principal_type,
        "lastModifiedAt": now,
    }


def stamp_common(kind: Kind, resource_id: str, name: str, body: dict, existing: dict | None,
                 principal: str, now: str) -> dict:
    """id, name, type, etag and systemData, in ARM's order (id, name, type first)."""
    stamped = {"id": resource_id, "name": name, "type": kind.type_name}
    stamped["etag"] = new_etag(kind, now)
    for key, value in body.items():
        if key not in ("id", "name", "type", "etag", "systemData"):
            stamped[key] = value
    stamped["systemData"] = system_data(existing, principal, "Application", now)
    return stamped
