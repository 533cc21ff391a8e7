"""The upstream workflow's safety rules, beyond what actionlint and zizmor check in make lint.

zizmor flags contexts it knows to be attacker-controlled; text from HubSpot's collection reaches
this workflow through job outputs and the matrix, which it cannot know about. So: no expression
in any shell line, and write permissions on the one job that opens the pull request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from scripts import paths

WORKFLOWS = paths.ROOT / ".github" / "workflows"


def _load(name: str) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    return loaded


def _run_lines(path: Path) -> list[tuple[str, str]]:
    workflow: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        (job_name, step["run"])
        for job_name, job in workflow["jobs"].items()
        for step in job.get("steps", [])
        if "run" in step
    ]


def test_no_shell_line_of_any_workflow_interpolates_an_expression() -> None:
    offenders = [
        f"{path.name}:{job}"
        for path in sorted(WORKFLOWS.glob("*.yml"))
        for job, script in _run_lines(path)
        if "${{" in script
    ]
    assert offenders == [], "pass values to run steps through env:, never ${{ }} in the script"


def test_only_the_job_that_opens_the_pull_request_may_write() -> None:
    workflow = _load("upstream.yml")
    assert workflow["permissions"] == {}
    writers = {
        name: job["permissions"]
        for name, job in workflow["jobs"].items()
        if "write" in job.get("permissions", {}).values()
    }
    assert writers == {"propose": {"contents": "write", "pull-requests": "write"}}
    assert workflow["jobs"]["check"]["permissions"] == {"contents": "read"}


def test_the_upstream_workflow_runs_weekly_and_labels_breaking_changes() -> None:
    workflow = _load("upstream.yml")
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    [schedule] = triggers["schedule"]
    assert schedule["cron"].split()[2:] == ["*", "*", "1"], "once a week, on Mondays"
    [opener] = [
        step
        for step in workflow["jobs"]["propose"]["steps"]
        if step.get("uses", "").startswith("peter-evans/create-pull-request@")
    ]
    sha = opener["uses"].split("@", 1)[1].split()[0]
    assert len(sha) == 40, "pinned by commit"
    assert "breaking" in opener["with"]["labels"]
    assert opener["with"]["body-path"].endswith("/body.md")
