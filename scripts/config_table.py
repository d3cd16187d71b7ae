"""The configuration table of docs/configuration.md, printed from the config model and the
committed stacks.

Each row comes from one field of ``StackConfig``: its type, its bounds and their reason (the
field's rules), the cross-key notes in its ``description``, its default, and the value the
committed ``Pulumi.dev.yaml`` and ``Pulumi.prod.yaml`` give it. ``--check`` fails when the
document's table differs; ``--write`` puts the table in it.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
import types
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from rules.config import NAMESPACE, StackConfig, config_key, leaf_fields
from rules.config_rules import Format, IntRange, QuantityRange

ROOT = Path(__file__).resolve().parent.parent

STACKS = ("dev", "prod")
HEADER = "| Key | Type and bounds | Default | dev | prod |\n|---|---|---|---|---|"
ABSENT = "—"
DOCUMENT = "docs/configuration.md"
SECTION = "# Configuration"


def _code(value: Any) -> str:
    """A value as YAML would write it, in backticks (``|`` escaped for the table)."""
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, list | tuple | dict):
        text = json.dumps(list(value) if isinstance(value, tuple) else value)
    else:
        text = str(value)
    return f"`{text}`".replace("|", "\\|")


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        rest = [arg for arg in get_args(annotation) if arg is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation


def _kind(annotation: Any, field: FieldInfo) -> str:
    """The type in words: bool, int, quantity, a literal's choices, a format, a list of maps."""
    annotation = _without_none(annotation)
    formats = [rule.describe() for rule in field.metadata if isinstance(rule, Format)]
    if get_origin(annotation) is Literal:
        return " \\| ".join(_code(choice) for choice in get_args(annotation))
    if get_origin(annotation) is tuple:
        item = get_args(annotation)[0]
        if isinstance(item, type) and issubclass(item, BaseModel):
            keys = ", ".join(config_key(item, name) for name in item.model_fields)
            words = {rule.describe() for _, f in leaf_fields(item) for rule in f.metadata}
            return f"list of `{{{keys}}}` ({', '.join(sorted(words))})"
        return f"list of {_kind(item, FieldInfo())}"
    if get_origin(annotation) is dict:
        return f"map of {formats[0]}" if formats else "map"
    if any(isinstance(rule, QuantityRange) for rule in field.metadata):
        return "quantity"
    if formats:
        return formats[0]
    return {bool: "bool", int: "int", str: "text"}.get(annotation, str(annotation))


def type_and_bounds(field: FieldInfo) -> str:
    """Kind, bounds, and in parentheses why the bounds are there and the cross-key rules."""
    text = _kind(field.annotation, field)
    notes = []
    for rule in field.metadata:
        if isinstance(rule, IntRange | QuantityRange):
            text += f", {rule.describe()}"
            if rule.why:
                notes.append(rule.why)
    if field.description:
        notes.append(field.description)
    return text + (f" ({'; '.join(notes)})" if notes else "")


def default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.get_default(call_default_factory=True)
    return "unset" if value is None else _code(value)


def stack_values(stack: str, root: Path = ROOT) -> dict[str, Any]:
    """A committed stack file's ``openalgo`` keys, dotted like the table's keys."""
    document = yaml.safe_load((root / f"Pulumi.{stack}.yaml").read_text())
    flat: dict[str, Any] = {}
    for full_key, value in document["config"].items():
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE:
            continue
        flat.update(_dotted(key, value))
    return flat


def _dotted(key: str, value: Any) -> Iterator[tuple[str, Any]]:
    known = dict(leaf_fields())
    if key not in known and isinstance(value, Mapping):
        for inner, item in value.items():
            yield from _dotted(f"{key}.{inner}", item)
    else:
        yield key, value


def _stack_cell(values: Mapping[str, Any], key: str) -> str:
    if key not in values:
        return ABSENT
    value = values[key]
    if isinstance(value, str) and value in ("true", "false"):
        value = value == "true"
    return _code(value)


def render_table(root: Path = ROOT) -> str:
    stacks = [stack_values(stack, root) for stack in STACKS]
    rows = [
        f"| `{key}` | {type_and_bounds(field)} | {default(field)} | "
        + " | ".join(_stack_cell(values, key) for values in stacks)
        + " |"
        for key, field in leaf_fields(StackConfig)
    ]
    return "\n".join([HEADER, *rows]) + "\n"


def _table_span(document: str) -> tuple[int, int]:
    """Start and end offsets of the first table in the document's configuration section."""
    heading = re.search(rf"^{re.escape(SECTION)}$", document, re.MULTILINE)
    if heading is None:
        raise ValueError(f"no {SECTION!r} heading in {DOCUMENT}")
    start = heading.start()
    lines = document[start:].splitlines(keepends=True)
    offset = start
    table_start = None
    for line in lines:
        if line.startswith("|") and table_start is None:
            table_start = offset
        elif not line.startswith("|") and table_start is not None:
            return table_start, offset
        offset += len(line)
    if table_start is None:
        raise ValueError(f"no table under {SECTION!r} in {DOCUMENT}")
    return table_start, offset


def document_table(document: str) -> str:
    start, end = _table_span(document)
    return document[start:end]


def with_table(document: str, table: str) -> str:
    start, end = _table_span(document)
    return document[:start] + table + document[end:]


def table_diff(document: str, table: str) -> list[str]:
    """The document's table against the generated one, as a unified diff (empty when equal)."""
    return list(
        difflib.unified_diff(
            document_table(document).splitlines(keepends=True),
            table.splitlines(keepends=True),
            f"{DOCUMENT} (configuration table)",
            "scripts/config-table",
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--check", action="store_true", help=f"fail if the table in {DOCUMENT} differs"
    )
    mode.add_argument("--write", action="store_true", help=f"replace the table in {DOCUMENT}")
    args = parser.parse_args(argv)
    table = render_table()
    document_path = ROOT / DOCUMENT
    if args.check:
        diff = table_diff(document_path.read_text(), table)
        sys.stdout.writelines(diff)
        if diff:
            print(
                f"the configuration table in {DOCUMENT} is stale: run scripts/config-table --write",
                file=sys.stderr,
            )
        return 1 if diff else 0
    if args.write:
        document_path.write_text(with_table(document_path.read_text(), table))
        return 0
    sys.stdout.write(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
