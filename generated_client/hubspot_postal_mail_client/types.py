"""Contains some shared types for properties"""

from collections.abc import Callable, Mapping, MutableMapping
from http import HTTPStatus
from typing import IO, Any, BinaryIO, Generic, Literal, TypeVar

from attrs import define, field


class Unset:
    def __bool__(self) -> Literal[False]:
        return False


UNSET: Unset = Unset()

# The types that `httpx.Client(files=)` can accept, copied from that library.
FileContent = IO[bytes] | bytes | str
FileTypes = (
    # (filename, file (or bytes), content_type)
    tuple[str | None, FileContent, str | None]
    # (filename, file (or bytes), content_type, headers)
    | tuple[str | None, FileContent, str | None, Mapping[str, str]]
)
RequestFiles = list[tuple[str, FileTypes]]


@define
class File:
    """Contains information for file uploads"""

    payload: BinaryIO
    file_name: str | None = None
    mime_type: str | None = None

    def to_tuple(self) -> FileTypes:
        """Return a tuple representation that httpx will accept for multipart/form-data"""
        return self.file_name, self.payload, self.mime_type


T = TypeVar("T")


@define
class Response(Generic[T]):
    """A response from an endpoint.

    ``parsed`` is read from ``content`` the first time it is asked for (then kept), so a caller
    that reads ``content`` itself does not pay for models it never uses. ``extensions`` are the
    httpx response's: what a custom transport learned about the answer travels up with it.
    """

    status_code: HTTPStatus | int
    content: bytes
    headers: MutableMapping[str, str]
    _parsed: T | None = None
    _parse: Callable[[], T | None] | None = field(default=None, repr=False, eq=False)
    extensions: Mapping[str, Any] = field(factory=dict, repr=False, eq=False)

    @property
    def parsed(self) -> T | None:
        if self._parse is not None:
            self._parsed, self._parse = self._parse(), None
        return self._parsed


def http_status(code: int) -> HTTPStatus | int:
    """Proxies answer with codes HTTPStatus does not know (520, 499...); keep them as ints."""
    try:
        return HTTPStatus(code)
    except ValueError:
        return code


__all__ = ["UNSET", "http_status", "File", "FileTypes", "RequestFiles", "Response", "Unset"]
