"""`sentinel-packer azdo ...`: what the Azure Pipelines templates (azure-pipelines/) call."""
from __future__ import annotations

import os
from pathlib import Path

import typer

from packer.errors import ConfigError

azdo_app = typer.Typer(help="Azure DevOps Pipelines integration: issues for findings, the sticky PR thread.",
                       no_args_is_help=True)


@azdo_app.command("annotate")
def annotate(sarif: Path = typer.Argument(..., help="A SARIF log from `validate --format sarif`.")) -> None:
    """Print `##vso[task.logissue ...]` lines for a SARIF log's errors and warnings."""
    from packer.azure_devops.logging import logissue_command
    from packer.github.annotations import read_sarif

    for finding in read_sarif(sarif):
        command = logissue_command(finding)
        if command:
            typer.echo(command)


@azdo_app.command("comment")
def comment(
    body_file: Path = typer.Option(..., "--body-file", help="Markdown to post (for example the fleet plan)."),
    marker: str = typer.Option("sentinel-packer:plan", "--marker", help="Hidden marker of the sticky thread."),
) -> None:
    """Create or update ONE pull-request thread carrying `marker` (SYSTEM_ACCESSTOKEN and the
    pipeline's predefined variables from the environment)."""
    from packer.azure_devops.comments import AzureDevOpsClient, PullRequest, upsert_thread

    def variable(name: str) -> str:
        value = os.environ.get(name, "")
        if not value:
            raise ConfigError(f"{name} is not set: run this in a pull-request build of Azure Pipelines")
        return value

    try:
        markdown = body_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{body_file}: cannot read the comment body ({exc.strerror})") from exc
    pr = PullRequest(variable("SYSTEM_COLLECTIONURI"), variable("SYSTEM_TEAMPROJECT"), variable("BUILD_REPOSITORY_ID"),
                     int(variable("SYSTEM_PULLREQUEST_PULLREQUESTID")))
    client = AzureDevOpsClient(pr.collection_uri, os.environ.get("SYSTEM_ACCESSTOKEN", ""))
    result = upsert_thread(client, pr, marker, markdown)
    typer.echo(f"sticky thread {result.action}: {result.thread_id}")


@azdo_app.command("reviewed-run")
def reviewed_run(
    plan_pipeline_id: int = typer.Option(..., "--plan-pipeline-id", help="Definition id of the content-pr pipeline."),
    variable: str = typer.Option("reviewedRunId", "--variable", help="Output variable that receives the run id."),
) -> None:
    """Set an output variable to the run of the plan pipeline whose fleet plan was reviewed on the
    pull request merged as $(Build.SourceVersion); empty (with a warning saying why) when there is
    none, and the rollout plans every workspace itself."""
    from packer.azure_devops.comments import AzureDevOpsClient
    from packer.azure_devops.logging import variable_command, warning_command
    from packer.azure_devops.reviewed import NoReviewedPlan, reviewed_run_or_reason

    def env(name: str) -> str:
        value = os.environ.get(name, "")
        if not value:
            raise ConfigError(f"{name} is not set: run this in Azure Pipelines")
        return value

    collection = env("SYSTEM_COLLECTIONURI")
    client = AzureDevOpsClient(collection, os.environ.get("SYSTEM_ACCESSTOKEN", ""))
    found = reviewed_run_or_reason(client, collection, env("SYSTEM_TEAMPROJECT"), env("BUILD_REPOSITORY_ID"),
                                   env("BUILD_SOURCEVERSION"), plan_pipeline_id)
    if isinstance(found, NoReviewedPlan):
        typer.echo(warning_command(f"no reviewed plan: {found.reason}; every workspace is planned afresh"))
        typer.echo(variable_command(variable, ""))
    else:
        typer.echo(f"reviewed plan: pull request {found.pull_request}, plan run {found.run_id}")
        typer.echo(variable_command(variable, str(found.run_id)))


def register(app: typer.Typer) -> None:
    app.add_typer(azdo_app, name="azdo")
