"""The core installs light: upsert_all runs with none of the extras' packages importable."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# What the extras bring ([cli], [fake]): the core must not import any of them.
EXTRAS = ("click", "rich", "starlette", "uvicorn", "jsonschema", "jsonschema_rs", "pyarrow")

SCRIPT = textwrap.dedent(
    """
    import importlib.abc, json, sys

    BLOCKED = {blocked!r}

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{{name}} is not installed (blocked by the test)")
            return None

    sys.meta_path.insert(0, Block())

    import httpx
    import hubspot_postal_mail
    from hubspot_postal_mail import _pytest_plugin  # loaded by every pytest run of a user

    def answer(request):
        inputs = json.loads(request.content)["inputs"]
        results = [
            {{"id": str(n), "new": True, "properties": {{"external_id": i["id"]}},
              "objectWriteTraceId": i["objectWriteTraceId"]}}
            for n, i in enumerate(inputs)
        ]
        return httpx.Response(200, json={{"status": "COMPLETE", "results": results,
            "startedAt": "2026-01-01T00:00:00Z", "completedAt": "2026-01-01T00:00:01Z"}})

    report = hubspot_postal_mail.upsert_all(
        [{{"external_id": f"X{{n}}"}} for n in range(250)],
        id_property="external_id",
        token="pat-test",
        base_url="https://api.example.test",
        transport=httpx.MockTransport(answer),
    )
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    print(json.dumps({{"created": report.created, "loaded": loaded}}))
    """
)


def test_upsert_all_runs_without_the_cli_and_fake_extras() -> None:
    run = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", SCRIPT.format(blocked=EXTRAS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().endswith('{"created": 250, "loaded": []}')
