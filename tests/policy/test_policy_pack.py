"""The rules wired into Pulumi's policy SDK: every policy blocks, and each stays silent unless
the stack is production by name, by policy config or by the program's own declaration."""

from __future__ import annotations

import json
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from repo import REPO_ROOT

from policy.catalogue import POLICY_NAMES
from policy.pack import policies

ROOT = REPO_ROOT
NAMESPACE = "kubernetes:core/v1:Namespace"
SCHEMA = "pulumi-python:dynamic/openalgo:SchemaMigrations"
NAMESPACE_PROPS = {"metadata": {"name": "trading"}}


def urn(stack: str, typ: str, name: str) -> str:
    return f"urn:pulumi:{stack}::openalgo-cockroachdb::{typ}::{name}"


def options(protect: bool) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def policy(name: str) -> Policy:
    (found,) = [p for p in policies() if p.name == name]
    return found


def resource_reports(
    name: str, stack: str, typ: str, props: dict[str, Any], config: dict[str, Any] | None = None
) -> list[str]:
    checked = policy(name)
    assert isinstance(checked, ResourceValidationPolicy)
    reports: list[str] = []

    def report(message: str, _urn: str | None = None) -> None:
        reports.append(message)

    args = ResourceValidationArgs(
        typ, props, urn(stack, typ, "r"), "r", options(False), None, config or {}
    )
    checked.validate(args, report)
    return reports


def stack_reports(
    name: str, resources: list[PolicyResource], config: dict[str, Any] | None = None
) -> list[tuple[str, str | None]]:
    checked = policy(name)
    assert isinstance(checked, StackValidationPolicy)
    reports: list[tuple[str, str | None]] = []

    def report(message: str, at: str | None = None) -> None:
        reports.append((message, at))

    checked.validate(StackValidationArgs(resources, config or {}), report)
    return reports


def stack_resource(stack: str, typ: str, name: str, props: dict[str, Any]) -> PolicyResource:
    address = urn(stack, typ, name)
    return PolicyResource(typ, props, address, name, options(False), None, None, [], {})


def test_the_pack_has_one_policy_per_rule() -> None:
    assert [p.name for p in policies()] == list(POLICY_NAMES)


def test_every_policy_is_mandatory() -> None:
    assert {p.enforcement_level for p in policies()} == {EnforcementLevel.MANDATORY}


def test_a_resource_policy_reports_on_a_stack_named_prod() -> None:
    reports = resource_reports("protected-resources", "prod", NAMESPACE, NAMESPACE_PROPS)
    assert reports == [
        "Namespace trading is not protected: production keeps it out of reach of "
        "`pulumi destroy` and replacements (resource option protect; openalgo:protect true)"
    ]


def test_a_resource_policy_is_silent_on_a_dev_stack() -> None:
    assert resource_reports("protected-resources", "dev", NAMESPACE, NAMESPACE_PROPS) == []


def test_policy_config_forces_the_checks_on_any_stack() -> None:
    forced = {"production": True, "productionStacks": []}
    reports = resource_reports("protected-resources", "dev", NAMESPACE, NAMESPACE_PROPS, forced)
    assert len(reports) == 1


def test_policy_config_adds_production_stack_names() -> None:
    config = {"production": False, "productionStacks": ["prod-*"]}
    reports = resource_reports("protected-resources", "prod-eu", NAMESPACE, NAMESPACE_PROPS, config)
    assert len(reports) == 1


def test_the_protection_policy_reads_the_protect_option() -> None:
    checked = policy("protected-resources")
    assert isinstance(checked, ResourceValidationPolicy)
    reports: list[str] = []

    def report(message: str, _urn: str | None = None) -> None:
        reports.append(message)

    args = ResourceValidationArgs(
        NAMESPACE, NAMESPACE_PROPS, urn("prod", NAMESPACE, "ns"), "ns", options(True), None, {}
    )
    checked.validate(args, report)
    assert reports == []


def test_a_stack_policy_applies_when_the_program_declares_production() -> None:
    nodes = stack_resource(
        "staging",
        "kubernetes:apps/v1:StatefulSet",
        "nodes",
        {
            "metadata": {"name": "cockroachdb", "namespace": "trading"},
            "spec": {"template": {"spec": {"containers": [{"image": "cockroachdb/cockroach"}]}}},
        },
    )
    schema = stack_resource("staging", SCHEMA, "schema", {"production": True})
    reports = stack_reports("cockroachdb-disruption-budget", [nodes, schema])
    assert [at for _, at in reports] == [nodes.urn]


def test_the_guard_refuses_declared_production_on_an_unchecked_stack() -> None:
    schema = stack_resource("staging", SCHEMA, "schema", {"production": True})
    assert stack_reports("production-recognised", [schema]) == [
        (
            "stack 'staging' declares production (schema has production: true) but this policy "
            "pack does not check it as production: name the stack 'prod', or add it to "
            "productionStacks in the policy config",
            None,
        )
    ]


def test_the_guard_accepts_a_dev_program_on_a_dev_stack() -> None:
    schema = stack_resource("dev", SCHEMA, "schema", {"production": False})
    assert stack_reports("production-recognised", [schema]) == []


def test_the_force_production_config_file_covers_every_policy() -> None:
    config = json.loads((ROOT / "policy" / "force-production.json").read_text())
    assert config == {name: {"production": True} for name in POLICY_NAMES}
