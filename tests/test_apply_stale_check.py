"""apply --plan's staleness check lists the workspace again only when the plan would write."""
from __future__ import annotations

import pytest

from packer.apply import StalePlan, apply_plan, check_saved_plan
from packer.plan.model import Plan


def _lists(emulator, since: int) -> list:
    return [r for r in list(emulator.requests)[since:] if r.method == "GET"]


def test_a_saved_plan_without_changes_is_applied_without_listing_again(dep, emulator):
    dep.apply()
    saved = Plan.from_json(dep.plan().to_json())
    assert not saved.has_changes
    mark = len(emulator.requests)

    check_saved_plan(saved, dep.client)
    report = apply_plan(saved, dep.client)

    assert report.ok and _lists(emulator, mark) == []


def test_a_saved_plan_with_changes_is_still_checked_for_staleness(dep, emulator):
    saved = Plan.from_json(dep.plan().to_json())  # creates everything
    assert saved.has_changes
    dep.apply()  # someone applied meanwhile: the workspace moved past the saved plan

    with pytest.raises(StalePlan):
        apply_plan(saved, dep.client)
