"""The policy pack: the pure rules wired into Pulumi's policy SDK, every policy mandatory.

Resource policies judge each resource as it is registered; stack policies judge the whole stack
once every resource is known. All of them stay silent unless the stack is production (see
``policy.production``), except the guard that refuses a program declaring production on a stack
the pack would not check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyPack,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy import resource_rules
from policy.catalogue import (
    GUARD_POLICY,
    PROTECTION_POLICY,
    RESOURCE_RULES,
    STACK_RULES,
    ResourceRule,
    StackRule,
)
from policy.production import (
    CONFIG_PROPERTIES,
    ProductionSettings,
    declares_production,
    stack_of,
    unrecognised_production,
)
from policy.stack_rules import StackResource

PACK_NAME = "openalgo-cockroachdb-production"

CONFIG_SCHEMA = PolicyConfigSchema(properties=CONFIG_PROPERTIES)
ENFORCEMENT = EnforcementLevel.MANDATORY


def _production_resource(args: ResourceValidationArgs) -> bool:
    return ProductionSettings.from_config(args.get_config()).covers(stack_of(args.urn))


def _stack_resources(resources: Sequence[PolicyResource]) -> list[StackResource]:
    return [
        StackResource(resource.resource_type, resource.props, resource.urn, resource.opts.protect)
        for resource in resources
    ]


def _production_stack(args: StackValidationArgs, resources: Sequence[StackResource]) -> bool:
    """Production by name or config, or because the program says so."""
    if not resources:
        return False
    settings = ProductionSettings.from_config(args.get_config())
    return settings.covers(stack_of(resources[0].urn)) or any(
        declares_production(resource.resource_type, resource.props) for resource in resources
    )


def _mandatory_resource_policy(
    name: str,
    description: str,
    validate: Callable[[ResourceValidationArgs, ReportViolation], None],
) -> ResourceValidationPolicy:
    return ResourceValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=ENFORCEMENT,
        config_schema=CONFIG_SCHEMA,
    )


def _mandatory_stack_policy(
    name: str,
    description: str,
    validate: Callable[[StackValidationArgs, ReportViolation], None],
) -> StackValidationPolicy:
    return StackValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=ENFORCEMENT,
        config_schema=CONFIG_SCHEMA,
    )


def resource_policy(name: str, description: str, rule: ResourceRule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if _production_resource(args):
            for message in rule(args.resource_type, args.props):
                report(message, None)

    return _mandatory_resource_policy(name, description, validate)


def protection_policy() -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if _production_resource(args):
            for message in resource_rules.protection(
                args.resource_type, args.props, args.opts.protect
            ):
                report(message, None)

    name, description = PROTECTION_POLICY
    return _mandatory_resource_policy(name, description, validate)


def stack_policy(name: str, description: str, rule: StackRule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        resources = _stack_resources(args.resources)
        if _production_stack(args, resources):
            for violation in rule(resources):
                report(violation.message, violation.urn)

    return _mandatory_stack_policy(name, description, validate)


def guard_policy() -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        resources = _stack_resources(args.resources)
        if not resources:
            return
        declared = [
            resource.urn
            for resource in resources
            if declares_production(resource.resource_type, resource.props)
        ]
        settings = ProductionSettings.from_config(args.get_config())
        for message in unrecognised_production(stack_of(resources[0].urn), settings, declared):
            report(message, None)

    name, description = GUARD_POLICY
    return _mandatory_stack_policy(name, description, validate)


def policies() -> list[Policy]:
    return [
        *(resource_policy(name, *entry) for name, entry in RESOURCE_RULES.items()),
        protection_policy(),
        *(stack_policy(name, *entry) for name, entry in STACK_RULES.items()),
        guard_policy(),
    ]


def serve() -> None:
    """Serve the pack to the engine; returns only when the engine stops it."""
    PolicyPack(
        name=PACK_NAME,
        enforcement_level=ENFORCEMENT,
        policies=policies(),
    )
