"""``postal-mail demo`` (``make demo``): the whole job on a laptop, with nothing to sign up for.

A fake HubSpot runs in this process on 127.0.0.1; the examples are upserted through the same
code path as ``postal-mail upsert`` (first run: created, and the bad records reported), then
again (updated). The fake's rate limit is raised from HubSpot's 100 per 10 s so the demo takes
seconds, yet stays low enough for the progress bar to be seen.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from rich.console import Console
from rich.text import Text

from ._command import CommandError, Upsert, UpsertOptions, open_input, print_summary
from ._config import Secret
from ._constants import ExitStatus
from ._rate_limits import RateLimit
from ._settings import UpsertSettings
from ._text import plural, visible
from .fake._app import FakeHubSpot
from .fake._config import DEFAULT_UNIQUE_PROPERTY, FakeConfig
from .fake._server import serve_in_thread

EXAMPLE = Path("examples", "postal_mail.jsonl")
# Ours: about 3 s for 3,000 records. The fake allows twice that, so the second run's first
# requests fit in its window beside the first run's last ones.
DEMO_RATE = RateLimit(10, 1.0)
FAKE_RATE = (20, 1.0)

# Each run's title, and whether it keeps a sync state (--state): run 2 fills it, run 3 uses it.
RUNS = (
    ("Run 1: the records are new, so they are created", False),
    (
        "Run 2: the same file again, so they are updated (and --state notes what HubSpot holds)",
        True,
    ),
    ("Run 3: the same file with that state: what HubSpot already holds is not sent", True),
)


def find_example() -> Path:
    """The project's example file: from the current folder up, then from this package up."""
    here = Path.cwd().resolve()
    for base in (here, *here.parents, *Path(__file__).resolve().parents):
        candidate = base / EXAMPLE
        if candidate.is_file():
            return candidate
    raise CommandError(f"{EXAMPLE} not found: run from the project's folder, or pass --input FILE")


def _shown(path: Path) -> str:
    """A short name for messages: relative to the current folder when inside it."""
    try:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)


def check_input(source: Path) -> None:
    """Read the input's first record now, so a wrong file fails before a fake is started."""
    options = UpsertOptions(
        input=_shown(source), settings=UpsertSettings(id_property=DEFAULT_UNIQUE_PROPERTY)
    )
    open_input(options)  # dropped at once: the reader's generator closes the file


def run_demo(source: Path, output_dir: Path | None, *, out: Console, err: Console) -> int:
    """Both runs against a fresh fake; the exit status is 0 unless a run was stopped."""
    check_input(source)
    folder = output_dir or Path(tempfile.mkdtemp(prefix="postal-mail-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    config = FakeConfig(rate_limit=FAKE_RATE, daily_limit=None)
    with serve_in_thread(FakeHubSpot(config)) as fake:
        out.print(
            Text.assemble(
                ("A fake HubSpot is listening on ", "bold"),
                (fake.base_url, "bold cyan"),
                (
                    f" (in this process; it allows {FAKE_RATE[0]} requests per "
                    f"{FAKE_RATE[1]:g} s, and we send at most {DEMO_RATE.requests})",
                    "",
                ),
            ),
            soft_wrap=True,
        )
        for number, (title, with_state) in enumerate(RUNS, start=1):
            out.print()
            out.rule(Text(title, style="bold"), align="left")
            settings = UpsertSettings(
                id_property=DEFAULT_UNIQUE_PROPERTY,
                base_url=fake.base_url,
                report=folder / f"run{number}.report.jsonl",
                rate_limit=DEMO_RATE,
                token=Secret(fake.token),
                state=folder / "demo.state" if with_state else None,
            )
            options = UpsertOptions(input=_shown(source), settings=settings)
            result = Upsert(options, err=err).execute()
            print_summary(out, result.summary, as_json=False)
            if result.report.stopped is not None:
                return result.exit_status
        first, repeated = _sample_ids(folder / "run1.report.jsonl")
        out.print()
        out.print(_sample(fake.app, [*first, *repeated[:1]]), soft_wrap=True)
        if repeated:
            out.print(
                f"{visible(repeated[0])} appears more than once in the input: "
                "the value of its last line is the one HubSpot keeps.",
                soft_wrap=True,
                markup=False,
            )
    out.print()
    out.print(
        f"Reports: {visible(str(folder))}/run1.report.jsonl, run2 and run3 "
        "(one JSON line per record).",
        soft_wrap=True,
        markup=False,
    )
    out.print(
        "Against real HubSpot: export HUBSPOT_ACCESS_TOKEN=pat-..., then\n"
        "  postal-mail upsert your.csv --id-property <your unique property> --report report.jsonl"
        "\n(see README.md; postal-mail upsert --help)",
        soft_wrap=True,
        markup=False,
    )
    return ExitStatus.OK


def _sample_ids(report: Path) -> tuple[list[str], list[str]]:
    """From a run's report: the first ids written, and the ids written more than once (the
    input repeats them), both in input order."""
    written: dict[str, int] = {}
    with report.open(encoding="utf-8") as lines:
        entries = sorted((json.loads(text) for text in lines), key=lambda e: int(e["line"]))
    for entry in entries:
        if entry["outcome"] in ("created", "updated"):
            written[entry["id"]] = written.get(entry["id"], 0) + 1
    return list(written)[:2], [key for key, times in written.items() if times > 1]


def _sample(app: FakeHubSpot, keys: list[str]) -> Text:
    """A few records as the fake now holds them: created by run 1, modified by run 2."""
    picked = [r for key in keys if (r := app.find(DEFAULT_UNIQUE_PROPERTY, key)) is not None]
    text = Text(
        f"The fake now holds {plural(len(app.records()), 'record')}, for example:", style="bold"
    )
    for record in picked:
        text.append(
            f"\n  {visible(record.properties.get(DEFAULT_UNIQUE_PROPERTY, ''))}", style="cyan"
        )
        text.append(
            f"  object {record.id}, created {record.created_at:%H:%M:%S}, "
            f"modified {record.updated_at:%H:%M:%S}: "
            f"{record.properties.get('hs_postal_mail_body', '')!r}"
        )
    return text
