"""Licence, cluster settings and SQL audit: applied, read back, drift shown, secrets kept."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from fake_cockroach import FakeCockroach, serve
from pulumi.runtime import rpc
from stack_harness import (
    RenderedStack,
    encode,
    operator_secret_keys,
    run_program,
    run_stack_file,
    stack_file_config,
)

from components.cluster_settings import ClusterSettingsError, ClusterSettingsProvider

SETTINGS = "pulumi-python:dynamic/openalgo:ClusterSettings"
LICENSE = "crl-0-secret-licence-key"


@pytest.fixture
def cockroach(monkeypatch: pytest.MonkeyPatch) -> FakeCockroach:
    database = FakeCockroach()
    serve(monkeypatch, ClusterSettingsProvider, database)
    return database


def inputs(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "settings": {"server.time_until_store_dead": "5m"},
        "organization": "OpenAlgo",
        "license": LICENSE,
        "audited_tables": ["openalgo.orders"],
        "secret_settings": None,
        "admin_dsn": "postgresql://root@db:26257/defaultdb",
    }
    return base | overrides


def outs(result: Any) -> dict[str, Any]:
    return dict(result.outs)


def test_create_sets_licence_organization_settings_and_audit(cockroach: FakeCockroach) -> None:
    ClusterSettingsProvider().create(inputs())
    assert cockroach.statements[1:5] == [
        f"SET CLUSTER SETTING enterprise.license = '{LICENSE}'",
        "SET CLUSTER SETTING server.time_until_store_dead = '5m'",
        "SET CLUSTER SETTING cluster.organization = 'OpenAlgo'",
        "ALTER TABLE openalgo.orders EXPERIMENTAL_AUDIT SET READ WRITE",
    ]


def test_applied_values_are_recorded_as_cockroachdb_spells_them(cockroach: FakeCockroach) -> None:
    state = outs(ClusterSettingsProvider().create(inputs()))
    assert state["applied"] == {
        "server.time_until_store_dead": "00:05:00",
        "cluster.organization": "OpenAlgo",
        "enterprise.license": "as declared",
        "audit:openalgo.orders": "READWRITE",
    }


def test_the_licence_stays_a_secret_in_the_state(cockroach: FakeCockroach) -> None:
    state = outs(ClusterSettingsProvider().create(inputs()))
    assert rpc.unwrap_rpc_secret(state["license"]) == LICENSE
    assert state["license"] != LICENSE
    assert LICENSE not in str(state["applied"]) + str(state["observed"])


def test_refresh_reads_a_setting_changed_by_hand_and_the_diff_shows_it(
    cockroach: FakeCockroach,
) -> None:
    provider = ClusterSettingsProvider()
    state = {**inputs(), **outs(provider.create(inputs()))}
    cockroach.settings["server.time_until_store_dead"] = "00:01:15"
    refreshed = {**state, **outs(provider.read("cluster-settings", state))}
    assert refreshed["observed"]["server.time_until_store_dead"] == "00:01:15"
    diff = provider.diff("cluster-settings", refreshed, inputs())
    assert diff.changes is True


def test_an_unchanged_cluster_is_no_change_after_refresh(cockroach: FakeCockroach) -> None:
    provider = ClusterSettingsProvider()
    state = {**inputs(), **outs(provider.create(inputs()))}
    refreshed = {**state, **outs(provider.read("cluster-settings", state))}
    assert provider.diff("cluster-settings", refreshed, inputs()).changes is False


def test_a_setting_dropped_from_config_is_reset(cockroach: FakeCockroach) -> None:
    provider = ClusterSettingsProvider()
    olds = {**inputs(), **outs(provider.create(inputs()))}
    provider.update("cluster-settings", olds, inputs(settings={}, audited_tables=[]))
    assert "RESET CLUSTER SETTING server.time_until_store_dead" in cockroach.statements
    assert "ALTER TABLE openalgo.orders EXPERIMENTAL_AUDIT SET OFF" in cockroach.statements


def test_an_unchanged_licence_is_not_set_again(cockroach: FakeCockroach) -> None:
    provider = ClusterSettingsProvider()
    olds = {**inputs(), **outs(provider.create(inputs()))}
    cockroach.statements.clear()
    provider.update("cluster-settings", olds, inputs(settings={"kv.x.y": 1}))
    assert not [s for s in cockroach.statements if s.startswith("SET CLUSTER SETTING enterprise")]


def test_a_licence_changed_by_hand_shows_as_drift_and_is_set_again(
    cockroach: FakeCockroach,
) -> None:
    provider = ClusterSettingsProvider()
    state = {**inputs(), **outs(provider.create(inputs()))}
    cockroach.settings["enterprise.license"] = "crl-0-someone-elses"
    refreshed = {**state, **outs(provider.read("cluster-settings", state))}
    assert refreshed["observed"]["enterprise.license"] == "another value"
    assert "crl-0-someone-elses" not in str(refreshed)
    assert provider.diff("cluster-settings", refreshed, inputs()).changes is True
    provider.update("cluster-settings", refreshed, inputs())
    assert cockroach.settings["enterprise.license"] == LICENSE


def test_an_audit_switched_off_by_hand_shows_as_drift(cockroach: FakeCockroach) -> None:
    provider = ClusterSettingsProvider()
    state = {**inputs(), **outs(provider.create(inputs()))}
    cockroach.audit_modes["openalgo.orders"] = "DISABLED"
    refreshed = {**state, **outs(provider.read("cluster-settings", state))}
    assert refreshed["observed"]["audit:openalgo.orders"] == "DISABLED"
    assert provider.diff("cluster-settings", refreshed, inputs()).changes is True


def test_secret_settings_are_kept_secret_and_read_back_without_their_values(
    cockroach: FakeCockroach,
) -> None:
    secret = {"server.oidc_authentication.client_secret": "oidc-s3cr3t"}
    state = outs(ClusterSettingsProvider().create(inputs(secret_settings=secret)))
    assert "SET CLUSTER SETTING server.oidc_authentication.client_secret = 'oidc-s3cr3t'" in (
        cockroach.statements
    )
    assert rpc.unwrap_rpc_secret(state["secret_settings"]) == secret
    assert state["applied"]["server.oidc_authentication.client_secret"] == "as declared"
    assert "oidc-s3cr3t" not in str(state["applied"]) + str(state["observed"])


def test_a_setting_moved_between_plain_and_secret_is_set_not_reset(
    cockroach: FakeCockroach,
) -> None:
    provider = ClusterSettingsProvider()
    olds = {**inputs(), **outs(provider.create(inputs()))}
    moved = inputs(settings={}, secret_settings={"server.time_until_store_dead": "5m"})
    provider.update("cluster-settings", olds, moved)
    assert "RESET CLUSTER SETTING server.time_until_store_dead" not in cockroach.statements
    assert cockroach.settings["server.time_until_store_dead"] == "00:05:00"


def test_state_written_before_the_readings_grew_is_no_change(cockroach: FakeCockroach) -> None:
    """State of the previous release: no secret_settings, only the plain settings applied."""
    provider = ClusterSettingsProvider()
    state = {**inputs(), **outs(provider.create(inputs()))}
    del state["secret_settings"]
    state["applied"] = state["observed"] = {"server.time_until_store_dead": "00:05:00"}
    refreshed = {**state, **outs(provider.read("cluster-settings", state))}
    assert provider.diff("cluster-settings", refreshed, inputs()).changes is False


def test_delete_resets_settings_and_audit_but_keeps_the_licence(cockroach: FakeCockroach) -> None:
    ClusterSettingsProvider().delete("cluster-settings", inputs())
    assert cockroach.statements[1:] == [
        "RESET CLUSTER SETTING server.time_until_store_dead",
        "ALTER TABLE openalgo.orders EXPERIMENTAL_AUDIT SET OFF",
    ]


def test_a_server_that_is_not_cockroachdb_gets_nothing(cockroach: FakeCockroach) -> None:
    cockroach.server = "PostgreSQL 15.8"
    state = outs(ClusterSettingsProvider().create(inputs()))
    assert state["status"] == "skipped: not CockroachDB"
    assert cockroach.statements == ["SELECT version()"]


def test_a_failure_never_shows_the_licence(monkeypatch: pytest.MonkeyPatch) -> None:
    class Refusing(FakeCockroach):
        def execute(self, statement: str) -> FakeCockroach:
            if "enterprise.license" in statement:
                raise RuntimeError(f"invalid licence in: {statement}")
            return super().execute(statement)

    @contextlib.contextmanager
    def connection(props: Any) -> Iterator[FakeCockroach]:
        yield Refusing()

    monkeypatch.setattr("components.dynamic_provider.admin_connection", connection)
    with pytest.raises(ClusterSettingsError) as caught:
        ClusterSettingsProvider().create(inputs())
    assert str(caught.value).startswith("cluster settings: invalid licence in: SET CLUSTER")
    assert LICENSE not in str(caught.value)


def test_prod_declares_the_settings_with_its_licence_secret(prod: RenderedStack) -> None:
    settings = prod.one(SETTINGS)
    assert settings.inputs["license"] in settings.secret_values
    assert settings.inputs["organization"] == "OpenAlgo"


def test_prod_audits_the_trading_tables(prod: RenderedStack) -> None:
    audited = prod.one(SETTINGS).inputs["audited_tables"]
    assert "openalgo.orders" in audited
    assert "openalgo.market_data" not in audited


def test_dev_declares_no_settings(dev: RenderedStack) -> None:
    assert not [r for r in dev.resources if r.typ == SETTINGS]


def test_settings_wait_for_the_schema_tables(prod: RenderedStack) -> None:
    depends = prod.opts_of("openalgo:cockroachdb:ClusterSettings", "settings").depends_on
    assert isinstance(depends, list)
    assert "SchemaMigrations" in [type(d).__name__ for d in depends]


def test_a_configured_setting_reaches_the_resource() -> None:
    stack = run_stack_file("prod", clusterSettings={"server.time_until_store_dead": "5m"})
    assert stack.one(SETTINGS).inputs["settings"] == {"server.time_until_store_dead": "5m"}


def test_settings_that_are_a_secret_in_config_are_declared_secret() -> None:
    """A sensitive setting (e.g. the OIDC client secret) never reaches the state in plain."""
    config = stack_file_config("prod") | {
        "openalgo:clusterSettings": encode({"server.oidc_authentication.client_secret": "oidc"})
    }
    secret_keys = [*operator_secret_keys("prod"), "openalgo:clusterSettings"]
    settings = run_program("prod", config, secret_keys=secret_keys).one(SETTINGS)
    assert settings.inputs["settings"] == {}
    assert settings.inputs["secret_settings"] == {
        "server.oidc_authentication.client_secret": "oidc"
    }
    assert "oidc" in settings.secret_values
