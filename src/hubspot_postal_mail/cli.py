"""The ``postal-mail`` command line. Each command only turns options into calls; the work
lives in the package's modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from hubspot_postal_mail.fake.config import (
    DEFAULT_UNIQUE_PROPERTY,
    ConfigError,
    FakeConfig,
    parse_rate_limit,
    parse_token,
)

if TYPE_CHECKING:
    from hubspot_postal_mail.fake.server import RunningFake

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


@click.group()
@click.version_option(package_name="hubspot-postal-mail")
def main() -> None:
    """Bulk upsert of postal-mail records into HubSpot, and a fake HubSpot to try it on."""


@main.command("fake-server")
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
    default="100/10",
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
    "--latency",
    default=0.0,
    type=click.FloatRange(min=0),
    metavar="MS",
    help="Delay every upsert by this many milliseconds.",
)
@click.option(
    "--retry-after",
    type=click.IntRange(min=0),
    metavar="S",
    help="Send Retry-After: S with 429 and injected 5xx answers.",
)
@click.option("--seed", type=int, help="Seed for faults and result order (reproducible runs).")
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
    latency: float,
    retry_after: int | None,
    seed: int | None,
    partial_status: str,
    log_level: str,
) -> None:
    """Run a fake HubSpot that serves the postal-mail batch upsert, until Ctrl+C."""
    from hubspot_postal_mail.fake.app import FakeHubSpot
    from hubspot_postal_mail.fake.server import is_loopback, serve_forever

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
            latency_seconds=latency / 1000,
            retry_after=retry_after,
            seed=seed,
            partial_status=200 if partial_status == "200" else 207,
        )
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    serve_forever(
        FakeHubSpot(config), host=host, port=port, log_level=log_level, announce=_announce
    )


def _announce(running: RunningFake) -> None:
    from hubspot_postal_mail.fake.app import CONTROL_PREFIX, UPSERT_PATHS

    click.echo(f"Fake HubSpot listening on {running.base_url}", err=True)
    for path in UPSERT_PATHS:
        click.echo(f"  POST {path}", err=True)
    click.echo(f"  GET|DELETE {CONTROL_PREFIX}/records  (read or reset stored records)", err=True)
    click.echo("Press Ctrl+C to stop.", err=True)
