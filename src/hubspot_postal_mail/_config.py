"""Where the token and the base URL come from, and how the token is kept out of sight.

The token is read only from the caller or ``HUBSPOT_ACCESS_TOKEN``, wrapped in :class:`Secret` at
once, and revealed only where the Authorization header is built. Plain ``http://`` is refused
except to a loopback host, so a token never crosses a network in clear text.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from ._constants import BASE_URL_ENV, DEFAULT_BASE_URL, TOKEN_ENV
from ._exceptions import ConfigError

REDACTED = "<redacted>"


class Secret:
    """A string that does not show itself: ``str``, ``repr`` and ``format`` all say redacted."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The real value; call it only where it is sent."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> str:  # pragma: no cover - refuse to be pickled with its value
        raise TypeError("a Secret is not picklable")


def resolve_token(token: str | Secret | None = None) -> Secret:
    """The caller's token, else ``HUBSPOT_ACCESS_TOKEN``; never a file, never a default."""
    if isinstance(token, Secret):
        value = token.reveal()
    elif token is not None:
        value = token
    else:
        value = os.environ.get(TOKEN_ENV, "")
    value = value.strip()
    if not value:
        raise ConfigError(f"no access token: pass token= or set {TOKEN_ENV}")
    if any(ch.isspace() for ch in value):
        raise ConfigError("the access token contains whitespace")
    # HubSpot's tokens are printable ASCII; anything else would fail inside httpx, whose
    # exception carries the whole header. The message says where, never what.
    if not all(" " < ch < "\x7f" for ch in value):
        raise ConfigError(
            "the access token contains a character that is not printable ASCII "
            "(a copy-paste mistake?): copy it again from the private app's page"
        )
    return Secret(value)


def is_loopback(host: str) -> bool:
    """True for localhost and 127.0.0.0/8 or ::1 literals: traffic that never leaves the machine.

    ``*.localhost`` names are not taken on trust: RFC 6761 asks resolvers to keep them on the
    machine, but a resolver (or /etc/hosts) may not, and the token would go out in clear text.
    """
    host = host.strip("[]").lower().removesuffix(".")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_base_url(base_url: str | None = None) -> str:
    """The caller's base URL, else ``HUBSPOT_BASE_URL``, else HubSpot's; https unless loopback."""
    url = (base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(f"base URL must be an http(s) URL with a host, got {url!r}")
    if parts.username or parts.password:
        raise ConfigError("base URL must not carry credentials")
    try:
        port = parts.port  # urlsplit checks the port only when it is read
    except ValueError:
        port = 0
    if port == 0:
        raise ConfigError(f"the port must be between 1 and 65535, in {url!r}")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(
            f"refusing plain http:// to {parts.hostname}: the token would travel in clear text; "
            "use https:// (http:// is allowed only to localhost or a loopback IP such as 127.0.0.1)"
        )
    return url


def proxy_for(base_url: str) -> str | None:
    """The proxy the environment names for ``base_url`` (``HTTPS_PROXY``/``ALL_PROXY``, less
    ``NO_PROXY``), as curl and httpx's own clients would use; None to connect directly.

    Only for https: plain http goes to loopback only, and a proxy there would see the token.
    """
    parts = urlsplit(base_url)
    if parts.scheme != "https" or not parts.hostname:
        return None
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get("https") or proxies.get("all")
    if not proxy or _bypassed(parts.hostname, proxies.get("no", "")):
        return None
    return proxy


def _bypassed(host: str, no_proxy: str) -> bool:
    """``NO_PROXY`` as curl reads it: ``*``, or names matching the host or a domain above it."""
    for entry in no_proxy.replace(" ", "").lower().split(","):
        entry = entry.lstrip(".")
        if entry.count(":") == 1:  # name:port (an IPv6 literal has more colons)
            entry = entry.split(":")[0]
        if entry == "*" or (entry and (host == entry or host.endswith("." + entry))):
            return True
    return False


class RedactingFilter(logging.Filter):
    """Replaces every secret's value in a log record's message and arguments.

    Attach it to a handler to cover records from every logger, or let :func:`redact_logs`
    attach it to the loggers this package and httpx write to.
    """

    def __init__(self, secrets: Iterable[Secret]) -> None:
        super().__init__()
        self._values = [s.reveal() for s in secrets if s.reveal()]

    def redact(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message or record.args:
            record.msg = redacted
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.redact(text)
        return True


# httpcore logs from child loggers; a logger's filter does not see its children's records.
LOGGERS = (
    "hubspot_postal_mail",
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
)


@contextmanager
def redact_logs(*secrets: Secret) -> Iterator[RedactingFilter]:
    """A :class:`RedactingFilter` on this package's and httpx's loggers, for the duration."""
    log_filter = RedactingFilter(secrets)
    for name in LOGGERS:
        logging.getLogger(name).addFilter(log_filter)
    try:
        yield log_filter
    finally:
        for name in LOGGERS:
            logging.getLogger(name).removeFilter(log_filter)
