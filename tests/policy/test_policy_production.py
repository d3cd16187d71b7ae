"""How the policy pack decides a stack is production: by the engine's stack name, by policy
config, and never silently off for a program that declares production."""

from __future__ import annotations

import pytest

from policy.production import (
    ProductionSettings,
    declares_production,
    stack_of,
    unrecognised_production,
)

SCHEMA = "pulumi-python:dynamic/openalgo:SchemaMigrations"
SCHEMA_URN = (
    "urn:pulumi:staging::openalgo-cockroachdb::openalgo:cockroachdb:SchemaMigrations"
    f"${SCHEMA}::schema-migrations"
)


def test_the_stack_name_is_read_from_a_urn() -> None:
    urn = "urn:pulumi:prod::openalgo-cockroachdb::kubernetes:core/v1:Namespace::namespace"
    assert stack_of(urn) == "prod"


def test_a_string_that_is_no_urn_is_refused() -> None:
    with pytest.raises(ValueError, match="not a Pulumi resource URN: 'prod'"):
        stack_of("prod")


def test_a_stack_named_prod_is_production_by_default() -> None:
    assert ProductionSettings.from_config({}).covers("prod")


def test_other_stacks_are_not_production_by_default() -> None:
    settings = ProductionSettings.from_config({})
    assert not any(settings.covers(stack) for stack in ("dev", "staging", "prod-like", "preprod"))


def test_config_adds_stack_names_and_patterns() -> None:
    settings = ProductionSettings.from_config({"productionStacks": ["live", "prod-*"]})
    assert [settings.covers(s) for s in ("live", "prod-eu", "prod", "dev")] == [
        True,
        True,
        True,
        False,
    ]


def test_config_can_force_any_stack_to_production() -> None:
    assert ProductionSettings.from_config({"production": True}).covers("dev")


def test_config_cannot_take_prod_out_of_production() -> None:
    settings = ProductionSettings.from_config({"production": False, "productionStacks": []})
    assert settings.covers("prod")


def test_a_non_boolean_force_is_refused_naming_the_key() -> None:
    with pytest.raises(ValueError, match="policy config production = 'yes': must be true or false"):
        ProductionSettings.from_config({"production": "yes"})


def test_stack_names_must_be_a_list_of_strings() -> None:
    with pytest.raises(ValueError, match="policy config productionStacks = 'prod-eu': must be a"):
        ProductionSettings.from_config({"productionStacks": "prod-eu"})


def test_the_schema_resource_declares_production() -> None:
    assert declares_production(SCHEMA, {"production": True, "allow_drop": False})


def test_a_schema_resource_for_another_environment_declares_nothing() -> None:
    assert not declares_production(SCHEMA, {"production": False})


def test_other_resources_declare_nothing() -> None:
    assert not declares_production("kubernetes:core/v1:Namespace", {"production": True})


def test_declared_production_on_an_unchecked_stack_is_refused() -> None:
    assert unrecognised_production("staging", ProductionSettings(), [SCHEMA_URN]) == [
        "stack 'staging' declares production (schema-migrations has production: true) but this "
        "policy pack does not check it as production: name the stack 'prod', or add it to "
        "productionStacks in the policy config"
    ]


def test_declared_production_on_a_checked_stack_is_fine() -> None:
    settings = ProductionSettings.from_config({"productionStacks": ["staging"]})
    assert unrecognised_production("staging", settings, [SCHEMA_URN]) == []
