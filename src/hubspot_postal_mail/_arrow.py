"""Parquet files and Arrow objects as records, a slice of rows at a time (needs pyarrow).

Parquet is streamed by record batch (``ParquetFile.iter_batches``, only the columns sent), never
loaded whole; pandas and polars DataFrames come through the Arrow PyCapsule stream interface
(``__arrow_c_stream__``), so neither is a dependency. Each column of a slice is converted at
once, in Arrow where it can be (integers, decimals and booleans as written, dates and
timezone-aware timestamps to epoch milliseconds), and the rows are assembled from the results.
The rules are those of :mod:`._convert`: a row with a value HubSpot cannot store, or a naive
timestamp without ``--assume-timezone``, is an error naming the column.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ._convert import CLEAR, DAY_MS, Fields, ValueRules, plain_float, property_value
from ._exceptions import InputError
from ._readers import PARQUET_EXTRA
from ._records import SourceLine

SLICE_ROWS = 8192  # rows converted at once: bounds the Python objects alive at any time


def _pyarrow() -> Any:
    try:
        import pyarrow
    except ImportError:
        raise InputError(f"reading Parquet or Arrow data needs pyarrow: {PARQUET_EXTRA}") from None
    return pyarrow


def read_parquet(path: str | Path, *, fields: Fields, rules: ValueRules) -> Iterator[SourceLine]:
    """A Parquet file's rows; the footer is read now, so a bad file fails before sending."""
    _pyarrow()
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path, buffer_size=1 << 20, pre_buffer=False)
    except FileNotFoundError:
        raise InputError(f"cannot open {path}: No such file or directory") from None
    except (OSError, ValueError) as error:  # ArrowInvalid is a ValueError
        raise InputError(f"{path}: not a readable Parquet file ({error})") from None
    names = parquet.schema_arrow.names
    plan = _plan(fields, names, f"{path}'s columns")
    needed = sorted({names[i] for i, _ in plan}, key=names.index)
    batches = parquet.iter_batches(batch_size=SLICE_ROWS, columns=needed, use_threads=False)
    rows = _rows(batches, [(needed.index(names[i]), prop) for i, prop in plan], fields, rules)
    return _guarded(rows, str(path), parquet)


def parquet_rows(path: str | Path) -> int | None:
    """The row count in a Parquet file's footer, or None if it cannot be read."""
    try:
        import pyarrow.parquet as pq

        with pq.ParquetFile(path) as parquet:
            return int(parquet.metadata.num_rows)
    except (ImportError, OSError, ValueError):
        return None


def read_arrow(obj: Any, *, fields: Fields, rules: ValueRules) -> Iterator[SourceLine]:
    """The rows of a pyarrow Table, RecordBatch, RecordBatchReader or ``__arrow_c_stream__``."""
    pa = _pyarrow()
    if isinstance(obj, pa.Table):
        reader = obj.to_reader(max_chunksize=SLICE_ROWS)
    elif isinstance(obj, pa.RecordBatch):
        reader = pa.RecordBatchReader.from_batches(obj.schema, [obj])
    elif isinstance(obj, pa.RecordBatchReader):
        reader = obj
    else:
        try:
            reader = pa.RecordBatchReader.from_stream(obj)
        except (TypeError, ValueError) as error:
            raise InputError(f"cannot read {type(obj).__name__} as Arrow: {error}") from None
    names = reader.schema.names
    plan = _plan(fields, names, "the columns")
    return _guarded(_rows(reader, plan, fields, rules), type(obj).__name__, reader)


def _plan(fields: Fields, names: list[str], where: str) -> list[tuple[int, str]]:
    try:
        return fields.plan([str(name) for name in names], where=where)
    except ValueError as error:
        raise InputError(str(error)) from None


def _guarded(rows: Iterator[SourceLine], name: str, source: Any) -> Iterator[SourceLine]:
    """Arrow's errors mid-read (a corrupt page) as InputError; the source closed at the end."""
    try:
        yield from rows
    except (OSError, ValueError) as error:
        raise InputError(f"{name}: cannot read further: {error}") from None
    finally:
        close = getattr(source, "close", None)
        if callable(close):
            close()


def _rows(
    batches: Any, plan: list[tuple[int, str]], fields: Fields, rules: ValueRules
) -> Iterator[SourceLine]:
    props = [prop for _, prop in plan]
    id_at = next((k for k, prop in enumerate(props) if prop == fields.id_property), None)
    clear = rules.empty == CLEAR
    row = 0
    for batch in batches:
        for start in range(0, batch.num_rows, SLICE_ROWS):
            part = batch.slice(start, SLICE_ROWS)
            errors: dict[int, str] = {}
            columns = [_column(part.column(index), prop, rules, errors) for index, prop in plan]
            for offset, values in enumerate(zip(*columns, strict=True)):
                line = row + offset + 1
                if errors and offset in errors:
                    row_id = values[id_at] if id_at is not None else None
                    yield SourceLine(line, error=errors[offset], id=row_id or None)
                    continue
                if clear:
                    data = {p: "" if v is None else v for p, v in zip(props, values, strict=True)}
                else:
                    data = {p: v for p, v in zip(props, values, strict=True) if v}
                    if id_at is not None and props[id_at] not in data:
                        data[props[id_at]] = values[id_at] or ""
                yield SourceLine(line, data=data)
            row += part.num_rows


def _column(array: Any, name: str, rules: ValueRules, errors: dict[int, str]) -> list[Any]:
    """One column of a slice as property strings (None: no value); bad rows go to ``errors``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = array.type
    types = pa.types
    if types.is_dictionary(kind):
        return _column(array.dictionary_decode(), name, rules, errors)
    if types.is_string(kind) or types.is_large_string(kind):
        return array.to_pylist()  # type: ignore[no-any-return]
    if types.is_string_view(kind) or types.is_integer(kind) or types.is_decimal(kind):
        return array.cast(pa.string()).to_pylist()  # type: ignore[no-any-return]
    if types.is_boolean(kind):
        return pc.if_else(array, "true", "false").to_pylist()  # type: ignore[no-any-return]
    if types.is_null(kind):
        return [None] * len(array)
    if types.is_date32(kind):
        days = array.cast(pa.int32()).cast(pa.int64())
        return pc.multiply(days, DAY_MS).cast(pa.string()).to_pylist()  # type: ignore[no-any-return]
    if types.is_date64(kind):
        return array.cast(pa.int64()).cast(pa.string()).to_pylist()  # type: ignore[no-any-return]
    if types.is_timestamp(kind) and kind.tz is not None:
        # The stored ticks are UTC whatever the zone: read them as such, with no zone database.
        utc = array.cast(pa.int64()).cast(pa.timestamp(kind.unit))
        if kind.unit in ("us", "ns"):  # HubSpot keeps milliseconds: floor, as Python's does
            utc = pc.floor_temporal(utc, unit="millisecond")
        ms = utc.cast(pa.timestamp("ms")).cast(pa.int64())
        return ms.cast(pa.string()).to_pylist()  # type: ignore[no-any-return]
    if types.is_floating(kind):
        return _each(array.cast(pa.float64()).to_pylist(), name, errors, plain_float)
    if types.is_timestamp(kind):  # naive: refused unless a zone is assumed
        values = array.cast(pa.timestamp("us")).to_pylist()
        return _each(values, name, errors, lambda v, col: property_value(v, col, rules))
    return _each(
        array.to_pylist(),
        name,
        errors,
        lambda v, col: _unsupported(v, col, str(kind)),
    )


def _unsupported(value: Any, column: str, kind: str) -> str:
    raise ValueError(f"column {column!r}: {kind} values have no HubSpot form; send them as text")


def _each(values: list[Any], name: str, errors: dict[int, str], convert: Any) -> list[Any]:
    out: list[Any] = []
    for index, value in enumerate(values):
        if value is None:
            out.append(None)
            continue
        try:
            out.append(convert(value, name))
        except ValueError as error:
            errors.setdefault(index, str(error))
            out.append(None)
    return out
