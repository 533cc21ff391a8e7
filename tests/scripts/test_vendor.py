"""make vendor / check-vendored: a vendored client says what it is, and edits or age show.

The source is a throw-away copy of the project (see conftest); the vendored copy goes to tmp.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import paths, vendor
from tests.scripts.conftest import REAL_ROOT

ERROR_MODEL = "hubspot_postal_mail_client/models/error.py"


@pytest.fixture
def vendored(project: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "vendor" / "hubspot_postal_mail_client_project"
    assert vendor.main(["vendor", str(dest), "--source", str(project)]) == vendor.EXIT_OK
    return dest


def _check(dest: Path, project: Path) -> int:
    return vendor.main(["check", str(dest), "--source", str(project)])


def test_a_fresh_vendored_copy_passes(
    vendored: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _check(vendored, project) == vendor.EXIT_OK
    assert "unedited and current" in capsys.readouterr().out


def test_the_stamp_names_version_contract_and_files(vendored: Path, project: Path) -> None:
    stamp = json.loads((vendored / vendor.STAMP).read_text())
    assert stamp["distribution"] == "hubspot-postal-mail-client"
    init = (vendored / "hubspot_postal_mail_client/__init__.py").read_text()
    assert f'__version__ = "{stamp["version"]}"' in init
    assert stamp["spec_sha256"] == hashlib.sha256(paths.PIN.read_bytes()).hexdigest()
    assert "source_commit" in stamp
    assert (
        stamp["files"][ERROR_MODEL]
        == hashlib.sha256((vendored / ERROR_MODEL).read_bytes()).hexdigest()
    )


def test_a_one_byte_edit_is_caught_with_a_diff(
    vendored: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = vendored / ERROR_MODEL
    data = target.read_bytes()
    at = data.index(b"categor") + len(b"categor")
    target.write_bytes(data[:at] + b"z" + data[at + 1 :])
    assert _check(vendored, project) == vendor.EXIT_FAILED
    captured = capsys.readouterr()
    assert f"edited: {ERROR_MODEL}" in captured.err
    assert "stale" not in captured.err
    assert f"--- vendored/{ERROR_MODEL}" in captured.out
    assert "+    category: str | Unset = UNSET" in captured.out


def test_an_added_or_removed_file_is_an_edit(
    vendored: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (vendored / "hubspot_postal_mail_client/patch.py").write_text("x = 1\n")
    (vendored / "README.md").unlink()
    assert _check(vendored, project) == vendor.EXIT_FAILED
    err = capsys.readouterr().err
    assert "edited: hubspot_postal_mail_client/patch.py" in err
    assert "edited: README.md" in err


def test_a_copy_older_than_the_source_is_stale(
    vendored: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = project / "generated_client/README.md"
    readme.write_text(readme.read_text() + "\nregenerated since\n")
    assert _check(vendored, project) == vendor.EXIT_FAILED
    captured = capsys.readouterr()
    assert "stale: vendored" in captured.err
    assert "edited" not in captured.err
    assert "+regenerated since" in captured.out


def test_vendoring_again_replaces_an_earlier_copy_but_no_other_folder(
    vendored: Path, project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (vendored / "README.md").write_text("edited")
    assert vendor.main(["vendor", str(vendored), "--source", str(project)]) == vendor.EXIT_OK
    assert _check(vendored, project) == vendor.EXIT_OK
    other = tmp_path / "someone-elses"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    assert vendor.main(["vendor", str(other), "--source", str(project)]) == vendor.EXIT_USAGE
    assert (other / "keep.txt").read_text() == "mine"
    assert "not a vendored copy" in capsys.readouterr().err


def test_the_check_runs_on_a_bare_python_without_site_packages(
    vendored: Path, project: Path
) -> None:
    """A consumer's CI needs nothing installed: python -S leaves out every third-party package."""
    command = [
        sys.executable,
        "-S",
        "-m",
        "scripts.vendor",
        "check",
        str(vendored),
        "--source",
        str(project),
    ]
    ok = subprocess.run(command, cwd=REAL_ROOT, capture_output=True, text=True, check=False)  # noqa: S603
    assert ok.returncode == vendor.EXIT_OK, ok.stderr
    (vendored / "README.md").write_bytes(b"!" + (vendored / "README.md").read_bytes()[1:])
    bad = subprocess.run(command, cwd=REAL_ROOT, capture_output=True, text=True, check=False)  # noqa: S603
    assert bad.returncode == vendor.EXIT_FAILED
    assert "edited: README.md" in bad.stderr
