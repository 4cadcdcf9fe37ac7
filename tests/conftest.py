"""Shared test fixtures. `../shared` (the corpus, docs and seeds) sits beside the project root;
SENTINEL_PACKER_SHARED points elsewhere (a worktree, or the folder CI fetches into:
.ci/fetch-shared). With SENTINEL_PACKER_REQUIRE_SHARED (both CI definitions set it: see
shared_required) a missing part fails the test instead of skipping it: on CI a skip would be a
green run that checked nothing."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SENTINEL_PACKER_SHARED") or PROJECT_ROOT.parent / "shared").resolve()
CONTENT = PROJECT_ROOT / "content"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, skipping the calling test when it is absent (failing it when
    SENTINEL_PACKER_REQUIRE_SHARED requires that part)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        reason = f"{path} is absent: the shared corpus is needed for this conformance test"
        if shared_required("/".join(parts)):
            pytest.fail(reason + " (SENTINEL_PACKER_REQUIRE_SHARED requires it; fetch it with .ci/fetch-shared)")
        pytest.skip(reason)
    return path


def shared_required(part: str) -> bool:
    """SENTINEL_PACKER_REQUIRE_SHARED: `1` requires all of ../shared; a comma-separated list of
    folders (`corpus/rules,specs`) requires those: what CI can fetch from public sources."""
    value = os.environ.get("SENTINEL_PACKER_REQUIRE_SHARED", "").strip()
    if value.lower() in ("", "0", "false", "no"):
        return False
    if value.lower() in ("1", "true", "yes", "all"):
        return True
    wanted = [p.strip().strip("/") for p in value.split(",") if p.strip()]
    return any(part == p or part.startswith(p + "/") or p.startswith(part + "/") or not part for p in wanted)


def kql_or_skip(purpose: str = "KQL analysis") -> None:
    """Skip the calling test when Node.js or the Kusto.Language package is absent, the one
    reason KQL analysis may not run; with SENTINEL_PACKER_REQUIRE_KQL set (CI) that fails it.
    A worker that crashes or hangs is never a skip: it raises KqlFailed in the test."""
    from packer.kql.analyser import KqlUnavailable, find_node, kql_required

    try:
        find_node()
    except KqlUnavailable as exc:
        if kql_required():
            pytest.fail(f"{purpose} needs Node.js and `npm ci` (SENTINEL_PACKER_REQUIRE_KQL is set): {exc}")
        pytest.skip(f"{purpose} needs Node.js and `npm ci`: {exc}")


@pytest.fixture
def shared() -> Path:
    return shared_path()


@pytest.fixture(scope="session", autouse=True)
def no_analysis_cache_unless_asked():
    """Tests see Kusto.Language's answers, not a cache a previous run left in the checkout;
    the cache's own tests (tests/test_analysis_cache.py) name a folder."""
    from packer.kql.cache import CACHE_ENV

    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = "off"
    yield
    if previous is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = previous


@pytest.fixture(autouse=True)
def fresh_analysis_memory():
    """Each test starts with no answers remembered by an earlier one (packer.kql.cache keeps a
    process's answers in memory): tests that count analyses see only their own."""
    from packer.kql import cache

    cache._MEMORY.clear()
    yield


def worker_requests(monkeypatch) -> list[str]:
    """Every query text the product's analysers send to a Kusto.Language worker from now on (cache
    misses); the emulator's own analysers (no cache: it compiles what it is sent) are not counted."""
    from packer.kql.analyser import KqlAnalyser

    sent: list[str] = []
    original = KqlAnalyser.analyse_uncached

    def counting(self, queries):
        if self.cache is not None:
            sent.extend(queries)
        return original(self, queries)

    monkeypatch.setattr(KqlAnalyser, "analyse_uncached", counting)
    return sent


def first_arguments(monkeypatch, function) -> list:
    """The first argument of every call of `function` from now on, wherever packer calls it: it is
    replaced in each loaded packer module that imported it (a count of parses, reads...)."""
    import sys

    calls: list = []

    def counting(*args, **kwargs):
        calls.append(args[0])
        return function(*args, **kwargs)

    for module in [m for name, m in sys.modules.items() if name == "packer" or name.startswith("packer.")]:
        for attribute, value in list(vars(module).items()):
            if value is function:
                monkeypatch.setattr(module, attribute, counting)
    return calls


# --- emulator (packer/emulator; docs/emulator.md) ---------------------------------------------
@pytest.fixture(scope="session", autouse=True)
def emulator_prunes_by_the_shared_specs():
    """Azure drops members its api-version does not define; the emulator does so by the REST
    specs in ../shared/specs (not copied into the project). Without them it keeps bodies as sent,
    and the tests that assert the dropping fail or skip through shared_path."""
    from packer.emulator import members

    specs = SHARED / "specs"
    if specs.is_dir():
        members.SPEC_ROOTS.append(specs)
    yield
    if specs in members.SPEC_ROOTS:
        members.SPEC_ROOTS.remove(specs)


@pytest.fixture
def emulator_factory():
    """`emulator_factory(config_dict=None, **kwargs)` -> a started Emulator, stopped after the test."""
    from packer.emulator import Emulator, EmulatorConfig

    started = []

    def make(config_dict: dict | None = None, **kwargs):
        emu = Emulator(EmulatorConfig.from_dict(config_dict or {}), **kwargs).start()
        started.append(emu)
        return emu

    yield make
    for emu in started:
        emu.stop()


@pytest.fixture
def emulator(emulator_factory):
    """A started emulator with the default topology (one tenant, subscription and onboarded workspace).
    Its tables list every column of Microsoft's table reference, as Azure lists them: the
    emulator's own defaults hold a handful, and plan blocks a rule reading a column its table lacks."""
    from packer.emulator.config import DEFAULT_RESOURCE_GROUP, DEFAULT_WORKSPACE, STANDARD_TABLES
    from tests.plankit import full_tables

    return emulator_factory({"workspaces": [{"name": DEFAULT_WORKSPACE, "resource_group": DEFAULT_RESOURCE_GROUP,
                                             "tables": full_tables(*STANDARD_TABLES)}]})


@pytest.fixture
def sentinel_client(emulator):
    """azure.mgmt.securityinsight.SecurityInsights talking to `emulator`."""
    from packer.emulator.clients import sentinel_client

    return sentinel_client(emulator)


@pytest.fixture
def loganalytics_client(emulator):
    """azure.mgmt.loganalytics.LogAnalyticsManagementClient talking to `emulator`."""
    from packer.emulator.clients import loganalytics_client

    return loganalytics_client(emulator)


# --- a deployment of a copy of the bundled content (tests/plankit.py) ---------------------------
@pytest.fixture
def repo(tmp_path):
    """A copy of the bundled content/ that a test may edit."""
    from tests.plankit import copy_content

    return copy_content(CONTENT, tmp_path)


@pytest.fixture
def dep(emulator, repo):
    """`repo` planned and applied against `emulator` (tests.plankit.Deployment)."""
    from tests.plankit import deployment

    deployment_ = deployment(emulator, repo)
    yield deployment_
    deployment_.client.close()
