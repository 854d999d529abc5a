"""Writes runs/<run-id>/report.json, points runs/latest at it, and prints the summary."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table


def write_report(run_dir: Path, report: dict[str, Any]) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    report["paths"] = {"json": str(run_dir / "report.json"), "html": str(run_dir / "report.html")}
    path = run_dir / "report.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
    latest = run_dir.parent / "latest"
    link_tmp = run_dir.parent / ".latest.tmp"
    if link_tmp.is_symlink() or link_tmp.exists():
        link_tmp.unlink()
    os.symlink(run_dir.name, link_tmp)
    link_tmp.replace(latest)
    return path


def print_summary(report: dict[str, Any], console: Console) -> None:
    table = Table(title=f"ndxsim run {report['run_id']}", show_lines=False)
    for col in (
        "phase",
        "sent",
        "answered",
        "timed out",
        "dead-lettered",
        "lost",
        "incorrect",
        "tx/s",
        "p50 ms",
        "p99 ms",
    ):
        table.add_column(col, justify="right" if col != "phase" else "left")
    warmup = [report["warmup"]] if "warmup" in report else []
    rows = [*warmup, *report["phases"], {**report["totals"], "name": "total"}]
    for p in rows:
        lat = p["latency_ms"]
        table.add_row(
            p["name"],
            str(p["sent"]),
            str(p["answered"]),
            str(p["timed_out"]),
            str(p["dead_lettered"]),
            str(p["lost"]),
            str(p["incorrect"]),
            f"{p['throughput_tps']:.1f}",
            f"{lat['p50']:.1f}",
            f"{lat['p99']:.1f}",
        )
    console.print(table)
    growth = report.get("growth")
    if growth is not None:
        console.print(
            f"growth {growth['baseline']} → {growth['period']}: target {growth['target']:+.1%}, "
            f"measured {growth['measured']:+.2%} from the registry's counters "
            f"(driver's own count {growth['driver']:+.2%})"
        )
    for p in report["phases"]:
        share = p.get("online_share")
        if share and share["measured"] is not None:
            console.print(
                f"online dossiers {p['name']}: target {share['target']:.0%}, "
                f"measured {share['measured']:.1%} (from the monitor's counters)"
            )
    slo = report["slo"]
    for warning in report.get("warnings", []):
        console.print(f"[yellow]warning:[/] {warning}")
    verdict = (
        "[green]SLOs hold[/]"
        if slo["passed"]
        else f"[red]SLO failed: {', '.join(slo['failed'])}[/]"
    )
    console.print(verdict)
    console.print(f"report: {report['paths']['json']}")
