"""``postal-mail upsert`` with the inputs data engineers have: --format, --encoding, --map,
--columns, --empty, --assume-timezone, Parquet; and the input problems that must stop a run at
once (exit 2) or fail only their line."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from hubspot_postal_mail.fake._server import RunningFake

from .conftest import by_line, invoke, read_report, upsert_args

ID = "external_id"


def dry_run(source: Path | str, *extra: str, stdin: str | None = None) -> dict[str, object]:
    result = invoke(
        ["upsert", str(source), "--id-property", ID, "--dry-run", "--json", *extra], stdin=stdin
    )
    assert result.exit_code in (0, 1), result.all_output
    summary: dict[str, object] = json.loads(result.stdout)
    summary["exit_code"] = result.exit_code
    return summary


def test_an_empty_cell_does_not_clear_what_hubspot_holds(
    hubspot_fake: RunningFake, tmp_path: Path
) -> None:
    first = tmp_path / "first.csv"
    first.write_text("external_id,hubspot_owner_id,hs_postal_mail_body\nA,7001,v1\n")
    assert invoke(upsert_args(first, hubspot_fake)).exit_code == 0
    second = tmp_path / "second.csv"
    second.write_text("external_id,hubspot_owner_id,hs_postal_mail_body\nA,,v2\n")
    assert invoke(upsert_args(second, hubspot_fake)).exit_code == 0
    stored = hubspot_fake.app.find(ID, "A")
    assert stored is not None
    assert stored.properties["hubspot_owner_id"] == "7001"
    assert stored.properties["hs_postal_mail_body"] == "v2"

    assert invoke(upsert_args(second, hubspot_fake, "--empty", "clear")).exit_code == 0
    stored = hubspot_fake.app.find(ID, "A")
    assert stored is not None
    assert stored.properties.get("hubspot_owner_id") in ("", None)


def test_a_parquet_file_with_mapped_columns_is_upserted(
    hubspot_fake: RunningFake, tmp_path: Path
) -> None:
    path = tmp_path / "mail.parquet"
    table = pa.table({"ref": ["P-1", "P-2"], "letter": ["Dear Ann", "Dear Bob"], "x": ["1", "2"]})
    pq.write_table(table, path)
    report = tmp_path / "report.jsonl"
    args = ["--map", "ref=external_id", "--map", "letter=hs_postal_mail_body"]
    result = invoke(
        upsert_args(path, hubspot_fake, *args, "--columns", "letter", "--report", str(report))
    )
    assert result.exit_code == 0, result.all_output
    stored = hubspot_fake.app.find(ID, "P-2")
    assert stored is not None
    assert stored.properties["hs_postal_mail_body"] == "Dear Bob"
    assert "x" not in stored.properties
    assert {e["outcome"] for e in read_report(report)} == {"created"}


def test_a_header_without_the_id_column_exits_2_at_once_listing_the_columns(
    tmp_path: Path,
) -> None:
    path = tmp_path / "noid.csv"
    path.write_text("ref,hs_postal_mail_body\nA,x\n")
    result = invoke(["upsert", str(path), "--id-property", ID, "--dry-run"])
    assert result.exit_code == 2
    assert "columns: ref, hs_postal_mail_body" in result.stderr
    assert "Traceback" not in result.all_output


def test_an_unterminated_quote_is_counted_invalid_not_a_silent_success(tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    path.write_text('external_id,body\nA,ok\nB,"open\nC,ok\n')
    report = tmp_path / "plan.jsonl"
    summary = dry_run(path, "--report", str(report))
    assert summary["exit_code"] == 1
    assert summary["failed"] == 1
    assert summary["would_send"] == 2
    entries = by_line(read_report(report))
    assert entries[3]["outcome"] == "failed"
    assert "never closed" in entries[3]["error"]["message"]


def test_csv_on_stdin_with_format(tmp_path: Path) -> None:
    summary = dry_run("-", "--format", "csv", stdin="external_id,body\nA,x\nB,y\n")
    assert (summary["total"], summary["failed"]) == (2, 0)
    result = invoke(["upsert", "-", "--id-property", ID, "--dry-run"], stdin="external_id\nA\n")
    assert result.exit_code == 2
    assert "--format csv" in result.stderr


def test_encoding_assume_timezone_and_bad_options(tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("external_id,body\nA,caf\u00e9\n".encode("latin-1"))
    assert dry_run(latin)["failed"] == 1
    assert dry_run(latin, "--encoding", "latin-1")["failed"] == 0
    naive = tmp_path / "naive.parquet"
    pq.write_table(pa.table({ID: ["A"], "hs_timestamp": pa.array([0], pa.timestamp("s"))}), naive)
    assert dry_run(naive)["failed"] == 1
    assert dry_run(naive, "--assume-timezone", "Europe/Dublin")["failed"] == 0
    for bad in (
        ["--encoding", "klingon"],
        ["--assume-timezone", "Mars/Olympus"],
        ["--map", "nothing"],
        ["--map", "missing=x"],
    ):
        result = invoke(["upsert", str(latin), "--id-property", ID, "--dry-run", *bad])
        assert result.exit_code == 2, (bad, result.all_output)
        assert "Traceback" not in result.all_output


def test_a_line_nested_too_deep_fails_alone_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "deep.jsonl"
    deep = "[" * 100_000 + "]" * 100_000
    path.write_text(f'{{"external_id": "A"}}\n{{"external_id": "B", "x": {deep}}}\n')
    report = tmp_path / "plan.jsonl"
    summary = dry_run(path, "--report", str(report))
    assert (summary["exit_code"], summary["failed"], summary["would_send"]) == (1, 1, 1)
    assert "nested too deeply" in by_line(read_report(report))[2]["error"]["message"]
