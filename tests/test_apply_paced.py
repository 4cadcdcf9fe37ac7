"""A single-workspace apply paces its writes with the subscription budget a rollout uses
(packer.rollout.budget), so ARM's write bucket is met at its rate instead of with 429s."""
from __future__ import annotations

from packer.apply import apply_plan
from packer.connect import Endpoint, WorkspaceFlags, connect_workspace
from packer.plan.compute import compute_plan
from packer.rollout.budget import ArmLimits, BucketSpec
from packer.validate import load_content
from tests.conftest import CONTENT
from tests.plankit import copy_content, fast_tables

# The emulator's write bucket, small so a dozen items overrun it; the client paces a little
# under it (the two clocks start apart).
BUCKET = (4, 20)
PACED = BucketSpec(3, 15)


def test_apply_through_a_workspace_connection_is_paced_by_the_subscription_budget(emulator_factory, tmp_path):
    emu = emulator_factory({"throttling": {"writes": list(BUCKET), "deletes": list(BUCKET)}})
    ws = emu.workspace
    flags = WorkspaceFlags(ws.subscription, ws.resource_group, ws.name, emu.tenant_id, "contoso/sentinel")
    workspace = connect_workspace(flags=flags, endpoint=Endpoint(emu.base_url, emu.ca_path, "target"))
    assert workspace.limits == ArmLimits()  # by default: ARM's own buckets
    workspace.limits = ArmLimits(writes=PACED, deletes=PACED)
    content = load_content(copy_content(CONTENT, tmp_path), kql=False)

    with workspace.client() as client:
        plan = compute_plan(content, workspace.target, client, "c0ffee", tables_needed=fast_tables(content))
        report = apply_plan(plan, client, check_stale=False)

    writes = [r for r in list(emu.requests) if r.method in ("PUT", "DELETE")]
    assert report.ok and len(writes) > 2 * BUCKET[0]  # more than the bucket holds: pacing was needed
    assert [r for r in writes if r.status == 429] == []
    assert workspace.budget.granted["write"] == len(writes) and workspace.budget.waited_seconds > 0
