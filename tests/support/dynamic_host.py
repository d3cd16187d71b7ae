"""Pulumi's dynamic-provider host (`python -m pulumi.dynamic`) in a fresh process, driven over gRPC
the way the Pulumi engine drives it, so tests exercise the real deserialize-and-call path."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dill
import grpc
from pulumi.dynamic import ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

URN = (
    "urn:pulumi:test::openalgo-cockroachdb::openalgo:cockroachdb:SchemaMigrations"
    "$pulumi-python:dynamic/openalgo:SchemaMigrations::schema-migrations"
)
PROVIDER_KEY = "__provider"


def pulumi_serialized(provider: ResourceProvider) -> str:
    """The provider exactly as Pulumi stores it in the `__provider` property."""
    serialized: str = serialize_provider(provider)
    return serialized


def pulumi_deserialized(serialized: str) -> Any:
    return dill.loads(base64.b64decode(serialized))  # noqa: S301 (bytes this test just made)


def to_struct(props: Mapping[str, Any]) -> Any:
    """Serialize on a private loop: asyncio.run() would unset the thread's loop for later tests."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(dict(props), {}))
    finally:
        loop.close()


def from_struct(struct: Any) -> dict[str, Any]:
    props: dict[str, Any] = rpc.deserialize_properties(struct)
    return props


class DynamicHost:
    """Calls Check/Diff/Create/Read/Delete on a provider host process."""

    def __init__(self, stub: provider_pb2_grpc.ResourceProviderStub, serialized: str) -> None:
        self._stub = stub
        self._serialized = serialized

    def _with_provider(self, props: Mapping[str, Any]) -> Any:
        return to_struct({**props, PROVIDER_KEY: self._serialized})

    def check(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> Any:
        return self._stub.Check(
            provider_pb2.CheckRequest(
                urn=URN, olds=self._with_provider(olds), news=self._with_provider(news)
            )
        )

    def diff(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> Any:
        return self._stub.Diff(
            provider_pb2.DiffRequest(
                id="db", urn=URN, olds=self._with_provider(olds), news=self._with_provider(news)
            )
        )

    def create(self, props: Mapping[str, Any]) -> Any:
        return self._stub.Create(
            provider_pb2.CreateRequest(urn=URN, properties=self._with_provider(props))
        )

    def read(self, resource_id: str, props: Mapping[str, Any]) -> Any:
        return self._stub.Read(
            provider_pb2.ReadRequest(id=resource_id, urn=URN, properties=self._with_provider(props))
        )

    def delete(self, resource_id: str, props: Mapping[str, Any]) -> Any:
        return self._stub.Delete(
            provider_pb2.DeleteRequest(
                id=resource_id, urn=URN, properties=self._with_provider(props)
            )
        )


@contextlib.contextmanager
def provider_host(cwd: Path) -> Iterator[provider_pb2_grpc.ResourceProviderStub]:
    """Start `python -m pulumi.dynamic` in `cwd` (Pulumi runs it in the project directory)."""
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.dynamic"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline().decode().strip())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
            yield provider_pb2_grpc.ResourceProviderStub(channel)
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
        if process.stderr is not None:
            process.stderr.close()
