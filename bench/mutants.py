"""A small mutation-testing pass over the safety-critical code (issue 24); not run in CI.

    python bench/mutants.py [--only NAME] [--timeout SECONDS]

Each mutant below is one deliberate bug in the code behind a safety promise (ownership and
prune, etags on the client and in the emulator, exit codes, the tenant guard). For each, the
project is copied to a temporary folder, the one edit is made there (the working tree is never
touched), and the tests that guard that promise run; a mutant is killed when they fail.
The score and an explanation of every survivor are in docs/test-quality.md.

Why hand-written mutants, not mutmut: mutmut mutates every operator of a module and runs the
suite per mutant; with a ~90 s suite and KQL workers that is hours for these modules. These
mutants are the ones that would break a promise the README makes; the tests listed per mutant
are the files that test that promise (a mutant another file happens to kill is still a gap).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("packer", "tests", "content", "pyproject.toml", ".ci", ".github", "action.yml")

OWNERSHIP_TESTS = ("tests/test_apply_emulator.py", "tests/test_plan_unit.py", "tests/test_rollout.py")
ETAG_TESTS = ("tests/test_apply_client.py", "tests/test_emulator.py", "tests/test_emulator_content_routes.py",
              "tests/test_apply_emulator.py", "tests/test_apply_writes.py")
EXIT_TESTS = ("tests/test_plan_cli.py", "tests/test_validate_cli.py", "tests/test_rollout_cli.py")
TENANT_TESTS = ("tests/test_targets_auth.py", "tests/test_apply_client.py", "tests/test_rollout.py")


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


MUTANTS = (
    # --- ownership and prune ------------------------------------------------------------------
    Mutant("prune-ignores-ownership", "packer/plan/compute.py",
           "if not owned_by(meta, self.target.repository) or parent.lower() in self.desired_ids:",
           "if parent.lower() in self.desired_ids:", OWNERSHIP_TESTS),
    Mutant("prune-ignores-desired", "packer/plan/compute.py",
           "if not owned_by(meta, self.target.repository) or parent.lower() in self.desired_ids:",
           "if not owned_by(meta, self.target.repository):", OWNERSHIP_TESTS),
    Mutant("owner-name-not-checked", "packer/plan/live.py",
           'return source.get("kind") != SOURCE_KIND or source.get("name") == repository', "return True",
           OWNERSHIP_TESTS),
    Mutant("owner-repository-not-checked", "packer/plan/live.py",
           'if not owner or not owner.startswith(f"{OWNER_PREFIX}{repository}:"):', "if not owner:", OWNERSHIP_TESTS),
    Mutant("unmarked-is-ours", "packer/plan/live.py",
           'if not owner or not owner.startswith(f"{OWNER_PREFIX}{repository}:"):',
           'if owner and not owner.startswith(f"{OWNER_PREFIX}{repository}:"):', OWNERSHIP_TESTS),
    Mutant("source-kind-not-checked", "packer/plan/live.py",
           'if source.get("kind") == SOURCE_KIND and source_id.startswith(OWNER_PREFIX):',
           "if source_id.startswith(OWNER_PREFIX):", OWNERSHIP_TESTS),
    Mutant("foreign-treated-as-ours", "packer/plan/compute.py",
           "if not ours and not (meta is None and live_hash == d.content_hash):",
           "if False:", OWNERSHIP_TESTS),
    Mutant("name-clash-ignores-ownership", "packer/plan/compute.py",
           "if not owned_by(self.state.metadata_of(b[\"id\"]), self.target.repository)), None)",
           "), None)", OWNERSHIP_TESTS),
    Mutant("apply-prunes-without-flag", "packer/apply/run.py",
           "            if not self.prune:\n                return None\n", "", OWNERSHIP_TESTS),
    Mutant("drift-fail-ignored", "packer/apply/run.py",
           'if drifted and on_drift == "fail":', "if False:", OWNERSHIP_TESTS),
    Mutant("stale-plan-not-detected", "packer/apply/run.py",
           "if fingerprint(state.etags(), plan.watched) != plan.fingerprint:", "if False:", OWNERSHIP_TESTS),
    # --- etags: client ------------------------------------------------------------------------
    Mutant("client-put-drops-if-match", "packer/remote/client.py",
           '            headers["If-Match"] = etag\n', "", ETAG_TESTS),
    Mutant("client-put-drops-body-etag", "packer/remote/client.py",
           '            body["etag"] = etag\n', "", ETAG_TESTS),
    Mutant("client-delete-drops-if-match", "packer/remote/client.py",
           'headers = {"If-Match": etag} if etag else {}', "headers = {}", ETAG_TESTS),
    Mutant("apply-put-without-etag", "packer/plan/compute.py",
           'return Write("PUT", d.resource_id, body, (live or {}).get("etag"))',
           'return Write("PUT", d.resource_id, body, None)', ETAG_TESTS),
    Mutant("prune-delete-without-etag", "packer/plan/compute.py",
           'writes = [Write("DELETE", live["id"], etag=live.get("etag"))] if live else []',
           'writes = [Write("DELETE", live["id"])] if live else []', ETAG_TESTS),
    # --- etags: emulator ----------------------------------------------------------------------
    Mutant("emulator-delete-skips-preconditions", "packer/emulator/handlers.py",
           "                resources.check_preconditions(call, None, existing)\n",
           "                pass\n", ETAG_TESTS),
    Mutant("emulator-if-match-ignored", "packer/emulator/resources.py",
           'if existing is None or (if_match.strip() != "*" and _normalise_etag(if_match) != current):',
           "if False:", ETAG_TESTS),
    Mutant("emulator-if-match-star-on-missing", "packer/emulator/resources.py",
           'if existing is None or (if_match.strip() != "*" and _normalise_etag(if_match) != current):',
           'if existing is not None and (if_match.strip() != "*" and _normalise_etag(if_match) != current):',
           ETAG_TESTS),
    Mutant("emulator-body-etag-ignored", "packer/emulator/resources.py",
           'if sent and str(sent).strip() != "*" and existing is not None and _normalise_etag(str(sent)) != current:',
           "if False:", ETAG_TESTS),
    Mutant("emulator-if-none-match-ignored", "packer/emulator/resources.py",
           'if headers.get("if-none-match", "").strip() == "*" and existing is not None:', "if False:", ETAG_TESTS),
    # --- exit codes ---------------------------------------------------------------------------
    Mutant("plan-changes-exit-0", "packer/connect.py",
           "return EXIT_CHANGES if plan.has_changes else EXIT_NO_CHANGES", "return EXIT_NO_CHANGES", EXIT_TESTS),
    Mutant("plan-fleet-error-exit-2", "packer/connect.py",
           "    if getattr(plan, \"errors\", None):\n        return EXIT_ERROR\n", "", EXIT_TESTS),
    Mutant("validate-errors-exit-0", "packer/cli/validate_cmd.py",
           "raise typer.Exit(1 if report.errors else 0)", "raise typer.Exit(0)", EXIT_TESTS),
    Mutant("packer-error-exit-0", "packer/cli/__init__.py",
           "sys.exit(exc.exit_code)", "sys.exit(0)", EXIT_TESTS),
    # --- tenant guard -------------------------------------------------------------------------
    Mutant("tenant-check-skipped", "packer/auth.py",
           "        issued_by = token_tenant(token)\n        if issued_by != self.tenant_id:",
           "        issued_by = token_tenant(token)\n        if False:", TENANT_TESTS),
    Mutant("tenant-not-asked-for", "packer/auth.py",
           '        if self._ask_for_tenant:\n            kwargs.setdefault("tenant_id", self.tenant_id)\n', "",
           TENANT_TESTS),
    Mutant("token-info-not-checked", "packer/auth.py",
           "        info = self._inner.get_token_info(*scopes, options=options)\n        self._check(info.token)\n",
           "        info = self._inner.get_token_info(*scopes, options=options)\n", TENANT_TESTS),
    Mutant("oidc-ids-swapped", "packer/auth.py",
           "ClientAssertionCredential(tenant.tenant_id, client_id, github_oidc_assertion)",
           "ClientAssertionCredential(client_id, tenant.tenant_id, github_oidc_assertion)", TENANT_TESTS),
    Mutant("workload-ids-swapped", "packer/auth.py",
           "WorkloadIdentityCredential(tenant_id=tenant.tenant_id, client_id=client_id)",
           "WorkloadIdentityCredential(tenant_id=client_id, client_id=tenant.tenant_id)", TENANT_TESTS),
    Mutant("lighthouse-uses-customer-identity", "packer/auth.py",
           "        if tenant.auth.kind is not AuthKind.LIGHTHOUSE:\n            return tenant\n",
           "        return tenant\n", TENANT_TESTS),
    Mutant("tid-claim-not-required", "packer/auth.py",
           "    if not tid:\n        raise AuthError", "    if False:\n        raise AuthError", TENANT_TESTS),
)


def run(mutant: Mutant, timeout: int) -> tuple[str, float]:
    with tempfile.TemporaryDirectory(prefix=f"mutant-{mutant.name}-") as tmp:
        copy = Path(tmp)
        for name in COPIED:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__", "venv"))
            elif source.exists():
                shutil.copy2(source, copy / name)
        (copy / "node_modules").symlink_to((ROOT / "node_modules").resolve())
        target = copy / mutant.path
        text = target.read_text(encoding="utf-8")
        if text.count(mutant.old) != 1:
            return "not applied (code moved: update the mutant)", 0.0
        target.write_text(text.replace(mutant.old, mutant.new), encoding="utf-8")
        started = time.monotonic()
        try:
            result = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                                     *mutant.tests], cwd=copy, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return "killed (timeout)", time.monotonic() - started
        seconds = time.monotonic() - started
        if result.returncode == 0:
            return "SURVIVED", seconds
        if result.returncode == 1:
            return "killed", seconds
        return f"error (pytest exit {result.returncode})", seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run only the mutants whose name contains this")
    parser.add_argument("--timeout", type=int, default=600)
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if not args.only or args.only in m.name]
    outcomes = []
    for mutant in chosen:
        outcome, seconds = run(mutant, args.timeout)
        outcomes.append(outcome)
        print(f"{mutant.name:40} {outcome:12} {seconds:6.1f} s  ({mutant.path})", flush=True)
    killed = sum(o.startswith("killed") for o in outcomes)
    applied = sum(not o.startswith(("not applied", "error")) for o in outcomes)
    print(f"score: {killed}/{applied} killed")
    return 0 if killed == applied == len(chosen) else 1


if __name__ == "__main__":
    sys.exit(main())
