"""`sentinel-packer github ...`: what the composite action and the example workflows call."""
from __future__ import annotations

import os
from pathlib import Path

import typer

from packer.errors import ConfigError

github_app = typer.Typer(help="GitHub Actions integration: the action's runner, annotations and the sticky PR comment.",
                         no_args_is_help=True)

DEFAULT_MARKER = "sentinel-packer:plan"


@github_app.command("run")
def run(
    command: str = typer.Argument(..., help="validate | build | plan | rollout | gate"),
    content: Path = typer.Option(Path("content"), "--content", help="Content folder."),
    targets: Path = typer.Option(Path("targets.yaml"), "--targets", help="Inventory file (plan, rollout)."),
    target: str = typer.Option("", "--target", help="Plan one target instead of the fleet."),
    wave: str = typer.Option("", "--wave", help="Limit plan or rollout to one wave."),
    select: str = typer.Option("", "--select", help="Limit rollout to the targets matching this glob (a matrix shard)."),
    output_dir: Path = typer.Option(Path("sentinel-packer-out"), "--output-dir", help="Where SARIF, package, plan and report go."),
    prune: str = typer.Option("false", "--prune", help='"true": rollout deletes what the repository no longer has.'),
    on_drift: str = typer.Option("fail", "--on-drift", help="fail | overwrite | skip (rollout)."),
    max_failures: str = typer.Option("", "--max-failures", help="Failed workspaces each wave tolerates (rollout)."),
    parallel: str = typer.Option("8", "--parallel", help="Workspaces at once within a wave (rollout)."),
    check_versions: str = typer.Option("", "--check-versions", help="Git ref for build's version-bump check."),
    reviewed_plan: str = typer.Option("", "--reviewed-plan",
                                      help="rollout: the fleet plan reviewed on the pull request (plan.json)."),
    adopt: str = typer.Option("false", "--adopt", help='"true": plan and rollout take over items equal to the content '
                              "that another tool or Content Hub wrote (plan --adopt)."),
    adopt_from: str = typer.Option("", "--adopt-from", help="plan and rollout also take over items of these repositories "
                                   "(owner/name, one a line or comma-separated; plan --adopt-from)."),
) -> None:
    """Run a command, then write $GITHUB_STEP_SUMMARY and $GITHUB_OUTPUT (the composite action's body)."""
    from packer.github.action import ActionInputs, RolloutInputs, adoption_from_action, run_action

    rollout = RolloutInputs.from_action(prune=prune, on_drift=on_drift, max_failures=max_failures, parallel=parallel)
    inputs = ActionInputs(command=command, content=content, targets=targets, target=target,
                          wave=wave, select=select, output_dir=output_dir, rollout=rollout,
                          check_versions=check_versions, reviewed_plan=Path(reviewed_plan) if reviewed_plan else None,
                          adoption=adoption_from_action(adopt, adopt_from))
    raise typer.Exit(run_action(inputs).exit_code)


@github_app.command("annotate")
def annotate(sarif: Path = typer.Argument(..., help="A SARIF log from `validate --format sarif`.")) -> None:
    """Print `::error file=...,line=...::` annotations for a SARIF log and summarise it."""
    from packer.github.annotations import findings_markdown, read_sarif, workflow_command
    from packer.github.outputs import write_step_summary

    findings = read_sarif(sarif)
    for finding in findings:
        typer.echo(workflow_command(finding))
    write_step_summary(findings_markdown(findings))


@github_app.command("comment")
def comment(
    body_file: Path = typer.Option(..., "--body-file", help="Markdown to post (for example the fleet plan)."),
    marker: str = typer.Option(DEFAULT_MARKER, "--marker", help="Hidden marker that identifies the sticky comment."),
    repo: str = typer.Option("", "--repo", help="owner/name; default $GITHUB_REPOSITORY."),
    pr: int = typer.Option(0, "--pr", help="Pull request number; default from the workflow event."),
    author: str = typer.Option("", "--author", help="Login our comment is written as; default: the token's identity "
                               "(github-actions[bot] for a workflow's GITHUB_TOKEN)."),
) -> None:
    """Create or update ONE pull-request comment carrying `marker` (GITHUB_TOKEN from the environment)."""
    from packer.github import context
    from packer.github.comments import GitHubClient, upsert_sticky_comment

    try:
        markdown = body_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{body_file}: cannot read the comment body ({exc.strerror})") from exc
    client = GitHubClient(context.api_url(), os.environ.get("GITHUB_TOKEN", ""))
    footer = context.run_footer()
    if footer:
        markdown = markdown.rstrip("\n") + "\n\n" + footer
    result = upsert_sticky_comment(client, repo or context.repository(), pr or context.pull_request_number(),
                                   marker, markdown, author or None)
    typer.echo(f"sticky comment {result.action}: {result.url or result.comment_id}")


@github_app.command("reviewed-plan")
def reviewed_plan(
    out_dir: Path = typer.Option(Path("sentinel-packer-out/reviewed"), "--out", help="Folder to save plan.json in."),
    workflow: str = typer.Option("content-pr.yml", "--workflow", help="The pull-request workflow that saves the plan."),
    artifact: str = typer.Option("fleet-plan", "--artifact", help="Name of the artifact holding plan.json."),
    sha: str = typer.Option("", "--sha", help="The pushed commit; default $GITHUB_SHA."),
    repo: str = typer.Option("", "--repo", help="owner/name; default $GITHUB_REPOSITORY."),
) -> None:
    """Fetch the fleet plan reviewed on the pull request merged as this push (GITHUB_TOKEN with
    `actions: read` and `pull-requests: read`). Sets the step output plan-path (empty when there
    is none: the rollout then plans every workspace itself) and says which in the job summary."""
    from packer.github import context
    from packer.github.annotations import warning_command
    from packer.github.comments import GitHubClient
    from packer.github.outputs import set_outputs, write_step_summary
    from packer.github.reviewed import fetch_reviewed_plan

    commit = sha or os.environ.get("GITHUB_SHA", "")
    if not commit:
        raise ConfigError("no commit: pass --sha or run inside GitHub Actions (GITHUB_SHA)")
    client = GitHubClient(context.api_url(), os.environ.get("GITHUB_TOKEN", ""))
    result = fetch_reviewed_plan(client, repo or context.repository(), commit, out_dir, workflow, artifact)
    if result.path is None:
        typer.echo(warning_command("sentinel-packer reviewed plan", f"{result.message}; every workspace is planned afresh"))
    else:
        typer.echo(result.message)
    write_step_summary(result.summary())
    set_outputs({"plan-path": str(result.path or ""),
                 "pull-request": str(result.found.pull_request) if result.found else ""})


def register(app: typer.Typer) -> None:
    app.add_typer(github_app, name="github")
