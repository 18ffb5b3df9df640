"""Pod names and label values: deterministic, valid for Kubernetes whatever the node path, and distinct for
distinct (execution, node, attempt), so a redelivered message finds its pod and a retry gets a new one."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from chalicelib.dispatch import (
    execution_label,
    label_value,
    namespace_for,
    pod_name,
    secret_env_name,
    service_account_for,
)

DNS_1123_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
EXECUTION = "ml/production/nightly-2026-01-01"

node_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-/[].", min_size=1, max_size=300)
executions = st.builds(lambda name, tail: f"ml/production/{name}{tail}",
                       st.from_regex(r"[a-z][a-z0-9-]{0,39}", fullmatch=True),
                       st.sampled_from(["", "/n3", "/n3/n0-1", "/n2[17]"]))
attempts = st.integers(min_value=0, max_value=100)


def test_namespace_and_service_account():
    assert namespace_for("ml", "production") == "ml-production"
    assert service_account_for("production") == "slipstream-production"


@pytest.mark.parametrize("node_id", ["n0", "n3-0", "n1/n0", "n2[17]", "n2.17", "N0", "-n-", "[", "n" * 300])
def test_names_are_dns_labels_readable_and_stable(node_id):
    name = pod_name(EXECUTION, node_id, 2)
    assert DNS_1123_LABEL.fullmatch(name) and len(name) <= 63
    assert name == pod_name(EXECUTION, node_id, 2)  # deterministic: the same attempt, the same pod
    assert name.startswith("nightly-2026-01-01-") and re.search(r"-2-[0-9a-f]{10}$", name)


def test_a_readable_prefix_keeps_lookalike_node_paths_apart():
    lookalikes = ["n1/n0", "n1-n0", "n1.n0", "n1[n0]", "N1-N0"]
    assert len({pod_name(EXECUTION, node, 0) for node in lookalikes}) == len(lookalikes)


def test_negative_attempts_are_refused():
    with pytest.raises(ValueError, match=r"attempt \[-1\]"):
        pod_name(EXECUTION, "n0", -1)


@given(executions, node_ids, attempts)
def test_every_name_is_a_dns_label(execution, node_id, attempt):
    name = pod_name(execution, node_id, attempt)
    assert len(name) <= 63 and DNS_1123_LABEL.fullmatch(name)


@given(executions, st.tuples(node_ids, attempts), st.tuples(node_ids, attempts))
def test_distinct_nodes_or_attempts_get_distinct_names(execution, first, second):
    assume(first != second)
    assert pod_name(execution, *first) != pod_name(execution, *second)


@given(st.tuples(executions, node_ids), st.tuples(executions, node_ids))
def test_distinct_executions_get_distinct_names_even_when_truncated(first, second):
    assume(first != second)
    assert pod_name(first[0], first[1], 0) != pod_name(second[0], second[1], 0)


@given(st.text(max_size=200))
def test_label_values_are_valid_and_valid_values_stay_as_they_are(value):
    label = label_value(value)
    assert len(label) <= 63 and LABEL_VALUE.fullmatch(label)
    if len(value) <= 63 and LABEL_VALUE.fullmatch(value):
        assert label == value


@given(st.text(max_size=100), st.text(max_size=100))
def test_different_values_never_share_a_label(first, second):
    assume(first != second)
    assert label_value(first) != label_value(second)


def test_pods_are_labelled_with_their_root_execution():
    assert execution_label("ml/production/nightly") == "nightly"
    assert execution_label("ml/production/nightly/n3/n0") == "nightly"  # a dynamic child's pods
    assert execution_label("nightly") == "nightly"


@pytest.mark.parametrize(("group", "key", "name"), [
    ("db", "password", "SLIPSTREAM_SECRET_DB_PASSWORD"),
    ("wandb", None, "SLIPSTREAM_SECRET_WANDB_WANDB"),
    ("my-team.creds", "api-key", "SLIPSTREAM_SECRET_MY_TEAM_CREDS_API_KEY"),
])
def test_secret_environment_names(group, key, name):
    assert secret_env_name(group, key) == name
