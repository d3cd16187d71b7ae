"""Runs the Pulumi program under Pulumi's mocks and records what it declares.

Each recorded resource keeps its type, name, inputs (with secrets unwrapped and remembered)
and options, so tests can assert on manifests as the Kubernetes API would receive them.
"""

from __future__ import annotations

import asyncio
import gc
import json
import runpy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import yaml
from pulumi.runtime import settings
from repo import REPO_ROOT

ROOT = REPO_ROOT
PROJECT = "openalgo-cockroachdb"
SECRET_SIG = "4dabf18193072939515e22adb298388d"


def fake_pem(kind: str, name: str) -> str:
    return f"-----BEGIN {kind}-----\nFAKE-{kind.replace(' ', '-')}-{name}\n-----END {kind}-----\n"


def fake_password(name: str) -> str:
    return f"mock-password-{name}-9f2c"


@dataclass
class Recorded:
    typ: str
    name: str
    inputs: dict[str, Any]
    secret_values: list[str]
    opts: pulumi.ResourceOptions | None = None

    @property
    def is_kubernetes(self) -> bool:
        return self.typ.startswith("kubernetes:") and not self.typ.startswith("kubernetes:index")

    @property
    def kind(self) -> str:
        return self.typ.rsplit(":", 1)[1]

    def manifest(self) -> dict[str, Any]:
        """The object as the API server would get it: integral floats back to ints."""
        manifest: dict[str, Any] = _ints(self.inputs)
        return manifest


def _ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _ints(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_ints(item) for item in value]
    return value


def _unwrap(value: Any, secrets: list[str]) -> Any:
    """Strip Pulumi's secret envelopes, remembering every string that was inside one."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) is not None and "value" in value:
            inner = _unwrap(value["value"], secrets)
            secrets.extend(_strings(inner))
            return inner
        return {key: _unwrap(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrap(item, secrets) for item in value]
    return value


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


class RecordingMocks(pulumi.runtime.Mocks):
    """Echo inputs back as outputs, with fake key material where providers compute it."""

    def __init__(self) -> None:
        self.resources: list[Recorded] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        secrets: list[str] = []
        inputs = _unwrap(args.inputs, secrets)
        self.resources.append(Recorded(args.typ, args.name, inputs, secrets))
        outputs = dict(inputs)
        if args.typ == "tls:index/privateKey:PrivateKey":
            outputs["privateKeyPem"] = fake_pem("RSA PRIVATE KEY", args.name)
            outputs["privateKeyPemPkcs8"] = fake_pem("PRIVATE KEY", args.name)
        elif args.typ == "tls:index/certRequest:CertRequest":
            outputs["certRequestPem"] = fake_pem("CERTIFICATE REQUEST", args.name)
        elif args.typ.startswith("tls:"):
            outputs["certPem"] = fake_pem("CERTIFICATE", args.name)
        elif args.typ == "random:index/randomPassword:RandomPassword":
            outputs["result"] = fake_password(args.name)
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


OPERATOR_SECRETS = {
    "prod": {
        "openalgo:backupDestination": "s3://openalgo-backups/prod?AUTH=implicit",
        "openalgo:license": "crl-0-test-licence-key",
    }
}
"""Secrets an operator sets with `pulumi config set --secret` before a stack's first preview."""


def operator_secret_keys(stack: str) -> list[str]:
    """The keys of ``OPERATOR_SECRETS``, which Pulumi marks secret because of ``--secret``."""
    return sorted(OPERATOR_SECRETS.get(stack, {}))


def stack_file_config(stack: str, *, with_operator_secrets: bool = True) -> dict[str, str]:
    """A committed stack file's config, in the flat string form Pulumi hands a program."""
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    config = {key: encode(value) for key, value in document["config"].items()}
    if with_operator_secrets:
        config.update(OPERATOR_SECRETS.get(stack, {}))
    return config


def encode(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@dataclass
class RenderedStack:
    resources: list[Recorded]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    options: dict[str, pulumi.ResourceOptions] = field(default_factory=dict)

    def of_type(self, typ: str) -> list[Recorded]:
        return [resource for resource in self.resources if resource.typ == typ]

    def one(self, typ: str, name: str | None = None) -> Recorded:
        found = [r for r in self.of_type(typ) if name is None or r.name == name]
        assert len(found) == 1, f"expected one {typ} {name or ''}, found {len(found)}"
        return found[0]

    def manifests(self) -> list[dict[str, Any]]:
        return [resource.manifest() for resource in self.resources if resource.is_kubernetes]

    def opts_of(self, typ: str, name: str) -> pulumi.ResourceOptions:
        return self.options[f"{typ}::{name}"]

    def secret_strings(self) -> set[str]:
        return {value for resource in self.resources for value in resource.secret_values}


def run_program(
    stack: str,
    config: Mapping[str, str],
    *,
    secret_keys: list[str] | None = None,
    preview: bool = False,
    mocks: RecordingMocks | None = None,
) -> RenderedStack:
    """Run __main__.py for ``stack`` with ``config`` under mocks; return what it declared."""
    mocks = mocks or RecordingMocks()
    options: dict[str, pulumi.ResourceOptions] = {}
    recording = [True]

    def record_options(
        args: pulumi.ResourceTransformationArgs,
    ) -> pulumi.ResourceTransformationResult | None:
        # The SDK keeps stack transformations across mocked runs: record only this run's.
        if recording[0]:
            options[f"{args.type_}::{args.name}"] = args.opts
        return None

    pulumi.runtime.set_mocks(mocks, PROJECT, stack, preview=preview)
    pulumi.runtime.set_all_config(dict(config), secret_keys or [])

    outputs: dict[str, Any] = {}
    secret_outputs: set[str] = set()

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def program() -> pulumi.Output[Any]:
        root = settings.get_root_resource()
        assert root is not None
        # The root stack outlives a mocked run: forget the exports of earlier runs.
        root.outputs.clear()  # type: ignore[attr-defined]
        pulumi.runtime.register_stack_transformation(record_options)
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
        exported: dict[str, Any] = dict(root.outputs)  # type: ignore[attr-defined]

        async def resolve() -> bool:
            for key, value in exported.items():
                output = pulumi.Output.from_input(value)
                outputs[key] = await output.future()
                if await output.is_secret():
                    secret_outputs.add(key)
            return True

        return pulumi.Output.from_input(asyncio.ensure_future(resolve()))

    program()
    recording[0] = False
    gc.unfreeze()  # __main__.py freezes what it built; many runs share this test process
    return RenderedStack(mocks.resources, outputs, secret_outputs, options)


def run_stack_file(stack: str, **overrides: Any) -> RenderedStack:
    """Run a committed stack, optionally with some ``openalgo:`` keys replaced."""
    config = stack_file_config(stack)
    config.update({f"openalgo:{key}": encode(value) for key, value in overrides.items()})
    return run_program(stack, config, secret_keys=operator_secret_keys(stack))
