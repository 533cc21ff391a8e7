"""Regenerate the demo input: realistic postal-mail records, with a handful of bad ones.

Deterministic (seeded), so the committed files only change when this script does (and, for
the Parquet file, when pyarrow's version does: it is named in the file's footer).
Usage: python examples/make_examples.py [COUNT]
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIELDS = [
    "external_id",
    "hs_timestamp",
    "hs_postal_mail_body",
    "hubspot_owner_id",
    "hs_attachment_ids",
]
KINDS = [
    "Invoice",
    "Contract",
    "Renewal notice",
    "Welcome pack",
    "Returned mail",
    "Payment reminder",
    "Catalogue",
    "Signed agreement",
    "Change of address",
    "Complaint",
]
CITIES = ["Leeds", "Lyon", "Porto", "Graz", "Utrecht", "Cork", "Bergen", "Turku", "Brno", "Bari"]
START = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)


def record(rng: random.Random, n: int) -> dict[str, str]:
    sent = START + dt.timedelta(minutes=17 * n + rng.randrange(0, 600))
    kind = rng.choice(KINDS)
    attachments = ";".join(str(rng.randrange(10**9, 10**10)) for _ in range(rng.randrange(0, 3)))
    return {
        "external_id": f"PM-{2026_000000 + n}",
        "hs_timestamp": sent.isoformat().replace("+00:00", "Z"),
        "hs_postal_mail_body": f"{kind} posted to the {rng.choice(CITIES)} office, ref {n:06d}",
        "hubspot_owner_id": str(rng.choice([7001, 7002, 7003, 7004])),
        "hs_attachment_ids": attachments,
    }


def build(count: int) -> tuple[list[dict[str, str]], dict[int, str]]:
    """The records, in order, and the bad ones to write by position (what each shows)."""
    rng = random.Random(20261130)  # noqa: S311 (sample data, not secrets)
    records = [record(rng, n) for n in range(count)]
    # A few ids repeat later in the file: the last occurrence is the value that must win.
    for n in range(5):
        again = dict(records[n * 97])
        again["hs_postal_mail_body"] += " (corrected)"
        records.insert(count // 2 + n * 11, again)
    bad = {
        41: "missing id",
        310: "empty id",
        777: "unknown property",
        1500: "non-scalar value",
        2222: "invalid JSON",
    }
    return records, bad


def write_csv(path: Path, records: list[dict[str, str]], bad: dict[int, str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(FIELDS)
        for i, rec in enumerate(records):
            row = [rec[f] for f in FIELDS]
            problem = bad.get(i)
            if problem in ("missing id", "empty id"):
                row[0] = ""
            elif problem in ("non-scalar value", "invalid JSON"):
                row.append("stray extra field")  # more fields than the header names
            writer.writerow(row)


def write_jsonl(path: Path, records: list[dict[str, str]], bad: dict[int, str]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i, rec in enumerate(records):
            line: dict[str, object] = dict(rec)
            problem = bad.get(i)
            if problem == "missing id":
                del line["external_id"]
            elif problem == "empty id":
                line["external_id"] = ""
            elif problem == "unknown property":
                line["mail_tracking_code"] = "RR123456789GB"
            elif problem == "non-scalar value":
                line["hs_attachment_ids"] = ["101", "102"]
            elif problem == "invalid JSON":
                out.write(json.dumps(line)[:-9] + "\n")
                continue
            out.write(json.dumps(line) + "\n")


PARQUET_ROWS = 500  # small: it shows the types, the CSV and JSONL show the volume


def write_parquet(path: Path, records: list[dict[str, str]]) -> None:
    """The first records, typed as a warehouse holds them: a UTC timestamp, an integer owner,
    nulls where there are no attachments. Needs pyarrow (the ``[parquet]`` extra)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = records[:PARQUET_ROWS]
    sent = [dt.datetime.fromisoformat(r["hs_timestamp"]) for r in rows]
    table = pa.table(
        {
            "external_id": [r["external_id"] for r in rows],
            "hs_timestamp": pa.array(sent, pa.timestamp("ms", tz="UTC")),
            "hs_postal_mail_body": [r["hs_postal_mail_body"] for r in rows],
            "hubspot_owner_id": pa.array([int(r["hubspot_owner_id"]) for r in rows], pa.int64()),
            "hs_attachment_ids": [r["hs_attachment_ids"] or None for r in rows],
        }
    )
    pq.write_table(table, path, compression="zstd")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    records, bad = build(count)
    write_csv(HERE / "postal_mail.csv", records, bad)
    write_jsonl(HERE / "postal_mail.jsonl", records, bad)
    write_parquet(HERE / "postal_mail.parquet", records)
    print(
        f"wrote {len(records)} records to examples/postal_mail.csv and .jsonl ({len(bad)} bad), "
        f"the first {PARQUET_ROWS} to examples/postal_mail.parquet"
    )


if __name__ == "__main__":
    main()
