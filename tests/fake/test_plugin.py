"""The pytest plugin as a user gets it: installed through the ``pytest11`` entry point,
usable with no conftest, and the fake it starts is gone after the test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

USER_TEST = textwrap.dedent(
    """
    import httpx
    import pytest

    from hubspot_postal_mail import UPSERT_PATH as PATH


    def test_uses_the_fake(hubspot_fake):
        with open({port_file!r}, "w") as out:
            out.write(str(hubspot_fake.port))
        body = {{"inputs": [{{"id": "a", "idProperty": "external_id", "properties": {{}}}}]}}
        headers = {{"Authorization": "Bearer " + hubspot_fake.token}}
        response = httpx.post(hubspot_fake.base_url + PATH, json=body, headers=headers)
        assert response.status_code == 200
        assert len(hubspot_fake.app.records()) == 1


    @pytest.mark.hubspot_fake(daily_limit=1)
    def test_marker_is_registered(hubspot_fake):
        assert hubspot_fake.app.config.daily_limit == 1
    """
)


def test_a_fresh_pytest_run_gets_the_fixture_and_it_is_stopped_after(tmp_path: Path) -> None:
    port_file = tmp_path / "port.txt"
    (tmp_path / "test_user.py").write_text(USER_TEST.format(port_file=str(port_file)))
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_DISABLE_PLUGIN_AUTOLOAD"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--strict-markers"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    port = int(port_file.read_text())
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass
