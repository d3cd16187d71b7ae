"""Whatever the config validation accepts renders manifests Kubernetes accepts, within bounds.

Values for every key are generated from the model (its bounds, its literals, its bools) or,
for free-form text, from samples that mix valid and invalid values; a committed stack gets a
few of them at a time. An accepted config is run under Pulumi's mocks and every manifest is
validated strictly against Kubernetes 1.30 and 1.33; a refused one must speak config keys and
never show a secret.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any, Literal, get_args, get_origin

import kubernetes_validate
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from stack_harness import RenderedStack, operator_secret_keys, run_program, stack_file_config

from rules.config import (
    KNOWN_KEYS,
    ConfigError,
    IntRange,
    QuantityRange,
    Scaling,
    StackConfig,
    leaf_fields,
    load_stack_config,
)
from rules.quantities import parse_quantity

KUBERNETES_VERSIONS = ["1.30.0", "1.33.0"]
FIELDS = dict(leaf_fields())
SECRETS = ("adminDsn", "backupDestination")
UNITS = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "G": Decimal(10**9),
}

LABEL_KEYS = ["release", "team.example.com/owner", "app.kubernetes.io/name", "Bad Key", "a" * 64]
LABEL_VALUES = ["kube-prometheus-stack", "", "x y", "a" * 64, "v1.2"]
labels = st.dictionaries(st.sampled_from(LABEL_KEYS), st.sampled_from(LABEL_VALUES), max_size=2)
peer = st.fixed_dictionaries({}, optional={"namespaceLabels": labels, "podLabels": labels})
toleration = st.fixed_dictionaries(
    {},
    optional={
        "key": st.sampled_from(["dedicated", "node.kubernetes.io/unreachable", "Bad Key"]),
        "operator": st.sampled_from(["Equal", "Exists", "In"]),
        "value": st.sampled_from(["database", "", "x y"]),
        "effect": st.sampled_from(["NoSchedule", "PreferNoSchedule", "NoExecute", "Evict"]),
        "tolerationSeconds": st.sampled_from(["0", "300", "86401", "-1"]),
    },
)
TOLERATION_KEYS = ("key", "operator", "value", "effect", "tolerationSeconds")

SAMPLES: dict[str, st.SearchStrategy[Any]] = {
    "namespace": st.sampled_from(
        ["trading", "openalgo-db", "kube-system", "default", "Trading", "a" * 63, "t\n"]
    ),
    "clusterDomain": st.sampled_from(
        ["cluster.local", "corp.example", "Cluster.Local", ".".join(["a" * 40] * 4)]
    ),
    "image": st.sampled_from(
        [
            "cockroachdb/cockroach:v25.2.8",
            "cockroachdb/cockroach:v26.1.0",
            "registry.local:5000/cockroachdb/cockroach:v25.3.1",
            "cockroachdb/cockroach:v25.2.8@sha256:" + "a" * 64,
            "cockroachdb/cockroach:v1.0.0",
            "cockroachdb/cockroach:latest",
            "cockroachdb/cockroach:v25.2.8\n",
        ]
    ),
    "storage.storageClass": st.sampled_from(["premium-rwo", "fast.ssd", "Premium", "x" * 254]),
    "kubernetes.renderDirectory": st.sampled_from(["rendered/x", "", " out"]),
    "kubernetes.context": st.sampled_from(["kind-dev", " kind-dev"]),
    "schema.migrationsDirectory": st.sampled_from(["sql/migrations", "", "sql/none"]),
    "adminDsn": st.sampled_from(
        ["postgresql://root@localhost:26257/defaultdb?sslmode=disable", "mysql://hunter2@db"]
    ),
    "monitoring.labels": labels,
    "backup.fullSchedule": st.sampled_from(
        ["@daily", "@weekly", "0 3 * * 0", "0 3 * * 1-5", "61 25 * * *", "0 0 30 2 *"]
    ),
    "backup.incrementalSchedule": st.sampled_from(["@hourly", "*/15 * * * *", "0 * * * * *"]),
    "backupDestination": st.sampled_from(
        [
            "s3://openalgo-backups/x?AUTH=implicit",
            "gs://openalgo-backups/x",
            "nodelocal://1/backups",
            "NODELOCAL://1/backups",
            "userfile:///backups",
            " s3://openalgo-backups/x",
            "ftp://hunter2@host/x",
        ]
    ),
    "networkPolicy.sqlClients": st.lists(peer, max_size=2),
    "networkPolicy.metricsClients": st.lists(peer, max_size=2),
    "app.namespace": st.sampled_from(["openalgo", "trading", "kube-public", "Open-Algo"]),
    **{
        f"app.databases.{name}": st.sampled_from(
            [f"openalgo_{name}", "openalgo", "openalgo_app", "Bad-Name", "x" * 64]
        )
        for name in ("main", "logs", "latency", "health", "sandbox")
    },
    "license": st.sampled_from(["crl-0-EJL04ukFGAEiI0Fj", "not a licence", " crl-0-x"]),
    "organization": st.sampled_from(["OpenAlgo", "Acme Trading", " padded"]),
    "clusterSettings": st.dictionaries(
        st.sampled_from(
            ["kv.snapshot_rebalance.max_rate", "server.time_until_store_dead", "version", "Bad"]
        ),
        st.sampled_from(["64MiB", "5m", 3, True]),
        max_size=2,
    ),
    "locality.tiers": st.lists(
        st.sampled_from(["cloud=gcp", "dc=east-1", "zone=a", "rack", "cloud=a,b", "cloud=aws"]),
        max_size=2,
    ),
    "locality.image": st.sampled_from(
        ["python:3.12.8-alpine3.21", "registry.local:5000/python:3.12", "python", " python:3"]
    ),
    "scheduling.priorityClassName": st.sampled_from(
        ["trading-critical", "system-node-critical", "Critical_DB"]
    ),
    "scheduling.nodeSelector": labels,
    "scheduling.tolerations": st.lists(toleration, max_size=2),
    "scaling.decommissioned": st.lists(
        st.integers(Scaling.ORDINALS.low, Scaling.ORDINALS.high + 20), max_size=2, unique=True
    ),
}


def int_values(bounds: IntRange) -> st.SearchStrategy[int]:
    """Anywhere in range, and often just at or past either end."""
    edges = [bounds.low - 1, bounds.low, bounds.high, bounds.high + 1]
    return st.one_of(st.sampled_from(edges), st.integers(bounds.low, bounds.high))


@st.composite
def quantities(draw: st.DrawFn, bounds: QuantityRange) -> str:
    """A quantity in one of several units, around the field's range."""
    low, high = parse_quantity(bounds.low), parse_quantity(bounds.high)
    usable = {s: u for s, u in UNITS.items() if math.floor(high / u) >= math.ceil(low / u)}
    suffix = draw(st.sampled_from(sorted(usable)))
    unit = usable[suffix]
    number = draw(st.integers(math.ceil(low / unit) - 1, math.floor(high / unit) + 1))
    return f"{max(number, 0)}{suffix}"


def strategy(key: str) -> st.SearchStrategy[Any] | None:
    """Values for one config key, read from the model; None for a key nothing here covers."""
    field = FIELDS[key]
    if key in SAMPLES:
        return SAMPLES[key]
    if field.annotation is bool:
        return st.booleans()
    if get_origin(field.annotation) is Literal:
        return st.sampled_from(get_args(field.annotation))
    for rule in field.metadata:
        if isinstance(rule, IntRange):
            return int_values(rule)
        if isinstance(rule, QuantityRange):
            return quantities(rule)
    return None


STRATEGIES = {key: found for key in FIELDS if (found := strategy(key)) is not None}


def as_pulumi_gives_it(value: Any) -> str:
    """Top-level values reach the program as text; maps and lists as JSON text."""
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, str) else json.dumps(value)


def with_overrides(stack: str, overrides: dict[str, Any]) -> dict[str, str]:
    config = stack_file_config(stack)
    for key, value in overrides.items():
        section, _, leaf = key.partition(".")
        if not leaf:
            config[f"openalgo:{key}"] = as_pulumi_gives_it(value)
            continue
        current = json.loads(config.get(f"openalgo:{section}", "{}"))
        current[leaf] = value
        config[f"openalgo:{section}"] = json.dumps(current)
    return config


@st.composite
def stack_configs(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    stack = draw(st.sampled_from(["dev", "prod"]))
    keys = draw(st.lists(st.sampled_from(sorted(STRATEGIES)), min_size=1, max_size=4, unique=True))
    return stack, {key: draw(STRATEGIES[key]) for key in keys}


def user_keys() -> set[str]:
    """Every key a problem may name: leaves, sections, and the keys of a list's items."""
    keys = set(FIELDS) | {key.split(".")[0] for key in FIELDS}
    keys |= {
        f"networkPolicy.{k}.{p}"
        for k in ("sqlClients", "metricsClients")
        for p in (
            "namespaceLabels",
            "podLabels",
        )
    }
    keys |= {f"scheduling.tolerations.{p}" for p in TOLERATION_KEYS}
    return keys | {"networkPolicy.sqlClients", "networkPolicy.metricsClients"}


USER_KEYS = user_keys()


def assert_within_bounds(config: StackConfig, rendered: RenderedStack) -> None:
    statefulset = rendered.one("kubernetes:apps/v1:StatefulSet").manifest()["spec"]
    pod = statefulset["template"]["spec"]
    [container] = pod["containers"]
    checks = [
        ("replicas", statefulset["replicas"]),
        ("terminationGracePeriodSeconds", pod["terminationGracePeriodSeconds"]),
        ("resources.cpuRequest", container["resources"]["requests"]["cpu"]),
        ("resources.memoryRequest", container["resources"]["requests"]["memory"]),
        ("resources.memoryLimit", container["resources"]["limits"]["memory"]),
        (
            "storage.size",
            statefulset["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"],
        ),
    ]
    if config.tls:
        node = rendered.one("tls:index/locallySignedCert:LocallySignedCert", "certificates-node")
        ca = rendered.one("tls:index/selfSignedCert:SelfSignedCert")
        checks += [
            ("certificates.validityDays", node.inputs["validityPeriodHours"] // 24),
            ("certificates.caValidityDays", ca.inputs["validityPeriodHours"] // 24),
        ]
    for key, value in checks:
        [bounds] = [r for r in FIELDS[key].metadata if isinstance(r, IntRange | QuantityRange)]
        assert bounds.refusal(value) is None, f"{key} = {value} rendered out of bounds"


def assert_refusal_speaks_config_keys_and_hides_secrets(
    error: ConfigError, overrides: dict[str, Any]
) -> None:
    for key in SECRETS:
        if key in overrides and overrides[key].strip():
            assert overrides[key].strip() not in str(error), f"{key} shown"
    for problem in error.problems:
        assert re.sub(r"\.\d+", "", problem.key) in USER_KEYS, problem.key
        assert problem.allowed, problem


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(stack_configs())
def test_accepted_config_renders_strictly_valid_manifests_within_bounds(
    generated: tuple[str, dict[str, Any]],
) -> None:
    stack, overrides = generated
    config = with_overrides(stack, overrides)
    secret_keys = operator_secret_keys(stack) + [
        f"openalgo:{key}" for key in SECRETS if key in overrides
    ]
    try:
        accepted = load_stack_config(
            stack, config, kubeconfig_present=False, secret_keys=secret_keys
        )
    except ConfigError as error:
        event("refused")
        assert_refusal_speaks_config_keys_and_hides_secrets(error, overrides)
        return
    event(f"accepted {stack}")
    rendered = run_program(stack, config, secret_keys=secret_keys)
    manifests = rendered.manifests()
    assert manifests
    for manifest in manifests:
        if manifest["apiVersion"] == "monitoring.coreos.com/v1":
            continue  # Prometheus Operator CRDs: no official schema; test_monitoring checks them
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(manifest, version, strict=True)
    assert_within_bounds(accepted, rendered)


def test_every_key_of_the_model_has_a_strategy() -> None:
    assert set(STRATEGIES) == set(FIELDS)


@pytest.mark.parametrize(
    ("key", "value"),
    [("replicas", 100), ("terminationGracePeriodSeconds", 3600), ("storage.size", "10Ti")],
)
def test_the_upper_bounds_themselves_render_valid_manifests(key: str, value: Any) -> None:
    config = with_overrides("dev", {key: value})
    rendered = run_program("dev", config)
    for manifest in rendered.manifests():
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(manifest, version, strict=True)
    assert_within_bounds(load_stack_config("dev", config, kubeconfig_present=False), rendered)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=8,
)
any_text = st.one_of(st.text(max_size=30), json_values.map(json.dumps))


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(sorted({key.split(".")[0] for key in FIELDS})).map(
            lambda key: f"openalgo:{key}"
        ),
        any_text,
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(["dev", "prod"]),
)
def test_any_text_for_any_key_is_accepted_or_refused_by_name_never_a_crash(
    overrides: dict[str, str], stack: str
) -> None:
    config = stack_file_config(stack) | overrides
    try:
        load_stack_config(
            stack, config, kubeconfig_present=False, secret_keys=operator_secret_keys(stack)
        )
    except ConfigError as error:
        assert_every_problem_names_a_config_key(error)


def assert_every_problem_names_a_config_key(error: ConfigError) -> None:
    """Under a known top-level key (a key written inside a section may be the user's typo)."""
    assert error.problems
    for problem in error.problems:
        assert problem.key.split(".")[0] in KNOWN_KEYS, problem.key


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.sampled_from(sorted(FIELDS)), json_values, min_size=1, max_size=4),
    st.sampled_from(["dev", "prod"]),
)
def test_any_value_inside_any_section_is_accepted_or_refused_by_name_never_a_crash(
    overrides: dict[str, Any], stack: str
) -> None:
    config = with_overrides(stack, overrides)
    try:
        load_stack_config(
            stack, config, kubeconfig_present=False, secret_keys=operator_secret_keys(stack)
        )
    except ConfigError as error:
        assert_every_problem_names_a_config_key(error)
