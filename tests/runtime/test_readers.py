"""CSV and JSONL readers: records with line numbers; a bad line is reported, not fatal.

More formats, encodings, mapping and types: ``test_inputs.py``; Arrow: ``test_arrow_inputs.py``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubspot_postal_mail import InputError
from hubspot_postal_mail._convert import ValueRules
from hubspot_postal_mail._readers import _JSON, _parse, read_csv, read_jsonl, read_records
from hubspot_postal_mail._records import InvalidRecord, SourceLine, UpsertInput, normalise


def test_jsonl_lines_keep_their_numbers_and_bad_lines_their_reasons(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text(
        '{"external_id": "a", "x": 1}\n\n{not json\n[1, 2]\n{"id": "b", "properties": {"x": "2"}}\n'
    )
    lines = list(read_records(path))
    assert [line.line for line in lines] == [1, 3, 4, 5]
    assert lines[0].data == {"external_id": "a", "x": "1"}
    assert lines[1].error is not None
    assert "invalid JSON" in lines[1].error
    assert lines[2].error is not None
    assert "not a JSON object" in lines[2].error
    assert normalise(lines[3], id_property="external_id", line=0) == UpsertInput(5, "b", {"x": "2"})


def test_csv_rows_become_records_and_ragged_rows_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(
        '\ufeffexternal_id,hs_postal_mail_body\nA-1,"Dear Ann,\nthanks"\nA-2\nA-3,hi\n',
        encoding="utf-8",
    )
    lines = list(read_records(path))
    assert lines[0] == SourceLine(  # reported at the line where it starts
        2, {"external_id": "A-1", "hs_postal_mail_body": "Dear Ann,\nthanks"}
    )
    assert lines[1].line == 4
    assert lines[1].error == "1 fields where the header has 2"
    assert lines[2] == SourceLine(5, {"external_id": "A-3", "hs_postal_mail_body": "hi"})


def test_csv_with_a_broken_header_is_unreadable() -> None:
    with pytest.raises(
        InputError, match=r"column 'a' appears twice in the CSV header \(columns 1 and 2\)"
    ):
        list(read_csv(io.StringIO("a,a\n1,2\n")))


def test_dash_means_jsonl_on_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO('{"external_id": "s"}\n'))
    assert [line.data for line in read_records("-")] == [{"external_id": "s"}]


def test_a_missing_file_fails_before_the_first_record() -> None:
    with pytest.raises(InputError, match="cannot open"):
        read_jsonl("/nonexistent/in.jsonl")
    with pytest.raises(InputError, match=r"\.csv, \.tsv, \.jsonl or \.parquet"):
        read_records("data.xlsx")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"x": "1"}, "missing id field"),
        ({"external_id": ""}, "id is empty"),
        ({"external_id": None}, "id must be"),
        ({"external_id": True}, "id must be"),
        ({"external_id": "a", "p": {"n": 1}}, "not a scalar"),
        ({"external_id": "a", "p": float("nan")}, "finite"),
        ({"id": "a", "properties": {"p": [1]}}, "not a scalar"),
        ({"properties": {"p": "1"}}, "missing id"),
        ({"id": "a", "idProperty": "other", "properties": {}}, "differs"),
    ],
)
def test_invalid_records_say_why(data: dict[str, object], reason: str) -> None:
    result = normalise(data, id_property="external_id", line=9)
    assert isinstance(result, InvalidRecord)
    assert result.line == 9
    assert reason in result.reason


def test_scalars_become_hubspot_strings_and_nulls_are_not_sent() -> None:
    result = normalise(
        {"external_id": 42, "n": 1.5, "t": True, "f": False, "z": None, "e": "", "s": "x"},
        id_property="external_id",
        line=1,
    )
    assert result == UpsertInput(
        1, "42", {"external_id": "42", "n": "1.5", "t": "true", "f": "false", "s": "x"}
    )


def test_nulls_are_sent_as_empty_to_clear_only_when_asked() -> None:
    result = normalise(
        {"external_id": "a", "z": None, "e": ""},
        id_property="external_id",
        line=1,
        rules=ValueRules(empty="clear"),
    )
    assert result == UpsertInput(1, "a", {"external_id": "a", "z": "", "e": ""})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
text_records = st.dictionaries(st.text(), st.text(), max_size=5)  # most lines: orjson's part


@given(
    json_values | text_records,
    st.booleans(),
    st.sampled_from(["", " ", "\t"]),
    st.sampled_from(["", "\n", "\r\n", " \n", "x", "}", ",1", " {}"]),
)
def test_a_line_parses_exactly_as_the_standard_decoder_parses_it(
    value: object, ascii_only: bool, before: str, after: str
) -> None:
    """Lines go to orjson first; whatever the line, the value (numbers as written, the same
    types) or the error is the standard decoder's own."""
    line = before + json.dumps(value, ensure_ascii=ascii_only) + after
    assert _outcome(_parse, line) == _outcome(_JSON.decode, line)


@pytest.mark.parametrize(
    "line",
    [
        '{"a": "\\ud83d\\ude00", "b": 1}',  # a surrogate pair: one character
        '{"a": 123456789012345678901234567890}',  # beyond 64 bits: orjson would give a float
        '{"a": 1.10}',
        '{"a": NaN}',
        '{"a": "x", "a": "y"}',
        "[" * 5000 + "]" * 5000,
        "",
    ],
)
def test_lines_orjson_would_read_otherwise_read_as_the_standard_decoder_reads_them(
    line: str,
) -> None:
    assert _outcome(_parse, line) == _outcome(_JSON.decode, line)


def _outcome(parse: Callable[[str], object], line: str) -> object:
    try:
        value = parse(line)
    except (ValueError, RecursionError) as error:
        return (type(error).__name__, str(error))
    return ("value", repr(value), type(value))
