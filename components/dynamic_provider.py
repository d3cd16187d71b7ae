"""The base of the dynamic providers: each declares its inputs, the plumbing is written once.

A provider declares ``INPUT_KEYS`` (what its diff compares and its outputs carry),
``SECRET_KEYS`` (which of them are secrets), ``REPLACE_KEYS`` (whose change replaces the
resource) and ``OUTPUT_KEYS`` (what its methods add). From that, the base

* unwraps secrets on entry: every hook gets plain values, whatever envelopes the engine sends;
* writes the outputs of create, update and read as the declared inputs plus the hook's state,
  secrets in their envelopes again (``additional_secret_outputs`` tells the engine the same);
* diffs only the declared inputs, the admin access among them, so a changed DSN or a renewed
  client certificate reaches the state before a later update or delete connects with it;
* turns every failure of an admin session into the provider's ``FAILURE``, with the DSN's
  password and every secret input redacted;
* builds the program side: the resource's inputs (secrets marked, output keys declared) from one
  mapping that must name exactly the declared inputs, and its options.

Pulumi pickles a provider by reference to its class (dill) into every resource's state, so class
names, modules and instance attributes stay as they are; declarations are class attributes,
which are not pickled.

Production rules (``allow_drop`` and the replication factor) have one home: the stack config
(``rules.config``). It refuses a prod stack with ``schema.allowDrop`` true or a replication
factor under 3, and any stack whose replication factor exceeds its node count, so such a stack
declares no resource. The policy pack (``policy/``) re-checks the declared resources for programs
that bypass the config. Providers re-check only what reaches them another way, from state: a
destroy runs with the inputs of the last update, not with today's config, so the schema provider
refuses to drop a production database on delete (``components.schema.drop_refused``, which its
component and check share for programs that use it without the config); the guard checks a
scale-down from the replica count in state against the replication factor, which no config check
can see.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import psycopg
import pulumi
import pulumi.dynamic as dynamic
from pulumi.runtime import rpc

from database.admin import (
    AdminAccess,
    AdminConnectionError,
    admin_connection,
    optional_str,
)
from database.redaction import redact_message

R = TypeVar("R", bound=dynamic.Resource)


def plain(props: Mapping[str, Any]) -> dict[str, Any]:
    """``props`` without secret envelopes."""
    return {key: rpc.unwrap_rpc_secret(value) for key, value in props.items()}


def changed_keys(
    keys: Sequence[str], olds: Mapping[str, Any], news: Mapping[str, Any]
) -> list[str]:
    return [key for key in keys if olds.get(key) != news.get(key)]


class ProviderError(Exception):
    """A provider method failed; the message holds no secret."""


class DeclaredProvider(dynamic.ResourceProvider):
    """Implements the engine's methods over plain values; subclasses implement the hooks."""

    INPUT_KEYS: ClassVar[tuple[str, ...]] = ()
    SECRET_KEYS: ClassVar[tuple[str, ...]] = ()
    REPLACE_KEYS: ClassVar[tuple[str, ...]] = ()
    OUTPUT_KEYS: ClassVar[tuple[str, ...]] = ()
    FAILURE: ClassVar[type[Exception]] = ProviderError
    """Raised for every failure of the provider's SQL, with secrets redacted."""
    WHAT: ClassVar[str] = "provider"
    """How failure messages name the provider."""

    # --- hooks, over plain values -----------------------------------------------------------

    def refusals(self, olds: dict[str, Any], news: dict[str, Any]) -> list[tuple[str, str]]:
        """(property, reason) for each input check refuses."""
        return []

    def changes_beyond_inputs(self, olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
        """Changes the diff finds outside the declared inputs (e.g. drift in the outputs)."""
        return []

    def created(self, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The new resource's id and the outputs it adds to its inputs."""
        raise NotImplementedError

    def updated(self, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        """The outputs the update adds to the new inputs."""
        return self.created(news)[1]

    def refreshed(self, resource_id: str, props: dict[str, Any]) -> dict[str, Any] | None:
        """The outputs read back, None when the resource is gone; by default the state's."""
        return {}

    def deleted(self, props: dict[str, Any]) -> None:
        """Remove what the resource made; by default there is nothing to remove."""

    # --- the engine's methods -----------------------------------------------------------------

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> dynamic.CheckResult:
        failures = self.refusals(plain(_olds), plain(news))
        return dynamic.CheckResult(
            news, [dynamic.CheckFailure(prop, reason) for prop, reason in failures]
        )

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> dynamic.DiffResult:
        olds, news = plain(_olds), plain(_news)
        changed = changed_keys(self.INPUT_KEYS, olds, news)
        changed += self.changes_beyond_inputs(olds, news)
        replaces = [key for key in changed if key in self.REPLACE_KEYS]
        return dynamic.DiffResult(
            changes=bool(changed), replaces=replaces, delete_before_replace=False
        )

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        values = plain(props)
        resource_id, state = self.created(values)
        return dynamic.CreateResult(resource_id, self.outputs(values, state))

    def update(
        self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]
    ) -> dynamic.UpdateResult:
        news = plain(_news)
        return dynamic.UpdateResult(self.outputs(news, self.updated(plain(_olds), news)))

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        values = plain(props)
        state = self.refreshed(id_, values)
        if state is None:
            return dynamic.ReadResult("", {})
        return dynamic.ReadResult(id_, {**props, **self.outputs(values, state)})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        self.deleted(plain(props))

    # --- shared by the hooks ------------------------------------------------------------------

    def outputs(self, props: Mapping[str, Any], state: Mapping[str, Any]) -> dict[str, Any]:
        """The declared inputs of ``props`` with secrets enveloped, then ``state``."""
        kept = {key: props[key] for key in self.INPUT_KEYS if key in props}
        return {
            **{
                key: rpc.wrap_rpc_secret(value)
                if key in self.SECRET_KEYS and value is not None
                else value
                for key, value in kept.items()
            },
            **state,
        }

    def redacted(self, text: str, props: Mapping[str, Any]) -> str:
        """``text`` without the DSN's password or any other secret input."""
        others = [
            value
            for key in self.SECRET_KEYS
            if key != "admin_dsn" and (value := optional_str(props, key)) is not None
        ]
        return redact_message(text, optional_str(props, "admin_dsn") or "", others)

    @contextlib.contextmanager
    def admin_session(self, props: Mapping[str, Any]) -> Iterator[psycopg.Connection[Any]]:
        """An admin connection whose every failure is ``FAILURE``, secrets redacted."""
        try:
            with admin_connection(props) as connection:
                yield connection
        except AdminConnectionError as error:
            raise self.FAILURE(str(error)) from None
        except self.FAILURE:
            raise
        except Exception as error:
            raise self.FAILURE(f"{self.WHAT}: {self.redacted(str(error), props)}") from None

    # --- the program side ---------------------------------------------------------------------

    @classmethod
    def resource_inputs(
        cls, values: Mapping[str, Any], admin: AdminAccess | None = None
    ) -> dict[str, Any]:
        """The dynamic resource's inputs: ``values`` and ``admin`` must name exactly the declared
        inputs; secrets are marked and output keys declared as None."""
        inputs = {**values, **(admin.inputs() if admin is not None else {})}
        if sorted(inputs) != sorted(cls.INPUT_KEYS):
            raise ValueError(
                f"{cls.__name__} declares the inputs {sorted(cls.INPUT_KEYS)}, "
                f"was given {sorted(inputs)}"
            )
        return {
            **{
                key: pulumi.Output.secret(value)
                if key in cls.SECRET_KEYS and value is not None
                else value
                for key, value in inputs.items()
            },
            **dict.fromkeys(cls.OUTPUT_KEYS),
        }

    @classmethod
    def resource_options(cls, parent: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(
            parent=parent, additional_secret_outputs=list(cls.SECRET_KEYS) or None
        )

    def declare(
        self,
        resource: type[R],
        name: str,
        parent: pulumi.Resource,
        values: Mapping[str, Any],
        admin: AdminAccess | None = None,
    ) -> R:
        """The resource this provider manages, declared as ``parent``'s child."""
        return resource(
            self, name, self.resource_inputs(values, admin), self.resource_options(parent)
        )
