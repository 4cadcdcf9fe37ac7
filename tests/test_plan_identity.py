"""Repository identity (issue 14, finding 9): compared as GitHub compares names (case-
insensitively); a plan where every item belongs to another repository is an error that names
it and suggests a rename, never a green "nothing to do"."""
from __future__ import annotations

import pytest

from packer.apply import Outcome, apply_plan
from packer.plan.compute import AllForeign
from packer.plan.model import Action
from tests.conftest import CONTENT
from tests.plankit import REPOSITORY, copy_content, deployment


@pytest.fixture
def root(tmp_path):
    return copy_content(CONTENT, tmp_path)


@pytest.fixture
def deployed(emulator, root):
    first = deployment(emulator, root)
    assert first.apply().ok
    first.client.close()
    return emulator


def test_the_same_repository_in_another_case_owns_its_content(deployed, root):
    dep = deployment(deployed, root, repository=REPOSITORY.upper())
    try:
        plan = dep.plan()
        assert Action.FOREIGN not in {i.action for i in plan.items}
        report = apply_plan(plan, dep.client)
    finally:
        dep.client.close()
    assert report.ok and report.counts[Outcome.FAILED] == 0


def test_a_plan_where_every_item_is_foreign_is_an_error_suggesting_a_rename(deployed, root):
    dep = deployment(deployed, root, repository="contoso/renamed-content")
    try:
        with pytest.raises(AllForeign) as refused:
            dep.plan()
    finally:
        dep.client.close()
    message = str(refused.value)
    assert REPOSITORY in message and "--repository" in message and "renamed" in message


def test_foreign_items_name_the_owning_repository(deployed, root):
    (root / "analytic-rules" / "extra.yaml").write_text(
        (root / "analytic-rules" / "rmm_Level_netconn.yaml").read_text()
        .replace("3526db63-37f6-491c-8ac1-369fb709cb03", "0e7f0a4e-5a54-4a63-9d38-5d1f3c2b1a11")
        .replace("name: RMM tool abuse - Level", "name: RMM tool abuse - Extra"))
    dep = deployment(deployed, root, repository="contoso/other")
    try:
        plan = dep.plan()
    finally:
        dep.client.close()
    foreign = [i for i in plan.items if i.action is Action.FOREIGN]
    assert foreign and all(REPOSITORY in i.reason for i in foreign)
