"""Text inputs as data engineers have them: encodings, BOMs, TSV, gzip, stdin formats, broken
lines that must not stop the run, headers that must, empty cells, --map and --columns."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest

from hubspot_postal_mail import InputError
from hubspot_postal_mail._readers import read_records
from hubspot_postal_mail._records import SourceLine

ID = "external_id"


def records(path: Path | str, **options: object) -> list[SourceLine]:
    return list(read_records(path, id_property=ID, **options))  # type: ignore[arg-type]


def good(lines: list[SourceLine]) -> dict[int, dict[str, str]]:
    return {line.line: dict(line.data) for line in lines if line.data is not None}


def bad(lines: list[SourceLine]) -> dict[int, str]:
    return {line.line: line.error for line in lines if line.error is not None}


# -- JSON lines ----------------------------------------------------------------------------------


def test_a_json_line_nested_100000_deep_fails_alone_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    deep = "[" * 100_000 + "]" * 100_000
    path.write_text(f'{{"{ID}": "a"}}\n{{"x": {deep}}}\n{{"{ID}": "c"}}\n')
    lines = records(path)
    assert good(lines) == {1: {ID: "a"}, 3: {ID: "c"}}
    assert "nested too deeply" in bad(lines)[2]


def test_invalid_utf8_is_reported_at_its_own_line_and_the_rest_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with path.open("wb") as out:
        for n in range(1, 12_003):
            if n == 12_001:
                out.write(b'{"external_id": "caf\xe9"}\n')
            else:
                out.write(json.dumps({ID: f"r{n}", "body": "\u00e9t\u00e9 " * 3}).encode() + b"\n")
    lines = records(path)
    errors = bad(lines)
    assert list(errors) == [12_001]
    assert "line 12001 is not valid utf-8: byte 0xe9" in errors[12_001]
    assert good(lines)[12_002][ID] == "r12002"
    assert len(lines) == 12_002


def test_a_byte_order_mark_is_accepted_in_json_lines_and_on_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"external_id": "a"}\n')
    assert good(records(path)) == {1: {ID: "a"}}

    class Stdin:
        buffer = io.BufferedReader(io.BytesIO(b'\xef\xbb\xbf{"external_id": "s"}\n'))

    monkeypatch.setattr("sys.stdin", Stdin())
    assert good(records("-")) == {1: {ID: "s"}}


def test_json_values_are_sent_as_written_and_nulls_are_not_sent(tmp_path: Path) -> None:
    path = tmp_path / "v.jsonl"
    path.write_text(
        '{"external_id": 7, "amount": 1.10, "big": 12345678901234567890, "ok": true,'
        ' "gone": null, "blank": ""}\n'
    )
    assert good(records(path)) == {
        1: {ID: 7, "amount": "1.10", "big": "12345678901234567890", "ok": "true"}
    }
    assert good(records(path, empty="clear"))[1] == {
        ID: 7,
        "amount": "1.10",
        "big": "12345678901234567890",
        "ok": "true",
        "gone": "",
        "blank": "",
    }


def test_an_api_shaped_line_has_its_properties_converted(tmp_path: Path) -> None:
    path = tmp_path / "api.jsonl"
    path.write_text('{"id": "a", "properties": {"n": 1.50, "z": null}}\n')
    assert good(records(path)) == {1: {"id": "a", "properties": {"n": "1.50"}}}


def test_a_lone_surrogate_escape_fails_its_line_naming_the_field(tmp_path: Path) -> None:
    """JSON allows "\\ud800" alone; UTF-8 cannot carry it, so HubSpot and the state cannot."""
    path = tmp_path / "s.jsonl"
    path.write_text(
        '{"external_id": "a", "v": "ok \\ud83d\\ude00"}\n'  # a pair: one character, fine
        '{"external_id": "b\\ud800", "v": "x"}\n'
        '{"external_id": "c", "v": "bad \\udc00", "n": 1}\n'
        '{"external_id": "d", "v\\udfff": "x"}\n'
        '{"id": "e", "properties": {"v": ["\\ud800"]}}\n'
    )
    lines = records(path)
    assert good(lines) == {1: {ID: "a", "v": "ok \U0001f600"}}
    errors = bad(lines)
    assert errors[2] == (
        f"the value of {ID!r} holds a lone surrogate ('\\ud800' at character 2), which is not text"
    )
    assert errors[3].startswith("the value of 'v' holds a lone surrogate ('\\udc00' at character 5")
    assert errors[4].startswith("the field name 'v\\udfff' holds a lone surrogate")
    assert errors[5].startswith("the value of 'v' holds a lone surrogate")
    assert {line.line: line.id for line in lines if line.error} == {2: None, 3: "c", 4: "d", 5: "e"}


def test_csv_on_stdin_needs_format_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("external_id,x\na,1\n"))
    with pytest.raises(InputError, match="--format csv"):
        records("-")
    monkeypatch.setattr("sys.stdin", io.StringIO("external_id,x\na,1\n"))
    assert good(records("-", format="csv")) == {2: {ID: "a", "x": "1"}}


# -- CSV and TSV ---------------------------------------------------------------------------------


def test_a_latin1_csv_is_read_with_its_encoding(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("external_id,body\na,caf\u00e9\nb,na\u00efve\n".encode("latin-1"))
    assert good(records(path, encoding="latin-1")) == {
        2: {ID: "a", "body": "caf\u00e9"},
        3: {ID: "b", "body": "na\u00efve"},
    }


def test_a_csv_in_the_wrong_encoding_fails_the_bad_lines_only(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"external_id,body\na,plain\nb,caf\xe9\nc,plain\n")
    lines = records(path)
    assert good(lines) == {2: {ID: "a", "body": "plain"}, 4: {ID: "c", "body": "plain"}}
    assert bad(lines)[3].startswith("line 3 is not valid utf-8: byte 0xe9 at column 6")
    assert "--encoding" in bad(lines)[3]
    assert lines[1].id == "b"


def test_a_utf16_csv_with_its_encoding(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_bytes("external_id,body\r\na,\u00e9t\u00e9\r\n".encode("utf-16"))
    assert good(records(path, encoding="utf-16")) == {2: {ID: "a", "body": "\u00e9t\u00e9"}}


def test_an_unterminated_quote_fails_its_row_and_the_rows_after_it_are_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "quote.csv"
    path.write_text('external_id,body\na,fine\nb,"never closed\nc,one\nd,two\n')
    lines = records(path)
    assert "quote opened on line 3 is never closed" in bad(lines)[3]
    assert "the lines after it are read again" in bad(lines)[3]
    assert next(line.id for line in lines if line.line == 3) == "b"
    assert good(lines) == {
        2: {ID: "a", "body": "fine"},
        4: {ID: "c", "body": "one"},
        5: {ID: "d", "body": "two"},
    }


def test_an_unterminated_quote_on_the_last_line_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    path.write_text('external_id,body\na,"open')
    assert list(bad(records(path))) == [2]


def test_a_quoted_field_may_span_lines_and_the_record_keeps_its_first_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "multi.csv"
    path.write_text('external_id,body\na,"one\ntwo ""quoted""\nthree"\nb,x\n')
    assert good(records(path)) == {
        2: {ID: "a", "body": 'one\ntwo "quoted"\nthree'},
        5: {ID: "b", "body": "x"},
    }


def test_a_header_without_the_id_column_is_refused_listing_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "noid.csv"
    path.write_text("ext_id,body\na,x\n")
    with pytest.raises(InputError, match=r"'external_id'.*columns: ext_id, body"):
        records(path)
    assert good(records(path, mapping={"ext_id": ID})) == {2: {ID: "a", "body": "x"}}


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("external_id,body,body", r"column 'body' appears twice .*\(columns 2 and 3\)"),
        ("external_id,,body", r"column 2 of the CSV header has no name"),
    ],
)
def test_a_broken_header_names_the_column_and_where(
    tmp_path: Path, header: str, message: str
) -> None:
    path = tmp_path / "h.csv"
    path.write_text(header + "\na,b,c\n")
    with pytest.raises(InputError, match=message):
        records(path)


def test_empty_cells_are_not_sent_unless_clear_is_asked(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("external_id,hubspot_owner_id,body\na,,hello\n,7001,x\n")
    assert good(records(path)) == {
        2: {ID: "a", "body": "hello"},
        3: {ID: "", "hubspot_owner_id": "7001", "body": "x"},
    }
    assert good(records(path, empty="clear"))[2] == {
        ID: "a",
        "hubspot_owner_id": "",
        "body": "hello",
    }


def test_tsv_and_gzip_inputs_are_read_by_their_names(tmp_path: Path) -> None:
    tsv = tmp_path / "a.tsv"
    tsv.write_text("external_id\tbody\na\tx, y\n")
    packed_csv = tmp_path / "a.csv.gz"
    packed_csv.write_bytes(gzip.compress(b"external_id,body\na,x\n"))
    packed_tsv = tmp_path / "a.tsv.gz"
    packed_tsv.write_bytes(gzip.compress(b"external_id\tbody\na\tx\n"))
    packed_jsonl = tmp_path / "a.jsonl.gz"
    packed_jsonl.write_bytes(gzip.compress(b'{"external_id": "a", "body": "x"}\n'))
    assert good(records(tsv)) == {2: {ID: "a", "body": "x, y"}}
    assert good(records(packed_csv)) == {2: {ID: "a", "body": "x"}}
    assert good(records(packed_tsv)) == {2: {ID: "a", "body": "x"}}
    assert good(records(packed_jsonl)) == {1: {ID: "a", "body": "x"}}


def test_format_overrides_the_name(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_text("external_id;body\n")
    with pytest.raises(InputError, match="--format"):
        records(path)
    path.write_text("external_id\tbody\na\tx\n")
    assert good(records(path, format="tsv")) == {2: {ID: "a", "body": "x"}}


# -- --map and --columns -------------------------------------------------------------------------


def test_map_renames_columns_and_columns_selects_them_keeping_the_id(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text("ref,letter,owner,note\nR1,Dear Ann,7001,internal\n")
    lines = records(path, mapping={"ref": ID, "letter": "hs_postal_mail_body"})
    assert good(lines) == {
        2: {ID: "R1", "hs_postal_mail_body": "Dear Ann", "owner": "7001", "note": "internal"}
    }
    chosen = records(path, mapping={"ref": ID, "letter": "hs_postal_mail_body"}, columns="letter")
    assert good(chosen) == {2: {ID: "R1", "hs_postal_mail_body": "Dear Ann"}}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mapping": {"missing": "x"}}, r"--map missing=\.\.\.: no column 'missing'"),
        ({"columns": "body,nope"}, r"--columns nope: no such column"),
        ({"mapping": {"body": ID}}, r"columns 'external_id' and 'body' both give property"),
    ],
)
def test_mapping_errors_name_the_column(
    tmp_path: Path, options: dict[str, object], message: str
) -> None:
    path = tmp_path / "m.csv"
    path.write_text("external_id,body\na,x\n")
    with pytest.raises(InputError, match=message):
        records(path, **options)


def test_json_lines_are_mapped_record_by_record(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text('{"ref": "a", "letter": "x", "n": 1}\n{"ref": "b", "external_id": "c"}\n')
    lines = records(path, mapping={"ref": ID, "letter": "body"}, columns=["body"])
    assert good(lines) == {1: {ID: "a", "body": "x"}}
    assert "both give property 'external_id'" in bad(lines)[2]
