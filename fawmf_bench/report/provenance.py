"""Where a table's or a figure's numbers came from: a short summary of the ``provenance`` blocks
of the stored records behind it (run dates, machines, package versions, git revisions).

Every record written by the runner or a figure experiment carries ``provenance``:
``{"git_revision", "machine": {"node", "cpus", "platform"}, "python", "versions": {...},
"written": ISO time}``. The summary is deterministic (sorted, no time of the report itself).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Iterable


def provenance_lines(records: Iterable[dict[str, Any]]) -> list[str]:
    """Lines for people: run dates, machine(s), Python and package versions, git revisions
    (each with the number of records it produced); empty when no record has provenance."""
    blocks = [r["provenance"] for r in records if isinstance(r.get("provenance"), dict)]
    if not blocks:
        return []
    dates = sorted({str(b.get("written", ""))[:10] for b in blocks if b.get("written")})
    machines = Counter(_machine(b.get("machine") or {}) for b in blocks)
    versions: dict[str, set[str]] = {}
    for block in blocks:
        if block.get("python"):
            versions.setdefault("python", set()).add(str(block["python"]))
        for name, version in (block.get("versions") or {}).items():
            versions.setdefault(name, set()).add(str(version))
    revisions = Counter(str(b.get("git_revision") or "unknown")[:10] for b in blocks)
    n = len(blocks)
    lines = [f"{n} stored record{'s' if n != 1 else ''}."]
    if dates:
        lines.append("Run date: " + (dates[0] if len(dates) == 1 else f"{dates[0]} to {dates[-1]}") + " (UTC).")
    lines.append("Machine: " + "; ".join(_counted(machines, n)) + ".")
    if versions:
        lines.append("Versions: " + ", ".join(f"{k} {'/'.join(sorted(v))}" for k, v in sorted(versions.items())) + ".")
    lines.append("Git revision: " + "; ".join(_counted(revisions, n)) + ".")
    return lines


def _machine(machine: dict[str, Any]) -> str:
    if not machine:
        return "unknown"
    return f"{machine.get('node', '?')} ({machine.get('cpus', '?')} CPUs, {machine.get('platform', '?')})"


def _counted(counter: Counter, total: int) -> list[str]:
    if len(counter) == 1:
        return [next(iter(counter))]
    return [f"{key} ({count} of {total})" for key, count in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))]


def records_under(folder: Path) -> list[dict[str, Any]]:
    """Every JSON record with a ``provenance`` block below ``folder`` (sorted by path)."""
    found = []
    for path in sorted(Path(folder).rglob("*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and isinstance(record.get("provenance"), dict):
            found.append(record)
    return found
