"""Azure DevOps Pipelines integration: logging commands for findings, and the sticky plan
comment as a pull-request thread. The pipeline templates live in azure-pipelines/."""
