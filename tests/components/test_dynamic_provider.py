"""The provider base: secrets, outputs, diffs and the program-side inputs, written once."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from pulumi.runtime import rpc

from components.dynamic_provider import DeclaredProvider
from database.admin import ADMIN_KEYS, AdminAccess


class Sample(DeclaredProvider):
    """A provider that records what its hooks receive."""

    INPUT_KEYS = ("name", "token", "database", "admin_dsn")
    SECRET_KEYS = ("token", "admin_dsn")
    REPLACE_KEYS = ("database",)
    OUTPUT_KEYS = ("status",)

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[dict[str, Any]] = []

    def created(self, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.seen.append(props)
        return str(props["name"]), {"status": "made"}


class SqlSample(DeclaredProvider):
    INPUT_KEYS = ("name", *ADMIN_KEYS)
    SECRET_KEYS = ("admin_dsn",)
    OUTPUT_KEYS = ("status",)


TOKEN = "token-value-7c1e"
DSN = "postgresql://root:admin-pw@db.example:26257/defaultdb"


def props(**overrides: Any) -> dict[str, Any]:
    return {"name": "one", "token": TOKEN, "database": "openalgo", "admin_dsn": DSN} | overrides


def enveloped(values: dict[str, Any]) -> dict[str, Any]:
    return {key: rpc.wrap_rpc_secret(value) for key, value in values.items()}


def outs(result: Any) -> dict[str, Any]:
    assert result.outs is not None
    return dict(result.outs)


def test_hooks_receive_plain_values_whatever_envelopes_arrive() -> None:
    provider = Sample()
    provider.create(enveloped(props()))
    assert provider.seen == [props()]


def test_outputs_carry_the_declared_inputs_with_secrets_in_envelopes() -> None:
    created = outs(Sample().create(props(extra="not declared")))
    assert rpc.is_rpc_secret(created["token"])
    assert rpc.is_rpc_secret(created["admin_dsn"])
    assert {key: value for key, value in created.items() if not rpc.is_rpc_secret(value)} == {
        "name": "one",
        "database": "openalgo",
        "status": "made",
    }


def test_an_update_records_the_new_inputs() -> None:
    updated = outs(Sample().update("one", props(), props(admin_dsn="host=elsewhere")))
    assert rpc.unwrap_rpc_secret(updated["admin_dsn"]) == "host=elsewhere"


def test_unchanged_inputs_are_no_change_whatever_else_the_state_holds() -> None:
    olds = enveloped(props()) | {"status": "made", "__provider": "serialized"}
    assert Sample().diff("one", olds, props()).changes is False


def test_a_changed_secret_input_is_an_update_in_place() -> None:
    result = Sample().diff("one", props(), props(admin_dsn="host=elsewhere"))
    assert (result.changes, result.replaces) == (True, [])


def test_a_changed_replacing_input_replaces() -> None:
    result = Sample().diff("one", props(), props(database="other"))
    assert result.replaces == ["database"]


def test_refresh_keeps_the_state_with_secrets_in_envelopes() -> None:
    read = Sample().read("one", props(status="made"))
    assert read.id == "one"
    assert rpc.is_rpc_secret(outs(read)["token"])
    assert outs(read)["status"] == "made"


def test_resource_inputs_mark_secrets_and_declare_outputs() -> None:
    inputs = Sample.resource_inputs(props())
    assert isinstance(inputs["token"], pulumi.Output)
    assert inputs["name"] == "one"
    assert inputs["status"] is None


def test_resource_inputs_refuse_an_input_the_provider_does_not_declare() -> None:
    with pytest.raises(ValueError, match="declares the inputs"):
        Sample.resource_inputs(props(extra="x"))


def test_resource_inputs_refuse_a_missing_declared_input() -> None:
    with pytest.raises(ValueError, match="declares the inputs"):
        Sample.resource_inputs({"name": "one"})


def test_admin_access_becomes_the_admin_inputs() -> None:
    inputs = SqlSample.resource_inputs({"name": "one"}, AdminAccess(dsn=DSN, ca_cert="CA PEM"))
    assert sorted(inputs) == sorted(["name", *ADMIN_KEYS, "status"])
    assert isinstance(inputs["admin_dsn"], pulumi.Output)
    assert (inputs["client_cert"], inputs["kube_access"]) == (None, None)
