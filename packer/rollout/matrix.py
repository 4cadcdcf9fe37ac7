"""The inventory as a GitHub Actions job matrix: one runner per shard, one process per runner.

Shards never split a subscription: ARM throttles per subscription and principal, so two runners
sharing one would each believe they own the whole budget and meet 429s. A shard therefore holds
whole subscriptions, up to `shard_size` workspaces (a single larger subscription is its own shard).
Waves stay sequential: run one matrix job per wave (`--wave`), each `needs:` the previous one.
"""
from __future__ import annotations

from collections import OrderedDict

from packer.errors import ConfigError
from packer.targets import Inventory, Target

GITHUB_MATRIX_LIMIT = 256


def job_matrix(inventory: Inventory, wave: str | None = None, shard_size: int = 10) -> dict:
    """`{"include": [{"shard", "wave", "select", "workspaces", "subscriptions"}...]}`.

    A wave that exists but holds no workspace gives `{"include": []}`: the rollout workflow
    skips that wave's job. An unknown wave is a typo and raises.
    """
    if shard_size < 1:
        raise ConfigError("--shard-size must be at least 1")
    if wave is not None:
        inventory.wave(wave)
    include: list[dict] = []
    selected = [t for t in inventory.targets if wave is None or t.wave == wave]
    for wave_entry, targets in inventory.by_wave(selected):
        for index, shard in enumerate(_shards(targets, shard_size), start=1):
            include.append(
                {
                    "shard": f"{wave_entry.name}-{index}",
                    "wave": wave_entry.name,
                    "select": ",".join(t.name for t in shard),
                    "workspaces": len(shard),
                    "subscriptions": len({t.subscription_id for t in shard}),
                }
            )
    if len(include) > GITHUB_MATRIX_LIMIT:
        raise ConfigError(
            f"{len(include)} shards exceed GitHub's {GITHUB_MATRIX_LIMIT} jobs per matrix; raise --shard-size or use --wave"
        )
    return {"include": include}


def _shards(targets: list[Target], shard_size: int) -> list[list[Target]]:
    by_subscription: OrderedDict[str, list[Target]] = OrderedDict()
    for target in targets:
        by_subscription.setdefault(target.subscription_id, []).append(target)
    shards: list[list[Target]] = []
    current: list[Target] = []
    for group in by_subscription.values():
        if current and len(current) + len(group) > shard_size:
            shards.append(current)
            current = []
        current = current + group
    if current:
        shards.append(current)
    return shards
