"""The real_conditions section: one short run per part, and the arithmetic around them."""

from __future__ import annotations

import pytest

from benchmarks import real_conditions_run as rc


def test_a_short_pacing_run_reports_every_record_and_its_share() -> None:
    row = rc.pacing_row(0.05, 300)
    assert (row["lost"], row["failed"], row["rate_limited"]) == (0, 0, 0)
    assert row["counted_requests"] == row["requests"] == 3
    assert 0 < row["share_of_budget"] <= 1.5
    assert row["peak_in_flight"] >= 1


def test_conflicting_ids_are_the_fakes_and_their_records_fail_with_conflict() -> None:
    figures = rc.conflict_run(300, 200)
    assert figures["conflicting_ids"] > 0, "the seed makes some of 200 ids conflict"
    assert figures["conflicting_reported_conflict"] == figures["conflicting_records"]
    assert figures["conflicting_ids_written"] == 0
    assert (figures["good_records_failed"], figures["lost"], figures["stale"]) == (0, 0, 0)
    assert figures["written_pct"] == 100.0


def test_share_of_budget_is_the_least_possible_time_over_the_time_taken() -> None:
    # 190 counted requests at 95 per 5 s: one full window, then one more, then one answer.
    assert rc.share_of_budget(190, 6.0, 1.0) == pytest.approx(1.0)
    assert rc.share_of_budget(190, 12.0, 1.0) == pytest.approx(0.5)
    assert rc.share_of_budget(0, 12.0, 1.0) == 0.0


def test_predictions_divide_each_tiers_least_time_by_the_share_measured() -> None:
    rows = {r["limit"]: r for r in rc.predictions(0.5)}
    # 10,000 requests at 190 per 10 s: 52 full windows, the last one's answers 1 s later.
    assert rows["190/10"]["ideal_s"] == pytest.approx(521.0)
    assert rows["190/10"]["predicted_s"] == pytest.approx(1042.0)
    assert rows["100/10"]["ideal_s"] == pytest.approx(991.0)
