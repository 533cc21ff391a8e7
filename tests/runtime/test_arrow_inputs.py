"""Parquet files and Arrow objects (pyarrow tables and readers, pandas and polars DataFrames):
streamed, typed values converted as HubSpot reads them, bad rows failing alone."""

from __future__ import annotations

import datetime as dt
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hubspot_postal_mail import InputError, upsert_all
from hubspot_postal_mail._convert import ValueRules, property_value
from hubspot_postal_mail._readers import read_records, records_from
from hubspot_postal_mail._records import SourceLine
from hubspot_postal_mail.fake._server import RunningFake

ID = "external_id"
DUBLIN_SUMMER = dt.datetime(2026, 7, 1, 9, 30)  # IST, UTC+1
JAN_2 = 1767312000000  # 2026-01-02T00:00:00Z in ms


def typed_table() -> pa.Table:
    return pa.table(
        {
            ID: pa.array(["a", "b", "c"]),
            "when": pa.array([dt.date(2026, 1, 2), None, dt.date(1969, 12, 31)]),
            "at": pa.array(
                [dt.datetime(2026, 1, 2, tzinfo=dt.UTC), None, None],
                pa.timestamp("us", tz="Europe/Dublin"),
            ),
            "amount": pa.array([Decimal("1.10"), Decimal("-3.5"), None], pa.decimal128(10, 2)),
            "count": pa.array([12345678901234567, None, 3], pa.int64()),
            "ok": pa.array([True, False, None]),
            "owner": pa.array(["7001", "", None]),
        }
    )


EXPECTED = {
    1: {
        ID: "a",
        "when": str(JAN_2),
        "at": str(JAN_2),
        "amount": "1.10",
        "count": "12345678901234567",
        "ok": "true",
        "owner": "7001",
    },
    2: {ID: "b", "amount": "-3.50", "ok": "false"},
    3: {ID: "c", "when": "-86400000", "count": "3"},
}


def good(lines: list[SourceLine]) -> dict[int, dict[str, str]]:
    return {line.line: dict(line.data) for line in lines if line.data is not None}


def test_a_parquet_file_is_read_batch_by_batch_with_values_as_hubspot_reads_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mail.parquet"
    pq.write_table(typed_table(), path, row_group_size=2)
    assert good(list(read_records(path, id_property=ID))) == EXPECTED


def test_pyarrow_tables_and_readers_speak_arrow() -> None:
    table = typed_table()
    assert good(list(read_records(table, id_property=ID))) == EXPECTED
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=1))
    assert good(list(read_records(reader, id_property=ID))) == EXPECTED


def test_pandas_and_polars_dataframes_come_through_the_arrow_stream() -> None:
    frame = pd.DataFrame(
        {ID: ["a", "b"], "amount": [1.5, float("nan")], "n": [1, 2], "owner": ["7001", None]}
    )
    expected = {1: {ID: "a", "amount": "1.5", "n": "1", "owner": "7001"}, 2: {ID: "b", "n": "2"}}
    lines = records_from(frame, id_property=ID)
    assert lines is not None
    assert good(list(lines)) == expected
    typed = pd.DataFrame(
        {
            ID: ["a", "b"],
            "at": pd.to_datetime(["2026-01-02T00:00:00.0009Z", "1969-12-31T23:59:59.9995Z"]),
            "kind": pd.Categorical(["letter", "parcel"]),
        }
    )
    lines = records_from(typed, id_property=ID)
    assert lines is not None
    assert good(list(lines)) == {
        1: {ID: "a", "at": str(JAN_2), "kind": "letter"},
        2: {ID: "b", "at": "-1", "kind": "parcel"},
    }
    polars = pl.DataFrame(
        {ID: ["a", "b"], "amount": [1.5, None], "n": [1, 2], "owner": ["7001", None]}
    )
    lines = records_from(polars, id_property=ID)
    assert lines is not None
    assert good(list(lines)) == expected


def test_records_from_leaves_what_does_not_speak_arrow_to_the_caller() -> None:
    assert records_from([{ID: "a"}]) is None
    assert records_from({ID: "a"}) is None
    assert records_from(iter([])) is None


def test_a_naive_timestamp_fails_its_row_naming_the_column_unless_a_zone_is_assumed() -> None:
    table = pa.table({ID: ["a", "b"], "sent": pa.array([DUBLIN_SUMMER, None], pa.timestamp("ns"))})
    lines = list(read_records(table, id_property=ID))
    assert lines[0].error is not None
    assert "column 'sent'" in lines[0].error
    assert "--assume-timezone" in lines[0].error
    assert lines[0].id == "a"
    assert good(lines) == {2: {ID: "b"}}
    assumed = list(read_records(table, id_property=ID, assume_timezone="Europe/Dublin"))
    utc = dt.datetime(2026, 7, 1, 8, 30, tzinfo=dt.UTC)
    assert good(assumed)[1]["sent"] == str(int(utc.timestamp() * 1000))


def test_values_without_a_hubspot_form_fail_their_row_only() -> None:
    table = pa.table({ID: ["a", "b"], "tags": pa.array([["x"], None], pa.list_(pa.string()))})
    lines = list(read_records(table, id_property=ID))
    assert lines[0].error is not None
    assert "column 'tags'" in lines[0].error
    assert good(lines) == {2: {ID: "b"}}


def test_columns_reads_only_those_and_map_renames(tmp_path: Path) -> None:
    path = tmp_path / "m.parquet"
    pq.write_table(pa.table({"ref": ["a"], "letter": ["x"], "secret": ["s"]}), path)
    lines = read_records(path, id_property=ID, mapping={"ref": ID}, columns="letter")
    assert good(list(lines)) == {1: {ID: "a", "letter": "x"}}


def test_a_parquet_file_without_the_id_column_is_refused_listing_its_columns(
    tmp_path: Path,
) -> None:
    path = tmp_path / "noid.parquet"
    pq.write_table(pa.table({"ref": ["a"], "letter": ["x"]}), path)
    with pytest.raises(InputError, match="columns: ref, letter"):
        read_records(path, id_property=ID)


def test_a_file_that_is_not_parquet_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "fake.parquet"
    path.write_text("external_id\na\n")
    with pytest.raises(InputError, match="not a readable Parquet file"):
        read_records(path, id_property=ID)


def test_without_pyarrow_the_message_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(sys.modules):
        if name == "pyarrow" or name.startswith("pyarrow."):
            monkeypatch.setitem(sys.modules, name, None)

    class Frame:
        def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
            raise AssertionError("not reached")

    with pytest.raises(InputError, match=r"pip install 'hubspot-postal-mail\[parquet\]'"):
        read_records(Frame(), id_property=ID)
    with pytest.raises(InputError, match=r"pip install 'hubspot-postal-mail\[parquet\]'"):
        read_records(tmp_path / "x.parquet", id_property=ID)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2026, 1, 2), str(JAN_2)),
        (dt.datetime(2026, 1, 2, 1, tzinfo=dt.timezone(dt.timedelta(hours=1))), str(JAN_2)),
        (pd.Timestamp("2026-01-02T00:00:00.0009Z"), str(JAN_2)),
        (Decimal("1.10"), "1.10"),
        (Decimal("1E+3"), "1000"),
        (0.1, "0.1"),
        (1e20, "100000000000000000000"),
        (3.0, "3"),
        (True, "true"),
        (10**30, str(10**30)),
        (None, None),
        ("", None),
    ],
)
def test_python_values_become_what_hubspot_reads(value: object, expected: str | None) -> None:
    assert property_value(value, "p") == expected


def test_naive_python_datetimes_need_a_zone() -> None:
    with pytest.raises(ValueError, match=r"column 'p'.*no time zone"):
        property_value(DUBLIN_SUMMER, "p")
    zone = ValueRules(timezone=__import__("zoneinfo").ZoneInfo("Europe/Dublin"))
    utc = dt.datetime(2026, 7, 1, 8, 30, tzinfo=dt.UTC)
    assert property_value(DUBLIN_SUMMER, "p", zone) == str(int(utc.timestamp() * 1000))


def test_upsert_all_takes_the_records_of_a_dataframe(hubspot_fake: RunningFake) -> None:
    frame = pl.DataFrame({ID: ["D-1", "D-2"], "hs_postal_mail_body": ["a", None]})
    lines = records_from(frame, id_property=ID)
    assert lines is not None
    report = upsert_all(lines, id_property=ID, token="pat-test", base_url=hubspot_fake.base_url)
    assert (report.created, report.failed) == (2, 0)
    stored = hubspot_fake.app.find(ID, "D-2")
    assert stored is not None
    assert "hs_postal_mail_body" not in stored.properties


def test_the_example_parquet_file_is_read_whole_and_clean() -> None:
    path = Path(__file__).resolve().parents[2] / "examples" / "postal_mail.parquet"
    lines = list(read_records(path, id_property=ID))
    assert len(lines) == 500
    assert all(line.error is None for line in lines)
    first = good(lines)[1]
    assert first[ID] == "PM-2026000000"
    assert first["hs_timestamp"].isdigit()  # a UTC timestamp, in epoch milliseconds
