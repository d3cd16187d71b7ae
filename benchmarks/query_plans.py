"""How PostgreSQL reads each table in a plan (`EXPLAIN (FORMAT JSON)`), in plan order."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

SCAN_NODES = ("Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Index Scan")


def plan_nodes(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield node
    for child in node.get("Plans", ()):
        yield from plan_nodes(child)


def table_accesses(explain_json: Sequence[Mapping[str, Any]]) -> list[str]:
    """One entry per scan: `Index Scan Backward using candles_pkey on candles`, `Seq Scan on
    positions`. A bitmap scan shows as its Bitmap Index Scan (the index it reads)."""
    accesses: list[str] = []
    for node in plan_nodes(explain_json[0]["Plan"]):
        kind = node["Node Type"]
        if kind not in SCAN_NODES:
            continue
        backward = " Backward" if node.get("Scan Direction") == "Backward" else ""
        index = f" using {node['Index Name']}" if "Index Name" in node else ""
        table = f" on {node['Relation Name']}" if "Relation Name" in node else ""
        accesses.append(f"{kind}{backward}{index}{table}")
    return accesses


def uses_index(accesses: list[str]) -> bool:
    return any(" using " in access for access in accesses)
