"""Whether a stack is production, decided from facts the program's own config cannot hide.

The stack name comes from the engine (every URN carries it), so a stack called ``prod`` is checked
whatever its ``openalgo:environment`` says. Policy config can add stack names or force the checks
on. A program that declares itself production on a stack the pack does not treat as production is
refused outright, so neither a renamed stack nor an edited config turns the checks off silently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

URN_PREFIX = "urn:pulumi:"
BUILT_IN_PRODUCTION_STACKS = ("prod",)
FORCE_KEY = "production"
STACKS_KEY = "productionStacks"
SCHEMA_TYPE_PREFIX = "pulumi-python:dynamic"
SCHEMA_TYPE_SUFFIX = ":SchemaMigrations"

CONFIG_PROPERTIES: dict[str, dict[str, Any]] = {
    FORCE_KEY: {
        "type": "boolean",
        "default": False,
        "description": "Check this stack as production whatever its name.",
    },
    STACKS_KEY: {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "More stack names (or glob patterns) to check as production; "
        "'prod' always is.",
    },
}
"""The JSON schema of the config every policy of the pack accepts."""


@dataclass(frozen=True)
class ProductionSettings:
    force: bool = False
    stacks: tuple[str, ...] = BUILT_IN_PRODUCTION_STACKS

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ProductionSettings:
        force = config.get(FORCE_KEY, False)
        if not isinstance(force, bool):
            raise ValueError(f"policy config {FORCE_KEY} = {force!r}: must be true or false")
        extra = config.get(STACKS_KEY) or ()
        if not isinstance(extra, list | tuple) or not all(isinstance(n, str) for n in extra):
            raise ValueError(
                f"policy config {STACKS_KEY} = {extra!r}: must be a list of stack names "
                "or glob patterns"
            )
        return cls(force=force, stacks=BUILT_IN_PRODUCTION_STACKS + tuple(extra))

    def covers(self, stack: str) -> bool:
        """True if ``stack`` is production by name or by force."""
        return self.force or any(fnmatchcase(stack, pattern) for pattern in self.stacks)


def stack_of(urn: str) -> str:
    """The stack name in ``urn:pulumi:<stack>::<project>::<type>::<name>``."""
    if not urn.startswith(URN_PREFIX) or "::" not in urn:
        raise ValueError(f"not a Pulumi resource URN: {urn!r}")
    return urn.removeprefix(URN_PREFIX).split("::", 1)[0]


def is_schema_resource(resource_type: str) -> bool:
    """The dynamic resource that applies the trading schema."""
    return resource_type.startswith(SCHEMA_TYPE_PREFIX) and resource_type.endswith(
        SCHEMA_TYPE_SUFFIX
    )


def declares_production(resource_type: str, props: Mapping[str, Any]) -> bool:
    """True for a resource through which the program says it is production.

    The schema resource carries ``production`` (from ``openalgo:environment``) so its provider
    can refuse drops; the pack reads the same flag.
    """
    return is_schema_resource(resource_type) and props.get("production") is True


def unrecognised_production(
    stack: str, settings: ProductionSettings, declared: Iterable[str]
) -> list[str]:
    """Messages for resources (named by URN in ``declared``) that declare production on a
    stack the pack does not check as production."""
    if settings.covers(stack):
        return []
    return [
        f"stack '{stack}' declares production ({urn.rsplit('::', 1)[-1]} has production: true) "
        "but this policy pack does not check it as production: name the stack 'prod', or add "
        f"it to {STACKS_KEY} in the policy config"
        for urn in declared
    ]
