"""PNG plots of the results, drawn with matplotlib's Agg backend (no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from benchmarks.report import MAX_CPU_RATIO, MAX_PEAK_MB, MIN_PACING, MIN_SHARED_SHARE, Results

_DPI = 110


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=_DPI, metadata={"Software": None})
    plt.close(fig)


def client_cost(data: Results, path: Path) -> None:
    rows = list(reversed(data["client_cost"]["rows"]))
    names = [r["name"] for r in rows]
    medians = [r["cpu_ms"] for r in rows]
    errors = [
        [r["cpu_ms"] - r["cpu_low"] for r in rows],
        [r["cpu_high"] - r["cpu_ms"] for r in rows],
    ]
    floor = next(r["cpu_ms"] for r in rows if r["key"] == "raw")
    fig, ax = plt.subplots(figsize=(8, 3.6))
    colors = ["#c44e52" if r["key"] == "official" else "#4c72b0" for r in rows]
    ax.barh(names, medians, xerr=errors, color=colors, capsize=3)
    ax.axvline(floor * MAX_CPU_RATIO, color="grey", linestyle="--", linewidth=1)
    ax.text(floor * MAX_CPU_RATIO, len(rows) - 0.4, f" goal: {MAX_CPU_RATIO}x floor", fontsize=8)
    for y, r in enumerate(rows):
        ax.text(r["cpu_high"], y, f"  {r['cpu_ms']:.1f} ms ({r['ratio']:.1f}x)", va="center")
    ax.set_xlabel("process CPU ms per 100-record batch (median, range over runs)")
    ax.set_xlim(0, max(r["cpu_high"] for r in rows) * 1.35)
    ax.set_title("Client cost per batch upsert, one local server", pad=16)
    _save(fig, path)


def pacing(data: Results, path: Path) -> None:
    rows = data["pacing"]["rows"]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    width = 0.38
    xs = range(len(rows))
    ax.bar([x - width / 2 for x in xs], [r["of_ceiling"] for r in rows], width, label="of ceiling")
    ax.bar([x + width / 2 for x in xs], [r["efficiency"] for r in rows], width, label="efficiency")
    ax.axhline(MIN_PACING, color="grey", linestyle="--", linewidth=1, label=f"goal {MIN_PACING}")
    for x, r in zip(xs, rows, strict=True):
        ax.text(x, 0.05, f"429s: {r['rate_limited']}\nlost: {r['lost']}", ha="center", fontsize=8)
    ax.set_xticks(list(xs), [r["name"] for r in rows])
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("fraction of the budget")
    first = rows[0]
    ax.set_title(
        f"Pacing against the fake, {first['rate']} requests / {first['window_s']:g} s budget"
    )
    ax.legend(loc="upper right", fontsize=8)
    _save(fig, path)


def memory(data: Results, path: Path) -> None:
    rows = sorted(data["memory"]["rows"], key=lambda r: r["records"])
    sizes = [r["records"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.plot(sizes, [r["peak_mb"] for r in rows], marker="o", label="peak RSS")
    ax.plot(sizes, [r["baseline_mb"] for r in rows], marker=".", label="after imports")
    ax.plot(sizes, [r["file_mb"] for r in rows], linestyle=":", label="input file size")
    ax.axhline(MAX_PEAK_MB, color="grey", linestyle="--", linewidth=1, label="goal")
    ax.set_xscale("log")
    ax.set_xlabel("records streamed from JSONL")
    ax.set_ylabel("MB")
    ax.set_ylim(0, max(MAX_PEAK_MB * 1.2, max(r["peak_mb"] for r in rows) * 1.2))
    ax.set_title("Peak RSS of upsert_all, fresh process per size")
    ax.legend(fontsize=8)
    _save(fig, path)


def workflow(data: Results, path: Path) -> None:
    rows = list(reversed(data["workflow"]["rows"]))
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.barh([r["name"] for r in rows], [r["wall_s"] for r in rows], color="#55a868")
    for y, r in enumerate(rows):
        ax.text(r["wall_s"], y, f"  {r['wall_s']:.1f} s", va="center")
    ax.set_xlim(0, max(r["wall_s"] for r in rows) * 1.25)
    ax.set_xlabel("wall seconds")
    ax.set_title("Cost of our own workflow")
    _save(fig, path)


def shared_budget(data: Results, path: Path) -> None:
    section = data["shared_budget"]
    rows = section["rows"]
    fig, ax = plt.subplots(figsize=(7, 3.4))
    width = 0.38
    xs = range(len(rows))
    share = [r["share_of_budget"] for r in rows]
    errors = [r["rate_limited_pct"] / 100 for r in rows]
    ax.bar([x - width / 2 for x in xs], share, width, label="share of budget")
    ax.bar([x + width / 2 for x in xs], errors, width, label="429s / requests")
    ax.axhline(MIN_SHARED_SHARE, color="grey", linestyle="--", linewidth=1)
    for x, r in zip(xs, rows, strict=True):
        ax.text(x, 1.02, f"lost: {r['lost']}", ha="center", fontsize=8)
    ax.set_xticks(list(xs), [r["mode"] for r in rows])
    ax.set_ylim(0, 1.15)
    ax.set_title(
        f"{section['processes']} jobs, {section['limit']} requests / {section['window_s']:g} s"
    )
    ax.legend(loc="center right", fontsize=8)
    _save(fig, path)


PLOTS = {
    "client_cost": client_cost,
    "pacing": pacing,
    "memory": memory,
    "workflow": workflow,
    "shared_budget": shared_budget,
}
