"""The ``postal-mail`` command line. Each command only turns options into calls; the work
lives in the package's modules (``command.py`` for ``upsert``, ``demo.py``, ``fake/``)."""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypeVar

try:
    import click
    from rich.console import Console
except ImportError as exc:  # pragma: no cover - depends on what is installed
    raise SystemExit(
        "postal-mail needs the [cli] extra: pip install 'hubspot-postal-mail[cli]'"
    ) from exc

from hubspot_postal_mail._constants import DEFAULT_CONCURRENCY, DEFAULT_RATE_LIMIT_TEXT, ExitStatus
from hubspot_postal_mail._exceptions import ConfigError
from hubspot_postal_mail._rate_limits import RateLimit
from hubspot_postal_mail._text import visible
from hubspot_postal_mail.fake._config import (
    DEFAULT_UNIQUE_PROPERTY,
    FakeConfig,
    parse_rate_limit,
    parse_token,
)

if TYPE_CHECKING:
    from hubspot_postal_mail.fake._server import RunningFake

T = TypeVar("T")


def _parsed(parse: Callable[[str], T]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A click callback applying ``parse`` to one value or each of a repeated option's values."""

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        try:
            if isinstance(value, tuple):
                return tuple(parse(item) for item in value)
            return None if value is None else parse(value)
        except ConfigError as exc:
            raise click.BadParameter(str(exc)) from None

    return callback


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="hubspot-postal-mail")
def main() -> None:
    """Bulk upsert of postal-mail records into HubSpot, and a fake HubSpot to try it on.

    \b
    Try it with nothing to sign up for:
      postal-mail demo
    Push a file into HubSpot:
      export HUBSPOT_ACCESS_TOKEN=pat-na1-...
      postal-mail upsert mail.csv --id-property external_id --report report.jsonl
    """


class _UnusableInput(click.ClickException):
    """Bad settings or unreadable input, nothing sent: ``Error: ...`` on one line, exit 2."""

    exit_code = ExitStatus.USAGE


class _StoppedMidway(click.ClickException):
    """The input became unreadable after records were sent: exit 3, resumable."""

    exit_code = ExitStatus.STOPPED


def _failed(message: str, exit_status: int) -> click.ClickException:
    """The error line; file names and input in ``message`` may carry control characters."""
    message = visible(message)
    if exit_status == ExitStatus.STOPPED:
        return _StoppedMidway(message)
    return _UnusableInput(message)


def _consoles() -> tuple[Console, Console]:
    """stdout for the summary (or --json), stderr for progress, failures and warnings."""
    return (
        Console(soft_wrap=True, highlight=False),
        Console(stderr=True, soft_wrap=True, highlight=False),
    )


def _concurrency(text: str) -> int | Literal["auto"]:
    """``auto`` or a whole number from 1."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"expected auto or a whole number, got {text!r}") from None
    if value < 1:
        raise ConfigError(f"expected auto or at least 1, got {value}")
    return value


def _rate_limit(ctx: click.Context, param: click.Parameter, value: str | None) -> RateLimit | None:
    if value is None:
        return None
    try:
        return RateLimit.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _exit(ctx: click.Context, status: int) -> NoReturn:
    ctx.exit(status)
    raise AssertionError("unreachable")  # pragma: no cover - ctx.exit raises


@main.command(
    "upsert",
    epilog="""\b
Examples:
  export HUBSPOT_ACCESS_TOKEN=pat-na1-...      # scope crm.objects.contacts.write
  postal-mail upsert mail.csv --id-property external_id --report report.jsonl
  postal-mail upsert nightly.jsonl --id-property external_id \\
      --state mail.state --report nightly.report.jsonl  # only what changed; resumable
  postal-mail upsert mail.csv --id-property external_id --dry-run --report plan.jsonl
  producer | postal-mail upsert - --id-property external_id --json
  postal-mail upsert mail.csv --id-property external_id --base-url http://127.0.0.1:8080

\b
Exit status:
  0  every record was written
  1  some records failed (each is in the report, with HubSpot's reason)
  2  bad usage or unreadable input: nothing was sent
  3  stopped early (daily limit, auth failure, HubSpot unreachable, Ctrl+C):
     rerun with the same --state to send what was not confirmed
""",
)
@click.argument("input_path", metavar="INPUT")
@click.option(
    "--id-property",
    required=True,
    metavar="NAME",
    help="The unique-value property that identifies a record (its value is the upsert id).",
)
@click.option(
    "--base-url",
    metavar="URL",
    help="HubSpot's API root. Default: $HUBSPOT_BASE_URL, else https://api.hubapi.com. "
    "Plain http:// only to 127.0.0.1/localhost (a fake).",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write one JSON line per input record: line, id, outcome "
    "(created/updated/unchanged/failed/skipped), object_id, error. Rewritten each run.",
)
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The sync state (SQLite): what HubSpot last confirmed for each id. Records it already "
    "holds are not sent (reported unchanged); a rerun after a stop sends what is left.",
)
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    hidden=True,
    help="The old name of --state.",
)
@click.option(
    "--full",
    is_flag=True,
    help="With --state: send every record anyway, and refresh the state (after edits made "
    "in HubSpot itself, which the state cannot see).",
)
@click.option(
    "--concurrency",
    callback=_parsed(_concurrency),
    default=DEFAULT_CONCURRENCY,
    show_default=True,
    metavar="auto|N",
    help="Requests in flight: auto keeps enough in flight to use the budget at the latency "
    "HubSpot shows; a number caps that (the rate limit applies either way).",
)
@click.option(
    "--rate-limit",
    callback=_rate_limit,
    metavar="N/SECONDS",
    help=f"Send at most N requests per SECONDS. Default {DEFAULT_RATE_LIMIT_TEXT} "
    "(HubSpot's smallest tier); "
    "lowered at once if HubSpot's headers say less.",
)
@click.option(
    "--shared-budget",
    envvar="HUBSPOT_SHARED_BUDGET",
    metavar="URL",
    help="redis://host:port/db: every run naming the same Redis (and token) draws from one "
    "budget, across processes and machines. Default: $HUBSPOT_SHARED_BUDGET, else none.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Read, validate and batch the input; send nothing. The report says what would be sent.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the summary as one JSON object on stdout."
)
@click.option(
    "--format",
    "input_format",
    type=click.Choice(["csv", "tsv", "jsonl", "parquet"]),
    help="The input's format, when its name does not say (stdin: jsonl unless given).",
)
@click.option(
    "--encoding",
    default="utf-8",
    show_default=True,
    metavar="NAME",
    help="Text encoding of a CSV, TSV or JSONL input (e.g. cp1252, latin-1, utf-16).",
)
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="COLUMN=PROPERTY",
    help="Send input COLUMN as HubSpot PROPERTY (repeatable); other columns keep their names.",
)
@click.option(
    "--columns",
    metavar="A,B,...",
    help="Send only these columns (the id column always).",
)
@click.option(
    "--empty",
    type=click.Choice(["skip", "clear"]),
    default="skip",
    show_default=True,
    help='Null and empty values: skip leaves HubSpot\'s value as it is; clear sends "" '
    "to clear it.",
)
@click.option(
    "--assume-timezone",
    metavar="ZONE",
    help="Read datetimes without a time zone in this IANA zone (e.g. Europe/Dublin, UTC); "
    "without it they are refused.",
)
@click.pass_context
def upsert(
    ctx: click.Context,
    input_path: str,
    id_property: str,
    base_url: str | None,
    report: Path | None,
    state: Path | None,
    checkpoint: Path | None,
    full: bool,
    concurrency: int | Literal["auto"],
    rate_limit: RateLimit | None,
    shared_budget: str | None,
    dry_run: bool,
    as_json: bool,
    input_format: str | None,
    encoding: str,
    mapping: tuple[str, ...],
    columns: str | None,
    empty: str,
    assume_timezone: str | None,
) -> None:
    """Create or update postal-mail records in HubSpot from INPUT, 100 per request.

    INPUT is a .csv or .tsv file (a header row, then one record per row), a .jsonl file (one
    JSON object per line), either gzipped (.gz), a .parquet file, or - for stdin (JSON lines,
    or --format csv). A record's fields are its properties; the field named by --id-property
    gives its id. A JSON line already in the API's shape ({"id": ..., "properties": {...}})
    is sent as it is. Empty values are not sent (--empty clear sends them). See docs/inputs.md.

    The token comes from the HUBSPOT_ACCESS_TOKEN environment variable, never from an option.
    """
    from hubspot_postal_mail._command import CommandError, Upsert, UpsertOptions, print_summary
    from hubspot_postal_mail._convert import parse_mapping
    from hubspot_postal_mail._readers import lean_arrow_memory
    from hubspot_postal_mail._settings import UpsertSettings

    lean_arrow_memory()
    try:
        column_map = parse_mapping(mapping)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--map") from None
    reading = {
        "format": input_format,
        "encoding": encoding,
        "mapping": column_map,
        "columns": columns,
        "empty": empty,
        "assume_timezone": assume_timezone,
    }
    out, err = _consoles()
    try:
        settings = UpsertSettings.of(
            None,
            id_property=id_property,
            base_url=base_url,
            report=report,
            state=state,
            checkpoint=checkpoint,
            full=full,
            concurrency=concurrency,
            **({} if rate_limit is None else {"rate_limit": rate_limit}),
            shared_budget=shared_budget or None,
            dry_run=dry_run,
            empty=empty,
            assume_timezone=assume_timezone,
        )
        options = UpsertOptions(input=input_path, settings=settings, reading=reading)
        result = Upsert(options, err=err).execute()
    except (CommandError, ConfigError) as exc:
        raise _failed(str(exc), exc.exit_status) from None
    print_summary(out, result.summary, as_json=as_json)
    _exit(ctx, result.exit_status)


@main.command(
    "demo",
    epilog="""\b
Example:
  postal-mail demo                       # what `make demo` runs
  postal-mail demo --input examples/postal_mail.csv --output-dir /tmp/demo
""",
)
@click.option(
    "--input",
    "input_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Records to upsert by external_id. Default: examples/postal_mail.jsonl of this project.",
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Where the reports go. Default: a new temporary folder.",
)
@click.pass_context
def demo(ctx: click.Context, input_path: Path | None, output_dir: Path | None) -> None:
    """Upsert the sample records into a fake HubSpot, twice: nothing to sign up for.

    Starts the fake HubSpot in this process on 127.0.0.1, upserts the examples with a progress
    bar (the first run creates the records, and shows how bad records are reported), then runs
    again and shows the same records updated.
    """
    from hubspot_postal_mail._command import CommandError
    from hubspot_postal_mail._demo import find_example, run_demo

    out, err = _consoles()
    try:
        status = run_demo(input_path or find_example(), output_dir, out=out, err=err)
    except CommandError as exc:
        raise _failed(str(exc), exc.exit_status) from None
    _exit(ctx, status)


@main.command(
    "fake-server",
    epilog="""\b
Examples:
  postal-mail fake-server --port 8080
  postal-mail fake-server --token pat-test --rate-limit 10/1 --fault-rate 0.05 --seed 1
  postal-mail fake-server --latency 1000 --latency-spread 0.5 --seed 1  # HubSpot-like timing
  # then, in another shell (any token, unless --token was given):
  HUBSPOT_ACCESS_TOKEN=pat-test postal-mail upsert mail.csv \\
      --id-property external_id --base-url http://127.0.0.1:8080
""",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow a --host other than loopback (the fake speaks plain HTTP and has no real auth).",
)
@click.option(
    "--token",
    "tokens",
    multiple=True,
    callback=_parsed(parse_token),
    metavar="TOKEN[:SCOPE,...]",
    help="Accept only these tokens (repeatable); with scopes, only those are granted. "
    "Default: any non-empty bearer token.",
)
@click.option(
    "--expired-token",
    "expired_tokens",
    multiple=True,
    metavar="TOKEN",
    help="Answer this token with 401 EXPIRED_AUTHENTICATION (repeatable).",
)
@click.option(
    "--unique-property",
    "unique_properties",
    multiple=True,
    metavar="NAME",
    help="A unique-value property to upsert by (repeatable). Default: external_id.",
)
@click.option(
    "--property",
    "extra_properties",
    multiple=True,
    metavar="NAME",
    help="Another writable custom property (repeatable).",
)
@click.option(
    "--rate-limit",
    default=DEFAULT_RATE_LIMIT_TEXT,
    show_default=True,
    callback=_parsed(parse_rate_limit),
    metavar="N/SECONDS",
    help="Requests per rolling window, per token (HubSpot's TEN_SECONDLY_ROLLING).",
)
@click.option(
    "--daily-limit",
    default=250_000,
    show_default=True,
    type=click.IntRange(min=0),
    help="Requests per day for the account (HubSpot's DAILY policy); 0 for no limit.",
)
@click.option(
    "--fault-rate",
    default=0.0,
    type=click.FloatRange(0, 1),
    help="Share of requests answered with a 500, 502, 503 or 504.",
)
@click.option(
    "--drop-rate",
    default=0.0,
    type=click.FloatRange(0, 1),
    help="Share of requests whose connection is closed without an answer.",
)
@click.option(
    "--drop-after-write",
    is_flag=True,
    help="Process dropped requests before closing: records are written, the answer is lost.",
)
@click.option(
    "--html-fault-rate",
    default=0.0,
    type=click.FloatRange(0, 1),
    help="Share of requests answered by a proxy's HTML 502 page (text/html, not JSON).",
)
@click.option(
    "--latency",
    default=0.0,
    type=click.FloatRange(min=0),
    metavar="MS",
    help="Median time each admitted upsert takes, in milliseconds (after auth and rate limits).",
)
@click.option(
    "--latency-spread",
    default=0.0,
    type=click.FloatRange(min=0),
    metavar="SIGMA",
    help="Log-normal spread of that time: MS * exp(SIGMA * N(0,1)), seeded. 0: always MS.",
)
@click.option(
    "--latency-max",
    type=click.FloatRange(min=0),
    metavar="MS",
    help="Never take longer than this many milliseconds.",
)
@click.option(
    "--conflicts",
    type=click.Choice(["batch", "per-input"]),
    default="batch",
    show_default=True,
    help="An input taking a unique value another record holds: 409 for the whole batch, "
    "nothing written (HubSpot), or only that input fails (in a 207).",
)
@click.option(
    "--conflict-share",
    default=0.0,
    type=click.FloatRange(0, 1),
    help="Share of ids (the same ones for a --seed) that always conflict, as if an archived "
    "record held their value.",
)
@click.option(
    "--auth-mode",
    type=click.Choice(["private-app", "oauth"]),
    default="private-app",
    show_default=True,
    help="oauth: answers carry no X-HubSpot-RateLimit-Daily headers, as for OAuth apps.",
)
@click.option(
    "--error-bodies",
    type=click.Choice(["pin", "hubspot"]),
    default="pin",
    show_default=True,
    help="hubspot: malformed-JSON 400s and 429s without the category the pin requires.",
)
@click.option(
    "--retry-after",
    type=click.IntRange(min=0),
    metavar="S",
    help="Send Retry-After: S with TEN_SECONDLY_ROLLING 429s and injected 5xx answers "
    "(a DAILY 429 gets the seconds left to midnight UTC).",
)
@click.option(
    "--seed", type=int, help="Seed for faults, latency and result order (reproducible runs)."
)
@click.option(
    "--partial-status",
    type=click.Choice(["207", "200"]),
    default="207",
    show_default=True,
    help="Status of partly failed batches; 200 mimics HubSpot's 2025-2026 v3 contract.",
)
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
def fake_server(
    host: str,
    port: int,
    allow_remote: bool,
    tokens: tuple[tuple[str, frozenset[str] | None], ...],
    expired_tokens: tuple[str, ...],
    unique_properties: tuple[str, ...],
    extra_properties: tuple[str, ...],
    rate_limit: tuple[int, float],
    daily_limit: int,
    fault_rate: float,
    drop_rate: float,
    drop_after_write: bool,
    html_fault_rate: float,
    latency: float,
    latency_spread: float,
    latency_max: float | None,
    conflicts: str,
    conflict_share: float,
    auth_mode: str,
    error_bodies: str,
    retry_after: int | None,
    seed: int | None,
    partial_status: str,
    log_level: str,
) -> None:
    """Run a fake HubSpot that serves the postal-mail batch upsert, until Ctrl+C."""
    from hubspot_postal_mail._config import is_loopback
    from hubspot_postal_mail.fake._app import FakeHubSpot
    from hubspot_postal_mail.fake._server import serve_forever

    if not (allow_remote or is_loopback(host)):
        raise click.BadParameter(
            f"{host} is not a loopback address; add --allow-remote to listen there anyway",
            param_hint="--host",
        )
    try:
        config = FakeConfig(
            tokens=dict(tokens) if tokens else None,
            expired_tokens=frozenset(expired_tokens),
            unique_properties=unique_properties or (DEFAULT_UNIQUE_PROPERTY,),
            extra_properties=extra_properties,
            rate_limit=rate_limit,
            daily_limit=daily_limit or None,
            fault_rate=fault_rate,
            drop_rate=drop_rate,
            drop_after_write=drop_after_write,
            html_fault_rate=html_fault_rate,
            latency_seconds=latency / 1000,
            latency_sigma=latency_spread,
            latency_max_s=None if latency_max is None else latency_max / 1000,
            conflict_mode="per-input" if conflicts == "per-input" else "batch",
            conflict_share=conflict_share,
            auth_mode="oauth" if auth_mode == "oauth" else "private-app",
            error_bodies="hubspot" if error_bodies == "hubspot" else "pin",
            retry_after=retry_after,
            seed=seed,
            partial_status=200 if partial_status == "200" else 207,
        )
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    listening: list[RunningFake] = []

    def announce(running: RunningFake) -> None:
        listening.append(running)
        _announce(running)

    try:
        serve_forever(
            FakeHubSpot(config), host=host, port=port, log_level=log_level, announce=announce
        )
    except OSError as exc:
        if listening:
            raise
        # Binding failed: the port is taken, or not ours to use.
        hint = " (another server is there: choose another --port, or 0 for a free one)"
        raise _UnusableInput(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}"
            + (hint if exc.errno == errno.EADDRINUSE else "")
        ) from None


def _announce(running: RunningFake) -> None:
    from hubspot_postal_mail.fake._app import CONTROL_PREFIX, UPSERT_PATHS

    click.echo(f"Fake HubSpot listening on {running.base_url}", err=True)
    for path in UPSERT_PATHS:
        click.echo(f"  POST {path}", err=True)
    click.echo(f"  GET|DELETE {CONTROL_PREFIX}/records  (read or reset stored records)", err=True)
    click.echo("Press Ctrl+C to stop.", err=True)
